/* SPDX-License-Identifier: MIT */
/*
 * The runtime on the real kernel: executor + reactor + timers over the native driver
 * (epoll on Linux).
 *
 * Methodology: small task programs over socketpairs and real timers. Wall time is never
 * asserted beyond "the clock did not run backwards and a sleep did not end early"
 * (measured on the driver's own clock), and deadlines that are compared with each other
 * are computed from one clock reading (a preemption between two readings would reorder
 * them), so the tests are robust on a loaded machine.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <gale/driver_native.h>
#include <gale/error.h>
#include <gale/reactor.h>
#include <gale/rt.h>
#include <gale/time.h>

#include "test_support.h"

struct fixture {
	struct gale_driver_native driver; /* The real driver. */
	struct gale_runtime runtime;      /* Over it. */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_int_equal(gale_driver_native_init(&f->driver), 0);
	assert_int_equal(gale_runtime_init(&f->runtime, &f->driver.base, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(gale_runtime_deinit(&f->runtime), 0);
	gale_driver_deinit(&f->driver.base);
	free(f);
	return 0;
}

struct sleeper {
	struct gale_sleep sleep; /* 2 ms. */
	int64_t woke_ns;         /* Driver clock when it completed. */
};

static int sleeper_poll(void *data, struct gale_cx *cx)
{
	struct sleeper *sleeper = data;
	int rc = gale_sleep_poll(&sleeper->sleep, cx);
	if (rc == 0)
		sleeper->woke_ns = gale_runtime_now_ns(sleeper->sleep.runtime);
	return rc;
}

static void sleep_never_ends_early_on_the_real_clock(void **state)
{
	struct fixture *f = *state;
	struct sleeper sleepers[3];
	struct gale_task_handle handles[3];
	int64_t start_ns = gale_runtime_now_ns(&f->runtime);
	for (int i = 0; i < 3; i++) {
		/* Spawned longest first: completion order must follow deadlines, not spawns.
		 * The deadlines share start_ns, so their order does not depend on how long
		 * the loop took. */
		gale_sleep_init_until(&sleepers[i].sleep, &f->runtime,
				      start_ns + (3 - i) * 2000000);
		assert_int_equal(gale_executor_spawn(&f->runtime.executor, sleeper_poll,
						     &sleepers[i], &handles[i]),
				 0);
	}
	assert_int_equal(gale_runtime_run(&f->runtime), 0);
	for (int i = 0; i < 3; i++) {
		int result = -1;
		assert_int_equal(gale_executor_try_join(&f->runtime.executor, handles[i], &result),
				 0);
		assert_int_equal(result, 0);
		assert_true(sleepers[i].woke_ns - start_ns >= (3 - i) * 2000000);
		gale_sleep_deinit(&sleepers[i].sleep);
	}
	assert_true(sleepers[2].woke_ns <= sleepers[1].woke_ns);
	assert_true(sleepers[1].woke_ns <= sleepers[0].woke_ns);
}

struct ping {
	struct gale_runtime *runtime; /* Borrowed. */
	int fd;                       /* Our end. */
	uint64_t token;               /* Its registration. */
	size_t len_read;              /* Bytes read so far. */
	char buf[8];                  /* What arrived. */
};

/* Reads exactly 4 bytes the edge-triggered way. */
static int ping_poll(void *data, struct gale_cx *cx)
{
	struct ping *ping = data;
	while (ping->len_read < 4) {
		struct gale_ready_event event;
		int rc = gale_reactor_poll_ready(&ping->runtime->reactor, ping->token,
						 GALE_DIRECTION_READ, cx, &event);
		if (rc != 0)
			return rc;
		ssize_t n = gale_driver_read(gale_runtime_driver(ping->runtime), ping->fd,
					     ping->buf + ping->len_read, 4 - ping->len_read);
		if (n == -EAGAIN) {
			gale_reactor_clear_ready(&ping->runtime->reactor, ping->token, event);
			continue;
		}
		if (n <= 0)
			return n == 0 ? GALE_E_UNEXPECTED_EOF : (int)n;
		ping->len_read += (size_t)n;
	}
	return 0;
}

struct pong {
	struct gale_sleep delay; /* Write after this. */
	struct gale_driver *driver;
	int fd;                  /* Peer end. */
	int step;                /* Bytes written so far (one per delay). */
};

static int pong_poll(void *data, struct gale_cx *cx)
{
	struct pong *pong = data;
	while (pong->step < 4) {
		int rc = gale_sleep_poll(&pong->delay, cx);
		if (rc != 0)
			return rc;
		char byte = (char)('a' + pong->step);
		assert_int_equal(gale_driver_write(pong->driver, pong->fd, &byte, 1), 1);
		pong->step++;
		gale_sleep_reset(&pong->delay, gale_driver_now_ns(pong->driver) + 500000);
	}
	return 0;
}

static void reader_waits_for_bytes_written_later(void **state)
{
	struct fixture *f = *state;
	int fds[2];
	assert_int_equal(gale_driver_socketpair(&f->driver.base, fds), 0);
	struct ping ping = {.runtime = &f->runtime, .fd = fds[0]};
	assert_int_equal(gale_reactor_register(&f->runtime.reactor, fds[0], GALE_READY_READ,
					       &ping.token),
			 0);
	struct pong pong = {.driver = &f->driver.base, .fd = fds[1]};
	gale_sleep_init(&pong.delay, &f->runtime, 500000);
	struct gale_task_handle ping_task, pong_task;
	struct gale_executor *executor = &f->runtime.executor;
	assert_int_equal(gale_executor_spawn(executor, ping_poll, &ping, &ping_task), 0);
	assert_int_equal(gale_executor_spawn(executor, pong_poll, &pong, &pong_task), 0);
	int result = -1;
	assert_int_equal(gale_runtime_block_on(&f->runtime, ping_task, &result), 0);
	assert_int_equal(result, 0);
	assert_memory_equal(ping.buf, "abcd", 4);
	assert_int_equal(gale_runtime_block_on(&f->runtime, pong_task, &result), 0);
	assert_int_equal(result, 0);
	gale_sleep_deinit(&pong.delay);
	assert_int_equal(gale_reactor_deregister(&f->runtime.reactor, ping.token), 0);
	assert_int_equal(gale_driver_close(&f->driver.base, fds[0]), 0);
	assert_int_equal(gale_driver_close(&f->driver.base, fds[1]), 0);
}

static int forgotten_poll(void *data, struct gale_cx *cx)
{
	(void)data;
	(void)cx;
	return GALE_PENDING; /* The bug: pending without storing the waker anywhere. */
}

static void pending_task_nobody_can_wake_is_a_stall_not_a_hang(void **state)
{
	struct fixture *f = *state;
	struct gale_task_handle handle;
	assert_int_equal(gale_executor_spawn(&f->runtime.executor, forgotten_poll, NULL, &handle),
			 0);
	assert_int_equal(gale_runtime_run(&f->runtime), GALE_E_STALL);
	assert_int_equal(gale_executor_abort(&f->runtime.executor, handle), 0);
	int result = 0;
	assert_int_equal(gale_executor_try_join(&f->runtime.executor, handle, &result), 0);
	assert_int_equal(result, GALE_E_CANCELED);
}

static int quick_poll(void *data, struct gale_cx *cx)
{
	(void)cx;
	int *polls = data;
	(*polls)++;
	return 0;
}

/*
 * Regression: block_on used to run the target to completion and then, in the same turn,
 * wait on the driver forever because another task was still waiting for I/O that never came.
 */
static void block_on_returns_while_others_wait_on_io(void **state)
{
	struct fixture *f = *state;
	int fds[2];
	assert_int_equal(gale_driver_socketpair(&f->driver.base, fds), 0);
	struct ping waiter = {.runtime = &f->runtime, .fd = fds[0]};
	assert_int_equal(gale_reactor_register(&f->runtime.reactor, fds[0], GALE_READY_READ,
					       &waiter.token),
			 0);
	struct gale_task_handle waiter_task, quick_task;
	int polls = 0;
	struct gale_executor *executor = &f->runtime.executor;
	assert_int_equal(gale_executor_spawn(executor, ping_poll, &waiter, &waiter_task), 0);
	/* Let the waiter store its waker first: from now on the reactor has a waiter. */
	assert_int_equal(gale_runtime_turn(&f->runtime, 0), 0);
	assert_int_equal(gale_executor_spawn(executor, quick_poll, &polls, &quick_task), 0);
	int result = -1;
	assert_int_equal(gale_runtime_block_on(&f->runtime, quick_task, &result), 0);
	assert_int_equal(result, 0);
	assert_int_equal(polls, 1);
	assert_false(gale_executor_is_finished(&f->runtime.executor, waiter_task));
	assert_int_equal(gale_executor_abort(&f->runtime.executor, waiter_task), 0);
	assert_int_equal(gale_executor_try_join(&f->runtime.executor, waiter_task, &result), 0);
	assert_int_equal(gale_reactor_deregister(&f->runtime.reactor, waiter.token), 0);
	assert_int_equal(gale_driver_close(&f->driver.base, fds[0]), 0);
	assert_int_equal(gale_driver_close(&f->driver.base, fds[1]), 0);
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(sleep_never_ends_early_on_the_real_clock, setup,
						teardown),
		cmocka_unit_test_setup_teardown(reader_waits_for_bytes_written_later, setup,
						teardown),
		cmocka_unit_test_setup_teardown(pending_task_nobody_can_wake_is_a_stall_not_a_hang,
						setup, teardown),
		cmocka_unit_test_setup_teardown(block_on_returns_while_others_wait_on_io, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
