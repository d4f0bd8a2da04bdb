/* SPDX-License-Identifier: MIT */
/*
 * Fidelity cases, one body per behaviour, run unchanged on the epoll driver over loopback
 * (tests/os/test_os_fidelity.c) and on the simulator (tests/sim/test_sim_fidelity.c).
 *
 * Methodology: each case gets a runtime over the driver under test, a listener on
 * 127.0.0.1:0 and one connected TCP pair (fidelity_open), or makes its own socketpair
 * through the driver for AsyncFd cases. Every wait is for the event itself, bounded by
 * GALE_TEST_EVENT_WAIT_NS on the runtime's clock (the virtual clock on the simulator), so
 * the cases pass on a loaded machine and never on a timing accident. Expected answers are
 * exact and the same for both backends, driver-level results included; where Linux
 * decides an answer only after an ACK the test cannot watch (LAST_ACK to CLOSE), the case
 * waits until the answer changes, within the bound.
 */
#include <errno.h>
#include <string.h>

#include <gale/async_fd.h>
#include <gale/error.h>
#include <gale/rt.h>
#include <gale/socket_addr.h>
#include <gale/tcp.h>

#include "fidelity_cases.h"

#define STEP_NS (1000 * 1000) /* One bounded turn while polling for a changing answer. */
#define MASK_ALL                                                                           \
	(GALE_READY_READ | GALE_READY_WRITE | GALE_READY_RDHUP | GALE_READY_HUP |          \
	 GALE_READY_ERROR)

/* ---- Running the runtime -------------------------------------------------------------- */

static int64_t deadline_get(struct fidelity *f)
{
	return gale_runtime_now_ns(&f->runtime) + GALE_TEST_EVENT_WAIT_NS;
}

/* One turn that waits at most until deadline_ns (and at most step_ns when > 0). */
static void turn_bounded(struct fidelity *f, int64_t deadline_ns, int64_t step_ns)
{
	int64_t now_ns = gale_runtime_now_ns(&f->runtime);
	if (now_ns >= deadline_ns)
		fail_msg("the event did not come within %lld s",
			 (long long)(GALE_TEST_EVENT_WAIT_NS / 1000000000));
	int64_t wait_ns = deadline_ns - now_ns;
	if (step_ns > 0 && wait_ns > step_ns)
		wait_ns = step_ns;
	assert_int_equal(gale_runtime_turn(&f->runtime, wait_ns), 0);
}

static struct gale_cx cx_for(struct fidelity *f, uint64_t id)
{
	struct gale_cx cx = {gale_test_waker(&f->log, id)};
	return cx;
}

static uint32_t wakes_of(const struct fidelity *f, uint64_t id)
{
	return f->log.wake_counts[id % 16];
}

void fidelity_turn_until_woken(struct fidelity *f, uint64_t id)
{
	int64_t deadline_ns = deadline_get(f);
	while (wakes_of(f, id) == 0)
		turn_bounded(f, deadline_ns, 0);
}

static struct gale_task_handle spawn(struct fidelity *f, gale_poll_fn *poll, void *data)
{
	struct gale_task_handle handle;
	assert_int_equal(gale_executor_spawn(&f->runtime.executor, poll, data, &handle), 0);
	return handle;
}

/* Runs the runtime until the task finished, then joins it. */
static int join(struct fidelity *f, struct gale_task_handle handle)
{
	int64_t deadline_ns = deadline_get(f);
	for (;;) {
		gale_executor_run_ready(&f->runtime.executor, 0);
		if (gale_executor_is_finished(&f->runtime.executor, handle))
			break;
		turn_bounded(f, deadline_ns, 0);
	}
	int result = -1;
	assert_int_equal(gale_executor_try_join(&f->runtime.executor, handle, &result), 0);
	return result;
}

/* ---- Tasks ---------------------------------------------------------------------------- */

struct accept_task {
	struct gale_tcp_listener *listener; /* Borrowed. */
	struct gale_tcp_stream *stream;     /* Filled. */
};

static int accept_task_poll(void *data, struct gale_cx *cx)
{
	struct accept_task *task = data;
	return gale_tcp_listener_poll_accept(task->listener, cx, task->stream, NULL);
}

struct connect_task {
	struct gale_tcp_connect future; /* The connect. */
	struct gale_tcp_stream *stream; /* Filled. */
};

static int connect_task_poll(void *data, struct gale_cx *cx)
{
	struct connect_task *task = data;
	return gale_tcp_connect_poll(&task->future, cx, task->stream);
}

struct byte_task {
	struct gale_tcp_stream *stream; /* Borrowed. */
	uint8_t byte;                   /* Written, or read. */
	bool is_write;                  /* Which. */
};

static int byte_task_poll(void *data, struct gale_cx *cx)
{
	struct byte_task *task = data;
	if (task->is_write) {
		size_t written = 0;
		int rc = gale_tcp_stream_poll_write(task->stream, cx, &task->byte, 1, &written);
		return rc != 0 ? rc : (written == 1 ? 0 : -EIO);
	}
	struct gale_read_buf rb;
	gale_read_buf_init(&rb, &task->byte, 1);
	int rc = gale_tcp_stream_poll_read(task->stream, cx, &rb);
	return rc != 0 ? rc : (rb.len_filled == 1 ? 0 : GALE_E_UNEXPECTED_EOF);
}

void fidelity_connect_accept(struct fidelity *f, struct gale_tcp_listener *listener,
			     const struct gale_socket_addr *addr, struct gale_tcp_stream *client,
			     struct gale_tcp_stream *server)
{
	struct accept_task accept_task = {listener, server};
	struct connect_task connect_task = {.stream = client};
	gale_tcp_connect_init(&connect_task.future, &f->runtime, addr, 1);
	struct gale_task_handle accepting = spawn(f, accept_task_poll, &accept_task);
	struct gale_task_handle connecting = spawn(f, connect_task_poll, &connect_task);
	assert_int_equal(join(f, connecting), 0);
	assert_int_equal(join(f, accepting), 0);
	gale_tcp_connect_deinit(&connect_task.future);
}

void fidelity_byte_exchange(struct fidelity *f, struct gale_tcp_stream *from,
			    struct gale_tcp_stream *to)
{
	struct byte_task writer = {.stream = from, .byte = 0x5A, .is_write = true};
	struct byte_task reader = {.stream = to, .byte = 0, .is_write = false};
	struct gale_task_handle writing = spawn(f, byte_task_poll, &writer);
	struct gale_task_handle reading = spawn(f, byte_task_poll, &reader);
	assert_int_equal(join(f, writing), 0);
	assert_int_equal(join(f, reading), 0);
	assert_int_equal(reader.byte, 0x5A);
}

/* ---- Fixture -------------------------------------------------------------------------- */

void fidelity_open(struct fidelity *f, struct gale_driver *driver)
{
	memset(f, 0, sizeof(*f));
	f->driver = driver;
	assert_int_equal(gale_runtime_init(&f->runtime, driver, NULL), 0);
	assert_int_equal(gale_tcp_listener_bind_text(&f->listener, &f->runtime, "127.0.0.1:0", 0),
			 0);
	assert_int_equal(gale_tcp_listener_local_addr(&f->listener, &f->listener_addr), 0);
	fidelity_connect_accept(f, &f->listener, &f->listener_addr, &f->client, &f->server);
}

void fidelity_close(struct fidelity *f)
{
	if (gale_tcp_stream_is_open(&f->client))
		assert_int_equal(gale_tcp_stream_close(&f->client), 0);
	if (gale_tcp_stream_is_open(&f->server))
		assert_int_equal(gale_tcp_stream_close(&f->server), 0);
	if (gale_tcp_listener_fd(&f->listener) >= 0)
		assert_int_equal(gale_tcp_listener_close(&f->listener), 0);
	assert_int_equal(gale_runtime_deinit(&f->runtime), 0);
}

/* ---- Helpers for the cases ------------------------------------------------------------ */

/* Waits until stream's readiness for interest includes one of want; returns the bits. */
static uint32_t ready_wait(struct fidelity *f, struct gale_tcp_stream *stream,
			   uint32_t interest, uint32_t want)
{
	int64_t deadline_ns = deadline_get(f);
	for (uint64_t id = 100;; id++) {
		struct gale_tcp_ready future;
		gale_tcp_ready_init(&future, stream, interest);
		struct gale_cx cx = cx_for(f, id);
		uint32_t ready = 0;
		int rc = gale_tcp_ready_poll(&future, &cx, &ready);
		gale_tcp_ready_deinit(&future);
		if (rc == 0 && (ready & want) != 0)
			return ready;
		assert_true(rc == 0 || rc == GALE_PENDING);
		/* Ready for something else: the bits wanted need one more event. */
		turn_bounded(f, deadline_ns, rc == 0 ? STEP_NS : 0);
	}
}

/* Reads until end of stream; no data is expected before it. */
static void eof_read(struct fidelity *f, struct gale_tcp_stream *stream)
{
	int64_t deadline_ns = deadline_get(f);
	for (;;) {
		uint8_t byte;
		struct gale_read_buf rb;
		gale_read_buf_init(&rb, &byte, 1);
		struct gale_cx cx = cx_for(f, 7);
		int rc = gale_tcp_stream_poll_read(stream, &cx, &rb);
		if (rc == 0) {
			assert_int_equal(rb.len_filled, 0);
			return;
		}
		assert_int_equal(rc, GALE_PENDING);
		turn_bounded(f, deadline_ns, 0);
	}
}

/*
 * shutdown(WRITE) through the driver until it answers -ENOTCONN: Linux moves from
 * LAST_ACK to CLOSE when the ACK of this socket's FIN arrives, which no readiness shows;
 * meanwhile shutdown is a no-op that answers 0. Any other answer fails.
 */
static void shutdown_until_not_connected(struct fidelity *f, int fd)
{
	int64_t deadline_ns = deadline_get(f);
	for (;;) {
		int rc = gale_driver_shutdown(f->driver, fd, GALE_SHUTDOWN_WRITE);
		if (rc == -ENOTCONN)
			return;
		assert_int_equal(rc, 0);
		turn_bounded(f, deadline_ns, STEP_NS);
	}
}

/* Every stream-level shutdown of a stream whose connection is gone: 0, again and again. */
static void shutdowns_all_succeed(struct fidelity *f, struct gale_tcp_stream *stream)
{
	struct gale_cx cx = cx_for(f, 8);
	assert_int_equal(gale_tcp_stream_poll_shutdown(stream, &cx), 0);
	assert_int_equal(gale_tcp_stream_poll_shutdown(stream, &cx), 0);
	assert_int_equal(gale_async_write_poll_shutdown(gale_tcp_stream_writer(stream), &cx), 0);
	assert_int_equal(gale_tcp_stream_shutdown(stream, GALE_SHUTDOWN_WRITE), 0);
	assert_int_equal(gale_tcp_stream_shutdown(stream, GALE_SHUTDOWN_WRITE), 0);
	assert_int_equal(gale_tcp_stream_shutdown(stream, GALE_SHUTDOWN_BOTH), 0);
	assert_int_equal(gale_tcp_stream_shutdown(stream, GALE_SHUTDOWN_READ), 0);
	assert_int_equal(wakes_of(f, 8), 0);
}

/* ---- Item 1: shutdown of a connection that is already gone ----------------------------- */

void fidelity_shutdown_after_peer_reset(struct fidelity *f)
{
	/* SO_LINGER 0: the server's close sends a RST instead of a FIN. */
	assert_int_equal(gale_tcp_stream_linger_set(&f->server, 0), 0);
	assert_int_equal(gale_tcp_stream_close(&f->server), 0);
	uint32_t ready = ready_wait(f, &f->client, GALE_READY_READ,
				    GALE_READY_HUP | GALE_READY_ERROR);
	assert_int_equal(ready & (GALE_READY_HUP | GALE_READY_ERROR),
			 GALE_READY_HUP | GALE_READY_ERROR);
	/* The driver op says what the kernel says, on both backends alike. */
	int fd = gale_tcp_stream_fd(&f->client);
	assert_int_equal(gale_driver_shutdown(f->driver, fd, GALE_SHUTDOWN_WRITE), -ENOTCONN);
	assert_int_equal(gale_driver_shutdown(f->driver, fd, GALE_SHUTDOWN_READ), -ENOTCONN);
	/* The stream says the write side is shut down: it is. */
	shutdowns_all_succeed(f, &f->client);
	/* The owned write half's teardown shuts down too, and says 0. */
	struct gale_tcp_owned_read_half read_half;
	struct gale_tcp_owned_write_half write_half;
	assert_int_equal(gale_tcp_stream_into_split(&f->client, &read_half, &write_half), 0);
	assert_int_equal(gale_tcp_owned_write_half_deinit(&write_half), 0);
	assert_int_equal(gale_tcp_owned_read_half_deinit(&read_half), 0);
	assert_false(gale_tcp_stream_is_open(&f->client));
}

void fidelity_shutdown_after_both_sides_finished(struct fidelity *f)
{
	struct gale_cx cx = cx_for(f, 9);
	assert_int_equal(gale_tcp_stream_poll_shutdown(&f->client, &cx), 0);
	eof_read(f, &f->server);
	assert_int_equal(gale_tcp_stream_shutdown(&f->server, GALE_SHUTDOWN_WRITE), 0);
	eof_read(f, &f->client);
	/* The client's FIN was acknowledged (the server's FIN carried the ACK) and the
	 * server's FIN arrived: TCP_CLOSE, and shutdown(2) says so on both backends. */
	int client_fd = gale_tcp_stream_fd(&f->client);
	assert_int_equal(gale_driver_shutdown(f->driver, client_fd, GALE_SHUTDOWN_WRITE),
			 -ENOTCONN);
	shutdowns_all_succeed(f, &f->client);
	/* The server reaches TCP_CLOSE when the client's last ACK arrives. */
	shutdown_until_not_connected(f, gale_tcp_stream_fd(&f->server));
	shutdowns_all_succeed(f, &f->server);
	assert_int_equal(wakes_of(f, 9), 0);
}

void fidelity_shutdown_after_peer_closed(struct fidelity *f)
{
	/* An orderly close (nothing unread): a FIN, and the client is in CLOSE_WAIT. */
	assert_int_equal(gale_tcp_stream_close(&f->server), 0);
	eof_read(f, &f->client);
	int fd = gale_tcp_stream_fd(&f->client);
	/* The first shutdown sends the client's FIN: 0 on both backends. */
	assert_int_equal(gale_driver_shutdown(f->driver, fd, GALE_SHUTDOWN_WRITE), 0);
	/* Once the closed peer's kernel acknowledged it, the socket is TCP_CLOSE. */
	shutdown_until_not_connected(f, fd);
	shutdowns_all_succeed(f, &f->client);
}

/* ---- AsyncFd over a socketpair made through the driver --------------------------------- */

struct pair {
	struct gale_async_fd async_fd; /* End A, registered. */
	int peer_fd;                   /* End B, driven directly through the driver. */
};

static void pair_open(struct fidelity *f, struct pair *pair)
{
	int fds[2];
	assert_int_equal(gale_driver_socketpair(f->driver, fds), 0);
	assert_int_equal(gale_async_fd_init(&pair->async_fd, &f->runtime, fds[0]), 0);
	pair->peer_fd = fds[1];
}

static void pair_close(struct fidelity *f, struct pair *pair)
{
	assert_int_equal(gale_async_fd_guards_live(&pair->async_fd), 0);
	assert_int_equal(gale_async_fd_close(&pair->async_fd), 0);
	assert_int_equal(gale_driver_close(f->driver, pair->peer_fd), 0);
}

static void peer_write(struct fidelity *f, struct pair *pair, const char *text)
{
	size_t len = strlen(text);
	assert_int_equal(gale_driver_write(f->driver, pair->peer_fd, text, len), (ssize_t)len);
}

/* Polls a direction's readiness until a guard comes, turning the runtime in between. */
static void guard_wait(struct fidelity *f, struct pair *pair, enum gale_direction direction,
		       struct gale_async_fd_guard *guard_out)
{
	int64_t deadline_ns = deadline_get(f);
	for (;;) {
		struct gale_cx cx = cx_for(f, 10);
		int rc = direction == GALE_DIRECTION_READ
				 ? gale_async_fd_poll_read_ready(&pair->async_fd, &cx, guard_out)
				 : gale_async_fd_poll_write_ready(&pair->async_fd, &cx, guard_out);
		if (rc == 0)
			return;
		assert_int_equal(rc, GALE_PENDING);
		turn_bounded(f, deadline_ns, 0);
	}
}

/* Polls a ready future (any interest) until it completes. */
static void future_wait(struct fidelity *f, struct gale_async_fd_ready *future, uint64_t id,
			struct gale_async_fd_guard *guard_out)
{
	int64_t deadline_ns = deadline_get(f);
	for (;;) {
		struct gale_cx cx = cx_for(f, id);
		int rc = gale_async_fd_ready_poll(future, &cx, guard_out);
		if (rc == 0)
			return;
		assert_int_equal(rc, GALE_PENDING);
		turn_bounded(f, deadline_ns, 0);
	}
}

static ssize_t read_some(void *data, struct gale_driver *driver, int fd)
{
	uint8_t *buf = data;
	return gale_driver_read(driver, fd, buf, 64);
}

/* ---- Item 2: a guard after clear_ready --------------------------------------------------- */

void fidelity_guard_after_clear_reports_nothing(struct fidelity *f)
{
	struct pair pair;
	pair_open(f, &pair);
	struct gale_driver *driver = f->driver;
	int fd = gale_async_fd_fd(&pair.async_fd);
	uint8_t buf[64];

	/* clear_ready: nothing is vouched for afterwards; the observation stays recorded. */
	peer_write(f, &pair, "ab");
	struct gale_async_fd_guard guard;
	guard_wait(f, &pair, GALE_DIRECTION_READ, &guard);
	assert_int_equal(gale_async_fd_guard_ready(&guard), GALE_READY_READ);
	assert_int_equal(gale_driver_read(driver, fd, buf, sizeof(buf)), 2);
	assert_int_equal(gale_driver_read(driver, fd, buf, sizeof(buf)), -EAGAIN);
	gale_async_fd_guard_clear_ready(&guard);
	assert_int_equal(gale_async_fd_guard_ready(&guard), 0);
	assert_int_equal(guard.event.ready, GALE_READY_READ);

	/* clear_ready_matching: only the directions named stop being vouched for. The
	 * ready(READ|WRITE) future completes on WRITE alone, so READ is awaited first. */
	peer_write(f, &pair, "c");
	guard_wait(f, &pair, GALE_DIRECTION_READ, &guard);
	gale_async_fd_guard_retain_ready(&guard);
	struct gale_async_fd_ready both;
	gale_async_fd_ready_init(&both, &pair.async_fd, GALE_READY_INTEREST_ALL);
	future_wait(f, &both, 11, &guard);
	assert_int_equal(gale_async_fd_guard_ready(&guard), GALE_READY_READ | GALE_READY_WRITE);
	assert_int_equal(gale_driver_read(driver, fd, buf, sizeof(buf)), 1);
	assert_int_equal(gale_driver_read(driver, fd, buf, sizeof(buf)), -EAGAIN);
	gale_async_fd_guard_clear_ready_matching(&guard, GALE_READY_READ);
	assert_int_equal(gale_async_fd_guard_ready(&guard), GALE_READY_WRITE);
	gale_async_fd_ready_deinit(&both);

	/* retain_ready keeps the bits; try_io keeps them on progress, drops them on -EAGAIN. */
	guard_wait(f, &pair, GALE_DIRECTION_WRITE, &guard);
	gale_async_fd_guard_retain_ready(&guard);
	assert_int_equal(gale_async_fd_guard_ready(&guard), GALE_READY_WRITE);
	peer_write(f, &pair, "d");
	guard_wait(f, &pair, GALE_DIRECTION_READ, &guard);
	assert_int_equal(gale_async_fd_guard_try_io(&guard, read_some, buf), 1);
	assert_int_equal(gale_async_fd_guard_ready(&guard), GALE_READY_READ);
	guard_wait(f, &pair, GALE_DIRECTION_READ, &guard);
	assert_int_equal(gale_async_fd_guard_try_io(&guard, read_some, buf), -EAGAIN);
	assert_int_equal(gale_async_fd_guard_ready(&guard), 0);
	pair_close(f, &pair);
}

/* ---- Item 3: a woken readiness future reports only what is ready ------------------------ */

void fidelity_async_fd_readable_woken_by_data_reports_read(struct fidelity *f)
{
	struct pair pair;
	pair_open(f, &pair);
	struct gale_async_fd_ready readable;
	gale_async_fd_readable_init(&readable, &pair.async_fd);
	struct gale_async_fd_guard guard;
	struct gale_cx cx = cx_for(f, 12);
	assert_int_equal(gale_async_fd_ready_poll(&readable, &cx, &guard), GALE_PENDING);
	peer_write(f, &pair, "x");
	fidelity_turn_until_woken(f, 12);
	assert_int_equal(gale_async_fd_ready_poll(&readable, &cx, &guard), 0);
	/* Data alone: exactly READ, not the interest's whole mask (READ|RDHUP|HUP|ERROR). */
	assert_int_equal(guard.event.ready, GALE_READY_READ);
	assert_int_equal(gale_async_fd_guard_ready(&guard), GALE_READY_READ);
	gale_async_fd_guard_retain_ready(&guard);
	gale_async_fd_ready_deinit(&readable);
	pair_close(f, &pair);
}

static ssize_t write_chunk(void *data, struct gale_driver *driver, int fd)
{
	static const uint8_t chunk[4096];
	(void)data;
	return gale_driver_write(driver, fd, chunk, sizeof(chunk));
}

void fidelity_async_fd_writable_woken_reports_write(struct fidelity *f)
{
	struct pair pair;
	pair_open(f, &pair);
	/* Small buffers on the kernel (the simulator bounds by socket_buf_size): a quick fill. */
	int fd = gale_async_fd_fd(&pair.async_fd);
	assert_int_equal(gale_driver_sockopt_set(f->driver, fd, GALE_SOCKOPT_SNDBUF, 4096), 0);
	struct gale_async_fd_guard guard;
	ssize_t rc = 0;
	for (int i = 0; i < 10000 && rc != -EAGAIN; i++) {
		guard_wait(f, &pair, GALE_DIRECTION_WRITE, &guard);
		rc = gale_async_fd_guard_try_io(&guard, write_chunk, NULL);
		assert_true(rc > 0 || rc == -EAGAIN);
	}
	assert_int_equal(rc, -EAGAIN);
	struct gale_async_fd_ready writable;
	gale_async_fd_writable_init(&writable, &pair.async_fd);
	struct gale_cx cx = cx_for(f, 13);
	assert_int_equal(gale_async_fd_ready_poll(&writable, &cx, &guard), GALE_PENDING);
	uint8_t buf[4096];
	while (gale_driver_read(f->driver, pair.peer_fd, buf, sizeof(buf)) > 0)
		continue;
	fidelity_turn_until_woken(f, 13);
	assert_int_equal(gale_async_fd_ready_poll(&writable, &cx, &guard), 0);
	assert_int_equal(guard.event.ready, GALE_READY_WRITE);
	assert_int_equal(gale_async_fd_guard_ready(&guard), GALE_READY_WRITE);
	gale_async_fd_guard_retain_ready(&guard);
	gale_async_fd_ready_deinit(&writable);
	pair_close(f, &pair);
}

void fidelity_async_fd_readable_woken_by_fin_reports_read_rdhup(struct fidelity *f)
{
	struct pair pair;
	pair_open(f, &pair);
	struct gale_async_fd_ready readable;
	gale_async_fd_readable_init(&readable, &pair.async_fd);
	struct gale_async_fd_guard guard;
	struct gale_cx cx = cx_for(f, 14);
	assert_int_equal(gale_async_fd_ready_poll(&readable, &cx, &guard), GALE_PENDING);
	assert_int_equal(gale_driver_shutdown(f->driver, pair.peer_fd, GALE_SHUTDOWN_WRITE), 0);
	fidelity_turn_until_woken(f, 14);
	assert_int_equal(gale_async_fd_ready_poll(&readable, &cx, &guard), 0);
	/* The peer's end of stream: READ|RDHUP; no hang-up, no error (it can still read). */
	assert_int_equal(gale_async_fd_guard_ready(&guard), GALE_READY_READ | GALE_READY_RDHUP);
	gale_async_fd_guard_retain_ready(&guard);
	gale_async_fd_ready_deinit(&readable);
	pair_close(f, &pair);
}

void fidelity_tcp_readable_woken_by_data_reports_read(struct fidelity *f)
{
	struct gale_tcp_ready readable;
	gale_tcp_readable_init(&readable, &f->client);
	struct gale_cx cx = cx_for(f, 15);
	uint32_t ready = 0;
	assert_int_equal(gale_tcp_ready_poll(&readable, &cx, &ready), GALE_PENDING);
	struct byte_task writer = {.stream = &f->server, .byte = 1, .is_write = true};
	assert_int_equal(join(f, spawn(f, byte_task_poll, &writer)), 0);
	fidelity_turn_until_woken(f, 15);
	assert_int_equal(gale_tcp_ready_poll(&readable, &cx, &ready), 0);
	assert_int_equal(ready, GALE_READY_READ);
	gale_tcp_ready_deinit(&readable);
	/* ready(READ|WRITE) on a writable stream with data: both, and nothing else. */
	struct gale_tcp_ready both;
	gale_tcp_ready_init(&both, &f->client, GALE_READY_INTEREST_ALL);
	assert_int_equal(gale_tcp_ready_poll(&both, &cx, &ready), 0);
	assert_int_equal(ready, GALE_READY_READ | GALE_READY_WRITE);
	assert_int_equal(ready & ~(uint32_t)MASK_ALL, 0);
	gale_tcp_ready_deinit(&both);
}

/* ---- Item 4: gale_tcp_listener_from_fd -------------------------------------------------- */

void fidelity_listener_from_fd_accepts(struct fidelity *f, int listening_fd)
{
	struct gale_tcp_listener listener;
	assert_int_equal(gale_tcp_listener_from_fd(&listener, &f->runtime, listening_fd), 0);
	assert_int_equal(gale_tcp_listener_fd(&listener), listening_fd);
	struct gale_socket_addr addr;
	assert_int_equal(gale_tcp_listener_local_addr(&listener, &addr), 0);
	assert_int_not_equal(gale_socket_addr_port(&addr), 0);
	for (int i = 0; i < 2; i++) {
		struct gale_tcp_stream client;
		struct gale_tcp_stream server;
		fidelity_connect_accept(f, &listener, &addr, &client, &server);
		fidelity_byte_exchange(f, &client, &server);
		fidelity_byte_exchange(f, &server, &client);
		assert_int_equal(gale_tcp_stream_close(&client), 0);
		assert_int_equal(gale_tcp_stream_close(&server), 0);
	}
	assert_int_equal(gale_tcp_listener_stats_get(&listener).accepts_count, 2);
	/* The listener owns the fd now: its close closes it. */
	assert_int_equal(gale_tcp_listener_close(&listener), 0);
	assert_int_equal(gale_tcp_listener_close(&listener), GALE_E_CLOSED);
}

/* from_fd refuses fd with expected; the fd is still open and the caller's afterwards. */
static void from_fd_refused(struct fidelity *f, int fd, int expected)
{
	struct gale_tcp_listener listener;
	assert_int_equal(gale_tcp_listener_from_fd(&listener, &f->runtime, fd), expected);
	assert_int_equal(gale_tcp_listener_fd(&listener), -1);
	assert_int_equal(gale_tcp_listener_close(&listener), GALE_E_CLOSED);
}

static int tcp_socket_bound(struct fidelity *f)
{
	int fd = gale_driver_socket(f->driver, AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct gale_socket_addr addr;
	assert_int_equal(gale_socket_addr_parse("127.0.0.1:0", &addr), 0);
	assert_int_equal(gale_driver_bind(f->driver, fd, (const struct sockaddr *)&addr.storage,
					  addr.len), 0);
	return fd;
}

void fidelity_listener_from_fd_refuses_what_is_not_listening(struct fidelity *f)
{
	struct gale_driver *driver = f->driver;
	int fds[2];
	assert_int_equal(gale_driver_pipe(driver, fds), 0);
	from_fd_refused(f, fds[0], -ENOTSOCK);
	/* A number just closed is no fd at all. */
	assert_int_equal(gale_driver_close(driver, fds[1]), 0);
	from_fd_refused(f, fds[1], -EBADF);
	assert_int_equal(gale_driver_close(driver, fds[0]), 0);

	assert_int_equal(gale_driver_socketpair(driver, fds), 0);
	from_fd_refused(f, fds[0], -EAFNOSUPPORT);
	assert_int_equal(gale_driver_close(driver, fds[0]), 0);
	assert_int_equal(gale_driver_close(driver, fds[1]), 0);

	int fd = gale_driver_socket(driver, AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	from_fd_refused(f, fd, -EINVAL); /* Not even bound. */
	assert_int_equal(gale_driver_close(driver, fd), 0);
	fd = tcp_socket_bound(f);
	from_fd_refused(f, fd, -EINVAL); /* Bound, never listen()ed: gale does not listen. */
	assert_int_equal(gale_driver_close(driver, fd), 0);

	/* A connected stream's fd: not listening (checked before anything touches it). */
	from_fd_refused(f, gale_tcp_stream_fd(&f->client), -EINVAL);
	/* A listening fd registered already (the fixture's own listener). */
	from_fd_refused(f, gale_tcp_listener_fd(&f->listener), -EEXIST);
	/* Both are untouched: they still work. */
	fidelity_byte_exchange(f, &f->client, &f->server);
	struct gale_tcp_stream client;
	struct gale_tcp_stream server;
	fidelity_connect_accept(f, &f->listener, &f->listener_addr, &client, &server);
	assert_int_equal(gale_tcp_stream_close(&client), 0);
	assert_int_equal(gale_tcp_stream_close(&server), 0);
}

/* ---- Item 6: buffer sizes and SO_ACCEPTCONN --------------------------------------------- */

void fidelity_buffer_sizes_read_back_doubled(struct fidelity *f)
{
	/* Values whose double is above any kernel's minimum and below the default maximum
	 * (212992): every Linux and the simulator must read back exactly twice the value. */
	static const int values[] = {4096, 16384, 65536, 100000};
	static const enum gale_sockopt opts[] = {GALE_SOCKOPT_SNDBUF, GALE_SOCKOPT_RCVBUF};
	int fd = gale_driver_socket(f->driver, AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	for (size_t o = 0; o < 2; o++) {
		for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
			int got = 0;
			assert_int_equal(gale_driver_sockopt_set(f->driver, fd, opts[o], values[i]),
					 0);
			assert_int_equal(gale_driver_sockopt_get(f->driver, fd, opts[o], &got), 0);
			assert_int_equal(got, 2 * values[i]);
		}
	}
	/* The same on a connected stream, through the stream's fd. */
	int stream_fd = gale_tcp_stream_fd(&f->client);
	int got = 0;
	assert_int_equal(gale_driver_sockopt_set(f->driver, stream_fd, GALE_SOCKOPT_RCVBUF, 8192),
			 0);
	assert_int_equal(gale_driver_sockopt_get(f->driver, stream_fd, GALE_SOCKOPT_RCVBUF, &got),
			 0);
	assert_int_equal(got, 16384);
	assert_int_equal(gale_driver_close(f->driver, fd), 0);
}

void fidelity_acceptconn_reads_listening_state(struct fidelity *f)
{
	struct gale_driver *driver = f->driver;
	int value = -1;
	assert_int_equal(gale_driver_sockopt_get(driver, gale_tcp_listener_fd(&f->listener),
						 GALE_SOCKOPT_ACCEPTCONN, &value), 0);
	assert_int_equal(value, 1);
	assert_int_equal(gale_driver_sockopt_get(driver, gale_tcp_stream_fd(&f->client),
						 GALE_SOCKOPT_ACCEPTCONN, &value), 0);
	assert_int_equal(value, 0);
	assert_int_equal(gale_driver_sockopt_get(driver, gale_tcp_stream_fd(&f->server),
						 GALE_SOCKOPT_ACCEPTCONN, &value), 0);
	assert_int_equal(value, 0);
	/* Read-only: no value may be set. */
	assert_int_equal(gale_driver_sockopt_set(driver, gale_tcp_listener_fd(&f->listener),
						 GALE_SOCKOPT_ACCEPTCONN, 0), -EINVAL);
	assert_int_equal(gale_driver_sockopt_set(driver, gale_tcp_listener_fd(&f->listener),
						 GALE_SOCKOPT_ACCEPTCONN, 1), -EINVAL);
	int fd = tcp_socket_bound(f);
	assert_int_equal(gale_driver_sockopt_get(driver, fd, GALE_SOCKOPT_ACCEPTCONN, &value), 0);
	assert_int_equal(value, 0);
	assert_int_equal(gale_driver_listen(driver, fd, 4), 0);
	assert_int_equal(gale_driver_sockopt_get(driver, fd, GALE_SOCKOPT_ACCEPTCONN, &value), 0);
	assert_int_equal(value, 1);
	assert_int_equal(gale_driver_close(driver, fd), 0);
	int fds[2];
	assert_int_equal(gale_driver_socketpair(driver, fds), 0);
	assert_int_equal(gale_driver_sockopt_get(driver, fds[0], GALE_SOCKOPT_ACCEPTCONN, &value),
			 0);
	assert_int_equal(value, 0);
	assert_int_equal(gale_driver_close(driver, fds[0]), 0);
	assert_int_equal(gale_driver_close(driver, fds[1]), 0);
	assert_int_equal(gale_driver_pipe(driver, fds), 0);
	assert_int_equal(gale_driver_sockopt_get(driver, fds[0], GALE_SOCKOPT_ACCEPTCONN, &value),
			 -ENOTSOCK);
	assert_int_equal(gale_driver_close(driver, fds[0]), 0);
	assert_int_equal(gale_driver_close(driver, fds[1]), 0);
}

/* ---- Item 6 (continued): buffer sizes bound the stream; peers and listeners ------------- */

#define FILL_CHUNK 1024
#define FILL_MAX (64u << 20) /* No kernel queues this much behind explicit small sizes. */

/* Writes 1 KiB chunks to fd until -EAGAIN; returns the bytes taken (fails on any error). */
static size_t fill_until_would_block(struct fidelity *f, int fd)
{
	static const uint8_t chunk[FILL_CHUNK];
	size_t total = 0;
	for (;;) {
		ssize_t n = gale_driver_write(f->driver, fd, chunk, sizeof(chunk));
		if (n == -EAGAIN)
			return total;
		assert_true(n > 0);
		total += (size_t)n;
		assert_true(total < FILL_MAX);
	}
}

/* Bytes a client can queue toward a server accepted with SO_RCVBUF = size (set on the
 * listener, inherited) while the client's SO_SNDBUF is size too. */
static size_t tcp_queued_with(struct fidelity *f, int size)
{
	int listener_fd = gale_tcp_listener_fd(&f->listener);
	assert_int_equal(gale_driver_sockopt_set(f->driver, listener_fd, GALE_SOCKOPT_RCVBUF,
						 size), 0);
	struct gale_tcp_stream client;
	struct gale_tcp_stream server;
	fidelity_connect_accept(f, &f->listener, &f->listener_addr, &client, &server);
	int client_fd = gale_tcp_stream_fd(&client);
	assert_int_equal(gale_driver_sockopt_set(f->driver, client_fd, GALE_SOCKOPT_SNDBUF, size),
			 0);
	size_t queued = fill_until_would_block(f, client_fd);
	assert_int_equal(gale_tcp_stream_close(&client), 0);
	assert_int_equal(gale_tcp_stream_close(&server), 0);
	return queued;
}

/* Bytes one socketpair end can queue with its SO_SNDBUF = size. */
static size_t pair_queued_with(struct fidelity *f, int size)
{
	int fds[2];
	assert_int_equal(gale_driver_socketpair(f->driver, fds), 0);
	assert_int_equal(gale_driver_sockopt_set(f->driver, fds[0], GALE_SOCKOPT_SNDBUF, size), 0);
	size_t queued = fill_until_would_block(f, fds[0]);
	assert_int_equal(gale_driver_close(f->driver, fds[0]), 0);
	assert_int_equal(gale_driver_close(f->driver, fds[1]), 0);
	return queued;
}

void fidelity_smaller_buffers_queue_fewer_bytes(struct fidelity *f)
{
	/* Linux (6.x, loopback): 4096 -> about 9 KiB, 32768 -> about 97 KiB over TCP; 4096 ->
	 * 4 KiB, 32768 -> 29 KiB over AF_UNIX. The sim: 8, 64, 4 and 32 KiB (sim.h). Only the
	 * order and a loose bound are common to both. */
	size_t tcp_small = tcp_queued_with(f, 4096);
	size_t tcp_large = tcp_queued_with(f, 32768);
	assert_true(tcp_small >= 4096 && tcp_small < 65536);
	assert_true(tcp_small < tcp_large);
	size_t pair_small = pair_queued_with(f, 4096);
	size_t pair_large = pair_queued_with(f, 32768);
	assert_true(pair_small >= 2048 && pair_small < 65536);
	assert_true(pair_small < pair_large);
}

/* addr_peer (getpeername): the peer while one FIN went; -ENOTCONN once both did. */
void fidelity_peer_address_gone_after_both_fins(struct fidelity *f)
{
	struct gale_driver *driver = f->driver;
	int client_fd = gale_tcp_stream_fd(&f->client);
	int server_fd = gale_tcp_stream_fd(&f->server);
	struct sockaddr_storage addr;
	socklen_t addr_len = 0;
	assert_int_equal(gale_driver_shutdown(driver, client_fd, GALE_SHUTDOWN_WRITE), 0);
	eof_read(f, &f->server);
	assert_int_equal(gale_driver_addr_peer(driver, client_fd, &addr, &addr_len), 0);
	assert_int_equal(gale_driver_addr_peer(driver, server_fd, &addr, &addr_len), 0);
	assert_int_equal(gale_driver_shutdown(driver, server_fd, GALE_SHUTDOWN_WRITE), 0);
	eof_read(f, &f->client);
	shutdown_until_not_connected(f, client_fd);
	shutdown_until_not_connected(f, server_fd);
	assert_int_equal(gale_driver_addr_peer(driver, client_fd, &addr, &addr_len), -ENOTCONN);
	assert_int_equal(gale_driver_addr_peer(driver, server_fd, &addr, &addr_len), -ENOTCONN);
	/* The local address stays. */
	assert_int_equal(gale_driver_addr_local(driver, client_fd, &addr, &addr_len), 0);
}

/* shutdown(2) of a listener: 0; the write side alone changes nothing, the read side stops
 * listening (inet_shutdown on TCP_LISTEN); the socket may listen again. */
void fidelity_listener_shutdown_stops_listening(struct fidelity *f)
{
	struct gale_driver *driver = f->driver;
	int fd = tcp_socket_bound(f);
	int value = -1;
	assert_int_equal(gale_driver_listen(driver, fd, 4), 0);
	assert_int_equal(gale_driver_shutdown(driver, fd, GALE_SHUTDOWN_WRITE), 0);
	assert_int_equal(gale_driver_sockopt_get(driver, fd, GALE_SOCKOPT_ACCEPTCONN, &value), 0);
	assert_int_equal(value, 1);
	assert_int_equal(gale_driver_accept(driver, fd, NULL, NULL), -EAGAIN);
	assert_int_equal(gale_driver_shutdown(driver, fd, GALE_SHUTDOWN_READ), 0);
	assert_int_equal(gale_driver_sockopt_get(driver, fd, GALE_SOCKOPT_ACCEPTCONN, &value), 0);
	assert_int_equal(value, 0);
	assert_int_equal(gale_driver_accept(driver, fd, NULL, NULL), -EINVAL);
	assert_int_equal(gale_driver_listen(driver, fd, 4), 0);
	assert_int_equal(gale_driver_sockopt_get(driver, fd, GALE_SOCKOPT_ACCEPTCONN, &value), 0);
	assert_int_equal(value, 1);
	assert_int_equal(gale_driver_shutdown(driver, fd, GALE_SHUTDOWN_BOTH), 0);
	assert_int_equal(gale_driver_accept(driver, fd, NULL, NULL), -EINVAL);
	assert_int_equal(gale_driver_close(driver, fd), 0);
	/* A socket never connected: -ENOTCONN, whatever how is. */
	fd = tcp_socket_bound(f);
	assert_int_equal(gale_driver_shutdown(driver, fd, GALE_SHUTDOWN_WRITE), -ENOTCONN);
	assert_int_equal(gale_driver_close(driver, fd), 0);
}

/* Errors in the kernel's order: the fd, then the option, then the value. */
void fidelity_sockopt_errors_fd_first(struct fidelity *f)
{
	struct gale_driver *driver = f->driver;
	int fds[2];
	assert_int_equal(gale_driver_pipe(driver, fds), 0);
	assert_int_equal(gale_driver_sockopt_set(driver, fds[0], GALE_SOCKOPT_RCVBUF, -1),
			 -ENOTSOCK);
	assert_int_equal(gale_driver_close(driver, fds[0]), 0);
	assert_int_equal(gale_driver_close(driver, fds[1]), 0);
	assert_int_equal(gale_driver_sockopt_set(driver, fds[1], GALE_SOCKOPT_RCVBUF, -1), -EBADF);
	assert_int_equal(gale_driver_socketpair(driver, fds), 0);
	assert_int_equal(gale_driver_sockopt_set(driver, fds[0], GALE_SOCKOPT_NODELAY, -1),
			 -ENOPROTOOPT);
	assert_int_equal(gale_driver_sockopt_set(driver, fds[0], GALE_SOCKOPT_RCVBUF, -1),
			 -EINVAL);
	assert_int_equal(gale_driver_close(driver, fds[0]), 0);
	assert_int_equal(gale_driver_close(driver, fds[1]), 0);
}
