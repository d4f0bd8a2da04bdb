#!/usr/bin/env bash
# The coverage run behind `make coverage` (see coverage/README.md).
#  1. builds the "coverage" preset (gcc --coverage -O0) and clears old counters;
#  2. runs the whole CTest suite, which includes the fuzz corpora replay (label fuzz);
#  3. runs a fault campaign (`gale run --fault-coverage`: the catalog over COVERAGE_SEEDS
#     seeds at the default profile) and fails when a fault kind was never injected;
#  4. gcovr (coverage/gcovr.cfg) writes coverage/html/index.html, coverage/coverage.xml
#     (Cobertura) and coverage/summary.txt, prints the totals and enforces the thresholds
#     (lines >= 90 %, branches >= 75 % over io/ net/ sim/);
#  5. checks that every GCOVR_EXCL marker in the library carries a reason tag.
# Exit status: 0 when every gate passed; 1 when one failed (each failure is named).
#
# Environment: COVERAGE_SEEDS=1000 (seeds per scenario in step 3), JOBS=nproc.
set -euo pipefail
cd "$(dirname "$0")/.."

seeds=${COVERAGE_SEEDS:-1000}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
build=build/coverage
out=coverage
failed=()
step() { printf '\n--- coverage: %s ---\n' "$*"; }

step "build (gcc --coverage -O0)"
cmake --preset coverage >/dev/null
cmake --build --preset coverage -j "$jobs" >/dev/null
# Counters accumulate across runs: start from zero so the report is this run's alone.
find "$build" -name '*.gcda' -delete
rm -rf "$out/html" "$out/coverage.xml" "$out/summary.txt" "$out/faults.txt" "$out/faults.json"
mkdir -p "$out/html"

step "tests and fuzz corpora replay (CTest, every label)"
ctest --preset coverage -j "$jobs" || failed+=("tests")

step "fault coverage: gale run --scenario all --count $seeds --fault-coverage"
if ! "$build/gale" run --scenario all --count "$seeds" --profile default --fault-coverage \
     -j "$jobs" --json "$out/faults.json" >"$out/faults.txt"; then
  failed+=("fault coverage")
fi
sed -n '/^fault coverage/,$p' "$out/faults.txt"
grep -E '^[0-9]+ passed' "$out/faults.txt" || true

step "gcovr (coverage/gcovr.cfg: io/ net/ sim/, lines >= 90 %, branches >= 75 %)"
gcovr_status=0
gcovr --config "$out/gcovr.cfg" "$build" >"$build/gcovr.log" 2>&1 || gcovr_status=$?
cat "$build/gcovr.log"
# gcovr's exit status: 2 = lines under, 4 = branches under (bits), other = its own error.
[ $((gcovr_status & 2)) -ne 0 ] && failed+=("line coverage under 90 %")
[ $((gcovr_status & 4)) -ne 0 ] && failed+=("branch coverage under 75 %")
[ $((gcovr_status & ~6)) -ne 0 ] && failed+=("gcovr error $gcovr_status")
# The same data with the assert() arms counted, so the exclusion's effect is visible.
raw=$(gcovr --root . --filter 'io/' --filter 'net/' --filter 'sim/' --exclude 'sim/cli/' \
        --exclude-unreachable-branches --exclude-throw-branches --print-summary \
        --output "$build/gcovr-raw.txt" "$build" | grep '^branches' || true)
echo "raw branches (assert() arms included, not gated): ${raw#branches: }"
# gcovr unlinks an --output file to test it is writable: as root, "--output /dev/null" once
# replaced the machine's /dev/null with a regular file. Never again, unnoticed.
[ -c /dev/null ] || failed+=("/dev/null is no longer a character device")

step "exclusion markers (each needs a reason: oom, defensive or os-only)"
markers=$(grep -rn 'GCOVR_EXCL' io net sim --include='*.c' --include='*.h' || true)
untagged=$(printf '%s\n' "$markers" | grep -v -E 'GCOVR_EXCL[A-Z_]*\s*(\(|:)\s*(oom|defensive|os-only)' |
           grep -v '^$' || true)
count=$(printf '%s\n' "$markers" | grep -c 'GCOVR_EXCL' || true)
echo "markers: $count"
if [ -n "$untagged" ]; then
  printf 'untagged marker: %s\n' "$untagged"
  failed+=("untagged exclusion marker")
fi

{
  echo
  echo "totals over io/ net/ sim/ (assert() arms excluded, see coverage/gcovr.cfg);"
  echo "gates: lines >= 90 %, branches >= 75 %"
  grep -E '^(lines|functions|branches):' "$build/gcovr.log" || true
  echo "raw branches (assert() arms included, not gated): ${raw#branches: }"
# gcovr unlinks an --output file to test it is writable: as root, "--output /dev/null" once
# replaced the machine's /dev/null with a regular file. Never again, unnoticed.
[ -c /dev/null ] || failed+=("/dev/null is no longer a character device")
  echo "exclusion markers in io/ net/ sim/: $count"
  sed -n '/^fault coverage/,$p' "$out/faults.txt"
} >>"$out/summary.txt"

echo
echo "reports: $out/html/index.html  $out/coverage.xml  $out/summary.txt  $out/faults.txt"
if [ ${#failed[@]} -gt 0 ]; then
  echo "coverage: FAILED: ${failed[*]}"
  exit 1
fi
echo "coverage: all gates passed"
