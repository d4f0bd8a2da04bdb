/* SPDX-License-Identifier: MIT */
/*
 * Many concurrent loopback connections: gale (TcpListener, TcpStream and one task per
 * connection on a runtime over the epoll driver) against a hand-written edge-triggered
 * epoll loop, and against libuv (uv_tcp) when built with GALE_BENCH_HAVE_LIBUV.
 *
 * Each contestant implements both ends, run as two processes forked from this one (the
 * fd hard limit here is 20,000, so 10,000 connections cannot have both ends in one
 * process):
 *   server  accepts CONNS connections and echoes whatever it reads, until each peer
 *           closes; per connection a fixed ECHO_BUF_SIZE buffer;
 *   client  opens CONNS connections (at most WINDOW connecting at once, below somaxconn,
 *           so the accept queue never overflows), does one untimed warm-up round trip on
 *           each (so every connection was accepted and is live), then, timed, ROUND_TRIPS
 *           round trips of a MSG_SIZE-byte message on every connection, all in flight at
 *           once: each connection sends its next message as soon as the whole echo of the
 *           previous one arrived (and checks its bytes).
 * The parent reads the server's port and the client's reports over pipes, answers the
 * client's "warmed up" with "go" (after sampling the server's CPU time), samples it again
 * at the client's final report, and takes the peak RSS (ru_maxrss) of both children from
 * wait4().
 *
 * Figures: total time = wall time from the moment every connection finished its warm-up
 * until the last round trip completed; us/rt = total time / (CONNS * ROUND_TRIPS). With
 * CONNS round trips in flight that is a throughput figure (the inverse of round trips per
 * second), not the latency of one round trip; that latency is about CONNS times larger and
 * is printed as "per-connection latency". "CPU both ends" = server + client CPU time in the
 * timed phase per round trip (server from /proc/PID/schedstat, client from
 * CLOCK_PROCESS_CPUTIME_ID): on a shared machine it is much less noisy than wall time.
 * Peak RSS covers the whole process life (an idle child, libc and the pages inherited from
 * the parent included, is under 1 MiB).
 *
 * The raw contestant is the canonical loop of epoll(7): every socket registered once for
 * IN|OUT|RDHUP edge-triggered, a readiness flag per direction set by an event and cleared
 * when an operation returns EAGAIN or comes back short (a short read on a Linux stream
 * socket proves it drained, a short send that it is full; gale's epoll driver declares
 * the same, GALE_DRIVER_CAP_READ_SHORT_DRAINED / _WRITE_SHORT_FULL), the same buffers
 * and message handling as the gale tasks, epoll_wait(-1) for up to 256 events (gale's
 * driver maximum). Everyone sets TCP_NODELAY on every connection. libuv uses
 * uv_read_start and uv_try_write (uv_write only for what that could not write); it too
 * stops reading after a short read.
 * tokio 1.24 (with --tokio PATH; scripts/bench.sh builds bench/tokio/) is the program
 * bench/tokio/src/main.rs exec'd in each forked child, speaking the same pipe protocol:
 * one current_thread runtime per process (one thread, like the others), one task per
 * connection (echo with read + write_all into a 256-byte buffer; the client's round trips
 * with write_all + read_exact), TCP_NODELAY, a reset at teardown. Its peak RSS is the
 * exec'd program's (what the forked child held before exec is under 1 MiB, as above).
 *
 * Contestants alternate round by round, each round starting with the next one (gale raw
 * libuv, raw libuv gale, ...: no position bias from the previous run). Per round the
 * ratio is raw time / contestant time (>= 1: at least as fast as raw; goal for gale
 * >= 0.97) and, for memory, contestant peak RSS / raw peak RSS (lower is better); gale
 * also gets a row against libuv (libuv time / gale time, goal >= 1) and one against tokio
 * (tokio time / gale time, goal >= 1). Rows use
 * bench_report.h's @bench format. Default ROUND_TRIPS = 100,000 / CONNS (at least 10):
 * about 1 s per run on an idle 2-core machine at 1,000 and at 10,000 connections.
 *
 *   cmake --preset bench && cmake --build --preset bench --target bench_conns
 *   ./build/bench/bench/bench_conns --conns 10000 [--round-trips R] [--rounds K]
 *       [--only gale|raw|libuv|tokio] [--msg-size B] [--window W]
 *       [--tokio build/bench/tokio/target/release/gale-bench-tokio]
 *   strace -c -f ./build/bench/bench/bench_conns --conns 1000 --rounds 1 --only gale
 */
#define _GNU_SOURCE /* accept4, wait4. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef GALE_BENCH_HAVE_LIBUV
#include <uv.h>
#endif

#include <gale/driver_epoll.h>
#include <gale/error.h>
#include <gale/rt.h>
#include <gale/socket_addr.h>
#include <gale/tcp.h>

#include "bench_report.h"

enum {
	MSG_SIZE_MAX = 256,  /* Upper bound of --msg-size (the client's buffers). */
	ECHO_BUF_SIZE = 256, /* Server buffer per connection, every contestant. */
	EVENTS_MAX = 256,    /* Raw epoll_wait batch; gale's driver maximum too. */
	FD_SPARE = 64,       /* Descriptors beyond the connections (listener, epoll, ...). */
	WINDOW_DEFAULT = 512, /* Connections connecting or warming up at once. */
	RT_TOTAL_DEFAULT = 100000, /* Default round trips per run: R = this / CONNS. */
};

struct bench_options {
	uint32_t conns;       /* Concurrent connections. */
	uint32_t round_trips; /* Timed round trips per connection. */
	uint32_t msg_size;    /* Bytes per message. */
	uint32_t window;      /* Connections in their connect/warm-up phase at once. */
	int backlog;          /* listen() backlog. */
	int rounds;           /* Alternation rounds. */
	const char *only;     /* One contestant, or NULL for all. */
};

/* What a server tells the parent once it listens. */
struct server_ready {
	uint16_t port; /* 0: failed. */
};

/*
 * What a client tells the parent, twice: READY when every connection is warmed up (the
 * parent then samples the server's CPU time and answers "go"), FINAL when done or failed
 * (the parent samples again and answers "close": connections stay open until then, so the
 * server's teardown is not counted).
 */
enum { REPORT_READY = 1, REPORT_FINAL = 2 };

struct client_report {
	int phase;               /* REPORT_READY or REPORT_FINAL. */
	double seconds;          /* Timed phase (wall). */
	double cpu_seconds;      /* Timed phase, the client's CPU (user + system). */
	double setup_seconds;    /* Connect + warm-up phase (wall). */
	uint64_t round_trips;    /* Completed in the timed phase. */
	int error;               /* 0, or a negative code. */
	char what[96];           /* Where it failed. */
};

/* One run of one contestant, as the parent saw it. */
struct run_result {
	struct client_report report;
	long server_maxrss_kib; /* Peak RSS of the server process. */
	long client_maxrss_kib; /* Peak RSS of the client process. */
	double server_cpu;      /* User + system seconds, whole process. */
	double client_cpu;
	double server_cpu_timed; /* On-CPU seconds of the server during the timed phase. */
};

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void write_all_fd(int fd, const void *buf, size_t len)
{
	const char *at = buf;
	while (len > 0) {
		ssize_t n = write(fd, at, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		at += n;
		len -= (size_t)n;
	}
}

/* Reads exactly len bytes; false on EOF or error. */
static bool read_all_fd(int fd, void *buf, size_t len)
{
	char *at = buf;
	while (len > 0) {
		ssize_t n = read(fd, at, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		at += n;
		len -= (size_t)n;
	}
	return true;
}

/* A child's fatal error: tell the parent (client only) and leave without flushing stdio. */
static _Noreturn void child_fail(const char *role, const char *what, int rc, int report_fd)
{
	fprintf(stderr, "bench_conns: %s: %s: %s\n", role, what, gale_strerror(rc));
	if (report_fd >= 0) {
		struct client_report report = {.phase = REPORT_FINAL, .error = rc < 0 ? rc : -EIO};
		snprintf(report.what, sizeof(report.what), "%s", what);
		write_all_fd(report_fd, &report, sizeof(report));
	}
	_exit(1);
}

/* The parent's answers to the client (its end of the "go" pipe, set in the client child). */
static int client_go_fd = -1;

/* Every connection is warmed up: tell the parent, wait for its go. */
static void client_ready(const struct client_report *report, int report_fd)
{
	struct client_report ready = *report;
	ready.phase = REPORT_READY;
	write_all_fd(report_fd, &ready, sizeof(ready));
	char go;
	if (!read_all_fd(client_go_fd, &go, 1))
		_exit(1);
}

/* Sends the final report, then keeps the connections until the parent sampled the server. */
static void client_finish(struct client_report *report, int report_fd)
{
	report->phase = REPORT_FINAL;
	write_all_fd(report_fd, report, sizeof(*report));
	char go;
	(void)read_all_fd(client_go_fd, &go, 1); /* EOF is the answer. */
}

/*
 * Teardown (untimed): the client closes with a reset (SO_LINGER 0) rather than a FIN, so
 * no run leaves CONNS sockets in TIME_WAIT in the kernel's tables for the next runs (and
 * 15 runs of 10,000 would overflow tcp_max_tw_buckets).
 */
static void client_abort(int fd)
{
	struct linger linger = {.l_onoff = 1, .l_linger = 0};
	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, sizeof(linger));
}

/* The client's message for connection i: distinct per connection, checked on return. */
static void message_fill(uint8_t *message, uint32_t size, uint32_t i)
{
	for (uint32_t k = 0; k < size; k++)
		message[k] = (uint8_t)(i * 31u + k * 7u + 1u);
}

/* ==== gale ================================================================================ */

struct gale_bench {
	struct gale_driver_epoll driver;
	struct gale_runtime runtime;
};

static void gale_bench_open(struct gale_bench *bench, const struct bench_options *options,
			    const char *role, int report_fd)
{
	int rc = gale_driver_epoll_init(&bench->driver);
	if (rc < 0)
		child_fail(role, "epoll init", rc, report_fd);
	struct gale_runtime_options runtime_options = gale_runtime_options_default();
	runtime_options.registrations_max = options->conns + FD_SPARE;
	runtime_options.events_cap = GALE_DRIVER_EPOLL_EVENTS_MAX;
	rc = gale_runtime_init(&bench->runtime, &bench->driver.base, &runtime_options);
	if (rc < 0)
		child_fail(role, "runtime init", rc, report_fd);
}

static void gale_bench_close(struct gale_bench *bench)
{
	(void)gale_runtime_deinit(&bench->runtime);
	gale_driver_epoll_deinit(&bench->driver);
}

/* -- server -- */

struct gale_server_conn {
	struct gale_tcp_stream stream; /* Accepted. */
	uint32_t len;                  /* Bytes in buf to echo. */
	uint32_t off;                  /* Bytes of them written. */
	uint8_t buf[ECHO_BUF_SIZE];
};

struct gale_server {
	struct gale_runtime *runtime;
	struct gale_tcp_listener listener;
	struct gale_server_conn *conns; /* options->conns of them. */
	uint32_t conns_count;           /* Expected. */
	uint32_t accepted;              /* So far. */
};

/* Echoes until end of stream or reset (the clients reset at teardown), then closes. */
static int gale_server_conn_poll(void *data, struct gale_cx *cx)
{
	struct gale_server_conn *conn = data;
	int rc;
	for (;;) {
		if (conn->off < conn->len) {
			size_t n = 0;
			rc = gale_tcp_stream_poll_write(&conn->stream, cx, conn->buf + conn->off,
							conn->len - conn->off, &n);
			if (rc != 0)
				break;
			conn->off += (uint32_t)n;
			continue;
		}
		struct gale_read_buf rb;
		gale_read_buf_init(&rb, conn->buf, sizeof(conn->buf));
		rc = gale_tcp_stream_poll_read(&conn->stream, cx, &rb);
		if (rc != 0 || rb.len_filled == 0)
			break;
		conn->len = (uint32_t)rb.len_filled;
		conn->off = 0;
	}
	if (rc == GALE_PENDING)
		return rc;
	(void)gale_tcp_stream_close(&conn->stream);
	return 0;
}

static int gale_server_accept_poll(void *data, struct gale_cx *cx)
{
	struct gale_server *server = data;
	while (server->accepted < server->conns_count) {
		struct gale_server_conn *conn = &server->conns[server->accepted];
		int rc = gale_tcp_listener_poll_accept(&server->listener, cx, &conn->stream, NULL);
		if (rc != 0)
			return rc;
		rc = gale_tcp_stream_nodelay_set(&conn->stream, true);
		struct gale_task_handle handle;
		if (rc == 0)
			rc = gale_executor_spawn(&server->runtime->executor, gale_server_conn_poll,
						 conn, &handle);
		if (rc == 0)
			rc = gale_executor_detach(&server->runtime->executor, handle);
		if (rc < 0)
			return rc;
		server->accepted++;
	}
	return gale_tcp_listener_close(&server->listener);
}

static void gale_server_main(const struct bench_options *options, int ready_fd)
{
	static const char role[] = "gale server";
	struct gale_bench bench;
	gale_bench_open(&bench, options, role, -1);
	struct gale_server server = {.runtime = &bench.runtime, .conns_count = options->conns};
	server.conns = calloc(options->conns, sizeof(server.conns[0]));
	if (server.conns == NULL)
		child_fail(role, "calloc", -ENOMEM, -1);
	int rc = gale_tcp_listener_bind_text(&server.listener, &bench.runtime, "127.0.0.1:0",
					     options->backlog);
	struct gale_socket_addr addr;
	if (rc == 0)
		rc = gale_tcp_listener_local_addr(&server.listener, &addr);
	if (rc < 0)
		child_fail(role, "listen", rc, -1);
	struct server_ready ready = {.port = gale_socket_addr_port(&addr)};
	write_all_fd(ready_fd, &ready, sizeof(ready));
	struct gale_task_handle handle;
	rc = gale_executor_spawn(&bench.runtime.executor, gale_server_accept_poll, &server,
				 &handle);
	if (rc < 0)
		child_fail(role, "spawn", rc, -1);
	rc = gale_runtime_run(&bench.runtime);
	int result = 0;
	if (rc == 0)
		rc = gale_executor_try_join(&bench.runtime.executor, handle, &result);
	if (rc < 0 || result < 0)
		child_fail(role, "run", rc < 0 ? rc : result, -1);
	gale_bench_close(&bench);
	free(server.conns);
}

/* -- client -- */

enum gale_client_stage {
	GALE_CLIENT_CONNECTING,
	GALE_CLIENT_WARMING,
	GALE_CLIENT_GATED, /* Warmed up; waits for the timed phase. */
	GALE_CLIENT_TIMED,
};

struct gale_client;

struct gale_client_conn {
	struct gale_tcp_stream stream;
	struct gale_tcp_connect *connect; /* From the client's pool while connecting. */
	struct gale_client *client;
	struct gale_task_handle handle;
	struct gale_waker gate_waker; /* Stored while GATED. */
	enum gale_client_stage stage;
	uint32_t target;              /* Round trips to have done before stopping. */
	uint32_t done;                /* Round trips done. */
	uint32_t sent;                /* Bytes of the current message sent. */
	uint32_t received;            /* Bytes of its echo received. */
	uint8_t message[MSG_SIZE_MAX];
	uint8_t echo[MSG_SIZE_MAX];
};

struct gale_client {
	struct gale_socket_addr addr; /* The server. */
	uint32_t msg_size;
	uint32_t round_trips;
	uint32_t warmed;              /* Connections that finished their warm-up. */
	int setup_error;              /* A connect or warm-up failed (its task finished). */
	/* Connect futures are only needed while connecting: a pool of window of them. */
	struct gale_tcp_connect *connects;
	struct gale_tcp_connect **connects_free; /* Stack of unused ones. */
	uint32_t connects_free_count;
	bool gate_open;               /* The timed phase started. */
};

/* Round trips until conn->target; 0 when there, else the poll result. */
static int gale_client_round_trips(struct gale_client_conn *conn, struct gale_cx *cx)
{
	uint32_t size = conn->client->msg_size;
	while (conn->done < conn->target) {
		if (conn->sent < size) {
			size_t n = 0;
			int rc = gale_tcp_stream_poll_write(&conn->stream, cx,
							    conn->message + conn->sent,
							    size - conn->sent, &n);
			if (rc != 0)
				return rc;
			conn->sent += (uint32_t)n;
			continue;
		}
		struct gale_read_buf rb;
		gale_read_buf_init(&rb, conn->echo + conn->received, size - conn->received);
		int rc = gale_tcp_stream_poll_read(&conn->stream, cx, &rb);
		if (rc != 0)
			return rc;
		if (rb.len_filled == 0)
			return GALE_E_UNEXPECTED_EOF;
		conn->received += (uint32_t)rb.len_filled;
		if (conn->received < size)
			continue;
		if (memcmp(conn->echo, conn->message, size) != 0)
			return -EBADMSG;
		conn->done++;
		conn->sent = 0;
		conn->received = 0;
	}
	return 0;
}

static int gale_client_conn_poll(void *data, struct gale_cx *cx)
{
	struct gale_client_conn *conn = data;
	struct gale_client *client = conn->client;
	int rc;
	switch (conn->stage) {
	case GALE_CLIENT_CONNECTING:
		rc = gale_tcp_connect_poll(conn->connect, cx, &conn->stream);
		if (rc == 0)
			rc = gale_tcp_stream_nodelay_set(&conn->stream, true);
		if (rc != 0)
			return rc < 0 ? (client->setup_error = rc) : rc;
		gale_tcp_connect_deinit(conn->connect);
		client->connects_free[client->connects_free_count++] = conn->connect;
		conn->connect = NULL;
		conn->stage = GALE_CLIENT_WARMING;
		conn->target = 1;
		/* Fall through. */
	case GALE_CLIENT_WARMING:
		rc = gale_client_round_trips(conn, cx);
		if (rc != 0)
			return rc < 0 ? (client->setup_error = rc) : rc;
		client->warmed++;
		conn->stage = GALE_CLIENT_GATED;
		/* Fall through. */
	case GALE_CLIENT_GATED:
		if (!client->gate_open) {
			conn->gate_waker = cx->waker;
			return GALE_PENDING;
		}
		conn->stage = GALE_CLIENT_TIMED;
		conn->target += client->round_trips;
		/* Fall through. */
	case GALE_CLIENT_TIMED:
		break;
	}
	return gale_client_round_trips(conn, cx);
}

static void gale_client_main(const struct bench_options *options, uint16_t port, int report_fd)
{
	static const char role[] = "gale client";
	struct gale_bench bench;
	gale_bench_open(&bench, options, role, report_fd);
	struct gale_client client = {.msg_size = options->msg_size,
				     .round_trips = options->round_trips};
	int rc = gale_socket_addr_from_ip("127.0.0.1", port, &client.addr);
	if (rc < 0)
		child_fail(role, "address", rc, report_fd);
	uint32_t count = options->conns;
	struct gale_client_conn *conns = calloc(count, sizeof(conns[0]));
	client.connects = calloc(options->window, sizeof(client.connects[0]));
	client.connects_free = calloc(options->window, sizeof(client.connects_free[0]));
	if (conns == NULL || client.connects == NULL || client.connects_free == NULL)
		child_fail(role, "calloc", -ENOMEM, report_fd);
	for (uint32_t i = 0; i < options->window; i++)
		client.connects_free[client.connects_free_count++] = &client.connects[i];
	struct client_report report = {0};
	double setup_start = now_seconds();
	uint32_t started = 0;
	while (client.warmed < count) {
		while (started < count && started - client.warmed < options->window) {
			struct gale_client_conn *conn = &conns[started];
			conn->client = &client;
			message_fill(conn->message, client.msg_size, started);
			/* At most window tasks are connecting, so the pool is never empty. */
			conn->connect = client.connects_free[--client.connects_free_count];
			gale_tcp_connect_init(conn->connect, &bench.runtime, &client.addr, 1);
			rc = gale_executor_spawn(&bench.runtime.executor, gale_client_conn_poll,
						 conn, &conn->handle);
			if (rc < 0)
				child_fail(role, "spawn", rc, report_fd);
			started++;
		}
		rc = gale_runtime_turn(&bench.runtime, -1);
		if (rc < 0 && rc != GALE_E_STALL)
			child_fail(role, "turn", rc, report_fd);
		if (client.setup_error < 0)
			child_fail(role, "connect/warm-up", client.setup_error, report_fd);
	}
	report.setup_seconds = now_seconds() - setup_start;
	client_ready(&report, report_fd);

	double cpu_start = cpu_seconds();
	double start = now_seconds();
	client.gate_open = true;
	for (uint32_t i = 0; i < count; i++)
		gale_waker_wake(&conns[i].gate_waker);
	rc = gale_runtime_run(&bench.runtime);
	report.seconds = now_seconds() - start;
	report.cpu_seconds = cpu_seconds() - cpu_start;
	if (rc < 0)
		child_fail(role, "run", rc, report_fd);
	for (uint32_t i = 0; i < count; i++) {
		int result = 0;
		rc = gale_executor_try_join(&bench.runtime.executor, conns[i].handle, &result);
		if (rc < 0 || result < 0)
			child_fail(role, "round trips", rc < 0 ? rc : result, report_fd);
		report.round_trips += conns[i].done - 1;
	}
	client_finish(&report, report_fd);
	for (uint32_t i = 0; i < count; i++) {
		(void)gale_tcp_stream_linger_set(&conns[i].stream, 0); /* See client_abort. */
		(void)gale_tcp_stream_close(&conns[i].stream);
	}
	gale_bench_close(&bench);
	free(client.connects_free);
	free(client.connects);
	free(conns);
}

/* ==== raw edge-triggered epoll ============================================================ */

static _Noreturn void raw_fail(const char *role, const char *what, int report_fd)
{
	child_fail(role, what, errno ? -errno : -EIO, report_fd);
}

static int raw_epoll_create(const char *role, int report_fd)
{
	int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (epoll_fd < 0)
		raw_fail(role, "epoll_create1", report_fd);
	return epoll_fd;
}

/* Registers a connection socket: IN|OUT|RDHUP edge-triggered, data = its index. */
static void raw_register(int epoll_fd, int fd, uint32_t index, const char *role, int report_fd)
{
	struct epoll_event event = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET};
	event.data.u32 = index;
	if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event) < 0)
		raw_fail(role, "epoll_ctl", report_fd);
}

static void raw_nodelay(int fd, const char *role, int report_fd)
{
	int one = 1;
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		raw_fail(role, "TCP_NODELAY", report_fd);
}

/* Sets the flags of one event (hang-ups and errors make both directions "try it"). A
 * hang-up or error is final: *ended stays set, and a short count no longer clears a flag
 * (the end of stream after the last bytes gets no edge of its own). */
static void raw_flags_set(uint32_t bits, bool *readable, bool *writable, bool *ended)
{
	if (bits & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		*ended = true;
	if (bits & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		*readable = true;
	if (bits & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		*writable = true;
}

static int raw_wait(int epoll_fd, struct epoll_event *events, const char *role, int report_fd)
{
	int count;
	do {
		count = epoll_wait(epoll_fd, events, EVENTS_MAX, -1);
	} while (count < 0 && errno == EINTR);
	if (count < 0)
		raw_fail(role, "epoll_wait", report_fd);
	return count;
}

/* -- server -- */

#define RAW_LISTENER UINT32_MAX

struct raw_server_conn {
	int fd;
	bool readable;
	bool writable;
	bool ended; /* RDHUP, HUP or ERROR seen: final. */
	uint32_t len;
	uint32_t off;
	uint8_t buf[ECHO_BUF_SIZE];
};

/* Echoes while the flags allow; true once the peer closed (the fd is then closed). */
static bool raw_server_turn(struct raw_server_conn *conn)
{
	for (;;) {
		if (conn->off < conn->len) {
			if (!conn->writable)
				return false;
			ssize_t n = send(conn->fd, conn->buf + conn->off, conn->len - conn->off,
					 MSG_NOSIGNAL);
			if (n < 0 && errno == EAGAIN) {
				conn->writable = false;
				return false;
			}
			if (n <= 0)
				break;
			if ((uint32_t)n < conn->len - conn->off)
				conn->writable = conn->ended; /* Short: the send buffer is full. */
			conn->off += (uint32_t)n;
			continue;
		}
		if (!conn->readable)
			return false;
		ssize_t n = read(conn->fd, conn->buf, sizeof(conn->buf));
		if (n < 0 && errno == EAGAIN) {
			conn->readable = false;
			return false;
		}
		if (n <= 0)
			break;
		if ((size_t)n < sizeof(conn->buf))
			conn->readable = conn->ended; /* Short: drained. */
		conn->len = (uint32_t)n;
		conn->off = 0;
	}
	close(conn->fd);
	conn->fd = -1;
	return true;
}

static void raw_server_main(const struct bench_options *options, int ready_fd)
{
	static const char role[] = "raw server";
	uint32_t count = options->conns;
	struct raw_server_conn *conns = calloc(count, sizeof(conns[0]));
	if (conns == NULL)
		child_fail(role, "calloc", -ENOMEM, -1);
	int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (listener < 0)
		raw_fail(role, "socket", -1);
	int one = 1;
	(void)setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(addr);
	if (bind(listener, (struct sockaddr *)&addr, len) < 0 ||
	    listen(listener, options->backlog) < 0 ||
	    getsockname(listener, (struct sockaddr *)&addr, &len) < 0)
		raw_fail(role, "listen", -1);
	int epoll_fd = raw_epoll_create(role, -1);
	struct epoll_event event = {.events = EPOLLIN | EPOLLET};
	event.data.u32 = RAW_LISTENER;
	if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listener, &event) < 0)
		raw_fail(role, "epoll_ctl", -1);
	struct server_ready ready = {.port = ntohs(addr.sin_port)};
	write_all_fd(ready_fd, &ready, sizeof(ready));

	struct epoll_event events[EVENTS_MAX];
	uint32_t accepted = 0;
	uint32_t closed = 0;
	while (closed < count) {
		int ready_count = raw_wait(epoll_fd, events, role, -1);
		for (int e = 0; e < ready_count; e++) {
			uint32_t index = events[e].data.u32;
			if (index != RAW_LISTENER) {
				struct raw_server_conn *conn = &conns[index];
				raw_flags_set(events[e].events, &conn->readable, &conn->writable,
					       &conn->ended);
				if (conn->fd >= 0)
					closed += raw_server_turn(conn);
				continue;
			}
			while (accepted < count) {
				int fd = accept4(listener, NULL, NULL,
						 SOCK_NONBLOCK | SOCK_CLOEXEC);
				if (fd < 0 && errno == EAGAIN)
					break;
				if (fd < 0)
					raw_fail(role, "accept4", -1);
				raw_nodelay(fd, role, -1);
				conns[accepted].fd = fd;
				raw_register(epoll_fd, fd, accepted, role, -1);
				accepted++;
			}
			if (accepted == count && listener >= 0) {
				close(listener);
				listener = -1;
			}
		}
	}
	close(epoll_fd);
	free(conns);
}

/* -- client -- */

struct raw_client_conn {
	int fd;
	bool readable;
	bool writable;
	bool ended;        /* RDHUP, HUP or ERROR seen: final. */
	bool connected;    /* SO_ERROR checked. */
	uint32_t target;   /* Round trips to have done before stopping. */
	uint32_t done;
	uint32_t sent;
	uint32_t received;
	uint8_t message[MSG_SIZE_MAX];
	uint8_t echo[MSG_SIZE_MAX];
};

/* Round trips while the flags allow; 0 (waiting or at target) or a negative error. */
static int raw_client_turn(struct raw_client_conn *conn, uint32_t size)
{
	while (conn->done < conn->target) {
		if (conn->sent < size) {
			if (!conn->writable)
				return 0;
			ssize_t n = send(conn->fd, conn->message + conn->sent, size - conn->sent,
					 MSG_NOSIGNAL);
			if (n < 0 && errno == EAGAIN) {
				conn->writable = false;
				return 0;
			}
			if (n <= 0)
				return n < 0 ? -errno : GALE_E_WRITE_ZERO;
			if ((uint32_t)n < size - conn->sent)
				conn->writable = conn->ended; /* Short: the send buffer is full. */
			conn->sent += (uint32_t)n;
			continue;
		}
		if (!conn->readable)
			return 0;
		ssize_t n = read(conn->fd, conn->echo + conn->received, size - conn->received);
		if (n < 0 && errno == EAGAIN) {
			conn->readable = false;
			return 0;
		}
		if (n <= 0)
			return n < 0 ? -errno : GALE_E_UNEXPECTED_EOF;
		if ((uint32_t)n < size - conn->received)
			conn->readable = conn->ended; /* Short: drained. */
		conn->received += (uint32_t)n;
		if (conn->received < size)
			continue;
		if (memcmp(conn->echo, conn->message, size) != 0)
			return -EBADMSG;
		conn->done++;
		conn->sent = 0;
		conn->received = 0;
	}
	return 0;
}

static void raw_client_connect(struct raw_client_conn *conn, uint32_t index, int epoll_fd,
			       const struct sockaddr_in *addr, const char *role, int report_fd)
{
	conn->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (conn->fd < 0)
		raw_fail(role, "socket", report_fd);
	if (connect(conn->fd, (const struct sockaddr *)addr, sizeof(*addr)) < 0 &&
	    errno != EINPROGRESS)
		raw_fail(role, "connect", report_fd);
	conn->target = 1;
	raw_register(epoll_fd, conn->fd, index, role, report_fd);
}

/* The connect finished (writable or error): check SO_ERROR like gale's connect future. */
static void raw_client_connected(struct raw_client_conn *conn, const char *role, int report_fd)
{
	int error = 0;
	socklen_t len = sizeof(error);
	if (getsockopt(conn->fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0)
		raw_fail(role, "SO_ERROR", report_fd);
	if (error != 0)
		child_fail(role, "connect", -error, report_fd);
	raw_nodelay(conn->fd, role, report_fd);
	conn->connected = true;
}

static void raw_client_main(const struct bench_options *options, uint16_t port, int report_fd)
{
	static const char role[] = "raw client";
	uint32_t count = options->conns;
	uint32_t size = options->msg_size;
	struct raw_client_conn *conns = calloc(count, sizeof(conns[0]));
	if (conns == NULL)
		child_fail(role, "calloc", -ENOMEM, report_fd);
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int epoll_fd = raw_epoll_create(role, report_fd);
	struct epoll_event events[EVENTS_MAX];
	struct client_report report = {0};

	/* Setup: connect and warm up, at most window connections at a time. */
	double setup_start = now_seconds();
	uint32_t started = 0;
	uint32_t warmed = 0;
	while (warmed < count) {
		while (started < count && started - warmed < options->window) {
			message_fill(conns[started].message, size, started);
			raw_client_connect(&conns[started], started, epoll_fd, &addr, role,
					   report_fd);
			started++;
		}
		int ready_count = raw_wait(epoll_fd, events, role, report_fd);
		for (int e = 0; e < ready_count; e++) {
			struct raw_client_conn *conn = &conns[events[e].data.u32];
			raw_flags_set(events[e].events, &conn->readable, &conn->writable,
					       &conn->ended);
			if (conn->done == conn->target)
				continue;
			if (!conn->connected) {
				if (!conn->writable)
					continue;
				raw_client_connected(conn, role, report_fd);
			}
			int rc = raw_client_turn(conn, size);
			if (rc < 0)
				child_fail(role, "warm-up", rc, report_fd);
			warmed += conn->done == conn->target;
		}
	}
	report.setup_seconds = now_seconds() - setup_start;
	client_ready(&report, report_fd);

	/* Timed: every connection starts its round trips, then the loop runs them. */
	double cpu_start = cpu_seconds();
	double start = now_seconds();
	uint32_t finished = 0;
	for (uint32_t i = 0; i < count; i++) {
		struct raw_client_conn *conn = &conns[i];
		conn->target += options->round_trips;
		int rc = raw_client_turn(conn, size);
		if (rc < 0)
			child_fail(role, "round trips", rc, report_fd);
		finished += conn->done == conn->target;
	}
	while (finished < count) {
		int ready_count = raw_wait(epoll_fd, events, role, report_fd);
		for (int e = 0; e < ready_count; e++) {
			struct raw_client_conn *conn = &conns[events[e].data.u32];
			raw_flags_set(events[e].events, &conn->readable, &conn->writable,
					       &conn->ended);
			if (conn->done == conn->target)
				continue;
			int rc = raw_client_turn(conn, size);
			if (rc < 0)
				child_fail(role, "round trips", rc, report_fd);
			finished += conn->done == conn->target;
		}
	}
	report.seconds = now_seconds() - start;
	report.cpu_seconds = cpu_seconds() - cpu_start;
	for (uint32_t i = 0; i < count; i++)
		report.round_trips += conns[i].done - 1;
	client_finish(&report, report_fd);
	for (uint32_t i = 0; i < count; i++) {
		client_abort(conns[i].fd);
		close(conns[i].fd);
	}
	close(epoll_fd);
	free(conns);
}

/* ==== libuv =============================================================================== */

#ifdef GALE_BENCH_HAVE_LIBUV

/* libuv's codes are -errno on Unix (UV_EOF aside), so gale_strerror names them. */
static _Noreturn void uv_fail(const char *role, const char *what, int rc, int report_fd)
{
	child_fail(role, what, rc, report_fd);
}

/* -- server -- */

struct uv_server;

struct uv_server_conn {
	uv_tcp_t tcp;
	uv_write_t write_req; /* Only when uv_try_write could not write everything. */
	struct uv_server *server;
	uint8_t buf[ECHO_BUF_SIZE];
};

struct uv_server {
	uv_loop_t loop;
	uv_tcp_t listener;
	struct uv_server_conn *conns;
	uint32_t conns_count;
	uint32_t accepted;
};

static const char uv_server_role[] = "libuv server";

static void uv_server_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	struct uv_server_conn *conn = handle->data;
	*buf = uv_buf_init((char *)conn->buf, sizeof(conn->buf));
}

static void uv_server_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

static void uv_server_written(uv_write_t *req, int status)
{
	struct uv_server_conn *conn = req->data;
	if (status < 0) {
		uv_close((uv_handle_t *)&conn->tcp, NULL);
		return;
	}
	int rc = uv_read_start((uv_stream_t *)&conn->tcp, uv_server_alloc, uv_server_read);
	if (rc < 0)
		uv_fail(uv_server_role, "uv_read_start", rc, -1);
}

static void uv_server_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct uv_server_conn *conn = stream->data;
	if (nread < 0) {
		uv_close((uv_handle_t *)stream, NULL);
		return;
	}
	if (nread == 0)
		return;
	uv_buf_t out = uv_buf_init(buf->base, (unsigned int)nread);
	int n = uv_try_write(stream, &out, 1);
	if (n == nread)
		return;
	if (n < 0 && n != UV_EAGAIN) {
		uv_close((uv_handle_t *)stream, NULL);
		return;
	}
	/* The rest waits in buf: stop reading into it until it is written. */
	n = n < 0 ? 0 : n;
	out = uv_buf_init(buf->base + n, (unsigned int)(nread - n));
	(void)uv_read_stop(stream);
	conn->write_req.data = conn;
	int rc = uv_write(&conn->write_req, stream, &out, 1, uv_server_written);
	if (rc < 0)
		uv_fail(uv_server_role, "uv_write", rc, -1);
}

static void uv_server_connection(uv_stream_t *listener, int status)
{
	struct uv_server *server = listener->data;
	if (status < 0)
		uv_fail(uv_server_role, "listen callback", status, -1);
	if (server->accepted == server->conns_count)
		return;
	struct uv_server_conn *conn = &server->conns[server->accepted];
	conn->server = server;
	int rc = uv_tcp_init(&server->loop, &conn->tcp);
	if (rc == 0)
		rc = uv_accept(listener, (uv_stream_t *)&conn->tcp);
	conn->tcp.data = conn;
	if (rc == 0)
		rc = uv_tcp_nodelay(&conn->tcp, 1);
	if (rc == 0)
		rc = uv_read_start((uv_stream_t *)&conn->tcp, uv_server_alloc, uv_server_read);
	if (rc < 0)
		uv_fail(uv_server_role, "accept", rc, -1);
	if (++server->accepted == server->conns_count)
		uv_close((uv_handle_t *)listener, NULL);
}

static void uv_server_main(const struct bench_options *options, int ready_fd)
{
	const char *role = uv_server_role;
	struct uv_server server = {.conns_count = options->conns};
	server.conns = calloc(options->conns, sizeof(server.conns[0]));
	if (server.conns == NULL)
		child_fail(role, "calloc", -ENOMEM, -1);
	int rc = uv_loop_init(&server.loop);
	if (rc < 0)
		uv_fail(role, "uv_loop_init", rc, -1);
	struct sockaddr_in addr;
	rc = uv_ip4_addr("127.0.0.1", 0, &addr);
	if (rc == 0)
		rc = uv_tcp_init(&server.loop, &server.listener);
	server.listener.data = &server;
	if (rc == 0)
		rc = uv_tcp_bind(&server.listener, (const struct sockaddr *)&addr, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&server.listener, options->backlog,
			       uv_server_connection);
	int len = sizeof(addr);
	if (rc == 0)
		rc = uv_tcp_getsockname(&server.listener, (struct sockaddr *)&addr, &len);
	if (rc < 0)
		uv_fail(role, "listen", rc, -1);
	struct server_ready ready = {.port = ntohs(addr.sin_port)};
	write_all_fd(ready_fd, &ready, sizeof(ready));
	rc = uv_run(&server.loop, UV_RUN_DEFAULT);
	(void)rc;
	(void)uv_loop_close(&server.loop);
	free(server.conns);
}

/* -- client -- */

struct uv_client;

struct uv_client_conn {
	uv_tcp_t tcp;
	uv_connect_t connect_req;
	uv_write_t write_req;
	struct uv_client *client;
	uint32_t target;
	uint32_t done;
	uint32_t received;
	uint8_t message[MSG_SIZE_MAX];
	uint8_t echo[MSG_SIZE_MAX];
};

struct uv_client {
	uv_loop_t loop;
	struct sockaddr_in addr;
	struct uv_client_conn *conns;
	const struct bench_options *options;
	uint32_t started;
	uint32_t warmed;
	uint32_t finished;
	bool timed;
	double start;
	double cpu_start;
	double setup_start;
	struct client_report report;
	int report_fd;
};

static const char uv_client_role[] = "libuv client";

static void uv_client_send(struct uv_client_conn *conn);

static void uv_client_fail(struct uv_client_conn *conn, const char *what, int rc)
{
	uv_fail(uv_client_role, what, rc, conn->client->report_fd);
}

static void uv_client_written(uv_write_t *req, int status)
{
	struct uv_client_conn *conn = req->data;
	if (status < 0)
		uv_client_fail(conn, "uv_write", status);
}

/* Sends the whole message: uv_try_write first, uv_write for what it left. */
static void uv_client_send(struct uv_client_conn *conn)
{
	uint32_t size = conn->client->options->msg_size;
	uv_buf_t out = uv_buf_init((char *)conn->message, size);
	int n = uv_try_write((uv_stream_t *)&conn->tcp, &out, 1);
	if (n == (int)size)
		return;
	if (n < 0 && n != UV_EAGAIN)
		uv_client_fail(conn, "uv_try_write", n);
	n = n < 0 ? 0 : n;
	out = uv_buf_init((char *)conn->message + n, size - (uint32_t)n);
	conn->write_req.data = conn;
	int rc = uv_write(&conn->write_req, (uv_stream_t *)&conn->tcp, &out, 1,
			  uv_client_written);
	if (rc < 0)
		uv_client_fail(conn, "uv_write", rc);
}

static void uv_client_start_more(struct uv_client *client);

static void uv_client_timed_start(struct uv_client *client)
{
	uint32_t count = client->options->conns;
	client->report.setup_seconds = now_seconds() - client->setup_start;
	client_ready(&client->report, client->report_fd);
	client->cpu_start = cpu_seconds();
	client->start = now_seconds();
	client->timed = true;
	for (uint32_t i = 0; i < count; i++) {
		client->conns[i].target += client->options->round_trips;
		uv_client_send(&client->conns[i]);
	}
}

static void uv_client_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	struct uv_client_conn *conn = handle->data;
	uint32_t size = conn->client->options->msg_size;
	*buf = uv_buf_init((char *)conn->echo + conn->received, size - conn->received);
}

static void uv_client_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	(void)buf;
	struct uv_client_conn *conn = stream->data;
	struct uv_client *client = conn->client;
	uint32_t size = client->options->msg_size;
	if (nread < 0)
		uv_client_fail(conn, "read", (int)nread);
	conn->received += (uint32_t)nread;
	if (conn->received < size)
		return;
	if (memcmp(conn->echo, conn->message, size) != 0)
		uv_client_fail(conn, "echo", -EBADMSG);
	conn->done++;
	conn->received = 0;
	if (conn->done < conn->target) {
		uv_client_send(conn);
		return;
	}
	if (!client->timed) {
		if (++client->warmed == client->options->conns)
			uv_client_timed_start(client);
		else
			uv_client_start_more(client);
		return;
	}
	if (++client->finished == client->options->conns) {
		client->report.seconds = now_seconds() - client->start;
		client->report.cpu_seconds = cpu_seconds() - client->cpu_start;
		uv_stop(&client->loop);
	}
}

static void uv_client_connected(uv_connect_t *req, int status)
{
	struct uv_client_conn *conn = req->data;
	if (status < 0)
		uv_client_fail(conn, "connect", status);
	int rc = uv_tcp_nodelay(&conn->tcp, 1);
	if (rc == 0)
		rc = uv_read_start((uv_stream_t *)&conn->tcp, uv_client_alloc, uv_client_read);
	if (rc < 0)
		uv_client_fail(conn, "uv_read_start", rc);
	uv_client_send(conn);
}

static void uv_client_start_more(struct uv_client *client)
{
	const struct bench_options *options = client->options;
	while (client->started < options->conns &&
	       client->started - client->warmed < options->window) {
		uint32_t index = client->started++;
		struct uv_client_conn *conn = &client->conns[index];
		conn->client = client;
		conn->target = 1;
		message_fill(conn->message, options->msg_size, index);
		int rc = uv_tcp_init(&client->loop, &conn->tcp);
		conn->tcp.data = conn;
		conn->connect_req.data = conn;
		if (rc == 0)
			rc = uv_tcp_connect(&conn->connect_req, &conn->tcp,
					    (const struct sockaddr *)&client->addr,
					    uv_client_connected);
		if (rc < 0)
			uv_client_fail(conn, "uv_tcp_connect", rc);
	}
}

static void uv_client_main(const struct bench_options *options, uint16_t port, int report_fd)
{
	const char *role = uv_client_role;
	struct uv_client client = {0};
	client.options = options;
	client.report_fd = report_fd;
	client.conns = calloc(options->conns, sizeof(client.conns[0]));
	if (client.conns == NULL)
		child_fail(role, "calloc", -ENOMEM, report_fd);
	int rc = uv_loop_init(&client.loop);
	if (rc == 0)
		rc = uv_ip4_addr("127.0.0.1", port, &client.addr);
	if (rc < 0)
		uv_fail(role, "setup", rc, report_fd);
	client.setup_start = now_seconds();
	uv_client_start_more(&client);
	rc = uv_run(&client.loop, UV_RUN_DEFAULT);
	(void)rc;
	if (client.finished != options->conns)
		child_fail(role, "run ended early", -EIO, report_fd);
	for (uint32_t i = 0; i < options->conns; i++)
		client.report.round_trips += client.conns[i].done - 1;
	client_finish(&client.report, report_fd);
	for (uint32_t i = 0; i < options->conns; i++) {
		uv_os_fd_t fd;
		if (uv_fileno((uv_handle_t *)&client.conns[i].tcp, &fd) == 0)
			client_abort(fd);
		uv_close((uv_handle_t *)&client.conns[i].tcp, NULL);
	}
	(void)uv_run(&client.loop, UV_RUN_DEFAULT);
	(void)uv_loop_close(&client.loop);
	free(client.conns);
}

#endif /* GALE_BENCH_HAVE_LIBUV */

/* ==== tokio: bench/tokio/src/main.rs, exec'd in the forked child ========================== */

/* The tokio contestant's program (--tokio), or NULL: no tokio contestant. */
static const char *tokio_program;

/* Keeps fd open across exec and returns it as text. */
static const char *tokio_fd_arg(int fd, char *text, size_t size, const char *role,
				int report_fd)
{
	if (fcntl(fd, F_SETFD, 0) < 0)
		raw_fail(role, "fcntl", report_fd);
	snprintf(text, size, "%d", fd);
	return text;
}

static _Noreturn void tokio_exec(char **argv, const char *role, int report_fd)
{
	execv(argv[0], argv);
	raw_fail(role, "exec", report_fd);
}

static void tokio_server_main(const struct bench_options *options, int ready_fd)
{
	static const char role[] = "tokio server";
	char conns[16], backlog[16], fd[16];
	snprintf(conns, sizeof(conns), "%u", options->conns);
	snprintf(backlog, sizeof(backlog), "%d", options->backlog);
	char *argv[] = {(char *)tokio_program, "conns-server", "--conns", conns, "--backlog",
			backlog, "--ready-fd",
			(char *)tokio_fd_arg(ready_fd, fd, sizeof(fd), role, -1), NULL};
	tokio_exec(argv, role, -1);
}

static void tokio_client_main(const struct bench_options *options, uint16_t port, int report_fd)
{
	static const char role[] = "tokio client";
	char conns[16], port_text[16], round_trips[16], msg_size[16], window[16];
	char report[16], go[16];
	snprintf(conns, sizeof(conns), "%u", options->conns);
	snprintf(port_text, sizeof(port_text), "%u", port);
	snprintf(round_trips, sizeof(round_trips), "%u", options->round_trips);
	snprintf(msg_size, sizeof(msg_size), "%u", options->msg_size);
	snprintf(window, sizeof(window), "%u", options->window);
	char *argv[] = {(char *)tokio_program, "conns-client", "--conns", conns, "--port",
			port_text, "--round-trips", round_trips, "--msg-size", msg_size,
			"--window", window, "--report-fd",
			(char *)tokio_fd_arg(report_fd, report, sizeof(report), role, report_fd),
			"--go-fd",
			(char *)tokio_fd_arg(client_go_fd, go, sizeof(go), role, report_fd), NULL};
	tokio_exec(argv, role, report_fd);
}

/* ==== Parent: fork both ends, collect, alternate ========================================= */

struct contestant {
	const char *name;
	void (*server)(const struct bench_options *options, int ready_fd);
	void (*client)(const struct bench_options *options, uint16_t port, int report_fd);
};

static const struct contestant contestants[] = {
	{"gale", gale_server_main, gale_client_main},
	{"raw", raw_server_main, raw_client_main},
#ifdef GALE_BENCH_HAVE_LIBUV
	{"libuv", uv_server_main, uv_client_main},
#endif
	{"tokio", tokio_server_main, tokio_client_main}, /* Only with --tokio. */
};

enum { CONTESTANTS_COUNT = sizeof(contestants) / sizeof(contestants[0]) };

static pid_t fork_child(const struct contestant *who, const struct bench_options *options,
			uint16_t port, const int *keep, const int *drop, int drop_count)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		perror("bench_conns: fork");
		exit(1);
	}
	if (pid > 0)
		return pid;
	for (int i = 0; i < drop_count; i++)
		close(drop[i]);
	if (port == 0) {
		who->server(options, keep[0]);
	} else {
		client_go_fd = keep[1];
		who->client(options, port, keep[0]);
	}
	fflush(stderr);
	_exit(0);
}

static double rusage_cpu(const struct rusage *usage)
{
	return (double)usage->ru_utime.tv_sec + (double)usage->ru_utime.tv_usec * 1e-6 +
	       (double)usage->ru_stime.tv_sec + (double)usage->ru_stime.tv_usec * 1e-6;
}

/* A process's time on CPU so far: /proc/PID/schedstat (ns), else /proc/PID/stat (ticks). */
static double process_cpu_seconds(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	FILE *file = fopen(path, "r");
	unsigned long long ns = 0;
	if (file != NULL) {
		int fields = fscanf(file, "%llu", &ns);
		fclose(file);
		if (fields == 1)
			return (double)ns * 1e-9;
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	file = fopen(path, "r");
	unsigned long long utime = 0, stime = 0;
	if (file == NULL)
		return 0;
	/* Fields 14 and 15; the command (field 2) has no spaces here. */
	int fields = fscanf(file, "%*d %*s %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			    &utime, &stime);
	fclose(file);
	return fields == 2 ? (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK) : 0;
}

/* Reads one client report; false on EOF or a failed client. */
static bool report_read(int fd, struct client_report *report, int phase)
{
	return read_all_fd(fd, report, sizeof(*report)) && report->error == 0 &&
	       report->phase == phase;
}

static bool run_once(const struct contestant *who, const struct bench_options *options,
		     struct run_result *result)
{
	memset(result, 0, sizeof(*result));
	/* Pipes are made just before the fork that needs them: only that child holds them. */
	int ready_pipe[2], report_pipe[2], go_pipe[2];
	if (pipe2(ready_pipe, O_CLOEXEC) < 0) {
		perror("bench_conns: pipe");
		exit(1);
	}
	pid_t server = fork_child(who, options, 0, &ready_pipe[1], &ready_pipe[0], 1);
	close(ready_pipe[1]);
	struct server_ready ready = {0};
	bool ok = read_all_fd(ready_pipe[0], &ready, sizeof(ready)) && ready.port != 0;
	close(ready_pipe[0]);
	pid_t client = -1;
	if (ok) {
		if (pipe2(report_pipe, O_CLOEXEC) < 0 || pipe2(go_pipe, O_CLOEXEC) < 0) {
			perror("bench_conns: pipe");
			exit(1);
		}
		int keep[2] = {report_pipe[1], go_pipe[0]};
		int drop[2] = {report_pipe[0], go_pipe[1]};
		client = fork_child(who, options, ready.port, keep, drop, 2);
		close(report_pipe[1]);
		close(go_pipe[0]);
		ok = report_read(report_pipe[0], &result->report, REPORT_READY);
		double server_cpu_start = process_cpu_seconds(server);
		ok = ok && write(go_pipe[1], "g", 1) == 1;
		ok = ok && report_read(report_pipe[0], &result->report, REPORT_FINAL);
		result->server_cpu_timed = process_cpu_seconds(server) - server_cpu_start;
		close(go_pipe[1]); /* The client's "close" (EOF will do). */
		close(report_pipe[0]);
	}
	struct rusage usage;
	int status = 0;
	if (client > 0) {
		if (wait4(client, &status, 0, &usage) == client) {
			result->client_maxrss_kib = usage.ru_maxrss;
			result->client_cpu = rusage_cpu(&usage);
		}
		ok = ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	}
	if (!ok)
		kill(server, SIGKILL); /* A failed client leaves the server waiting forever. */
	if (wait4(server, &status, 0, &usage) == server) {
		result->server_maxrss_kib = usage.ru_maxrss;
		result->server_cpu = rusage_cpu(&usage);
	}
	ok = ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	uint64_t expected = (uint64_t)options->conns * options->round_trips;
	if (ok && result->report.round_trips != expected) {
		fprintf(stderr, "bench_conns: %s: %llu round trips, expected %llu\n", who->name,
			(unsigned long long)result->report.round_trips,
			(unsigned long long)expected);
		ok = false;
	}
	if (!ok)
		fprintf(stderr, "bench_conns: %s run failed%s%s\n", who->name,
			result->report.what[0] ? " at " : "", result->report.what);
	return ok;
}

/* Per contestant, per round. */
struct contestant_series {
	struct bench_series us_per_rt;    /* Wall time / round trips, in us. */
	struct bench_series total_ms;     /* Timed phase, ms. */
	struct bench_series cpu_per_rt;   /* Server + client CPU in the timed phase, us/rt. */
	struct bench_series cpu_ratio;    /* raw CPU / this CPU. */
	struct bench_series server_kib;   /* Peak RSS. */
	struct bench_series client_kib;
	struct bench_series time_ratio;   /* raw time / this time. */
	struct bench_series server_ratio; /* This RSS / raw RSS. */
	struct bench_series client_ratio;
	struct bench_series vs_libuv;     /* libuv time / this time (gale only). */
	struct bench_series vs_tokio;     /* tokio time / this time (gale only). */
	double server_cpu;                /* Sum over rounds (whole processes). */
	double client_cpu;
	int runs;
};

static bool bench_wants(const struct bench_options *options, const char *name)
{
	if (strcmp(name, "tokio") == 0 && tokio_program == NULL)
		return false;
	return options->only == NULL || strcmp(options->only, name) == 0;
}

static void bench_rows(const struct bench_options *options, struct contestant_series *series)
{
	char figure[96], figure_rss_server[96], figure_rss_client[96], figure_total[96];
	char figure_cpu[96];
	snprintf(figure, sizeof(figure), "conns %u echo", options->conns);
	snprintf(figure_total, sizeof(figure_total), "conns %u echo total", options->conns);
	snprintf(figure_cpu, sizeof(figure_cpu), "conns %u echo CPU both ends", options->conns);
	snprintf(figure_rss_server, sizeof(figure_rss_server), "conns %u peak RSS server",
		 options->conns);
	snprintf(figure_rss_client, sizeof(figure_rss_client), "conns %u peak RSS client",
		 options->conns);
	static const char rss_unit[] = "KiB (ratio x/raw, lower better)";
	int raw = -1;
	for (int c = 0; c < (int)CONTESTANTS_COUNT; c++)
		if (strcmp(contestants[c].name, "raw") == 0)
			raw = c;
	/* The reference first, then the others with their ratios against it. */
	for (int pass = 0; pass < 2; pass++) {
		for (int c = 0; c < (int)CONTESTANTS_COUNT; c++) {
			struct contestant_series *s = &series[c];
			bool is_raw = c == raw;
			if (s->runs == 0 || (pass == 0) != is_raw)
				continue;
			bool with_ratio = !is_raw && s->time_ratio.count > 0;
			const char *goal = strcmp(contestants[c].name, "gale") == 0 ? ">= 0.97"
										     : NULL;
			bench_report_row(figure, contestants[c].name, "us/rt", &s->us_per_rt,
					 with_ratio ? &s->time_ratio : NULL, goal);
			bench_report_row(figure_total, contestants[c].name, "ms", &s->total_ms,
					 with_ratio ? &s->time_ratio : NULL, NULL);
			bench_report_row(figure_cpu, contestants[c].name, "us/rt",
					 &s->cpu_per_rt, with_ratio ? &s->cpu_ratio : NULL, NULL);
			/* Issue 18: gale's server at most 1.3 times raw's peak RSS. */
			bench_report_row(figure_rss_server, contestants[c].name, rss_unit,
					 &s->server_kib, with_ratio ? &s->server_ratio : NULL,
					 goal != NULL ? "<= 1.3" : NULL);
			bench_report_row(figure_rss_client, contestants[c].name, rss_unit,
					 &s->client_kib, with_ratio ? &s->client_ratio : NULL,
					 NULL);
		}
	}
	for (int c = 0; c < (int)CONTESTANTS_COUNT; c++) {
		if (series[c].vs_libuv.count == 0)
			continue;
		char figure_uv[96];
		snprintf(figure_uv, sizeof(figure_uv), "conns %u echo vs libuv", options->conns);
		bench_report_row(figure_uv, contestants[c].name, "us/rt (ratio libuv/x time)",
				 &series[c].us_per_rt, &series[c].vs_libuv, ">= 1");
	}
	for (int c = 0; c < (int)CONTESTANTS_COUNT; c++) {
		if (series[c].vs_tokio.count == 0)
			continue;
		char figure_tokio[96];
		snprintf(figure_tokio, sizeof(figure_tokio), "conns %u echo vs tokio",
			 options->conns);
		bench_report_row(figure_tokio, contestants[c].name, "us/rt (ratio tokio/x time)",
				 &series[c].us_per_rt, &series[c].vs_tokio, ">= 1");
	}
}

static int bench_run(const struct bench_options *options)
{
	static struct contestant_series series[CONTESTANTS_COUNT];
	int raw = -1, uv = -1, gale = -1, tokio = -1;
	for (int c = 0; c < (int)CONTESTANTS_COUNT; c++) {
		if (strcmp(contestants[c].name, "raw") == 0)
			raw = c;
		else if (strcmp(contestants[c].name, "libuv") == 0)
			uv = c;
		else if (strcmp(contestants[c].name, "gale") == 0)
			gale = c;
		else if (strcmp(contestants[c].name, "tokio") == 0)
			tokio = c;
	}
	double rts = (double)options->conns * options->round_trips;
	for (int round = 0; round < options->rounds; round++) {
		struct run_result results[CONTESTANTS_COUNT];
		bool ran[CONTESTANTS_COUNT] = {false};
		printf("  round %d:", round + 1);
		/* Each round starts with the next contestant: no one always runs first. */
		for (int k = 0; k < (int)CONTESTANTS_COUNT; k++) {
			int c = (round + k) % (int)CONTESTANTS_COUNT;
			if (!bench_wants(options, contestants[c].name))
				continue;
			if (!run_once(&contestants[c], options, &results[c]))
				return 1;
			ran[c] = true;
			struct contestant_series *s = &series[c];
			const struct run_result *r = &results[c];
			bench_series_add(&s->us_per_rt, r->report.seconds * 1e6 / rts);
			bench_series_add(&s->total_ms, r->report.seconds * 1e3);
			double cpu = r->server_cpu_timed + r->report.cpu_seconds;
			bench_series_add(&s->cpu_per_rt, cpu * 1e6 / rts);
			bench_series_add(&s->server_kib, (double)r->server_maxrss_kib);
			bench_series_add(&s->client_kib, (double)r->client_maxrss_kib);
			s->server_cpu += r->server_cpu;
			s->client_cpu += r->client_cpu;
			s->runs++;
			printf(" %s %.0f ms (%.3f us/rt, CPU %.3f+%.3f us/rt, RSS %ld/%ld KiB)",
			       contestants[c].name, r->report.seconds * 1e3,
			       r->report.seconds * 1e6 / rts, r->server_cpu_timed * 1e6 / rts,
			       r->report.cpu_seconds * 1e6 / rts, r->server_maxrss_kib,
			       r->client_maxrss_kib);
			fflush(stdout);
		}
		printf("\n");
		for (int c = 0; c < (int)CONTESTANTS_COUNT; c++) {
			if (!ran[c] || c == raw)
				continue;
			if (raw >= 0 && ran[raw]) {
				bench_series_add(&series[c].time_ratio, results[raw].report.seconds /
									 results[c].report.seconds);
				bench_series_add(&series[c].cpu_ratio,
						 (results[raw].server_cpu_timed +
						  results[raw].report.cpu_seconds) /
							 (results[c].server_cpu_timed +
							  results[c].report.cpu_seconds));
				bench_series_add(&series[c].server_ratio,
						 (double)results[c].server_maxrss_kib /
							 (double)results[raw].server_maxrss_kib);
				bench_series_add(&series[c].client_ratio,
						 (double)results[c].client_maxrss_kib /
							 (double)results[raw].client_maxrss_kib);
			}
			if (c == gale && uv >= 0 && ran[uv])
				bench_series_add(&series[c].vs_libuv, results[uv].report.seconds /
									 results[c].report.seconds);
			if (c == gale && tokio >= 0 && ran[tokio])
				bench_series_add(&series[c].vs_tokio,
						 results[tokio].report.seconds /
							 results[c].report.seconds);
		}
	}
	for (int c = 0; c < (int)CONTESTANTS_COUNT; c++) {
		const struct contestant_series *s = &series[c];
		if (s->runs == 0)
			continue;
		double median_s = bench_series_median(&s->total_ms) * 1e-3;
		printf("  %-5s median %.0f ms, %.3f us/rt (%.0f round trips/s), per-connection "
		       "latency %.1f us; CPU per run: server %.2f s, client %.2f s (whole "
		       "processes, setup included)\n",
		       contestants[c].name, median_s * 1e3, median_s * 1e6 / rts, rts / median_s,
		       median_s * 1e6 / options->round_trips, s->server_cpu / s->runs,
		       s->client_cpu / s->runs);
	}
	bench_rows(options, series);
	return 0;
}

/* ==== Options and limits ================================================================== */

static uint32_t parse_count(const char *text, uint32_t max)
{
	char *end = NULL;
	unsigned long long value = strtoull(text, &end, 10);
	if (end == text || *end != '\0' || value == 0 || value > max) {
		fprintf(stderr, "bench_conns: bad count \"%s\" (1..%u)\n", text, max);
		exit(2);
	}
	return (uint32_t)value;
}

static long proc_long(const char *path, long fallback)
{
	FILE *file = fopen(path, "r");
	long value = fallback;
	if (file == NULL)
		return fallback;
	if (fscanf(file, "%ld", &value) != 1)
		value = fallback;
	fclose(file);
	return value;
}

static struct bench_options bench_options_parse(int argc, char **argv)
{
	struct bench_options options = {.conns = 1000, .msg_size = 32, .rounds = 5};
	uint32_t window = 0;
	int i;
	for (i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--conns") == 0)
			options.conns = parse_count(argv[i + 1], 1000000);
		else if (strcmp(argv[i], "--round-trips") == 0)
			options.round_trips = parse_count(argv[i + 1], 100000000);
		else if (strcmp(argv[i], "--rounds") == 0)
			options.rounds = (int)parse_count(argv[i + 1], BENCH_SAMPLES_MAX);
		else if (strcmp(argv[i], "--msg-size") == 0)
			options.msg_size = parse_count(argv[i + 1], MSG_SIZE_MAX);
		else if (strcmp(argv[i], "--window") == 0)
			window = parse_count(argv[i + 1], 1000000);
		else if (strcmp(argv[i], "--only") == 0)
			options.only = argv[i + 1];
		else if (strcmp(argv[i], "--tokio") == 0)
			tokio_program = argv[i + 1];
		else
			break;
	}
	bool only_ok = options.only == NULL;
	for (int c = 0; c < (int)CONTESTANTS_COUNT && !only_ok; c++)
		only_ok = strcmp(options.only, contestants[c].name) == 0 &&
			  bench_wants(&options, contestants[c].name);
	if (i != argc || !only_ok) {
		fprintf(stderr,
			"usage: %s [--conns N] [--round-trips R] [--rounds K<=%d]\n"
			"       [--only gale|raw%s|tokio] [--msg-size B<=%d] [--window W]\n"
			"       [--tokio PATH-TO-gale-bench-tokio]\n",
			argv[0], BENCH_SAMPLES_MAX,
			CONTESTANTS_COUNT > 3 ? "|libuv" : " (libuv not built)", MSG_SIZE_MAX);
		exit(2);
	}
	if (options.round_trips == 0) {
		options.round_trips = RT_TOTAL_DEFAULT / options.conns;
		if (options.round_trips < 10)
			options.round_trips = 10;
	}
	/* Keep the accept queue (somaxconn caps the backlog) from ever overflowing. */
	long somaxconn = proc_long("/proc/sys/net/core/somaxconn", 128);
	long syn_backlog = proc_long("/proc/sys/net/ipv4/tcp_max_syn_backlog", 128);
	long cap = (somaxconn < syn_backlog ? somaxconn : syn_backlog) / 2;
	options.backlog = (int)somaxconn;
	options.window = window != 0 ? window : WINDOW_DEFAULT;
	if (options.window > cap && cap > 0)
		options.window = (uint32_t)cap;
	return options;
}

/* Soft RLIMIT_NOFILE up to the hard limit; each process needs conns + FD_SPARE. */
static void raise_fd_limit(const struct bench_options *options)
{
	struct rlimit limit;
	if (getrlimit(RLIMIT_NOFILE, &limit) < 0) {
		perror("bench_conns: getrlimit");
		exit(1);
	}
	if (limit.rlim_cur < limit.rlim_max) {
		limit.rlim_cur = limit.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &limit) < 0) {
			perror("bench_conns: setrlimit");
			exit(1);
		}
	}
	if ((rlim_t)options->conns + FD_SPARE > limit.rlim_cur) {
		fprintf(stderr,
			"bench_conns: %u connections need %u descriptors per process, but "
			"RLIMIT_NOFILE allows %llu (hard limit); lower --conns or raise the hard "
			"limit (ulimit -Hn, limits.conf)\n",
			options->conns, options->conns + FD_SPARE,
			(unsigned long long)limit.rlim_cur);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	struct bench_options options = bench_options_parse(argc, argv);
	raise_fd_limit(&options);
	signal(SIGPIPE, SIG_IGN); /* libuv writes with write(2); a dead peer must not kill. */
	double load[3] = {0, 0, 0};
	if (getloadavg(load, 3) < 0)
		load[0] = load[1] = load[2] = -1;
	printf("conns: %u concurrent loopback connections, %u round trips of %u bytes each "
	       "(%llu per run), server and client in separate processes; window %u, backlog "
	       "%d; load average %.2f %.2f %.2f\n",
	       options.conns, options.round_trips, options.msg_size,
	       (unsigned long long)options.conns * options.round_trips, options.window,
	       options.backlog, load[0], load[1], load[2]);
	printf("  us/rt = wall time of the timed phase / round trips (throughput with all "
	       "connections in flight)\n");
	return bench_run(&options);
}
