#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs seed campaigns through Slurm for real, on a one-node cluster on this machine, with
# contrib/slurm/ (gale-submit.sh: a job array of shards plus a merge job that depends on it):
#   1. installs slurm-wlm and munge when missing (root; apt-get, quiet when present; no
#      service is started by the install);
#   2. builds examples/kv's planted-bug test program (KV_PLANTED_BUG=ON, against gale
#      installed from the build directory of BINARY): the built-in catalog fails no seed by
#      design, so the planted failure comes from a user's gale_main() program;
#   3. writes a one-node slurm.conf (this host's name, 2 CPUs, no cgroups: linuxproc
#      process tracking, no task plugin, no accounting) and a munge key in a private
#      temporary directory, on free ports, and starts munged, slurmctld and slurmd from it
#      (in the foreground, in the background: their pids are this script's children);
#   4. submits two campaigns as 4-task arrays (one 0-based, one 1-based): the built-in
#      catalog (`gale run --scenario all`) and the planted-bug program, waits for both
#      merge jobs, prints the four shards and the merge of each;
#   5. checks each merged report against an unsharded run of the same campaign (seeds
#      planned, run, failed and skipped, per scenario seeds, failures, faults by kind and
#      simulated time, and the failures listed: scenario, seed, oracle, trace hash), that
#      the merge lists a replay command for every failure, and that the planted failure's
#      replay command reproduces it (same oracle, message and trace hash);
#   6. stops the daemons it started, by pid, on every exit (and cancels its jobs first).
# Prints "slurm-test: OK" and the wall time last, or "slurm-test: FAIL: ..." with the
# daemons' log tails.
#
# Usage (as root): scripts/slurm-test.sh [BINARY]
#   BINARY   the gale command to test (default: $GALE, else build/default/gale as `make`
#            builds it); its directory must be its CMake build directory
# Environment: SLURM_TEST_DIR (reports and the kv build; default build/slurm-test),
#   SLURM_TEST_SEEDS (seeds per scenario of the catalog campaign, default 2000),
#   SLURM_TEST_BUG_SEEDS (of the planted-bug campaign, default 20: at most the 20 failures
#   per scenario a report lists), SLURM_TEST_TIMEOUT (seconds to wait for the jobs, 300),
#   SLURM_TEST_KV_TESTS (a planted-bug kv_tests already built: skips step 2), JOBS.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
gale=${1:-${GALE:-$root/build/default/gale}}
work=${SLURM_TEST_DIR:-$root/build/slurm-test}
seeds=${SLURM_TEST_SEEDS:-2000}
bug_seeds=${SLURM_TEST_BUG_SEEDS:-20}
timeout=${SLURM_TEST_TIMEOUT:-300}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
start=$(date +%s)

heading() { printf '\n==== %s ====\n' "$*"; }
elapsed() { echo "$(($(date +%s) - start)) s"; }

tmp='' pids=() jobids=() policy_rc=''
fail() {
	echo "slurm-test: FAIL: $*" >&2
	if [ -n "$tmp" ]; then
		# A daemon's log file, or its stderr when it stopped before opening the log.
		for log in "$tmp"/log/*.out; do
			[ -s "${log%.out}.log" ] && log=${log%.out}.log
			[ -s "$log" ] || continue
			echo "--- last lines of $log" >&2
			tail -n 15 "$log" >&2
		done
	fi
	exit 1
}

# Everything this script started goes, by id: its jobs, then its daemons (TERM, then KILL
# after 10 s), then the temporary directory.
cleanup() {
	local status=$? pid i
	trap - EXIT INT TERM
	if [ ${#jobids[@]} -gt 0 ] && [ ${#pids[@]} -gt 0 ]; then
		scancel "${jobids[@]}" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			[ -z "$(squeue -h -j "$(IFS=,; echo "${jobids[*]}")" 2>/dev/null)" ] &&
				break
			sleep 0.2
		done
	fi
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		kill "${pids[i]}" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		for ((i = 0; i < 100; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			echo "slurm-test: pid $pid did not stop on TERM, killing it" >&2
			kill -KILL "$pid" 2>/dev/null || true
		fi
		wait "$pid" 2>/dev/null || true
	done
	[ -n "$policy_rc" ] && rm -f "$policy_rc"
	if [ -n "$tmp" ]; then
		if [ "$status" -eq 0 ]; then
			rm -rf "$tmp"
		else
			echo "slurm-test: configuration and logs kept in $tmp" >&2
		fi
	fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_for SECONDS WHAT COMMAND...: polls COMMAND every 0.2 s until it succeeds.
wait_for() {
	local limit=$(($(date +%s) + $1)) what=$2
	shift 2
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$limit" ] || fail "$what: not within the time limit"
		sleep 0.2
	done
}

[ "$(id -u)" -eq 0 ] || fail "run as root (it installs packages and starts daemons)"
[ -x "$gale" ] || fail "$gale: no gale binary (run make build, or pass its path)"
gale=$(cd "$(dirname "$gale")" && pwd)/$(basename "$gale")

heading "packages: slurm-wlm, munge"
packages=(slurm-wlm munge)
missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "present: $(slurmd -V), munge $(dpkg-query -W -f='${Version}' munge)"
else
	log=/tmp/gale-slurm-deps.log
	echo "installing ${missing[*]} (apt-get, log in $log)"
	export DEBIAN_FRONTEND=noninteractive
	# Packages must not start their services: this script starts its own daemons.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		policy_rc=/usr/sbin/policy-rc.d
		printf '#!/bin/sh\nexit 101\n' >"$policy_rc"
		chmod 755 "$policy_rc"
	fi
	apt_install() {
		apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 \
			"${missing[@]}" >>"$log" 2>&1
	}
	: >"$log"
	if ! apt-cache show "${missing[@]}" >/dev/null 2>&1 || ! apt_install; then
		apt-get update -qq -o DPkg::Lock::Timeout=300 >>"$log" 2>&1 ||
			{ tail -n 5 "$log"; fail "apt-get update"; }
		apt_install || { tail -n 5 "$log"; fail "apt-get install ${missing[*]}"; }
	fi
	[ -n "$policy_rc" ] && rm -f "$policy_rc" && policy_rc=
	echo "installed: $(slurmd -V) ($(elapsed))"
fi

heading "the planted-bug program: examples/kv with KV_PLANTED_BUG=ON"
mkdir -p "$work"
work=$(cd "$work" && pwd)
if [ -n "${SLURM_TEST_KV_TESTS:-}" ]; then
	kv_tests=$(cd "$(dirname "$SLURM_TEST_KV_TESTS")" && pwd)/$(basename "$SLURM_TEST_KV_TESTS")
	[ -x "$kv_tests" ] || fail "SLURM_TEST_KV_TESTS=$kv_tests is not an executable"
	echo "given: $kv_tests"
else
	build=$(dirname "$gale")
	[ -f "$build/cmake_install.cmake" ] ||
		fail "$build is not gale's CMake build directory (set SLURM_TEST_KV_TESTS)"
	rm -rf "$work/prefix"
	cmake --install "$build" --prefix "$work/prefix" >"$work/kv.log" 2>&1 ||
		fail "cmake --install $build (see $work/kv.log)"
	cmake -S "$root/examples/kv" -B "$work/kv-bug" -DCMAKE_PREFIX_PATH="$work/prefix" \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo -DKV_PLANTED_BUG=ON >>"$work/kv.log" 2>&1 ||
		fail "configure examples/kv (see $work/kv.log)"
	cmake --build "$work/kv-bug" -j "$jobs" --target kv_tests >>"$work/kv.log" 2>&1 ||
		fail "build kv_tests (see $work/kv.log)"
	kv_tests=$work/kv-bug/kv_tests
	echo "built: $kv_tests ($(elapsed))"
fi

heading "a one-node cluster: munged, slurmctld, slurmd"
tmp=$(mktemp -d /tmp/gale-slurm.XXXXXX)
chmod 700 "$tmp"
mkdir -p "$tmp/log" "$tmp/ctld" "$tmp/slurmd" "$tmp/munge"
chmod 700 "$tmp/munge"
host=$(hostname -s)
# Two free TCP ports below the kernel's ephemeral range: a port the kernel picked for us
# and we released could be handed out again as the source port of any outgoing connection
# (slurmctld's own included) before slurmd binds it, which failed one CI run with
# "Address already in use". Below the range only an explicit bind takes a port.
read -r ctld_port slurmd_port <<<"$(python3 -c '
import random, socket
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
found = []
for port in random.sample(range(max(1024, low - 12000), low), 400):
    with socket.socket() as x:
        x.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            x.bind(("0.0.0.0", port))
        except OSError:
            continue
    found.append(port)
    if len(found) == 2:
        break
print(*found)')"
[ -n "$slurmd_port" ] || fail "no two free ports below the ephemeral range"
dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$tmp/munge/munge.key"
socket=$tmp/munge/munge.socket
cat >"$tmp/slurm.conf" <<CONF
# One node, private to scripts/slurm-test.sh: state, logs and pid files in $tmp.
ClusterName=gale-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
StateSaveLocation=$tmp/ctld
SlurmdSpoolDir=$tmp/slurmd
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
PlugStackConfig=$tmp/plugstack.conf
# No cgroups: they are not writable in a container.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
MinJobAge=600
NodeName=$host NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=gale Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
: >"$tmp/plugstack.conf"
export SLURM_CONF=$tmp/slurm.conf

munged -F --force --key-file="$tmp/munge/munge.key" --socket="$socket" \
	--pid-file="$tmp/munge/munged.pid" --seed-file="$tmp/munge/munged.seed" \
	--log-file="$tmp/log/munged.log" >"$tmp/log/munged.out" 2>&1 &
pids+=($!)
wait_for 30 "munged answering on $socket" sh -c "munge -n -S '$socket' | unmunge -S '$socket'"
slurmctld -D -f "$SLURM_CONF" >"$tmp/log/slurmctld.out" 2>&1 &
pids+=($!)
wait_for 60 "slurmctld answering (scontrol ping)" sh -c 'scontrol ping | grep -q UP'
slurmd -D -f "$SLURM_CONF" -N "$host" >"$tmp/log/slurmd.out" 2>&1 &
pids+=($!)
wait_for 60 "node $host idle" sh -c "sinfo -h -n '$host' -o %T | grep -qx idle"
echo "munged, slurmctld, slurmd: pids ${pids[*]}; node $host, 2 CPUs, ports" \
	"$ctld_port and $slurmd_port; config in $tmp ($(elapsed))"
sinfo

heading "submit: two campaigns, 4 shards each, and their merge jobs (contrib/slurm)"
submit=$root/contrib/slurm/gale-submit.sh
rm -rf "$work/catalog" "$work/planted"
# The built-in catalog, array 0-3; the planted-bug program, array 1-4.
read -r cat_array cat_merge < <("$submit" -n 4 -o "$work/catalog" -- \
	"$gale" run --scenario all --count "$seeds" | tail -n 1) || fail "submitting the catalog"
jobids+=("$cat_array" "$cat_merge")
read -r bug_array bug_merge < <("$submit" -n 4 -a 1 -o "$work/planted" -- \
	"$kv_tests" run --count "$bug_seeds" | tail -n 1) || fail "submitting the planted bug"
jobids+=("$bug_array" "$bug_merge")
if [ -z "$cat_merge" ] || [ -z "$bug_merge" ]; then fail "sbatch printed no job ids"; fi
squeue
# The merge jobs leave the queue last (they depend on every task of their array).
wait_for "$timeout" "both merge jobs finished" \
	sh -c "[ -z \"\$(squeue -h -j $cat_merge,$bug_merge)\" ]"
echo "both merge jobs finished ($(elapsed))"

# job_states ID: "state, exit code" of a finished job (an array: one line per task).
job_states() {
	scontrol -o show job "$1" |
		awk '{
			delete f
			for (i = 1; i <= NF; i++) {
				k = $i
				sub(/=.*/, "", k)
				f[k] = substr($i, length(k) + 2)
			}
			what = "job " f["JobId"]
			if ("ArrayTaskId" in f)
				what = "task " f["ArrayTaskId"] " (job " f["JobId"] ")"
			print "  " what ": " f["JobState"] ", exit " f["ExitCode"]
		}' | sort -k2,2n
}

# show_campaign DIR ARRAY MERGE TITLE: the shards' and the merge's output.
show_campaign() {
	local dir=$1 array=$2 merge=$3 i
	heading "$4: the four shards (array job $array)"
	job_states "$array"
	for i in 0 1 2 3; do
		[ -f "$dir/shard-$i.json" ] || fail "shard $i wrote no report ($dir)"
	done
	for log in "$dir"/task-*.out; do
		echo "--- $(basename "$log")"
		grep -m 1 '^gale-shard:' "$log" || true
		# The scenario table, the backend line and the verdict.
		sed -n '/^scenario  /,$p' "$log" | grep -v -e '^  replay:' -e '^FAIL ' || true
	done
	heading "$4: the merge (job $merge, --dependency=afterany:$array)"
	job_states "$merge"
	# The first three failures and the totals; every failure is in summary.txt.
	awk -v dir="$dir" '/^FAIL / { n++ } n > 3 && /^(FAIL |  replay: )/ { next }
		/^$/ && n > 3 && !said {
			print "... " n - 3 " more failures in " dir "/summary.txt"
			said = 1
		}
		{ print }' "$dir/merge.out"
}
show_campaign "$work/catalog" "$cat_array" "$cat_merge" "catalog (gale run --scenario all)"
show_campaign "$work/planted" "$bug_array" "$bug_merge" "planted bug (kv_tests run)"
# What Slurm recorded: the catalog passes (exit 0), the planted bug fails (exit 1), and
# the merge ran although the shards it depends on failed (afterany).
[ "$(job_states "$cat_array" | grep -c 'COMPLETED, exit 0:0')" -eq 4 ] ||
	fail "a catalog shard did not complete with exit 0"
# A planted-bug shard fails (exit 1) when one of its seeds meets the bug, else completes:
# odd seeds run in Linux's short-I/O world, where the planted short read never happens,
# so shards 1 and 3 of 4 (odd seeds only) may pass. At least one must fail, and none may
# end otherwise (exit 2 is a usage or report error).
bug_states=$(job_states "$bug_array")
[ "$(grep -c 'FAILED, exit 1:0' <<<"$bug_states")" -ge 1 ] ||
	fail "no planted-bug shard failed with exit 1"
[ "$(grep -c -e 'FAILED, exit 1:0' -e 'COMPLETED, exit 0:0' <<<"$bug_states")" -eq 4 ] ||
	fail "a planted-bug shard ended other than passed (exit 0) or failed (exit 1)"
job_states "$cat_merge" | grep -q 'COMPLETED, exit 0:0' || fail "the catalog merge did not pass"
job_states "$bug_merge" | grep -q 'FAILED, exit 1:0' || fail "the planted-bug merge did not fail"

heading "totals: each merged report against an unsharded run of the same campaign"
status=0
"$gale" run --scenario all --count "$seeds" -j "$jobs" --json "$work/catalog-unsharded.json" \
	>"$work/catalog-unsharded.out" 2>&1 || status=$?
[ "$status" -eq 0 ] ||
	fail "the unsharded catalog run exited $status (see $work/catalog-unsharded.out)"
status=0
"$kv_tests" run --count "$bug_seeds" -j "$jobs" --json "$work/planted-unsharded.json" \
	>"$work/planted-unsharded.out" 2>&1 || status=$?
[ "$status" -eq 1 ] || fail "the unsharded planted-bug run exited $status, want 1"
# compare MERGED UNSHARDED FAILURES_TXT MUST_FAIL: prints the totals side by side and fails
# on any difference but wall time, job count and shard fields.
compare() {
	python3 - "$@" <<'PY' || fail "$1 differs from $2"
import json, sys
merged, whole = (json.load(open(p)) for p in sys.argv[1:3])
replays = [l for l in open(sys.argv[3]).read().splitlines() if l]
must_fail = sys.argv[4] == "1"
bad = []
def same(what, a, b):
    if a != b:
        bad.append(f"{what}: merged {a!r}, unsharded {b!r}")
top = ["passed", "complete", "seeds_planned", "seeds_run", "seeds_failed", "seeds_skipped",
       "seeds_divergent", "seed_first", "seeds_per_scenario", "backend", "profile"]
print(f"  {'':28} {'merged':>12} {'unsharded':>12}")
for k in top:
    print(f"  {k:28} {str(merged[k]):>12} {str(whole[k]):>12}")
    same(k, merged[k], whole[k])
same("shard_count", merged["shard_count"], 1)
same("shards_missing", merged["shards_missing"], 0)
names = [s["name"] for s in whole["scenarios"]]
same("scenarios", [s["name"] for s in merged["scenarios"]], names)
for m, w in zip(merged["scenarios"], whole["scenarios"]):
    for k in w:
        if k != "wall_ns":
            same(f"{w['name']}.{k}", m.get(k), w[k])
print(f"  {'per scenario (' + str(len(names)) + ')':28} "
      "the same seeds, failures, faults by kind, sim time")
key = lambda f: (f["scenario"], f["seed"], f["oracle"], f["trace_hash"], f["replay"])
mf, wf = [key(f) for f in merged["failures"]], [key(f) for f in whole["failures"]]
print(f"  {'failures listed':28} {len(mf):>12} {len(wf):>12}")
same("failures listed (scenario, seed, oracle, trace hash, replay)", mf, wf)
same("failures.txt", replays, [f["replay"] for f in merged["failures"]])
if must_fail:
    same("replay commands in failures.txt", len(replays), merged["seeds_failed"])
    if merged["seeds_failed"] == 0:
        bad.append("the planted bug failed no seed")
for b in bad:
    print("  DIFFERS:", b)
sys.exit(1 if bad else 0)
PY
}
echo "catalog: $work/catalog/merged.json against $work/catalog-unsharded.json"
compare "$work/catalog/merged.json" "$work/catalog-unsharded.json" "$work/catalog/failures.txt" 0
echo "planted bug: $work/planted/merged.json against $work/planted-unsharded.json"
compare "$work/planted/merged.json" "$work/planted-unsharded.json" "$work/planted/failures.txt" 1
echo "the same totals and failures, sharded on Slurm and unsharded; a replay command for" \
	"each of the $(wc -l <"$work/planted/failures.txt") failures"

heading "the planted failure: its replay command from the merged report reproduces it"
replay=$(head -n 1 "$work/planted/failures.txt")
want=$(python3 -c 'import json, sys
f = json.load(open(sys.argv[1]))["failures"][0]
print(f["oracle"] + ": " + f["message"])' "$work/planted/merged.json")
echo "merged report: $want"
echo "\$ $replay"
status=0
# shellcheck disable=SC2086 # The command is split into words as printed.
(cd "$work" && set -- $replay && "$@") >"$work/replay.out" 2>&1 || status=$?
cat "$work/replay.out"
[ "$status" -eq 1 ] || fail "the replay exited $status, want 1 (a failing seed)"
got=$(sed -n 's/^oracle \([a-z_]*\): /\1: /p' "$work/replay.out" | head -n 1)
[ "$got" = "$want" ] || fail "the replay's oracle or message differs: $got"
grep -q 'trace hash matches' "$work/replay.out" || fail "the replay's trace hash differs"
echo "same oracle, message and trace hash"

heading "summary"
echo "slurm $(slurmd -V | cut -d' ' -f2): 2 campaigns x 4 array tasks + 2 merge jobs on one node;"
echo "catalog: $(sed -n 's/^  "seeds_run": \([0-9]*\),$/\1/p' "$work/catalog/merged.json")" \
	"seeds passed, as unsharded;" \
	"planted bug: $(wc -l <"$work/planted/failures.txt") failures, as unsharded, one replayed"
echo "slurm-test: OK ($(elapsed))"
