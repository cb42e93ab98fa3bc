#!/usr/bin/env bash
# tests/gpu_budget.sh TEST_BINARY MESA_DIR: runs test_gpu_budget for RDNA2 (navi21), RDNA3
# (navi31) and RDNA4 (gfx1201) with the RADV of Debian 12's backported Mesa 25, unpacked into
# MESA_DIR by tests/mesa_backports.sh (Debian 12's own Mesa 22.3 caps RDNA3 at 128 VGPRs and
# knows no RDNA4). Exits 77 (ctest: skipped), saying why, where Mesa 25 cannot be had;
# SEATTN_TEST_REQUIRE_MESA25=1 makes that a failure.
set -uo pipefail
bin=${1:?usage: gpu_budget.sh TEST_BINARY MESA_DIR}
dir=${2:?usage: gpu_budget.sh TEST_BINARY MESA_DIR}
here=$(cd "$(dirname "$0")" && pwd)
rc=0
m=$(bash "$here/mesa_backports.sh" "$dir") || rc=$?
if [ $rc -ne 0 ]; then
  if [ "${SEATTN_TEST_REQUIRE_MESA25:-0}" = 1 ]; then echo "gpu_budget: no Mesa 25"; exit 1; fi
  echo "gpu_budget: skipped: Mesa 25 could not be unpacked (mesa_backports.sh exit $rc)"
  exit 77
fi
[ -f "$m/radeon_icd.json" ] || { echo "gpu_budget: no RADV in $m"; exit 1; }
export LD_LIBRARY_PATH=$m/root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# the three chips at once (the compiler is single-threaded), their tables one after another;
# no validation layer here: the null device only compiles
out=$(mktemp -d)
pids=()
for chip in navi21 navi31 gfx1201; do
  RADV_FORCE_FAMILY=$chip VK_DRIVER_FILES=$m/radeon_icd.json VK_ICD_FILENAMES=$m/radeon_icd.json \
    VK_INSTANCE_LAYERS= VK_LOADER_LAYERS_DISABLE='~all~' "$bin" "$chip" >"$out/$chip" 2>&1 &
  pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
cat "$out/navi21" "$out/navi31" "$out/gfx1201"
rm -rf "$out"
exit $status
