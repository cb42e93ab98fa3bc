#!/usr/bin/env bash
# The commands of the README:
#   ./run.sh bench            install what is missing, build, run `seattn bench` on the default
#                             device
#   ./run.sh test             install what is missing, build (warnings as errors), run every
#                             test (the Python package's too)
#   ./run.sh install [PREFIX] install what is missing, build, install the library, the program
#                             and the Python package under PREFIX (default ~/.local, which
#                             Debian's python3 searches: no root, no pip)
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES=(cmake ninja-build gcc g++ pkg-config libvulkan-dev libvulkan-volk-dev glslang-tools
          libcriterion-dev libcjson-dev mesa-vulkan-drivers vulkan-validationlayers valgrind
          python3 python3-numpy python3-pytest)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null; then
    echo "run.sh: not a Debian/Ubuntu system; install these (or their equivalents) and rerun:"
    printf '  %s\n' "${missing[@]}"
    exit 1
  fi
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then SUDO=sudo; else
      echo "run.sh: need root or sudo to install: ${missing[*]}"; exit 1
    fi
  fi
  echo "run.sh: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The suites that run on a Vulkan device (the rest run on the CPU reference or the build),
# rerun on Mesa 25's lavapipe; the GPU kernel's suites (golden_flash_*, vulkan_sweep_flash_*),
# which lavapipe does not pick, run on Mesa 22.3 only, to keep CI's time, and so do the flash
# kernels' batches (SEATTN_TEST_BATCH_KERNELS below): Mesa 25 compiles them for minutes. The
# differential test runs on every kernel on both: the flash kernels' with 6 iterations on Mesa 25
# (cold, 24 took 240 s for flash_sg there, 6 took 63 s; texel's 24, 44 s).
VULKAN_SUITES='^(golden|vulkan_sweep|numerics|merge|limits|interop|kv_chunks|example_host_app|example_serving_loop|batch|threads|faults|validation|pipeline_cache|passkey|python|python_passkey|differential_texel|golden_models_texel|golden_models_batch_texel_7|model_configs)$'

mode="${1:-}"
case "$mode" in
  bench)
    cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
    cmake --build build
    shift
    exec ./build/seattn bench "$@"
    ;;
  test)
    cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSEATTN_WERROR=ON
    cmake --build build
    # A machine without a Vulkan driver must fail loudly, not skip.
    export SEATTN_TEST_REQUIRE_DEVICE=1
    ctest --test-dir build --output-on-failure
    # The Vulkan suites again on the lavapipe current distributions ship: Debian 12's
    # backported Mesa 25, unpacked beside the system's Mesa 22.3 (tests/mesa_backports.sh; it
    # says why and is skipped where it cannot be had). SEATTN_TEST_MESA25=0 skips it.
    if [ "${SEATTN_TEST_MESA25:-1}" != 0 ]; then
      rc=0
      m=$(bash tests/mesa_backports.sh "$PWD/build/mesa25") || rc=$?
      if [ $rc -eq 0 ]; then
        echo "run.sh: the Vulkan suites again, on $(sed -n 's/.*"library_path": "\([^"]*\)".*/\1/p' "$m/lvp_icd.json")"
        restore() { cmake -S . -B build -U SEATTN_TEST_ICD >/dev/null; }
        trap restore EXIT
        cmake -S . -B build -DSEATTN_TEST_ICD="$m/lvp_icd.json" >/dev/null
        SEATTN_TEST_BATCH_KERNELS=texel \
        LD_LIBRARY_PATH="$m/root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
          ctest --test-dir build --output-on-failure -R "$VULKAN_SUITES"
        SEATTN_TEST_DIFFERENTIAL_ITERS=6 \
        LD_LIBRARY_PATH="$m/root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
          ctest --test-dir build --output-on-failure -R '^differential_flash_(sg|smem)$'
      elif [ $rc -ne 3 ]; then
        echo "run.sh: could not unpack Mesa 25 (tests/mesa_backports.sh exit $rc)"; exit 1
      fi
    fi
    ;;
  install)
    prefix="${2:-$HOME/.local}"
    cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
    cmake --build build
    cmake --install build --prefix "$prefix"
    echo "run.sh: installed under $prefix; try: python3 -c \"import seattn; print(seattn.__version__)\""
    ;;
  *)
    echo "usage: ./run.sh bench | test | install [PREFIX]"; exit 2 ;;
esac
