/* SPDX-License-Identifier: MIT */
/*
 * Loopback TCP: gale's TcpStream on the epoll driver against a hand-written edge-triggered
 * epoll loop doing the same work, measured in the same run.
 *
 * Two workloads, both single-threaded with both ends of one connection in one loop (so
 * the figures measure per-operation overhead, not scheduler wake-ups between threads):
 *   throughput  one connection, 64 KiB writes, BYTES total (default 1 GiB), then EOF;
 *   pingpong    ROUND_TRIPS round trips of a 64-byte message (default 100000).
 * gale (A) uses the public API only: a runtime over the epoll driver, the stream's reader
 * and writer fat pointers, tasks. The reference (B) is the canonical edge-triggered loop
 * of epoll(7) as Linux programs write it: a readiness flag per direction, set by an event
 * and cleared when a read or write returns EAGAIN or comes back short (on a Linux stream
 * socket a short read proves the buffer drained and a short write that it filled; gale
 * clears on the same proof because the epoll driver declares GALE_DRIVER_CAP_READ_SHORT_
 * DRAINED / _WRITE_SHORT_FULL). Both register both sockets for IN|OUT|RDHUP
 * edge-triggered, set TCP_NODELAY, and wait with epoll_wait(-1). Every reader, in every
 * contestant, reads into a buffer larger than what can arrive (64 KiB for throughput,
 * RECV_SIZE for ping-pong), so a ping-pong round trip is 6 syscalls: send, wait, read on
 * each side.
 * C, when built with GALE_BENCH_HAVE_LIBUV (CMake finds libuv through pkg-config), is
 * libuv doing the same work: both ends in one uv loop, TCP_NODELAY, uv_read_start into one
 * 64 KiB (or 64-byte) buffer, and writes at libuv's best: uv_try_write until it would
 * block, then one uv_write for the rest, resumed from its callback.
 * D, with --tokio PATH (scripts/bench.sh builds bench/tokio/), is tokio 1.24 doing the
 * same work in a child process, one process per run (bench/tokio/src/main.rs): a
 * current_thread runtime (one thread, like the others), a writer and a reader task (or a
 * client and a server task using write_all / read_exact), TCP_NODELAY; it times its own
 * loop (setup and process start are not timed) and prints the seconds.
 * A, B (C and D) alternate (A B C D A B C D ...) for ROUNDS rounds; medians, the median of
 * per-round ratios against raw (and gale against libuv and tokio), and the best run of
 * each (least disturbed by other load) are printed (goals: throughput >= 0.97 of raw and
 * >= 1 of libuv and tokio; ping-pong >= 1 of raw and >= 1.05 of libuv and
 * tokio), then the same as "@bench" rows (bench_report.h). The write policy (bytes and
 * writes per writer turn before the reader runs) is measured and printed.
 *
 *   cmake --preset bench && cmake --build --preset bench --target bench_tcp
 *   ./build/bench/bench/bench_tcp [--test throughput|pingpong]
 *       [--only gale|raw|libuv|tokio] [--bytes N] [--round-trips N] [--rounds N]
 *       [--registrations N] [--tokio build/bench/tokio/target/release/gale-bench-tokio]
 *   strace -c -f ./build/bench/bench/bench_tcp --test pingpong --only gale --rounds 1
 */
#define _GNU_SOURCE /* accept4. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gale/driver_epoll.h>
#include <gale/error.h>
#include <gale/rt.h>
#include <gale/socket_addr.h>
#include <gale/tcp.h>

#ifdef GALE_BENCH_HAVE_LIBUV
#include <uv.h>
#endif

#include "bench_report.h"

enum {
	CHUNK_SIZE = 64 * 1024, /* Bytes per write and per read (throughput). */
	MESSAGE_SIZE = 64,      /* Bytes per ping and per pong. */
	RECV_SIZE = 4096,       /* Ping-pong reads: more than a message, so a read is short. */
	ROUNDS_MAX = BENCH_SAMPLES_MAX, /* Upper bound of --rounds. */
};

struct bench_options {
	const char *test;           /* "throughput", "pingpong" or NULL for both. */
	const char *only;           /* "gale", "raw", "libuv", "tokio" or NULL for all. */
	const char *tokio;          /* The tokio contestant's program, or NULL (none). */
	uint64_t bytes;             /* Throughput bytes per run. */
	uint64_t round_trips;       /* Ping-pong round trips per run. */
	int rounds;                 /* A B pairs. */
	uint32_t registrations_max; /* gale runtime's reactor capacity (0: default). */
};

/* What one writer (or reader) turn did: from being run until it had to wait. */
struct bench_policy {
	uint64_t turns; /* Activations. */
	uint64_t calls; /* Successful write (read) calls. */
	uint64_t bytes; /* Bytes moved. */
};

struct bench_result {
	double seconds;             /* Wall time of the timed loop. */
	struct bench_policy writer; /* Throughput: writer turns. */
	struct bench_policy reader; /* Throughput: reader turns. */
};

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench_tcp: %s: %s\n", what, gale_strerror(rc));
	exit(1);
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ==== A: gale ============================================================================ */

struct gale_bench {
	struct gale_driver_epoll driver; /* The production driver. */
	struct gale_runtime runtime;     /* Over it. */
	struct gale_tcp_stream a;        /* Client end. */
	struct gale_tcp_stream b;        /* Server end. */
};

struct gale_setup_task {
	struct gale_tcp_listener *listener; /* Borrowed. */
	struct gale_tcp_connect connect;    /* Client side. */
	struct gale_bench *bench;           /* Streams land here. */
	bool connected;                     /* a is filled. */
	bool accepted;                      /* b is filled. */
};

static int gale_setup_poll(void *data, struct gale_cx *cx)
{
	struct gale_setup_task *task = data;
	if (!task->connected) {
		int rc = gale_tcp_connect_poll(&task->connect, cx, &task->bench->a);
		if (rc != 0)
			return rc;
		task->connected = true;
	}
	if (!task->accepted) {
		int rc = gale_tcp_listener_poll_accept(task->listener, cx, &task->bench->b, NULL);
		if (rc != 0)
			return rc;
		task->accepted = true;
	}
	return 0;
}

/* Runs until the task finished (ready tasks first, so a finished task never waits). */
static int gale_join(struct gale_runtime *runtime, struct gale_task_handle handle)
{
	for (;;) {
		gale_executor_run_ready(&runtime->executor, 0);
		if (gale_executor_is_finished(&runtime->executor, handle))
			break;
		int rc = gale_runtime_turn(runtime, -1);
		if (rc < 0)
			die("runtime turn", rc);
	}
	int result = 0;
	int rc = gale_executor_try_join(&runtime->executor, handle, &result);
	if (rc < 0)
		die("join", rc);
	return result;
}

/* Runs every task to completion (gale_runtime_run), then takes the two results. */
static void gale_run_both(struct gale_runtime *runtime, struct gale_task_handle first,
			  struct gale_task_handle second, const char *what)
{
	int rc = gale_runtime_run(runtime);
	if (rc < 0)
		die(what, rc);
	int results[2] = {0, 0};
	if (gale_executor_try_join(&runtime->executor, first, &results[0]) < 0 ||
	    gale_executor_try_join(&runtime->executor, second, &results[1]) < 0)
		die(what, -ESRCH);
	if (results[0] < 0 || results[1] < 0)
		die(what, results[0] < 0 ? results[0] : results[1]);
}

static struct gale_task_handle gale_spawn(struct gale_runtime *runtime, gale_poll_fn *poll,
					  void *data)
{
	struct gale_task_handle handle;
	int rc = gale_executor_spawn(&runtime->executor, poll, data, &handle);
	if (rc < 0)
		die("spawn", rc);
	return handle;
}

static void gale_bench_open(struct gale_bench *bench, const struct bench_options *options)
{
	int rc = gale_driver_epoll_init(&bench->driver);
	if (rc < 0)
		die("epoll init", rc);
	struct gale_runtime_options runtime_options = gale_runtime_options_default();
	if (options->registrations_max != 0)
		runtime_options.registrations_max = options->registrations_max;
	rc = gale_runtime_init(&bench->runtime, &bench->driver.base, &runtime_options);
	if (rc < 0)
		die("runtime init", rc);
	struct gale_tcp_listener listener;
	rc = gale_tcp_listener_bind_text(&listener, &bench->runtime, "127.0.0.1:0", 0);
	struct gale_socket_addr addr;
	if (rc == 0)
		rc = gale_tcp_listener_local_addr(&listener, &addr);
	if (rc < 0)
		die("listen", rc);
	struct gale_setup_task task = {.listener = &listener, .bench = bench};
	gale_tcp_connect_init(&task.connect, &bench->runtime, &addr, 1);
	rc = gale_join(&bench->runtime, gale_spawn(&bench->runtime, gale_setup_poll, &task));
	if (rc < 0)
		die("connect/accept", rc);
	gale_tcp_connect_deinit(&task.connect);
	(void)gale_tcp_listener_close(&listener);
	if (gale_tcp_stream_nodelay_set(&bench->a, true) < 0 ||
	    gale_tcp_stream_nodelay_set(&bench->b, true) < 0)
		die("nodelay", -EINVAL);
}

static void gale_bench_close(struct gale_bench *bench)
{
	(void)gale_tcp_stream_close(&bench->a);
	(void)gale_tcp_stream_close(&bench->b);
	int rc = gale_runtime_deinit(&bench->runtime);
	if (rc < 0)
		die("runtime deinit", rc);
	gale_driver_epoll_deinit(&bench->driver);
}

/* Throughput writer: 64 KiB writes until the total, then shutdown (EOF at the reader). */
struct gale_writer_task {
	struct gale_async_write writer; /* The client's writer. */
	const uint8_t *chunk;           /* CHUNK_SIZE bytes of source. */
	uint64_t left;                  /* Bytes still to write. */
	size_t offset;                  /* Cursor within the chunk (after short writes). */
	struct bench_policy policy;     /* Turns, writes, bytes. */
};

static int gale_writer_poll(void *data, struct gale_cx *cx)
{
	struct gale_writer_task *task = data;
	task->policy.turns++;
	while (task->left > 0) {
		size_t len = CHUNK_SIZE - task->offset;
		if (len > task->left)
			len = (size_t)task->left;
		size_t n = 0;
		int rc = gale_async_write_poll(task->writer, cx, task->chunk + task->offset, len,
					       &n);
		if (rc != 0)
			return rc;
		task->policy.calls++;
		task->policy.bytes += n;
		task->left -= n;
		task->offset = (task->offset + n) % CHUNK_SIZE;
	}
	return gale_async_write_poll_shutdown(task->writer, cx);
}

/* Throughput reader: 64 KiB reads until EOF. */
struct gale_reader_task {
	struct gale_async_read reader; /* The server's reader. */
	uint8_t *buf;                  /* CHUNK_SIZE bytes. */
	uint64_t sink;                 /* Folds a byte per read so nothing is optimised away. */
	struct bench_policy policy;    /* Turns, reads, bytes. */
};

static int gale_reader_poll(void *data, struct gale_cx *cx)
{
	struct gale_reader_task *task = data;
	task->policy.turns++;
	for (;;) {
		struct gale_read_buf rb;
		gale_read_buf_init(&rb, task->buf, CHUNK_SIZE);
		int rc = gale_async_read_poll(task->reader, cx, &rb);
		if (rc != 0)
			return rc;
		if (rb.len_filled == 0)
			return 0;
		task->sink += task->buf[rb.len_filled - 1];
		task->policy.calls++;
		task->policy.bytes += rb.len_filled;
	}
}

static struct bench_result gale_throughput(const struct bench_options *options,
					   const uint8_t *chunk, uint8_t *buf)
{
	struct gale_bench bench;
	gale_bench_open(&bench, options);
	struct gale_writer_task writer = {.writer = gale_tcp_stream_writer(&bench.a),
					  .chunk = chunk, .left = options->bytes};
	struct gale_reader_task reader = {.reader = gale_tcp_stream_reader(&bench.b), .buf = buf};
	double start = now_seconds();
	struct gale_task_handle writing = gale_spawn(&bench.runtime, gale_writer_poll, &writer);
	struct gale_task_handle reading = gale_spawn(&bench.runtime, gale_reader_poll, &reader);
	gale_run_both(&bench.runtime, writing, reading, "gale throughput");
	struct bench_result result = {.seconds = now_seconds() - start};
	if (reader.policy.bytes != options->bytes)
		die("gale throughput", -EIO);
	result.writer = writer.policy;
	result.reader = reader.policy;
	gale_bench_close(&bench);
	return result;
}

/* Ping-pong: one side sends first (client), the other answers (server). */
struct gale_pingpong_task {
	struct gale_async_read reader;  /* This end's reader. */
	struct gale_async_write writer; /* This end's writer. */
	bool sends_first;               /* The client. */
	uint64_t total;                 /* Messages each way. */
	uint64_t sent;                  /* Messages sent. */
	uint64_t received;              /* Messages received. */
	size_t offset;                  /* Cursor within the current message. */
	uint8_t message[MESSAGE_SIZE];  /* Outgoing. */
	uint8_t inbox[RECV_SIZE];       /* Incoming: each read asks for all of it. */
};

/* The client sends when it has all its answers; the server when it owes one. */
static bool pingpong_is_sending(bool sends_first, uint64_t sent, uint64_t received)
{
	return sends_first ? sent == received : sent < received;
}

static int gale_pingpong_step(struct gale_pingpong_task *task, struct gale_cx *cx, bool sending)
{
	size_t n = 0;
	if (sending) {
		int rc = gale_async_write_poll(task->writer, cx, task->message + task->offset,
					       MESSAGE_SIZE - task->offset, &n);
		if (rc != 0)
			return rc;
	} else {
		struct gale_read_buf rb;
		gale_read_buf_init(&rb, task->inbox, RECV_SIZE);
		int rc = gale_async_read_poll(task->reader, cx, &rb);
		if (rc != 0)
			return rc;
		if (rb.len_filled == 0)
			return GALE_E_UNEXPECTED_EOF;
		n = rb.len_filled;
		if (n > MESSAGE_SIZE - task->offset)
			return -EPROTO; /* The peer sent before its turn. */
	}
	task->offset += n;
	return 0;
}

static int gale_pingpong_poll(void *data, struct gale_cx *cx)
{
	struct gale_pingpong_task *task = data;
	while (task->sent < task->total || task->received < task->total) {
		bool sending = pingpong_is_sending(task->sends_first, task->sent, task->received);
		int rc = gale_pingpong_step(task, cx, sending);
		if (rc != 0)
			return rc;
		if (task->offset < MESSAGE_SIZE)
			continue;
		task->offset = 0;
		if (sending)
			task->sent++;
		else
			task->received++;
	}
	return 0;
}

static struct bench_result gale_pingpong(const struct bench_options *options)
{
	struct gale_bench bench;
	gale_bench_open(&bench, options);
	struct gale_pingpong_task client = {.reader = gale_tcp_stream_reader(&bench.a),
					    .writer = gale_tcp_stream_writer(&bench.a),
					    .sends_first = true, .total = options->round_trips};
	struct gale_pingpong_task server = {.reader = gale_tcp_stream_reader(&bench.b),
					    .writer = gale_tcp_stream_writer(&bench.b),
					    .total = options->round_trips};
	double start = now_seconds();
	struct gale_task_handle pinging = gale_spawn(&bench.runtime, gale_pingpong_poll, &client);
	struct gale_task_handle ponging = gale_spawn(&bench.runtime, gale_pingpong_poll, &server);
	gale_run_both(&bench.runtime, pinging, ponging, "gale pingpong");
	struct bench_result result = {.seconds = now_seconds() - start};
	gale_bench_close(&bench);
	return result;
}

/* ==== B: raw edge-triggered epoll ======================================================== */

struct raw_end {
	int fd;        /* Non-blocking socket. */
	bool readable; /* Set by EPOLLIN (and hang-up/error); cleared by EAGAIN or short. */
	bool writable; /* Set by EPOLLOUT (and hang-up/error); cleared by EAGAIN or short. */
	bool ended;    /* RDHUP, HUP or ERROR seen: final, so a short count clears nothing
			* (the end of stream after the last bytes gets no edge of its own). */
};

struct raw_bench {
	int epoll_fd;     /* The epoll instance. */
	struct raw_end a; /* Client end. */
	struct raw_end b; /* Server end. */
};

static void raw_check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "bench_tcp: raw %s: %s\n", what, strerror(errno));
		exit(1);
	}
}

static void raw_register(struct raw_bench *bench, struct raw_end *end, uint32_t id)
{
	int one = 1;
	raw_check(setsockopt(end->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0,
		  "nodelay");
	struct epoll_event event = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET};
	event.data.u32 = id;
	raw_check(epoll_ctl(bench->epoll_fd, EPOLL_CTL_ADD, end->fd, &event) == 0, "epoll_ctl");
	end->readable = false;
	end->writable = false;
	end->ended = false;
}

static void raw_bench_open(struct raw_bench *bench)
{
	int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	raw_check(listener >= 0, "socket");
	struct sockaddr_in addr = {.sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(addr);
	raw_check(bind(listener, (struct sockaddr *)&addr, len) == 0, "bind");
	raw_check(listen(listener, 1) == 0, "listen");
	raw_check(getsockname(listener, (struct sockaddr *)&addr, &len) == 0, "getsockname");
	bench->a.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	raw_check(bench->a.fd >= 0, "socket");
	raw_check(connect(bench->a.fd, (struct sockaddr *)&addr, len) == 0, "connect");
	bench->b.fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	raw_check(bench->b.fd >= 0, "accept");
	close(listener);
	raw_check(fcntl(bench->a.fd, F_SETFL, O_NONBLOCK) == 0, "fcntl");
	bench->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	raw_check(bench->epoll_fd >= 0, "epoll_create1");
	raw_register(bench, &bench->a, 0);
	raw_register(bench, &bench->b, 1);
}

static void raw_bench_close(struct raw_bench *bench)
{
	close(bench->a.fd);
	close(bench->b.fd);
	close(bench->epoll_fd);
}

/* One epoll_wait(-1): sets the flags of the ends that reported readiness. */
static void raw_wait(struct raw_bench *bench)
{
	struct epoll_event events[8];
	int count;
	do {
		count = epoll_wait(bench->epoll_fd, events, 8, -1);
	} while (count < 0 && errno == EINTR);
	raw_check(count >= 0, "epoll_wait");
	for (int i = 0; i < count; i++) {
		struct raw_end *end = events[i].data.u32 == 0 ? &bench->a : &bench->b;
		uint32_t bits = events[i].events;
		if (bits & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			end->ended = true;
		if (bits & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			end->readable = true;
		if (bits & (EPOLLOUT | EPOLLHUP | EPOLLERR))
			end->writable = true;
	}
}

/* Writes 64 KiB chunks until EAGAIN or a short send (flag cleared) or the total; then shuts
 * down. */
static void raw_writer_turn(struct raw_end *end, const uint8_t *chunk, uint64_t *left,
			    size_t *offset, struct bench_policy *policy)
{
	policy->turns++;
	while (*left > 0) {
		size_t len = CHUNK_SIZE - *offset;
		if (len > *left)
			len = (size_t)*left;
		ssize_t n = send(end->fd, chunk + *offset, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN) {
			end->writable = false;
			return;
		}
		raw_check(n > 0, "send");
		policy->calls++;
		policy->bytes += (uint64_t)n;
		*left -= (uint64_t)n;
		*offset = (*offset + (size_t)n) % CHUNK_SIZE;
		if ((size_t)n < len) {
			end->writable = end->ended; /* Short: the send buffer is full. */
			return;
		}
	}
	raw_check(shutdown(end->fd, SHUT_WR) == 0, "shutdown");
}

/* Reads 64 KiB chunks until EAGAIN or a short read (flag cleared); true at EOF. */
static bool raw_reader_turn(struct raw_end *end, uint8_t *buf, uint64_t *sink,
			    struct bench_policy *policy)
{
	policy->turns++;
	for (;;) {
		ssize_t n = read(end->fd, buf, CHUNK_SIZE);
		if (n < 0 && errno == EAGAIN) {
			end->readable = false;
			return false;
		}
		raw_check(n >= 0, "read");
		if (n == 0)
			return true;
		*sink += buf[n - 1];
		policy->calls++;
		policy->bytes += (uint64_t)n;
		if (n < CHUNK_SIZE) {
			end->readable = end->ended; /* Short: the receive buffer is drained. */
			return false;
		}
	}
}

static struct bench_result raw_throughput(const struct bench_options *options,
					  const uint8_t *chunk, uint8_t *buf)
{
	struct raw_bench bench;
	raw_bench_open(&bench);
	struct bench_result result = {0};
	uint64_t left = options->bytes;
	size_t offset = 0;
	uint64_t sink = 0;
	bool writer_done = false;
	bool eof = false;
	double start = now_seconds();
	/* Try first (as gale's tasks do on their first poll), wait only after EAGAIN. */
	bench.a.writable = true;
	bench.b.readable = true;
	while (!eof) {
		if (!writer_done && bench.a.writable) {
			raw_writer_turn(&bench.a, chunk, &left, &offset, &result.writer);
			writer_done = left == 0;
		}
		if (bench.b.readable)
			eof = raw_reader_turn(&bench.b, buf, &sink, &result.reader);
		if (!eof && !(bench.b.readable || (!writer_done && bench.a.writable)))
			raw_wait(&bench);
	}
	result.seconds = now_seconds() - start;
	if (result.reader.bytes != options->bytes || sink == 1)
		die("raw throughput", -EIO);
	raw_bench_close(&bench);
	return result;
}

/* One ping-pong side: the same state machine as gale_pingpong_task, over raw calls. */
struct raw_pingpong {
	struct raw_end *end;           /* Its socket. */
	bool sends_first;              /* The client. */
	uint64_t total;                /* Messages each way. */
	uint64_t sent;                 /* Messages sent. */
	uint64_t received;             /* Messages received. */
	size_t offset;                 /* Cursor within the message. */
	uint8_t message[MESSAGE_SIZE]; /* Outgoing. */
	uint8_t inbox[RECV_SIZE];      /* Incoming: each read asks for all of it. */
};

static bool raw_pingpong_is_done(const struct raw_pingpong *side)
{
	return side->sent == side->total && side->received == side->total;
}

/* Runs the side until it must wait (its flag for the next step is clear) or is done. */
static void raw_pingpong_turn(struct raw_pingpong *side)
{
	struct raw_end *end = side->end;
	while (!raw_pingpong_is_done(side)) {
		bool sending = pingpong_is_sending(side->sends_first, side->sent, side->received);
		bool *flag = sending ? &end->writable : &end->readable;
		if (!*flag)
			return;
		size_t len = sending ? MESSAGE_SIZE - side->offset : RECV_SIZE;
		ssize_t n = sending ? send(end->fd, side->message + side->offset, len, MSG_NOSIGNAL)
				    : read(end->fd, side->inbox, len);
		if (n < 0 && errno == EAGAIN) {
			*flag = false;
			continue;
		}
		raw_check(n > 0, sending ? "send" : "read");
		raw_check(sending || (size_t)n <= MESSAGE_SIZE - side->offset, "read: early message");
		if ((size_t)n < len)
			*flag = end->ended; /* Short: drained (read) or full (send). */
		side->offset += (size_t)n;
		if (side->offset < MESSAGE_SIZE)
			continue;
		side->offset = 0;
		if (sending)
			side->sent++;
		else
			side->received++;
	}
}

static struct bench_result raw_pingpong(const struct bench_options *options)
{
	struct raw_bench bench;
	raw_bench_open(&bench);
	struct raw_pingpong client = {.end = &bench.a, .sends_first = true,
				      .total = options->round_trips};
	struct raw_pingpong server = {.end = &bench.b, .total = options->round_trips};
	double start = now_seconds();
	bench.a.writable = true;
	bench.a.readable = true;
	bench.b.writable = true;
	bench.b.readable = true;
	while (!raw_pingpong_is_done(&client) || !raw_pingpong_is_done(&server)) {
		raw_pingpong_turn(&client);
		raw_pingpong_turn(&server);
		if (!raw_pingpong_is_done(&client) || !raw_pingpong_is_done(&server))
			raw_wait(&bench);
	}
	struct bench_result result = {.seconds = now_seconds() - start};
	raw_bench_close(&bench);
	return result;
}


/* ==== C: libuv =========================================================================== */

#ifdef GALE_BENCH_HAVE_LIBUV

static void uv_check(int rc, const char *what)
{
	if (rc < 0) {
		fprintf(stderr, "bench_tcp: libuv %s: %s\n", what, uv_strerror(rc));
		exit(1);
	}
}

struct uv_bench {
	uv_loop_t loop;
	uv_tcp_t listener;
	uv_tcp_t a;       /* Client end. */
	uv_tcp_t b;       /* Server end. */
	uv_connect_t connect;
	bool connected;   /* a is connected. */
	bool accepted;    /* b is accepted. */
};

static void uv_bench_on_connect(uv_connect_t *req, int status)
{
	uv_check(status, "connect");
	((struct uv_bench *)req->data)->connected = true;
}

static void uv_bench_on_connection(uv_stream_t *server, int status)
{
	struct uv_bench *bench = server->data;
	uv_check(status, "listen");
	uv_check(uv_tcp_init(&bench->loop, &bench->b), "tcp init");
	uv_check(uv_accept(server, (uv_stream_t *)&bench->b), "accept");
	bench->accepted = true;
}

static void uv_bench_open(struct uv_bench *bench)
{
	memset(bench, 0, sizeof(*bench));
	uv_check(uv_loop_init(&bench->loop), "loop init");
	uv_check(uv_tcp_init(&bench->loop, &bench->listener), "tcp init");
	bench->listener.data = bench;
	struct sockaddr_in addr;
	uv_check(uv_ip4_addr("127.0.0.1", 0, &addr), "ip4 addr");
	uv_check(uv_tcp_bind(&bench->listener, (const struct sockaddr *)&addr, 0), "bind");
	uv_check(uv_listen((uv_stream_t *)&bench->listener, 1, uv_bench_on_connection), "listen");
	int len = sizeof(addr);
	uv_check(uv_tcp_getsockname(&bench->listener, (struct sockaddr *)&addr, &len),
		 "getsockname");
	uv_check(uv_tcp_init(&bench->loop, &bench->a), "tcp init");
	bench->connect.data = bench;
	uv_check(uv_tcp_connect(&bench->connect, &bench->a, (const struct sockaddr *)&addr,
				uv_bench_on_connect),
		 "connect");
	while (!bench->connected || !bench->accepted)
		uv_run(&bench->loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&bench->listener, NULL);
	uv_run(&bench->loop, UV_RUN_DEFAULT); /* Until the listener is closed. */
	uv_check(uv_tcp_nodelay(&bench->a, 1), "nodelay");
	uv_check(uv_tcp_nodelay(&bench->b, 1), "nodelay");
}

/* After the workload closed both ends and uv_run returned. */
static void uv_bench_close(struct uv_bench *bench)
{
	uv_check(uv_loop_close(&bench->loop), "loop close");
}

static void uv_bench_close_ends(struct uv_bench *bench)
{
	uv_close((uv_handle_t *)&bench->a, NULL);
	uv_close((uv_handle_t *)&bench->b, NULL);
}

/* Throughput: the writer on a, the reader on b. */
struct uv_throughput {
	struct uv_bench *bench;
	const uint8_t *chunk;       /* CHUNK_SIZE bytes of source. */
	uint8_t *buf;               /* CHUNK_SIZE bytes. */
	uint64_t left;              /* Bytes still to write. */
	size_t offset;              /* Cursor within the chunk. */
	size_t pending;             /* Bytes handed to uv_write, not yet done. */
	uint64_t sink;              /* Folds a byte per read. */
	uv_write_t write;
	uv_shutdown_t shutdown;
	struct bench_policy writer; /* Turns, writes, bytes. */
	struct bench_policy reader; /* Read callbacks with data (turns unknown: 0). */
};

static void uv_writer_account(struct uv_throughput *run, size_t n)
{
	run->writer.calls++;
	run->writer.bytes += n;
	run->left -= n;
	run->offset = (run->offset + n) % CHUNK_SIZE;
}

static void uv_writer_pump(struct uv_throughput *run);

static void uv_writer_on_write(uv_write_t *req, int status)
{
	struct uv_throughput *run = req->data;
	uv_check(status, "write");
	uv_writer_account(run, run->pending);
	run->pending = 0;
	uv_writer_pump(run);
}

static void uv_writer_on_shutdown(uv_shutdown_t *req, int status)
{
	(void)req;
	uv_check(status, "shutdown");
}

/* uv_try_write until it would block, then one uv_write whose callback comes back here. */
static void uv_writer_pump(struct uv_throughput *run)
{
	uv_stream_t *stream = (uv_stream_t *)&run->bench->a;
	run->writer.turns++;
	while (run->left > 0) {
		size_t len = CHUNK_SIZE - run->offset;
		if (len > run->left)
			len = (size_t)run->left;
		uv_buf_t buf = uv_buf_init((char *)run->chunk + run->offset, (unsigned int)len);
		int n = uv_try_write(stream, &buf, 1);
		if (n == UV_EAGAIN) {
			run->pending = len;
			run->write.data = run;
			uv_check(uv_write(&run->write, stream, &buf, 1, uv_writer_on_write), "write");
			return;
		}
		uv_check(n, "try_write");
		uv_writer_account(run, (size_t)n);
	}
	uv_check(uv_shutdown(&run->shutdown, stream, uv_writer_on_shutdown), "shutdown");
}

static void uv_reader_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	struct uv_throughput *run = handle->data;
	(void)suggested;
	*buf = uv_buf_init((char *)run->buf, CHUNK_SIZE);
}

static void uv_reader_on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct uv_throughput *run = stream->data;
	(void)buf;
	if (nread == UV_EOF) {
		uv_bench_close_ends(run->bench);
		return;
	}
	uv_check((int)nread, "read");
	if (nread == 0)
		return;
	run->sink += run->buf[nread - 1];
	run->reader.calls++;
	run->reader.bytes += (uint64_t)nread;
}

static struct bench_result uv_throughput_run(const struct bench_options *options,
					     const uint8_t *chunk, uint8_t *buf)
{
	struct uv_bench bench;
	uv_bench_open(&bench);
	struct uv_throughput run = {.bench = &bench, .chunk = chunk, .buf = buf,
				    .left = options->bytes};
	bench.b.data = &run;
	double start = now_seconds();
	uv_check(uv_read_start((uv_stream_t *)&bench.b, uv_reader_alloc, uv_reader_on_read),
		 "read start");
	uv_writer_pump(&run);
	uv_run(&bench.loop, UV_RUN_DEFAULT);
	struct bench_result result = {.seconds = now_seconds() - start, .writer = run.writer};
	if (run.reader.bytes != options->bytes || run.sink == 1)
		die("libuv throughput", -EIO);
	uv_bench_close(&bench);
	return result;
}

/* Ping-pong: the same state machine as gale_pingpong_task, over callbacks. */
struct uv_pingpong_side {
	struct uv_bench *bench;
	uv_stream_t *stream;
	bool sends_first;             /* The client. */
	uint64_t total;               /* Messages each way. */
	uint64_t sent;                /* Messages sent. */
	uint64_t received;            /* Messages received. */
	size_t offset;                /* Bytes of the incoming message so far. */
	uv_write_t write;
	uint8_t out[MESSAGE_SIZE];
	uint8_t in[RECV_SIZE]; /* Each read offers all of it (libuv stops on a short read). */
	struct uv_pingpong_side *peer;
};

static bool uv_pingpong_is_done(const struct uv_pingpong_side *side)
{
	return side->sent == side->total && side->received == side->total;
}

static void uv_pingpong_on_write(uv_write_t *req, int status)
{
	struct uv_pingpong_side *side = req->data;
	uv_check(status, "write");
	side->sent++;
	if (uv_pingpong_is_done(side) && uv_pingpong_is_done(side->peer))
		uv_bench_close_ends(side->bench);
}

/* uv_try_write; what it could not write goes through uv_write. */
static void uv_pingpong_send(struct uv_pingpong_side *side)
{
	uv_buf_t buf = uv_buf_init((char *)side->out, MESSAGE_SIZE);
	int n = uv_try_write(side->stream, &buf, 1);
	if (n == MESSAGE_SIZE) {
		side->sent++;
		return;
	}
	if (n != UV_EAGAIN)
		uv_check(n, "try_write");
	size_t done = n > 0 ? (size_t)n : 0;
	buf = uv_buf_init((char *)side->out + done, (unsigned int)(MESSAGE_SIZE - done));
	side->write.data = side;
	uv_check(uv_write(&side->write, side->stream, &buf, 1, uv_pingpong_on_write), "write");
}

static void uv_pingpong_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	struct uv_pingpong_side *side = handle->data;
	(void)suggested;
	*buf = uv_buf_init((char *)side->in, RECV_SIZE);
}

static void uv_pingpong_on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct uv_pingpong_side *side = stream->data;
	(void)buf;
	if (nread == UV_EOF)
		die("libuv pingpong", GALE_E_UNEXPECTED_EOF);
	uv_check((int)nread, "read");
	if ((size_t)nread > MESSAGE_SIZE - side->offset)
		die("libuv pingpong", -EPROTO); /* The peer sent before its turn. */
	side->offset += (size_t)nread;
	if (side->offset < MESSAGE_SIZE)
		return;
	side->offset = 0;
	side->received++;
	if (side->sent < side->total)
		uv_pingpong_send(side);
	if (uv_pingpong_is_done(side) && uv_pingpong_is_done(side->peer))
		uv_bench_close_ends(side->bench);
}

static struct bench_result uv_pingpong_run(const struct bench_options *options,
					   const uint8_t *chunk, uint8_t *buf)
{
	(void)chunk;
	(void)buf;
	struct uv_bench bench;
	uv_bench_open(&bench);
	struct uv_pingpong_side client = {.bench = &bench, .stream = (uv_stream_t *)&bench.a,
					  .sends_first = true, .total = options->round_trips};
	struct uv_pingpong_side server = {.bench = &bench, .stream = (uv_stream_t *)&bench.b,
					  .total = options->round_trips};
	client.peer = &server;
	server.peer = &client;
	bench.a.data = &client;
	bench.b.data = &server;
	double start = now_seconds();
	uv_check(uv_read_start(client.stream, uv_pingpong_alloc, uv_pingpong_on_read),
		 "read start");
	uv_check(uv_read_start(server.stream, uv_pingpong_alloc, uv_pingpong_on_read),
		 "read start");
	uv_pingpong_send(&client);
	uv_run(&bench.loop, UV_RUN_DEFAULT);
	struct bench_result result = {.seconds = now_seconds() - start};
	if (!uv_pingpong_is_done(&client) || !uv_pingpong_is_done(&server))
		die("libuv pingpong", -EIO);
	uv_bench_close(&bench);
	return result;
}

#endif /* GALE_BENCH_HAVE_LIBUV */

/* ==== D: tokio, a child process ========================================================== */

/* Runs "PROGRAM tcp --test TEST --bytes N --round-trips N"; its line "seconds S" is the run. */
static struct bench_result tokio_run(const struct bench_options *options, const char *test)
{
	char bytes[32], round_trips[32];
	snprintf(bytes, sizeof(bytes), "%llu", (unsigned long long)options->bytes);
	snprintf(round_trips, sizeof(round_trips), "%llu",
		 (unsigned long long)options->round_trips);
	char *argv[] = {(char *)options->tokio, "tcp", "--test", (char *)test, "--bytes", bytes,
			"--round-trips", round_trips, NULL};
	int out[2];
	raw_check(pipe2(out, O_CLOEXEC) == 0, "pipe");
	fflush(NULL);
	pid_t pid = fork();
	raw_check(pid >= 0, "fork");
	if (pid == 0) {
		if (dup2(out[1], STDOUT_FILENO) >= 0)
			execv(argv[0], argv);
		fprintf(stderr, "bench_tcp: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(out[1]);
	FILE *text = fdopen(out[0], "r");
	raw_check(text != NULL, "fdopen");
	struct bench_result result = {0};
	int fields = fscanf(text, "seconds %lf", &result.seconds);
	fclose(text);
	int status = 0;
	raw_check(waitpid(pid, &status, 0) == pid, "waitpid");
	if (fields != 1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || result.seconds <= 0) {
		fprintf(stderr, "bench_tcp: tokio %s run failed (%s)\n", test, options->tokio);
		exit(1);
	}
	return result;
}

static struct bench_result tokio_throughput_run(const struct bench_options *options,
						const uint8_t *chunk, uint8_t *buf)
{
	(void)chunk;
	(void)buf;
	return tokio_run(options, "throughput");
}

static struct bench_result tokio_pingpong_run(const struct bench_options *options,
					      const uint8_t *chunk, uint8_t *buf)
{
	(void)chunk;
	(void)buf;
	return tokio_run(options, "pingpong");
}

/* ==== Driver: alternate, take medians ==================================================== */

typedef struct bench_result bench_run_fn(const struct bench_options *options,
					 const uint8_t *chunk, uint8_t *buf);

static struct bench_result gale_pingpong_run(const struct bench_options *options,
					     const uint8_t *chunk, uint8_t *buf)
{
	(void)chunk;
	(void)buf;
	return gale_pingpong(options);
}

static struct bench_result raw_pingpong_run(const struct bench_options *options,
					    const uint8_t *chunk, uint8_t *buf)
{
	(void)chunk;
	(void)buf;
	return raw_pingpong(options);
}

enum { GALE, RAW, LIBUV, TOKIO, CONTESTANTS };

struct bench_contestant {
	const char *name;        /* For --only and the human text. */
	const char *label;       /* In @bench rows. */
	bench_run_fn *throughput;
	bench_run_fn *pingpong;
};

static const struct bench_contestant contestants[CONTESTANTS] = {
	[GALE] = {"gale", "gale", gale_throughput, gale_pingpong_run},
	[RAW] = {"raw", "raw epoll", raw_throughput, raw_pingpong_run},
#ifdef GALE_BENCH_HAVE_LIBUV
	[LIBUV] = {"libuv", "libuv", uv_throughput_run, uv_pingpong_run},
#else
	[LIBUV] = {"libuv", "libuv", NULL, NULL},
#endif
	/* Only with --tokio PATH (bench_contestant_on). */
	[TOKIO] = {"tokio", "tokio", tokio_throughput_run, tokio_pingpong_run},
};

static bool bench_wants(const char *selected, const char *name);

/* Built in (libuv) or given (tokio), and selected by --only. */
static bool bench_contestant_on(const struct bench_options *options, int c)
{
	if (contestants[c].throughput == NULL || (c == TOKIO && options->tokio == NULL))
		return false;
	return bench_wants(options->only, contestants[c].name);
}

static double best(const struct bench_series *series)
{
	return bench_series_max(series);
}

static void policy_print(const char *who, const char *role, const struct bench_policy *policy)
{
	if (policy->turns == 0)
		return;
	printf("  %-5s %s: %.1f KiB and %.2f calls per turn (%llu turns)\n", who, role,
	       (double)policy->bytes / (double)policy->turns / 1024.0,
	       (double)policy->calls / (double)policy->turns, (unsigned long long)policy->turns);
}

static bool bench_wants(const char *selected, const char *name)
{
	return selected == NULL || strcmp(selected, name) == 0;
}

/* Per-run figure: MiB/s for throughput, round trips/s for ping-pong (higher is better). */
static double bench_figure(const struct bench_options *options, bool throughput,
			   const struct bench_result *result)
{
	double units = throughput ? (double)options->bytes / (1024.0 * 1024.0)
				  : (double)options->round_trips;
	return units / result->seconds;
}

/* Per-round ratios of contestant a against reference b (rates: a / b). */
static void ratios_of(const struct bench_series *a, const struct bench_series *b,
		      struct bench_series *ratios)
{
	ratios->count = 0;
	for (int i = 0; i < a->count && i < b->count; i++)
		bench_series_add(ratios, a->sample[i] / b->sample[i]);
}

static void bench_run(const struct bench_options *options, bool throughput)
{
	uint8_t *chunk = malloc(CHUNK_SIZE);
	uint8_t *buf = malloc(CHUNK_SIZE);
	if (chunk == NULL || buf == NULL)
		die("malloc", -ENOMEM);
	for (size_t i = 0; i < CHUNK_SIZE; i++)
		chunk[i] = (uint8_t)(i * 131u + 7u);
	struct bench_series figures[CONTESTANTS] = {0};
	struct bench_result last[CONTESTANTS] = {0};
	bool on[CONTESTANTS];
	for (int c = 0; c < CONTESTANTS; c++)
		on[c] = bench_contestant_on(options, c);
	const char *unit = throughput ? "MiB/s" : "round trips/s";
	for (int round = 0; round < options->rounds; round++) {
		printf("  round %d:", round + 1);
		for (int c = 0; c < CONTESTANTS; c++) {
			if (!on[c])
				continue;
			bench_run_fn *run = throughput ? contestants[c].throughput
						       : contestants[c].pingpong;
			last[c] = run(options, chunk, buf);
			bench_series_add(&figures[c], bench_figure(options, throughput, &last[c]));
			printf(" %s %.0f", contestants[c].name, figures[c].sample[round]);
		}
		printf(" %s\n", unit);
	}
	for (int c = 0; c < CONTESTANTS; c++)
		if (on[c])
			printf("  median %-5s: %.0f %s (best %.0f)\n", contestants[c].name,
			       bench_series_median(&figures[c]), unit, best(&figures[c]));
	struct bench_series vs_raw[CONTESTANTS] = {0};
	struct bench_series gale_vs_libuv = {0};
	struct bench_series gale_vs_tokio = {0};
	for (int c = 0; c < CONTESTANTS; c++) {
		if (c == RAW || !on[c] || !on[RAW])
			continue;
		ratios_of(&figures[c], &figures[RAW], &vs_raw[c]);
		printf("  median ratio %s/raw: %.3f (best/best %.3f)\n", contestants[c].name,
		       bench_series_median(&vs_raw[c]), best(&figures[c]) / best(&figures[RAW]));
	}
	if (on[GALE] && on[LIBUV]) {
		ratios_of(&figures[GALE], &figures[LIBUV], &gale_vs_libuv);
		printf("  median ratio gale/libuv: %.3f (best/best %.3f)\n",
		       bench_series_median(&gale_vs_libuv),
		       best(&figures[GALE]) / best(&figures[LIBUV]));
	}
	if (on[GALE] && on[TOKIO]) {
		ratios_of(&figures[GALE], &figures[TOKIO], &gale_vs_tokio);
		printf("  median ratio gale/tokio: %.3f (best/best %.3f)\n",
		       bench_series_median(&gale_vs_tokio),
		       best(&figures[GALE]) / best(&figures[TOKIO]));
	}
	if (throughput) {
		for (int c = 0; c < CONTESTANTS; c++) {
			policy_print(contestants[c].name, "writer", &last[c].writer);
			policy_print(contestants[c].name, "reader", &last[c].reader);
		}
	}
	const char *figure = throughput ? "tcp throughput" : "tcp ping-pong";
	/* Issue 18's goals: throughput >= 0.97 of raw and >= 1 of libuv and tokio; ping-pong
	 * (6 syscalls per round trip for everyone) >= 1 of raw and >= 1.05 of the others. */
	const char *goal_raw = throughput ? ">= 0.97" : ">= 1";
	const char *goal_peer = throughput ? ">= 1" : ">= 1.05";
	const char *figure_libuv = throughput ? "tcp throughput, gale vs libuv"
					      : "tcp ping-pong, gale vs libuv";
	if (on[RAW])
		bench_report_row(figure, contestants[RAW].label, unit, &figures[RAW], NULL, NULL);
	if (on[GALE])
		bench_report_row(figure, contestants[GALE].label, unit, &figures[GALE],
				 on[RAW] ? &vs_raw[GALE] : NULL, on[RAW] ? goal_raw : NULL);
	if (on[LIBUV])
		bench_report_row(figure, contestants[LIBUV].label, unit, &figures[LIBUV],
				 on[RAW] ? &vs_raw[LIBUV] : NULL, NULL);
	if (on[TOKIO])
		bench_report_row(figure, contestants[TOKIO].label, unit, &figures[TOKIO],
				 on[RAW] ? &vs_raw[TOKIO] : NULL, NULL);
	if (on[GALE] && on[LIBUV]) {
		bench_report_row(figure_libuv, contestants[LIBUV].label, unit, &figures[LIBUV],
				 NULL, NULL);
		bench_report_row(figure_libuv, contestants[GALE].label, unit, &figures[GALE],
				 &gale_vs_libuv, goal_peer);
	}
	if (on[GALE] && on[TOKIO]) {
		const char *figure_tokio = throughput ? "tcp throughput, gale vs tokio"
						      : "tcp ping-pong, gale vs tokio";
		bench_report_row(figure_tokio, contestants[TOKIO].label, unit, &figures[TOKIO],
				 NULL, NULL);
		bench_report_row(figure_tokio, contestants[GALE].label, unit, &figures[GALE],
				 &gale_vs_tokio, goal_peer);
	}
	free(buf);
	free(chunk);
}

static uint64_t parse_count(const char *text)
{
	char *end = NULL;
	unsigned long long value = strtoull(text, &end, 10);
	if (end == text || *end != '\0' || value == 0) {
		fprintf(stderr, "bench_tcp: bad count \"%s\"\n", text);
		exit(2);
	}
	return value;
}

static struct bench_options bench_options_parse(int argc, char **argv)
{
	struct bench_options options = {.bytes = 1ull << 30, .round_trips = 100000, .rounds = 5};
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--test") == 0)
			options.test = argv[i + 1];
		else if (strcmp(argv[i], "--only") == 0)
			options.only = argv[i + 1];
		else if (strcmp(argv[i], "--bytes") == 0)
			options.bytes = parse_count(argv[i + 1]);
		else if (strcmp(argv[i], "--round-trips") == 0)
			options.round_trips = parse_count(argv[i + 1]);
		else if (strcmp(argv[i], "--rounds") == 0)
			options.rounds = (int)parse_count(argv[i + 1]);
		else if (strcmp(argv[i], "--registrations") == 0)
			options.registrations_max = (uint32_t)parse_count(argv[i + 1]);
		else if (strcmp(argv[i], "--tokio") == 0)
			options.tokio = argv[i + 1];
		else
			break;
	}
	if (argc % 2 == 0 || options.rounds > ROUNDS_MAX) {
		fprintf(stderr,
			"usage: %s [--test throughput|pingpong] [--only gale|raw|libuv|tokio]\n"
			"       [--bytes N] [--round-trips N] [--rounds N<=64]\n"
			"       [--registrations N]"
			" [--tokio PATH-TO-gale-bench-tokio]\n",
			argv[0]);
		exit(2);
	}
	if (options.only != NULL && strcmp(options.only, "gale") != 0 &&
	    strcmp(options.only, "raw") != 0 && strcmp(options.only, "libuv") != 0 &&
	    strcmp(options.only, "tokio") != 0) {
		fprintf(stderr, "bench_tcp: --only gale, raw, libuv or tokio\n");
		exit(2);
	}
	if (options.only != NULL && strcmp(options.only, "tokio") == 0 && options.tokio == NULL) {
		fprintf(stderr, "bench_tcp: --only tokio needs --tokio PATH\n");
		exit(3);
	}
	if (options.only != NULL && strcmp(options.only, "libuv") == 0 &&
	    contestants[LIBUV].throughput == NULL) {
		fprintf(stderr, "bench_tcp: built without libuv (GALE_BENCH_HAVE_LIBUV)\n");
		exit(3);
	}
	return options;
}

int main(int argc, char **argv)
{
	struct bench_options options = bench_options_parse(argc, argv);
	if (bench_wants(options.test, "throughput")) {
		printf("throughput: 1 connection, 64 KiB writes, %llu bytes per run\n",
		       (unsigned long long)options.bytes);
		bench_run(&options, true);
	}
	if (bench_wants(options.test, "pingpong")) {
		printf("pingpong: %llu round trips of %d bytes per run\n",
		       (unsigned long long)options.round_trips, MESSAGE_SIZE);
		bench_run(&options, false);
	}
	return 0;
}
