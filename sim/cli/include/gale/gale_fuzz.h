/* SPDX-License-Identifier: MIT */
/**
 * @file gale_fuzz.h
 * Your scenarios as a libFuzzer target: the input bytes are the run's entropy.
 *
 * One line in a file of its own makes the target:
 *
 *     #include <gale/gale_fuzz.h>
 *     static const struct gale_scenario *const scenarios[] = {&kv_get_put};
 *     GALE_FUZZ_TARGET(scenarios, 1)
 *
 * Build it with clang: `clang -fsanitize=fuzzer,address,undefined kv_fuzz.c ...` linked
 * with gale::test (and your scenarios' code), then `./kv_fuzz corpus/`. Every oracle is
 * on; a failure prints the scenario, the oracle and its message, then aborts, so libFuzzer
 * saves the input as crash-<sha1>. That file replays through your gale_main() program like
 * a seed: `my_tests replay --input crash-<sha1> [--verbose]` (same verdict, message and
 * trace hash), because both decode the input with gale_fuzz_decode().
 *
 * Input layout: byte 0 picks the scenario (modulo count); byte 1 the fault profile (0
 * none, 1 default, 2 harsh, 3 swarm drawn from the entropy, anything else a profile read
 * from the next GALE_FAULT_COUNT bytes: 0 leaves a fault kind off, b sets its chance to
 * b/512); the rest is the entropy. When the bytes run out every choice is neutral (FIFO,
 * no fault, minimum delay), so any prefix of an input is an input and every run ends.
 */
#ifndef GALE_GALE_FUZZ_H
#define GALE_GALE_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include <gale/scenario.h>
#include <gale/sim_profile.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Steps (task polls + driver ops) a fuzzed run may take: a livelock is reported long
 * before gale_scenario_run()'s default, so fuzzing stays fast. Replay uses the same.
 */
#define GALE_FUZZ_STEPS_MAX 2000000

/** One decoded input: what gale_scenario_run() is called with. */
struct gale_fuzz_case {
	const struct gale_scenario *scenario; /**< Picked by byte 0. */
	struct gale_run_options options;      /**< Bytes mode over the entropy part. */
	struct gale_fault_profile custom;     /**< Storage for a profile read from the input;
					       *   options.profile may point here, so do not
					       *   copy the struct while it is used. */
};

/**
 * Decodes a fuzz input (layout above) into out.
 *
 * @param data, size   the input, borrowed while out is used (its entropy points into it).
 * @param scenarios    count scenario pointers, borrowed; count >= 1.
 * @return 0, or -EINVAL for no scenarios (out untouched).
 */
GALE_EXTERN int gale_fuzz_decode(const uint8_t *data, size_t size,
				 const struct gale_scenario *const *scenarios, size_t count,
				 struct gale_fuzz_case *out);

/**
 * Runs one fuzz input with every oracle on (the body of GALE_FUZZ_TARGET). Returns 0 when
 * the run passed. On a failure it prints "gale-fuzz: invariant broken: ORACLE: scenario S,
 * profile P: MESSAGE"
 * and the replay hint to stderr, then aborts: libFuzzer keeps the input. With the
 * environment variable GALE_FUZZ_TRACE=1 it prints the run's trace first.
 */
GALE_EXTERN int gale_fuzz_scenarios(const uint8_t *data, size_t size,
				    const struct gale_scenario *const *scenarios, size_t count);

/** Defines LLVMFuzzerTestOneInput over a scenario table (an array and its length). */
#define GALE_FUZZ_TARGET(scenarios, count)                                                  \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);                        \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)                         \
	{                                                                                    \
		return gale_fuzz_scenarios(data, size, (scenarios), (count));               \
	}

#ifdef __cplusplus
}
#endif

#endif /* GALE_GALE_FUZZ_H */
