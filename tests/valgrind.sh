#!/usr/bin/env bash
# The CPU-reference tests under valgrind memcheck: zero errors and zero leaks (definite,
# indirect, possible) in every process, Criterion's forked test processes included. Criterion
# does not pass valgrind's exit status on, so each process logs to its own file and the logs
# are read here.  Usage: valgrind.sh BUILD_DIR
set -euo pipefail
build=$1
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
run() {
  valgrind -q --trace-children=yes --leak-check=full --show-leak-kinds=definite,indirect,possible \
    --errors-for-leak-kinds=definite,indirect,possible --log-file="$logs/vg.%p" "$@" --jobs 1
}
run "$build/tests/test_properties"
run "$build/tests/test_case_reader"
run "$build/tests/test_validation" --filter 'validation/cpu'
run "$build/tests/test_validation" --filter 'validation/defaults_resolve'
run "$build/tests/test_golden" --filter 'golden/cpu_reference_within_1e5'
bad=0
for f in "$logs"/vg.*; do
  if [ -s "$f" ]; then bad=1; cat "$f"; fi # -q: a log has text only when there is a finding
done
n=$(ls "$logs" | wc -l)
if [ $bad -ne 0 ]; then echo "valgrind: findings above"; exit 1; fi
echo "valgrind: $n processes, no errors and no leaks"
