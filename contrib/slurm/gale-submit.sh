#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Submits a gale seed campaign to Slurm as a job array of N shards (gale-shard.sbatch) plus
# a merge job that runs when every shard has ended (gale-merge.sbatch,
# --dependency=afterany). The reports land in DIR, which every node must see (a shared
# file system): per task its log task-<task id>.out and its shard-I.json and shard-I.xml
# (I from 0), then merged.json, merged.xml, summary.txt, failures.txt and merge.out.
#
# Usage: contrib/slurm/gale-submit.sh [options] [--] BINARY [RUN-OPTION...]
#   BINARY        the built-in `gale`, or your test program built on gale_main(); it must
#                 be at the same path on every node
#   RUN-OPTION    options of `BINARY run`, the same for every shard (--scenario, --count,
#                 --seeds, --profile, --swarm, --backend, --time-limit, ...)
#   -n N          shards, one array task each (default 4)
#   -c C          CPUs per shard: sbatch --cpus-per-task, and `run -j C` (default 1)
#   -o DIR        report directory (default gale-campaign-<date>-<time> in the current
#                 directory); refused when it already holds shard reports
#   -a FIRST      the first array task id, 0 or 1 as your site prefers (default 0)
#   -s ARG        one more sbatch argument for both jobs (repeatable), e.g. -s --time=2:00:00;
#                 sbatch's own environment variables (SBATCH_PARTITION, SBATCH_ACCOUNT,
#                 SBATCH_TIMELIMIT, ...) work too
# Prints the two job ids, "ARRAY_JOB MERGE_JOB", as the last line of stdout; progress goes
# to stderr. Example, a million seeds per scenario over 100 shards of 4 CPUs:
#   contrib/slurm/gale-submit.sh -n 100 -c 4 -o /shared/nightly -- \
#       /shared/bin/gale run --scenario all --count 1000000 --profile default
# (the word "run" after BINARY is optional). Exit status: 0 when both jobs were submitted.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
fail() { echo "gale-submit: $*" >&2; exit 2; }
usage() { sed -n '/^# Usage:/,/^# Prints/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

shards=4 cpus=1 dir='' first=0
extra=()
while getopts 'n:c:o:a:s:h' opt; do
	case $opt in
	n) shards=$OPTARG;;
	c) cpus=$OPTARG;;
	o) dir=$OPTARG;;
	a) first=$OPTARG;;
	s) extra+=("$OPTARG");;
	*) usage;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || usage
case $shards$cpus$first in *[!0-9]*) fail "-n, -c and -a want numbers";; esac
if [ "$shards" -lt 1 ] || [ "$cpus" -lt 1 ]; then fail "-n and -c want at least 1"; fi
binary=$1
shift
[ "${1:-}" = run ] && shift
# Jobs start in another directory, maybe on another node: absolute paths only.
case $binary in
*/*) binary=$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary");;
*) binary=$(command -v "$binary") || fail "$binary: not found in PATH";;
esac
[ -x "$binary" ] || fail "$binary is not an executable"
command -v sbatch >/dev/null || fail "sbatch not found (Debian: apt-get install slurm-client)"
[ -n "$dir" ] || dir=gale-campaign-$(date +%Y%m%d-%H%M%S)
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
if compgen -G "$dir/shard-*.json" >/dev/null; then
	fail "$dir already holds shard reports: use a new directory for each campaign"
fi

array=$(sbatch --parsable "${extra[@]}" --array="$first-$((first + shards - 1))" \
	--cpus-per-task="$cpus" --output="$dir/task-%a.out" \
	"$here/gale-shard.sbatch" "$dir" "$binary" "$@")
array=${array%%;*}
merge=$(sbatch --parsable "${extra[@]}" --dependency="afterany:$array" \
	--kill-on-invalid-dep=yes --output="$dir/merge.out" \
	"$here/gale-merge.sbatch" "$dir" "$binary")
merge=${merge%%;*}
echo "gale-submit: array job $array ($shards shards of $binary run $*)," \
	"merge job $merge; reports in $dir" >&2
echo "$array $merge"
