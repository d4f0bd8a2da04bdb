#!/usr/bin/env bash
# The stress run behind `make test-stress`: the os-labelled CTest tests (real kernel, real
# clock) STRESS_N rounds in a row while one busy loop per CPU keeps every CPU busy, as on a
# shared CI machine. An os test must wait for the event it needs, never assume it happens
# within a time window; this run is how to catch one that does. Stops at the first failing
# round and prints that round's CTest output (the failing test's output included); passing
# rounds print one dot each. The busy loops are killed on exit, on failure and on Ctrl-C.
# Exit status: 0 when every round passed, 1 when one failed, 2 on bad usage.
#
# Environment: STRESS_N=20 (rounds), STRESS_BUILD_DIR=build/default (configured and built;
# `make test-stress` builds it first), STRESS_HOGS=nproc (busy loops), JOBS=nproc (ctest -j).
set -uo pipefail
cd "$(dirname "$0")/.."

rounds=${STRESS_N:-20}
build=${STRESS_BUILD_DIR:-build/default}
cpus=$(nproc 2>/dev/null || echo 2)
hogs=${STRESS_HOGS:-$cpus}
jobs=${JOBS:-$cpus}
for value in "$rounds" "$hogs" "$jobs"; do
  case $value in
    '' | *[!0-9]*) echo "test-stress: STRESS_N, STRESS_HOGS and JOBS take numbers" >&2; exit 2 ;;
  esac
done
tests=$(ctest --test-dir "$build" -N -L os 2>/dev/null | sed -n 's/^Total Tests: //p')
if [ -z "$tests" ] || [ "$tests" -eq 0 ]; then
  echo "test-stress: no os-labelled tests in $build (build it first: make build)" >&2
  exit 2
fi

log=$(mktemp)
hog_pids=()
cleanup() {
  [ ${#hog_pids[@]} -gt 0 ] && kill "${hog_pids[@]}" 2>/dev/null
  wait "${hog_pids[@]}" 2>/dev/null
  rm -f "$log"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# One busy loop per CPU. Each also checks now and then that this script still runs, so a
# script killed without running its traps (SIGKILL) does not leave them spinning.
for ((i = 0; i < hogs; i++)); do
  (while kill -0 $$ 2>/dev/null; do for ((j = 0; j < 200000; j++)); do :; done; done) &
  hog_pids+=("$!")
done

printf 'test-stress: %s rounds of the %s os tests (ctest -j %s), %s busy loops on %s CPUs\n' \
  "$rounds" "$tests" "$jobs" "$hogs" "$cpus"
passed=0
for ((round = 1; round <= rounds; round++)); do
  if ctest --test-dir "$build" -L os -j "$jobs" --output-on-failure >"$log" 2>&1; then
    passed=$round
    printf '.'
    continue
  fi
  printf '\n'
  # Ctrl-C reaches the tests too (one process group); ctest itself carries on.
  if grep -q 'Exception: Interrupt' "$log"; then
    echo "test-stress: interrupted in round $round ($passed of $rounds rounds passed)"
    exit 130
  fi
  cat "$log"
  failed=$(sed -n '/tests FAILED:/,$s/^[[:space:]]*[0-9]* - \([^ ]*\) .*/\1/p' "$log" |
           paste -sd, - | sed 's/,/, /g')
  echo "test-stress: $passed of $rounds rounds passed; ${failed:-a test} failed in round $round"
  exit 1
done
printf '\n'
echo "test-stress: $rounds of $rounds rounds passed"
