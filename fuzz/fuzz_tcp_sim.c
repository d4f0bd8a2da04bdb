/* SPDX-License-Identifier: MIT */
/*
 * fuzz_tcp_sim: the scenario catalog (sim/cli/catalog.h: TCP echo, proxy, RPC, connect
 * storms, duplex and AsyncFd pumps) on the simulator, every choice drawn from the input.
 *
 * Methodology. Byte 0 picks the scenario (modulo the catalog size), byte 1 the fault
 * profile: 0 none, 1 default, 2 harsh, 3 swarm (drawn from the entropy), anything else
 * a profile read from the next 14 bytes (one ratio per fault kind, fuzz_input_profile).
 * The rest is the run's entropy (bytes mode): scheduling, latencies, sizes, faults. When it
 * runs out every choice is neutral (FIFO, no fault, minimum delay), so runs end.
 * gale_scenario_run checks every oracle (lost wakeup, stall, stream integrity, readiness,
 * read_exact/write_all contracts, leaks, the scenario's own check, task errors, livelock
 * limits); any failure aborts with the oracle's name and message.
 * Replay: fuzz_tcp_sim FILE; GALE_FUZZ_TRACE=1 prints the whole simulated trace.
 */
#include <assert.h>
#include <stdio.h>

#include <gale/error.h>
#include <gale/scenario.h>
#include <gale/sim_profile.h>
#include <gale/sim_trace.h>

#include "catalog.h"
#include "fuzz_harness.h"
#include "fuzz_input.h"

/* A livelock is reported long before the default 10 million steps: fuzzing wants speed. */
#define STEPS_MAX 2000000

static void profile_decode(struct fuzz_input *input, struct gale_run_options *options,
			   struct gale_fault_profile *custom)
{
	static const char *const named[] = {"none", "default", "harsh"};
	uint8_t mode = fuzz_input_u8(input);
	if (mode < 3) {
		options->profile = gale_fault_profile_find(named[mode]);
		assert(options->profile != NULL);
	} else if (mode == 3) {
		options->swarm = true;
	} else {
		enum gale_fault_kind kinds[GALE_FAULT_COUNT];
		for (int i = 0; i < GALE_FAULT_COUNT; i++)
			kinds[i] = (enum gale_fault_kind)i;
		fuzz_input_profile(input, kinds, GALE_FAULT_COUNT, "fuzz", custom);
		options->profile = custom;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t count = 0;
	const struct gale_scenario *const *scenarios = gale_catalog_scenarios(&count);
	FUZZ_CHECK(NULL, count > 0, "setup", "the scenario catalog is empty");
	struct fuzz_input input;
	fuzz_input_init(&input, data, size);
	const struct gale_scenario *scenario = scenarios[fuzz_input_u8(&input) % count];
	struct gale_fault_profile custom;
	struct gale_run_options options = {.steps_max = STEPS_MAX};
	profile_decode(&input, &options, &custom);
	size_t rest_len;
	const uint8_t *rest = fuzz_input_rest(&input, &rest_len);
	/* A non-NULL pointer selects bytes mode even for an empty rest (all choices neutral). */
	static const uint8_t empty[1] = {0};
	options.fuzz_bytes = rest != NULL ? rest : empty;
	options.fuzz_len = rest_len;
	options.trace_records_max = fuzz_trace_records_max();
	bool trace_on = fuzz_trace_is_on();
	struct gale_trace trace;
	struct gale_run_result result;
	int rc = gale_scenario_run(scenario, &options, trace_on ? &trace : NULL, &result);
	fuzz_log(trace_on, "scenario %s, profile %s: %s (%llu polls, trace hash 0x%016llx)",
		 scenario->name, result.profile.name != NULL ? result.profile.name : "?",
		 rc == 0 ? "passed" : gale_oracle_name(result.oracle),
		 (unsigned long long)result.polls_count, (unsigned long long)result.trace_hash);
	if (trace_on)
		fuzz_trace_dump(&trace, scenario->name);
	FUZZ_CHECK(NULL, rc >= 0, "setup", "scenario %s could not run: %s", scenario->name,
		   gale_error_name(rc));
	FUZZ_CHECK(NULL, rc == 0, gale_oracle_name(result.oracle), "scenario %s: %s",
		   scenario->name, result.message);
	if (trace_on)
		gale_trace_deinit(&trace);
	return 0;
}
