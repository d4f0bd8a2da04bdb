/* SPDX-License-Identifier: MIT */
/*
 * The run's resolver: one name table (gale_scenario_name_add()) on every backend. Names
 * resolve to the simulated hosts' addresses everywhere; on the kernel backends the
 * runner's address map then takes a connect to such an address to the host's loopback
 * address, exactly as for an address literal, so a name and its literal reach the same
 * listener. Faults: on SIM the simulator's own (its profile, entropy, stats, trace and
 * fault filter); on FAULT_EPOLL the run's profile and entropy, counted here and added to
 * gale_scenario_stats(), traced as the fault driver's are; none on EPOLL.
 */
#include <assert.h>
#include <errno.h> /* E* constants only. */

#include <gale/scenario.h>
#include <gale/sim_profile.h>
#include <gale/sim_resolve.h>
#include <gale/sim_trace.h>

#include "scenario_internal.h"

/* The kernel backends' resolver bounds, in real time. */
#define RESOLVE_KERNEL_TIMEOUT_NS (50 * 1000 * 1000LL)
#define RESOLVE_KERNEL_SLOW_NS_MAX (20 * 1000 * 1000LL)

static bool kernel_roll(void *data, enum gale_fault_kind kind)
{
	struct gale_scenario_state *state = data;
	struct gale_scenario_run *run = state->run;
	if (!gale_fault_roll(&state->kernel_profile, &run->entropy, &state->resolver_faults,
			     kind))
		return false;
	struct gale_trace_record record = {
		.time_ns = gale_driver_now_ns(state->inner),
		.kind = GALE_TRACE_FAULT,
		.op = (uint16_t)kind,
		.fd = -1,
	};
	gale_trace_append(&run->trace, record);
	return true;
}

static uint64_t kernel_range(void *data, uint64_t min, uint64_t max)
{
	struct gale_scenario_state *state = data;
	return gale_entropy_range(&state->run->entropy, min, max);
}

void gale__scenario_resolver_init(struct gale_scenario_state *state)
{
	assert(state != NULL && state->runtime_ready);
	struct gale_scenario_run *run = state->run;
	if (state->backend == GALE_BACKEND_SIM) {
		gale_sim_resolver_init(&state->resolver, &run->sim);
	} else if (state->backend == GALE_BACKEND_FAULT_EPOLL) {
		struct gale_sim_resolve_faults faults = {
			.roll = kernel_roll, .range = kernel_range, .data = state};
		gale_sim_resolver_init_with(&state->resolver, &faults);
	} else {
		gale_sim_resolver_init_with(&state->resolver, NULL);
	}
	if (state->backend != GALE_BACKEND_SIM) {
		/* Real time: keep a resolver timeout or a slow answer from stretching runs
		 * (the kernel profile caps partitions for the same reason). */
		state->resolver.timeout_ns = RESOLVE_KERNEL_TIMEOUT_NS;
		state->resolver.slow_ns_max = RESOLVE_KERNEL_SLOW_NS_MAX;
	}
	gale_runtime_resolver_set(&run->runtime, &state->resolver.base);
}

void gale__scenario_resolver_deinit(struct gale_scenario_state *state)
{
	assert(state != NULL);
	if (state->resolver.base.ops == NULL)
		return;
	if (state->runtime_ready)
		gale_runtime_resolver_set(&state->run->runtime, NULL);
	gale_resolver_deinit(&state->resolver.base);
}

int gale_scenario_name_add(struct gale_scenario_run *run, const char *name, const char *ip)
{
	assert(run != NULL && run->priv_state != NULL);
	struct gale_scenario_state *state = run->priv_state;
	assert(state->resolver.base.ops != NULL);
	int rc = gale_sim_resolver_name_add(&state->resolver, name, ip);
	return rc == -EEXIST ? 0 : rc;
}
