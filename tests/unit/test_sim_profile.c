/* SPDX-License-Identifier: MIT */
/*
 * Fault profiles (sim/src/sim_profile.c): named profiles, swarm draws, rolls and stats.
 *
 * Methodology: named profiles are checked value by value (they are the contract between
 * campaigns and the drivers); rolls run over fixed seeds so counts are exact-reproducible,
 * and stats must equal the number of true rolls exactly. Swarm profiles are drawn for many
 * seeds: equal seeds give equal profiles, and across seeds every kind is both on and off.
 */
#include <stdint.h>
#include <string.h>

#include <gale/entropy.h>
#include <gale/sim_fault.h>
#include <gale/sim_profile.h>

#include "test_support.h"

#define NS_PER_MS INT64_C(1000000)

static void ratio_expect(struct gale_ratio ratio, uint32_t numerator, uint32_t denominator)
{
	assert_int_equal(ratio.numerator, numerator);
	assert_int_equal(ratio.denominator, denominator);
}

static void test_profile_find_named(void **state)
{
	(void)state;
	const char *const *names = gale_fault_profile_names();
	assert_string_equal(names[0], "none");
	assert_string_equal(names[1], "default");
	assert_string_equal(names[2], "harsh");
	assert_null(names[3]);
	for (int i = 0; names[i] != NULL; i++) {
		const struct gale_fault_profile *profile = gale_fault_profile_find(names[i]);
		assert_non_null(profile);
		assert_string_equal(profile->name, names[i]);
	}
	assert_null(gale_fault_profile_find("swarm"));
	assert_null(gale_fault_profile_find("unknown"));
	assert_null(gale_fault_profile_find(""));
}

static void test_profile_named_values(void **state)
{
	(void)state;
	const struct gale_fault_profile *none = gale_fault_profile_find("none");
	const struct gale_fault_profile *moderate = gale_fault_profile_find("default");
	const struct gale_fault_profile *harsh = gale_fault_profile_find("harsh");
	for (int kind = 0; kind < GALE_FAULT_COUNT; kind++)
		assert_int_equal(none->ratios[kind].numerator, 0);
	assert_int_equal(none->ready_delay_ns_max, 0);
	ratio_expect(moderate->ratios[GALE_FAULT_READ_SHORT], 1, 50);
	ratio_expect(moderate->ratios[GALE_FAULT_RESET], 1, 200);
	ratio_expect(moderate->ratios[GALE_FAULT_PARTITION], 1, 500);
	ratio_expect(moderate->ratios[GALE_FAULT_ALLOC_FAIL], 1, 1000);
	assert_int_equal(moderate->ready_delay_ns_max, 2 * NS_PER_MS);
	assert_int_equal(moderate->latency_jitter_ns_max, 5 * NS_PER_MS);
	assert_int_equal(moderate->connect_delay_ns_max, 50 * NS_PER_MS);
	assert_int_equal(moderate->partition_ns_max, 200 * NS_PER_MS);
	ratio_expect(harsh->ratios[GALE_FAULT_WRITE_PARTIAL], 1, 5);
	ratio_expect(harsh->ratios[GALE_FAULT_RESET], 1, 50);
	/* Harsh is at least as frequent as default for every kind. */
	for (int kind = 0; kind < GALE_FAULT_COUNT; kind++) {
		assert_int_equal(harsh->ratios[kind].numerator, 1);
		assert_int_equal(moderate->ratios[kind].numerator, 1);
		assert_true(harsh->ratios[kind].denominator <= moderate->ratios[kind].denominator);
	}
}

static void test_profile_none_never_rolls(void **state)
{
	(void)state;
	const struct gale_fault_profile *none = gale_fault_profile_find("none");
	struct gale_entropy entropy;
	struct gale_entropy fresh;
	gale_entropy_init_seed(&entropy, 1);
	gale_entropy_init_seed(&fresh, 1);
	struct gale_fault_stats stats = {{0}};
	for (int i = 0; i < 1000; i++) {
		for (int kind = 0; kind < GALE_FAULT_COUNT; kind++)
			assert_false(gale_fault_roll(none, &entropy, &stats,
						     (enum gale_fault_kind)kind));
	}
	for (int kind = 0; kind < GALE_FAULT_COUNT; kind++)
		assert_int_equal(stats.injected[kind], 0);
	/* Faults that are off consume no entropy. */
	assert_int_equal(gale_entropy_u64(&entropy), gale_entropy_u64(&fresh));
}

static void test_profile_roll_counts_stats(void **state)
{
	(void)state;
	const struct gale_fault_profile *harsh = gale_fault_profile_find("harsh");
	struct gale_entropy entropy;
	gale_entropy_init_seed(&entropy, 2);
	struct gale_fault_stats stats = {{0}};
	uint64_t hits = 0;
	for (int i = 0; i < 10000; i++)
		hits += gale_fault_roll(harsh, &entropy, &stats, GALE_FAULT_READ_SHORT);
	assert_int_equal(stats.injected[GALE_FAULT_READ_SHORT], hits);
	assert_in_range(hits, 1800, 2200); /* 1/5 of 10000; sd 40. */
	for (int kind = 0; kind < GALE_FAULT_COUNT; kind++) {
		if (kind != GALE_FAULT_READ_SHORT)
			assert_int_equal(stats.injected[kind], 0);
	}
	/* stats may be NULL. */
	uint64_t hits_unrecorded = 0;
	for (int i = 0; i < 1000; i++)
		hits_unrecorded += gale_fault_roll(harsh, &entropy, NULL, GALE_FAULT_RESET);
	assert_in_range(hits_unrecorded, 5, 40); /* 1/50 of 1000. */
	/* Exhausted bytes: neutral, nothing counted. */
	gale_entropy_init_bytes(&entropy, NULL, 0);
	assert_false(gale_fault_roll(harsh, &entropy, &stats, GALE_FAULT_RESET));
	assert_int_equal(stats.injected[GALE_FAULT_RESET], 0);
}

/* Issue 13: a fault kind out of range (gale_fault_roll) and a value that is no op
 * (gale_fault_driver_calls_count) asserted. Neither function has an error to return:
 * no such fault is never injected (false, no entropy drawn), no such op never called (0). */
/* The injection filter numbers the faults decided and admits only the listed numbers. */
static void test_fault_filter_admits_listed_numbers(void **state)
{
	(void)state;
	assert_true(gale_fault_filter_admit(NULL));
	static const uint64_t allowed[] = {1, 3, 4};
	struct gale_fault_filter filter = {.allowed = allowed, .count = 3};
	const bool want[] = {false, true, false, true, true, false, false};
	for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++)
		assert_int_equal(gale_fault_filter_admit(&filter), want[k]);
	struct gale_fault_filter none = {.allowed = NULL, .count = 0};
	assert_false(gale_fault_filter_admit(&none));
	assert_false(gale_fault_filter_admit(&none));
}

static void test_fault_kind_and_op_out_of_range(void **state)
{
	(void)state;
	const struct gale_fault_profile *harsh = gale_fault_profile_find("harsh");
	struct gale_entropy entropy;
	gale_entropy_init_seed(&entropy, 3);
	struct gale_fault_stats stats = {{0}};
	uint64_t draws = gale_entropy_draws_count(&entropy);
	assert_false(gale_fault_roll(harsh, &entropy, &stats, GALE_FAULT_COUNT));
	assert_false(gale_fault_roll(harsh, &entropy, &stats, (enum gale_fault_kind)-1));
	assert_int_equal(gale_entropy_draws_count(&entropy), draws);

	struct gale_script_driver script;
	gale_script_driver_init(&script);
	struct gale_fault_driver fault;
	assert_int_equal(gale_fault_driver_init(&fault, &script.base, NULL, NULL, NULL), 0);
	assert_int_equal(gale_fault_driver_calls_count(&fault, GALE_TRACE_OP_COUNT_), 0);
	assert_int_equal(gale_fault_driver_calls_count(&fault, (enum gale_trace_op)0), 0);
	assert_int_equal(gale_fault_driver_calls_count(&fault, GALE_TRACE_OP_WAIT), 0);
	gale_fault_driver_deinit(&fault);
}

static bool profile_equal(const struct gale_fault_profile *a, const struct gale_fault_profile *b)
{
	for (int kind = 0; kind < GALE_FAULT_COUNT; kind++) {
		if (a->ratios[kind].numerator != b->ratios[kind].numerator ||
		    a->ratios[kind].denominator != b->ratios[kind].denominator)
			return false;
	}
	return a->ready_delay_ns_max == b->ready_delay_ns_max &&
	       a->latency_jitter_ns_max == b->latency_jitter_ns_max &&
	       a->connect_delay_ns_max == b->connect_delay_ns_max &&
	       a->partition_ns_max == b->partition_ns_max;
}

static void swarm_draw(struct gale_fault_profile *profile_out, uint64_t seed)
{
	struct gale_entropy entropy;
	gale_entropy_init_seed(&entropy, seed);
	gale_fault_profile_swarm(profile_out, &entropy);
}

static void test_profile_swarm_deterministic(void **state)
{
	(void)state;
	for (uint64_t seed = 0; seed < 16; seed++) {
		struct gale_fault_profile a;
		struct gale_fault_profile b;
		swarm_draw(&a, seed);
		swarm_draw(&b, seed);
		assert_true(profile_equal(&a, &b));
		assert_string_equal(a.name, "swarm");
	}
}

static void test_profile_swarm_varies_within_bounds(void **state)
{
	(void)state;
	const struct gale_fault_profile *moderate = gale_fault_profile_find("default");
	const struct gale_fault_profile *harsh = gale_fault_profile_find("harsh");
	uint32_t on_count[GALE_FAULT_COUNT] = {0};
	uint32_t distinct = 0;
	struct gale_fault_profile previous;
	swarm_draw(&previous, 1000);
	for (uint64_t seed = 0; seed < 64; seed++) {
		struct gale_fault_profile profile;
		swarm_draw(&profile, seed);
		distinct += !profile_equal(&profile, &previous);
		previous = profile;
		for (int kind = 0; kind < GALE_FAULT_COUNT; kind++) {
			struct gale_ratio ratio = profile.ratios[kind];
			if (ratio.numerator == 0)
				continue;
			on_count[kind]++;
			assert_int_equal(ratio.numerator, 1);
			assert_in_range(ratio.denominator, harsh->ratios[kind].denominator,
					moderate->ratios[kind].denominator);
		}
		assert_in_range(profile.partition_ns_max, moderate->partition_ns_max,
				harsh->partition_ns_max);
	}
	assert_int_equal(distinct, 64);
	/* About half on: each kind is on for some seeds and off for others. */
	for (int kind = 0; kind < GALE_FAULT_COUNT; kind++)
		assert_in_range(on_count[kind], 12, 52);
}

static void test_profile_kind_names(void **state)
{
	(void)state;
	assert_string_equal(gale_fault_kind_name(GALE_FAULT_READY_SPURIOUS), "ready_spurious");
	assert_string_equal(gale_fault_kind_name(GALE_FAULT_WRITE_PARTIAL), "write_partial");
	assert_string_equal(gale_fault_kind_name(GALE_FAULT_ALLOC_FAIL), "alloc_fail");
	assert_string_equal(gale_fault_kind_name(GALE_FAULT_COUNT), "unknown");
	assert_string_equal(gale_fault_kind_description(GALE_FAULT_RESET),
			    "connection reset mid-stream (RST)");
	assert_string_equal(gale_fault_kind_description(GALE_FAULT_COUNT), "unknown fault kind");
	for (int kind = 0; kind < GALE_FAULT_COUNT; kind++)
		assert_true(strlen(gale_fault_kind_description((enum gale_fault_kind)kind)) > 10);
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_profile_find_named),
		cmocka_unit_test(test_profile_named_values),
		cmocka_unit_test(test_profile_none_never_rolls),
		cmocka_unit_test(test_profile_roll_counts_stats),
		cmocka_unit_test(test_profile_swarm_deterministic),
		cmocka_unit_test(test_profile_swarm_varies_within_bounds),
		cmocka_unit_test(test_profile_kind_names),
		cmocka_unit_test(test_fault_kind_and_op_out_of_range),
		cmocka_unit_test(test_fault_filter_admits_listed_numbers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
