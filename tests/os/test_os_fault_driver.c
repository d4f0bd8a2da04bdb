/* SPDX-License-Identifier: MIT */
/*
 * The fault driver (sim/src/sim_fault.c) over the real epoll driver: real sockets, real
 * kernel readiness, injected faults.
 *
 * Methodology: each test starts from the "none" profile copied into its fixture and turns
 * on exactly the faults it is about (the fault driver borrows the profile, so a test may
 * also change a ratio between two calls). Seeds are fixed per test; GALE_TEST_SEED
 * overrides them to replay another one. The stream tests push a 1 MiB pattern through a
 * socketpair with edge-triggered discipline (readiness cleared only on -EAGAIN, cursors
 * for partial progress), once on the driver directly and once through the reactor, under
 * the harsh profile (RESET off, since a reset ends a stream legitimately), and require
 * every byte in order plus a nonzero count of each injected fault. A lost readiness shows
 * up as waits that return nothing for seconds (bounded, then the test fails), never as a
 * hang. A wait that must not block is checked by what the kernel did, not by a stopwatch:
 * the inner driver's epoll_wait slot records whether a call slept through its timeout, so
 * a loaded machine cannot fail it. The plan tests check the exact call that fails.
 * PARTITION and the real RST need TCP, so those tests connect over 127.0.0.1 (a port the
 * kernel picks). A partition's clock is the real one, so its tests assert only what no
 * delay can break: an event held back arrives no earlier than the heal could be, a read
 * the decorator answered itself (the inner read slot saw no call) ran before the latest
 * possible heal and one the kernel answered after the earliest, and every timeout the
 * inner epoll_wait got was capped at the partition's length (read from the epoll_wait
 * slot, not from a stopwatch). The other direction (the heal arriving on time) is bounded
 * by WAIT_TIMEOUT_NS per wait, so a broken decorator fails slowly, never hangs.
 * Teardown compares the process's open fds with those before setup, so a leaked fd fails
 * the test.
 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <gale/driver_epoll.h>
#include <gale/entropy.h>
#include <gale/error.h>
#include <gale/reactor.h>
#include <gale/sim_fault.h>
#include <gale/sim_profile.h>
#include <gale/sim_trace.h>

#include "test_support.h"

#define EVENTS_CAP 16
#define WAIT_TIMEOUT_NS INT64_C(5000000000)
#define STREAM_LEN (1024 * 1024)
#define CHUNK_WRITE_MAX 8192
#define CHUNK_READ_MAX 4096
#define TOKEN_A UINT64_C(0x100000001)
#define TOKEN_B UINT64_C(0x200000002)
#define TOKEN_LISTENER UINT64_C(0x300000003)
#define WAITS_MAX 4               /* Bounded retries of a wait for one expected event. */
#define MS INT64_C(1000000)
#define TCP_PAYLOAD_LEN (32 * 1024)

struct fixture {
	struct gale_driver_epoll epoll;    /* The real driver. */
	struct gale_fault_driver fault;    /* The decorator under test. */
	struct gale_driver *driver;        /* &fault.base. */
	struct gale_fault_profile profile; /* Borrowed by fault; tests edit it. */
	struct gale_entropy entropy;       /* Borrowed by fault. */
	struct gale_trace trace;           /* Borrowed by fault. */
	int fds_open_before;               /* Open fds before setup. */
};

/* ---- helpers -------------------------------------------------------------------------- */

static int fds_open_count(void)
{
	DIR *dir = opendir("/proc/self/fd");
	assert_non_null(dir);
	int count = 0;
	for (struct dirent *entry = readdir(dir); entry != NULL; entry = readdir(dir)) {
		if (entry->d_name[0] != '.')
			count++;
	}
	closedir(dir);
	return count;
}

static uint64_t seed_or(uint64_t seed_default)
{
	struct gale_test_seeds seeds = gale_test_seeds_get(1);
	return getenv("GALE_TEST_SEED") != NULL ? seeds.first : seed_default;
}

static int setup(void **state)
{
	struct fixture *fixture = calloc(1, sizeof(*fixture));
	assert_non_null(fixture);
	fixture->fds_open_before = fds_open_count();
	assert_int_equal(gale_driver_epoll_init(&fixture->epoll), 0);
	fixture->profile = *gale_fault_profile_find("none");
	fixture->profile.name = "test";
	gale_entropy_init_seed(&fixture->entropy, seed_or(0x5EED));
	gale_trace_init(&fixture->trace, NULL, 1u << 20);
	assert_int_equal(gale_fault_driver_init(&fixture->fault, &fixture->epoll.base,
						&fixture->profile, &fixture->entropy,
						&fixture->trace),
			 0);
	fixture->driver = &fixture->fault.base;
	*state = fixture;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fixture = *state;
	gale_driver_deinit(fixture->driver);
	assert_null(fixture->fault.base.ops);
	gale_driver_deinit(&fixture->epoll.base);
	gale_trace_deinit(&fixture->trace);
	assert_int_equal(fds_open_count(), fixture->fds_open_before);
	free(fixture);
	return 0;
}

static void ratio_set(struct fixture *fixture, enum gale_fault_kind kind, uint32_t numerator,
		      uint32_t denominator)
{
	fixture->profile.ratios[kind] = (struct gale_ratio){numerator, denominator};
}

static uint64_t injected(const struct fixture *fixture, enum gale_fault_kind kind)
{
	return gale_fault_driver_stats_get(&fixture->fault).injected[kind];
}

static void pair_make(struct fixture *fixture, int fds_out[2])
{
	assert_int_equal(gale_driver_socketpair(fixture->driver, fds_out), 0);
}

static void pair_close(struct fixture *fixture, const int fds[2])
{
	assert_int_equal(gale_driver_close(fixture->driver, fds[0]), 0);
	assert_int_equal(gale_driver_close(fixture->driver, fds[1]), 0);
}

/* Waits (bounded) and returns whether some event carries token. */
static bool wait_for_token(struct fixture *fixture, uint64_t token, uint32_t *ready_out)
{
	struct gale_event events[EVENTS_CAP];
	int count = gale_driver_wait(fixture->driver, events, EVENTS_CAP, WAIT_TIMEOUT_NS);
	assert_true(count >= 0);
	for (int i = 0; i < count; i++) {
		if (events[i].token == token) {
			*ready_out = events[i].ready;
			return true;
		}
	}
	return false;
}

/* The inner driver's epoll_wait calls during wait_owed (the slot has no data pointer). */
static struct {
	int calls;          /* epoll_wait calls. */
	int slept_count;    /* Calls that slept through a nonzero timeout: nothing was ready. */
	int timeout_ms_max; /* The longest limited timeout asked for. */
	bool unlimited;     /* Some call had no limit. */
} inner_waits;

static int recording_epoll_wait(int epoll_fd, struct epoll_event *events, int events_cap,
				int timeout_ms)
{
	int rc = epoll_wait(epoll_fd, events, events_cap, timeout_ms);
	inner_waits.calls++;
	if (rc == 0 && timeout_ms != 0)
		inner_waits.slept_count++;
	if (timeout_ms < 0)
		inner_waits.unlimited = true;
	else if (timeout_ms > inner_waits.timeout_ms_max)
		inner_waits.timeout_ms_max = timeout_ms;
	return rc;
}

static void inner_waits_record(struct fixture *fixture, bool on)
{
	memset(&inner_waits, 0, sizeof(inner_waits));
	gale_syscall_ptr hook = on ? (gale_syscall_ptr)recording_epoll_wait : NULL;
	assert_int_equal(gale_driver_epoll_syscall_set(&fixture->epoll,
						       GALE_EPOLL_SYSCALL_EPOLL_WAIT, hook),
			 0);
}

/*
 * A wait that must return at once although it may block for up to WAIT_TIMEOUT_NS: the
 * decorator owes an event (or a wake is pending), so blocking would be the bug. Whether
 * it blocked is read from the kernel, not from a clock: the decorator either skips the
 * inner wait, polls (timeout 0), or waits on something the kernel has ready; only a call
 * that slept until its timeout returns 0 events with a nonzero timeout. Bounded: a wrong
 * decorator costs WAIT_TIMEOUT_NS, never a hang.
 */
static int wait_owed(struct fixture *fixture, struct gale_event *events)
{
	inner_waits.calls = 0;
	inner_waits.slept_count = 0;
	assert_int_equal(gale_driver_epoll_syscall_set(&fixture->epoll,
						       GALE_EPOLL_SYSCALL_EPOLL_WAIT,
						       (gale_syscall_ptr)recording_epoll_wait),
			 0);
	int count = gale_driver_wait(fixture->driver, events, EVENTS_CAP, WAIT_TIMEOUT_NS);
	assert_int_equal(gale_driver_epoll_syscall_set(&fixture->epoll,
						       GALE_EPOLL_SYSCALL_EPOLL_WAIT, NULL),
			 0);
	assert_int_equal(inner_waits.slept_count, 0);
	return count;
}

/* Waits (bounded: WAITS_MAX waits of WAIT_TIMEOUT_NS) until some event carries token. */
static uint32_t wait_until_token(struct fixture *fixture, uint64_t token)
{
	uint32_t ready = 0;
	for (int attempt = 0; attempt < WAITS_MAX; attempt++) {
		if (wait_for_token(fixture, token, &ready))
			return ready;
	}
	fail_msg("no event for token %#llx after %d waits", (unsigned long long)token,
		 WAITS_MAX);
	return 0;
}

/*
 * A connected TCP pair over 127.0.0.1, made through the fault driver while no fault is on:
 * fds_out[0] the client, fds_out[1] the accepted end. The accept completes only after the
 * client's final ACK, so the client is connected too (checked through SO_ERROR).
 */
static void tcp_pair_make(struct fixture *fixture, int fds_out[2])
{
	struct gale_driver *driver = fixture->driver;
	int listener = gale_driver_socket(driver, AF_INET, SOCK_STREAM, 0);
	assert_true(listener >= 0);
	struct sockaddr_in addr = {.sin_family = AF_INET};
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(gale_driver_bind(driver, listener, (struct sockaddr *)&addr,
					  (socklen_t)sizeof(addr)),
			 0);
	assert_int_equal(gale_driver_listen(driver, listener, 4), 0);
	struct sockaddr_storage bound;
	socklen_t bound_len = sizeof(bound);
	assert_int_equal(gale_driver_addr_local(driver, listener, &bound, &bound_len), 0);
	assert_int_equal(gale_driver_fd_register(driver, listener, TOKEN_LISTENER,
						 GALE_READY_READ),
			 0);
	int client = gale_driver_socket(driver, AF_INET, SOCK_STREAM, 0);
	assert_true(client >= 0);
	int rc = gale_driver_connect(driver, client, (struct sockaddr *)&bound, bound_len);
	assert_true(rc == 0 || rc == -EINPROGRESS);
	int accepted = gale_driver_accept(driver, listener, NULL, NULL);
	for (int attempt = 0; accepted == -EAGAIN && attempt < WAITS_MAX; attempt++) {
		uint32_t ready;
		(void)wait_for_token(fixture, TOKEN_LISTENER, &ready);
		accepted = gale_driver_accept(driver, listener, NULL, NULL);
	}
	assert_true(accepted >= 0);
	assert_int_equal(gale_driver_socket_error_take(driver, client), 0);
	assert_int_equal(gale_driver_fd_deregister(driver, listener), 0);
	assert_int_equal(gale_driver_close(driver, listener), 0);
	fds_out[0] = client;
	fds_out[1] = accepted;
}

/* Deregisters both ends of a pair (both registered through the fixture) and closes it. */
static void pair_deregister_close(struct fixture *fixture, const int fds[2])
{
	assert_int_equal(gale_driver_fd_deregister(fixture->driver, fds[0]), 0);
	assert_int_equal(gale_driver_fd_deregister(fixture->driver, fds[1]), 0);
	pair_close(fixture, fds);
}

/* The trace record of the last fault injected (the trace keeps every record in tests). */
static const struct gale_trace_record *trace_last(const struct fixture *fixture)
{
	size_t kept = gale_trace_kept_count(&fixture->trace);
	assert_true(kept > 0);
	return &gale_trace_records(&fixture->trace)[kept - 1];
}

/* A read that answers something other than -EAGAIN, waiting (bounded) for fd's token. */
static ssize_t read_settled(struct fixture *fixture, int fd, uint64_t token, void *buf,
			    size_t len)
{
	ssize_t rc = gale_driver_read(fixture->driver, fd, buf, len);
	for (int attempt = 0; rc == -EAGAIN && attempt < WAITS_MAX; attempt++) {
		uint32_t ready;
		(void)wait_for_token(fixture, token, &ready);
		rc = gale_driver_read(fixture->driver, fd, buf, len);
	}
	return rc;
}

/* ---- a 1 MiB stream with edge-triggered discipline, on the driver directly ------------ */

struct stream {
	struct gale_driver *driver; /* The fault driver. */
	int fd_write;               /* Writer end. */
	int fd_read;                /* Reader end. */
	uint8_t *sent;              /* The pattern. */
	uint8_t *received;          /* What arrived. */
	size_t len_written;         /* Writer cursor. */
	size_t len_read;            /* Reader cursor. */
	uint32_t op_index;          /* Rotates write/writev/send and read/readv/recv. */
};

static void stream_init(struct stream *stream, struct gale_driver *driver, const int fds[2])
{
	*stream = (struct stream){.driver = driver, .fd_write = fds[0], .fd_read = fds[1]};
	stream->sent = malloc(STREAM_LEN);
	stream->received = malloc(STREAM_LEN);
	assert_non_null(stream->sent);
	assert_non_null(stream->received);
	for (size_t i = 0; i < STREAM_LEN; i++)
		stream->sent[i] = (uint8_t)((i * 131) ^ (i >> 9));
}

static void stream_check_and_free(struct stream *stream)
{
	assert_int_equal(stream->len_read, STREAM_LEN);
	assert_memory_equal(stream->sent, stream->received, STREAM_LEN);
	free(stream->sent);
	free(stream->received);
}

/* One write attempt at the cursor: write, writev (two buffers) or send in turn. */
static ssize_t stream_write_once(struct stream *stream)
{
	size_t len = STREAM_LEN - stream->len_written;
	len = len < CHUNK_WRITE_MAX ? len : CHUNK_WRITE_MAX;
	uint8_t *at = stream->sent + stream->len_written;
	switch (stream->op_index++ % 3) {
	case 0:
		return gale_driver_write(stream->driver, stream->fd_write, at, len);
	case 1: {
		struct iovec iov[2] = {{at, len / 2}, {at + len / 2, len - len / 2}};
		return gale_driver_writev(stream->driver, stream->fd_write, iov, 2);
	}
	default:
		return gale_driver_send(stream->driver, stream->fd_write, at, len, 0);
	}
}

/* One read attempt at the cursor: read, readv (two buffers) or recv in turn. */
static ssize_t stream_read_once(struct stream *stream)
{
	size_t len = STREAM_LEN - stream->len_read;
	len = len < CHUNK_READ_MAX ? len : CHUNK_READ_MAX;
	uint8_t *at = stream->received + stream->len_read;
	switch (stream->op_index++ % 3) {
	case 0:
		return gale_driver_read(stream->driver, stream->fd_read, at, len);
	case 1: {
		struct iovec iov[2] = {{at, len / 2}, {at + len / 2, len - len / 2}};
		return gale_driver_readv(stream->driver, stream->fd_read, iov, 2);
	}
	default:
		return gale_driver_recv(stream->driver, stream->fd_read, at, len, 0);
	}
}

/* Writes until -EAGAIN or done. Returns false when blocked (readiness cleared). */
static bool stream_write_some(struct stream *stream)
{
	while (stream->len_written < STREAM_LEN) {
		ssize_t rc = stream_write_once(stream);
		if (rc == -EAGAIN)
			return false;
		assert_true(rc > 0);
		stream->len_written += (size_t)rc;
	}
	return true;
}

static bool stream_read_some(struct stream *stream)
{
	while (stream->len_read < STREAM_LEN) {
		ssize_t rc = stream_read_once(stream);
		if (rc == -EAGAIN)
			return false;
		assert_true(rc > 0); /* 0 would be EOF before the end of the stream. */
		assert_true(stream->len_read + (size_t)rc <= stream->len_written);
		stream->len_read += (size_t)rc;
	}
	return true;
}

/* Applies a batch of events to the two edge-triggered readiness flags. */
static void stream_events_apply(const struct gale_event *events, int count, bool *writable,
				bool *readable)
{
	for (int i = 0; i < count; i++) {
		if (events[i].token == TOKEN_A && (events[i].ready & GALE_READY_WRITE) != 0)
			*writable = true;
		if (events[i].token == TOKEN_B && (events[i].ready & GALE_READY_READ) != 0)
			*readable = true;
	}
}

static void stream_run_direct(struct fixture *fixture, struct stream *stream)
{
	struct gale_event events[EVENTS_CAP];
	bool writable = true; /* Registration reports current readiness; start optimistic. */
	bool readable = true;
	uint32_t empty_waits = 0;
	while (stream->len_read < STREAM_LEN) {
		if (writable)
			writable = stream_write_some(stream);
		if (readable)
			readable = stream_read_some(stream);
		if ((writable && stream->len_written < STREAM_LEN) || readable)
			continue;
		int count = gale_driver_wait(fixture->driver, events, EVENTS_CAP, WAIT_TIMEOUT_NS);
		assert_true(count >= 0);
		/* A delayed batch may come back empty once; repeated empty 5 s waits mean a
		 * readiness was lost. */
		empty_waits = count == 0 ? empty_waits + 1 : 0;
		assert_true(empty_waits < 3);
		stream_events_apply(events, count, &writable, &readable);
	}
}

static void harsh_stream_profile(struct fixture *fixture)
{
	fixture->profile = *gale_fault_profile_find("harsh");
	fixture->profile.ratios[GALE_FAULT_RESET] = (struct gale_ratio){0, 0};
}

static void harsh_stream_stats_check(struct fixture *fixture)
{
	assert_true(injected(fixture, GALE_FAULT_WRITE_PARTIAL) > 0);
	assert_true(injected(fixture, GALE_FAULT_READ_SHORT) > 0);
	assert_true(injected(fixture, GALE_FAULT_READ_WOULD_BLOCK) > 0);
	assert_true(injected(fixture, GALE_FAULT_WRITE_WOULD_BLOCK) > 0);
	assert_true(injected(fixture, GALE_FAULT_READY_SPURIOUS) > 0);
	assert_true(injected(fixture, GALE_FAULT_READY_DELAY) > 0);
	assert_int_equal(injected(fixture, GALE_FAULT_RESET), 0);
	/* Every injected fault was traced, and nothing else was. */
	struct gale_fault_stats stats = gale_fault_driver_stats_get(&fixture->fault);
	uint64_t total = 0;
	for (int kind = 0; kind < GALE_FAULT_COUNT; kind++)
		total += stats.injected[kind];
	assert_int_equal(gale_trace_count(&fixture->trace), total);
}

static void test_fault_harsh_stream_direct(void **state)
{
	struct fixture *fixture = *state;
	harsh_stream_profile(fixture);
	int fds[2];
	pair_make(fixture, fds);
	assert_int_equal(gale_driver_fd_register(fixture->driver, fds[0], TOKEN_A,
						 GALE_READY_INTEREST_ALL),
			 0);
	assert_int_equal(gale_driver_fd_register(fixture->driver, fds[1], TOKEN_B,
						 GALE_READY_INTEREST_ALL),
			 0);
	struct stream stream;
	stream_init(&stream, fixture->driver, fds);
	stream_run_direct(fixture, &stream);
	stream_check_and_free(&stream);
	harsh_stream_stats_check(fixture);
	assert_int_equal(gale_driver_fd_deregister(fixture->driver, fds[0]), 0);
	assert_int_equal(gale_driver_fd_deregister(fixture->driver, fds[1]), 0);
	pair_close(fixture, fds);
}

/* ---- the same stream through the reactor (readiness bits, ticks, clear on EAGAIN) ----- */

struct reactor_side {
	uint64_t token;                /* Reactor token. */
	enum gale_direction direction; /* What this side waits for. */
};

/* One readiness poll; on Ready runs the side's I/O and clears readiness on -EAGAIN. */
static bool reactor_side_step(struct gale_reactor *reactor, struct reactor_side *side,
			      struct stream *stream, struct gale_cx *cx)
{
	struct gale_ready_event event;
	int rc = gale_reactor_poll_ready(reactor, side->token, side->direction, cx, &event);
	if (rc == GALE_PENDING)
		return false;
	assert_int_equal(rc, 0);
	bool done = side->direction == GALE_DIRECTION_WRITE ? stream_write_some(stream)
							    : stream_read_some(stream);
	if (!done)
		gale_reactor_clear_ready(reactor, side->token, event);
	return true;
}

static void stream_run_reactor(struct gale_reactor *reactor, struct stream *stream,
			       struct reactor_side sides[2])
{
	struct gale_test_wake_log log;
	memset(&log, 0, sizeof(log));
	struct gale_cx cx = {gale_test_waker(&log, 1)};
	uint32_t empty_turns = 0;
	while (stream->len_read < STREAM_LEN) {
		bool progressed = false;
		if (stream->len_written < STREAM_LEN)
			progressed |= reactor_side_step(reactor, &sides[0], stream, &cx);
		progressed |= reactor_side_step(reactor, &sides[1], stream, &cx);
		if (progressed)
			continue;
		int count = gale_reactor_turn(reactor, WAIT_TIMEOUT_NS);
		assert_true(count >= 0);
		empty_turns = count == 0 ? empty_turns + 1 : 0;
		assert_true(empty_turns < 3);
	}
	assert_true(log.wakes_total > 0);
}

static void test_fault_harsh_stream_reactor(void **state)
{
	struct fixture *fixture = *state;
	harsh_stream_profile(fixture);
	gale_entropy_init_seed(&fixture->entropy, seed_or(0xEAC7));
	struct gale_reactor reactor;
	assert_int_equal(gale_reactor_init(&reactor, fixture->driver, NULL, 4, EVENTS_CAP), 0);
	int fds[2];
	pair_make(fixture, fds);
	struct reactor_side sides[2] = {{0, GALE_DIRECTION_WRITE}, {0, GALE_DIRECTION_READ}};
	assert_int_equal(gale_reactor_register(&reactor, fds[0], GALE_READY_INTEREST_ALL,
					       &sides[0].token),
			 0);
	assert_int_equal(gale_reactor_register(&reactor, fds[1], GALE_READY_INTEREST_ALL,
					       &sides[1].token),
			 0);
	struct stream stream;
	stream_init(&stream, fixture->driver, fds);
	stream_run_reactor(&reactor, &stream, sides);
	stream_check_and_free(&stream);
	assert_true(injected(fixture, GALE_FAULT_WRITE_PARTIAL) > 0);
	assert_true(injected(fixture, GALE_FAULT_READ_SHORT) > 0);
	assert_true(injected(fixture, GALE_FAULT_READ_WOULD_BLOCK) > 0);
	assert_true(injected(fixture, GALE_FAULT_WRITE_WOULD_BLOCK) > 0);
	assert_true(injected(fixture, GALE_FAULT_READY_SPURIOUS) > 0);
	assert_int_equal(gale_reactor_deregister(&reactor, sides[0].token), 0);
	assert_int_equal(gale_reactor_deregister(&reactor, sides[1].token), 0);
	assert_int_equal(gale_reactor_deinit(&reactor), 0);
	pair_close(fixture, fds);
}

/* ---- naming and lifetime -------------------------------------------------------------- */

static void test_fault_name(void **state)
{
	struct fixture *fixture = *state;
	assert_string_equal(gale_driver_name(fixture->driver), "fault(epoll)");
	assert_string_equal(gale_driver_name(&fixture->epoll.base), "epoll");
	/* now_ns is forwarded: the inner clock, monotonic. */
	int64_t before = gale_driver_now_ns(&fixture->epoll.base);
	int64_t now = gale_driver_now_ns(fixture->driver);
	assert_true(now >= before);
}

/* wake() is forwarded: a wait after it returns at once, with no event to report. */
static void test_fault_wake_forwarded(void **state)
{
	struct fixture *fixture = *state;
	assert_int_equal(gale_driver_wake(fixture->driver), 0);
	struct gale_event events[EVENTS_CAP];
	assert_int_equal(wait_owed(fixture, events), 0);
	assert_int_equal(gale_fault_driver_calls_count(&fixture->fault, GALE_TRACE_OP_WAKE), 0);
	assert_int_equal(gale_fault_driver_calls_count(&fixture->fault, GALE_TRACE_OP_WAIT), 1);
}

static void test_fault_deinit_leaves_inner(void **state)
{
	struct fixture *fixture = *state;
	gale_fault_driver_deinit(&fixture->fault);
	assert_null(fixture->fault.base.ops);
	gale_fault_driver_deinit(&fixture->fault); /* Idempotent. */
	struct gale_event events[EVENTS_CAP];
	assert_int_equal(gale_driver_wait(&fixture->epoll.base, events, EVENTS_CAP, 0), 0);
	/* teardown deinit's the (already deinit'd) fault driver: a no-op. */
}

/* ---- the plan: fail exactly the Nth call ------------------------------------------------ */

static void test_fault_plan_nth_write_once(void **state)
{
	struct fixture *fixture = *state;
	int fds[2];
	pair_make(fixture, fds);
	assert_int_equal(gale_fault_driver_plan_add(&fixture->fault, GALE_TRACE_OP_WRITE, 3, -EIO,
						    false),
			 0);
	static const char letters[4] = {'a', 'b', 'c', 'd'};
	assert_int_equal(gale_driver_write(fixture->driver, fds[0], &letters[0], 1), 1);
	assert_int_equal(gale_driver_write(fixture->driver, fds[0], &letters[1], 1), 1);
	assert_int_equal(gale_driver_write(fixture->driver, fds[0], &letters[2], 1), -EIO);
	assert_int_equal(gale_driver_write(fixture->driver, fds[0], &letters[3], 1), 1);
	assert_int_equal(gale_fault_driver_calls_count(&fixture->fault, GALE_TRACE_OP_WRITE), 4);
	assert_int_equal(gale_fault_driver_planned_count(&fixture->fault), 1);
	/* The failed call never reached the kernel: the peer got a, b, d. */
	char buf[8];
	assert_int_equal(gale_driver_read(fixture->driver, fds[1], buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "abd", 3);
	/* The planned failure is traced as the op's record with the call number. */
	assert_int_equal(gale_trace_count(&fixture->trace), 1);
	const struct gale_trace_record *record = &gale_trace_records(&fixture->trace)[0];
	assert_int_equal(record->kind, GALE_TRACE_OP);
	assert_int_equal(record->op, GALE_TRACE_OP_WRITE);
	assert_int_equal(record->fd, fds[0]);
	assert_int_equal(record->a, 3);
	assert_int_equal(record->result, -EIO);
	pair_close(fixture, fds);
}

static void test_fault_plan_persistent(void **state)
{
	struct fixture *fixture = *state;
	int fds[2];
	pair_make(fixture, fds);
	assert_int_equal(gale_driver_write(fixture->driver, fds[0], "0123456789", 10), 10);
	assert_int_equal(gale_fault_driver_plan_add(&fixture->fault, GALE_TRACE_OP_READ, 2,
						    -ECONNRESET, true),
			 0);
	char buf[2];
	assert_int_equal(gale_driver_read(fixture->driver, fds[1], buf, 2), 2);
	for (int i = 0; i < 4; i++)
		assert_int_equal(gale_driver_read(fixture->driver, fds[1], buf, 2), -ECONNRESET);
	assert_int_equal(gale_fault_driver_planned_count(&fixture->fault), 4);
	/* Other ops are unaffected, and clearing the plan restores reads. */
	assert_int_equal(gale_driver_recv(fixture->driver, fds[1], buf, 2, 0), 2);
	assert_memory_equal(buf, "23", 2);
	gale_fault_driver_plan_clear(&fixture->fault);
	assert_int_equal(gale_driver_read(fixture->driver, fds[1], buf, 2), 2);
	assert_memory_equal(buf, "45", 2);
	assert_int_equal(gale_fault_driver_calls_count(&fixture->fault, GALE_TRACE_OP_READ), 6);
	pair_close(fixture, fds);
}

static void test_fault_plan_rejects_bad_entries(void **state)
{
	struct fixture *fixture = *state;
	struct gale_fault_driver *fault = &fixture->fault;
	assert_int_equal(gale_fault_driver_plan_add(fault, GALE_TRACE_OP_READ, 1, -EINTR, false),
			 -EINVAL);
	assert_int_equal(gale_fault_driver_plan_add(fault, GALE_TRACE_OP_READ, 0, -EIO, false),
			 -EINVAL);
	assert_int_equal(gale_fault_driver_plan_add(fault, GALE_TRACE_OP_READ, 1, 0, false),
			 -EINVAL);
	assert_int_equal(gale_fault_driver_plan_add(fault, (enum gale_trace_op)0, 1, -EIO, false),
			 -EINVAL);
	assert_int_equal(gale_fault_driver_plan_add(fault, GALE_TRACE_OP_COUNT_, 1, -EIO, false),
			 -EINVAL);
	assert_int_equal(gale_fault_driver_plan_add(fault, GALE_TRACE_OP_WAKE, 1, -EIO, false),
			 -EINVAL);
	for (int i = 0; i < GALE_FAULT_DRIVER_PLAN_MAX; i++)
		assert_int_equal(gale_fault_driver_plan_add(fault, GALE_TRACE_OP_BIND,
							    (uint64_t)i + 1, -EACCES, false),
				 0);
	assert_int_equal(gale_fault_driver_plan_add(fault, GALE_TRACE_OP_BIND, 99, -EACCES, false),
			 -ENOSPC);
}

/* close releases the fd even when the plan makes it report an error (teardown counts fds). */
static void test_fault_plan_close_still_releases(void **state)
{
	struct fixture *fixture = *state;
	int fds[2];
	pair_make(fixture, fds);
	assert_int_equal(gale_fault_driver_plan_add(&fixture->fault, GALE_TRACE_OP_CLOSE, 1, -EIO,
						    false),
			 0);
	assert_int_equal(gale_driver_close(fixture->driver, fds[0]), -EIO);
	assert_int_equal(gale_driver_close(fixture->driver, fds[1]), 0);
}

/* A planned -EAGAIN swallows real readiness; the decorator owes it and wait() repays. */
static void test_fault_planned_eagain_owes_readiness(void **state)
{
	struct fixture *fixture = *state;
	int fds[2];
	pair_make(fixture, fds);
	assert_int_equal(gale_driver_fd_register(fixture->driver, fds[1], TOKEN_B,
						 GALE_READY_READ),
			 0);
	assert_int_equal(gale_driver_write(fixture->driver, fds[0], "x", 1), 1);
	uint32_t ready = 0;
	assert_true(wait_for_token(fixture, TOKEN_B, &ready));
	assert_true((ready & GALE_READY_READ) != 0);
	assert_int_equal(gale_fault_driver_plan_add(&fixture->fault, GALE_TRACE_OP_READ, 1,
						    -EAGAIN, false),
			 0);
	char byte;
	assert_int_equal(gale_driver_read(fixture->driver, fds[1], &byte, 1), -EAGAIN);
	/* No new edge will come from the kernel; the owed event must, and without blocking. */
	struct gale_event events[EVENTS_CAP];
	int count = wait_owed(fixture, events);
	assert_int_equal(count, 1);
	assert_int_equal(events[0].token, TOKEN_B);
	assert_int_equal(events[0].ready, GALE_READY_READ);
	assert_int_equal(gale_driver_read(fixture->driver, fds[1], &byte, 1), 1);
	assert_int_equal(byte, 'x');
	assert_int_equal(gale_driver_fd_deregister(fixture->driver, fds[1]), 0);
	pair_close(fixture, fds);
}

/* ---- ratio faults, one at a time --------------------------------------------------------- */

static void test_fault_stale_after_deregister(void **state)
{
	struct fixture *fixture = *state;
	ratio_set(fixture, GALE_FAULT_READY_STALE, 1, 1);
	int fds[2];
	pair_make(fixture, fds);
	assert_int_equal(gale_driver_fd_register(fixture->driver, fds[0], TOKEN_A,
						 GALE_READY_READ),
			 0);
	assert_int_equal(gale_driver_fd_deregister(fixture->driver, fds[0]), 0);
	struct gale_event events[EVENTS_CAP];
	assert_int_equal(gale_driver_wait(fixture->driver, events, EVENTS_CAP, 0), 1);
	assert_int_equal(events[0].token, TOKEN_A);
	assert_int_equal(events[0].ready, GALE_READY_INTEREST_ALL);
	/* Reported once only. */
	assert_int_equal(gale_driver_wait(fixture->driver, events, EVENTS_CAP, 0), 0);
	assert_int_equal(injected(fixture, GALE_FAULT_READY_STALE), 1);
	const struct gale_trace_record *record = &gale_trace_records(&fixture->trace)[0];
	assert_int_equal(record->kind, GALE_TRACE_FAULT);
	assert_int_equal(record->op, GALE_FAULT_READY_STALE);
	assert_int_equal(record->a, TOKEN_A);
	pair_close(fixture, fds);
}

static void test_fault_spurious_readiness(void **state)
{
	struct fixture *fixture = *state;
	ratio_set(fixture, GALE_FAULT_READY_SPURIOUS, 1, 1);
	int fds[2];
	pair_make(fixture, fds);
	assert_int_equal(gale_driver_fd_register(fixture->driver, fds[1], TOKEN_B,
						 GALE_READY_READ),
			 0);
	/* Nothing to read, yet an event arrives: readiness is a hint. */
	struct gale_event events[EVENTS_CAP];
	assert_int_equal(gale_driver_wait(fixture->driver, events, EVENTS_CAP, 0), 1);
	assert_int_equal(events[0].token, TOKEN_B);
	assert_int_equal(events[0].ready, GALE_READY_READ); /* The interest bits. */
	char byte;
	assert_int_equal(gale_driver_read(fixture->driver, fds[1], &byte, 1), -EAGAIN);
	assert_int_equal(injected(fixture, GALE_FAULT_READY_SPURIOUS), 1);
	assert_int_equal(gale_driver_fd_deregister(fixture->driver, fds[1]), 0);
	/* No registration left: nothing to be spurious about. */
	assert_int_equal(gale_driver_wait(fixture->driver, events, EVENTS_CAP, 0), 0);
	pair_close(fixture, fds);
}

static void test_fault_ready_delay_then_repaid(void **state)
{
	struct fixture *fixture = *state;
	ratio_set(fixture, GALE_FAULT_READY_DELAY, 1, 1);
	int fds[2];
	pair_make(fixture, fds);
	assert_int_equal(gale_driver_fd_register(fixture->driver, fds[1], TOKEN_B,
						 GALE_READY_READ),
			 0);
	assert_int_equal(gale_driver_write(fixture->driver, fds[0], "y", 1), 1);
	struct gale_event events[EVENTS_CAP];
	assert_int_equal(gale_driver_wait(fixture->driver, events, EVENTS_CAP, 0), 0);
	assert_int_equal(injected(fixture, GALE_FAULT_READY_DELAY), 1);
	/* The held event comes first and the wait does not block. */
	assert_int_equal(wait_owed(fixture, events), 1);
	assert_int_equal(events[0].token, TOKEN_B);
	assert_true((events[0].ready & GALE_READY_READ) != 0);
	assert_int_equal(gale_driver_fd_deregister(fixture->driver, fds[1]), 0);
	pair_close(fixture, fds);
}

static void test_fault_would_block_only_when_registered(void **state)
{
	struct fixture *fixture = *state;
	ratio_set(fixture, GALE_FAULT_READ_WOULD_BLOCK, 1, 1);
	int fds[2];
	pair_make(fixture, fds);
	assert_int_equal(gale_driver_write(fixture->driver, fds[0], "zz", 2), 2);
	char byte;
	/* Unregistered: no event could repay a fake WouldBlock, so none is injected. */
	assert_int_equal(gale_driver_read(fixture->driver, fds[1], &byte, 1), 1);
	assert_int_equal(gale_driver_fd_register(fixture->driver, fds[1], TOKEN_B,
						 GALE_READY_READ),
			 0);
	assert_int_equal(gale_driver_read(fixture->driver, fds[1], &byte, 1), -EAGAIN);
	assert_int_equal(injected(fixture, GALE_FAULT_READ_WOULD_BLOCK), 1);
	ratio_set(fixture, GALE_FAULT_READ_WOULD_BLOCK, 0, 0);
	uint32_t ready = 0;
	assert_true(wait_for_token(fixture, TOKEN_B, &ready));
	assert_int_equal(gale_driver_read(fixture->driver, fds[1], &byte, 1), 1);
	assert_int_equal(byte, 'z');
	assert_int_equal(gale_driver_fd_deregister(fixture->driver, fds[1]), 0);
	pair_close(fixture, fds);
}

static void test_fault_short_and_partial_exact_lengths(void **state)
{
	struct fixture *fixture = *state;
	ratio_set(fixture, GALE_FAULT_WRITE_PARTIAL, 1, 1);
	ratio_set(fixture, GALE_FAULT_READ_SHORT, 1, 1);
	int fds[2];
	pair_make(fixture, fds);
	ssize_t written = gale_driver_write(fixture->driver, fds[0], "abcdefgh", 8);
	assert_in_range(written, 1, 7);
	/* The trace says how many bytes were handed to the kernel: exactly what was written. */
	const struct gale_trace_record *record = &gale_trace_records(&fixture->trace)[0];
	assert_int_equal(record->op, GALE_FAULT_WRITE_PARTIAL);
	assert_int_equal(record->a, 8);
	assert_int_equal(record->result, written);
	char buf[16];
	ssize_t got = gale_driver_read(fixture->driver, fds[1], buf, sizeof(buf));
	assert_in_range(got, 1, (uint64_t)written); /* At most what is there. */
	assert_memory_equal(buf, "abcdefgh", (size_t)got);
	record = &gale_trace_records(&fixture->trace)[1];
	assert_int_equal(record->op, GALE_FAULT_READ_SHORT);
	assert_int_equal(record->a, sizeof(buf));
	assert_true(got <= record->result); /* The kernel was asked for the shorter length. */
	/* One byte cannot be shortened. */
	assert_int_equal(gale_driver_write(fixture->driver, fds[0], "!", 1), 1);
	assert_int_equal(injected(fixture, GALE_FAULT_WRITE_PARTIAL), 1);
	assert_int_equal(injected(fixture, GALE_FAULT_READ_SHORT), 1);
	pair_close(fixture, fds);
}

/* RESET: -ECONNRESET, then reads see EOF and writes -EPIPE; an AF_UNIX pair is never
 * reset (nothing on a wire could). */
static void test_fault_reset_is_consistent(void **state)
{
	struct fixture *fixture = *state;
	int fds[2];
	pair_make(fixture, fds);
	ratio_set(fixture, GALE_FAULT_RESET, 1, 1);
	assert_int_equal(gale_driver_write(fixture->driver, fds[0], "unix", 4), 4);
	assert_int_equal(injected(fixture, GALE_FAULT_RESET), 0);
	ratio_set(fixture, GALE_FAULT_RESET, 0, 0);
	pair_close(fixture, fds);
	tcp_pair_make(fixture, fds);
	assert_int_equal(gale_driver_fd_register(fixture->driver, fds[0], TOKEN_A,
						 GALE_READY_INTEREST_ALL),
			 0);
	assert_int_equal(gale_driver_write(fixture->driver, fds[1], "pending", 7), 7);
	char buf[8];
	ratio_set(fixture, GALE_FAULT_RESET, 1, 1);
	/* Reads are never reset: a reset rides on a segment leaving. */
	assert_int_equal(read_settled(fixture, fds[0], TOKEN_A, buf, 3), 3);
	assert_int_equal(injected(fixture, GALE_FAULT_RESET), 0);
	assert_int_equal(gale_driver_write(fixture->driver, fds[0], "data", 4), -ECONNRESET);
	ratio_set(fixture, GALE_FAULT_RESET, 0, 0);
	/* The 4 bytes still unread are lost with the connection, as after a real RST. */
	assert_int_equal(gale_driver_read(fixture->driver, fds[0], buf, sizeof(buf)), 0);
	assert_int_equal(gale_driver_recv(fixture->driver, fds[0], buf, sizeof(buf), 0), 0);
	assert_int_equal(gale_driver_write(fixture->driver, fds[0], "data", 4), -EPIPE);
	assert_int_equal(gale_driver_send(fixture->driver, fds[0], "data", 4, 0), -EPIPE);
	/* Waiters on the reset fd are woken. */
	uint32_t ready = 0;
	assert_true(wait_for_token(fixture, TOKEN_A, &ready));
	assert_true((ready & GALE_READY_READ) != 0);
	assert_int_equal(injected(fixture, GALE_FAULT_RESET), 1);
	assert_int_equal(gale_driver_fd_deregister(fixture->driver, fds[0]), 0);
	pair_close(fixture, fds);
}

/* An fd number the kernel hands out again carries none of the old fd's state. */
static void test_fault_fresh_fd_forgets_old_state(void **state)
{
	struct fixture *fixture = *state;
	int old_fds[2];
	tcp_pair_make(fixture, old_fds);
	ratio_set(fixture, GALE_FAULT_RESET, 1, 1);
	assert_int_equal(gale_driver_write(fixture->driver, old_fds[0], "x", 1), -ECONNRESET);
	ratio_set(fixture, GALE_FAULT_RESET, 0, 0);
	/* Closed behind the decorator's back (through the inner driver): state goes stale. */
	assert_int_equal(gale_driver_close(&fixture->epoll.base, old_fds[0]), 0);
	int fds[2];
	pair_make(fixture, fds);
	/* The lowest free numbers are reused: the old listener's and the old client's. */
	int reused = fds[0] == old_fds[0] ? 0 : 1;
	assert_int_equal(fds[reused], old_fds[0]);
	assert_int_equal(gale_driver_write(fixture->driver, fds[reused], "x", 1), 1);
	char byte;
	assert_int_equal(gale_driver_read(fixture->driver, fds[1 - reused], &byte, 1), 1);
	assert_int_equal(gale_driver_close(fixture->driver, old_fds[1]), 0);
	pair_close(fixture, fds);
}

/* A pipe cannot be shut down, so RESET is not injected there (it could not stay consistent). */
static void test_fault_reset_skipped_on_pipe(void **state)
{
	struct fixture *fixture = *state;
	ratio_set(fixture, GALE_FAULT_RESET, 1, 1);
	int fds[2];
	assert_int_equal(gale_driver_pipe(fixture->driver, fds), 0);
	assert_int_equal(gale_driver_write(fixture->driver, fds[1], "ok", 2), 2);
	char buf[4];
	assert_int_equal(gale_driver_read(fixture->driver, fds[0], buf, sizeof(buf)), 2);
	assert_int_equal(injected(fixture, GALE_FAULT_RESET), 0);
	pair_close(fixture, fds);
}

/* ---- PARTITION and the real RST, over TCP ----------------------------------------------- */

/* Starts a partition on fd (registered, connected TCP) with a write (reads never start
 * one); @return its duration. */
static int64_t partition_start(struct fixture *fixture, int fd, int64_t partition_ns_max)
{
	fixture->profile.partition_ns_max = partition_ns_max;
	ratio_set(fixture, GALE_FAULT_PARTITION, 1, 1);
	char byte;
	assert_int_equal(gale_driver_read(fixture->driver, fd, &byte, 1), -EAGAIN);
	assert_int_equal(injected(fixture, GALE_FAULT_PARTITION), 0); /* The kernel's -EAGAIN. */
	assert_int_equal(gale_driver_write(fixture->driver, fd, "p", 1), -EAGAIN);
	ratio_set(fixture, GALE_FAULT_PARTITION, 0, 0); /* One partition, then no more. */
	assert_int_equal(injected(fixture, GALE_FAULT_PARTITION), 1);
	const struct gale_trace_record *record = trace_last(fixture);
	assert_int_equal(record->kind, GALE_TRACE_FAULT);
	assert_int_equal(record->op, GALE_FAULT_PARTITION);
	assert_int_equal(record->fd, fd);
	assert_int_equal(record->result, -EAGAIN);
	assert_in_range(record->a, 1, (uint64_t)partition_ns_max);
	return (int64_t)record->a;
}

/* The events of fds[0] (TOKEN_A) and fds[1] (TOKEN_B) over several waits. */
struct pair_watch {
	uint32_t ready_a;   /* Bits seen for TOKEN_A since last cleared. */
	uint32_t ready_b;   /* Bits seen for TOKEN_B. */
	int64_t b_first_ns; /* The clock just after the wait that first reported TOKEN_B. */
};

/* One bounded wait, folded into watch: no event for either token is lost. */
static void pair_watch_wait(struct fixture *fixture, struct pair_watch *watch)
{
	struct gale_event events[EVENTS_CAP];
	int count = gale_driver_wait(fixture->driver, events, EVENTS_CAP, WAIT_TIMEOUT_NS);
	assert_true(count >= 0);
	int64_t now_ns = gale_driver_now_ns(fixture->driver);
	for (int i = 0; i < count; i++) {
		if (events[i].token == TOKEN_A)
			watch->ready_a |= events[i].ready;
		if (events[i].token == TOKEN_B && watch->ready_b == 0)
			watch->b_first_ns = now_ns;
		if (events[i].token == TOKEN_B)
			watch->ready_b |= events[i].ready;
	}
}

/* Writes all of data on fds[0], waiting (bounded) for its writability when it is full. */
static void pair_write_all(struct fixture *fixture, const int fds[2], struct pair_watch *watch,
			   const uint8_t *data, size_t len)
{
	size_t written = 0;
	for (int waits = 0; written < len;) {
		ssize_t rc = gale_driver_write(fixture->driver, fds[0], data + written,
					       len - written);
		if (rc != -EAGAIN) {
			assert_true(rc > 0);
			written += (size_t)rc;
			continue;
		}
		for (watch->ready_a = 0; (watch->ready_a & GALE_READY_WRITE) == 0; waits++) {
			assert_true(waits < WAITS_MAX);
			pair_watch_wait(fixture, watch);
		}
	}
}

/* The inner driver's read calls (the slot has no data pointer). */
static int inner_reads_count;

static ssize_t counting_read(int fd, void *buf, size_t len)
{
	inner_reads_count++;
	return read(fd, buf, len);
}

/*
 * A partitioned reader: the data the peer sends meanwhile is not read, its readiness is
 * held back until the heal, and then every byte is read, in order.
 */
static void test_fault_partition_withholds_then_heals(void **state)
{
	struct fixture *fixture = *state;
	int fds[2];
	tcp_pair_make(fixture, fds);
	assert_int_equal(gale_driver_fd_register(fixture->driver, fds[0], TOKEN_A,
						 GALE_READY_WRITE),
			 0);
	assert_int_equal(gale_driver_fd_register(fixture->driver, fds[1], TOKEN_B,
						 GALE_READY_READ),
			 0);
	gale_entropy_init_seed(&fixture->entropy, seed_or(3)); /* Draws 128 ms: long enough. */
	int64_t before_ns = gale_driver_now_ns(fixture->driver);
	int64_t duration_ns = partition_start(fixture, fds[1], 300 * MS);
	int64_t heal_latest_ns = gale_driver_now_ns(fixture->driver) + duration_ns;
	int64_t heal_earliest_ns = before_ns + duration_ns;
	uint8_t *sent = malloc(TCP_PAYLOAD_LEN);
	uint8_t *received = calloc(1, TCP_PAYLOAD_LEN);
	assert_non_null(sent);
	assert_non_null(received);
	for (size_t i = 0; i < TCP_PAYLOAD_LEN; i++)
		sent[i] = (uint8_t)(i * 7 + (i >> 8));
	struct pair_watch watch = {0};
	pair_write_all(fixture, fds, &watch, sent, TCP_PAYLOAD_LEN);
	/* Answered without the kernel while partitioned; by the kernel once healed. */
	inner_reads_count = 0;
	assert_int_equal(gale_driver_epoll_syscall_set(&fixture->epoll, GALE_EPOLL_SYSCALL_READ,
						       (gale_syscall_ptr)counting_read),
			 0);
	int64_t read_at_ns = gale_driver_now_ns(fixture->driver);
	ssize_t rc = gale_driver_read(fixture->driver, fds[1], received, TCP_PAYLOAD_LEN);
	assert_int_equal(gale_driver_epoll_syscall_set(&fixture->epoll, GALE_EPOLL_SYSCALL_READ,
						       NULL),
			 0);
	if (inner_reads_count == 0) {
		assert_int_equal(rc, -EAGAIN);
		assert_true(read_at_ns < heal_latest_ns);
	} else {
		assert_true(gale_driver_now_ns(fixture->driver) >= heal_earliest_ns);
	}
	size_t got = rc > 0 ? (size_t)rc : 0;
	/* The data's readiness arrives only with the heal, however late this thread runs. */
	for (int waits = 0; watch.ready_b == 0; waits++) {
		assert_true(waits < WAITS_MAX);
		pair_watch_wait(fixture, &watch);
	}
	assert_true(watch.b_first_ns >= heal_earliest_ns);
	assert_true((watch.ready_b & GALE_READY_READ) != 0);
	while (got < TCP_PAYLOAD_LEN) {
		rc = read_settled(fixture, fds[1], TOKEN_B, received + got, TCP_PAYLOAD_LEN - got);
		assert_true(rc > 0);
		got += (size_t)rc;
	}
	assert_memory_equal(sent, received, TCP_PAYLOAD_LEN);
	assert_int_equal(injected(fixture, GALE_FAULT_PARTITION), 1);
	assert_int_equal(gale_trace_count(&fixture->trace), 1); /* The partition, nothing else. */
	free(sent);
	free(received);
	pair_deregister_close(fixture, fds);
}

/* wait() with a partition pending sleeps no longer than the partition: the heal is an event. */
static void test_fault_partition_wait_returns_by_heal(void **state)
{
	struct fixture *fixture = *state;
	int fds[2];
	tcp_pair_make(fixture, fds);
	assert_int_equal(gale_driver_fd_register(fixture->driver, fds[1], TOKEN_B,
						 GALE_READY_READ),
			 0);
	(void)partition_start(fixture, fds[1], 50 * MS);
	inner_waits_record(fixture, true);
	uint32_t ready = wait_until_token(fixture, TOKEN_B);
	bool unlimited = inner_waits.unlimited;
	int timeout_ms_max = inner_waits.timeout_ms_max;
	inner_waits_record(fixture, false);
	/* Nothing was ready: only the heal could end the waits, each capped at 50 ms. */
	assert_int_equal(ready, GALE_READY_READ); /* The registered interest. */
	assert_false(unlimited);
	assert_in_range(timeout_ms_max, 1, 50);
	/* Healed: bytes flow again. */
	assert_int_equal(gale_driver_write(fixture->driver, fds[0], "k", 1), 1);
	char byte = 0;
	assert_int_equal(read_settled(fixture, fds[1], TOKEN_B, &byte, 1), 1);
	assert_int_equal(byte, 'k');
	assert_int_equal(gale_driver_fd_deregister(fixture->driver, fds[1]), 0);
	pair_close(fixture, fds);
}

/* PARTITION needs a registered, connected TCP stream; deregistering ends one at once. */
static void test_fault_partition_only_registered_tcp(void **state)
{
	struct fixture *fixture = *state;
	int unix_fds[2];
	pair_make(fixture, unix_fds);
	assert_int_equal(gale_driver_fd_register(fixture->driver, unix_fds[1], TOKEN_A,
						 GALE_READY_READ),
			 0);
	int fds[2];
	tcp_pair_make(fixture, fds);
	ratio_set(fixture, GALE_FAULT_PARTITION, 1, 1);
	fixture->profile.partition_ns_max = 3600 * INT64_C(1000000000); /* Never heals here. */
	/* AF_UNIX, registered: not TCP. TCP, unregistered: nothing would owe the heal. */
	assert_int_equal(gale_driver_write(fixture->driver, unix_fds[0], "u", 1), 1);
	char byte;
	assert_int_equal(read_settled(fixture, unix_fds[1], TOKEN_A, &byte, 1), 1);
	assert_int_equal(gale_driver_write(fixture->driver, fds[0], "t", 1), 1);
	assert_int_equal(injected(fixture, GALE_FAULT_PARTITION), 0);
	/* Registered TCP: a write starts a partition (a read never does), and it holds at
	 * the next read (an hour is far off) although a byte is waiting. */
	assert_int_equal(gale_driver_fd_register(fixture->driver, fds[1], TOKEN_B,
						 GALE_READY_READ),
			 0);
	assert_int_equal(read_settled(fixture, fds[1], TOKEN_B, &byte, 1), 1);
	assert_int_equal(gale_driver_write(fixture->driver, fds[0], "t", 1), 1);
	assert_int_equal(injected(fixture, GALE_FAULT_PARTITION), 0);
	assert_int_equal(gale_driver_write(fixture->driver, fds[1], "w", 1), -EAGAIN);
	ratio_set(fixture, GALE_FAULT_PARTITION, 0, 0);
	assert_int_equal(injected(fixture, GALE_FAULT_PARTITION), 1);
	assert_int_equal(gale_driver_read(fixture->driver, fds[1], &byte, 1), -EAGAIN);
	/* Deregistered: the partition is over, and a new registration starts clean. */
	assert_int_equal(gale_driver_fd_deregister(fixture->driver, fds[1]), 0);
	assert_int_equal(gale_driver_fd_register(fixture->driver, fds[1], TOKEN_B,
						 GALE_READY_READ),
			 0);
	assert_int_equal(read_settled(fixture, fds[1], TOKEN_B, &byte, 1), 1);
	assert_int_equal(byte, 't');
	assert_int_equal(injected(fixture, GALE_FAULT_PARTITION), 1);
	assert_int_equal(gale_driver_fd_deregister(fixture->driver, fds[1]), 0);
	pair_close(fixture, fds);
	assert_int_equal(gale_driver_fd_deregister(fixture->driver, unix_fds[1]), 0);
	pair_close(fixture, unix_fds);
}

/* RESET on TCP is a real RST: the peer's next read is -ECONNRESET, not EOF. */
static void test_fault_reset_sends_rst(void **state)
{
	struct fixture *fixture = *state;
	int fds[2];
	tcp_pair_make(fixture, fds);
	assert_int_equal(gale_driver_fd_register(fixture->driver, fds[0], TOKEN_A,
						 GALE_READY_INTEREST_ALL),
			 0);
	assert_int_equal(gale_driver_fd_register(fixture->driver, fds[1], TOKEN_B,
						 GALE_READY_READ),
			 0);
	ratio_set(fixture, GALE_FAULT_RESET, 1, 1);
	assert_int_equal(gale_driver_write(fixture->driver, fds[0], "data", 4), -ECONNRESET);
	ratio_set(fixture, GALE_FAULT_RESET, 0, 0);
	char buf[8];
	assert_int_equal(read_settled(fixture, fds[1], TOKEN_B, buf, sizeof(buf)), -ECONNRESET);
	/* The local side keeps its documented behaviour until close. */
	assert_int_equal(gale_driver_read(fixture->driver, fds[0], buf, sizeof(buf)), 0);
	assert_int_equal(gale_driver_write(fixture->driver, fds[0], "data", 4), -EPIPE);
	assert_true((wait_until_token(fixture, TOKEN_A) & GALE_READY_READ) != 0);
	assert_int_equal(injected(fixture, GALE_FAULT_RESET), 1);
	pair_deregister_close(fixture, fds);
}

/*
 * Once the peer's FIN has been reported (RDHUP), the fd is ending: neither a partition
 * (the reactor keeps RDHUP, so a held -EAGAIN would spin its reader) nor a reset (which
 * is mid-stream only) starts there, and the read sees the end of stream.
 */
static void test_fault_no_partition_or_reset_once_ending(void **state)
{
	struct fixture *fixture = *state;
	int fds[2];
	tcp_pair_make(fixture, fds);
	assert_int_equal(gale_driver_fd_register(fixture->driver, fds[1], TOKEN_B,
						 GALE_READY_READ),
			 0);
	assert_int_equal(gale_driver_shutdown(fixture->driver, fds[0], GALE_SHUTDOWN_WRITE), 0);
	uint32_t ready = 0;
	for (int attempt = 0; attempt < WAITS_MAX && (ready & GALE_READY_RDHUP) == 0; attempt++)
		ready |= wait_until_token(fixture, TOKEN_B);
	assert_true((ready & GALE_READY_RDHUP) != 0);
	ratio_set(fixture, GALE_FAULT_PARTITION, 1, 1);
	ratio_set(fixture, GALE_FAULT_RESET, 1, 1);
	char buf[4];
	assert_int_equal(gale_driver_read(fixture->driver, fds[1], buf, sizeof(buf)), 0);
	assert_int_equal(gale_driver_read(fixture->driver, fds[1], buf, sizeof(buf)), 0);
	assert_int_equal(injected(fixture, GALE_FAULT_PARTITION), 0);
	assert_int_equal(injected(fixture, GALE_FAULT_RESET), 0);
	assert_int_equal(gale_driver_fd_deregister(fixture->driver, fds[1]), 0);
	pair_close(fixture, fds);
}

/* The inner connect's slot, refusing the AF_UNSPEC disconnect (a kernel without it). */
static int connect_refusals;

static int refusing_connect(int fd, const struct sockaddr *addr, socklen_t addr_len)
{
	(void)fd;
	(void)addr_len;
	assert_int_equal(addr->sa_family, AF_UNSPEC);
	connect_refusals++;
	errno = EOPNOTSUPP;
	return -1;
}

/* When the disconnect fails, RESET falls back to shutting down: the peer sees EOF. */
static void test_fault_reset_falls_back_to_shutdown(void **state)
{
	struct fixture *fixture = *state;
	int fds[2];
	tcp_pair_make(fixture, fds);
	assert_int_equal(gale_driver_fd_register(fixture->driver, fds[1], TOKEN_B,
						 GALE_READY_READ),
			 0);
	connect_refusals = 0;
	assert_int_equal(gale_driver_epoll_syscall_set(&fixture->epoll,
						       GALE_EPOLL_SYSCALL_CONNECT,
						       (gale_syscall_ptr)refusing_connect),
			 0);
	ratio_set(fixture, GALE_FAULT_RESET, 1, 1);
	assert_int_equal(gale_driver_write(fixture->driver, fds[0], "data", 4), -ECONNRESET);
	ratio_set(fixture, GALE_FAULT_RESET, 0, 0);
	assert_int_equal(gale_driver_epoll_syscall_set(&fixture->epoll,
						       GALE_EPOLL_SYSCALL_CONNECT, NULL),
			 0);
	assert_int_equal(connect_refusals, 1);
	char buf[8];
	assert_int_equal(read_settled(fixture, fds[1], TOKEN_B, buf, sizeof(buf)), 0);
	assert_int_equal(gale_driver_read(fixture->driver, fds[0], buf, sizeof(buf)), 0);
	assert_int_equal(gale_driver_write(fixture->driver, fds[0], "data", 4), -EPIPE);
	assert_int_equal(gale_driver_fd_deregister(fixture->driver, fds[1]), 0);
	pair_close(fixture, fds);
}

/* Far more fds than the old 128-entry table: the last one registered is still tracked. */
#define MANY_PAIRS 100

static void test_fault_tracks_many_fds(void **state)
{
	struct fixture *fixture = *state;
	static int fds[MANY_PAIRS][2];
	for (int i = 0; i < MANY_PAIRS; i++) {
		pair_make(fixture, fds[i]);
		for (int end = 0; end < 2; end++) {
			uint64_t token = (uint64_t)(i * 2 + end + 1) << 32 | 1u;
			assert_int_equal(gale_driver_fd_register(fixture->driver, fds[i][end],
								 token, GALE_READY_READ),
					 0);
		}
	}
	int last = fds[MANY_PAIRS - 1][1];
	uint64_t last_token = (uint64_t)(MANY_PAIRS * 2) << 32 | 1u;
	assert_int_equal(gale_driver_write(fixture->driver, fds[MANY_PAIRS - 1][0], "m", 1), 1);
	ratio_set(fixture, GALE_FAULT_READ_WOULD_BLOCK, 1, 1);
	char byte;
	assert_int_equal(gale_driver_read(fixture->driver, last, &byte, 1), -EAGAIN);
	ratio_set(fixture, GALE_FAULT_READ_WOULD_BLOCK, 0, 0);
	/* Tracked, so the swallowed readiness is owed, and repaid without blocking. */
	struct gale_event events[EVENTS_CAP];
	int count = wait_owed(fixture, events);
	bool repaid = false;
	for (int i = 0; i < count; i++)
		repaid |= events[i].token == last_token;
	assert_true(repaid);
	assert_int_equal(gale_driver_read(fixture->driver, last, &byte, 1), 1);
	for (int i = 0; i < MANY_PAIRS; i++)
		pair_deregister_close(fixture, fds[i]);
}

/* ---- accept and connect ------------------------------------------------------------------ */

static int unix_listener_make(struct fixture *fixture, struct sockaddr_un *addr_out,
			      socklen_t *addr_len_out)
{
	int fd = gale_driver_socket(fixture->driver, AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	/* Abstract namespace: no file system entry, no fixed name clash (autobind). */
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	assert_int_equal(gale_driver_bind(fixture->driver, fd, (struct sockaddr *)&addr,
					  (socklen_t)sizeof(sa_family_t)),
			 0);
	assert_int_equal(gale_driver_listen(fixture->driver, fd, 8), 0);
	struct sockaddr_storage bound;
	socklen_t bound_len = sizeof(bound);
	assert_int_equal(gale_driver_addr_local(fixture->driver, fd, &bound, &bound_len), 0);
	memcpy(addr_out, &bound, sizeof(*addr_out));
	*addr_len_out = bound_len;
	return fd;
}

static void test_fault_accept_emfile_then_retry(void **state)
{
	struct fixture *fixture = *state;
	struct sockaddr_un addr;
	socklen_t addr_len;
	int listener = unix_listener_make(fixture, &addr, &addr_len);
	assert_int_equal(gale_driver_fd_register(fixture->driver, listener, TOKEN_A,
						 GALE_READY_READ),
			 0);
	int client = gale_driver_socket(fixture->driver, AF_UNIX, SOCK_STREAM, 0);
	assert_true(client >= 0);
	assert_int_equal(gale_driver_connect(fixture->driver, client, (struct sockaddr *)&addr,
					     addr_len),
			 0);
	uint32_t ready = 0;
	assert_true(wait_for_token(fixture, TOKEN_A, &ready));
	ratio_set(fixture, GALE_FAULT_ACCEPT_EMFILE, 1, 1);
	assert_int_equal(gale_driver_accept(fixture->driver, listener, NULL, NULL), -EMFILE);
	ratio_set(fixture, GALE_FAULT_ACCEPT_EMFILE, 0, 0);
	/* The connection stays queued and the listener's readiness is reported again. */
	struct gale_event events[EVENTS_CAP];
	assert_int_equal(wait_owed(fixture, events), 1);
	assert_int_equal(events[0].token, TOKEN_A);
	assert_int_equal(events[0].ready, GALE_READY_READ);
	int accepted = gale_driver_accept(fixture->driver, listener, NULL, NULL);
	assert_true(accepted >= 0);
	assert_int_equal(injected(fixture, GALE_FAULT_ACCEPT_EMFILE), 1);
	assert_int_equal(gale_driver_fd_deregister(fixture->driver, listener), 0);
	assert_int_equal(gale_driver_close(fixture->driver, accepted), 0);
	assert_int_equal(gale_driver_close(fixture->driver, client), 0);
	assert_int_equal(gale_driver_close(fixture->driver, listener), 0);
}

/* CONNECT_SLOW turns an immediate connect into -EINPROGRESS with a clean SO_ERROR. */
static void test_fault_connect_slow(void **state)
{
	struct fixture *fixture = *state;
	struct sockaddr_un addr;
	socklen_t addr_len;
	int listener = unix_listener_make(fixture, &addr, &addr_len);
	int client = gale_driver_socket(fixture->driver, AF_UNIX, SOCK_STREAM, 0);
	assert_true(client >= 0);
	assert_int_equal(gale_driver_fd_register(fixture->driver, client, TOKEN_B,
						 GALE_READY_INTEREST_ALL),
			 0);
	ratio_set(fixture, GALE_FAULT_CONNECT_SLOW, 1, 1);
	assert_int_equal(gale_driver_connect(fixture->driver, client, (struct sockaddr *)&addr,
					     addr_len),
			 -EINPROGRESS);
	uint32_t ready = 0;
	assert_true(wait_for_token(fixture, TOKEN_B, &ready));
	assert_true((ready & GALE_READY_WRITE) != 0);
	assert_int_equal(gale_driver_socket_error_take(fixture->driver, client), 0);
	int accepted = gale_driver_accept(fixture->driver, listener, NULL, NULL);
	assert_true(accepted >= 0);
	assert_int_equal(gale_driver_write(fixture->driver, client, "hi", 2), 2);
	char buf[4];
	assert_int_equal(gale_driver_read(fixture->driver, accepted, buf, sizeof(buf)), 2);
	assert_int_equal(injected(fixture, GALE_FAULT_CONNECT_SLOW), 1);
	assert_int_equal(gale_driver_fd_deregister(fixture->driver, client), 0);
	assert_int_equal(gale_driver_close(fixture->driver, accepted), 0);
	assert_int_equal(gale_driver_close(fixture->driver, client), 0);
	assert_int_equal(gale_driver_close(fixture->driver, listener), 0);
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fault_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_wake_forwarded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_deinit_leaves_inner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_harsh_stream_direct, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_harsh_stream_reactor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_plan_nth_write_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_plan_persistent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_plan_rejects_bad_entries, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fault_plan_close_still_releases, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fault_planned_eagain_owes_readiness, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fault_stale_after_deregister, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_spurious_readiness, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_ready_delay_then_repaid, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fault_would_block_only_when_registered, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fault_short_and_partial_exact_lengths, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fault_reset_is_consistent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_reset_skipped_on_pipe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_fresh_fd_forgets_old_state, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fault_accept_emfile_then_retry, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fault_connect_slow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_partition_withholds_then_heals, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fault_partition_wait_returns_by_heal, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fault_partition_only_registered_tcp, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fault_reset_sends_rst, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_reset_falls_back_to_shutdown, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fault_no_partition_or_reset_once_ending, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fault_tracks_many_fds, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
