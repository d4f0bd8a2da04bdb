/* SPDX-License-Identifier: MIT */
/*
 * The simulated allocator (sim/src/sim_alloc.c): counting, fail-at-N, fail by ratio.
 *
 * Methodology: the inner allocator is the counting allocator of test_support.h, so every
 * count of the sim allocator is checked against what really reached memory. Ratio failures
 * run over a fixed seed (exactly reproducible) and are compared between two allocators
 * with equal seeds, call by call.
 */
#include <stdint.h>

#include <gale/entropy.h>
#include <gale/sim_alloc.h>
#include <gale/sim_profile.h>
#include <gale/sim_trace.h>

#include "test_support.h"

static void *alloc_through(struct gale_sim_allocator *allocator, size_t size)
{
	return allocator->base.alloc(allocator->base.data, size);
}

static void free_through(struct gale_sim_allocator *allocator, void *ptr, size_t size)
{
	allocator->base.free(allocator->base.data, ptr, size);
}

static void test_sim_alloc_counts(void **state)
{
	(void)state;
	struct gale_test_allocator inner;
	gale_test_allocator_init(&inner);
	struct gale_sim_allocator allocator;
	gale_sim_allocator_init(&allocator, &inner.base, NULL, NULL, NULL);
	void *a = alloc_through(&allocator, 100);
	void *b = alloc_through(&allocator, 28);
	void *c = alloc_through(&allocator, 1);
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	free_through(&allocator, b, 28);
	struct gale_sim_alloc_stats stats = gale_sim_allocator_stats_get(&allocator);
	assert_int_equal(stats.calls_count, 3);
	assert_int_equal(stats.alloc_count, 3);
	assert_int_equal(stats.free_count, 1);
	assert_int_equal(stats.failed_count, 0);
	assert_int_equal(stats.live_count, 2);
	assert_int_equal(stats.live_bytes, 101);
	assert_int_equal(stats.live_bytes_peak, 129);
	assert_int_equal(gale_sim_allocator_live_count(&allocator), 2);
	assert_int_equal(inner.live_bytes, 101);
	free_through(&allocator, a, 100);
	free_through(&allocator, c, 1);
	assert_int_equal(gale_sim_allocator_live_count(&allocator), 0);
	assert_int_equal(inner.live_count, 0);
}

static void test_sim_alloc_fail_at_exactly_once(void **state)
{
	(void)state;
	struct gale_test_allocator inner;
	gale_test_allocator_init(&inner);
	struct gale_trace trace;
	gale_trace_init(&trace, NULL, 16);
	struct gale_sim_allocator allocator;
	gale_sim_allocator_init(&allocator, &inner.base, NULL, NULL, &trace);
	gale_sim_allocator_fail_at_set(&allocator, 2);
	void *first = alloc_through(&allocator, 8);
	void *second = alloc_through(&allocator, 16);
	void *third = alloc_through(&allocator, 24);
	assert_non_null(first);
	assert_null(second);
	assert_non_null(third);
	struct gale_sim_alloc_stats stats = gale_sim_allocator_stats_get(&allocator);
	assert_int_equal(stats.calls_count, 3);
	assert_int_equal(stats.alloc_count, 2);
	assert_int_equal(stats.failed_count, 1);
	assert_int_equal(inner.calls_count, 2); /* The failed call never reached memory. */
	assert_int_equal(gale_trace_count(&trace), 1);
	const struct gale_trace_record *record = &gale_trace_records(&trace)[0];
	assert_int_equal(record->kind, GALE_TRACE_FAULT);
	assert_int_equal(record->op, GALE_FAULT_ALLOC_FAIL);
	assert_int_equal(record->fd, -1);
	assert_int_equal(record->a, 16);
	assert_int_equal(record->result, 2);
	free_through(&allocator, first, 8);
	free_through(&allocator, third, 24);
	assert_int_equal(gale_sim_allocator_live_count(&allocator), 0);
	gale_trace_deinit(&trace);
}

/* Runs n allocations (freeing each at once) and stores which ones failed. */
static uint32_t run_ratio(struct gale_sim_allocator *allocator, bool *failed_out, uint32_t n)
{
	uint32_t failures = 0;
	for (uint32_t i = 0; i < n; i++) {
		void *ptr = alloc_through(allocator, 32);
		failed_out[i] = ptr == NULL;
		failures += ptr == NULL;
		if (ptr != NULL)
			free_through(allocator, ptr, 32);
	}
	return failures;
}

static void test_sim_alloc_ratio_reproducible(void **state)
{
	(void)state;
	const struct gale_fault_profile *harsh = gale_fault_profile_find("harsh");
	static bool failed_a[2000];
	static bool failed_b[2000];
	struct gale_entropy entropy_a;
	struct gale_entropy entropy_b;
	gale_entropy_init_seed(&entropy_a, 0xA110C);
	gale_entropy_init_seed(&entropy_b, 0xA110C);
	struct gale_sim_allocator a;
	struct gale_sim_allocator b;
	gale_sim_allocator_init(&a, NULL, harsh, &entropy_a, NULL);
	gale_sim_allocator_init(&b, NULL, harsh, &entropy_b, NULL);
	uint32_t failures = run_ratio(&a, failed_a, 2000);
	assert_int_equal(run_ratio(&b, failed_b, 2000), failures);
	for (int i = 0; i < 2000; i++)
		assert_int_equal(failed_a[i], failed_b[i]);
	assert_in_range(failures, 60, 140); /* harsh ALLOC_FAIL is 1/20 of 2000. */
	struct gale_sim_alloc_stats stats = gale_sim_allocator_stats_get(&a);
	assert_int_equal(stats.failed_count, failures);
	assert_int_equal(stats.alloc_count, 2000 - failures);
	assert_int_equal(stats.live_count, 0);
	assert_int_equal(gale_entropy_draws_count(&entropy_a), 2000);
}

static void test_sim_alloc_ratio_always_and_never(void **state)
{
	(void)state;
	struct gale_fault_profile always = {.name = "always"};
	always.ratios[GALE_FAULT_ALLOC_FAIL] = (struct gale_ratio){1, 1};
	struct gale_entropy entropy;
	gale_entropy_init_seed(&entropy, 4);
	struct gale_sim_allocator allocator;
	gale_sim_allocator_init(&allocator, NULL, &always, &entropy, NULL);
	for (int i = 0; i < 10; i++)
		assert_null(alloc_through(&allocator, 64));
	assert_int_equal(gale_sim_allocator_stats_get(&allocator).failed_count, 10);
	gale_sim_allocator_init(&allocator, NULL, gale_fault_profile_find("none"), &entropy, NULL);
	uint64_t draws = gale_entropy_draws_count(&entropy);
	void *ptr = alloc_through(&allocator, 64);
	assert_non_null(ptr);
	free_through(&allocator, ptr, 64);
	assert_int_equal(gale_sim_allocator_stats_get(&allocator).failed_count, 0);
	/* The roll is a choice (counted) even when the ratio is 0, but consumes nothing. */
	assert_int_equal(gale_entropy_draws_count(&entropy), draws + 1);
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sim_alloc_counts),
		cmocka_unit_test(test_sim_alloc_fail_at_exactly_once),
		cmocka_unit_test(test_sim_alloc_ratio_reproducible),
		cmocka_unit_test(test_sim_alloc_ratio_always_and_never),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
