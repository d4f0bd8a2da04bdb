/* SPDX-License-Identifier: MIT */
/*
 * The reactor, driven entirely by the scripted driver: no kernel, no time.
 *
 * Methodology: each test queues the exact driver calls it expects (fd_register arguments
 * including the token, wait() batches of {token, ready}) and asserts exact results:
 * tokens (slot | generation << 32), readiness bits, ticks, which recording waker fired
 * and how often, stats counters. cmocka fails any test that leaves queued driver values
 * unconsumed or makes an unscripted driver call. The fixture's teardown proves the
 * reactor ends empty and that every allocation was returned (counting allocator).
 * Reproduce one test: ./test_io_reactor -t <test name>.
 */
#include <errno.h>
#include <stdlib.h>

#include <gale/error.h>
#include <gale/reactor.h>

#include "test_support.h"

#define REGISTRATIONS_MAX 4u
#define EVENTS_CAP 8

/* Tokens the reactor must hand out: slots are taken in index order, generations from 1. */
#define TOKEN(slot_index, generation) ((uint64_t)(generation) << 32 | (uint64_t)(slot_index))

#define READ GALE_READY_READ
#define WRITE GALE_READY_WRITE
#define RDHUP GALE_READY_RDHUP
#define HUP GALE_READY_HUP
#define ERROR GALE_READY_ERROR

struct fixture {
	struct gale_test_allocator allocator; /* Counts the reactor's allocations. */
	struct gale_script_driver driver;     /* Scripted: no kernel. */
	struct gale_reactor reactor;          /* Under test. */
	struct gale_test_wake_log log;        /* Which waker ids fired. */
};

static int fixture_setup(void **state)
{
	struct fixture *fixture = calloc(1, sizeof(*fixture));
	assert_non_null(fixture);
	gale_test_allocator_init(&fixture->allocator);
	gale_script_driver_init(&fixture->driver);
	assert_int_equal(gale_reactor_init(&fixture->reactor, &fixture->driver.base,
					   &fixture->allocator.base, REGISTRATIONS_MAX, EVENTS_CAP),
			 0);
	/* The event buffer, the chunk table, the foreign waker table and the first chunk of
	 * slots. */
	assert_int_equal(fixture->allocator.live_count, 4);
	*state = fixture;
	return 0;
}

static int fixture_teardown(void **state)
{
	struct fixture *fixture = *state;
	assert_int_equal(gale_reactor_registrations_count(&fixture->reactor), 0);
	assert_int_equal(gale_reactor_deinit(&fixture->reactor), 0);
	assert_int_equal(fixture->allocator.live_count, 0);
	assert_int_equal(fixture->allocator.live_bytes, 0);
	free(fixture);
	return 0;
}

/* Registers fd and asserts the exact token the driver was given and the caller got. */
static void register_expect(struct fixture *fixture, int fd, uint32_t interest,
			    uint64_t token_expected)
{
	uint64_t token = 0;
	gale_script_driver_expect_fd_register(fd, token_expected, interest, 0);
	assert_int_equal(gale_reactor_register(&fixture->reactor, fd, interest, &token), 0);
	assert_int_equal(token, token_expected);
	assert_true(gale_reactor_is_registered(&fixture->reactor, token));
}

static void deregister_expect(struct fixture *fixture, int fd, uint64_t token)
{
	gale_script_driver_expect_fd_deregister(fd, 0);
	assert_int_equal(gale_reactor_deregister(&fixture->reactor, token), 0);
	assert_false(gale_reactor_is_registered(&fixture->reactor, token));
}

/* One turn that takes exactly one event. */
static void turn_one(struct fixture *fixture, uint64_t token, uint32_t ready)
{
	struct gale_event event = {.token = token, .ready = ready};
	gale_script_driver_expect_wait(&event, 1);
	assert_int_equal(gale_reactor_turn(&fixture->reactor, 0), 1);
}

static int poll_dir(struct fixture *fixture, uint64_t token, enum gale_direction direction,
		    uint64_t waker_id, struct gale_ready_event *event_out)
{
	struct gale_cx cx = {.waker = gale_test_waker(&fixture->log, waker_id)};
	return gale_reactor_poll_ready(&fixture->reactor, token, direction, &cx, event_out);
}

static int poll_waiter(struct fixture *fixture, uint64_t token,
		       struct gale_ready_waiter *waiter, uint64_t waker_id,
		       struct gale_ready_event *event_out)
{
	struct gale_cx cx = {.waker = gale_test_waker(&fixture->log, waker_id)};
	return gale_reactor_poll_waiter(&fixture->reactor, token, waiter, &cx, event_out);
}

/* ---- init / deinit --------------------------------------------------------------------- */

static void init_rejects_zero_capacities(void **state)
{
	(void)state;
	struct gale_test_allocator allocator;
	struct gale_script_driver driver;
	struct gale_reactor reactor;
	gale_test_allocator_init(&allocator);
	gale_script_driver_init(&driver);
	assert_int_equal(gale_reactor_init(&reactor, &driver.base, &allocator.base, 0, 8),
			 -EINVAL);
	assert_int_equal(gale_reactor_init(&reactor, &driver.base, &allocator.base, 4, 0),
			 -EINVAL);
	assert_int_equal(gale_reactor_init(&reactor, &driver.base, &allocator.base, 4, -1),
			 -EINVAL);
	assert_int_equal(allocator.calls_count, 0);
	/* A failed init leaves a reactor that deinit accepts as empty. */
	assert_int_equal(gale_reactor_deinit(&reactor), 0);
}

static void init_nomem_frees_everything(void **state)
{
	(void)state;
	for (uint64_t fail_at = 1; fail_at <= 4; fail_at++) {
		struct gale_test_allocator allocator;
		struct gale_script_driver driver;
		struct gale_reactor reactor;
		gale_test_allocator_init(&allocator);
		allocator.fail_at = fail_at;
		gale_script_driver_init(&driver);
		assert_int_equal(gale_reactor_init(&reactor, &driver.base, &allocator.base, 4, 8),
				 -ENOMEM);
		assert_int_equal(allocator.calls_count, fail_at);
		assert_int_equal(allocator.alloc_count, fail_at - 1);
		assert_int_equal(allocator.live_count, 0);
		assert_int_equal(allocator.live_bytes, 0);
		assert_int_equal(gale_reactor_deinit(&reactor), 0);
	}
}

static void init_allocates_four_blocks_and_deinit_is_idempotent(void **state)
{
	(void)state;
	struct gale_test_allocator allocator;
	struct gale_script_driver driver;
	struct gale_reactor reactor;
	gale_test_allocator_init(&allocator);
	gale_script_driver_init(&driver);
	assert_int_equal(gale_reactor_init(&reactor, &driver.base, &allocator.base, 4, 8), 0);
	assert_int_equal(allocator.alloc_count, 4);
	assert_int_equal(allocator.live_count, 4);
	assert_ptr_equal(gale_reactor_driver(&reactor), &driver.base);
	assert_int_equal(gale_reactor_registrations_count(&reactor), 0);
	assert_false(gale_reactor_has_waiters(&reactor));
	struct gale_reactor_stats stats = gale_reactor_stats_get(&reactor);
	assert_int_equal(stats.events_count, 0);
	assert_int_equal(stats.events_stale_count, 0);
	assert_int_equal(stats.turns_count, 0);
	assert_int_equal(gale_reactor_deinit(&reactor), 0);
	assert_int_equal(allocator.live_count, 0);
	assert_int_equal(gale_reactor_deinit(&reactor), 0);
	assert_int_equal(allocator.live_count, 0);
	/* A zeroed reactor that never saw init is empty too. */
	struct gale_reactor zeroed = {0};
	assert_int_equal(gale_reactor_deinit(&zeroed), 0);
}

static void deinit_busy_until_deregistered(void **state)
{
	struct fixture *fixture = *state;
	register_expect(fixture, 10, READ, TOKEN(0, 1));
	assert_int_equal(gale_reactor_deinit(&fixture->reactor), -EBUSY);
	assert_int_equal(fixture->allocator.live_count, 4);
	/* Nothing was freed: the reactor still works. */
	assert_int_equal(gale_reactor_registrations_count(&fixture->reactor), 1);
	register_expect(fixture, 11, WRITE, TOKEN(1, 1));
	deregister_expect(fixture, 10, TOKEN(0, 1));
	assert_int_equal(gale_reactor_deinit(&fixture->reactor), -EBUSY);
	deregister_expect(fixture, 11, TOKEN(1, 1));
	/* The teardown's deinit now returns 0 and frees all four blocks. */
}

/* ---- register / deregister ------------------------------------------------------------- */

static void tokens_carry_generations(void **state)
{
	struct fixture *fixture = *state;
	register_expect(fixture, 10, READ, TOKEN(0, 1));
	register_expect(fixture, 11, READ | WRITE, TOKEN(1, 1));
	assert_int_equal(gale_reactor_registrations_count(&fixture->reactor), 2);
	deregister_expect(fixture, 10, TOKEN(0, 1));
	assert_int_equal(gale_reactor_registrations_count(&fixture->reactor), 1);
	/* The freed slot is reused first, under a new generation. */
	register_expect(fixture, 12, READ, TOKEN(0, 2));
	uint64_t stale = TOKEN(0, 1);
	struct gale_ready_event event = {0};
	struct gale_ready_waiter waiter;
	gale_ready_waiter_init(&waiter, READ);
	assert_false(gale_reactor_is_registered(&fixture->reactor, stale));
	assert_int_equal(poll_dir(fixture, stale, GALE_DIRECTION_READ, 1, &event), GALE_E_CLOSED);
	assert_int_equal(poll_waiter(fixture, stale, &waiter, 1, &event), GALE_E_CLOSED);
	assert_false(waiter.priv_linked);
	assert_int_equal(gale_reactor_deregister(&fixture->reactor, stale), GALE_E_CLOSED);
	assert_int_equal(gale_reactor_reregister(&fixture->reactor, stale, READ), GALE_E_CLOSED);
	/* The new registration's readiness is untouched by anything said with the old token. */
	turn_one(fixture, TOKEN(0, 2), READ);
	assert_int_equal(gale_reactor_ready_get(&fixture->reactor, TOKEN(0, 2)), READ);
	assert_int_equal(gale_reactor_ready_get(&fixture->reactor, stale), 0);
	gale_reactor_clear_ready(&fixture->reactor, stale,
				 (struct gale_ready_event){.ready = READ, .tick = 1});
	assert_int_equal(gale_reactor_ready_get(&fixture->reactor, TOKEN(0, 2)), READ);
	/* The very same clear with the live token does clear: only the token was wrong. */
	gale_reactor_clear_ready(&fixture->reactor, TOKEN(0, 2),
				 (struct gale_ready_event){.ready = READ, .tick = 1});
	assert_int_equal(gale_reactor_ready_get(&fixture->reactor, TOKEN(0, 2)), 0);
	assert_int_equal(fixture->log.wakes_total, 0);
	deregister_expect(fixture, 11, TOKEN(1, 1));
	deregister_expect(fixture, 12, TOKEN(0, 2));
}

static void register_without_interest_is_einval(void **state)
{
	struct fixture *fixture = *state;
	uint64_t token = 77;
	/* No fd_register is scripted: the driver must not be called. */
	assert_int_equal(gale_reactor_register(&fixture->reactor, 10, 0, &token), -EINVAL);
	assert_int_equal(token, 77);
	assert_int_equal(gale_reactor_registrations_count(&fixture->reactor), 0);
	register_expect(fixture, 10, WRITE, TOKEN(0, 1));
	deregister_expect(fixture, 10, TOKEN(0, 1));
}

/* Issue 13: interest bits other than READ/WRITE, a timeout below -1, a direction that
 * is neither READ nor WRITE and a waiter with no valid interest all asserted. They are
 * values: -EINVAL, and the driver is not called (nothing is scripted for it). */
static void bad_values_are_einval(void **state)
{
	struct fixture *fixture = *state;
	uint64_t token = 77;
	assert_int_equal(gale_reactor_register(&fixture->reactor, 10, READ | HUP, &token),
			 -EINVAL);
	assert_int_equal(gale_reactor_register(&fixture->reactor, 10, 1u << 9, &token), -EINVAL);
	assert_int_equal(token, 77);
	register_expect(fixture, 10, READ, TOKEN(0, 1));
	assert_int_equal(gale_reactor_reregister(&fixture->reactor, TOKEN(0, 1), 0), -EINVAL);
	assert_int_equal(gale_reactor_reregister(&fixture->reactor, TOKEN(0, 1), WRITE | ERROR),
			 -EINVAL);
	assert_int_equal(gale_reactor_turn(&fixture->reactor, -2), -EINVAL);
	assert_int_equal(fixture->driver.waits_count, 0);
	struct gale_ready_event event;
	assert_int_equal(poll_dir(fixture, TOKEN(0, 1), (enum gale_direction)7, 1, &event),
			 -EINVAL);
	struct gale_ready_waiter waiter;
	gale_ready_waiter_init(&waiter, 0);
	assert_int_equal(poll_waiter(fixture, TOKEN(0, 1), &waiter, 1, &event), -EINVAL);
	gale_ready_waiter_init(&waiter, READ | RDHUP);
	assert_int_equal(poll_waiter(fixture, TOKEN(0, 1), &waiter, 1, &event), -EINVAL);
	assert_false(gale_reactor_has_waiters(&fixture->reactor)); /* Nothing linked, stored. */
	gale_reactor_waiter_cancel(&fixture->reactor, &waiter);
	deregister_expect(fixture, 10, TOKEN(0, 1));
}

/* Issue 13: the driver wrappers asserted these values; every driver now gets the same
 * -EINVAL from the wrapper, before any op runs (none is scripted: a call fails the test). */
static void driver_wrappers_refuse_bad_values(void **state)
{
	struct fixture *fixture = *state;
	struct gale_driver *driver = &fixture->driver.base;
	struct gale_event events[2];
	char buf[4] = {0};
	assert_int_equal(gale_driver_wait(driver, events, 0, 0), -EINVAL);
	assert_int_equal(gale_driver_wait(driver, events, 2, -2), -EINVAL);
	assert_int_equal(fixture->driver.waits_count, 0);
	assert_int_equal(gale_driver_fd_register(driver, 3, 1, 0), -EINVAL);
	assert_int_equal(gale_driver_fd_register(driver, 3, 1, READ | HUP), -EINVAL);
	assert_int_equal(gale_driver_fd_reregister(driver, 3, 1, 1u << 7), -EINVAL);
	assert_int_equal(gale_driver_readv(driver, 3, NULL, -1), -EINVAL);
	assert_int_equal(gale_driver_writev(driver, 3, NULL, -1), -EINVAL);
	assert_int_equal(gale_driver_recv(driver, 3, buf, sizeof(buf), 2), -EINVAL);
	assert_int_equal(gale_driver_send(driver, 3, buf, sizeof(buf), GALE_RECV_PEEK), -EINVAL);
	assert_int_equal(gale_driver_shutdown(driver, 3, -1), -EINVAL);
	assert_int_equal(gale_driver_shutdown(driver, 3, GALE_SHUTDOWN_BOTH + 1), -EINVAL);
}

static void register_when_full_is_enospc(void **state)
{
	struct fixture *fixture = *state;
	for (uint32_t i = 0; i < REGISTRATIONS_MAX; i++)
		register_expect(fixture, 20 + (int)i, READ, TOKEN(i, 1));
	uint64_t token = 0;
	assert_int_equal(gale_reactor_register(&fixture->reactor, 30, READ, &token), -ENOSPC);
	assert_int_equal(gale_reactor_registrations_count(&fixture->reactor), REGISTRATIONS_MAX);
	deregister_expect(fixture, 22, TOKEN(2, 1));
	register_expect(fixture, 30, READ, TOKEN(2, 2));
	assert_int_equal(gale_reactor_register(&fixture->reactor, 31, READ, &token), -ENOSPC);
	deregister_expect(fixture, 20, TOKEN(0, 1));
	deregister_expect(fixture, 21, TOKEN(1, 1));
	deregister_expect(fixture, 30, TOKEN(2, 2));
	deregister_expect(fixture, 23, TOKEN(3, 1));
}

/* Wakers other than the runtime's task wakers are kept whole in a table beside the slots
 * that grows with them, copying only the entries in use: what was stored before growth
 * must still be woken after it (a waiter too, which lives in its slot). */
static void foreign_wakers_survive_growth(void **state)
{
	(void)state;
	enum { FDS = 600 };
	struct gale_test_allocator allocator;
	struct gale_script_driver driver;
	struct gale_reactor reactor;
	struct gale_test_wake_log log = {0};
	gale_test_allocator_init(&allocator);
	gale_script_driver_init(&driver);
	assert_int_equal(gale_reactor_init(&reactor, &driver.base, &allocator.base, 1000, 8), 0);
	uint64_t tokens[FDS];
	gale_script_driver_expect_fd_register(100, TOKEN(0, 1), READ | WRITE, 0);
	assert_int_equal(gale_reactor_register(&reactor, 100, READ | WRITE, &tokens[0]), 0);
	struct gale_ready_event event;
	struct gale_cx read_cx = {.waker = gale_test_waker(&log, 5)};
	struct gale_cx write_cx = {.waker = gale_test_waker(&log, 6)};
	assert_int_equal(gale_reactor_poll_ready(&reactor, tokens[0], GALE_DIRECTION_READ,
						 &read_cx, &event),
			 GALE_PENDING);
	assert_int_equal(gale_reactor_poll_ready(&reactor, tokens[0], GALE_DIRECTION_WRITE,
						 &write_cx, &event),
			 GALE_PENDING);
	struct gale_ready_waiter waiter;
	gale_ready_waiter_init(&waiter, READ);
	struct gale_cx waiter_cx = {.waker = gale_test_waker(&log, 7)};
	assert_int_equal(gale_reactor_poll_waiter(&reactor, tokens[0], &waiter, &waiter_cx,
						  &event),
			 GALE_PENDING);
	for (uint32_t i = 1; i < FDS; i++) {
		gale_script_driver_expect_fd_register(100 + (int)i, TOKEN(i, 1), READ, 0);
		assert_int_equal(gale_reactor_register(&reactor, 100 + (int)i, READ, &tokens[i]),
				 0);
	}
	assert_true(gale_reactor_has_waiters(&reactor));
	struct gale_event ready = {.token = tokens[0], .ready = READ};
	gale_script_driver_expect_wait(&ready, 1);
	assert_int_equal(gale_reactor_turn(&reactor, 0), 1);
	assert_int_equal(log.wake_counts[5], 1);
	assert_int_equal(log.wake_counts[6], 0);
	assert_int_equal(log.wake_counts[7], 1);
	/* Deregistering wakes the write waker still stored. */
	for (uint32_t i = 0; i < FDS; i++) {
		gale_script_driver_expect_fd_deregister(100 + (int)i, 0);
		assert_int_equal(gale_reactor_deregister(&reactor, tokens[i]), 0);
	}
	assert_int_equal(log.wake_counts[6], 1);
	assert_false(gale_reactor_has_waiters(&reactor));
	assert_int_equal(gale_reactor_deinit(&reactor), 0);
	assert_int_equal(allocator.live_count, 0);
	assert_int_equal(allocator.live_bytes, 0);
}

static void register_driver_errors_leave_slot_free(void **state)
{
	struct fixture *fixture = *state;
	const int errors[] = {-EBADF, -EEXIST, -EPERM, -ENOMEM};
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		uint64_t token = 99;
		gale_script_driver_expect_fd_register(10, TOKEN(0, 1), READ, errors[i]);
		assert_int_equal(gale_reactor_register(&fixture->reactor, 10, READ, &token),
				 errors[i]);
		assert_int_equal(token, 99);
		assert_int_equal(gale_reactor_registrations_count(&fixture->reactor), 0);
		assert_false(gale_reactor_is_registered(&fixture->reactor, TOKEN(0, 1)));
	}
	/* The slot was not consumed: same index, same generation. */
	register_expect(fixture, 10, READ, TOKEN(0, 1));
	assert_int_equal(gale_reactor_registrations_count(&fixture->reactor), 1);
	deregister_expect(fixture, 10, TOKEN(0, 1));
}

static void reregister_forwards_and_reports(void **state)
{
	struct fixture *fixture = *state;
	register_expect(fixture, 10, READ, TOKEN(0, 1));
	gale_script_driver_expect_fd_reregister(10, TOKEN(0, 1), READ | WRITE, 0);
	assert_int_equal(gale_reactor_reregister(&fixture->reactor, TOKEN(0, 1), READ | WRITE), 0);
	gale_script_driver_expect_fd_reregister(10, TOKEN(0, 1), WRITE, -ENOENT);
	assert_int_equal(gale_reactor_reregister(&fixture->reactor, TOKEN(0, 1), WRITE), -ENOENT);
	assert_int_equal(gale_reactor_reregister(&fixture->reactor, TOKEN(0, 1), 0), -EINVAL);
	assert_true(gale_reactor_is_registered(&fixture->reactor, TOKEN(0, 1)));
	deregister_expect(fixture, 10, TOKEN(0, 1));
}

static void deregister_driver_error_still_drops(void **state)
{
	struct fixture *fixture = *state;
	register_expect(fixture, 10, READ, TOKEN(0, 1));
	struct gale_ready_event event = {0};
	assert_int_equal(poll_dir(fixture, TOKEN(0, 1), GALE_DIRECTION_READ, 1, &event),
			 GALE_PENDING);
	gale_script_driver_expect_fd_deregister(10, -EBADF);
	assert_int_equal(gale_reactor_deregister(&fixture->reactor, TOKEN(0, 1)), -EBADF);
	assert_int_equal(gale_reactor_registrations_count(&fixture->reactor), 0);
	assert_false(gale_reactor_is_registered(&fixture->reactor, TOKEN(0, 1)));
	assert_int_equal(fixture->log.wake_counts[1], 1);
	register_expect(fixture, 10, READ, TOKEN(0, 2));
	deregister_expect(fixture, 10, TOKEN(0, 2));
}

/* ---- turn and readiness ---------------------------------------------------------------- */

static void events_set_readiness_per_direction(void **state)
{
	struct fixture *fixture = *state;
	struct gale_ready_event event = {0};
	register_expect(fixture, 10, READ | WRITE, TOKEN(0, 1));
	assert_int_equal(gale_reactor_ready_get(&fixture->reactor, TOKEN(0, 1)), 0);
	turn_one(fixture, TOKEN(0, 1), READ);
	assert_int_equal(fixture->driver.last_timeout_ns, 0);
	assert_int_equal(gale_reactor_ready_get(&fixture->reactor, TOKEN(0, 1)), READ);
	assert_int_equal(poll_dir(fixture, TOKEN(0, 1), GALE_DIRECTION_READ, 1, &event), 0);
	assert_int_equal(event.ready, READ);
	assert_int_equal(event.tick, 1);
	assert_int_equal(poll_dir(fixture, TOKEN(0, 1), GALE_DIRECTION_WRITE, 2, &event),
			 GALE_PENDING);
	/* Two events in one batch, and a timeout passed through unchanged. */
	struct gale_event events[2] = {{TOKEN(0, 1), WRITE}, {TOKEN(0, 1), READ}};
	gale_script_driver_expect_wait(events, 2);
	assert_int_equal(gale_reactor_turn(&fixture->reactor, 5000000), 2);
	assert_int_equal(fixture->driver.last_timeout_ns, 5000000);
	assert_int_equal(fixture->driver.waits_count, 2);
	assert_int_equal(gale_reactor_ready_get(&fixture->reactor, TOKEN(0, 1)), READ | WRITE);
	assert_int_equal(poll_dir(fixture, TOKEN(0, 1), GALE_DIRECTION_WRITE, 2, &event), 0);
	assert_int_equal(event.ready, WRITE);
	assert_int_equal(event.tick, 3);
	assert_int_equal(fixture->log.wake_counts[2], 1);
	assert_int_equal(fixture->log.wakes_total, 1);
	struct gale_reactor_stats stats = gale_reactor_stats_get(&fixture->reactor);
	assert_int_equal(stats.turns_count, 2);
	assert_int_equal(stats.events_count, 3);
	assert_int_equal(stats.events_stale_count, 0);
	deregister_expect(fixture, 10, TOKEN(0, 1));
}

static void turn_returns_wait_errors_and_empty_batches(void **state)
{
	struct fixture *fixture = *state;
	gale_script_driver_expect_wait(NULL, -EINVAL);
	assert_int_equal(gale_reactor_turn(&fixture->reactor, -1), -EINVAL);
	assert_int_equal(fixture->driver.last_timeout_ns, -1);
	gale_script_driver_expect_wait(NULL, GALE_E_STALL);
	assert_int_equal(gale_reactor_turn(&fixture->reactor, -1), GALE_E_STALL);
	gale_script_driver_expect_wait(NULL, 0);
	assert_int_equal(gale_reactor_turn(&fixture->reactor, 0), 0);
	struct gale_reactor_stats stats = gale_reactor_stats_get(&fixture->reactor);
	assert_int_equal(stats.turns_count, 3);
	assert_int_equal(stats.events_count, 0);
	assert_int_equal(fixture->driver.waits_count, 3);
}

static void clear_ready_respects_tick(void **state)
{
	struct fixture *fixture = *state;
	struct gale_ready_event observed = {0};
	struct gale_ready_event event = {0};
	register_expect(fixture, 10, READ, TOKEN(0, 1));
	turn_one(fixture, TOKEN(0, 1), READ);
	assert_int_equal(poll_dir(fixture, TOKEN(0, 1), GALE_DIRECTION_READ, 1, &observed), 0);
	assert_int_equal(observed.ready, READ);
	assert_int_equal(observed.tick, 1);
	/* A new edge arrives between the observation and the -EAGAIN that would clear it. */
	turn_one(fixture, TOKEN(0, 1), READ);
	gale_reactor_clear_ready(&fixture->reactor, TOKEN(0, 1), observed);
	assert_int_equal(gale_reactor_ready_get(&fixture->reactor, TOKEN(0, 1)), READ);
	assert_int_equal(poll_dir(fixture, TOKEN(0, 1), GALE_DIRECTION_READ, 1, &event), 0);
	assert_int_equal(event.ready, READ);
	assert_int_equal(event.tick, 2);
	/* Observed at the current tick: the clear takes effect and the next poll waits. */
	gale_reactor_clear_ready(&fixture->reactor, TOKEN(0, 1), event);
	assert_int_equal(gale_reactor_ready_get(&fixture->reactor, TOKEN(0, 1)), 0);
	assert_int_equal(poll_dir(fixture, TOKEN(0, 1), GALE_DIRECTION_READ, 1, &event),
			 GALE_PENDING);
	assert_int_equal(fixture->log.wakes_total, 0);
	deregister_expect(fixture, 10, TOKEN(0, 1));
	assert_int_equal(fixture->log.wake_counts[1], 1);
}

static void clear_ready_clears_only_its_direction(void **state)
{
	struct fixture *fixture = *state;
	struct gale_ready_event event = {0};
	register_expect(fixture, 10, READ | WRITE, TOKEN(0, 1));
	turn_one(fixture, TOKEN(0, 1), READ | WRITE);
	assert_int_equal(poll_dir(fixture, TOKEN(0, 1), GALE_DIRECTION_WRITE, 1, &event), 0);
	assert_int_equal(event.ready, WRITE);
	gale_reactor_clear_ready(&fixture->reactor, TOKEN(0, 1), event);
	assert_int_equal(gale_reactor_ready_get(&fixture->reactor, TOKEN(0, 1)), READ);
	deregister_expect(fixture, 10, TOKEN(0, 1));
}

static void clear_ready_never_clears_final_bits(void **state)
{
	struct fixture *fixture = *state;
	struct gale_ready_event event = {0};
	register_expect(fixture, 10, READ | WRITE, TOKEN(0, 1));
	turn_one(fixture, TOKEN(0, 1), RDHUP);
	/* RDHUP implies READ: the reader must try and see the end of stream. */
	assert_int_equal(gale_reactor_ready_get(&fixture->reactor, TOKEN(0, 1)), READ | RDHUP);
	assert_int_equal(poll_dir(fixture, TOKEN(0, 1), GALE_DIRECTION_READ, 1, &event), 0);
	assert_int_equal(event.ready, READ | RDHUP);
	gale_reactor_clear_ready(&fixture->reactor, TOKEN(0, 1), event);
	assert_int_equal(gale_reactor_ready_get(&fixture->reactor, TOKEN(0, 1)), RDHUP);
	assert_int_equal(poll_dir(fixture, TOKEN(0, 1), GALE_DIRECTION_READ, 1, &event), 0);
	assert_int_equal(event.ready, RDHUP);
	assert_int_equal(poll_dir(fixture, TOKEN(0, 1), GALE_DIRECTION_WRITE, 2, &event),
			 GALE_PENDING);
	turn_one(fixture, TOKEN(0, 1), HUP);
	assert_int_equal(gale_reactor_ready_get(&fixture->reactor, TOKEN(0, 1)),
			 READ | WRITE | RDHUP | HUP);
	turn_one(fixture, TOKEN(0, 1), ERROR);
	gale_reactor_clear_ready(&fixture->reactor, TOKEN(0, 1),
				 (struct gale_ready_event){.ready = READ | WRITE | RDHUP | HUP |
								   ERROR,
							   .tick = 3});
	assert_int_equal(gale_reactor_ready_get(&fixture->reactor, TOKEN(0, 1)),
			 RDHUP | HUP | ERROR);
	assert_int_equal(poll_dir(fixture, TOKEN(0, 1), GALE_DIRECTION_WRITE, 2, &event), 0);
	assert_int_equal(event.ready, HUP | ERROR);
	assert_int_equal(event.tick, 3);
	assert_int_equal(poll_dir(fixture, TOKEN(0, 1), GALE_DIRECTION_READ, 1, &event), 0);
	assert_int_equal(event.ready, RDHUP | HUP | ERROR);
	deregister_expect(fixture, 10, TOKEN(0, 1));
}

/* ---- wakers and waiters ---------------------------------------------------------------- */

static void poll_ready_keeps_one_waker_per_direction(void **state)
{
	struct fixture *fixture = *state;
	struct gale_ready_event event = {0};
	register_expect(fixture, 10, READ | WRITE, TOKEN(0, 1));
	assert_int_equal(poll_dir(fixture, TOKEN(0, 1), GALE_DIRECTION_READ, 1, &event),
			 GALE_PENDING);
	assert_int_equal(poll_dir(fixture, TOKEN(0, 1), GALE_DIRECTION_READ, 2, &event),
			 GALE_PENDING);
	assert_int_equal(poll_dir(fixture, TOKEN(0, 1), GALE_DIRECTION_WRITE, 3, &event),
			 GALE_PENDING);
	turn_one(fixture, TOKEN(0, 1), READ);
	assert_int_equal(fixture->log.wake_counts[1], 0);
	assert_int_equal(fixture->log.wake_counts[2], 1);
	assert_int_equal(fixture->log.wake_counts[3], 0);
	assert_int_equal(fixture->log.wakes_total, 1);
	/* The read waker was consumed; another READ edge wakes nobody. */
	turn_one(fixture, TOKEN(0, 1), READ);
	assert_int_equal(fixture->log.wakes_total, 1);
	turn_one(fixture, TOKEN(0, 1), WRITE);
	assert_int_equal(fixture->log.wake_counts[3], 1);
	assert_int_equal(fixture->log.wake_counts[2], 1);
	assert_int_equal(fixture->log.wakes_total, 2);
	deregister_expect(fixture, 10, TOKEN(0, 1));
	assert_int_equal(fixture->log.wakes_total, 2);
}

static void waiters_wake_by_interest(void **state)
{
	struct fixture *fixture = *state;
	struct gale_ready_event event = {0};
	struct gale_ready_waiter waiters[3];
	gale_ready_waiter_init(&waiters[0], READ);
	gale_ready_waiter_init(&waiters[1], READ);
	gale_ready_waiter_init(&waiters[2], WRITE);
	register_expect(fixture, 10, READ | WRITE, TOKEN(0, 1));
	for (int i = 0; i < 3; i++) {
		assert_int_equal(poll_waiter(fixture, TOKEN(0, 1), &waiters[i], 1 + (uint64_t)i,
					     &event),
				 GALE_PENDING);
		assert_true(waiters[i].priv_linked);
	}
	turn_one(fixture, TOKEN(0, 1), READ);
	assert_int_equal(fixture->log.wake_counts[1], 1);
	assert_int_equal(fixture->log.wake_counts[2], 1);
	assert_int_equal(fixture->log.wake_counts[3], 0);
	assert_int_equal(fixture->log.wakes_total, 2);
	assert_false(waiters[0].priv_linked);
	assert_false(waiters[1].priv_linked);
	assert_true(waiters[2].priv_linked);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(poll_waiter(fixture, TOKEN(0, 1), &waiters[i], 1 + (uint64_t)i,
					     &event),
				 0);
		assert_int_equal(event.ready, READ);
		assert_int_equal(event.tick, 1);
		assert_false(waiters[i].priv_linked);
	}
	/* The WRITE waiter re-polls: still pending, still linked once. */
	assert_int_equal(poll_waiter(fixture, TOKEN(0, 1), &waiters[2], 3, &event), GALE_PENDING);
	turn_one(fixture, TOKEN(0, 1), READ);
	assert_int_equal(fixture->log.wakes_total, 2);
	turn_one(fixture, TOKEN(0, 1), WRITE);
	assert_int_equal(fixture->log.wake_counts[3], 1);
	assert_int_equal(fixture->log.wakes_total, 3);
	assert_false(waiters[2].priv_linked);
	assert_int_equal(poll_waiter(fixture, TOKEN(0, 1), &waiters[2], 3, &event), 0);
	assert_int_equal(event.ready, WRITE);
	assert_int_equal(event.tick, 3);
	assert_false(gale_reactor_has_waiters(&fixture->reactor));
	deregister_expect(fixture, 10, TOKEN(0, 1));
	assert_int_equal(fixture->log.wakes_total, 3);
}

static void waiter_ready_at_once_is_not_linked(void **state)
{
	struct fixture *fixture = *state;
	struct gale_ready_event event = {0};
	struct gale_ready_waiter both;
	gale_ready_waiter_init(&both, READ | WRITE);
	register_expect(fixture, 10, READ | WRITE, TOKEN(0, 1));
	turn_one(fixture, TOKEN(0, 1), WRITE);
	assert_int_equal(poll_waiter(fixture, TOKEN(0, 1), &both, 1, &event), 0);
	assert_int_equal(event.ready, WRITE);
	assert_int_equal(event.tick, 1);
	assert_false(both.priv_linked);
	assert_false(gale_reactor_has_waiters(&fixture->reactor));
	gale_reactor_clear_ready(&fixture->reactor, TOKEN(0, 1), event);
	/* A READ|WRITE waiter is woken by either direction: here READ. */
	assert_int_equal(poll_waiter(fixture, TOKEN(0, 1), &both, 1, &event), GALE_PENDING);
	turn_one(fixture, TOKEN(0, 1), READ);
	assert_int_equal(fixture->log.wake_counts[1], 1);
	assert_int_equal(poll_waiter(fixture, TOKEN(0, 1), &both, 1, &event), 0);
	assert_int_equal(event.ready, READ);
	assert_int_equal(event.tick, 2);
	deregister_expect(fixture, 10, TOKEN(0, 1));
}

static void waiter_cancel_unlinks(void **state)
{
	struct fixture *fixture = *state;
	struct gale_ready_event event = {0};
	struct gale_ready_waiter waiters[3];
	for (int i = 0; i < 3; i++)
		gale_ready_waiter_init(&waiters[i], READ);
	/* Cancelling a waiter that was never linked is harmless. */
	gale_reactor_waiter_cancel(&fixture->reactor, &waiters[0]);
	register_expect(fixture, 10, READ, TOKEN(0, 1));
	for (int i = 0; i < 3; i++)
		assert_int_equal(poll_waiter(fixture, TOKEN(0, 1), &waiters[i], 1 + (uint64_t)i,
					     &event),
				 GALE_PENDING);
	/* Cancel the middle one and the head one (the list is walked both ways). */
	gale_reactor_waiter_cancel(&fixture->reactor, &waiters[1]);
	gale_reactor_waiter_cancel(&fixture->reactor, &waiters[2]);
	gale_reactor_waiter_cancel(&fixture->reactor, &waiters[2]);
	assert_false(waiters[1].priv_linked);
	assert_false(waiters[2].priv_linked);
	assert_true(gale_reactor_has_waiters(&fixture->reactor));
	turn_one(fixture, TOKEN(0, 1), READ);
	assert_int_equal(fixture->log.wake_counts[1], 1);
	assert_int_equal(fixture->log.wake_counts[2], 0);
	assert_int_equal(fixture->log.wake_counts[3], 0);
	assert_int_equal(fixture->log.wakes_total, 1);
	assert_false(gale_reactor_has_waiters(&fixture->reactor));
	deregister_expect(fixture, 10, TOKEN(0, 1));
	assert_int_equal(fixture->log.wakes_total, 1);
}

/* Read and write wakers (ids 1, 2) and READ and WRITE waiters (ids 3, 4), all pending. */
static void park_all(struct fixture *fixture, uint64_t token, struct gale_ready_waiter *reader,
		     struct gale_ready_waiter *writer)
{
	struct gale_ready_event event = {0};
	gale_ready_waiter_init(reader, READ);
	gale_ready_waiter_init(writer, WRITE);
	assert_int_equal(poll_dir(fixture, token, GALE_DIRECTION_READ, 1, &event), GALE_PENDING);
	assert_int_equal(poll_dir(fixture, token, GALE_DIRECTION_WRITE, 2, &event), GALE_PENDING);
	assert_int_equal(poll_waiter(fixture, token, reader, 3, &event), GALE_PENDING);
	assert_int_equal(poll_waiter(fixture, token, writer, 4, &event), GALE_PENDING);
	assert_true(gale_reactor_has_waiters(&fixture->reactor));
}

static void hup_and_error_wake_both_directions(void **state)
{
	struct fixture *fixture = *state;
	const uint32_t finals[2] = {HUP, ERROR};
	struct gale_ready_waiter reader;
	struct gale_ready_waiter writer;
	for (uint32_t round = 0; round < 2; round++) {
		uint64_t token = TOKEN(0, 1 + round);
		struct gale_ready_event event = {0};
		fixture->log = (struct gale_test_wake_log){0};
		register_expect(fixture, 10, READ | WRITE, token);
		park_all(fixture, token, &reader, &writer);
		turn_one(fixture, token, finals[round]);
		for (int id = 1; id <= 4; id++)
			assert_int_equal(fixture->log.wake_counts[id], 1);
		assert_int_equal(fixture->log.wakes_total, 4);
		assert_false(reader.priv_linked);
		assert_false(writer.priv_linked);
		assert_false(gale_reactor_has_waiters(&fixture->reactor));
		assert_int_equal(poll_waiter(fixture, token, &reader, 3, &event), 0);
		assert_int_equal(event.ready, READ | finals[round]);
		assert_int_equal(poll_waiter(fixture, token, &writer, 4, &event), 0);
		assert_int_equal(event.ready, WRITE | finals[round]);
		deregister_expect(fixture, 10, token);
		assert_int_equal(fixture->log.wakes_total, 4);
	}
}

static void rdhup_wakes_read_side_only(void **state)
{
	struct fixture *fixture = *state;
	struct gale_ready_event event = {0};
	struct gale_ready_waiter reader;
	struct gale_ready_waiter writer;
	register_expect(fixture, 10, READ | WRITE, TOKEN(0, 1));
	park_all(fixture, TOKEN(0, 1), &reader, &writer);
	turn_one(fixture, TOKEN(0, 1), RDHUP);
	assert_int_equal(fixture->log.wake_counts[1], 1);
	assert_int_equal(fixture->log.wake_counts[2], 0);
	assert_int_equal(fixture->log.wake_counts[3], 1);
	assert_int_equal(fixture->log.wake_counts[4], 0);
	assert_int_equal(fixture->log.wakes_total, 2);
	assert_false(reader.priv_linked);
	assert_true(writer.priv_linked);
	assert_int_equal(poll_dir(fixture, TOKEN(0, 1), GALE_DIRECTION_WRITE, 2, &event),
			 GALE_PENDING);
	gale_reactor_waiter_cancel(&fixture->reactor, &writer);
	deregister_expect(fixture, 10, TOKEN(0, 1));
	/* Deregister wakes the write waker still stored; the cancelled waiter stays quiet. */
	assert_int_equal(fixture->log.wake_counts[2], 1);
	assert_int_equal(fixture->log.wake_counts[4], 0);
	assert_int_equal(fixture->log.wakes_total, 3);
}

static void stale_events_are_dropped_and_counted(void **state)
{
	struct fixture *fixture = *state;
	struct gale_ready_waiter reader;
	struct gale_ready_waiter writer;
	register_expect(fixture, 10, READ | WRITE, TOKEN(0, 1));
	deregister_expect(fixture, 10, TOKEN(0, 1));
	register_expect(fixture, 11, READ | WRITE, TOKEN(0, 2));
	park_all(fixture, TOKEN(0, 2), &reader, &writer);
	struct gale_event events[5] = {
		{TOKEN(0, 1), READ | WRITE | HUP},            /* Old generation of slot 0. */
		{TOKEN(2, 1), READ | WRITE},                  /* Slot never registered. */
		{TOKEN(REGISTRATIONS_MAX, 1), READ},          /* Index beyond the slab. */
		{TOKEN(0xffffffffu, 2), ERROR},               /* Far beyond the slab. */
		{0, READ},                                    /* Generation 0 is never issued. */
	};
	gale_script_driver_expect_wait(events, 5);
	assert_int_equal(gale_reactor_turn(&fixture->reactor, 0), 5);
	struct gale_reactor_stats stats = gale_reactor_stats_get(&fixture->reactor);
	assert_int_equal(stats.events_count, 5);
	assert_int_equal(stats.events_stale_count, 5);
	assert_int_equal(fixture->log.wakes_total, 0);
	assert_int_equal(gale_reactor_ready_get(&fixture->reactor, TOKEN(0, 2)), 0);
	assert_true(reader.priv_linked);
	assert_true(writer.priv_linked);
	/* A live event in the same kind of batch is not dropped. */
	turn_one(fixture, TOKEN(0, 2), READ);
	stats = gale_reactor_stats_get(&fixture->reactor);
	assert_int_equal(stats.events_count, 6);
	assert_int_equal(stats.events_stale_count, 5);
	assert_int_equal(fixture->log.wakes_total, 2);
	deregister_expect(fixture, 11, TOKEN(0, 2));
	assert_int_equal(fixture->log.wakes_total, 4);
}

static void deregister_wakes_everyone(void **state)
{
	struct fixture *fixture = *state;
	struct gale_ready_event event = {0};
	struct gale_ready_waiter reader;
	struct gale_ready_waiter writer;
	struct gale_ready_waiter other;
	register_expect(fixture, 10, READ | WRITE, TOKEN(0, 1));
	register_expect(fixture, 11, READ, TOKEN(1, 1));
	park_all(fixture, TOKEN(0, 1), &reader, &writer);
	gale_ready_waiter_init(&other, READ);
	assert_int_equal(poll_waiter(fixture, TOKEN(1, 1), &other, 5, &event), GALE_PENDING);
	deregister_expect(fixture, 10, TOKEN(0, 1));
	for (int id = 1; id <= 4; id++)
		assert_int_equal(fixture->log.wake_counts[id], 1);
	assert_int_equal(fixture->log.wake_counts[5], 0);
	assert_int_equal(fixture->log.wakes_total, 4);
	assert_false(reader.priv_linked);
	assert_false(writer.priv_linked);
	assert_true(other.priv_linked);
	/* Woken tasks poll again and learn the registration is gone. */
	assert_int_equal(poll_dir(fixture, TOKEN(0, 1), GALE_DIRECTION_READ, 1, &event),
			 GALE_E_CLOSED);
	assert_int_equal(poll_dir(fixture, TOKEN(0, 1), GALE_DIRECTION_WRITE, 2, &event),
			 GALE_E_CLOSED);
	assert_int_equal(poll_waiter(fixture, TOKEN(0, 1), &reader, 3, &event), GALE_E_CLOSED);
	assert_int_equal(poll_waiter(fixture, TOKEN(0, 1), &writer, 4, &event), GALE_E_CLOSED);
	gale_reactor_waiter_cancel(&fixture->reactor, &reader);
	assert_true(gale_reactor_has_waiters(&fixture->reactor));
	deregister_expect(fixture, 11, TOKEN(1, 1));
	assert_int_equal(fixture->log.wake_counts[5], 1);
	assert_false(other.priv_linked);
	assert_false(gale_reactor_has_waiters(&fixture->reactor));
	assert_int_equal(fixture->log.wakes_total, 5);
}

static void has_waiters_tracks_wakers_and_waiters(void **state)
{
	struct fixture *fixture = *state;
	struct gale_ready_event event = {0};
	struct gale_ready_waiter waiter;
	gale_ready_waiter_init(&waiter, WRITE);
	assert_false(gale_reactor_has_waiters(&fixture->reactor));
	register_expect(fixture, 10, READ | WRITE, TOKEN(0, 1));
	assert_false(gale_reactor_has_waiters(&fixture->reactor));
	assert_int_equal(poll_dir(fixture, TOKEN(0, 1), GALE_DIRECTION_READ, 1, &event),
			 GALE_PENDING);
	assert_true(gale_reactor_has_waiters(&fixture->reactor));
	turn_one(fixture, TOKEN(0, 1), READ);
	assert_false(gale_reactor_has_waiters(&fixture->reactor));
	assert_int_equal(poll_waiter(fixture, TOKEN(0, 1), &waiter, 2, &event), GALE_PENDING);
	assert_true(gale_reactor_has_waiters(&fixture->reactor));
	gale_reactor_waiter_cancel(&fixture->reactor, &waiter);
	assert_false(gale_reactor_has_waiters(&fixture->reactor));
	assert_int_equal(poll_dir(fixture, TOKEN(0, 1), GALE_DIRECTION_WRITE, 3, &event),
			 GALE_PENDING);
	assert_true(gale_reactor_has_waiters(&fixture->reactor));
	deregister_expect(fixture, 10, TOKEN(0, 1));
	assert_false(gale_reactor_has_waiters(&fixture->reactor));
	assert_int_equal(fixture->log.wake_counts[1], 1);
	assert_int_equal(fixture->log.wake_counts[2], 0);
	assert_int_equal(fixture->log.wake_counts[3], 1);
	assert_int_equal(fixture->log.wakes_total, 2);
}

/* ---- the scripted driver itself ------------------------------------------------------- */

static void script_driver_clock_and_optional_ops(void **state)
{
	struct fixture *fixture = *state;
	struct gale_driver *driver = gale_reactor_driver(&fixture->reactor);
	assert_ptr_equal(driver, &fixture->driver.base);
	assert_string_equal(gale_driver_name(driver), "script");
	fixture->driver.now_ns = 123456789;
	assert_int_equal(gale_driver_now_ns(driver), 123456789);
	assert_int_equal(gale_driver_wake(driver), -ENOTSUP);
	assert_int_equal(fixture->driver.waits_count, 0);
}

#define FIXTURE_TEST(name) cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(init_rejects_zero_capacities),
		cmocka_unit_test(init_nomem_frees_everything),
		cmocka_unit_test(init_allocates_four_blocks_and_deinit_is_idempotent),
		cmocka_unit_test(foreign_wakers_survive_growth),
		FIXTURE_TEST(deinit_busy_until_deregistered),
		FIXTURE_TEST(tokens_carry_generations),
		FIXTURE_TEST(register_without_interest_is_einval),
		FIXTURE_TEST(bad_values_are_einval),
		FIXTURE_TEST(driver_wrappers_refuse_bad_values),
		FIXTURE_TEST(register_when_full_is_enospc),
		FIXTURE_TEST(register_driver_errors_leave_slot_free),
		FIXTURE_TEST(reregister_forwards_and_reports),
		FIXTURE_TEST(deregister_driver_error_still_drops),
		FIXTURE_TEST(events_set_readiness_per_direction),
		FIXTURE_TEST(turn_returns_wait_errors_and_empty_batches),
		FIXTURE_TEST(clear_ready_respects_tick),
		FIXTURE_TEST(clear_ready_clears_only_its_direction),
		FIXTURE_TEST(clear_ready_never_clears_final_bits),
		FIXTURE_TEST(poll_ready_keeps_one_waker_per_direction),
		FIXTURE_TEST(waiters_wake_by_interest),
		FIXTURE_TEST(waiter_ready_at_once_is_not_linked),
		FIXTURE_TEST(waiter_cancel_unlinks),
		FIXTURE_TEST(hup_and_error_wake_both_directions),
		FIXTURE_TEST(rdhup_wakes_read_side_only),
		FIXTURE_TEST(stale_events_are_dropped_and_counted),
		FIXTURE_TEST(deregister_wakes_everyone),
		FIXTURE_TEST(has_waiters_tracks_wakers_and_waiters),
		FIXTURE_TEST(script_driver_clock_and_optional_ops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
