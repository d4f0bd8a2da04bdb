/* SPDX-License-Identifier: MIT */
/*
 * kv_tests: the kv scenarios (kv_scenarios.c) as a full `gale` command, by gale_main():
 *
 *   kv_tests list
 *   kv_tests run --count 10000 -j 2 [--profile harsh] [--json r.json] [--junit r.xml]
 *   kv_tests replay --scenario kv_put_get --seed 17 --profile default --hash 0x... --verbose
 *   kv_tests replay --input crash-<sha1>        (an input kv_fuzz saved)
 *
 * Every failure prints its oracle, its message and the replay line to run.
 */
#include <gale/gale_main.h>

#include "kv_scenarios.h"

static const struct gale_scenario *const scenarios[] = {&kv_put_get, &kv_concurrent};

int main(int argc, char **argv)
{
	return gale_main(argc, argv, scenarios, sizeof(scenarios) / sizeof(scenarios[0]));
}
