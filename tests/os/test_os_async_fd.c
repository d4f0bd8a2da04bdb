/* SPDX-License-Identifier: MIT */
/*
 * AsyncFd on the real kernel: the native driver (epoll on Linux) + runtime over AF_UNIX
 * socketpairs.
 *
 * Methodology: each test makes a socketpair through the driver, wraps one end in an
 * AsyncFd and drives readiness with recording wakers and gale_runtime_turn(0), so every
 * wake is observed exactly (turns of the reactor, not the runtime, so no task runs). Pins
 * the edge-triggered guard protocol: readiness is cleared only after -EAGAIN;
 * clear_ready_matching clears only the named directions; one waker slot per direction
 * (the most recent wins); futures support many waiters; hang-up reaches both directions;
 * bad fds get the driver's error and stay the caller's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gale/async_fd.h>
#include <gale/driver_native.h>
#include <gale/error.h>
#include <gale/rt.h>

#include "test_support.h"

struct fixture {
	struct gale_driver_native driver; /* The real driver. */
	struct gale_runtime runtime;      /* Over it. */
	int fds[2];                       /* A socketpair: fds[0] wrapped, fds[1] the peer. */
	struct gale_async_fd async_fd;    /* Wraps fds[0]. */
	struct gale_test_wake_log log;    /* Wakes seen. */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_int_equal(gale_driver_native_init(&f->driver), 0);
	assert_int_equal(gale_runtime_init(&f->runtime, &f->driver.base, NULL), 0);
	assert_int_equal(gale_driver_socketpair(&f->driver.base, f->fds), 0);
	assert_int_equal(gale_async_fd_init(&f->async_fd, &f->runtime, f->fds[0]), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (gale_async_fd_fd(&f->async_fd) >= 0)
		assert_int_equal(gale_async_fd_close(&f->async_fd), 0);
	if (f->fds[1] >= 0)
		assert_int_equal(gale_driver_close(&f->driver.base, f->fds[1]), 0);
	assert_int_equal(gale_runtime_deinit(&f->runtime), 0);
	gale_driver_deinit(&f->driver.base);
	free(f);
	return 0;
}

static struct gale_cx cx_for(struct fixture *f, uint64_t id)
{
	struct gale_cx cx = {gale_test_waker(&f->log, id)};
	return cx;
}

static void turn(struct fixture *f)
{
	assert_true(gale_reactor_turn(&f->runtime.reactor, 0) >= 0);
}

static void peer_write(struct fixture *f, const char *text)
{
	size_t len = strlen(text);
	assert_int_equal(gale_driver_write(&f->driver.base, f->fds[1], text, len), (ssize_t)len);
}

static ssize_t read_small_cb(void *data, struct gale_driver *driver, int fd)
{
	char *buf = data;
	return gale_driver_read(driver, fd, buf, 2);
}

static ssize_t read_all_cb(void *data, struct gale_driver *driver, int fd)
{
	char *buf = data;
	return gale_driver_read(driver, fd, buf, 64);
}

static ssize_t write_cb(void *data, struct gale_driver *driver, int fd)
{
	(void)data;
	return gale_driver_write(driver, fd, "w", 1);
}

static void readiness_cleared_only_after_would_block(void **state)
{
	struct fixture *f = *state;
	struct gale_cx cx = cx_for(f, 1);
	struct gale_async_fd_guard guard;
	assert_int_equal(gale_async_fd_poll_read_ready(&f->async_fd, &cx, &guard), GALE_PENDING);
	peer_write(f, "hello");
	turn(f);
	assert_int_equal(f->log.wake_counts[1], 1);
	assert_int_equal(gale_async_fd_poll_read_ready(&f->async_fd, &cx, &guard), 0);
	assert_true(gale_async_fd_guard_ready(&guard) & GALE_READY_READ);
	char buf[64];
	/* A short read: readiness must survive, no new edge would come. */
	assert_int_equal(gale_async_fd_guard_try_io(&guard, read_small_cb, buf), 2);
	assert_memory_equal(buf, "he", 2);
	assert_int_equal(gale_async_fd_guards_live(&f->async_fd), 0);
	assert_int_equal(gale_async_fd_poll_read_ready(&f->async_fd, &cx, &guard), 0);
	assert_int_equal(gale_async_fd_guard_try_io(&guard, read_all_cb, buf), 3);
	assert_memory_equal(buf, "llo", 3);
	/* Still ready: only -EAGAIN clears. */
	assert_int_equal(gale_async_fd_poll_read_ready(&f->async_fd, &cx, &guard), 0);
	assert_int_equal(gale_async_fd_guard_try_io(&guard, read_all_cb, buf), -EAGAIN);
	assert_int_equal(gale_async_fd_poll_read_ready(&f->async_fd, &cx, &guard), GALE_PENDING);
	assert_int_equal(f->log.wake_counts[1], 1);
	peer_write(f, "!");
	turn(f);
	assert_int_equal(f->log.wake_counts[1], 2);
	assert_int_equal(gale_async_fd_poll_read_ready(&f->async_fd, &cx, &guard), 0);
	gale_async_fd_guard_retain_ready(&guard);
	assert_int_equal(gale_async_fd_guards_live(&f->async_fd), 0);
}

static void clear_ready_matching_clears_only_named_directions(void **state)
{
	struct fixture *f = *state;
	struct gale_cx cx = cx_for(f, 2);
	peer_write(f, "x");
	turn(f);
	struct gale_async_fd_ready both;
	struct gale_async_fd_guard guard;
	gale_async_fd_ready_init(&both, &f->async_fd, GALE_READY_READ | GALE_READY_WRITE);
	assert_int_equal(gale_async_fd_ready_poll(&both, &cx, &guard), 0);
	uint32_t ready = gale_async_fd_guard_ready(&guard);
	assert_int_equal(ready & (GALE_READY_READ | GALE_READY_WRITE),
			 GALE_READY_READ | GALE_READY_WRITE);
	gale_async_fd_guard_clear_ready_matching(&guard, GALE_READY_READ);
	/* Write readiness survives; read readiness is gone until a new edge. */
	assert_int_equal(gale_async_fd_poll_write_ready(&f->async_fd, &cx, &guard), 0);
	gale_async_fd_guard_retain_ready(&guard);
	assert_int_equal(gale_async_fd_poll_read_ready(&f->async_fd, &cx, &guard), GALE_PENDING);
	gale_async_fd_ready_deinit(&both);
}

static void most_recent_poller_wins_per_direction(void **state)
{
	struct fixture *f = *state;
	struct gale_cx first = cx_for(f, 3), second = cx_for(f, 4);
	struct gale_async_fd_guard guard;
	assert_int_equal(gale_async_fd_poll_read_ready(&f->async_fd, &first, &guard), GALE_PENDING);
	assert_int_equal(gale_async_fd_poll_read_ready(&f->async_fd, &second, &guard),
			 GALE_PENDING);
	peer_write(f, "y");
	turn(f);
	assert_int_equal(f->log.wake_counts[3], 0);
	assert_int_equal(f->log.wake_counts[4], 1);
}

static void futures_wake_every_waiter(void **state)
{
	struct fixture *f = *state;
	struct gale_async_fd_ready readers[3];
	struct gale_async_fd_guard guard;
	for (int i = 0; i < 3; i++) {
		struct gale_cx cx = cx_for(f, 5 + (uint64_t)i);
		gale_async_fd_readable_init(&readers[i], &f->async_fd);
		assert_int_equal(gale_async_fd_ready_poll(&readers[i], &cx, &guard), GALE_PENDING);
	}
	peer_write(f, "z");
	turn(f);
	for (int i = 0; i < 3; i++) {
		struct gale_cx cx = cx_for(f, 5 + (uint64_t)i);
		assert_int_equal(f->log.wake_counts[5 + i], 1);
		assert_int_equal(gale_async_fd_ready_poll(&readers[i], &cx, &guard), 0);
		gale_async_fd_guard_retain_ready(&guard);
		gale_async_fd_ready_deinit(&readers[i]);
	}
}

static ssize_t write_until_full_cb(void *data, struct gale_driver *driver, int fd)
{
	(void)data;
	static const char fill[4096] = {0};
	ssize_t n;
	while ((n = gale_driver_write(driver, fd, fill, sizeof(fill))) > 0)
		;
	return n;
}

static void hang_up_reaches_both_directions(void **state)
{
	struct fixture *f = *state;
	struct gale_cx cx = cx_for(f, 8);
	struct gale_async_fd_guard guard;
	/* Fill the socket until -EAGAIN so the write side really waits for an edge. */
	turn(f);
	assert_int_equal(gale_async_fd_poll_write_ready(&f->async_fd, &cx, &guard), 0);
	assert_int_equal(gale_async_fd_guard_try_io(&guard, write_until_full_cb, NULL), -EAGAIN);
	assert_int_equal(gale_async_fd_poll_write_ready(&f->async_fd, &cx, &guard), GALE_PENDING);
	struct gale_async_fd_ready reader, writer;
	struct gale_cx reader_cx = cx_for(f, 9), writer_cx = cx_for(f, 10);
	gale_async_fd_readable_init(&reader, &f->async_fd);
	gale_async_fd_writable_init(&writer, &f->async_fd);
	assert_int_equal(gale_async_fd_ready_poll(&reader, &reader_cx, &guard), GALE_PENDING);
	assert_int_equal(gale_async_fd_ready_poll(&writer, &writer_cx, &guard), GALE_PENDING);
	assert_int_equal(gale_driver_close(&f->driver.base, f->fds[1]), 0);
	f->fds[1] = -1;
	turn(f);
	assert_int_equal(f->log.wake_counts[9], 1);
	assert_int_equal(f->log.wake_counts[10], 1);
	assert_int_equal(gale_async_fd_ready_poll(&writer, &writer_cx, &guard), 0);
	assert_true(gale_async_fd_guard_ready(&guard) & GALE_READY_HUP);
	gale_async_fd_guard_retain_ready(&guard);
	assert_int_equal(gale_async_fd_ready_poll(&reader, &reader_cx, &guard), 0);
	assert_true(gale_async_fd_guard_ready(&guard) & GALE_READY_RDHUP);
	gale_async_fd_guard_retain_ready(&guard);
}

static void bad_fds_get_the_driver_error_and_stay_the_callers(void **state)
{
	struct fixture *f = *state;
	struct gale_async_fd other;
	assert_int_equal(gale_async_fd_init(&other, &f->runtime, -1), -EBADF);
	assert_int_equal(gale_async_fd_fd(&other), -1);
	assert_int_equal(gale_async_fd_init(&other, &f->runtime, f->fds[0]), -EEXIST);
	assert_int_equal(gale_async_fd_init_with_interest(&other, &f->runtime, f->fds[1], 0),
			 -EINVAL);
	char path[] = "/tmp/gale-async-fd-XXXXXX";
	int file = mkstemp(path);
	assert_true(file >= 0);
	unlink(path);
	assert_int_equal(gale_async_fd_init(&other, &f->runtime, file), -EPERM);
	/* Still open and ours: fcntl works on it. */
	assert_true(fcntl(file, F_GETFD) >= 0);
	assert_int_equal(close(file), 0);
	assert_int_equal(gale_reactor_registrations_count(&f->runtime.reactor), 1);
}

static void into_inner_hands_the_fd_back_and_wakes_waiters(void **state)
{
	struct fixture *f = *state;
	struct gale_cx cx = cx_for(f, 11);
	struct gale_async_fd_ready reader;
	struct gale_async_fd_guard guard;
	gale_async_fd_readable_init(&reader, &f->async_fd);
	assert_int_equal(gale_async_fd_ready_poll(&reader, &cx, &guard), GALE_PENDING);
	int fd = -1;
	assert_int_equal(gale_async_fd_into_inner(&f->async_fd, &fd), 0);
	assert_int_equal(fd, f->fds[0]);
	assert_int_equal(f->log.wake_counts[11], 1);
	assert_int_equal(gale_async_fd_ready_poll(&reader, &cx, &guard), GALE_E_CLOSED);
	assert_int_equal(gale_async_fd_into_inner(&f->async_fd, &fd), GALE_E_CLOSED);
	assert_int_equal(gale_async_fd_close(&f->async_fd), GALE_E_CLOSED);
	/* Deregistered: the fd can be wrapped again. */
	assert_int_equal(gale_async_fd_init(&f->async_fd, &f->runtime, fd), 0);
}

struct io_task {
	struct gale_async_fd_io io; /* The async_io future. */
	char buf[64];               /* Read target. */
};

static ssize_t io_task_read_cb(void *data, struct gale_driver *driver, int fd)
{
	struct io_task *task = data;
	return gale_driver_read(driver, fd, task->buf, sizeof(task->buf));
}

static int io_task_poll(void *data, struct gale_cx *cx)
{
	struct io_task *task = data;
	return gale_async_fd_io_poll(&task->io, cx);
}

static void async_io_retries_until_not_would_block(void **state)
{
	struct fixture *f = *state;
	struct io_task task;
	gale_async_fd_io_init(&task.io, &f->async_fd, GALE_READY_READ, io_task_read_cb, &task);
	struct gale_task_handle handle;
	struct gale_executor *executor = &f->runtime.executor;
	assert_int_equal(gale_executor_spawn(executor, io_task_poll, &task, &handle), 0);
	turn(f);
	assert_false(gale_executor_is_finished(&f->runtime.executor, handle));
	peer_write(f, "ping");
	int result = -1;
	assert_int_equal(gale_runtime_block_on(&f->runtime, handle, &result), 0);
	assert_int_equal(result, 0);
	assert_int_equal(task.io.result, 4);
	assert_memory_equal(task.buf, "ping", 4);
	gale_async_fd_io_deinit(&task.io);
}

/* gale_async_fd_poll_io: short counts keep readiness, -EAGAIN clears it and stores the
 * waker in the direction's slot (most recent caller wins), and a new edge wakes it. */
static void poll_io_clears_only_after_would_block(void **state)
{
	struct fixture *f = *state;
	struct gale_cx first = cx_for(f, 5), second = cx_for(f, 6);
	char buf[64];
	ssize_t n = -1;
	assert_int_equal(gale_async_fd_poll_io(&f->async_fd, &first, GALE_DIRECTION_READ,
					       read_all_cb, buf, &n),
			 GALE_PENDING);
	assert_int_equal(gale_async_fd_poll_io(&f->async_fd, &second, GALE_DIRECTION_READ,
					       read_all_cb, buf, &n),
			 GALE_PENDING);
	peer_write(f, "hello");
	turn(f);
	assert_int_equal(f->log.wake_counts[5], 0);
	assert_int_equal(f->log.wake_counts[6], 1);
	assert_int_equal(gale_async_fd_poll_io(&f->async_fd, &second, GALE_DIRECTION_READ,
					       read_small_cb, buf, &n),
			 0);
	assert_int_equal(n, 2);
	assert_memory_equal(buf, "he", 2);
	/* The short read left readiness set: the rest comes without a new edge. */
	assert_int_equal(gale_async_fd_poll_io(&f->async_fd, &second, GALE_DIRECTION_READ,
					       read_all_cb, buf, &n),
			 0);
	assert_int_equal(n, 3);
	assert_memory_equal(buf, "llo", 3);
	/* Drained: -EAGAIN clears, and the retry stores the waker. */
	assert_int_equal(gale_async_fd_poll_io(&f->async_fd, &second, GALE_DIRECTION_READ,
					       read_all_cb, buf, &n),
			 GALE_PENDING);
	assert_false(gale_reactor_ready_get(&f->runtime.reactor, f->async_fd.priv_token) &
		     GALE_READY_READ);
	assert_true(gale_reactor_has_waiters(&f->runtime.reactor));
	assert_int_equal(f->log.wake_counts[6], 1);
	peer_write(f, "!");
	turn(f);
	assert_int_equal(f->log.wake_counts[6], 2);
	assert_false(gale_reactor_has_waiters(&f->runtime.reactor));
	/* Writes: a socketpair is writable at once. */
	assert_int_equal(gale_async_fd_poll_io(&f->async_fd, &second, GALE_DIRECTION_WRITE,
					       write_cb, NULL, &n),
			 0);
	assert_int_equal(n, 1);
	assert_int_equal(gale_async_fd_guards_live(&f->async_fd), 0);
	assert_int_equal(gale_async_fd_close(&f->async_fd), 0);
	assert_int_equal(gale_async_fd_poll_io(&f->async_fd, &second, GALE_DIRECTION_READ,
					       read_all_cb, buf, &n),
			 GALE_E_CLOSED);
}

/* An io callback that always answers -EAGAIN, as a fault-injecting driver may. */
static ssize_t would_block_cb(void *data, struct gale_driver *driver, int fd)
{
	(void)driver;
	(void)fd;
	int *calls = data;
	(*calls)++;
	return -EAGAIN;
}

/* Closes the AsyncFd from inside the io call, then reports -EAGAIN. */
static ssize_t close_then_would_block_cb(void *data, struct gale_driver *driver, int fd)
{
	(void)driver;
	(void)fd;
	assert_int_equal(gale_async_fd_close(data), 0);
	return -EAGAIN;
}

/* gale_async_fd_poll_io with final readiness (hang-up) and a call that keeps saying
 * -EAGAIN: exactly two attempts, then it yields (wakes cx, GALE_PENDING) instead of
 * spinning; and an io call that closes the fd ends the loop with GALE_E_CLOSED. */
static void poll_io_yields_when_readiness_is_final(void **state)
{
	struct fixture *f = *state;
	struct gale_cx cx = cx_for(f, 12);
	assert_int_equal(gale_driver_close(&f->driver.base, f->fds[1]), 0);
	f->fds[1] = -1;
	turn(f);
	int calls = 0;
	ssize_t n = -1;
	assert_int_equal(gale_async_fd_poll_io(&f->async_fd, &cx, GALE_DIRECTION_READ,
					       would_block_cb, &calls, &n),
			 GALE_PENDING);
	assert_int_equal(calls, 2);
	assert_int_equal(f->log.wake_counts[12], 1);
	assert_true(gale_reactor_ready_get(&f->runtime.reactor, f->async_fd.priv_token) &
		    GALE_READY_RDHUP);
	assert_int_equal(gale_async_fd_poll_io(&f->async_fd, &cx, GALE_DIRECTION_READ,
					       close_then_would_block_cb, &f->async_fd, &n),
			 GALE_E_CLOSED);
	assert_int_equal(f->log.wake_counts[12], 1);
}

/* Issue 13: a readiness poll for a direction the AsyncFd was not registered for (or a
 * direction that is neither READ nor WRITE) asserted, as did a ready future with no valid
 * interest. They are values: -EINVAL, and io is never called. */
static void directions_not_registered_are_einval(void **state)
{
	struct fixture *f = *state;
	int fd = -1;
	assert_int_equal(gale_async_fd_into_inner(&f->async_fd, &fd), 0);
	assert_int_equal(gale_async_fd_init_with_interest(&f->async_fd, &f->runtime, fd,
							  GALE_READY_WRITE),
			 0);
	struct gale_cx cx = cx_for(f, 1);
	struct gale_async_fd_guard guard;
	assert_int_equal(gale_async_fd_poll_read_ready(&f->async_fd, &cx, &guard), -EINVAL);
	char buf[64];
	ssize_t result = 12345;
	assert_int_equal(gale_async_fd_poll_io(&f->async_fd, &cx, GALE_DIRECTION_READ,
					       read_all_cb, buf, &result),
			 -EINVAL);
	assert_int_equal(gale_async_fd_poll_io(&f->async_fd, &cx, (enum gale_direction)9,
					       write_cb, NULL, &result),
			 -EINVAL);
	assert_int_equal(result, 12345);
	struct gale_async_fd_ready ready;
	gale_async_fd_ready_init(&ready, &f->async_fd, 0);
	assert_int_equal(gale_async_fd_ready_poll(&ready, &cx, &guard), -EINVAL);
	gale_async_fd_ready_deinit(&ready);
	assert_int_equal(gale_async_fd_guards_live(&f->async_fd), 0);
	/* The direction it was registered for works. */
	turn(f);
	assert_int_equal(gale_async_fd_poll_io(&f->async_fd, &cx, GALE_DIRECTION_WRITE, write_cb,
					       NULL, &result),
			 0);
	assert_int_equal(result, 1);
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(readiness_cleared_only_after_would_block, setup,
						teardown),
		cmocka_unit_test_setup_teardown(clear_ready_matching_clears_only_named_directions,
						setup, teardown),
		cmocka_unit_test_setup_teardown(most_recent_poller_wins_per_direction, setup,
						teardown),
		cmocka_unit_test_setup_teardown(futures_wake_every_waiter, setup, teardown),
		cmocka_unit_test_setup_teardown(hang_up_reaches_both_directions, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_fds_get_the_driver_error_and_stay_the_callers,
						setup, teardown),
		cmocka_unit_test_setup_teardown(into_inner_hands_the_fd_back_and_wakes_waiters,
						setup, teardown),
		cmocka_unit_test_setup_teardown(async_io_retries_until_not_would_block, setup,
						teardown),
		cmocka_unit_test_setup_teardown(poll_io_yields_when_readiness_is_final, setup,
						teardown),
		cmocka_unit_test_setup_teardown(poll_io_clears_only_after_would_block, setup,
						teardown),
		cmocka_unit_test_setup_teardown(directions_not_registered_are_einval, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
