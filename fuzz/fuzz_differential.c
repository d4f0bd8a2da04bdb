/* SPDX-License-Identifier: MIT */
/*
 * fuzz_differential: one op sequence on a simulated stream pair (the sim driver, faults off,
 * zero latency) and on a real one (the epoll driver): an AF_UNIX socketpair or a loopback
 * TCP connection (the first input byte chooses); the answers must agree.
 *
 * Methodology. The input is an op script: on end 0 or 1, write / writev (1..3 pieces) /
 * read / readv / recv with MSG_PEEK of 1..1024 bytes, shutdown (read, write, both), close
 * (a FIN, or a RST when bytes are left unread or SO_LINGER is 0), a socket option set then
 * read back (NODELAY, REUSEADDR, KEEPALIVE, SNDBUF, RCVBUF, LINGER -1 / 0, TTL), SO_ERROR,
 * getpeername. Ops go on after the peer closed, so every op's answer once the peer is gone
 * (EPIPE, ECONNRESET, 0, ENOTCONN) is compared too. Each op runs on both pairs and the
 * results (byte counts or negative codes), option values read back and the bytes read
 * must be identical. After every op the pairs settle: the kernel delivers loopback
 * segments (data, FIN, RST) asynchronously, so each open TCP end first waits until the
 * kernel acknowledged all it sent (SIOCOUTQ 0), then each open end's kernel readiness
 * (poll(2)) is polled, up to SETTLE_MS, until it equals the simulator's (READ, WRITE,
 * RDHUP, HUP, ERROR, reported on re-registration); the simulator at zero latency has
 * delivered everything inside the op. Readiness that never matches is a difference too.
 * The kernel bounds socket buffers by memory (skb truesize), not by bytes, so the harness
 * never lets more than 2 KiB or 32 writes sit unread per direction: below that neither side
 * can answer -EAGAIN to a write, and every other answer is determined by the byte streams
 * and the FIN/close/shutdown state, which sim.h promises to model as Linux does. At the end
 * both pairs are closed, the sim's stream oracle (gale_sim_check_streams) must pass and the
 * sim must deinit clean (no leaked fd).
 * Buffer sizes set are 65536..212992 (read back doubled by both: larger ones meet the
 * machine's rmem_max, a deliberate difference in sim.h) so the byte bound above holds.
 * Invariants (an abort names the one broken):
 *   "differ"  a result differs between the simulator and the kernel;
 *   "ready"   an end's readiness never settled to the simulator's;
 *   "bytes"   bytes read differ between them, or from the bytes written;
 *   "stream"  the sim's stream-integrity oracle failed;
 *   "leak"    the sim reported open fds or registrations at the end.
 * Replay: fuzz_differential FILE; GALE_FUZZ_TRACE=1 prints each op with both answers and
 * the sim's trace.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* POLLRDHUP. */
#endif
#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/sockios.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <gale/driver_epoll.h>
#include <gale/error.h>
#include <gale/sim.h>
#include <gale/sim_trace.h>

#include "fuzz_harness.h"
#include "fuzz_input.h"

#define OPS_MAX 256
#define IO_MAX 1024
#define PENDING_BYTES_MAX 2048
#define PENDING_WRITES_MAX 32
#define SIDES 2 /* [0] sim, [1] epoll. */
#define SETTLE_MS 5000 /* Generous: loopback delivers in microseconds. */
#define SETUP_TURNS 64 /* Simulator waits to finish a zero-latency handshake. */
#define READY_ALL                                                                          \
	(GALE_READY_READ | GALE_READY_WRITE | GALE_READY_RDHUP | GALE_READY_HUP |          \
	 GALE_READY_ERROR)

static const char *const side_names[SIDES] = {"sim", "epoll"};

struct run {
	struct gale_sim sim;            /* Side 0. */
	struct gale_driver_epoll epoll; /* Side 1. */
	struct gale_trace trace;        /* The sim's trace. */
	struct gale_driver *drivers[SIDES]; /* &sim.base, &epoll.base. */
	int fds[SIDES][2];              /* Each side's pair. */
	bool open[2];                   /* End e not closed (same on both sides). */
	uint64_t written[2];            /* Bytes end e wrote (stream offset of its next byte). */
	uint64_t read[2];               /* Bytes end e read of the other's stream. */
	uint64_t unread_bytes[2];       /* Written by end e, not read yet (bounded). */
	uint32_t unread_writes[2];      /* Writes by end e with bytes unread (bounded). */
	bool trace_on;                  /* GALE_FUZZ_TRACE. */
	bool tcp;                       /* Loopback TCP, else a socketpair. */
};

/* Stream of end e: pattern offsets start at e << 40 so both directions differ. */
static uint64_t stream_base(unsigned end)
{
	return (uint64_t)end << 40;
}

static void results_check(const struct run *run, const char *op, unsigned end,
			  const ssize_t results[SIDES])
{
	fuzz_log(run->trace_on, "end %u %s: sim %zd%s%s, epoll %zd%s%s", end, op, results[0],
		 results[0] < 0 ? " " : "", results[0] < 0 ? gale_error_name((int)results[0]) : "",
		 results[1], results[1] < 0 ? " " : "",
		 results[1] < 0 ? gale_error_name((int)results[1]) : "");
	FUZZ_CHECK(&run->trace, results[0] == results[1], "differ",
		   "end %u %s: sim -> %zd (%s), epoll -> %zd (%s)", end, op, results[0],
		   results[0] < 0 ? gale_error_name((int)results[0]) : "bytes", results[1],
		   results[1] < 0 ? gale_error_name((int)results[1]) : "bytes");
}

/* ---- Ops ----------------------------------------------------------------------------- */

static void op_write(struct run *run, struct fuzz_input *script, unsigned end, bool vectored)
{
	size_t len = (size_t)fuzz_input_range(script, 1, IO_MAX);
	size_t room = PENDING_BYTES_MAX - (size_t)run->unread_bytes[end];
	if (len > room)
		len = room;
	if (len == 0 || run->unread_writes[end] >= PENDING_WRITES_MAX)
		return;
	uint8_t bytes[IO_MAX];
	fuzz_pattern_fill(bytes, len, stream_base(end) + run->written[end]);
	struct iovec iov[3];
	int pieces = vectored ? (int)fuzz_input_range(script, 1, 3) : 1;
	size_t at = 0;
	for (int i = 0; i < pieces; i++) {
		size_t piece = i + 1 == pieces ? len - at
					       : (size_t)fuzz_input_range(script, 0, len - at);
		iov[i] = (struct iovec){bytes + at, piece};
		at += piece;
	}
	ssize_t results[SIDES];
	for (int side = 0; side < SIDES; side++) {
		struct gale_driver *driver = run->drivers[side];
		int fd = run->fds[side][end];
		results[side] = vectored ? gale_driver_writev(driver, fd, iov, pieces)
					 : gale_driver_write(driver, fd, bytes, len);
	}
	results_check(run, vectored ? "writev" : "write", end, results);
	if (results[0] <= 0)
		return;
	run->written[end] += (uint64_t)results[0];
	run->unread_bytes[end] += (uint64_t)results[0];
	run->unread_writes[end]++;
}

/* kind 0 read, 1 readv (2 pieces), 2 recv(MSG_PEEK). */
static void op_read(struct run *run, struct fuzz_input *script, unsigned end, int kind)
{
	static const char *const names[] = {"read", "readv", "recv(peek)"};
	size_t len = (size_t)fuzz_input_range(script, 1, IO_MAX);
	uint8_t bytes[SIDES][IO_MAX];
	ssize_t results[SIDES];
	for (int side = 0; side < SIDES; side++) {
		struct gale_driver *driver = run->drivers[side];
		int fd = run->fds[side][end];
		struct iovec iov[2] = {{bytes[side], len / 2},
				       {bytes[side] + len / 2, len - len / 2}};
		if (kind == 0)
			results[side] = gale_driver_read(driver, fd, bytes[side], len);
		else if (kind == 1)
			results[side] = gale_driver_readv(driver, fd, iov, 2);
		else
			results[side] = gale_driver_recv(driver, fd, bytes[side], len,
							 GALE_RECV_PEEK);
	}
	results_check(run, names[kind], end, results);
	if (results[0] <= 0)
		return;
	size_t n = (size_t)results[0];
	FUZZ_CHECK(&run->trace, memcmp(bytes[0], bytes[1], n) == 0, "bytes",
		   "end %u %s: the %zu bytes differ between sim and epoll", end, names[kind], n);
	uint64_t offset = stream_base(1 - end) + run->read[end];
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(&run->trace, bytes[0][i] == fuzz_pattern_byte(offset + i), "bytes",
			   "end %u %s: byte %zu is not the peer's stream byte", end, names[kind],
			   i);
	if (kind == 2)
		return;
	run->read[end] += n;
	run->unread_bytes[1 - end] -= n;
	if (run->unread_bytes[1 - end] == 0)
		run->unread_writes[1 - end] = 0;
}

static void op_shutdown(struct run *run, unsigned end, int how)
{
	static const char *const names[] = {"shutdown(read)", "shutdown(write)", "shutdown(both)"};
	ssize_t results[SIDES];
	for (int side = 0; side < SIDES; side++)
		results[side] = gale_driver_shutdown(run->drivers[side], run->fds[side][end], how);
	results_check(run, names[how], end, results);
}

static void op_close(struct run *run, unsigned end)
{
	ssize_t results[SIDES];
	for (int side = 0; side < SIDES; side++)
		results[side] = gale_driver_close(run->drivers[side], run->fds[side][end]);
	results_check(run, "close", end, results);
	run->open[end] = false;
	/* What the peer wrote to the closed end can never be read. */
	run->unread_bytes[1 - end] = 0;
	run->unread_writes[1 - end] = 0;
}

static void op_sockopt(struct run *run, struct fuzz_input *script, unsigned end)
{
	static const enum gale_sockopt opts[] = {
		GALE_SOCKOPT_NODELAY, GALE_SOCKOPT_REUSEADDR, GALE_SOCKOPT_KEEPALIVE,
		GALE_SOCKOPT_SNDBUF,  GALE_SOCKOPT_RCVBUF,    GALE_SOCKOPT_LINGER,
		GALE_SOCKOPT_TTL,     GALE_SOCKOPT_ACCEPTCONN,
	};
	static const char *const names[] = {"NODELAY", "REUSEADDR", "KEEPALIVE", "SNDBUF",
					    "RCVBUF",  "LINGER",    "TTL",       "ACCEPTCONN"};
	uint32_t which = (uint32_t)fuzz_input_range(script, 0, 7);
	enum gale_sockopt opt = opts[which];
	int value;
	switch (opt) {
	case GALE_SOCKOPT_SNDBUF:
	case GALE_SOCKOPT_RCVBUF:
		value = (int)fuzz_input_range(script, 65536, 212992);
		break;
	case GALE_SOCKOPT_LINGER:
		value = fuzz_input_bool(script) ? 0 : -1;
		break;
	case GALE_SOCKOPT_TTL:
		value = (int)fuzz_input_range(script, 0, 256); /* 0 and 256: -EINVAL. */
		break;
	default:
		value = (int)fuzz_input_range(script, 0, 2); /* 2: -EINVAL. */
		break;
	}
	char op[48];
	snprintf(op, sizeof(op), "sockopt_set(%s, %d)", names[which], value);
	ssize_t results[SIDES];
	int got[SIDES] = {-2, -2};
	for (int side = 0; side < SIDES; side++)
		results[side] = gale_driver_sockopt_set(run->drivers[side], run->fds[side][end],
							opt, value);
	results_check(run, op, end, results);
	snprintf(op, sizeof(op), "sockopt_get(%s)", names[which]);
	for (int side = 0; side < SIDES; side++)
		results[side] = gale_driver_sockopt_get(run->drivers[side], run->fds[side][end],
							opt, &got[side]);
	results_check(run, op, end, results);
	FUZZ_CHECK(&run->trace, results[0] < 0 || got[0] == got[1], "differ",
		   "end %u %s: sim reads %d, epoll %d", end, op, got[0], got[1]);
}

/* SO_ERROR (consumes the pending error) and getpeername's answer (not the address: ports
 * differ between the backends; the family must agree). */
static void op_state(struct run *run, unsigned end, bool peer_name)
{
	ssize_t results[SIDES];
	int family[SIDES] = {-1, -1};
	for (int side = 0; side < SIDES; side++) {
		struct gale_driver *driver = run->drivers[side];
		int fd = run->fds[side][end];
		if (!peer_name) {
			results[side] = gale_driver_socket_error_take(driver, fd);
			continue;
		}
		struct sockaddr_storage addr;
		socklen_t addr_len = 0;
		results[side] = gale_driver_addr_peer(driver, fd, &addr, &addr_len);
		family[side] = results[side] == 0 ? addr.ss_family : -1;
	}
	results_check(run, peer_name ? "addr_peer" : "socket_error_take", end, results);
	FUZZ_CHECK(&run->trace, family[0] == family[1], "differ",
		   "end %u addr_peer: family %d on sim, %d on epoll", end, family[0], family[1]);
}

/* ---- Readiness ---------------------------------------------------------------------------- */

/* The simulator's readiness of fd now: a re-registration reports it once. */
static uint32_t sim_ready(struct run *run, int fd)
{
	struct gale_driver *driver = run->drivers[0];
	uint32_t interest = GALE_READY_READ | GALE_READY_WRITE;
	int rc = gale_driver_fd_reregister(driver, fd, (uint64_t)fd, interest);
	FUZZ_CHECK(&run->trace, rc == 0, "setup", "sim reregister -> %s", gale_error_name(rc));
	struct gale_event events[8];
	uint32_t ready = 0;
	int count = gale_driver_wait(driver, events, 8, 0);
	for (int i = 0; i < count; i++) {
		if (events[i].token == (uint64_t)fd)
			ready |= events[i].ready;
	}
	return ready & READY_ALL;
}

static uint32_t kernel_ready_of(short revents)
{
	uint32_t ready = 0;
	ready |= (revents & POLLIN) != 0 ? GALE_READY_READ : 0;
	ready |= (revents & POLLOUT) != 0 ? GALE_READY_WRITE : 0;
	ready |= (revents & POLLRDHUP) != 0 ? GALE_READY_RDHUP : 0;
	ready |= (revents & POLLHUP) != 0 ? GALE_READY_HUP : 0;
	ready |= (revents & POLLERR) != 0 ? GALE_READY_ERROR : 0;
	return ready;
}

/* TCP: waits (bounded) until every byte and FIN an open kernel end sent was acknowledged
 * (SIOCOUTQ 0): on loopback, that is delivered into the peer's receive queue. */
static void settle_sent(struct run *run)
{
	for (unsigned end = 0; end < 2 && run->tcp; end++) {
		if (!run->open[end])
			continue;
		int unacked = 0;
		for (int waited_ms = 0; waited_ms <= SETTLE_MS; waited_ms++) {
			if (ioctl(run->fds[1][end], SIOCOUTQ, &unacked) < 0 || unacked == 0)
				break;
			/* A reset or closed socket keeps its count: nothing more will move. */
			struct pollfd poll_fd = {.fd = run->fds[1][end], .events = 0};
			if (poll(&poll_fd, 1, 0) == 1 && (poll_fd.revents & POLLHUP) != 0) {
				unacked = 0;
				break;
			}
			(void)poll(NULL, 0, 1);
		}
		FUZZ_CHECK(&run->trace, unacked == 0, "ready",
			   "end %u: %d bytes still unacknowledged after %d ms", end, unacked,
			   SETTLE_MS);
	}
}

/* Waits (bounded) until the kernel end's readiness equals the simulator's. */
static void settle(struct run *run)
{
	settle_sent(run);
	for (unsigned end = 0; end < 2; end++) {
		if (!run->open[end])
			continue;
		uint32_t want = sim_ready(run, run->fds[0][end]);
		struct pollfd poll_fd = {.fd = run->fds[1][end],
					 .events = POLLIN | POLLOUT | POLLRDHUP};
		uint32_t got = 0;
		for (int waited_ms = 0; waited_ms <= SETTLE_MS; waited_ms++) {
			poll_fd.revents = 0;
			int rc = poll(&poll_fd, 1, 0);
			got = rc == 1 ? kernel_ready_of(poll_fd.revents) : 0;
			if (got == want)
				break;
			(void)poll(NULL, 0, 1); /* 1 ms; only while they differ. */
		}
		fuzz_log(run->trace_on, "end %u ready: sim %#x, epoll %#x", end, want, got);
		FUZZ_CHECK(&run->trace, got == want, "ready",
			   "end %u: sim ready %#x, epoll ready %#x after %d ms", end, want, got,
			   SETTLE_MS);
	}
}

/* ---- Run ------------------------------------------------------------------------------ */

/* A connected loopback pair on one backend: fds[0] the client, fds[1] the accepted end. */
static void tcp_pair_make(struct run *run, int side)
{
	struct gale_driver *driver = run->drivers[side];
	int listener = gale_driver_socket(driver, AF_INET, SOCK_STREAM, 0);
	FUZZ_CHECK(NULL, listener >= 0, "setup", "%s socket", side_names[side]);
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	int rc = gale_driver_bind(driver, listener, (const struct sockaddr *)&addr, sizeof(addr));
	FUZZ_CHECK(NULL, rc == 0, "setup", "%s bind -> %s", side_names[side],
		   gale_error_name(rc));
	rc = gale_driver_listen(driver, listener, 4);
	FUZZ_CHECK(NULL, rc == 0, "setup", "%s listen", side_names[side]);
	struct sockaddr_storage bound;
	socklen_t bound_len = 0;
	rc = gale_driver_addr_local(driver, listener, &bound, &bound_len);
	FUZZ_CHECK(NULL, rc == 0, "setup", "%s addr_local", side_names[side]);
	int client = gale_driver_socket(driver, AF_INET, SOCK_STREAM, 0);
	FUZZ_CHECK(NULL, client >= 0, "setup", "%s socket", side_names[side]);
	rc = gale_driver_connect(driver, client, (const struct sockaddr *)&bound, bound_len);
	FUZZ_CHECK(NULL, rc == 0 || rc == -EINPROGRESS, "setup", "%s connect -> %s",
		   side_names[side], gale_error_name(rc));
	int server = -EAGAIN;
	for (int turn = 0; turn < SETUP_TURNS * 100 && server == -EAGAIN; turn++) {
		server = gale_driver_accept(driver, listener, NULL, NULL);
		if (server != -EAGAIN)
			break;
		if (side == 0) {
			struct gale_event events[4];
			(void)gale_driver_wait(driver, events, 4, 0);
		} else {
			struct pollfd poll_fd = {.fd = listener, .events = POLLIN};
			(void)poll(&poll_fd, 1, 1);
		}
	}
	FUZZ_CHECK(NULL, server >= 0, "setup", "%s accept -> %s", side_names[side],
		   gale_error_name(server));
	/* The client is connected once the handshake's last step reached it (sim: it did
	 * before the server could be accepted; kernel: the same on loopback). */
	rc = gale_driver_socket_error_take(driver, client);
	FUZZ_CHECK(NULL, rc == 0, "setup", "%s connect error %s", side_names[side],
		   gale_error_name(rc));
	rc = gale_driver_close(driver, listener);
	FUZZ_CHECK(NULL, rc == 0, "setup", "%s close listener", side_names[side]);
	run->fds[side][0] = client;
	run->fds[side][1] = server;
}


static void run_setup(struct run *run)
{
	gale_trace_init(&run->trace, NULL, fuzz_trace_records_max());
	struct gale_sim_options options = gale_sim_options_default();
	options.trace = &run->trace;
	options.latency_ns_min = 0; /* Delivered inside the op: the settled state at once. */
	options.latency_ns_max = 0;
	int rc = gale_sim_init(&run->sim, &options);
	FUZZ_CHECK(NULL, rc == 0, "setup", "sim init -> %s", gale_error_name(rc));
	rc = gale_driver_epoll_init(&run->epoll);
	FUZZ_CHECK(NULL, rc == 0, "setup", "epoll init -> %s", gale_error_name(rc));
	run->drivers[0] = &run->sim.base;
	run->drivers[1] = &run->epoll.base;
	for (int side = 0; side < SIDES; side++) {
		if (run->tcp) {
			tcp_pair_make(run, side);
			continue;
		}
		rc = gale_driver_socketpair(run->drivers[side], run->fds[side]);
		FUZZ_CHECK(NULL, rc == 0, "setup", "%s socketpair -> %s", side_names[side],
			   gale_error_name(rc));
	}
	for (unsigned end = 0; end < 2; end++) {
		int fd = run->fds[0][end];
		rc = gale_driver_fd_register(run->drivers[0], fd, (uint64_t)fd,
					     GALE_READY_READ | GALE_READY_WRITE);
		FUZZ_CHECK(NULL, rc == 0, "setup", "sim register -> %s", gale_error_name(rc));
	}
	run->open[0] = run->open[1] = true;
}

static void run_teardown(struct run *run)
{
	for (unsigned end = 0; end < 2; end++) {
		if (run->open[end])
			op_close(run, end);
	}
	char message[256];
	int check = gale_sim_check_streams(&run->sim, message, sizeof(message));
	FUZZ_CHECK(&run->trace, check == GALE_SIM_CHECK_OK, "stream", "%s", message);
	struct gale_sim_leaks leaks;
	uint32_t leaked = gale_sim_leaks(&run->sim, &leaks);
	FUZZ_CHECK(&run->trace, leaked == 0, "leak", "%u fds, %u registrations left",
		   leaks.fds_open_count, leaks.registrations_count);
	if (run->trace_on)
		fuzz_trace_dump(&run->trace, "sim");
	FUZZ_CHECK(&run->trace, gale_sim_deinit(&run->sim) == 0, "leak", "sim deinit refused");
	gale_driver_epoll_deinit(&run->epoll);
	gale_trace_deinit(&run->trace);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* WRITE WRITEV READ READV PEEK SHUTDOWN CLOSE SOCKOPT SO_ERROR GETPEERNAME */
	static const uint32_t weights[] = {6, 3, 6, 2, 2, 2, 1, 2, 1, 1};
	struct run *run = calloc(1, sizeof(*run));
	FUZZ_CHECK(NULL, run != NULL, "setup", "out of memory");
	run->trace_on = fuzz_trace_is_on();
	struct fuzz_input script;
	fuzz_input_init(&script, data, size);
	run->tcp = fuzz_input_bool(&script);
	run_setup(run);
	for (int op = 0; op < OPS_MAX && !fuzz_input_is_empty(&script); op++) {
		uint32_t kind = fuzz_input_pick(&script, weights, 10);
		unsigned end = fuzz_input_bool(&script) ? 1u : 0u;
		if (!run->open[end])
			continue; /* A closed fd number could be reused: never touch it. */
		if (kind <= 1)
			op_write(run, &script, end, kind == 1);
		else if (kind <= 4)
			op_read(run, &script, end, (int)kind - 2);
		else if (kind == 5)
			op_shutdown(run, end, (int)fuzz_input_range(&script, 0, 2));
		else if (kind == 6)
			op_close(run, end);
		else if (kind == 7)
			op_sockopt(run, &script, end);
		else
			op_state(run, end, kind == 9);
		settle(run);
	}
	run_teardown(run);
	free(run);
	return 0;
}
