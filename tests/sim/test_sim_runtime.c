/* SPDX-License-Identifier: MIT */
/*
 * The real runtime (executor, reactor, timers) on the simulated driver: code that honours
 * the edge-triggered rules finishes, code that breaks them hangs, and the simulator turns
 * that hang into GALE_E_STALL instead of a frozen test; timers run on virtual time.
 *
 * Methodology: one socketpair, 100 bytes written up front, a reader task that reads 10
 * bytes at a time. The correct reader keeps reading until -EAGAIN; the buggy one clears
 * readiness after every short read (Tokio issue #5866), so it waits for an edge that
 * never comes. No faults, no seeds: every figure is exact.
 */
#include <errno.h>
#include <string.h>

#include <gale/error.h>
#include <gale/reactor.h>
#include <gale/rt.h>
#include <gale/sim.h>
#include <gale/time.h>

#include "test_support.h"

#define MS INT64_C(1000000)

struct reader {
	struct gale_runtime *runtime;
	int fd;
	uint64_t token;
	bool is_buggy;    /* Clears readiness after a short read. */
	size_t len_total; /* Bytes read so far. */
	size_t len_expected;
};

static int reader_poll(void *data, struct gale_cx *cx)
{
	struct reader *reader = data;
	struct gale_reactor *reactor = &reader->runtime->reactor;
	struct gale_driver *driver = gale_runtime_driver(reader->runtime);
	while (reader->len_total < reader->len_expected) {
		struct gale_ready_event ready;
		int rc = gale_reactor_poll_ready(reactor, reader->token, GALE_DIRECTION_READ, cx,
						 &ready);
		if (rc != 0)
			return rc;
		char buf[10];
		ssize_t n = gale_driver_read(driver, reader->fd, buf, sizeof(buf));
		if (n == -EAGAIN) {
			gale_reactor_clear_ready(reactor, reader->token, ready);
			continue;
		}
		if (n <= 0)
			return n < 0 ? (int)n : GALE_E_UNEXPECTED_EOF;
		reader->len_total += (size_t)n;
		if (reader->is_buggy)
			gale_reactor_clear_ready(reactor, reader->token, ready); /* The bug. */
	}
	return 0;
}

/* Runs one reader over a pair holding 100 bytes; returns gale_runtime_run's result. */
static int reader_run(bool is_buggy, size_t *len_total_out)
{
	struct gale_sim sim;
	struct gale_runtime runtime;
	struct gale_sim_options options = gale_sim_options_default();
	assert_int_equal(gale_sim_init(&sim, &options), 0);
	assert_int_equal(gale_runtime_init(&runtime, &sim.base, NULL), 0);
	int pair[2];
	assert_int_equal(gale_driver_socketpair(&sim.base, pair), 0);
	char bytes[100];
	memset(bytes, 'r', sizeof(bytes));
	assert_int_equal(gale_driver_write(&sim.base, pair[1], bytes, sizeof(bytes)), 100);
	struct reader reader = {.runtime = &runtime, .fd = pair[0], .is_buggy = is_buggy,
				.len_expected = sizeof(bytes)};
	assert_int_equal(gale_reactor_register(&runtime.reactor, pair[0], GALE_READY_READ,
					       &reader.token),
			 0);
	struct gale_task_handle handle;
	assert_int_equal(gale_executor_spawn(&runtime.executor, reader_poll, &reader, &handle), 0);
	int rc = gale_runtime_run(&runtime);
	if (rc != 0)
		assert_int_equal(gale_executor_abort(&runtime.executor, handle), 0);
	int result = 1;
	assert_int_equal(gale_executor_try_join(&runtime.executor, handle, &result), 0);
	assert_int_equal(result, rc == 0 ? 0 : GALE_E_CANCELED);
	assert_int_equal(gale_reactor_deregister(&runtime.reactor, reader.token), 0);
	assert_int_equal(gale_driver_close(&sim.base, pair[0]), 0);
	assert_int_equal(gale_driver_close(&sim.base, pair[1]), 0);
	assert_int_equal(gale_runtime_deinit(&runtime), 0);
	assert_int_equal(gale_sim_deinit(&sim), 0);
	*len_total_out = reader.len_total;
	return rc;
}

static void test_correct_reader_finishes(void **state)
{
	(void)state;
	size_t len_total = 0;
	assert_int_equal(reader_run(false, &len_total), 0);
	assert_int_equal(len_total, 100);
}

static void test_reader_clearing_after_short_read_stalls(void **state)
{
	(void)state;
	size_t len_total = 0;
	/* One short read, then a wait for an edge that never comes: a stall, reported. */
	assert_int_equal(reader_run(true, &len_total), GALE_E_STALL);
	assert_int_equal(len_total, 10);
}

static int sleeper_poll(void *data, struct gale_cx *cx)
{
	return gale_sleep_poll(data, cx);
}

/* Runs one sleeper of duration_ns to completion. */
static void sleep_run(struct gale_runtime *runtime, int64_t duration_ns)
{
	struct gale_sleep sleep;
	gale_sleep_init(&sleep, runtime, duration_ns);
	struct gale_task_handle handle;
	assert_int_equal(gale_executor_spawn(&runtime->executor, sleeper_poll, &sleep, &handle), 0);
	assert_int_equal(gale_runtime_run(runtime), 0);
	int result = 1;
	assert_int_equal(gale_executor_try_join(&runtime->executor, handle, &result), 0);
	assert_int_equal(result, 0);
	gale_sleep_deinit(&sleep);
}

static void test_timers_run_on_virtual_time(void **state)
{
	(void)state;
	struct gale_sim sim;
	struct gale_runtime runtime;
	struct gale_sim_options options = gale_sim_options_default();
	options.time_start_ns = 7 * MS;
	assert_int_equal(gale_sim_init(&sim, &options), 0);
	assert_int_equal(gale_runtime_init(&runtime, &sim.base, NULL), 0);
	/* The clock jumps straight to each deadline: one wait per sleep, no wall time. */
	sleep_run(&runtime, 5 * MS);
	assert_int_equal(gale_runtime_now_ns(&runtime), 12 * MS);
	sleep_run(&runtime, 250 * MS);
	assert_int_equal(gale_runtime_now_ns(&runtime), 262 * MS);
	assert_int_equal(gale_runtime_deinit(&runtime), 0);
	struct gale_sim_stats stats = gale_sim_stats_get(&sim);
	assert_int_equal(stats.waits_count, 2);
	assert_int_equal(stats.events_count, 0);
	assert_int_equal(gale_sim_deinit(&sim), 0);
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_correct_reader_finishes),
		cmocka_unit_test(test_reader_clearing_after_short_read_stalls),
		cmocka_unit_test(test_timers_run_on_virtual_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
