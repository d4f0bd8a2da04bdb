/* SPDX-License-Identifier: MIT */
/*
 * The one I/O attempt behind every AsyncFd entry point, on the kernel (the native driver,
 * an AF_UNIX socketpair): the async_io future (waiting through a waiter) and a guard's
 * try_io reach the same attempt as gale_async_fd_poll_io (test_os_async_fd.c), so each
 * must keep its rules: a short count keeps readiness, -EAGAIN clears it unless an event
 * arrived since the observation (the tick rule), and with final readiness (hang-up) a call
 * that keeps answering -EAGAIN is tried exactly twice before the future yields. And the
 * AsyncFd's AsyncRead (gale_async_fd_reader), TcpStream's reader, on the same attempt.
 */
#include <errno.h>
#include <stdlib.h>

#include <gale/async_fd.h>
#include <gale/async_io.h>
#include <gale/driver_native.h>
#include <gale/error.h>
#include <gale/rt.h>

#include "test_support.h"

struct pair {
	struct gale_driver_native driver; /* The real driver. */
	struct gale_runtime runtime;      /* Its reactor is turned by hand (no task runs). */
	int peer_fd;                      /* The socketpair's other end; -1 once closed. */
	struct gale_async_fd async_fd;    /* Wraps the first end. */
	struct gale_test_wake_log log;    /* Wakes seen. */
	char buf[64];                     /* Read target of the callbacks below. */
	int calls;                        /* Calls of would_block(). */
};

static int pair_setup(void **state)
{
	struct pair *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	int fds[2];
	assert_int_equal(gale_driver_native_init(&p->driver), 0);
	assert_int_equal(gale_runtime_init(&p->runtime, &p->driver.base, NULL), 0);
	assert_int_equal(gale_driver_socketpair(&p->driver.base, fds), 0);
	assert_int_equal(gale_async_fd_init(&p->async_fd, &p->runtime, fds[0]), 0);
	p->peer_fd = fds[1];
	*state = p;
	return 0;
}

static int pair_teardown(void **state)
{
	struct pair *p = *state;
	if (gale_async_fd_fd(&p->async_fd) >= 0)
		assert_int_equal(gale_async_fd_close(&p->async_fd), 0);
	if (p->peer_fd >= 0)
		assert_int_equal(gale_driver_close(&p->driver.base, p->peer_fd), 0);
	assert_int_equal(gale_runtime_deinit(&p->runtime), 0);
	gale_driver_deinit(&p->driver.base);
	free(p);
	return 0;
}

/* One reactor turn that does not wait. */
static void pair_turn(struct pair *p)
{
	assert_true(gale_reactor_turn(&p->runtime.reactor, 0) >= 0);
}

static void pair_send(struct pair *p, const char *bytes, size_t len)
{
	assert_int_equal(gale_driver_write(&p->driver.base, p->peer_fd, bytes, len),
			 (ssize_t)len);
}

static uint32_t pair_ready(const struct pair *p)
{
	return gale_reactor_ready_get(&p->runtime.reactor, p->async_fd.priv_token);
}

static ssize_t read_two(void *data, struct gale_driver *driver, int fd)
{
	struct pair *p = data;
	return gale_driver_read(driver, fd, p->buf, 2);
}

static ssize_t read_all(void *data, struct gale_driver *driver, int fd)
{
	struct pair *p = data;
	return gale_driver_read(driver, fd, p->buf, sizeof(p->buf));
}

/* Always -EAGAIN, as a fault-injecting driver may answer; counts its calls. */
static ssize_t would_block(void *data, struct gale_driver *driver, int fd)
{
	(void)driver;
	(void)fd;
	struct pair *p = data;
	p->calls++;
	return -EAGAIN;
}

/* Polls a fresh async_io future for READ with io once; deinit'd before returning. */
static int io_future_poll(struct pair *p, gale_async_fd_io_fn *io, struct gale_cx *cx,
			  ssize_t *result_out)
{
	struct gale_async_fd_io future;
	gale_async_fd_io_init(&future, &p->async_fd, GALE_READY_READ, io, p);
	*result_out = 12345;
	int rc = gale_async_fd_io_poll(&future, cx);
	if (rc == 0)
		*result_out = future.result;
	gale_async_fd_io_deinit(&future);
	return rc;
}

/* The future's attempt: short counts keep readiness, -EAGAIN clears it and leaves the
 * future waiting for a new edge, which wakes it. */
static void io_future_clears_only_on_would_block(void **state)
{
	struct pair *p = *state;
	struct gale_cx cx = {gale_test_waker(&p->log, 3)};
	struct gale_async_fd_io future;
	gale_async_fd_io_init(&future, &p->async_fd, GALE_READY_READ, read_all, p);
	assert_int_equal(gale_async_fd_io_poll(&future, &cx), GALE_PENDING);
	assert_true(gale_reactor_has_waiters(&p->runtime.reactor));
	pair_send(p, "hello", 5);
	pair_turn(p);
	assert_int_equal(p->log.wake_counts[3], 1);
	assert_false(gale_reactor_has_waiters(&p->runtime.reactor));
	gale_async_fd_io_deinit(&future);
	ssize_t result = 0;
	assert_int_equal(io_future_poll(p, read_two, &cx, &result), 0);
	assert_int_equal(result, 2);
	assert_true(pair_ready(p) & GALE_READY_READ);
	assert_int_equal(io_future_poll(p, read_all, &cx, &result), 0);
	assert_int_equal(result, 3);
	assert_true(pair_ready(p) & GALE_READY_READ);
	/* Drained: -EAGAIN clears, and the future waits again. */
	gale_async_fd_io_init(&future, &p->async_fd, GALE_READY_READ, read_all, p);
	assert_int_equal(gale_async_fd_io_poll(&future, &cx), GALE_PENDING);
	assert_false(pair_ready(p) & GALE_READY_READ);
	assert_true(gale_reactor_has_waiters(&p->runtime.reactor));
	assert_int_equal(p->log.wake_counts[3], 1);
	pair_send(p, "!", 1);
	pair_turn(p);
	assert_int_equal(p->log.wake_counts[3], 2);
	assert_int_equal(gale_async_fd_io_poll(&future, &cx), 0);
	assert_int_equal(future.result, 1);
	gale_async_fd_io_deinit(&future);
	assert_int_equal(gale_async_fd_guards_live(&p->async_fd), 0);
}

/* Hang-up is final: the future tries a call that keeps saying -EAGAIN exactly twice,
 * then yields (wakes cx once, GALE_PENDING), and does so again on the next poll. */
static void io_future_yields_when_readiness_is_final(void **state)
{
	struct pair *p = *state;
	struct gale_cx cx = {gale_test_waker(&p->log, 5)};
	assert_int_equal(gale_driver_close(&p->driver.base, p->peer_fd), 0);
	p->peer_fd = -1;
	pair_turn(p);
	assert_true(pair_ready(p) & GALE_READY_RDHUP);
	ssize_t result = 0;
	assert_int_equal(io_future_poll(p, would_block, &cx, &result), GALE_PENDING);
	assert_int_equal(p->calls, 2);
	assert_int_equal(p->log.wake_counts[5], 1);
	assert_int_equal(result, 12345);
	assert_int_equal(io_future_poll(p, would_block, &cx, &result), GALE_PENDING);
	assert_int_equal(p->calls, 4);
	assert_int_equal(p->log.wake_counts[5], 2);
	/* The end of stream itself is a result, not a wait. */
	assert_int_equal(io_future_poll(p, read_all, &cx, &result), 0);
	assert_int_equal(result, 0);
	assert_false(gale_reactor_has_waiters(&p->runtime.reactor));
}

/* A guard's try_io is the same attempt: -EAGAIN on an observation older than the last
 * event clears nothing (the tick rule), and the guard vouches for nothing afterwards;
 * on a current observation it clears. */
static void try_io_keeps_the_tick_rule(void **state)
{
	struct pair *p = *state;
	struct gale_cx cx = {gale_test_waker(&p->log, 7)};
	pair_send(p, "a", 1);
	pair_turn(p);
	struct gale_async_fd_guard guard;
	assert_int_equal(gale_async_fd_poll_read_ready(&p->async_fd, &cx, &guard), 0);
	uint64_t tick_observed = guard.event.tick;
	pair_send(p, "b", 1);
	pair_turn(p);
	assert_int_equal(gale_async_fd_guard_try_io(&guard, would_block, p), -EAGAIN);
	assert_int_equal(p->calls, 1);
	assert_int_equal(gale_async_fd_guard_ready(&guard), 0);
	assert_true(pair_ready(p) & GALE_READY_READ);
	assert_int_equal(gale_async_fd_poll_read_ready(&p->async_fd, &cx, &guard), 0);
	assert_true(guard.event.tick != tick_observed);
	assert_int_equal(gale_async_fd_guard_try_io(&guard, read_all, p), 2);
	assert_true(pair_ready(p) & GALE_READY_READ);
	assert_int_equal(gale_async_fd_poll_read_ready(&p->async_fd, &cx, &guard), 0);
	assert_int_equal(gale_async_fd_guard_try_io(&guard, read_all, p), -EAGAIN);
	assert_false(pair_ready(p) & GALE_READY_READ);
	assert_int_equal(gale_async_fd_poll_read_ready(&p->async_fd, &cx, &guard), GALE_PENDING);
	assert_int_equal(gale_async_fd_guards_live(&p->async_fd), 0);
}

/* gale_async_fd_reader(): the AsyncFd as an AsyncRead. It reads into the unfilled part,
 * a short read on a stream clears READ (epoll vouches for it), so the next poll waits for
 * a new edge without a read; a full buffer reads nothing; a closed fd says so. */
static void reader_reads_and_stops_on_a_short_read(void **state)
{
	struct pair *p = *state;
	struct gale_cx cx = {gale_test_waker(&p->log, 5)};
	assert_int_equal(gale_async_fd_stream_set(&p->async_fd), 0);
	struct gale_async_read reader = gale_async_fd_reader(&p->async_fd);
	assert_string_equal(reader.ops->name, "async_fd");
	char buf[16] = {'x', 'y'};
	struct gale_read_buf rb;
	gale_read_buf_init(&rb, buf, sizeof(buf));
	gale_read_buf_advance(&rb, 2); /* Kept: the reader fills after it. */
	pair_send(p, "hello", 5);
	pair_turn(p);
	assert_int_equal(gale_async_read_poll(reader, &cx, &rb), 0);
	assert_int_equal(rb.len_filled, 7);
	assert_memory_equal(buf, "xyhello", 7);
	/* Short (5 of 14): drained, so READ is gone and the next poll stores the waker. */
	assert_false(pair_ready(p) & GALE_READY_READ);
	assert_int_equal(gale_async_read_poll(reader, &cx, &rb), GALE_PENDING);
	assert_int_equal(rb.len_filled, 7);
	pair_send(p, "0123456789", 10);
	pair_turn(p);
	assert_int_equal(p->log.wake_counts[5], 1);
	/* Exactly full (9 of 9): nothing proven, READ stays. */
	assert_int_equal(gale_async_read_poll(reader, &cx, &rb), 0);
	assert_int_equal(rb.len_filled, 16);
	assert_memory_equal(buf + 7, "012345678", 9);
	assert_true(pair_ready(p) & GALE_READY_READ);
	/* A full buffer reads nothing: the last byte is still queued. */
	assert_int_equal(gale_async_read_poll(reader, &cx, &rb), 0);
	assert_int_equal(rb.len_filled, 16);
	gale_read_buf_init(&rb, buf, sizeof(buf));
	assert_int_equal(gale_async_read_poll(reader, &cx, &rb), 0);
	assert_int_equal(rb.len_filled, 1);
	assert_int_equal(buf[0], '9');
	assert_int_equal(gale_async_fd_close(&p->async_fd), 0);
	assert_int_equal(gale_async_read_poll(reader, &cx, &rb), GALE_E_CLOSED);
	gale_read_buf_init(&rb, buf, 0);
	assert_int_equal(gale_async_read_poll(reader, &cx, &rb), GALE_E_CLOSED);
}

/* The bug a hand-written loop that clears on short reads can have (bench_tcp's raw loop had
 * it): the peer's last bytes and its end of stream arrive together, the read of the bytes
 * is short, and no new edge ever comes for the end. RDHUP is final, so the next poll reads
 * it (0 bytes) instead of waiting forever. */
static void reader_short_read_keeps_the_end_of_stream(void **state)
{
	struct pair *p = *state;
	struct gale_cx cx = {gale_test_waker(&p->log, 6)};
	assert_int_equal(gale_async_fd_stream_set(&p->async_fd), 0);
	struct gale_async_read reader = gale_async_fd_reader(&p->async_fd);
	pair_send(p, "abc", 3);
	assert_int_equal(gale_driver_close(&p->driver.base, p->peer_fd), 0);
	p->peer_fd = -1;
	pair_turn(p);
	char buf[16];
	struct gale_read_buf rb;
	gale_read_buf_init(&rb, buf, sizeof(buf));
	assert_int_equal(gale_async_read_poll(reader, &cx, &rb), 0);
	assert_int_equal(rb.len_filled, 3);
	assert_false(pair_ready(p) & GALE_READY_READ); /* Short: READ itself is cleared... */
	assert_true(pair_ready(p) & GALE_READY_RDHUP); /* ...the end of stream stays. */
	assert_int_equal(gale_async_read_poll(reader, &cx, &rb), 0);
	assert_int_equal(rb.len_filled, 3); /* 0 bytes: end of stream, not GALE_PENDING. */
	assert_int_equal(p->log.wakes_total, 0);
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(io_future_clears_only_on_would_block, pair_setup,
						pair_teardown),
		cmocka_unit_test_setup_teardown(io_future_yields_when_readiness_is_final,
						pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(try_io_keeps_the_tick_rule, pair_setup,
						pair_teardown),
		cmocka_unit_test_setup_teardown(reader_reads_and_stops_on_a_short_read,
						pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(reader_short_read_keeps_the_end_of_stream,
						pair_setup, pair_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
