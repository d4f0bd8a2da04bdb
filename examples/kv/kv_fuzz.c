/* SPDX-License-Identifier: MIT */
/*
 * kv_fuzz: the kv scenarios as a libFuzzer target (clang -fsanitize=fuzzer,...). The input
 * is the run's entropy (byte 0: the scenario, byte 1: the fault profile; <gale/gale_fuzz.h>);
 * every oracle is on, and a failure aborts so libFuzzer keeps the input as crash-<sha1>.
 * Replay it with `kv_tests replay --input crash-<sha1> --verbose`.
 *
 *   kv_fuzz -runs=2000 corpus-copy/ ../corpus
 */
#include <gale/gale_fuzz.h>

#include "kv_scenarios.h"

static const struct gale_scenario *const scenarios[] = {&kv_put_get, &kv_concurrent};

GALE_FUZZ_TARGET(scenarios, sizeof(scenarios) / sizeof(scenarios[0]))
