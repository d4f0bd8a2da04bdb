/* SPDX-License-Identifier: MIT */
/*
 * The built-in scenario catalog of the `gale` command (sim/cli/catalog.c) under the
 * scenario runner: what `gale run` does, as a test.
 *
 * Methodology: the catalog's list is pinned (names, order, lookup). Every scenario then
 * runs a sweep of seeds (default 20; GALE_TEST_SEEDS=N to change, GALE_TEST_SEED=0x... to
 * replay one) under "default" and under "harsh"; every run must pass every oracle, and a
 * failure prints the scenario, seed, oracle, message and the `gale replay` command that
 * reproduces it. Determinism: one seed per scenario runs twice and must give the same
 * trace hash, record count and verdict, and the runner's own self-check must agree.
 * The harsh sweep must also have injected faults into every scenario that does I/O
 * through the driver, and every fault kind somewhere in the catalog (the same gate as
 * `gale run --fault-coverage`), and distinct seeds must give distinct traces, so a sweep
 * that quietly ran nothing cannot pass.
 */
#include <stdio.h>
#include <string.h>

#include <gale/scenario.h>
#include <gale/sim_profile.h>

#include "catalog.h"
#include "test_support.h"

#define CATALOG_SEEDS_DEFAULT 20

static const char *const catalog_names_expected[] = {
	"tcp_echo", "duplex_pump", "async_fd_pair", "connect_storm", "proxy", "rpc",
	"tcp_split",
};

static void test_catalog_lists_every_scenario_once_in_order(void **state)
{
	(void)state;
	size_t count = 0;
	const struct gale_scenario *const *scenarios = gale_catalog_scenarios(&count);
	size_t expected_count = sizeof(catalog_names_expected) / sizeof(catalog_names_expected[0]);
	assert_int_equal(count, expected_count);
	for (size_t i = 0; i < count; i++) {
		assert_string_equal(scenarios[i]->name, catalog_names_expected[i]);
		assert_ptr_equal(gale_catalog_find(catalog_names_expected[i]), scenarios[i]);
		assert_non_null(scenarios[i]->setup);
		assert_non_null(scenarios[i]->check);
		assert_non_null(scenarios[i]->teardown);
		assert_true(strlen(scenarios[i]->description) > 0);
		assert_true(strspn(scenarios[i]->name, "abcdefghijklmnopqrstuvwxyz0123456789_-") ==
			    strlen(scenarios[i]->name));
	}
	assert_null(gale_catalog_find("no_such_scenario"));
	assert_null(gale_catalog_find(""));
}

/* Runs one seed; on failure, fails the test with everything needed to replay it. */
static void catalog_run_expect_pass(const struct gale_scenario *scenario, const char *profile,
				    uint64_t seed, struct gale_run_result *result)
{
	struct gale_run_options options = {
		.seed = seed,
		.profile = gale_fault_profile_find(profile),
	};
	assert_non_null(options.profile);
	int rc = gale_scenario_run(scenario, &options, NULL, result);
	if (rc != 0)
		fail_msg("%s seed=%llu profile=%s: rc %d, oracle %s: %s\n  replay: gale replay "
			 "--scenario %s --seed %llu --profile %s --hash 0x%016llx",
			 scenario->name, (unsigned long long)seed, profile, rc,
			 gale_oracle_name(result->oracle), result->message, scenario->name,
			 (unsigned long long)seed, profile, (unsigned long long)result->trace_hash);
	assert_int_equal(result->oracle, GALE_ORACLE_NONE);
	assert_true(result->trace_count > 0);
}

static uint64_t catalog_faults_total(const struct gale_run_result *result)
{
	uint64_t total = 0;
	for (int kind = 0; kind < GALE_FAULT_COUNT; kind++)
		total += result->sim.faults.injected[kind];
	return total;
}

/*
 * Every scenario over the seed sweep under profile: all pass, faults land, traces vary.
 * by_kind_out (GALE_FAULT_COUNT entries) receives the faults injected by kind, summed.
 */
static void catalog_sweep(const char *profile, uint64_t *by_kind_out)
{
	struct gale_test_seeds seeds = gale_test_seeds_get(CATALOG_SEEDS_DEFAULT);
	size_t count = 0;
	const struct gale_scenario *const *scenarios = gale_catalog_scenarios(&count);
	bool faulty = strcmp(profile, "none") != 0;
	for (size_t i = 0; i < count; i++) {
		uint64_t faults = 0, hash_first = 0;
		bool hashes_differ = false;
		for (uint64_t k = 0; k < seeds.count; k++) {
			struct gale_run_result result;
			catalog_run_expect_pass(scenarios[i], profile, seeds.first + k, &result);
			faults += catalog_faults_total(&result);
			for (int kind = 0; kind < GALE_FAULT_COUNT; kind++)
				by_kind_out[kind] += result.sim.faults.injected[kind];
			hash_first = k == 0 ? result.trace_hash : hash_first;
			hashes_differ = hashes_differ || result.trace_hash != hash_first;
		}
		/* duplex_pump makes no driver calls: no driver fault can reach it. */
		if (faulty && seeds.count >= 10 && strcmp(scenarios[i]->name, "duplex_pump") != 0)
			assert_true(faults > 0);
		if (seeds.count >= 2)
			assert_true(hashes_differ);
	}
}

static void test_catalog_passes_default_profile(void **state)
{
	(void)state;
	uint64_t by_kind[GALE_FAULT_COUNT] = {0};
	catalog_sweep("default", by_kind);
}

static void test_catalog_passes_harsh_profile(void **state)
{
	(void)state;
	uint64_t by_kind[GALE_FAULT_COUNT] = {0};
	catalog_sweep("harsh", by_kind);
	/* No fault kind exists only on paper: each reached some scenario (ALLOC_FAIL counts
	 * the scenario allocator's failures, see gale_run_result.sim). */
	struct gale_test_seeds seeds = gale_test_seeds_get(CATALOG_SEEDS_DEFAULT);
	for (int kind = 0; kind < GALE_FAULT_COUNT && seeds.count >= CATALOG_SEEDS_DEFAULT;
	     kind++)
		if (by_kind[kind] == 0)
			fail_msg("fault kind %s was never injected over %llu harsh seeds",
				 gale_fault_kind_name(kind), (unsigned long long)seeds.count);
}

static void test_catalog_seed_replays_to_the_same_trace(void **state)
{
	(void)state;
	struct gale_test_seeds seeds = gale_test_seeds_get(CATALOG_SEEDS_DEFAULT);
	uint64_t seed = seeds.first + 7;
	size_t count = 0;
	const struct gale_scenario *const *scenarios = gale_catalog_scenarios(&count);
	for (size_t i = 0; i < count; i++) {
		struct gale_run_result first, second;
		catalog_run_expect_pass(scenarios[i], "harsh", seed, &first);
		catalog_run_expect_pass(scenarios[i], "harsh", seed, &second);
		assert_int_equal(first.trace_hash, second.trace_hash);
		assert_int_equal(first.trace_count, second.trace_count);
		assert_int_equal(first.sim.time_ns, second.sim.time_ns);
		assert_int_equal(first.polls_count, second.polls_count);
		assert_memory_equal(&first.sim.faults, &second.sim.faults,
				    sizeof(first.sim.faults));
		struct gale_run_options options = {
			.seed = seed,
			.profile = gale_fault_profile_find("harsh"),
		};
		char message[256] = "";
		int rc = gale_scenario_check_determinism(scenarios[i], &options, message,
							 sizeof(message));
		if (rc != 0)
			fail_msg("%s seed=%llu: determinism check %d: %s", scenarios[i]->name,
				 (unsigned long long)seed, rc, message);
	}
}

static void test_catalog_passes_swarm_profiles(void **state)
{
	(void)state;
	size_t count = 0;
	const struct gale_scenario *const *scenarios = gale_catalog_scenarios(&count);
	for (size_t i = 0; i < count; i++) {
		for (uint64_t seed = 0; seed < 5; seed++) {
			struct gale_run_options options = {.seed = seed, .swarm = true};
			struct gale_run_result result;
			int rc = gale_scenario_run(scenarios[i], &options, NULL, &result);
			if (rc != 0)
				fail_msg("%s seed=%llu swarm: rc %d, oracle %s: %s",
					 scenarios[i]->name, (unsigned long long)seed, rc,
					 gale_oracle_name(result.oracle), result.message);
			assert_string_equal(result.profile.name, "swarm");
		}
	}
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_catalog_lists_every_scenario_once_in_order),
		cmocka_unit_test(test_catalog_passes_default_profile),
		cmocka_unit_test(test_catalog_passes_harsh_profile),
		cmocka_unit_test(test_catalog_seed_replays_to_the_same_trace),
		cmocka_unit_test(test_catalog_passes_swarm_profiles),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
