/* SPDX-License-Identifier: MIT */
/*
 * TcpListener on the real kernel: epoll driver + runtime, loopback only, port 0 only.
 *
 * Methodology: binding is checked for both families and every rejection path. Accept
 * errors are produced two ways: for real, by lowering RLIMIT_NOFILE so accept(2) fails
 * with EMFILE, and by replacing the epoll driver's accept4 slot (its per-instance syscall
 * table) with a wrapper that fails the first calls with a chosen errno (or none: then it
 * only records) and records when each call happened.
 *
 * Every wait is for an event, never for a time window, so a loaded machine makes these
 * tests slower, not flaky. A client counts as connected once its connection sits in the
 * listener's accept queue (poll(2) on the listener: the kernel finishes the listener's
 * half of the handshake after the client's, and may lag under load). "Backing off" is
 * observed as the state itself: the back-off timer armed, checked only after the runnable
 * tasks ran (between a timer firing and the woken task's next poll no timer is armed; a
 * check at the end of a fixed run used to land there). Each wait is bounded by
 * GALE_TEST_EVENT_WAIT_NS. The back-off is pinned by lower bounds, which a slow scheduler
 * cannot break: gaps between attempts of at least 10, 20, 40 ms (a busy loop would make
 * them microseconds); the delay chosen after a success is read from the listener, as a
 * wall-clock gap bounds it from below only. Nothing sleeps outside the runtime.
 */
#define _GNU_SOURCE /* accept4 for the scripted accept wrapper. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gale/driver_epoll.h>
#include <gale/error.h>
#include <gale/rt.h>
#include <gale/socket_addr.h>
#include <gale/tcp.h>

#include "test_support.h"

#define MS (1000 * 1000LL)

/* Polls per gale_executor_run_ready() in the waits: a task that wakes itself forever (a
 * busy-looping accept) must fail the wait's bound, not hang the test. */
#define RUN_READY_POLLS_MAX 1024

struct fixture {
	struct gale_driver_epoll epoll;        /* The real driver. */
	struct gale_runtime runtime;           /* Over it. */
	struct gale_tcp_listener listener;     /* Bound to 127.0.0.1:0. */
	struct gale_socket_addr listener_addr; /* Its address. */
	struct gale_test_wake_log log;         /* Wakes of direct polls. */
	struct rlimit nofile_saved;            /* RLIMIT_NOFILE before a test lowered it. */
	bool nofile_lowered;                   /* Teardown restores nofile_saved. */
};

/* The accept4 wrapper's script and record (the syscall slot has no data pointer). */
#define ACCEPT_CALLS_MAX 64
static int accept_fail_errno;      /* errno the failing calls report. */
static int accept_fail_count;      /* Calls left to fail. */
static int accept_calls_count;     /* Calls seen. */
static int64_t accept_call_ns[ACCEPT_CALLS_MAX]; /* When each call happened. */

static int64_t monotonic_ns(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
}

static int scripted_accept4(int fd, struct sockaddr *addr, socklen_t *addr_len, int flags)
{
	if (accept_calls_count < ACCEPT_CALLS_MAX)
		accept_call_ns[accept_calls_count] = monotonic_ns();
	accept_calls_count++;
	if (accept_fail_count > 0) {
		accept_fail_count--;
		errno = accept_fail_errno;
		return -1;
	}
	return accept4(fd, addr, addr_len, flags);
}

static void accept_script(struct fixture *f, int error, int count)
{
	accept_fail_errno = error;
	accept_fail_count = count;
	accept_calls_count = 0;
	assert_int_equal(gale_driver_epoll_syscall_set(&f->epoll, GALE_EPOLL_SYSCALL_ACCEPT4,
						       (gale_syscall_ptr)scripted_accept4), 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_int_equal(gale_driver_epoll_init(&f->epoll), 0);
	assert_int_equal(gale_runtime_init(&f->runtime, &f->epoll.base, NULL), 0);
	assert_int_equal(gale_tcp_listener_bind_text(&f->listener, &f->runtime, "127.0.0.1:0", 16),
			 0);
	assert_int_equal(gale_tcp_listener_local_addr(&f->listener, &f->listener_addr), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	/* A test that failed while descriptors were exhausted must not starve the next ones. */
	if (f->nofile_lowered)
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &f->nofile_saved), 0);
	if (gale_tcp_listener_fd(&f->listener) >= 0)
		assert_int_equal(gale_tcp_listener_close(&f->listener), 0);
	assert_int_equal(gale_runtime_deinit(&f->runtime), 0);
	gale_driver_epoll_deinit(&f->epoll);
	free(f);
	return 0;
}

/* ---- Tasks and helpers ---------------------------------------------------------------- */

struct accept_task {
	struct gale_tcp_listener *listener; /* Borrowed. */
	struct gale_tcp_stream stream;      /* Filled. */
	struct gale_socket_addr peer;       /* Filled. */
};

static int accept_task_poll(void *data, struct gale_cx *cx)
{
	struct accept_task *task = data;
	return gale_tcp_listener_poll_accept(task->listener, cx, &task->stream, &task->peer);
}

struct accept_future_task {
	struct gale_tcp_accept future; /* The accept future. */
	struct gale_tcp_stream stream; /* Filled. */
	struct gale_socket_addr peer;  /* Filled. */
};

static int accept_future_task_poll(void *data, struct gale_cx *cx)
{
	struct accept_future_task *task = data;
	return gale_tcp_accept_poll(&task->future, cx, &task->stream, &task->peer);
}

struct connect_task {
	struct gale_tcp_connect future; /* The connect. */
	struct gale_tcp_stream stream;  /* Filled. */
};

static int connect_task_poll(void *data, struct gale_cx *cx)
{
	struct connect_task *task = data;
	return gale_tcp_connect_poll(&task->future, cx, &task->stream);
}

/*
 * Runs the runtime until the task finished, then joins it. Not gale_runtime_block_on():
 * that one can block in epoll_wait after the task finished within a turn while another
 * task stays pending on I/O (a runtime issue reported separately); running the ready
 * tasks before each check avoids it.
 */
static int join_task(struct gale_runtime *runtime, struct gale_task_handle handle)
{
	for (;;) {
		gale_executor_run_ready(&runtime->executor, 0);
		if (gale_executor_is_finished(&runtime->executor, handle))
			break;
		assert_int_equal(gale_runtime_turn(runtime, -1), 0);
	}
	int result = -1;
	assert_int_equal(gale_executor_try_join(&runtime->executor, handle, &result), 0);
	return result;
}

static int run_task(struct fixture *f, gale_poll_fn *poll, void *data)
{
	struct gale_task_handle handle;
	assert_int_equal(gale_executor_spawn(&f->runtime.executor, poll, data, &handle), 0);
	return join_task(&f->runtime, handle);
}

/* Connects a client: done once the client's side of the handshake completed. */
static void connect_client(struct fixture *f, struct connect_task *task)
{
	gale_tcp_connect_init(&task->future, &f->runtime, &f->listener_addr, 1);
	assert_int_equal(run_task(f, connect_task_poll, task), 0);
	gale_tcp_connect_deinit(&task->future);
}

/*
 * Connects a client and waits (bounded) until its connection sits in the listener's accept
 * queue. The listener's half of the handshake runs in softirq context after the client's
 * completed, and a loaded machine delays it: an accept made at once may find nothing yet.
 * Only for tests with no accept pending (one could take the connection meanwhile).
 */
static void connect_client_queued(struct fixture *f, struct connect_task *task)
{
	connect_client(f, task);
	struct pollfd listener = {.fd = gale_tcp_listener_fd(&f->listener), .events = POLLIN};
	int rc;
	do
		rc = poll(&listener, 1, (int)(GALE_TEST_EVENT_WAIT_NS / MS));
	while (rc < 0 && errno == EINTR);
	if (rc != 1)
		fail_msg("the connection did not reach the accept queue (poll gave %d)", rc);
}

/*
 * Runs the runtime until the accept task made at least calls_min accept calls and is
 * backing off: its back-off timer armed. Checked only once the runnable tasks were polled,
 * since a timer that just fired is disarmed until its task polls again. Bounded by
 * GALE_TEST_EVENT_WAIT_NS of the runtime's clock, so a task that never backs off (or
 * never retries) fails here instead of hanging.
 */
static void run_until_backing_off(struct fixture *f, int calls_min)
{
	int64_t limit_ns = gale_runtime_now_ns(&f->runtime) + GALE_TEST_EVENT_WAIT_NS;
	for (;;) {
		gale_executor_run_ready(&f->runtime.executor, RUN_READY_POLLS_MAX);
		uint32_t timers = gale_runtime_timers_count(&f->runtime);
		if (accept_calls_count >= calls_min && timers == 1)
			return;
		if (gale_runtime_now_ns(&f->runtime) >= limit_ns)
			fail_msg("not backing off after %d accept calls: %d calls, %u timers",
				 calls_min, accept_calls_count, (unsigned)timers);
		assert_int_equal(gale_runtime_turn(&f->runtime, 10 * MS), 0);
	}
}

/* The accepted stream is the client's other end. */
static void expect_pair(struct connect_task *client, struct gale_tcp_stream *server,
			const struct gale_socket_addr *peer)
{
	struct gale_socket_addr client_local;
	assert_int_equal(gale_tcp_stream_local_addr(&client->stream, &client_local), 0);
	assert_true(gale_socket_addr_is_equal(&client_local, peer));
	assert_int_equal(gale_tcp_stream_try_write(&client->stream, "hi", 2), 2);
	assert_int_equal(gale_tcp_stream_close(&client->stream), 0);
	assert_int_equal(gale_tcp_stream_close(server), 0);
}

/* ---- Tests ---------------------------------------------------------------------------- */

static void bind_rejects_bad_text_and_busy_ports(void **state)
{
	struct fixture *f = *state;
	struct gale_tcp_listener other;
	assert_int_equal(gale_tcp_listener_bind_text(&other, &f->runtime, "127.0.0.1", 0), -EINVAL);
	assert_int_equal(gale_tcp_listener_fd(&other), -1);
	assert_int_equal(gale_tcp_listener_bind_text(&other, &f->runtime, "::1:0", 0), -EINVAL);
	assert_int_equal(gale_tcp_listener_bind_text(&other, &f->runtime, "", 0), -EINVAL);
	/* SO_REUSEADDR does not let two sockets listen on one port. */
	assert_int_equal(gale_tcp_listener_bind(&other, &f->runtime, &f->listener_addr, 0),
			 -EADDRINUSE);
	assert_int_equal(gale_tcp_listener_fd(&other), -1);
	/* A closed listener answers GALE_E_CLOSED; closing twice too. */
	struct gale_socket_addr addr;
	assert_int_equal(gale_tcp_listener_local_addr(&other, &addr), GALE_E_CLOSED);
	assert_int_equal(gale_tcp_listener_close(&other), GALE_E_CLOSED);
	struct gale_tcp_stream stream;
	struct gale_cx cx = {gale_test_waker(&f->log, 1)};
	assert_int_equal(gale_tcp_listener_poll_accept(&other, &cx, &stream, NULL), GALE_E_CLOSED);
}

static void bind_port_zero_gets_ephemeral_ports(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(gale_socket_addr_family(&f->listener_addr), AF_INET);
	assert_int_not_equal(gale_socket_addr_port(&f->listener_addr), 0);
	struct gale_socket_addr expected;
	uint16_t port = gale_socket_addr_port(&f->listener_addr);
	assert_int_equal(gale_socket_addr_from_ip("127.0.0.1", port, &expected), 0);
	assert_true(gale_socket_addr_is_equal(&f->listener_addr, &expected));
	struct gale_tcp_listener v6;
	struct gale_socket_addr v6_addr;
	assert_int_equal(gale_tcp_listener_bind_text(&v6, &f->runtime, "[::1]:0", 0), 0);
	assert_int_equal(gale_tcp_listener_local_addr(&v6, &v6_addr), 0);
	assert_int_equal(gale_socket_addr_family(&v6_addr), AF_INET6);
	assert_int_not_equal(gale_socket_addr_port(&v6_addr), 0);
	port = gale_socket_addr_port(&v6_addr);
	assert_int_equal(gale_socket_addr_from_ip("::1", port, &expected), 0);
	assert_true(gale_socket_addr_is_equal(&v6_addr, &expected));
	assert_int_equal(gale_tcp_listener_close(&v6), 0);
}

static void accept_futures_serve_several_tasks(void **state)
{
	struct fixture *f = *state;
	struct accept_future_task accepts[2];
	struct gale_task_handle handles[2];
	for (int i = 0; i < 2; i++) {
		gale_tcp_accept_init(&accepts[i].future, &f->listener);
		assert_int_equal(gale_executor_spawn(&f->runtime.executor, accept_future_task_poll,
						     &accepts[i], &handles[i]), 0);
	}
	/* Both wait on the one listener before any client exists. */
	assert_int_equal(gale_runtime_turn(&f->runtime, 0), 0);
	struct connect_task clients[2];
	connect_client(f, &clients[0]);
	connect_client(f, &clients[1]);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(join_task(&f->runtime, handles[i]), 0);
		gale_tcp_accept_deinit(&accepts[i].future);
	}
	/* Each client was accepted exactly once (the peers are the two clients, in some order). */
	struct gale_socket_addr local[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(gale_tcp_stream_local_addr(&clients[i].stream, &local[i]), 0);
	bool straight = gale_socket_addr_is_equal(&accepts[0].peer, &local[0]);
	expect_pair(&clients[0], &accepts[straight ? 0 : 1].stream, &local[0]);
	expect_pair(&clients[1], &accepts[straight ? 1 : 0].stream, &local[1]);
	assert_int_equal(gale_tcp_listener_stats_get(&f->listener).accepts_count, 2);
}

static void close_wakes_a_pending_accept(void **state)
{
	struct fixture *f = *state;
	struct accept_task task = {.listener = &f->listener};
	struct gale_task_handle handle;
	assert_int_equal(gale_executor_spawn(&f->runtime.executor, accept_task_poll, &task,
					     &handle), 0);
	assert_int_equal(gale_runtime_turn(&f->runtime, 0), 0);
	assert_false(gale_executor_is_finished(&f->runtime.executor, handle));
	assert_int_equal(gale_tcp_listener_close(&f->listener), 0);
	assert_int_equal(join_task(&f->runtime, handle), GALE_E_CLOSED);
}

static void accept_skips_aborted_handshakes(void **state)
{
	struct fixture *f = *state;
	struct connect_task client;
	connect_client_queued(f, &client);
	accept_script(f, ECONNABORTED, 1);
	struct accept_task task = {.listener = &f->listener};
	assert_int_equal(run_task(f, accept_task_poll, &task), 0);
	assert_int_equal(accept_calls_count, 2);
	struct connect_task client2;
	connect_client_queued(f, &client2);
	accept_script(f, EPROTO, 2);
	struct accept_task task2 = {.listener = &f->listener};
	assert_int_equal(run_task(f, accept_task_poll, &task2), 0);
	assert_int_equal(accept_calls_count, 3);
	struct gale_tcp_listener_stats stats = gale_tcp_listener_stats_get(&f->listener);
	assert_int_equal(stats.skips_count, 3);
	assert_int_equal(stats.backoffs_count, 0);
	assert_int_equal(stats.accepts_count, 2);
	expect_pair(&client, &task.stream, &task.peer);
	expect_pair(&client2, &task2.stream, &task2.peer);
}

static void accept_backs_off_on_injected_emfile(void **state)
{
	struct fixture *f = *state;
	struct connect_task client;
	connect_client_queued(f, &client);
	accept_script(f, EMFILE, 3);
	struct accept_task task = {.listener = &f->listener};
	int64_t start_ns = gale_runtime_now_ns(&f->runtime);
	assert_int_equal(run_task(f, accept_task_poll, &task), 0);
	int64_t elapsed_ns = gale_runtime_now_ns(&f->runtime) - start_ns;
	/* Three failures, three delays of 10, 20 and 40 ms, then the accept that works. */
	assert_int_equal(accept_calls_count, 4);
	assert_true(accept_call_ns[1] - accept_call_ns[0] >= 10 * MS);
	assert_true(accept_call_ns[2] - accept_call_ns[1] >= 20 * MS);
	assert_true(accept_call_ns[3] - accept_call_ns[2] >= 40 * MS);
	assert_true(elapsed_ns >= 70 * MS);
	struct gale_tcp_listener_stats stats = gale_tcp_listener_stats_get(&f->listener);
	assert_int_equal(stats.backoffs_count, 3);
	assert_int_equal(stats.accept_attempts_count, 4);
	expect_pair(&client, &task.stream, &task.peer);
	/* A success resets the delay: the next failure waits 10 ms again, not 80. The delay is
	 * read from the listener (white-box): a wall-clock gap only bounds it from below. */
	struct connect_task client2;
	connect_client_queued(f, &client2);
	accept_script(f, ENFILE, 1);
	struct accept_task task2 = {.listener = &f->listener};
	struct gale_task_handle handle2;
	assert_int_equal(gale_executor_spawn(&f->runtime.executor, accept_task_poll, &task2,
					     &handle2), 0);
	run_until_backing_off(f, 1);
	assert_int_equal(f->listener.priv_backoff_ns, GALE_TCP_ACCEPT_BACKOFF_NS_MIN);
	assert_int_equal(join_task(&f->runtime, handle2), 0);
	assert_int_equal(accept_calls_count, 2);
	assert_true(accept_call_ns[1] - accept_call_ns[0] >= 10 * MS);
	expect_pair(&client2, &task2.stream, &task2.peer);
}

static void close_while_backing_off_disarms_the_timer(void **state)
{
	struct fixture *f = *state;
	struct connect_task client;
	connect_client_queued(f, &client);
	accept_script(f, EMFILE, 1000);
	struct accept_task task = {.listener = &f->listener};
	struct gale_task_handle handle;
	assert_int_equal(gale_executor_spawn(&f->runtime.executor, accept_task_poll, &task,
					     &handle), 0);
	/* Backing off after one retry: the timer fired, the retry failed, the timer is armed
	 * again. The retry waited the delay out (a busy loop would not). */
	run_until_backing_off(f, 2);
	assert_true(accept_call_ns[1] - accept_call_ns[0] >= 10 * MS);
	assert_int_equal(gale_tcp_listener_close(&f->listener), 0);
	assert_int_equal(gale_runtime_timers_count(&f->runtime), 0);
	assert_int_equal(join_task(&f->runtime, handle), GALE_E_CLOSED);
	assert_int_equal(gale_tcp_stream_close(&client.stream), 0);
}

/* Makes every new descriptor fail with EMFILE, keeping one placeholder to free later.
 * descriptors_restore (or teardown, after a failure) puts the limit back. */
static int descriptors_exhaust(struct fixture *f)
{
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &f->nofile_saved), 0);
	/* dup() takes the lowest free number, so below the placeholder every number is used. */
	int placeholder = dup(0);
	assert_true(placeholder >= 0);
	struct rlimit lowered = f->nofile_saved;
	lowered.rlim_cur = (rlim_t)placeholder + 1;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &lowered), 0);
	f->nofile_lowered = true;
	assert_int_equal(dup(0), -1);
	assert_int_equal(errno, EMFILE);
	return placeholder;
}

static void descriptors_restore(struct fixture *f)
{
	assert_true(f->nofile_lowered);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &f->nofile_saved), 0);
	f->nofile_lowered = false;
}

static void accept_backs_off_on_real_emfile_and_recovers(void **state)
{
	struct fixture *f = *state;
	struct connect_task client;
	connect_client_queued(f, &client);
	accept_script(f, 0, 0); /* Records the calls only: each one meets the real EMFILE. */
	int placeholder = descriptors_exhaust(f);
	struct accept_task task = {.listener = &f->listener};
	struct gale_task_handle handle;
	assert_int_equal(gale_executor_spawn(&f->runtime.executor, accept_task_poll, &task,
					     &handle), 0);
	/* Three real EMFILEs, each answered with a longer back-off: 10, then 20 ms at least
	 * between the calls, not a busy loop; and still backing off (the timer armed). */
	run_until_backing_off(f, 3);
	struct gale_tcp_listener_stats stats = gale_tcp_listener_stats_get(&f->listener);
	assert_int_equal(stats.accept_attempts_count, (uint64_t)accept_calls_count);
	assert_int_equal(stats.backoffs_count, stats.accept_attempts_count);
	assert_int_equal(stats.accepts_count, 0);
	assert_true(accept_call_ns[1] - accept_call_ns[0] >= 10 * MS);
	assert_true(accept_call_ns[2] - accept_call_ns[1] >= 20 * MS);
	assert_false(gale_executor_is_finished(&f->runtime.executor, handle));
	/* A descriptor frees up: the pending connection is accepted at the next try. */
	assert_int_equal(close(placeholder), 0);
	int result = join_task(&f->runtime, handle);
	descriptors_restore(f);
	assert_int_equal(result, 0);
	assert_int_equal(gale_tcp_stream_fd(&task.stream), placeholder);
	assert_int_equal(gale_runtime_timers_count(&f->runtime), 0);
	stats = gale_tcp_listener_stats_get(&f->listener);
	assert_int_equal(stats.accepts_count, 1);
	expect_pair(&client, &task.stream, &task.peer);
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(bind_rejects_bad_text_and_busy_ports, setup,
						teardown),
		cmocka_unit_test_setup_teardown(bind_port_zero_gets_ephemeral_ports, setup,
						teardown),
		cmocka_unit_test_setup_teardown(accept_futures_serve_several_tasks, setup,
						teardown),
		cmocka_unit_test_setup_teardown(close_wakes_a_pending_accept, setup, teardown),
		cmocka_unit_test_setup_teardown(accept_skips_aborted_handshakes, setup, teardown),
		cmocka_unit_test_setup_teardown(accept_backs_off_on_injected_emfile, setup,
						teardown),
		cmocka_unit_test_setup_teardown(close_while_backing_off_disarms_the_timer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(accept_backs_off_on_real_emfile_and_recovers, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
