/* SPDX-License-Identifier: MIT */
/*
 * The scenario kit (<gale/scenario_kit.h>) inside real runs: the fault rule (an error is
 * survivable only when an injected fault explains it), barriers, signals, draws and
 * retried spawns, and the pattern helpers.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <gale/error.h>
#include <gale/scenario_kit.h>
#include <gale/sim_profile.h>

#include "test_support.h"

#define KIND(k) (UINT32_C(1) << (k))

static void test_fault_causes_table(void **state)
{
	(void)state;
	assert_int_equal(gale_scenario_fault_causes(0), 0);
	assert_int_equal(gale_scenario_fault_causes(GALE_PENDING), 0);
	assert_int_equal(gale_scenario_fault_causes(-EINVAL), 0);
	assert_int_equal(gale_scenario_fault_causes(-EBADF), 0);
	static const int broken[] = {-ECONNRESET, -EPIPE, -ENOTCONN, GALE_E_UNEXPECTED_EOF};
	for (size_t k = 0; k < 4; k++) {
		assert_true(gale_scenario_error_is_broken(broken[k]));
		assert_true(gale_scenario_fault_causes(broken[k]) & KIND(GALE_FAULT_RESET));
	}
	assert_false(gale_scenario_error_is_broken(-ECONNREFUSED));
	assert_int_equal(gale_scenario_fault_causes(-ECONNREFUSED),
			 KIND(GALE_FAULT_CONNECT_REFUSED) | KIND(GALE_FAULT_PARTITION));
	assert_int_equal(gale_scenario_fault_causes(-ENOMEM), KIND(GALE_FAULT_ALLOC_FAIL));
	assert_int_equal(gale_scenario_fault_causes(-EMFILE), KIND(GALE_FAULT_ACCEPT_EMFILE));
	assert_true(gale_scenario_fault_causes(GALE_E_TIMED_OUT) & KIND(GALE_FAULT_PARTITION));
}

/* What the tasks below saw, read by the tests after the run (the runner frees state). */
static struct {
	int survived_refused; /* gale_scenario_survive(-ECONNREFUSED). */
	int survived_nomem;   /* gale_scenario_survive(-ENOMEM), after an allocation failed. */
	int log[16];          /* Barrier / signal events in order. */
	int log_len;          /* Entries. */
} seen;

static void seen_log(int event)
{
	if (seen.log_len < 16)
		seen.log[seen.log_len++] = event;
}

/* Allocates until the allocator fails once, then meets two errors. */
static int rule_task(void *data, struct gale_cx *cx)
{
	(void)cx;
	struct gale_scenario_run *run = *(struct gale_scenario_run **)data;
	const struct gale_allocator *a = &run->allocator.base;
	for (int k = 0; k < 1000; k++) {
		void *p = a->alloc(a->data, 16);
		if (p == NULL)
			break;
		a->free(a->data, p, 16);
	}
	seen.survived_nomem = gale_scenario_survive(run, -ENOMEM, "allocating");
	seen.survived_refused = gale_scenario_survive(run, -ECONNREFUSED, "client 1 connecting");
	return 0;
}

static int rule_setup(struct gale_scenario_run *run, void *data)
{
	*(struct gale_scenario_run **)data = run;
	return gale_scenario_spawn_retry(run, "rule", rule_task, data, false, NULL);
}

static void test_survive_passes_explained_errors_and_fails_the_rest(void **state)
{
	(void)state;
	struct gale_fault_profile profile = *gale_fault_profile_find("none");
	profile.ratios[GALE_FAULT_ALLOC_FAIL] = (struct gale_ratio){1, 4};
	const struct gale_scenario scenario = {
		.name = "rule", .state_size = sizeof(void *), .setup = rule_setup};
	struct gale_run_options options = {.seed = 5, .profile = &profile};
	struct gale_run_result result;
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(gale_scenario_run(&scenario, &options, NULL, &result), 1);
	assert_int_equal(seen.survived_nomem, 0);                  /* ALLOC_FAIL was injected. */
	assert_int_equal(seen.survived_refused, -ECONNREFUSED);    /* Nothing refused a connect. */
	assert_int_equal(result.oracle, GALE_ORACLE_CHECK);
	assert_non_null(strstr(result.message, "client 1 connecting: ECONNREFUSED"));
	assert_non_null(strstr(result.message, "no injected fault explains it"));

	/* Without faults even -ENOMEM is a bug: the first unexplained error fails the run. */
	options.profile = gale_fault_profile_find("none");
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(gale_scenario_run(&scenario, &options, NULL, &result), 1);
	assert_int_equal(seen.survived_nomem, -ENOMEM);
	assert_non_null(strstr(result.message, "allocating: ENOMEM"));
}

/* Three tasks meet at a barrier; one then waits on a signal the last one raises. */
struct meet {
	struct gale_scenario_barrier barrier;
	struct gale_scenario_signal signal;
	bool raised;          /* The condition the signal is about. */
	uint32_t tickets[3];  /* One per task. */
	int ids[3];           /* Task ids 0, 1, 2: each task's data, &ids[id]. */
};

static int meet_poll(void *data, struct gale_cx *cx)
{
	int *id = data; /* &meet->ids[*id], so ids[0] is at id - *id. */
	struct meet *meet = (struct meet *)((char *)(id - *id) - offsetof(struct meet, ids));
	if (gale_scenario_barrier_poll(&meet->barrier, &meet->tickets[*id], cx) == GALE_PENDING) {
		seen_log(10 + *id); /* Arrived, waiting. */
		return GALE_PENDING;
	}
	if (*id == 2 && !meet->raised) {
		seen_log(30);
		meet->raised = true;
		gale_scenario_signal_wake(&meet->signal);
		return 0;
	}
	if (*id == 0 && !meet->raised) {
		seen_log(20);
		gale_scenario_signal_wait(&meet->signal, cx);
		return GALE_PENDING;
	}
	seen_log(40 + *id); /* Done. */
	return 0;
}

static int meet_setup(struct gale_scenario_run *run, void *data)
{
	struct meet *meet = data;
	int rc = gale_scenario_barrier_init(&meet->barrier, 3);
	static const char *const names[] = {"t0", "t1", "t2"};
	for (int k = 0; k < 3 && rc == 0; k++) {
		meet->ids[k] = k;
		rc = gale_scenario_spawn_retry(run, names[k], meet_poll, &meet->ids[k], false,
					       NULL);
	}
	return rc;
}

static void test_barrier_holds_everyone_until_all_arrive_and_signal_wakes(void **state)
{
	(void)state;
	const struct gale_scenario scenario = {
		.name = "meet", .state_size = sizeof(struct meet), .setup = meet_setup};
	for (uint64_t seed = 0; seed < 32; seed++) {
		struct gale_run_options options = {.seed = seed};
		struct gale_run_result result;
		memset(&seen, 0, sizeof(seen));
		if (gale_scenario_run(&scenario, &options, NULL, &result) != 0)
			fail_msg("seed %llu: %s", (unsigned long long)seed, result.message);
		/* Two tasks wait at the barrier (10..12) before anyone passes it. */
		int waiting = 0, first_pass = -1;
		for (int k = 0; k < seen.log_len; k++) {
			if (seen.log[k] >= 10 && seen.log[k] < 20 && first_pass < 0)
				waiting++;
			if (seen.log[k] >= 20 && first_pass < 0)
				first_pass = k;
		}
		assert_int_equal(waiting, 2);
		/* t0 finishes only after t2 raised the signal. */
		int raised = -1, t0_done = -1;
		for (int k = 0; k < seen.log_len; k++) {
			raised = seen.log[k] == 30 ? k : raised;
			t0_done = seen.log[k] == 40 ? k : t0_done;
		}
		assert_true(raised >= 0 && t0_done > raised);
	}
	struct gale_scenario_barrier barrier;
	assert_int_equal(gale_scenario_barrier_init(&barrier, 0), -EINVAL);
	assert_int_equal(gale_scenario_barrier_init(&barrier, GALE_SCENARIO_BARRIER_MAX + 1),
			 -EINVAL);
}

/* draws_min (shrinking's size knob): every draw answers its minimum, spending nothing. */
static uint64_t drawn[4];

static int draws_setup(struct gale_scenario_run *run, void *data)
{
	(void)data;
	for (int k = 0; k < 4; k++)
		drawn[k] = gale_scenario_draw(run, 3, 1000);
	return 0;
}

static void test_draws_min_answers_the_minimum(void **state)
{
	(void)state;
	const struct gale_scenario scenario = {.name = "draws", .setup = draws_setup};
	struct gale_run_options options = {.seed = 11};
	struct gale_run_result result;
	assert_int_equal(gale_scenario_run(&scenario, &options, NULL, &result), 0);
	bool above = false;
	for (int k = 0; k < 4; k++)
		above = above || drawn[k] > 3;
	assert_true(above); /* Four draws in [3, 1000] are not all 3 for this seed. */
	options.draws_min = true;
	assert_int_equal(gale_scenario_run(&scenario, &options, NULL, &result), 0);
	for (int k = 0; k < 4; k++)
		assert_int_equal(drawn[k], 3);
}

static void test_patterns_catch_a_changed_byte(void **state)
{
	(void)state;
	uint8_t buf[64];
	gale_scenario_pattern_fill(7, 100, buf, sizeof(buf));
	assert_int_equal(gale_scenario_pattern_mismatch(7, 100, buf, sizeof(buf)), sizeof(buf));
	assert_int_equal(buf[5], gale_scenario_pattern_byte(7, 105));
	buf[9] ^= 1;
	assert_int_equal(gale_scenario_pattern_mismatch(7, 100, buf, sizeof(buf)), 9);
	assert_int_equal(gale_scenario_pattern_mismatch(7, 101, buf, sizeof(buf)) < 9, true);
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fault_causes_table),
		cmocka_unit_test(test_survive_passes_explained_errors_and_fails_the_rest),
		cmocka_unit_test(test_barrier_holds_everyone_until_all_arrive_and_signal_wakes),
		cmocka_unit_test(test_patterns_catch_a_changed_byte),
		cmocka_unit_test(test_draws_min_answers_the_minimum),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
