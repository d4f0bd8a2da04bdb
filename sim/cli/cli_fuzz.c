/* SPDX-License-Identifier: MIT */
/*
 * Scenarios as libFuzzer targets (<gale/gale_fuzz.h>): one decoder of the input layout,
 * shared by the fuzz entry and by `replay --input`, so a crash replays exactly.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gale/gale_fuzz.h>
#include <gale/sim_trace.h>

#include "cli.h"

/* Records kept when GALE_FUZZ_TRACE asks for the trace. */
#define FUZZ_TRACE_RECORDS_MAX (1u << 20)

/* Byte i of the input, 0 past its end (the neutral answer). */
static uint8_t byte_at(const uint8_t *data, size_t size, size_t i)
{
	return i < size ? data[i] : 0;
}

int gale_fuzz_decode(const uint8_t *data, size_t size,
		     const struct gale_scenario *const *scenarios, size_t count,
		     struct gale_fuzz_case *out)
{
	static const char *const named[] = {"none", "default", "harsh"};
	if (scenarios == NULL || count == 0 || (data == NULL && size > 0))
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->scenario = scenarios[byte_at(data, size, 0) % count];
	out->options.steps_max = GALE_FUZZ_STEPS_MAX;
	uint8_t mode = byte_at(data, size, 1);
	size_t used = 2;
	if (mode < 3) {
		out->options.profile = gale_fault_profile_find(named[mode]);
	} else if (mode == 3) {
		out->options.swarm = true;
	} else {
		gale_fault_profile_fuzz_base(&out->custom, "fuzz"); /* One byte per kind. */
		for (int kind = 0; kind < GALE_FAULT_COUNT; kind++) {
			uint8_t byte = byte_at(data, size, used++);
			out->custom.ratios[kind] = gale_fault_ratio_from_byte(byte);
		}
		out->options.profile = &out->custom;
	}
	/* A non-NULL pointer selects bytes mode even for an empty rest (all choices neutral). */
	static const uint8_t empty[1] = {0};
	out->options.fuzz_bytes = used < size ? data + used : empty;
	out->options.fuzz_len = used < size ? size - used : 0;
	return 0;
}

int gale_fuzz_scenarios(const uint8_t *data, size_t size,
			const struct gale_scenario *const *scenarios, size_t count)
{
	struct gale_fuzz_case fuzz_case;
	if (gale_fuzz_decode(data, size, scenarios, count, &fuzz_case) != 0) {
		fprintf(stderr, "gale-fuzz: GALE_FUZZ_TARGET needs at least one scenario\n");
		abort();
	}
	const char *env = getenv("GALE_FUZZ_TRACE");
	bool trace_on = env != NULL && env[0] != '\0' && strcmp(env, "0") != 0;
	fuzz_case.options.trace_records_max = trace_on ? FUZZ_TRACE_RECORDS_MAX : 0;
	struct gale_trace trace = {0};
	struct gale_run_result result;
	int rc = gale_scenario_run(fuzz_case.scenario, &fuzz_case.options, trace_on ? &trace : NULL,
				   &result);
	if (trace_on)
		cli_trace_print(&trace, stderr);
	gale_trace_deinit(&trace);
	if (rc == 0)
		return 0;
	/* The form every gale fuzz target reports in (scripts grep "invariant broken"). */
	fprintf(stderr, "gale-fuzz: invariant broken: %s: scenario %s, profile %s: %s\n",
		rc > 0 ? gale_oracle_name(result.oracle) : "setup", fuzz_case.scenario->name,
		result.profile.name != NULL ? result.profile.name : "?",
		rc > 0 ? result.message : strerror(-rc));
	fprintf(stderr, "gale-fuzz: trace hash 0x%016llx; replay the saved input with "
			"`<your gale_main program> replay --input FILE --verbose`\n",
		(unsigned long long)result.trace_hash);
	fflush(stderr);
	abort();
}
