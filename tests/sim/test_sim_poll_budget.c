/* SPDX-License-Identifier: MIT */
/*
 * The per-poll budget: a task that loops inside one poll (retrying a read on -EAGAIN instead
 * of returning pending) is the bug class a busy loop is, and on the simulator nothing else
 * would ever run again. The runner fails it with the LIMIT oracle, naming the task and the
 * op it repeats, after a bounded number of ops, and the failure replays bit for bit.
 */
#include <errno.h>
#include <string.h>

#include <gale/driver.h>
#include <gale/error.h>
#include <gale/scenario.h>
#include <gale/scenario_kit.h>

#include "test_support.h"

struct spin {
	struct gale_scenario_run *run;
	int fds[2]; /* A socketpair nobody writes to. */
	int rc;     /* What the spinner's loop ended with. */
};

/* The bug: -EAGAIN is retried in place, forever, instead of waiting for readiness. */
static int spinner_poll(void *data, struct gale_cx *cx)
{
	(void)cx;
	struct spin *spin = data;
	struct gale_driver *driver = gale_scenario_driver(spin->run);
	char byte;
	for (;;) {
		ssize_t n = gale_driver_read(driver, spin->fds[0], &byte, 1);
		if (n == -EAGAIN)
			continue;
		spin->rc = (int)n;
		return n < 0 ? (int)n : 0;
	}
}

static int spin_setup(struct gale_scenario_run *run, void *data)
{
	struct spin *spin = data;
	spin->run = run;
	int rc = gale_driver_socketpair(gale_scenario_driver(run), spin->fds);
	return rc < 0 ? rc : gale_scenario_spawn_retry(run, "spinner", spinner_poll, spin, false,
						       NULL);
}

static void spin_teardown(struct gale_scenario_run *run, void *data)
{
	struct spin *spin = data;
	gale_driver_close(gale_scenario_driver(run), spin->fds[0]);
	gale_driver_close(gale_scenario_driver(run), spin->fds[1]);
}

static const struct gale_scenario spin_scenario = {
	.name = "spin", .description = "retries -EAGAIN inside one poll",
	.state_size = sizeof(struct spin), .setup = spin_setup, .teardown = spin_teardown};

static void test_busy_loop_inside_a_poll_fails_with_limit(void **state)
{
	(void)state;
	struct gale_run_options options = {.seed = 3};
	struct gale_run_result first, again;
	assert_int_equal(gale_scenario_run(&spin_scenario, &options, NULL, &first), 1);
	assert_int_equal(first.oracle, GALE_ORACLE_LIMIT);
	if (strstr(first.message, "busy loop inside a poll") == NULL ||
	    strstr(first.message, "read on fd") == NULL ||
	    strstr(first.message, "'spinner'") == NULL)
		fail_msg("message: %s", first.message);
	/* Bounded: the budget plus the setup's few ops, far below the run's step limit. */
	assert_true(first.sim.ops_count < 1100000);
	assert_int_equal(gale_scenario_run(&spin_scenario, &options, NULL, &again), 1);
	assert_int_equal(again.trace_hash, first.trace_hash);
	assert_string_equal(again.message, first.message);
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_busy_loop_inside_a_poll_fails_with_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
