/* SPDX-License-Identifier: MIT */
/*
 * fuzz_differential: one op sequence on a simulated socketpair (the sim driver, faults off)
 * and on a real AF_UNIX socketpair (the epoll driver); the answers must agree.
 *
 * Methodology. The input is an op script: on end 0 or 1, write / writev (1..3 pieces) /
 * read / readv / recv with MSG_PEEK of 1..1024 bytes, shutdown (read, write, both), close.
 * Each op runs on both pairs and the results (byte counts or negative codes) and the bytes
 * read must be identical. The kernel bounds socket buffers by memory (skb truesize), not by
 * bytes, so the harness never lets more than 2 KiB or 32 writes sit unread per direction:
 * below that neither side can answer -EAGAIN to a write, and every other answer is
 * determined by the byte streams and the FIN/close/shutdown state, which sim.h promises to
 * model as Linux does. At the end both pairs are closed, the sim's stream oracle
 * (gale_sim_check_streams) must pass and the sim must deinit clean (no leaked fd).
 * Invariants (an abort names the one broken):
 *   "differ"  a result differs between the simulator and the kernel;
 *   "bytes"   bytes read differ between them, or from the bytes written;
 *   "stream"  the sim's stream-integrity oracle failed;
 *   "leak"    the sim reported open fds or registrations at the end.
 * Replay: fuzz_differential FILE; GALE_FUZZ_TRACE=1 prints each op with both answers and
 * the sim's trace.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

/* ---- Run ------------------------------------------------------------------------------ */

static void run_setup(struct run *run)
{
	gale_trace_init(&run->trace, NULL, fuzz_trace_records_max());
	struct gale_sim_options options = gale_sim_options_default();
	options.trace = &run->trace;
	int rc = gale_sim_init(&run->sim, &options);
	FUZZ_CHECK(NULL, rc == 0, "setup", "sim init -> %s", gale_error_name(rc));
	rc = gale_driver_epoll_init(&run->epoll);
	FUZZ_CHECK(NULL, rc == 0, "setup", "epoll init -> %s", gale_error_name(rc));
	run->drivers[0] = &run->sim.base;
	run->drivers[1] = &run->epoll.base;
	for (int side = 0; side < SIDES; side++) {
		rc = gale_driver_socketpair(run->drivers[side], run->fds[side]);
		FUZZ_CHECK(NULL, rc == 0, "setup", "%s socketpair -> %s", side_names[side],
			   gale_error_name(rc));
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
	/* WRITE WRITEV READ READV PEEK SHUTDOWN CLOSE */
	static const uint32_t weights[] = {6, 3, 6, 2, 2, 2, 1};
	struct run *run = calloc(1, sizeof(*run));
	FUZZ_CHECK(NULL, run != NULL, "setup", "out of memory");
	run->trace_on = fuzz_trace_is_on();
	run_setup(run);
	struct fuzz_input script;
	fuzz_input_init(&script, data, size);
	for (int op = 0; op < OPS_MAX && !fuzz_input_is_empty(&script); op++) {
		uint32_t kind = fuzz_input_pick(&script, weights, 7);
		unsigned end = fuzz_input_bool(&script) ? 1u : 0u;
		if (!run->open[end])
			continue; /* A closed fd number could be reused: never touch it. */
		if (kind <= 1)
			op_write(run, &script, end, kind == 1);
		else if (kind <= 4)
			op_read(run, &script, end, (int)kind - 2);
		else if (kind == 5)
			op_shutdown(run, end, (int)fuzz_input_range(&script, 0, 2));
		else
			op_close(run, end);
	}
	run_teardown(run);
	free(run);
	return 0;
}
