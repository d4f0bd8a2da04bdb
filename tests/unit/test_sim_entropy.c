/* SPDX-License-Identifier: MIT */
/*
 * Entropy (sim/src/entropy.c): the simulator's single source of choices.
 *
 * Methodology: seed mode is pinned by golden values computed once from an independent
 * reference implementation of SplitMix64 + xoshiro256** (so any change of algorithm, and
 * thus of every recorded seed, fails here), by instance-to-instance equality, and by
 * exact-frequency checks over fixed seeds (deterministic, so the bounds cannot flake).
 * Bytes mode is pinned byte by byte on a known input, including exhaustion and len 0.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <gale/entropy.h>

#include "test_support.h"

static void test_entropy_seed_same_sequence(void **state)
{
	(void)state;
	struct gale_entropy a;
	struct gale_entropy b;
	gale_entropy_init_seed(&a, 0x5EED);
	gale_entropy_init_seed(&b, 0x5EED);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(gale_entropy_u64(&a), gale_entropy_u64(&b));
	assert_int_equal(gale_entropy_draws_count(&a), 1000);
	assert_false(gale_entropy_is_exhausted(&a));
}

/* Golden values from the reference algorithm (Python, computed once). */
static void test_entropy_seed_golden(void **state)
{
	(void)state;
	static const uint64_t seed0[4] = {
		UINT64_C(0x99ec5f36cb75f2b4), UINT64_C(0xbf6e1f784956452a),
		UINT64_C(0x1a5f849d4933e6e0), UINT64_C(0x6aa594f1262d2d2c)};
	static const uint64_t seed42[4] = {
		UINT64_C(0x15780b2e0c2ec716), UINT64_C(0x6104d9866d113a7e),
		UINT64_C(0xae17533239e499a1), UINT64_C(0xecb8ad4703b360a1)};
	struct gale_entropy entropy;
	gale_entropy_init_seed(&entropy, 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(gale_entropy_u64(&entropy), seed0[i]);
	for (int i = 4; i < 999; i++)
		(void)gale_entropy_u64(&entropy);
	assert_int_equal(gale_entropy_u64(&entropy), UINT64_C(0x7aac8c483a2edd2f));
	gale_entropy_init_seed(&entropy, 42);
	for (int i = 0; i < 4; i++)
		assert_int_equal(gale_entropy_u64(&entropy), seed42[i]);
	/* Rejection sampling is pinned too: range draws of seed 42 over [0, 99]. */
	static const uint64_t range42[8] = {42, 2, 9, 93, 76, 84, 54, 7};
	gale_entropy_init_seed(&entropy, 42);
	for (int i = 0; i < 8; i++)
		assert_int_equal(gale_entropy_range(&entropy, 0, 99), range42[i]);
	/* chance(3/10) of seed 7: exactly the sixth draw is true. */
	gale_entropy_init_seed(&entropy, 7);
	for (int i = 0; i < 8; i++)
		assert_int_equal(gale_entropy_chance(&entropy, (struct gale_ratio){3, 10}), i == 5);
}

static void test_entropy_seed_different_seeds_differ(void **state)
{
	(void)state;
	uint64_t firsts[16];
	for (uint64_t seed = 0; seed < 16; seed++) {
		struct gale_entropy entropy;
		gale_entropy_init_seed(&entropy, seed);
		firsts[seed] = gale_entropy_u64(&entropy);
		for (uint64_t other = 0; other < seed; other++)
			assert_true(firsts[other] != firsts[seed]);
	}
}

static void test_entropy_chance_extremes_and_frequency(void **state)
{
	(void)state;
	struct gale_entropy entropy;
	gale_entropy_init_seed(&entropy, 1);
	for (int i = 0; i < 10000; i++) {
		assert_false(gale_entropy_chance(&entropy, (struct gale_ratio){0, 7}));
		assert_false(gale_entropy_chance(&entropy, (struct gale_ratio){3, 0}));
		assert_true(gale_entropy_chance(&entropy, (struct gale_ratio){7, 7}));
		assert_true(gale_entropy_chance(&entropy, (struct gale_ratio){9, 7}));
	}
	assert_int_equal(gale_entropy_draws_count(&entropy), 40000);
	uint32_t hits = 0;
	for (int i = 0; i < 100000; i++)
		hits += gale_entropy_chance(&entropy, (struct gale_ratio){1, 4});
	/* Expected 25000, standard deviation 137: five deviations either side. */
	assert_in_range(hits, 24315, 25685);
}

/* A zero ratio consumes nothing: switching a fault off does not shift later draws. */
static void test_entropy_chance_zero_consumes_nothing(void **state)
{
	(void)state;
	struct gale_entropy a;
	struct gale_entropy b;
	gale_entropy_init_seed(&a, 99);
	gale_entropy_init_seed(&b, 99);
	assert_false(gale_entropy_chance(&a, (struct gale_ratio){0, 50}));
	assert_int_equal(gale_entropy_u64(&a), gale_entropy_u64(&b));
}

static void test_entropy_range_bounds(void **state)
{
	(void)state;
	struct gale_entropy entropy;
	gale_entropy_init_seed(&entropy, 3);
	uint32_t seen[3] = {0, 0, 0};
	for (int i = 0; i < 3000; i++) {
		uint64_t value = gale_entropy_range(&entropy, 10, 12);
		assert_in_range(value, 10, 12);
		seen[value - 10]++;
	}
	for (int i = 0; i < 3; i++)
		assert_in_range(seen[i], 900, 1100);
	bool high_set = false;
	bool high_clear = false;
	for (int i = 0; i < 64; i++) {
		uint64_t value = gale_entropy_range(&entropy, 0, UINT64_MAX);
		high_set |= (value >> 63) != 0;
		high_clear |= (value >> 63) == 0;
	}
	assert_true(high_set && high_clear);
	bool top_seen[2] = {false, false};
	for (int i = 0; i < 64; i++) {
		uint64_t value = gale_entropy_range(&entropy, UINT64_MAX - 1, UINT64_MAX);
		assert_true(value >= UINT64_MAX - 1);
		top_seen[value - (UINT64_MAX - 1)] = true;
	}
	assert_true(top_seen[0] && top_seen[1]);
}

static void test_entropy_range_single_value_consumes_nothing(void **state)
{
	(void)state;
	struct gale_entropy a;
	struct gale_entropy b;
	gale_entropy_init_seed(&a, 5);
	gale_entropy_init_seed(&b, 5);
	assert_int_equal(gale_entropy_range(&a, 77, 77), 77);
	assert_int_equal(gale_entropy_range(&a, UINT64_MAX, UINT64_MAX), UINT64_MAX);
	assert_int_equal(gale_entropy_u64(&a), gale_entropy_u64(&b));
	assert_int_equal(gale_entropy_draws_count(&a), 3);
}

static void test_entropy_pick_respects_weights(void **state)
{
	(void)state;
	struct gale_entropy entropy;
	gale_entropy_init_seed(&entropy, 11);
	static const uint32_t weights[4] = {0, 5, 0, 15};
	uint32_t seen[4] = {0, 0, 0, 0};
	for (int i = 0; i < 10000; i++)
		seen[gale_entropy_pick(&entropy, weights, 4)]++;
	assert_int_equal(seen[0], 0);
	assert_int_equal(seen[2], 0);
	assert_in_range(seen[1], 2300, 2700);
	assert_in_range(seen[3], 7300, 7700);
	static const uint32_t only_last[3] = {0, 0, 1};
	assert_int_equal(gale_entropy_pick(&entropy, only_last, 3), 2);
}

/* Every value below is derived by hand from the byte layout documented in entropy.h. */
static void test_entropy_bytes_exact_values(void **state)
{
	(void)state;
	static const uint8_t bytes[] = {0x00, 0xFF, 0x40, 0x3F, 0x34, 0x12, 0x07, 0x02,
					0x11, 0x22, 0x33};
	static const uint32_t weights[3] = {0, 3, 1};
	struct gale_entropy entropy;
	gale_entropy_init_bytes(&entropy, bytes, sizeof(bytes));
	struct gale_ratio quarter = {1, 4}; /* True when the byte is < 64. */
	assert_true(gale_entropy_chance(&entropy, quarter));   /* 0x00 */
	assert_false(gale_entropy_chance(&entropy, quarter));  /* 0xFF */
	assert_false(gale_entropy_chance(&entropy, quarter));  /* 0x40 */
	assert_true(gale_entropy_chance(&entropy, quarter));   /* 0x3F */
	/* Span 1000 takes 2 bytes: 0x1234 = 4660, 4660 % 1001 = 656. */
	assert_int_equal(gale_entropy_range(&entropy, 100, 1100), 756);
	assert_int_equal(gale_entropy_range(&entropy, 5, 5), 5); /* No byte. */
	/* Weight sum 4: 0x07 % 4 = 3 falls in the weight of index 2. */
	assert_int_equal(gale_entropy_pick(&entropy, weights, 3), 2);
	assert_false(gale_entropy_chance(&entropy, (struct gale_ratio){0, 4})); /* No byte. */
	assert_true(gale_entropy_chance(&entropy, (struct gale_ratio){1, 1}));  /* 0x02 */
	assert_false(gale_entropy_is_exhausted(&entropy));
	/* Three bytes left: the missing five read as zero. */
	assert_int_equal(gale_entropy_u64(&entropy), UINT64_C(0x332211));
	assert_true(gale_entropy_is_exhausted(&entropy));
	assert_int_equal(gale_entropy_draws_count(&entropy), 10);
	/* Exhausted: every answer is neutral. */
	assert_false(gale_entropy_chance(&entropy, (struct gale_ratio){1, 1}));
	assert_int_equal(gale_entropy_range(&entropy, 3, 9), 3);
	assert_int_equal(gale_entropy_pick(&entropy, weights, 3), 1);
	assert_int_equal(gale_entropy_u64(&entropy), 0);
	assert_int_equal(gale_entropy_draws_count(&entropy), 14);
}

static void test_entropy_bytes_widths_and_rare_ratios(void **state)
{
	(void)state;
	static const uint8_t bytes[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
					0x01, 0x00, 0xAA, 0xBB, 0xCC, 0xDD};
	struct gale_entropy entropy;
	gale_entropy_init_bytes(&entropy, bytes, sizeof(bytes));
	/* The full span takes all 8 bytes, little-endian, unreduced. */
	assert_int_equal(gale_entropy_range(&entropy, 0, UINT64_MAX), UINT64_C(0x0807060504030201));
	/* 1/1000 still fires on byte 0 (ceil(256/1000) = 1), never on byte 1 and above. */
	assert_false(gale_entropy_chance(&entropy, (struct gale_ratio){1, 1000})); /* 0x01 */
	assert_true(gale_entropy_chance(&entropy, (struct gale_ratio){1, 1000}));  /* 0x00 */
	/* A span above 0xFFFF takes 4 bytes: 0xDDCCBBAA % 100001. */
	assert_int_equal(gale_entropy_range(&entropy, 0, 100000),
			 UINT64_C(0xDDCCBBAA) % UINT64_C(100001));
	assert_true(gale_entropy_is_exhausted(&entropy));
}

static void test_entropy_bytes_empty_is_neutral(void **state)
{
	(void)state;
	static const uint32_t weights[2] = {1, 1};
	struct gale_entropy entropy;
	gale_entropy_init_bytes(&entropy, NULL, 0);
	assert_true(gale_entropy_is_exhausted(&entropy));
	assert_false(gale_entropy_chance(&entropy, (struct gale_ratio){1, 1}));
	assert_int_equal(gale_entropy_range(&entropy, 40, 50), 40);
	assert_int_equal(gale_entropy_pick(&entropy, weights, 2), 0);
	assert_int_equal(gale_entropy_u64(&entropy), 0);
	assert_int_equal(gale_entropy_draws_count(&entropy), 4);
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entropy_seed_same_sequence),
		cmocka_unit_test(test_entropy_seed_golden),
		cmocka_unit_test(test_entropy_seed_different_seeds_differ),
		cmocka_unit_test(test_entropy_chance_extremes_and_frequency),
		cmocka_unit_test(test_entropy_chance_zero_consumes_nothing),
		cmocka_unit_test(test_entropy_range_bounds),
		cmocka_unit_test(test_entropy_range_single_value_consumes_nothing),
		cmocka_unit_test(test_entropy_pick_respects_weights),
		cmocka_unit_test(test_entropy_bytes_exact_values),
		cmocka_unit_test(test_entropy_bytes_widths_and_rare_ratios),
		cmocka_unit_test(test_entropy_bytes_empty_is_neutral),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
