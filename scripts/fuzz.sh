#!/usr/bin/env bash
# The libFuzzer campaign driver behind `make fuzz` and `make fuzz-smoke` (see fuzz/README.md).
# Builds the fuzz preset (clang, -fsanitize=fuzzer,address,undefined), then runs each target
# for FUZZ_SECONDS on a scratch copy of fuzz/corpus/<target> + fuzz/regressions/<target>,
# prints executions per second per target, minimizes every crash (-minimize_crash=1) into
# fuzz/regressions/<target>/<kind>_<sha1> and exits 1 if any target crashed (2 on a usage
# or build error).
#
# Usage: scripts/fuzz.sh [target ...]        (default: every fuzz/options/<target>.options)
# Environment:
#   FUZZ_SECONDS=60   seconds per target
#   FUZZ_JOBS=1       parallel fuzzing processes per target (libFuzzer -fork=N when N > 1)
#   FUZZ_MERGE=0      1: merge the inputs that add coverage back into fuzz/corpus/<target>
#   FUZZ_NO_BUILD=0   1: use the binaries already in FUZZ_BUILD_DIR
#   FUZZ_BUILD_DIR=build/fuzz    where the fuzz preset builds
#   FUZZ_ARGS=        extra libFuzzer flags for every run (e.g. -use_value_profile=1)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-1}
merge=${FUZZ_MERGE:-0}
build_dir=${FUZZ_BUILD_DIR:-build/fuzz}
extra_args=${FUZZ_ARGS:-}
case "$seconds$jobs" in
  *[!0-9]*) echo "fuzz.sh: FUZZ_SECONDS and FUZZ_JOBS must be numbers" >&2; exit 2;;
esac

if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for f in fuzz/options/*.options; do targets+=("$(basename "$f" .options)"); done
fi

if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
  echo "fuzz.sh: building the fuzz preset in $build_dir" >&2
  cmake --preset fuzz >/dev/null
  bins=()
  for t in "${targets[@]}"; do bins+=(--target "fuzz_$t"); done
  cmake --build "$build_dir" -j "$(nproc 2>/dev/null || echo 2)" "${bins[@]}" >/dev/null
fi

# Copies the committed inputs of target t into dir (README and dot files are not inputs).
seed_copy() {
  local t=$1 dir=$2 f
  for f in "fuzz/corpus/$t"/* "fuzz/regressions/$t"/*; do
    [ -f "$f" ] || continue
    case "$(basename "$f")" in README*|.*) continue;; esac
    cp "$f" "$dir/"
  done
}

files_count() {
  find "$1" -maxdepth 1 -type f | wc -l
}

# Total executions of a run: the final stats (one process) or the last status line (fork).
execs_of() {
  local log=$1 n
  n=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
  if [ -z "$n" ]; then
    n=$(sed -n 's/^#\([0-9][0-9]*\)[: ].*/\1/p' "$log" | tail -n 1)
  fi
  echo "${n:-0}"
}

# Minimizes crash input $2 of target $1 and saves it under fuzz/regressions/$1/.
crash_save() {
  local t=$1 crash=$2 bin=$3 work=$4 kind name min
  kind=$(basename "$crash" | sed 's/-.*//')
  mkdir -p "$work/min"
  # Shrinks while the input still fails the same way; every step is kept: take the smallest.
  "$bin" -minimize_crash=1 -runs=20000 -max_total_time=60 -timeout=10 \
         -artifact_prefix="$work/min/" \
         "$crash" >"$work/minimize.log" 2>&1 || true
  min=$(find "$work/min" -name 'minimized-from-*' -printf '%s %p\n' | sort -n | head -n 1 |
        cut -d' ' -f2-)
  [ -n "$min" ] || min=$crash
  if "$bin" -timeout=10 "$min" >"$work/replay.log" 2>&1; then
    echo "fuzz.sh: $t: the minimized input does not reproduce; keeping the original" >&2
    min=$crash
  fi
  # "<kind>_<sha1>", not libFuzzer's "<kind>-<sha1>": .gitignore drops crash-* files.
  name="${kind}_$(sha1sum "$min" | cut -c1-16)"
  mkdir -p "fuzz/regressions/$t"
  cp "$min" "fuzz/regressions/$t/$name"
  echo "fuzz/regressions/$t/$name"
}

summary=()
failed=0
for t in "${targets[@]}"; do
  bin="$build_dir/fuzz/fuzz_$t"
  if [ ! -x "$bin" ]; then
    echo "fuzz.sh: $t: no binary $bin (not built on this platform?)" >&2
    summary+=("$(printf '%-14s %8s %12s %10s  %s' "$t" - - - "not built")")
    continue
  fi
  bin_abs=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
  max_len=$(sed -n 's/^max_len *= *\([0-9]*\).*/\1/p' "fuzz/options/$t.options")
  work="$root/$build_dir/campaign/$t"
  case "$build_dir" in /*) work="$build_dir/campaign/$t";; esac
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  seed_copy "$t" "$work/corpus"
  seeds=$(files_count "$work/corpus")
  args=(-max_total_time="$seconds" -max_len="$max_len" -timeout=10 -print_final_stats=1
        -artifact_prefix="$work/artifacts/")
  [ -f "fuzz/dict/$t.dict" ] && args+=(-dict="$root/fuzz/dict/$t.dict")
  [ "$jobs" -gt 1 ] && args+=(-fork="$jobs")
  # shellcheck disable=SC2206
  [ -n "$extra_args" ] && args+=($extra_args)
  echo "fuzz.sh: $t: ${seconds}s, $jobs job(s), max_len $max_len, $seeds seed inputs" >&2
  start=$(date +%s.%N)
  rc=0
  # In the work directory: fork mode (FUZZ_JOBS > 1) writes its job logs into the cwd.
  (cd "$work" && "$bin_abs" "${args[@]}" corpus >"fuzz.log" 2>&1) || rc=$?
  end=$(date +%s.%N)
  execs=$(execs_of "$work/fuzz.log")
  rate=$(awk -v n="$execs" -v s="$start" -v e="$end" 'BEGIN { printf "%.0f", n / (e - s) }')
  elapsed=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.0fs", e - s }')
  corpus=$(files_count "$work/corpus")
  result="ok, corpus $seeds -> $corpus"
  crashes=()
  for c in "$work/artifacts"/crash-* "$work/artifacts"/leak-* "$work/artifacts"/timeout-* \
           "$work/artifacts"/oom-*; do
    [ -f "$c" ] && crashes+=("$c")
  done
  if [ "$rc" -ne 0 ] || [ ${#crashes[@]} -gt 0 ]; then
    failed=1
    result="CRASH (exit $rc), log $work/fuzz.log"
    for c in "${crashes[@]}"; do
      saved=$(crash_save "$t" "$c" "$bin_abs" "$work")
      result="$result; saved $saved (replay: $bin $saved)"
      grep -m 1 'invariant broken' "$work/fuzz.log" >&2 || tail -n 5 "$work/fuzz.log" >&2
    done
  elif [ "$merge" = 1 ]; then
    "$bin_abs" -merge=1 -max_len="$max_len" "fuzz/corpus/$t" "$work/corpus" \
      >"$work/merge.log" 2>&1
    result="$result, merged into fuzz/corpus/$t ($(files_count "fuzz/corpus/$t") files)"
  fi
  summary+=("$(printf '%-14s %8s %12s %10s  %s' "$t" "$elapsed" "$execs" "$rate" "$result")")
done

printf '\n%-14s %8s %12s %10s  %s\n' target time execs exec/s result
printf '%s\n' "${summary[@]}"
if [ "$failed" -ne 0 ]; then
  echo "fuzz.sh: crashes found; reproducers saved under fuzz/regressions/ (replayed by ctest)" >&2
  exit 1
fi
