#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# One libFuzzer campaign of one target, gale's or any project's (a user's scenario fuzz
# target built with <gale/gale_fuzz.h>): scripts/fuzz.sh runs it per gale target; it needs
# nothing from the gale tree, so a project can call it (or a copy) on its own binary.
#
#   1. copies CORPUS into WORK/corpus (CORPUS is never written unless --merge 1); the
#      regressions directory is read as seeds too, but new inputs go to WORK/corpus only;
#   2. runs the binary for --seconds, with -fork=JOBS when JOBS > 1, every output line into
#      WORK/fuzz.log and every status line ("#N ... cov: ...") with its arrival time
#      (bash's $EPOCHREALTIME) into WORK/status.log: the timeline scripts/fuzz-report.sh
#      plots (libFuzzer's own lines carry no time);
#   3. a crash, leak, timeout or OOM is minimized (-minimize_crash=1), checked to still fail
#      and saved as REGRESSIONS/<kind>_<sha1> (not crash-*: .gitignore drops those);
#   4. otherwise, with --minimize 1, minimizes the campaign corpus into WORK/corpus.min with
#      libFuzzer's -merge=1: the named seeds of CORPUS (hand-written: any name that is not 40
#      hex digits) are kept, then the smallest inputs that keep every coverage feature, in an
#      order fixed by the inputs alone (the same corpus on every machine); with --merge 1
#      CORPUS becomes exactly that set.
# Writes WORK/campaign.env (key=value: the figures), prints one summary line on stdout
# (cov and ft: at the first and last status line, edges: the minimized corpus's, corpus:
# seeds->after->minimized) and exits 0, 1 when the target crashed, 2 on a usage error.
#
# Usage: scripts/fuzz-campaign.sh [options] BINARY CORPUS
#        scripts/fuzz-campaign.sh --header     (the header of the summary lines)
#   --name NAME         the target's name in reports (default: BINARY's name without fuzz_)
#   --work DIR          campaign directory, emptied first (default: fuzz-campaign/NAME)
#   --seconds N         -max_total_time (default: $FUZZ_SECONDS or 60)
#   --jobs N            parallel processes, -fork=N when N > 1 (default: $FUZZ_JOBS or 1)
#   --options FILE      a libFuzzer .options file; its max_len and dict are used
#   --max-len N         -max_len (default: the options file's, else libFuzzer's own)
#   --dict FILE         -dict
#   --regressions DIR   read as seeds; crashes are saved here (default: WORK/regressions)
#   --minimize 0|1      minimize the corpus at the end (default: $FUZZ_MINIMIZE or 1)
#   --merge 0|1         write the minimized corpus back into CORPUS (default: $FUZZ_MERGE or 0;
#                       1 implies --minimize 1)
#   -- FLAGS...         extra libFuzzer flags (also $FUZZ_ARGS, split on spaces)
set -euo pipefail

usage() {
  sed -n '/^# Usage:/,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}
die() { echo "fuzz-campaign: $*" >&2; exit 2; }
abspath() { case "$1" in /*) echo "$1";; *) echo "$PWD/$1";; esac; }

if [ "${1:-}" = --header ]; then
  printf '%-14s %7s %11s %8s %13s %13s %6s %17s  %s\n' target seconds execs exec/s \
    cov ft edges corpus result
  exit 0
fi
name='' work='' max_len='' dict='' options='' regressions=''
seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-1}
minimize=${FUZZ_MINIMIZE:-1}
merge=${FUZZ_MERGE:-0}
# shellcheck disable=SC2206 # Flags, split on spaces as documented.
extra=(${FUZZ_ARGS:-})
positional=()
while [ $# -gt 0 ]; do
  case "$1" in
    --name) name=$2; shift 2;;
    --work) work=$2; shift 2;;
    --seconds) seconds=$2; shift 2;;
    --jobs) jobs=$2; shift 2;;
    --options) options=$2; shift 2;;
    --max-len) max_len=$2; shift 2;;
    --dict) dict=$2; shift 2;;
    --regressions) regressions=$2; shift 2;;
    --minimize) minimize=$2; shift 2;;
    --merge) merge=$2; shift 2;;
    --) shift; extra+=("$@"); break;;
    -h|--help) usage;;
    -*) die "unknown option $1 (--help)";;
    *) positional+=("$1"); shift;;
  esac
done
[ ${#positional[@]} -eq 2 ] || usage
bin=$(abspath "${positional[0]}")
corpus_src=$(abspath "${positional[1]}")
[ -x "$bin" ] || die "no executable $bin"
[ -d "$corpus_src" ] || mkdir -p "$corpus_src"
case "$seconds$jobs$minimize$merge" in *[!0-9]*) die "numbers expected";; esac
[ "$merge" = 0 ] || minimize=1
[ -n "$name" ] || { name=$(basename "$bin"); name=${name#fuzz_}; }
work=$(abspath "${work:-fuzz-campaign/$name}")
if [ -n "$options" ]; then
  [ -f "$options" ] || die "no options file $options"
  [ -n "$max_len" ] || max_len=$(sed -n 's/^max_len *= *\([0-9]*\).*/\1/p' "$options")
  if [ -z "$dict" ]; then
    dict=$(sed -n 's/^dict *= *\(.*\)$/\1/p' "$options")
    [ -z "$dict" ] || case "$dict" in /*) ;; *) dict=$(dirname "$options")/$dict;; esac
  fi
fi
regressions=$(abspath "${regressions:-$work/regressions}")
[ -z "$dict" ] || dict=$(abspath "$dict")

# Inputs of a directory: regular files, not READMEs or dot files.
inputs_of() {
  find "$1" -maxdepth 1 -type f ! -name 'README*' ! -name '.*' 2>/dev/null | LC_ALL=C sort
}
count_of() { inputs_of "$1" | wc -l; }
# Hand-written seeds: every name that is not libFuzzer's 40-hex-digit SHA-1.
is_named() { ! [[ $(basename "$1") =~ ^[0-9a-f]{40}$ ]]; }

rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts" "$regressions"
inputs_of "$corpus_src" | while IFS= read -r f; do cp "$f" "$work/corpus/"; done
seeds=$(( $(count_of "$work/corpus") + $(count_of "$regressions") ))

common=(-timeout=10 -rss_limit_mb=4096)
[ -z "$max_len" ] || common+=(-max_len="$max_len")
args=("${common[@]}" -max_total_time="$seconds" -print_final_stats=1
      -artifact_prefix="$work/artifacts/")
[ -z "$dict" ] || args+=(-dict="$dict")
[ "$jobs" -le 1 ] || args+=(-fork="$jobs")
args+=("${extra[@]}")
dirs=(corpus)
[ -z "$(inputs_of "$regressions")" ] || dirs+=("$regressions")

echo "fuzz-campaign: $name: ${seconds}s, $jobs job(s), max_len ${max_len:-default}," \
     "$seeds seed inputs, in $work" >&2
# Status lines get their arrival time; $EPOCHREALTIME costs no fork per line.
stamp() {
  local line
  while IFS= read -r line; do
    printf '%s\n' "$line" >&3
    case "$line" in
      '#'[0-9]*) printf '%s %s\n' "$EPOCHREALTIME" "$line" >&4;;
    esac
  done 3>"$work/fuzz.log" 4>"$work/status.log"
}
start=$EPOCHREALTIME
set +e
# In the work directory: fork mode keeps scratch files in the cwd.
(cd "$work" && exec "$bin" "${args[@]}" "${dirs[@]}" 2>&1) | stamp
rc=${PIPESTATUS[0]}
set -e
end=$EPOCHREALTIME

# Total executions: the final stats (one process) or the last status line (fork).
execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$work/fuzz.log" |
        tail -n 1)
[ -n "$execs" ] || execs=$(sed -n 's/^[0-9.]* #\([0-9]*\)[: \t].*/\1/p' "$work/status.log" |
                           tail -n 1)
execs=${execs:-0}
# cov: and ft: when the seeds are loaded (the INITED line; with -fork the first line) and at
# the end. With -fork libFuzzer prints features in the cov: column: no edge count then.
field_at() {
  local lines
  lines=$(grep -E '[[:space:]]INITED[[:space:]]' "$work/status.log" || true)
  [ "$1" = head ] && [ -n "$lines" ] || lines=$(cat "$work/status.log")
  sed -n "s/.* $2: \\([0-9]*\\) .*/\\1/p" <<<"$lines" | "$1" -n 1
}
ft_start=$(field_at head ft) ft_end=$(field_at tail ft) cov_start='' cov_end=''
[ "$jobs" -gt 1 ] || { cov_start=$(field_at head cov); cov_end=$(field_at tail cov); }
corpus_end=$(count_of "$work/corpus")

crashes=()
for c in "$work/artifacts"/crash-* "$work/artifacts"/leak-* "$work/artifacts"/timeout-* \
         "$work/artifacts"/oom-*; do
  [ -f "$c" ] && crashes+=("$c")
done

# Minimizes crash input $1 and saves it under $regressions; prints the saved path.
crash_save() {
  local crash=$1 kind min saved
  kind=$(basename "$crash" | sed 's/-.*//')
  mkdir -p "$work/min"
  # Shrinks while the input still fails the same way; every step is kept: take the smallest.
  "$bin" -minimize_crash=1 -runs=20000 -max_total_time=60 -timeout=10 \
         -artifact_prefix="$work/min/" "$crash" >"$work/minimize.log" 2>&1 || true
  min=$(find "$work/min" -name 'minimized-from-*' -printf '%s %p\n' | sort -n | head -n 1 |
        cut -d' ' -f2-)
  [ -n "$min" ] || min=$crash
  if "$bin" -timeout=10 "$min" >"$work/replay.log" 2>&1; then
    echo "fuzz-campaign: $name: the minimized input does not reproduce; keeping the original" >&2
    min=$crash
  fi
  saved="$regressions/${kind}_$(sha1sum "$min" | cut -c1-16)"
  cp "$min" "$saved"
  echo "$saved"
}

# Minimizes $work/corpus into $work/corpus.min (see the header); prints its size. libFuzzer's
# -merge=1 keeps every input of its first directory (here: the named seeds of CORPUS) and
# adds, smallest first, each other input that brings a feature not seen yet. It executes the
# inputs in that order, ties of size in directory-listing order, and an input's features are
# the ones it sees first: one directory per input, passed in name order, makes that order,
# and so the result, the same on every machine and file system.
corpus_minimize() {
  local min=$work/corpus.min scratch=$work/merge f i=0 dirs=()
  rm -rf "$min" "$scratch" && mkdir -p "$min" "$scratch/in"
  while IFS= read -r f; do
    if is_named "$f"; then cp "$f" "$min/"; fi
  done < <(inputs_of "$corpus_src")
  while IFS= read -r f; do
    is_named "$f" && continue
    i=$((i + 1))
    dirs+=("$(printf 'in/%07d' "$i")")
    mkdir "$scratch/${dirs[-1]}"
    ln "$f" "$scratch/${dirs[-1]}/" 2>/dev/null || cp "$f" "$scratch/${dirs[-1]}/"
  done < <(inputs_of "$work/corpus")
  (cd "$scratch" && "$bin" -merge=1 -merge_control_file=control "${common[@]}" "$min" \
     "${dirs[@]}") >"$work/merge.log" 2>&1 ||
    { echo "fuzz-campaign: $name: -merge=1 failed (see $work/merge.log)" >&2; return 1; }
  # Each input's "COV i edges..." and "FT i features..." lines hold what it saw first: their
  # unions are the edges and features of the whole (and so of the minimized) corpus.
  awk '$1 == "COV" || $1 == "FT" { for (k = 3; k <= NF; k++) n[$1] += !seen[$1, $k]++ }
       END { printf "%d %d\n", n["COV"], n["FT"] }' "$scratch/control" >"$work/corpus.cov"
  rm -rf "$scratch"
  count_of "$min"
}

status=ok corpus_min='' corpus_edges='' corpus_ft='' detail=''
if [ "$rc" -ne 0 ] || [ ${#crashes[@]} -gt 0 ]; then
  status=crash
  detail="exit $rc, log $work/fuzz.log"
  grep -m 1 'invariant broken' "$work/fuzz.log" >&2 || tail -n 5 "$work/fuzz.log" >&2
  for c in "${crashes[@]}"; do
    saved=$(crash_save "$c")
    detail="$detail; saved $saved (replay: $bin $saved)"
  done
elif [ "$minimize" = 1 ]; then
  corpus_min=$(corpus_minimize) || status=merge_failed
  [ ! -f "$work/corpus.cov" ] || read -r corpus_edges corpus_ft <"$work/corpus.cov"
  if [ "$merge" = 1 ] && [ "$status" = ok ]; then
    # CORPUS becomes the minimized set: drop what it lost, copy what is new.
    inputs_of "$corpus_src" | while IFS= read -r f; do
      [ -e "$work/corpus.min/$(basename "$f")" ] || rm -f "$f"
    done
    cp "$work/corpus.min"/* "$corpus_src/" 2>/dev/null || true
    detail="merged into $corpus_src ($(count_of "$corpus_src") files)"
  fi
fi

elapsed=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", e - s }')
rate=$(awk -v n="$execs" -v t="$elapsed" 'BEGIN { printf "%.0f", (t > 0 ? n / t : 0) }')
cat >"$work/campaign.env" <<EOF
name=$name
binary=$bin
corpus_src=$corpus_src
regressions=$regressions
seconds=$seconds
jobs=$jobs
max_len=$max_len
start=$start
elapsed=$elapsed
execs=$execs
exec_per_s=$rate
cov_start=$cov_start
cov_end=$cov_end
ft_start=$ft_start
ft_end=$ft_end
corpus_edges=$corpus_edges
corpus_ft=$corpus_ft
seeds=$seeds
corpus_end=$corpus_end
corpus_min=$corpus_min
status=$status
exit=$rc
EOF
# One summary line (its header: --header).
printf '%-14s %7s %11s %8s %13s %13s %6s %17s  %s\n' "$name" "$elapsed" "$execs" "$rate" \
  "${cov_start:+$cov_start->$cov_end}" "${ft_start:+$ft_start->$ft_end}" "${corpus_edges:--}" \
  "$seeds->$corpus_end->${corpus_min:--}" "$status${detail:+: $detail}"
[ "$status" != crash ]
