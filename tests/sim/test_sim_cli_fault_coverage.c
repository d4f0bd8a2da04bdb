/* SPDX-License-Identifier: MIT */
/*
 * `gale run --fault-coverage` (sim/cli/cli_report.c): the per-kind table sums every
 * scenario's counts, and the gate returns how many fault kinds were never injected, naming
 * each, so CI fails when a fault exists only on paper. Then end to end through the
 * campaign runner: a campaign of duplex_pump alone (no driver calls) injects no driver
 * fault and fails the gate; tcp_echo under "harsh" reaches every driver fault kind.
 */
#define _GNU_SOURCE /* open_memstream. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gale/sim_profile.h>

#include "catalog.h"
#include "cli.h"
#include "test_support.h"

/* Runs the gate over report into a string; returns its result, *text_out to free. */
static int fault_coverage_print(const struct cli_campaign *campaign,
				const struct cli_report *report, char **text_out)
{
	size_t len = 0;
	FILE *out = open_memstream(text_out, &len);
	assert_non_null(out);
	int never = cli_report_print_fault_coverage(campaign, report, out);
	assert_int_equal(fclose(out), 0);
	return never;
}

/* The gate's summary line names injected of GALE_FAULT_COUNT kinds, counted from the enum. */
static void summary_assert(const char *text, int injected)
{
	char line[64];
	snprintf(line, sizeof(line), "fault kinds injected: %d of %d", injected, GALE_FAULT_COUNT);
	assert_non_null(strstr(text, line));
}

static void campaign_of(struct cli_campaign *campaign, const char *const *names, size_t count)
{
	memset(campaign, 0, sizeof(*campaign));
	campaign->profile_name = "harsh";
	campaign->jobs = 1;
	campaign->shard_count = 1;
	campaign->program = "gale";
	for (size_t i = 0; i < count; i++) {
		campaign->scenarios[i] = gale_catalog_find(names[i]);
		assert_non_null(campaign->scenarios[i]);
	}
	campaign->scenarios_count = count;
}

static void test_gate_counts_kinds_never_injected_and_names_them(void **state)
{
	(void)state;
	static const char *const names[] = {"tcp_echo", "rpc"};
	struct cli_campaign campaign;
	campaign_of(&campaign, names, 2);
	struct cli_report *report = calloc(1, sizeof(*report));
	assert_non_null(report);
	/* Every kind but RESET and ALLOC_FAIL, split across the two scenarios. */
	int injected = 0;
	for (int kind = 0; kind < GALE_FAULT_COUNT; kind++) {
		if (kind == GALE_FAULT_RESET || kind == GALE_FAULT_ALLOC_FAIL)
			continue;
		report->totals[kind % 2].faults_by_kind[kind] = (uint64_t)kind + 1;
		injected++;
	}
	report->totals[1].faults_by_kind[GALE_FAULT_READY_SPURIOUS] = 40;
	char *text = NULL;
	assert_int_equal(fault_coverage_print(&campaign, report, &text), 2);
	assert_non_null(strstr(text, "never injected: reset"));
	assert_non_null(strstr(text, "never injected: alloc_fail"));
	assert_null(strstr(text, "never injected: partition"));
	summary_assert(text, injected);
	/* Sums across scenarios: ready_spurious = 1 (tcp_echo) + 40 (rpc), in 2 scenarios. */
	assert_non_null(strstr(text, "ready_spurious               41          2"));
	free(text);

	report->totals[0].faults_by_kind[GALE_FAULT_RESET] = 3;
	report->totals[1].faults_by_kind[GALE_FAULT_ALLOC_FAIL] = 1;
	assert_int_equal(fault_coverage_print(&campaign, report, &text), 0);
	assert_null(strstr(text, "never injected"));
	summary_assert(text, GALE_FAULT_COUNT);
	free(text);
	free(report);
}

/* Runs campaign through the real runner (one forked worker), as `gale run` does. */
static void campaign_run(struct cli_campaign *campaign, uint64_t seeds, struct cli_report *report)
{
	campaign->seeds_count = seeds;
	assert_int_equal(cli_campaign_execute(campaign, report), 0);
	assert_int_equal(report->failures_count, 0);
	assert_int_equal(report->units_done, seeds * campaign->scenarios_count);
}

static void test_gate_end_to_end_over_real_runs(void **state)
{
	(void)state;
	struct cli_report report;
	char *text = NULL;

	/* duplex_pump never calls the driver: only ALLOC_FAIL could reach it. */
	static const char *const pump[] = {"duplex_pump"};
	struct cli_campaign campaign;
	campaign_of(&campaign, pump, 1);
	campaign_run(&campaign, 5, &report);
	int never = fault_coverage_print(&campaign, &report, &text);
	assert_true(never >= GALE_FAULT_COUNT - 1);
	assert_non_null(strstr(text, "never injected: ready_spurious"));
	free(text);
	cli_report_deinit(&report);

	/* tcp_echo under harsh reaches every kind the driver injects. */
	static const char *const echo[] = {"tcp_echo"};
	campaign_of(&campaign, echo, 1);
	campaign_run(&campaign, 20, &report);
	never = fault_coverage_print(&campaign, &report, &text);
	/* It connects to addresses, not names: the resolver's kinds stay at 0. */
	int resolver_kinds = GALE_FAULT_RESOLVE_DEAD_ADDRESS - GALE_FAULT_RESOLVE_TIMEOUT + 1;
	for (int kind = 0; kind < GALE_FAULT_COUNT; kind++)
		if (kind != GALE_FAULT_ALLOC_FAIL && report.totals[0].faults_by_kind[kind] == 0 &&
		    (kind < GALE_FAULT_RESOLVE_TIMEOUT || kind > GALE_FAULT_RESOLVE_DEAD_ADDRESS))
			fail_msg("tcp_echo under harsh never injected %s:\n%s",
				 gale_fault_kind_name(kind), text);
	assert_true(never <= 1 + resolver_kinds);
	free(text);
	cli_report_deinit(&report);
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gate_counts_kinds_never_injected_and_names_them),
		cmocka_unit_test(test_gate_end_to_end_over_real_runs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
