#!/usr/bin/env bash
# Builds the libFuzzer targets with clang, ASan and UBSan (build-fuzz/) and runs each for
# SECONDS (default 60) on a scratch copy of its seed corpus (fuzz/corpus/NAME). Any finding
# (crash, sanitizer report, leak, timeout) stops it with a non-zero status and leaves the input
# in build-fuzz/artifacts/.  Usage: fuzz/run.sh [SECONDS] [TARGET...]   (TARGET: desc, batch, case_reader)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(desc batch case_reader)
if [ ! -f build-fuzz/CMakeCache.txt ]; then
  CC=clang cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSEATTN_FUZZ=ON \
        -DSEATTN_BUILD_TESTS=OFF -DSEATTN_WERROR=ON >/dev/null
fi
cmake --build build-fuzz --target $(printf 'fuzz_%s ' "${targets[@]}")
mkdir -p build-fuzz/artifacts
for t in "${targets[@]}"; do
  work=build-fuzz/corpus-$t
  rm -rf "$work" && mkdir -p "$work" && cp fuzz/corpus/"$t"/* "$work"/
  echo "fuzz_$t: $secs s"
  log=build-fuzz/fuzz_$t.log
  rc=0
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    build-fuzz/fuzz/fuzz_"$t" -max_total_time="$secs" -max_len=4096 -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=build-fuzz/artifacts/ "$work" \
    >"$log" 2>&1 || rc=$?
  grep -E "^#[0-9]+ +DONE|number_of_executed_units|new_units_added" "$log" || true
  if [ $rc -ne 0 ]; then
    tail -n 60 "$log"
    echo "fuzz_$t: a finding (exit $rc); the input is in build-fuzz/artifacts/"
    exit 1
  fi
done
