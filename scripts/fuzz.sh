#!/usr/bin/env bash
# The libFuzzer campaign driver behind `make fuzz`, `make fuzz-smoke` and `make fuzz-report`
# (see fuzz/README.md). Builds the fuzz preset (clang, -fsanitize=fuzzer,address,undefined),
# then runs each target through scripts/fuzz-campaign.sh: FUZZ_SECONDS on a scratch copy of
# fuzz/corpus/<target> (+ fuzz/regressions/<target> as seeds), -fork=FUZZ_JOBS across the
# CPUs, crashes minimized into fuzz/regressions/<target>/<kind>_<sha1>, the campaign corpus
# minimized at the end (FUZZ_MERGE=1: into fuzz/corpus/<target>). Prints a table per target
# and exits 1 if any target crashed (2 on a usage or build error). With FUZZ_REPORT=1 it then
# writes the report: plots and a table per campaign (scripts/fuzz-report.sh) and the source
# coverage of the corpora (scripts/fuzz-coverage.sh, a clang -fprofile-instr-generate build
# in FUZZ_BUILD_DIR-cov) in FUZZ_BUILD_DIR/report/index.html.
#
# Usage: scripts/fuzz.sh [target ...]        (default: every fuzz/options/<target>.options)
#        scripts/fuzz.sh --report            the report of the last campaigns, no fuzzing
#        scripts/fuzz.sh --binary BIN --corpus DIR [--name NAME] [--options FILE]
#                        [--dict FILE] [--max-len N] [--regressions DIR]
#                        [--coverage-binary BIN]
#            a project's own fuzz target (for example examples/kv's kv_fuzz): the same
#            campaign, minimization and report; --coverage-binary: the same target built
#            with -fprofile-instr-generate -fcoverage-mapping, for the source coverage.
#            Paths are relative to the current directory.
# Environment:
#   FUZZ_SECONDS=60   seconds per target
#   FUZZ_JOBS=1       parallel fuzzing processes per target (-fork=N when N > 1;
#                     `make fuzz` passes the CPU count)
#   FUZZ_MINIMIZE=1   minimize each campaign's corpus at the end (0: skip, as fuzz-smoke does)
#   FUZZ_MERGE=0      1: the minimized corpus replaces fuzz/corpus/<target> (or --corpus)
#   FUZZ_REPORT=0     1: write the report afterwards (`make fuzz` does)
#   FUZZ_COVERAGE=1   0: the report without the source coverage build
#   FUZZ_NO_BUILD=0   1: use the binaries already in FUZZ_BUILD_DIR
#   FUZZ_BUILD_DIR=build/fuzz    where the fuzz preset builds (relative to the gale tree)
#   FUZZ_OUT=FUZZ_BUILD_DIR      campaign/<target>/ and report/ go here
#   FUZZ_ARGS=        extra libFuzzer flags for every run (e.g. -use_value_profile=1)
set -euo pipefail
caller=$PWD
abspath() { case "$1" in /*) echo "$1";; *) echo "$caller/$1";; esac; }
cd "$(dirname "$0")/.."
root=$PWD
build_dir=${FUZZ_BUILD_DIR:-build/fuzz}
case "$build_dir" in /*) ;; *) build_dir=$root/$build_dir;; esac
out=$(abspath "${FUZZ_OUT:-$build_dir}")
report=${FUZZ_REPORT:-0}
coverage=${FUZZ_COVERAGE:-1}
export FUZZ_SECONDS=${FUZZ_SECONDS:-60} FUZZ_JOBS=${FUZZ_JOBS:-1}
case "$FUZZ_SECONDS$FUZZ_JOBS" in
  *[!0-9]*) echo "fuzz.sh: FUZZ_SECONDS and FUZZ_JOBS must be numbers" >&2; exit 2;;
esac

mode=gale
user=()
user_bin='' user_corpus='' user_name='' user_cov_bin=''
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --report) mode=report; report=1; shift;;
    --binary) mode=user; user_bin=$(abspath "$2"); shift 2;;
    --corpus) user_corpus=$(abspath "$2"); shift 2;;
    --name) user_name=$2; shift 2;;
    --options|--dict|--regressions) user+=("$1" "$(abspath "$2")"); shift 2;;
    --max-len) user+=("$1" "$2"); shift 2;;
    --coverage-binary) user_cov_bin=$(abspath "$2"); shift 2;;
    -h|--help) sed -n '/^# Usage:/,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2;;
    -*) echo "fuzz.sh: unknown option $1 (--help)" >&2; exit 2;;
    *) targets+=("$1"); shift;;
  esac
done
if [ "$mode" = user ] && [ -z "$user_corpus" ]; then
  echo "fuzz.sh: --binary needs --corpus DIR" >&2
  exit 2
fi
if [ "$mode" = gale ] && [ ${#targets[@]} -eq 0 ]; then
  for f in fuzz/options/*.options; do targets+=("$(basename "$f" .options)"); done
fi

# The fuzz preset in $build_dir (cmake -B overrides the preset's binaryDir).
build_fuzzers() {
  local bins=() t
  echo "fuzz.sh: building the fuzz preset in $build_dir" >&2
  cmake --preset fuzz -B "$build_dir" >/dev/null
  for t in "$@"; do bins+=(--target "fuzz_$t"); done
  cmake --build "$build_dir" -j "$(nproc 2>/dev/null || echo 2)" "${bins[@]}" >/dev/null
}

# The same targets built for source coverage (clang, no sanitizers, fuzz_main.c replay).
build_coverage() {
  local dir=$build_dir-cov bins=() t
  echo "fuzz.sh: building the coverage build in $dir" >&2
  cmake -S "$root" -B "$dir" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_C_FLAGS_DEBUG="-O0 -g" -DCMAKE_C_FLAGS="-fprofile-instr-generate -fcoverage-mapping" \
    -DGALE_BUILD_FUZZERS=OFF -DGALE_BUILD_TESTS=ON -DGALE_BUILD_BENCH=OFF \
    -DGALE_BUILD_EXAMPLES=OFF -DGALE_INSTALL=OFF >"$dir.log" 2>&1 ||
    { echo "fuzz.sh: coverage configure failed (see $dir.log)" >&2; return 1; }
  for t in "$@"; do bins+=(--target "fuzz_$t"); done
  cmake --build "$dir" -j "$(nproc 2>/dev/null || echo 2)" "${bins[@]}" >>"$dir.log" 2>&1 ||
    { echo "fuzz.sh: coverage build failed (see $dir.log)" >&2; return 1; }
}

# The report over every campaign in $out/campaign/: coverage first, so the index links it.
write_report() {
  local dirs=() pairs=() gale_targets=() d name corpus cov_bin
  for d in "$out"/campaign/*/; do
    [ -f "$d/campaign.env" ] && dirs+=("${d%/}")
  done
  [ ${#dirs[@]} -gt 0 ] || { echo "fuzz.sh: no campaign in $out/campaign/" >&2; return 2; }
  if [ "$coverage" = 1 ]; then
    for d in "${dirs[@]}"; do
      name=$(sed -n 's/^name=//p' "$d/campaign.env")
      [ -f "fuzz/options/$name.options" ] && gale_targets+=("$name")
    done
    if [ ${#gale_targets[@]} -gt 0 ] && [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
      build_coverage "${gale_targets[@]}" || return 2
    fi
    for d in "${dirs[@]}"; do
      name=$(sed -n 's/^name=//p' "$d/campaign.env")
      cov_bin=$(sed -n 's/^coverage_binary=//p' "$d/campaign.env")
      [ -n "$cov_bin" ] || [ ! -f "fuzz/options/$name.options" ] ||
        cov_bin=$build_dir-cov/fuzz/fuzz_$name
      if [ -z "$cov_bin" ] || [ ! -x "$cov_bin" ]; then continue; fi
      corpus=$d/corpus.min
      [ -d "$corpus" ] || corpus=$d/corpus
      pairs+=("$cov_bin=$corpus:$(sed -n 's/^regressions=//p' "$d/campaign.env")")
    done
    if [ ${#pairs[@]} -gt 0 ]; then
      scripts/fuzz-coverage.sh --out "$out/report/coverage" "${pairs[@]}" ||
        echo "fuzz.sh: no source coverage report" >&2
    fi
  fi
  scripts/fuzz-report.sh --out "$out/report" "${dirs[@]}"
}

if [ "$mode" = report ]; then
  write_report
  exit $?
fi

if [ "$mode" = gale ] && [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
  build_fuzzers "${targets[@]}"
fi

rows=()
failed=0
if [ "$mode" = user ]; then
  [ -n "$user_name" ] || { user_name=$(basename "$user_bin"); user_name=${user_name#fuzz_}; }
  work=$out/campaign/$user_name
  rc=0
  row=$(scripts/fuzz-campaign.sh --name "$user_name" --work "$work" "${user[@]}" \
        "$user_bin" "$user_corpus") || rc=$?
  [ "$rc" -le 1 ] || exit "$rc"
  [ "$rc" -eq 0 ] || failed=1
  rows+=("$row")
  [ -z "$user_cov_bin" ] || echo "coverage_binary=$user_cov_bin" >>"$work/campaign.env"
else
  for t in "${targets[@]}"; do
    bin=$build_dir/fuzz/fuzz_$t
    if [ ! -x "$bin" ]; then
      echo "fuzz.sh: $t: no binary $bin (not built on this platform?)" >&2
      rows+=("$(printf '%-14s %s' "$t" "not built")")
      continue
    fi
    args=(--name "$t" --work "$out/campaign/$t" --options "fuzz/options/$t.options"
          --regressions "fuzz/regressions/$t")
    [ ! -f "fuzz/dict/$t.dict" ] || args+=(--dict "fuzz/dict/$t.dict")
    rc=0
    row=$(scripts/fuzz-campaign.sh "${args[@]}" "$bin" "fuzz/corpus/$t") || rc=$?
    [ "$rc" -le 1 ] || exit "$rc"
    [ "$rc" -eq 0 ] || failed=1
    rows+=("$row")
  done
fi

echo
scripts/fuzz-campaign.sh --header
printf '%s\n' "${rows[@]}"
if [ "$report" = 1 ]; then
  write_report || echo "fuzz.sh: the report failed" >&2
fi
if [ "$failed" -ne 0 ]; then
  echo "fuzz.sh: crashes found; reproducers saved under the regressions directory" \
       "(gale's: fuzz/regressions/<target>/, replayed by ctest)" >&2
  exit 1
fi
