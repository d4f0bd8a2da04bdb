#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Source coverage of fuzz corpora: which lines, regions and branches of the code the corpus
# reaches, and which it never does. Each BINARY must be built with clang's
# `-fprofile-instr-generate -fcoverage-mapping` (no sanitizers needed); it replays its
# directories (a libFuzzer binary with -runs=0, any other as `BINARY DIR...`, like gale's
# fuzz_main.c replay), each run writing a profile; then llvm-profdata merges them and llvm-cov
# writes OUT/index.html (every file, line by line) and OUT/summary.txt (the per-file table).
# Works for gale's targets (scripts/fuzz.sh --report builds them) and for a project's own.
#
# Usage: scripts/fuzz-coverage.sh --out DIR [--ignore REGEX] BINARY=DIR[:DIR...] ...
#   --ignore REGEX   files left out of the report (llvm-cov -ignore-filename-regex;
#                    default: system headers, '^/usr/')
# Environment: LLVM_COV, LLVM_PROFDATA (default: the versions matching clang, else the
# unversioned tools).
set -euo pipefail

out='' ignore='^/usr/'
pairs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2;;
    --ignore) ignore=$2; shift 2;;
    -h|--help) sed -n '/^# Usage:/,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2;;
    *=*) pairs+=("$1"); shift;;
    *) echo "fuzz-coverage: expected BINARY=DIR, got $1 (--help)" >&2; exit 2;;
  esac
done
if [ -z "$out" ] || [ ${#pairs[@]} -eq 0 ]; then echo "fuzz-coverage: --help" >&2; exit 2; fi

# The llvm tools of the clang that built the binaries (clang 14 -> llvm-cov-14).
major=$(clang --version 2>/dev/null | sed -n 's/.*clang version \([0-9]*\).*/\1/p' | head -n 1)
tool() {
  if [ -n "$major" ] && command -v "$1-$major" >/dev/null; then echo "$1-$major"; else echo "$1"; fi
}
llvm_cov=${LLVM_COV:-$(tool llvm-cov)}
llvm_profdata=${LLVM_PROFDATA:-$(tool llvm-profdata)}
command -v "$llvm_cov" >/dev/null ||
  { echo "fuzz-coverage: no $llvm_cov (Debian: apt-get install llvm)" >&2; exit 2; }

rm -rf "$out" && mkdir -p "$out/profraw"
objects=()
for pair in "${pairs[@]}"; do
  bin=${pair%%=*}
  IFS=: read -r -a dirs <<<"${pair#*=}"
  [ -x "$bin" ] || { echo "fuzz-coverage: no executable $bin" >&2; exit 2; }
  name=$(basename "$bin")
  existing=()
  for d in "${dirs[@]}"; do [ -d "$d" ] && existing+=("$d"); done
  [ ${#existing[@]} -gt 0 ] || { echo "fuzz-coverage: $name: no input directory" >&2; continue; }
  if grep -q -a -F 'INFO: Seed: ' "$bin"; then
    replay=("$bin" -runs=0 "${existing[@]}")
  else
    replay=("$bin" "${existing[@]}")
  fi
  # %p: a libFuzzer binary may fork; %m keeps binaries apart when they share a name.
  if ! LLVM_PROFILE_FILE="$out/profraw/$name-%m-%p.profraw" "${replay[@]}" \
       >"$out/$name.replay.log" 2>&1; then
    echo "fuzz-coverage: $name: an input failed (see $out/$name.replay.log); an abort" \
         "writes no profile: fix or move the crashing input" >&2
  fi
  objects+=("$bin")
done
[ ${#objects[@]} -gt 0 ] || { echo "fuzz-coverage: nothing replayed" >&2; exit 1; }
compgen -G "$out/profraw/*.profraw" >/dev/null ||
  { echo "fuzz-coverage: no profile written: built with -fprofile-instr-generate?" >&2; exit 1; }

"$llvm_profdata" merge -sparse "$out"/profraw/*.profraw -o "$out/corpus.profdata"
rm -rf "$out/profraw"
args=(-instr-profile="$out/corpus.profdata" -ignore-filename-regex="$ignore" "${objects[0]}")
for o in "${objects[@]:1}"; do args+=(-object="$o"); done
"$llvm_cov" show -format=html -output-dir="$out" -show-line-counts-or-regions \
  -show-branches=count -project-title="fuzz corpora: ${objects[*]##*/}" "${args[@]}"
"$llvm_cov" report "${args[@]}" >"$out/summary.txt"
echo "fuzz-coverage: $out/index.html ($(tail -n 1 "$out/summary.txt" | awk '{print $10}')" \
     "of lines reached)" >&2
