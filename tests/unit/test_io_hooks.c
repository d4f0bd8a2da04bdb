/* SPDX-License-Identifier: MIT */
/*
 * The io hooks the scenario runner's oracles stand on (sim/src/scenario*.c), pinned
 * directly on a simulated driver and a runtime, without the runner: the reactor observer
 * and waker search, the executor's pending-task walk, joiner search and abort_all, the
 * timer search and cancel_all, the duplex observer and waker search, and an AsyncFd guard
 * consumed twice going to the observer.
 *
 * Methodology: the simulator stands in for the kernel only as a deterministic driver
 * (socketpairs, writes, readiness); no seeds, no faults, no virtual-time warps beyond what
 * a test asks for. Recording wakers (gale_test_waker) and logging observers make every
 * wake and report countable; each test ends with every fd closed and the runtime and
 * simulator deinit'd clean. tests/sim/test_sim_oracles.c shows the oracles built on these
 * hooks catching real bugs.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include <gale/async_fd.h>
#include <gale/async_io.h>
#include <gale/duplex.h>
#include <gale/error.h>
#include <gale/reactor.h>
#include <gale/rt.h>
#include <gale/sim.h>
#include <gale/time.h>

#include "test_support.h"

#define MS INT64_C(1000000)

/* A sim and a runtime over it, without the runner. */
struct hook_world {
	struct gale_sim sim;
	struct gale_runtime runtime;
	int fds[2];
};

static void hook_world_init(struct hook_world *world)
{
	assert_int_equal(gale_sim_init(&world->sim, NULL), 0);
	assert_int_equal(gale_runtime_init(&world->runtime, &world->sim.base, NULL), 0);
	assert_int_equal(gale_driver_socketpair(&world->sim.base, world->fds), 0);
}

static void hook_world_deinit(struct hook_world *world)
{
	for (int i = 0; i < 2; i++) {
		if (world->fds[i] >= 0)
			assert_int_equal(gale_driver_close(&world->sim.base, world->fds[i]), 0);
	}
	assert_int_equal(gale_runtime_deinit(&world->runtime), 0);
	assert_int_equal(gale_sim_deinit(&world->sim), 0);
}

struct observer_log {
	uint32_t cleared_count;
	uint64_t token;
	int fd;
	uint32_t bits;
	uint32_t misuse_count;
	const char *message;
};

static void log_ready_cleared(void *data, uint64_t token, int fd, uint32_t ready_bits)
{
	struct observer_log *log = data;
	log->cleared_count++;
	log->token = token;
	log->fd = fd;
	log->bits = ready_bits;
}

static void log_misuse(void *data, const char *message)
{
	struct observer_log *log = data;
	log->misuse_count++;
	log->message = message;
}

static void test_hook_reactor_observer_and_waker_find(void **state)
{
	(void)state;
	struct hook_world world;
	hook_world_init(&world);
	struct gale_reactor *reactor = &world.runtime.reactor;
	uint64_t token = 0;
	assert_int_equal(gale_reactor_register(reactor, world.fds[0], GALE_READY_INTEREST_ALL,
					       &token), 0);
	assert_int_equal(gale_reactor_fd(reactor, token), world.fds[0]);
	struct gale_test_wake_log wakes = {{0}, 0};
	struct gale_cx cx = {gale_test_waker(&wakes, 3)};
	struct gale_cx other = {gale_test_waker(&wakes, 4)};
	struct gale_ready_event ready;
	assert_int_equal(gale_reactor_poll_ready(reactor, token, GALE_DIRECTION_READ, &cx, &ready),
			 GALE_PENDING);
	uint64_t found = 0;
	uint32_t interest = 0;
	assert_true(gale_reactor_waker_find(reactor, &cx.waker, &found, &interest));
	assert_int_equal(found, token);
	assert_int_equal(interest, GALE_READY_READ);
	assert_false(gale_reactor_waker_find(reactor, &other.waker, NULL, NULL));
	struct gale_waker none = gale_waker_none();
	assert_false(gale_reactor_waker_find(reactor, &none, NULL, NULL));

	struct observer_log log = {0};
	struct gale_reactor_observer observer = {log_ready_cleared, log_misuse, &log};
	gale_reactor_observer_set(reactor, &observer);
	assert_int_equal(gale_driver_write(&world.sim.base, world.fds[1], "x", 1), 1);
	assert_true(gale_reactor_turn(reactor, 0) >= 1);
	assert_int_equal(wakes.wake_counts[3], 1);
	assert_int_equal(gale_reactor_poll_ready(reactor, token, GALE_DIRECTION_READ, &cx, &ready),
			 0);
	struct gale_ready_event stale = ready;
	stale.tick--;
	gale_reactor_clear_ready(reactor, token, stale); /* The tick kept it: nothing cleared. */
	assert_int_equal(log.cleared_count, 0);
	gale_reactor_clear_ready(reactor, token, ready);
	assert_int_equal(log.cleared_count, 1);
	assert_int_equal(log.token, token);
	assert_int_equal(log.fd, world.fds[0]);
	assert_int_equal(log.bits, GALE_READY_READ);
	gale_reactor_clear_ready(reactor, token, ready); /* Clear already: nothing to report. */
	assert_int_equal(log.cleared_count, 1);
	gale_reactor_observer_set(reactor, NULL);
	assert_int_equal(gale_reactor_deregister(reactor, token), 0);
	assert_int_equal(gale_reactor_fd(reactor, token), -1);
	hook_world_deinit(&world);
}

struct hook_task {
	struct gale_executor *executor;
	struct gale_task_handle joined; /* id 0: just stay pending. */
};

static int hook_task_poll(void *data, struct gale_cx *cx)
{
	struct hook_task *task = data;
	int result = 0;
	if (task->joined.id == 0)
		return GALE_PENDING;
	return gale_executor_poll_join(task->executor, task->joined, cx, &result);
}

struct hook_visit {
	uint32_t count;
	uint32_t runnable_count;
};

static void hook_visit_task(void *data, struct gale_task_handle handle, bool runnable)
{
	struct hook_visit *visit = data;
	assert_int_not_equal(handle.id, 0);
	visit->count++;
	visit->runnable_count += runnable;
}

static void test_hook_executor_introspection_and_abort_all(void **state)
{
	(void)state;
	struct gale_executor executor;
	assert_int_equal(gale_executor_init(&executor, NULL), 0);
	struct hook_task tasks[3] = {{&executor, {0}}, {&executor, {0}}, {&executor, {0}}};
	struct gale_task_handle handles[3];
	for (int i = 0; i < 3; i++)
		assert_int_equal(gale_executor_spawn(&executor, hook_task_poll, &tasks[i],
						     &handles[i]), 0);
	tasks[0].joined = handles[1]; /* Task 0 joins task 1. */
	struct hook_visit visit = {0, 0};
	assert_int_equal(gale_executor_task_for_each_pending(&executor, hook_visit_task, &visit),
			 3);
	assert_int_equal(visit.runnable_count, 3);
	assert_int_equal(gale_executor_run_ready(&executor, 0), 3);
	visit = (struct hook_visit){0, 0};
	assert_int_equal(gale_executor_task_for_each_pending(&executor, hook_visit_task, &visit),
			 3);
	assert_int_equal(visit.count, 3);
	assert_int_equal(visit.runnable_count, 0);
	struct gale_waker waker = gale_executor_waker(&executor, handles[0]);
	struct gale_task_handle joined = {0};
	assert_true(gale_executor_joiner_find(&executor, &waker, &joined));
	assert_int_equal(joined.id, handles[1].id);
	waker = gale_executor_waker(&executor, handles[2]);
	assert_false(gale_executor_joiner_find(&executor, &waker, NULL));
	assert_int_equal(gale_executor_abort_all(&executor), 3);
	assert_int_equal(gale_executor_live_count(&executor), 0);
	for (int i = 0; i < 3; i++) {
		int result = 0;
		assert_int_equal(gale_executor_try_join(&executor, handles[i], &result), 0);
		assert_int_equal(result, GALE_E_CANCELED);
	}
	assert_int_equal(gale_executor_abort_all(&executor), 0);
	assert_int_equal(gale_executor_deinit(&executor), 0);
}

static void test_hook_timer_holds_waker_and_cancel_all(void **state)
{
	(void)state;
	struct hook_world world;
	hook_world_init(&world);
	enum { SLEEPS = 20 };
	struct gale_sleep sleeps[SLEEPS];
	struct gale_test_wake_log wakes = {{0}, 0};
	/* Deadlines out of order, so the heap has depth and siblings to walk. */
	for (int i = 0; i < SLEEPS; i++) {
		struct gale_cx cx = {gale_test_waker(&wakes, (uint64_t)i)};
		gale_sleep_init(&sleeps[i], &world.runtime, (int64_t)((i * 7) % SLEEPS + 1) * MS);
		assert_int_equal(gale_sleep_poll(&sleeps[i], &cx), GALE_PENDING);
	}
	for (int i = 0; i < SLEEPS; i++) {
		struct gale_waker waker = gale_test_waker(&wakes, (uint64_t)i);
		int64_t deadline_ns = 0;
		assert_true(gale_runtime_timer_holds_waker(&world.runtime, &waker, &deadline_ns));
		assert_int_equal(deadline_ns, (int64_t)((i * 7) % SLEEPS + 1) * MS);
	}
	struct gale_waker stranger = gale_test_waker(&wakes, 99);
	assert_false(gale_runtime_timer_holds_waker(&world.runtime, &stranger, NULL));
	assert_int_equal(gale_runtime_timers_cancel_all(&world.runtime), SLEEPS);
	assert_int_equal(gale_runtime_timers_count(&world.runtime), 0);
	struct gale_waker first = gale_test_waker(&wakes, 0);
	assert_false(gale_runtime_timer_holds_waker(&world.runtime, &first, NULL));
	assert_int_equal(wakes.wakes_total, 0); /* Cancelled, not fired. */
	for (int i = 0; i < SLEEPS; i++)
		gale_sleep_deinit(&sleeps[i]);
	hook_world_deinit(&world);
}

struct stream_log {
	uint8_t written[2][64];
	size_t written_len[2];
	uint32_t writes_count;
	uint8_t read[2][64];
	size_t read_len[2];
	uint32_t eof_count;
	uint32_t deinit_count;
};

static void log_on_write(void *data, unsigned end, const void *bytes, size_t len)
{
	struct stream_log *log = data;
	memcpy(log->written[end] + log->written_len[end], bytes, len);
	log->written_len[end] += len;
	log->writes_count++;
}

static void log_on_read(void *data, unsigned end, const void *bytes, size_t len)
{
	struct stream_log *log = data;
	if (len == 0) {
		assert_null(bytes);
		log->eof_count++;
		return;
	}
	memcpy(log->read[end] + log->read_len[end], bytes, len);
	log->read_len[end] += len;
}

static void log_on_deinit(void *data)
{
	((struct stream_log *)data)->deinit_count++;
}

static void test_hook_duplex_observer_and_waker_find(void **state)
{
	(void)state;
	struct gale_duplex duplex;
	assert_int_equal(gale_duplex_init(&duplex, 8, NULL), 0);
	struct stream_log log;
	memset(&log, 0, sizeof(log));
	struct gale_stream_observer observer = {log_on_write, log_on_read, log_on_deinit, &log};
	gale_duplex_observer_set(&duplex, &observer);
	struct gale_test_wake_log wakes = {{0}, 0};
	struct gale_cx cx = {gale_test_waker(&wakes, 7)};
	size_t n = 0;
	assert_int_equal(gale_async_write_poll(gale_duplex_end_writer(&duplex, 0), &cx,
					       "hello world", 11, &n), 0);
	assert_int_equal(n, 8); /* Partial: what was taken is what the observer sees. */
	struct iovec iov[2] = {{"ab", 2}, {"cd", 2}};
	assert_int_equal(gale_async_write_poll_vectored(gale_duplex_end_writer(&duplex, 1), &cx,
							iov, 2, &n), 0);
	assert_int_equal(log.writes_count, 3);
	assert_memory_equal(log.written[0], "hello wo", 8);
	assert_memory_equal(log.written[1], "abcd", 4);
	uint8_t buf[16];
	struct gale_read_buf rb;
	gale_read_buf_init(&rb, buf, sizeof(buf));
	assert_int_equal(gale_async_read_poll(gale_duplex_end_reader(&duplex, 0), &cx, &rb), 0);
	assert_int_equal(log.read_len[0], 4);
	assert_memory_equal(log.read[0], "abcd", 4);
	/* End 0 now waits to read; end 0 also waits to write into its full ring. */
	gale_read_buf_init(&rb, buf, sizeof(buf));
	assert_int_equal(gale_async_read_poll(gale_duplex_end_reader(&duplex, 0), &cx, &rb),
			 GALE_PENDING);
	unsigned end = 2;
	bool writing = true;
	assert_true(gale_duplex_waker_find(&duplex, &cx.waker, &end, &writing));
	assert_int_equal(end, 0);
	assert_false(writing);
	struct gale_cx writer_cx = {gale_test_waker(&wakes, 8)};
	assert_int_equal(gale_async_write_poll(gale_duplex_end_writer(&duplex, 0), &writer_cx,
					       "x", 1, &n), GALE_PENDING);
	assert_true(gale_duplex_waker_find(&duplex, &writer_cx.waker, &end, &writing));
	assert_int_equal(end, 0);
	assert_true(writing);
	struct gale_waker stranger = gale_test_waker(&wakes, 9);
	assert_false(gale_duplex_waker_find(&duplex, &stranger, NULL, NULL));
	/* End 1 reads the 8 bytes, then the end of stream after end 0 shuts down. */
	gale_read_buf_init(&rb, buf, sizeof(buf));
	assert_int_equal(gale_async_read_poll(gale_duplex_end_reader(&duplex, 1), &cx, &rb), 0);
	assert_int_equal(gale_async_write_poll_shutdown(gale_duplex_end_writer(&duplex, 0), &cx),
			 0);
	gale_read_buf_init(&rb, buf, sizeof(buf));
	assert_int_equal(gale_async_read_poll(gale_duplex_end_reader(&duplex, 1), &cx, &rb), 0);
	assert_int_equal(rb.len_filled, 0);
	assert_int_equal(log.read_len[1], 8);
	assert_memory_equal(log.read[1], "hello wo", 8);
	assert_int_equal(log.eof_count, 1);
	gale_duplex_deinit(&duplex);
	assert_int_equal(log.deinit_count, 1);
}

struct hook_io {
	uint32_t calls_count;
	uint8_t buf[8];
};

static ssize_t hook_io_read(void *data, struct gale_driver *driver, int fd)
{
	struct hook_io *io = data;
	io->calls_count++;
	return gale_driver_read(driver, fd, io->buf, sizeof(io->buf));
}

static void test_hook_async_fd_guard_misuse_reported(void **state)
{
	(void)state;
	struct hook_world world;
	hook_world_init(&world);
	struct gale_async_fd async_fd;
	assert_int_equal(gale_async_fd_init(&async_fd, &world.runtime, world.fds[0]), 0);
	struct observer_log log = {0};
	struct gale_reactor_observer observer = {NULL, log_misuse, &log};
	gale_reactor_observer_set(&world.runtime.reactor, &observer);
	assert_int_equal(gale_driver_write(&world.sim.base, world.fds[1], "abc", 3), 3);
	assert_true(gale_reactor_turn(&world.runtime.reactor, 0) >= 1);
	struct gale_test_wake_log wakes = {{0}, 0};
	struct gale_cx cx = {gale_test_waker(&wakes, 1)};
	struct gale_async_fd_guard guard;
	assert_int_equal(gale_async_fd_poll_read_ready(&async_fd, &cx, &guard), 0);
	struct hook_io io = {0, {0}};
	assert_int_equal(gale_async_fd_guard_try_io(&guard, hook_io_read, &io), 3);
	assert_int_equal(gale_async_fd_guards_live(&async_fd), 0);
	gale_async_fd_guard_retain_ready(&guard);
	assert_int_equal(log.misuse_count, 1);
	assert_string_equal(log.message, "AsyncFd ready guard consumed twice");
	/* Reported, then nothing further: no I/O, no count change. */
	assert_int_equal(gale_async_fd_guard_try_io(&guard, hook_io_read, &io), -EINVAL);
	assert_int_equal(io.calls_count, 1);
	gale_async_fd_guard_clear_ready(&guard);
	assert_int_equal(log.misuse_count, 3);
	assert_int_equal(gale_async_fd_guards_live(&async_fd), 0);
	/* The bogus clear did not clear: the fd is still ready, with no new event. */
	assert_int_equal(gale_async_fd_poll_read_ready(&async_fd, &cx, &guard), 0);
	assert_int_equal(gale_async_fd_guard_ready(&guard) & GALE_READY_READ, GALE_READY_READ);
	gale_async_fd_guard_retain_ready(&guard);
	assert_int_equal(log.misuse_count, 3);
	gale_reactor_observer_set(&world.runtime.reactor, NULL);
	assert_int_equal(gale_async_fd_close(&async_fd), 0);
	world.fds[0] = -1;
	hook_world_deinit(&world);
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hook_reactor_observer_and_waker_find),
		cmocka_unit_test(test_hook_executor_introspection_and_abort_all),
		cmocka_unit_test(test_hook_timer_holds_waker_and_cancel_all),
		cmocka_unit_test(test_hook_duplex_observer_and_waker_find),
		cmocka_unit_test(test_hook_async_fd_guard_misuse_reported),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
