/* SPDX-License-Identifier: MIT */
/**
 * @file gale_main.h
 * Your test program as a full `gale` command: campaigns, replay and reports for your own
 * scenarios.
 *
 * A user who wrote scenarios (<gale/scenario.h>) for their server writes one main():
 *
 *     static const struct gale_scenario *const scenarios[] = {&kv_get_put, &kv_restart};
 *     int main(int argc, char **argv)
 *     {
 *             return gale_main(argc, argv, scenarios, 2);
 *     }
 *
 * and gets every subcommand and flag of the built-in `gale` command (which is this call
 * over its own catalog):
 *   my_tests run [--scenario NAME|all] [--seeds A..B | --count N] [--profile P | --swarm]
 *                [--backend B[,B2]] [-j N] [--shard I/N] [--time-limit S] [--json F]
 *                [--junit F] [--fault-coverage] [--no-shrink] [--timeline-dir DIR]
 *   my_tests replay --scenario NAME --seed N [--profile P | --swarm] [--backend B]
 *                   [--trace F] [--verbose] [--timeline F.json] [--html F.html] [--hash H]
 *   my_tests list
 *   my_tests merge [--json F] [--junit F] SHARD.json...   (the reports of run --shard I/N)
 * with the progress bar, the summary, JSON and JUnit reports, forked workers (a crashing
 * seed costs one failure, not the campaign), and for every failure a replay line that
 * names your binary: `my_tests replay --scenario kv_get_put --seed 17 --profile default
 * --hash 0x...`. `my_tests <command> --help` describes each command.
 *
 * Timelines: `replay --timeline F.json` writes the run as Chrome trace-event JSON (open it
 * in https://ui.perfetto.dev or chrome://tracing) and `replay --html F.html` as one
 * self-contained page: a track per task (each poll a slice named by the task and what it
 * returned), per fd and observed duplex end (ops with byte counts and results, readiness
 * events, clears), every injected fault marked, the oracle's failure as the last marked
 * event; virtual time is the clock and every event carries its trace step. `run
 * --timeline-dir DIR` writes both for every listed failure on the simulator
 * (DIR/<scenario>-seed<N>.json and .html).
 *
 * Backends (--backend, enum gale_backend): the same scenarios run on the simulator
 * (`sim`, the default: deterministic, exact replay, failures shrunk), on the real kernel
 * over loopback (`epoll`, no faults) or on the fault driver over the kernel
 * (`fault-epoll`). `--backend sim,epoll` runs every seed on both: a seed that passes on
 * one and fails on the other is reported as a divergence ("diverges: passes on sim, fails
 * on epoll: ..."), which is how a scenario finds where the simulator and the kernel
 * disagree. A kernel run replays only approximately (the kernel's timing is not the
 * seed's): its failures list the faults taken and a replay line with --backend, and are
 * not shrunk.
 *
 * Exit status (return it from main): 0 when every seed that ran passed, 1 when a seed
 * failed or diverged (or, with --fault-coverage, a fault kind was never injected), 2 for
 * bad arguments, output that could not be written, or a campaign that could not run.
 * Every error is one line on stderr, prefixed with the program's name.
 *
 * Link with gale::test (CMake: find_package(gale), target_link_libraries(my_tests PRIVATE
 * gale::test)) or pkg-config gale-test. The call forks worker processes and reads the wall
 * clock (for progress, time limits and reports); on the simulator the scenarios
 * themselves stay deterministic. The kernel backends use loopback addresses only.
 */
#ifndef GALE_GALE_MAIN_H
#define GALE_GALE_MAIN_H

#include <stddef.h>

#include <gale/scenario.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Most scenarios one program can offer. */
#define GALE_MAIN_SCENARIOS_MAX 64

/**
 * Runs the command line argv (argv[0] is the program, argv[1] the subcommand) over the
 * given scenarios.
 *
 * @param argc, argv   main()'s arguments, borrowed for the call.
 * @param scenarios    borrowed for the call: count pointers to scenarios, each with a
 *                     setup function and a name that is unique, non-empty, made of
 *                     [a-z0-9_-], and not "all" (which `--scenario all` means).
 * @param count        1 to GALE_MAIN_SCENARIOS_MAX.
 * @return the exit status (0, 1 or 2, see above). A scenario table that breaks the rules
 *         above is reported on stderr (naming the scenario) with status 2: it is the
 *         program's bug, caught before any seed runs.
 */
GALE_EXTERN int gale_main(int argc, char **argv, const struct gale_scenario *const *scenarios,
			  size_t count);

#ifdef __cplusplus
}
#endif

#endif /* GALE_GALE_MAIN_H */
