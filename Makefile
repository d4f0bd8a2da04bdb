# SPDX-License-Identifier: MIT
# A thin wrapper over CMake presets (CMakePresets.json). Every target first installs
# missing Debian packages (scripts/deps.sh: quiet when present, apt-get as root). On a
# machine without make, run scripts/deps.sh first: `scripts/deps.sh && make test`.
#   make run       build (default preset) and run the main job: `gale run` over the catalog
#   make test      build and run the cmocka suite through CTest (gcc, asserts on)
#   make test-asan the same suite under clang ASan + UBSan
#   make test-clang the same suite built with clang (warnings as errors)
#   make test-stress build, then the os-labelled tests STRESS_N (20) rounds in a row while
#                  one busy loop per CPU keeps every CPU busy; stops at the first failing
#                  round and prints its output (scripts/test-stress.sh)
#   make test-fresh-machine  the README's two commands in a debootstrap minbase chroot
#   make example-kv  examples/kv against the installed package: ctest, a campaign, the
#                  planted bug found and replayed, its fuzz target (scripts/example-kv.sh)
#   make test-slurm  a campaign as a Slurm job array + merge job (contrib/slurm) on a
#                  one-node cluster started here (root; scripts/slurm-test.sh, about 40 s)
#   make fuzz      libFuzzer campaigns over every CPU and their report (see Fuzzing below)
#   make coverage  gcc --coverage: tests + fuzz corpora replay + a fault campaign; gcovr
#                  reports in coverage/ and the gates (lines >= 90 %, branches >= 75 %,
#                  every fault kind injected); see coverage/README.md
#   make clean
MAKEFLAGS += --no-print-directory
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_FLAGS ?=

.PHONY: all deps build run test test-asan test-clang coverage clean

all: build

deps:
	@scripts/deps.sh

build: deps
	@cmake --preset default >/dev/null
	@cmake --build --preset default -j $(JOBS)

# The main job: the whole scenario catalog over RUN_SEEDS seeds per scenario, every oracle on,
# the "default" fault profile, one worker per CPU (about 15 s on 2 cores); then the same
# scenarios on the real kernel over loopback, RUN_KERNEL_SEEDS seeds each on `epoll` and on
# `fault-epoll` (the fault driver over epoll, "default" profile).
RUN_SEEDS ?= 10000
RUN_KERNEL_SEEDS ?= 200
RUN_FLAGS ?= --profile default
run: build
	@./build/default/gale run --scenario all --count $(RUN_SEEDS) $(RUN_FLAGS) \
		--json build/default/gale-run.json --junit build/default/gale-run.xml
	@./build/default/gale run --scenario all --count $(RUN_KERNEL_SEEDS) --backend epoll \
		--json build/default/gale-run-epoll.json --junit build/default/gale-run-epoll.xml
	@./build/default/gale run --scenario all --count $(RUN_KERNEL_SEEDS) --profile default \
		--backend fault-epoll --json build/default/gale-run-fault-epoll.json \
		--junit build/default/gale-run-fault-epoll.xml

test: build
	@ctest --preset default -j $(JOBS) $(CTEST_FLAGS)

test-asan: deps
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS)
	@ctest --preset asan -j $(JOBS) $(CTEST_FLAGS)

test-clang: deps
	@cmake --preset clang >/dev/null
	@cmake --build --preset clang -j $(JOBS)
	@ctest --preset clang -j $(JOBS) $(CTEST_FLAGS)

# The real-kernel tests on a loaded machine, as CI's shared 2-CPU runner is: an os test that
# assumes a quick scheduler fails here. STRESS_N=3 takes a few seconds.
STRESS_N ?= 20
.PHONY: test-stress

test-stress: build
	@STRESS_N=$(STRESS_N) JOBS=$(JOBS) scripts/test-stress.sh

coverage: deps
	@scripts/coverage.sh

# The README's two commands on a bare Debian 12 (debootstrap minbase: no make, no compiler),
# in a chroot with a private /dev (scripts/chroot-test.sh; root; about 80 s).
.PHONY: test-fresh-machine

test-fresh-machine:
	@scripts/chroot-test.sh

# examples/kv, a user project built against the *installed* package (a temporary prefix):
# its CTest suite, a 10,000-seed campaign, the planted bug found and replayed, and with
# clang its libFuzzer target (scripts/example-kv.sh, about 15 s after the build).
.PHONY: example-kv

example-kv: deps
	@scripts/example-kv.sh

# contrib/slurm for real: installs slurm-wlm and munge, starts munged, slurmctld and slurmd on
# this machine (private config, state and ports), runs the catalog and examples/kv's planted
# bug as 4-task job arrays with dependent merge jobs, checks the merged reports against
# unsharded runs and replays the planted failure; stops the daemons (scripts/slurm-test.sh).
.PHONY: test-slurm

test-slurm: build
	@scripts/slurm-test.sh

clean:
	rm -rf build

# Fuzzing (fuzz/README.md): libFuzzer campaigns on the clang fuzz preset.
#   make fuzz        every target (or FUZZ_TARGETS) for FUZZ_SECONDS (60) with -fork=FUZZ_JOBS
#                    (the CPU count); minimizes crashes into fuzz/regressions/ and each
#                    campaign's corpus (FUZZ_MERGE=1: the result replaces fuzz/corpus/<t>),
#                    then writes build/fuzz/report/index.html: per target executions, exec/s,
#                    coverage and corpus size over time (SVG), and the corpora's llvm-cov
#                    source coverage (FUZZ_COVERAGE=0: without it)
#   make fuzz-report the same report from the last campaigns, without fuzzing
#   make fuzz-smoke  every target for 15 s, one process, no minimization, no report (CI)
FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= $(JOBS)
FUZZ_TARGETS ?=
FUZZ_COVERAGE ?= 1

.PHONY: fuzz fuzz-report fuzz-smoke

fuzz: deps
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) FUZZ_REPORT=1 \
	  FUZZ_COVERAGE=$(FUZZ_COVERAGE) scripts/fuzz.sh $(FUZZ_TARGETS)

fuzz-report: deps
	@FUZZ_COVERAGE=$(FUZZ_COVERAGE) scripts/fuzz.sh --report

fuzz-smoke: deps
	@FUZZ_SECONDS=15 FUZZ_JOBS=1 FUZZ_MINIMIZE=0 scripts/fuzz.sh

# Benchmarks (scripts/bench.sh): the "bench" preset (Release, -O2 -DNDEBUG), gale against its
# references (a memcpy ring, raw epoll, libuv) round by round, plus the simulator, syscalls
# (strace), instructions (callgrind) and fuzz exec/s, as ONE table; rows and a Markdown copy
# in build/bench/results.{tsv,md}. About 10 minutes on 2 cores.
#   make bench                 BENCH_ROUNDS=N rounds per figure (11)
#   BENCH_QUICK=1 make bench   tiny sizes, a smoke run of the whole pipeline
.PHONY: bench

bench: deps
	@scripts/bench.sh
