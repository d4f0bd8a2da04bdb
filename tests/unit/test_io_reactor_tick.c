/* SPDX-License-Identifier: MIT */
/*
 * The reactor's tick is wide enough never to alias: a readiness observation cleared after
 * more events than a 32-bit tick can count still keeps the newer readiness.
 *
 * Methodology: a driver written for this file (not the cmocka-scripted one: billions of
 * queued values would not fit) hands the reactor full batches of READ events for one
 * registration, as many as the test asks for, with no kernel and no time. The test
 * observes READ readiness, lets exactly 2^32 more events arrive (the count at which a
 * 32-bit tick wraps back to the observed value and a stale clear would erase readiness
 * that newer events set), clears with the old observation, and requires the readiness to
 * stay; a clear with a fresh observation then does clear. reactor.h states the width (64
 * bits) and why that cannot wrap. About 4.3 billion dispatches: seconds in an optimised
 * build, under a minute with sanitizers (CTest allows 600 s).
 * Reproduce: ./test_io_reactor_tick.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <gale/error.h>
#include <gale/reactor.h>

#include "test_support.h"

#define FD 3
#define BATCH_LEN (1 << 16) /* Events per wait(): the reactor's events_cap. */

/* A driver whose wait() reports READ for one token, events_left times in all. */
struct tick_driver {
	struct gale_driver base; /* Always first. */
	uint64_t token;          /* The registration's token (set at fd_register). */
	uint64_t events_left;    /* Events still to hand out. */
	uint64_t waits_count;    /* wait() calls. */
};

static struct tick_driver *tick_driver_from(struct gale_driver *driver)
{
	return (struct tick_driver *)driver;
}

static int tick_fd_register(struct gale_driver *driver, int fd, uint64_t token,
			    uint32_t interest)
{
	assert_int_equal(fd, FD);
	assert_int_equal(interest, GALE_READY_READ);
	tick_driver_from(driver)->token = token;
	return 0;
}

static int tick_fd_reregister(struct gale_driver *driver, int fd, uint64_t token,
			      uint32_t interest)
{
	(void)driver;
	(void)fd;
	(void)token;
	(void)interest;
	fail_msg("unexpected fd_reregister");
	return -EINVAL;
}

static int tick_fd_deregister(struct gale_driver *driver, int fd)
{
	(void)driver;
	assert_int_equal(fd, FD);
	return 0;
}

static int tick_wait(struct gale_driver *driver, struct gale_event *events, int events_cap,
		     int64_t timeout_ns)
{
	struct tick_driver *tick = tick_driver_from(driver);
	assert_int_equal(timeout_ns, 0);
	assert_int_equal(events_cap, BATCH_LEN);
	tick->waits_count++;
	int count = tick->events_left < (uint64_t)events_cap ? (int)tick->events_left : events_cap;
	/* The reactor hands the same buffer back every time and only reads it: filled once,
	 * it is checked (cheaply) rather than rewritten 2^16 times per turn. */
	const struct gale_event event = {.token = tick->token, .ready = GALE_READY_READ};
	bool is_filled = count > 0 && events[0].token == event.token &&
			 events[count - 1].token == event.token &&
			 events[count - 1].ready == event.ready;
	for (int i = 0; i < events_cap && count > 0 && !is_filled; i++)
		events[i] = event;
	tick->events_left -= (uint64_t)count;
	return count;
}

static void tick_deinit(struct gale_driver *driver)
{
	(void)driver;
}

static const struct gale_driver_ops tick_driver_ops = {
	.abi_version = GALE_DRIVER_ABI_VERSION,
	.name = "tick",
	.fd_register = tick_fd_register,
	.fd_reregister = tick_fd_reregister,
	.fd_deregister = tick_fd_deregister,
	.wait = tick_wait,
	.deinit = tick_deinit,
};

/* Delivers exactly count READ events for the registration, in full batches. */
static void events_deliver(struct gale_reactor *reactor, struct tick_driver *driver,
			   uint64_t count)
{
	driver->events_left = count;
	while (driver->events_left > 0) {
		int taken = gale_reactor_turn(reactor, 0);
		assert_true(taken > 0);
	}
}

static void stale_clear_after_2_pow_32_events_keeps_newer_readiness(void **state)
{
	(void)state;
	struct tick_driver driver = {.base = {.ops = &tick_driver_ops}};
	struct gale_reactor reactor;
	assert_int_equal(gale_reactor_init(&reactor, &driver.base, NULL, 1, BATCH_LEN), 0);
	uint64_t token;
	assert_int_equal(gale_reactor_register(&reactor, FD, GALE_READY_READ, &token), 0);
	assert_int_equal(token, driver.token);

	/* Readiness observed at the first event. */
	events_deliver(&reactor, &driver, 1);
	struct gale_test_wake_log log = {0};
	struct gale_cx cx = {gale_test_waker(&log, 1)};
	struct gale_ready_event observed;
	assert_int_equal(gale_reactor_poll_ready(&reactor, token, GALE_DIRECTION_READ, &cx,
						 &observed), 0);
	assert_int_equal(observed.ready, GALE_READY_READ);
	assert_int_equal(observed.tick, 1);

	/* 2^32 newer events: a 32-bit tick would be back at the observed value now. */
	const uint64_t newer = UINT64_C(1) << 32;
	events_deliver(&reactor, &driver, newer);
	struct gale_reactor_stats stats = gale_reactor_stats_get(&reactor);
	assert_true(stats.events_count == newer + 1);
	assert_int_equal(stats.events_stale_count, 0);

	/* The stale clear must not erase what the newer events set. */
	gale_reactor_clear_ready(&reactor, token, observed);
	assert_int_equal(gale_reactor_ready_get(&reactor, token), GALE_READY_READ);

	/* A fresh observation carries the full count, and its clear does clear. */
	struct gale_ready_event fresh;
	assert_int_equal(gale_reactor_poll_ready(&reactor, token, GALE_DIRECTION_READ, &cx,
						 &fresh), 0);
	assert_true(fresh.tick == observed.tick + newer);
	assert_true((uint32_t)fresh.tick == (uint32_t)observed.tick); /* The 32-bit alias. */
	gale_reactor_clear_ready(&reactor, token, fresh);
	assert_int_equal(gale_reactor_ready_get(&reactor, token), 0);
	assert_int_equal(log.wakes_total, 0);

	assert_int_equal(gale_reactor_deregister(&reactor, token), 0);
	assert_int_equal(gale_reactor_deinit(&reactor), 0);
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stale_clear_after_2_pow_32_events_keeps_newer_readiness),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
