#!/usr/bin/env bash
# The benchmark suite behind `make bench`: every figure in one table.
#
# How to run:
#   make bench                      full suite, about 10 minutes on 2 cores
#   BENCH_QUICK=1 make bench        tiny sizes, one 1 s fuzz run: a smoke run (~2 min)
#   BENCH_ROUNDS=15 make bench      more alternating rounds per figure (default 11; quick 3)
#   scripts/bench.sh                the same without make's dependency check
# Output: the table on stdout; build/bench/results.tsv (every "@bench" row, see
# bench/bench_report.h), build/bench/results.md (Markdown, ready for BENCHMARKS.md, with the
# machine description), build/bench/logs/ (each program's own text).
#
# What it does: installs libuv1-dev, strace and valgrind, and for the tokio contestant
# librust-tokio-dev, cargo and rustc (scripts/deps.sh), builds the "bench" preset (Release,
# -O2 -DNDEBUG), the tokio program (bench/tokio/, Debian's cargo and rustc, offline against
# Debian's packaged crates in /usr/share/cargo/registry, into build/bench/tokio; when that
# fails the tokio column is skipped with a message, never the run) and the "fuzz" preset,
# raises `ulimit -n` to the hard limit, then runs, each program alternating its contestants
# round by round:
#   bench_duplex   duplex vs a memcpy ring
#   bench_tcp      loopback TCP throughput and ping-pong: gale vs raw epoll vs libuv vs tokio
#   bench_conns    1,000 and 10,000 connections (when built): the same four
#   bench_sim      simulated driver ops/s and ns/op at 10 / 1,000 / 10,000 connections
#   gale run       seeds/s of the tcp_echo scenario, one worker
#   strace -c -f   syscalls per ping-pong round trip (gale, raw, libuv, tokio)
#   callgrind      instructions per duplex transfer, 64 KiB and 64 B (gale, memcpy ring),
#                  and per ping-pong round trip (gale, raw epoll, libuv)
#   scripts/fuzz.sh  executions/s per fuzz target (no reference)
# strace and callgrind figures are differences of two run lengths, so setup cancels out.
# A figure's ratio is against the reference row of the same figure (ratio column empty),
# measured in the same invocation; >= 1 is good (bench_report.h). Goals apply to the median
# ratio. Exit status: 0, or 1 when a program failed (missed goals are reported, not fatal).
#
# Environment: BENCH_ROUNDS, BENCH_QUICK=1, BENCH_FUZZ_SECONDS (10; quick 1),
# BENCH_FUZZ_RUNS (3; quick 1), BENCH_NO_FUZZ=1, BENCH_CONNS_ARGS (extra bench_conns flags),
# BENCH_NO_DEPS=1 (skip scripts/deps.sh), BENCH_NO_TOKIO=1 (no tokio column), JOBS (build
# jobs, default nproc), BENCH_CARGO / BENCH_RUSTC (default /usr/bin/cargo, /usr/bin/rustc:
# Debian's, not a rustup toolchain earlier in PATH).
set -euo pipefail
cd "$(dirname "$0")/.."

quick=${BENCH_QUICK:-0}
if [ "$quick" = 1 ]; then
  rounds=${BENCH_ROUNDS:-3}
  duplex_args=(--bytes 512M)
  tcp_args=(--bytes 67108864 --round-trips 5000)
  sim_args=(--ops 200000)
  echo_seeds=300
  strace_trips=(500 1500)
  callgrind_bytes=(4M 8M)
  callgrind_small_bytes=(64K 128K)
  callgrind_trips=(1000 2000)
  fuzz_seconds=${BENCH_FUZZ_SECONDS:-1}
  fuzz_runs=${BENCH_FUZZ_RUNS:-1}
else
  rounds=${BENCH_ROUNDS:-11}
  duplex_args=(--bytes 4G)
  tcp_args=(--bytes 536870912 --round-trips 50000) # Short runs, many rounds (11).
  sim_args=()
  echo_seeds=5000
  strace_trips=(2000 12000)
  callgrind_bytes=(16M 32M)
  callgrind_small_bytes=(640K 1280K)
  callgrind_trips=(20000 40000)
  fuzz_seconds=${BENCH_FUZZ_SECONDS:-10}
  fuzz_runs=${BENCH_FUZZ_RUNS:-3}
fi
case "$rounds$fuzz_seconds$fuzz_runs" in
  *[!0-9]*) echo "bench.sh: BENCH_ROUNDS, BENCH_FUZZ_* must be numbers" >&2; exit 2;;
esac
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
out=build/bench
bin=$out/bench
logs=$out/logs
tsv=$out/results.tsv
failed=0

say() { echo "bench.sh: $*" >&2; }

# ---- dependencies and builds ---------------------------------------------------------------
if [ "${BENCH_NO_DEPS:-0}" != 1 ]; then
  scripts/deps.sh libuv1-dev strace valgrind ||
    say "some packages are missing: the rows that need them are skipped"
  [ "${BENCH_NO_TOKIO:-0}" = 1 ] || scripts/deps.sh librust-tokio-dev cargo rustc ||
    say "scripts/deps.sh failed for librust-tokio-dev cargo rustc: the tokio column needs them"
fi
say "building the bench preset (Release, -O2 -DNDEBUG)"
cmake --preset bench >/dev/null
cmake --build --preset bench -j "$jobs" >"$out/build.log" 2>&1 || {
  tail -n 30 "$out/build.log" >&2; say "build failed (see $out/build.log)"; exit 1; }
mkdir -p "$logs"
rm -f "$logs"/*.log

# The tokio contestant (bench/tokio/): Debian's cargo, offline, with crates-io replaced by
# the directory of Debian's packaged crate sources. The crate is copied (mtimes kept) into
# build/bench/tokio/crate so Cargo.lock and target/ never land in the source tree. Sets
# tokio_bin, or tokio_note (why there is no tokio column).
tokio_bin=
tokio_note=
build_tokio() {
  local dir=$out/tokio cargo=${BENCH_CARGO:-/usr/bin/cargo} rustc=${BENCH_RUSTC:-/usr/bin/rustc}
  local registry=/usr/share/cargo/registry
  if [ "${BENCH_NO_TOKIO:-0}" = 1 ]; then
    tokio_note="skipped (BENCH_NO_TOKIO=1)"; return
  fi
  if [ ! -x "$cargo" ] || [ ! -x "$rustc" ] || ! compgen -G "$registry/tokio-1.*" >/dev/null
  then
    tokio_note="not built: needs $cargo, $rustc and $registry/tokio-1.* (Debian packages"
    tokio_note="$tokio_note cargo, rustc, librust-tokio-dev)"; return
  fi
  mkdir -p "$dir/home" "$dir/crate"
  rm -rf "$dir/crate/src"
  cp -p bench/tokio/Cargo.toml "$dir/crate/"
  cp -Rp bench/tokio/src "$dir/crate/"
  printf '%s\n' '[source.crates-io]' 'replace-with = "debian"' '' '[source.debian]' \
    "directory = \"$registry\"" '' '[net]' 'offline = true' >"$dir/home/config.toml"
  say "building the tokio contestant ($("$rustc" --version | cut -d' ' -f1-2), offline)"
  if CARGO_HOME=$dir/home CARGO_TARGET_DIR=$dir/target RUSTC=$rustc \
     "$cargo" build --release --offline --manifest-path "$dir/crate/Cargo.toml" \
     >"$dir/build.log" 2>&1; then
    tokio_bin=$dir/target/release/gale-bench-tokio
    tokio_note="$(awk '/^name = "tokio"$/ { getline; gsub(/"/, "", $3); print $3 }' \
                  "$dir/crate/Cargo.lock") (Debian librust-tokio-dev),"
    tokio_note="$tokio_note $("$rustc" --version | cut -d' ' -f1-2), current_thread runtime"
  else
    tail -n 5 "$dir/build.log" >&2
    tokio_note="not built: cargo build failed (see $dir/build.log)"
  fi
}
build_tokio
[ -n "$tokio_bin" ] || say "tokio: $tokio_note; the tokio column is skipped"
tokio_args=()
[ -n "$tokio_bin" ] && tokio_args=(--tokio "$tokio_bin")

# 10,000 connections need 20,000+ descriptors.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# ---- helpers -------------------------------------------------------------------------------
# stats v1 v2 ...: "median<TAB>min<TAB>max".
stats() {
  printf '%s\n' "$@" | sort -g |
    awk '{ v[NR] = $1 }
         END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
               printf "%.6g\t%.6g\t%.6g", m, v[1], v[NR] }'
}

# row figure contestant unit "values" "ratios" goal: one @bench row into the results.
row() {
  local figure=$1 contestant=$2 unit=$3 values=$4 ratios=$5 goal=${6:--} r=$'-\t-\t-'
  # shellcheck disable=SC2086
  [ -n "$ratios" ] && r=$(stats $ratios)
  # shellcheck disable=SC2086
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$figure" "$contestant" "$unit" "$(stats $values)" "$r" \
    "$goal" >>"$tsv"
}

# run name cmd...: runs a program, keeps its text in logs/name.log, collects its rows.
run() {
  local name=$1 rc=0 start
  shift
  say "$name: $*"
  start=$SECONDS
  "$@" >"$logs/$name.log" 2>&1 || rc=$?
  sed -n 's/^@bench\t//p' "$logs/$name.log" >>"$tsv"
  if [ "$rc" -ne 0 ]; then
    say "$name: FAILED (exit $rc), see $logs/$name.log"
    tail -n 5 "$logs/$name.log" >&2
    failed=1
  fi
  say "$name: $((SECONDS - start)) s"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6g", b == 0 ? 0 : a / b }'; }

# ---- machine -------------------------------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -n 1)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
printf 'figure\tcontestant\tunit\tmedian\tmin\tmax\tratio_median\tratio_min\tratio_max\tgoal\n' \
  >"$tsv"
bench_start=$SECONDS

# ---- the programs --------------------------------------------------------------------------
run bench_duplex "$bin/bench_duplex" --rounds "$rounds" "${duplex_args[@]}"
run bench_tcp "$bin/bench_tcp" --rounds "$rounds" "${tcp_args[@]}" "${tokio_args[@]}"
if [ -x "$bin/bench_conns" ]; then
  # shellcheck disable=SC2086
  run bench_conns_1000 "$bin/bench_conns" --conns 1000 --rounds "$rounds" "${tokio_args[@]}" \
    ${BENCH_CONNS_ARGS:-}
  # shellcheck disable=SC2086
  run bench_conns_10000 "$bin/bench_conns" --conns 10000 --rounds "$rounds" \
    "${tokio_args[@]}" \
    ${BENCH_CONNS_ARGS:-}
else
  echo "bench_conns: not built"
fi
run bench_sim "$bin/bench_sim" --rounds "$rounds" "${sim_args[@]}"

# Seeds per second of the echo scenario: whole `gale run` campaigns, one worker, the default
# fault profile; the figure is the command's own seeds/s for the scenario.
stage=$SECONDS
echo_rates=()
echo_runs=$rounds
if [ ! -x "$out/gale" ]; then
  say "gale run: $out/gale not built (GALE_BUILD_CLI=OFF?): no seeds/s row"; echo_runs=0
fi
for ((i = 1; i <= echo_runs; i++)); do
  log=$logs/gale_run_tcp_echo.$i.log
  if "$out/gale" run --scenario tcp_echo --count "$echo_seeds" -j 1 >"$log" 2>&1; then
    echo_rates+=("$(awk '$1 == "tcp_echo" { print $NF }' "$log")")
  else
    say "gale run: FAILED, see $log"; failed=1; break
  fi
done
[ ${#echo_rates[@]} -gt 0 ] &&
  row "sim scenario tcp_echo ($echo_seeds seeds, -j 1)" "gale run" "seeds/s" \
    "${echo_rates[*]}" ""
say "gale run tcp_echo: ${echo_rates[*]:-none} seeds/s ($((SECONDS - stage)) s)"

# Syscalls per ping-pong round trip: strace -c over two run lengths, the difference divided
# by the extra round trips (connection setup and exit cancel out).
strace_calls() { # contestant round-trips
  local f=$logs/strace_$1_$2.txt
  strace -c -f -o "$f" "$bin/bench_tcp" --test pingpong --only "$1" --rounds 1 \
    --round-trips "$2" "${tokio_args[@]}" >/dev/null 2>&1 || return 1
  awk '$NF == "total" { print $4 }' "$f"
}
stage=$SECONDS
declare -A syscalls=()
if command -v strace >/dev/null 2>&1; then
  for who in gale raw libuv tokio; do
    # libuv is a contestant only when bench_tcp was built with it, tokio only with
    # --tokio (exit 3 otherwise). strace -f follows tokio's process too.
    if ! a=$(strace_calls "$who" "${strace_trips[0]}") ||
       ! b=$(strace_calls "$who" "${strace_trips[1]}"); then
      say "strace $who: skipped (not built in, or strace failed)"
      continue
    fi
    syscalls[$who]=$(awk -v a="$a" -v b="$b" -v n="$((strace_trips[1] - strace_trips[0]))" \
                     'BEGIN { printf "%.6g", (b - a) / n }')
  done
  say "syscalls per round trip: gale ${syscalls[gale]:-?} raw ${syscalls[raw]:-?}" \
      "libuv ${syscalls[libuv]:-?} tokio ${syscalls[tokio]:-?} ($((SECONDS - stage)) s)"
  fig="syscalls per ping-pong round trip"
  if [ -n "${syscalls[raw]:-}" ]; then
    row "$fig" "raw epoll" "syscalls" "${syscalls[raw]}" ""
    [ -n "${syscalls[gale]:-}" ] &&
      row "$fig" "gale" "syscalls" "${syscalls[gale]}" \
        "$(ratio "${syscalls[raw]}" "${syscalls[gale]}")" ">= 1"
    [ -n "${syscalls[libuv]:-}" ] &&
      row "$fig" "libuv" "syscalls" "${syscalls[libuv]}" \
        "$(ratio "${syscalls[raw]}" "${syscalls[libuv]}")"
    [ -n "${syscalls[tokio]:-}" ] &&
      row "$fig" "tokio" "syscalls" "${syscalls[tokio]}" \
        "$(ratio "${syscalls[raw]}" "${syscalls[tokio]}")"
  fi
  for peer in libuv tokio; do
    if [ -n "${syscalls[$peer]:-}" ] && [ -n "${syscalls[gale]:-}" ]; then
      row "$fig, gale vs $peer" "$peer" "syscalls" "${syscalls[$peer]}" ""
      row "$fig, gale vs $peer" "gale" "syscalls" "${syscalls[gale]}" \
        "$(ratio "${syscalls[$peer]}" "${syscalls[gale]}")" ">= 1"
    fi
  done
else
  say "strace not installed: no syscall rows"
fi

# Instructions per duplex transfer (one write + one read): callgrind over two sizes, for
# 64 KiB transfers (the copies dominate) and 64-byte ones (the bookkeeping dominates).
to_bytes() { numfmt --from=iec "$1"; }
callgrind_instructions() { # gale|memcpy bytes chunk
  local f=$logs/callgrind_$1_$2_$3.txt
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin/bench_duplex" --only "$1" \
    --rounds 1 --bytes "$2" --chunk "$3" >"$f" 2>&1 || return 1
  sed -n 's/^==[0-9]*== Collected : *\([0-9]*\).*/\1/p' "$f"
}
callgrind_rows() { # chunk label first-bytes second-bytes
  local chunk=$1 label=$2 transfers a b who
  transfers=$(( ($(to_bytes "$4") - $(to_bytes "$3")) / $(to_bytes "$chunk") ))
  declare -A instructions=()
  for who in gale memcpy; do
    if ! a=$(callgrind_instructions "$who" "$3" "$chunk") ||
       ! b=$(callgrind_instructions "$who" "$4" "$chunk"); then
      say "callgrind $who: failed (see $logs/callgrind_*)"; failed=1; continue
    fi
    instructions[$who]=$(awk -v a="$a" -v b="$b" -v n="$transfers" \
                         'BEGIN { printf "%.6g", (b - a) / n }')
  done
  say "instructions per $label transfer: gale ${instructions[gale]:-?}" \
      "memcpy ring ${instructions[memcpy]:-?}"
  if [ -n "${instructions[gale]:-}" ] && [ -n "${instructions[memcpy]:-}" ]; then
    local fig="instructions per $label duplex transfer"
    row "$fig" "memcpy ring" "instructions" "${instructions[memcpy]}" ""
    row "$fig" "gale" "instructions" "${instructions[gale]}" \
      "$(ratio "${instructions[memcpy]}" "${instructions[gale]}")"
  fi
}
# Instructions per ping-pong round trip (user space: what the loop around the 6 syscalls
# costs), gale against raw epoll and libuv; goal for gale <= 1,000 (issue 18).
pingpong_instructions() { # contestant round-trips
  local f=$logs/callgrind_pingpong_$1_$2.txt
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin/bench_tcp" --test pingpong \
    --only "$1" --rounds 1 --round-trips "$2" >"$f" 2>&1 || return 1
  sed -n 's/^==[0-9]*== Collected : *\([0-9]*\).*/\1/p' "$f"
}
pingpong_instruction_rows() {
  local who a b
  declare -A instructions=()
  for who in raw gale libuv; do
    if ! a=$(pingpong_instructions "$who" "${callgrind_trips[0]}") ||
       ! b=$(pingpong_instructions "$who" "${callgrind_trips[1]}"); then
      [ "$who" = libuv ] || { say "callgrind ping-pong $who: failed"; failed=1; }
      continue
    fi
    instructions[$who]=$(awk -v a="$a" -v b="$b" \
      -v n="$((callgrind_trips[1] - callgrind_trips[0]))" 'BEGIN { printf "%.6g", (b - a) / n }')
  done
  say "instructions per ping-pong round trip: gale ${instructions[gale]:-?}" \
      "raw ${instructions[raw]:-?} libuv ${instructions[libuv]:-?}"
  local fig="instructions per ping-pong round trip"
  [ -n "${instructions[raw]:-}" ] || return 0
  row "$fig" "raw epoll" "instructions" "${instructions[raw]}" ""
  [ -n "${instructions[gale]:-}" ] &&
    row "$fig" "gale" "instructions" "${instructions[gale]}" \
      "$(ratio "${instructions[raw]}" "${instructions[gale]}")" "value <= 1000"
  [ -n "${instructions[libuv]:-}" ] &&
    row "$fig" "libuv" "instructions" "${instructions[libuv]}" \
      "$(ratio "${instructions[raw]}" "${instructions[libuv]}")"
  return 0
}
stage=$SECONDS
if command -v valgrind >/dev/null 2>&1; then
  callgrind_rows 64K "64 KiB" "${callgrind_bytes[0]}" "${callgrind_bytes[1]}"
  callgrind_rows 64 "64 B" "${callgrind_small_bytes[0]}" "${callgrind_small_bytes[1]}"
  pingpong_instruction_rows
  say "callgrind: $((SECONDS - stage)) s"
else
  say "valgrind not installed: no instruction rows"
fi

# Fuzz executions per second per target: scripts/fuzz.sh (fuzz preset: clang, libFuzzer,
# ASan + UBSan) fuzz_runs times from the committed corpus; its summary table has exec/s.
if [ "${BENCH_NO_FUZZ:-0}" != 1 ]; then
  declare -A fuzz_rates=()
  fuzz_order=()
  for ((i = 1; i <= fuzz_runs; i++)); do
    log=$logs/fuzz.$i.log
    say "fuzz run $i/$fuzz_runs: ${fuzz_seconds}s per target$([ "$i" = 1 ] &&
                                                                echo ', after building')"
    stage=$SECONDS
    no_build=1
    [ "$i" = 1 ] && no_build=0
    rc=0
    FUZZ_SECONDS=$fuzz_seconds FUZZ_JOBS=1 FUZZ_NO_BUILD=$no_build scripts/fuzz.sh \
      >"$log" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
      say "fuzz.sh: exit $rc (a crash or a build error), see $log"; failed=1
      [ "$rc" -eq 2 ] && break
    fi
    say "fuzz run $i: $((SECONDS - stage)) s"
    # The summary: "target time|seconds execs exec/s ..." then one line per target.
    while read -r t _ _ rate _; do
      case "$rate" in ''|*[!0-9]*) continue;; esac
      [ -n "${fuzz_rates[$t]:-}" ] || fuzz_order+=("$t")
      fuzz_rates[$t]="${fuzz_rates[$t]:-} $rate"
    done < <(sed -En '/^target +(time|seconds) +execs +exec\/s/,$p' "$log" | tail -n +2)
  done
  for t in "${fuzz_order[@]}"; do
    row "fuzz executions/s (${fuzz_seconds} s runs)" "$t" "exec/s" "${fuzz_rates[$t]}" ""
  done
fi

load_after=$(cut -d' ' -f1-3 /proc/loadavg)
elapsed=$((SECONDS - bench_start))

# ---- the table -----------------------------------------------------------------------------
{
  echo "machine: $(nproc) CPUs, ${cpu:-unknown CPU}, Linux $(uname -r)"
  echo "compiler: $(gcc --version | head -n 1); bench preset (Release, -O2 -DNDEBUG)"
  echo "libuv: $(pkg-config --modversion libuv 2>/dev/null || echo 'not found')"
  echo "tokio: $tokio_note"
  echo "load average before: $load_before; after: $load_after"
  echo "rounds: $rounds$([ "$quick" = 1 ] && echo ' (BENCH_QUICK=1: tiny sizes)');" \
       "wall time: ${elapsed} s; date: $(date -u '+%Y-%m-%d %H:%M UTC')"
} >"$out/machine.txt"

python3 - "$tsv" "$out/machine.txt" "$out/results.md" <<'PY'
import sys

tsv, machine_path, md_path = sys.argv[1:4]
rows = [line.rstrip("\n").split("\t") for line in open(tsv)][1:]
machine = open(machine_path).read().strip().splitlines()

def num(text):
    try:
        return float(text)
    except ValueError:
        return None

def fmt(text):
    x = num(text)
    if x is None:
        return text
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}" if abs(x) < 10 else f"{x:.1f}"

# Figures that have a ratio somewhere: their rows without one are the reference.
with_ratio = {r[0] for r in rows if len(r) >= 10 and r[6] != "-"}
table = []
for r in rows:
    if len(r) < 10:
        continue
    figure, contestant, unit, med, lo, hi, rmed, rlo, rhi, goal = r[:10]
    if rmed != "-":
        ratio = f"{float(rmed):.3f} [{float(rlo):.3f}–{float(rhi):.3f}]"
    else:
        ratio = "(reference)" if figure in with_ratio else "-"
    verdict = "-"
    parts = goal.split()
    # "OP BOUND" applies to the median ratio, "value OP BOUND" to the median value.
    subject = rmed
    if len(parts) == 3 and parts[0] == "value":
        parts, subject = parts[1:], med
    if len(parts) == 2 and num(parts[1]) is not None and num(subject) is not None:
        op, bound, x = parts[0], float(parts[1]), float(subject)
        ok = {">=": x >= bound, ">": x > bound, "<=": x <= bound, "<": x < bound}.get(op)
        verdict = "-" if ok is None else ("met" if ok else "MISSED")
    table.append([figure, contestant, fmt(med), fmt(lo), fmt(hi), unit, ratio, goal, verdict])

head = ["figure", "contestant", "median", "min", "max", "unit", "ratio median [min–max]",
        "goal", "verdict"]
widths = [max(len(x[i]) for x in table + [head]) for i in range(len(head))]
numeric = {2, 3, 4}

def line(cells):
    return "  ".join(c.rjust(w) if i in numeric else c.ljust(w)
                     for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

print()
for m in machine:
    print(m)
print()
print(line(head))
print(line(["-" * w for w in widths]))
last = None
for cells in table:
    shown = list(cells)
    if cells[0] == last:
        shown[0] = ""
    last = cells[0]
    print(line(shown))
missed = sum(1 for t in table if t[8] == "MISSED")
met = sum(1 for t in table if t[8] == "met")
print(f"\ngoals: {met} met, {missed} missed")

with open(md_path, "w") as md:
    md.write("\n".join(f"- {m}" for m in machine) + "\n\n")
    md.write("| " + " | ".join(head) + " |\n")
    md.write("|" + "|".join(" --- " if i not in numeric else " ---: "
                            for i in range(len(head))) + "|\n")
    for cells in table:
        shown = list(cells)
        if shown[8] == "MISSED":
            shown[8] = "**missed**"
        md.write("| " + " | ".join(shown) + " |\n")
    md.write(f"\nGoals: {met} met, {missed} missed.\n")
PY
say "rows: $tsv; Markdown: $out/results.md; program logs: $logs/"
exit "$failed"
