/* SPDX-License-Identifier: MIT */
/*
 * fuzz_write_all: gale_write_all and gale_write_all_vectored over the scripted mock and
 * over the duplex pipe.
 *
 * Methodology. Byte 0 picks the transport (low bit: 0 mock, 1 duplex) and the API (bit 1:
 * vectored); then 1..3 lengths (0..300 bytes) for successive futures writing one pattern
 * stream, each cut into 1..8 iovecs (empty ones included) when vectored.
 *   Mock: a script of up to 48 actions (EXPECT_WRITE of 1..64 pattern bytes, 0..16 bytes
 *   per write, PENDING, WRITE_ERROR, and ZERO: a write that accepts 0 bytes, played by
 *   the checking wrapper since the mock never does it) decides chunking and outcomes.
 *   Duplex: a ring of 1..64 bytes; an op script (peer reads k, poll, peer close, own
 *   shutdown) interleaved with polls of the current future.
 * Every write goes through a checking wrapper that logs each call's result, so the
 * future's outcome is checked against what its writer really did.
 * Invariants (an abort names the one broken):
 *   "result"       the outcome does not follow from the writer's answers;
 *   "short-ready"  write_all returned 0 with bytes left;
 *   "write-zero"   GALE_E_WRITE_ZERO without a write that accepted 0 of >= 1 bytes;
 *   "resume"       a write did not offer exactly the unwritten remainder (wrong position,
 *                  wrong bytes, or more than is left);
 *   "bytes"        the peer read bytes that differ from the stream (duplex);
 *   "pending"      GALE_PENDING without a wake arranged, or while space was there;
 *   "lost-wakeup"  a pending writer not woken by a read or a close.
 * Replay: fuzz_write_all FILE (any build); GALE_FUZZ_TRACE=1 prints the op log.
 */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include <gale/duplex.h>
#include <gale/error.h>
#include <gale/mock_io.h>
#include <gale/write_all.h>

#include "fuzz_harness.h"
#include "fuzz_input.h"

#define WRITES_MAX 3
#define WRITE_LEN_MAX 300
#define IOV_MAX_COUNT 8
#define ACTIONS_MAX 48
#define ACTION_LEN_MAX 64
#define STREAM_MAX (ACTIONS_MAX * ACTION_LEN_MAX + WRITES_MAX * WRITE_LEN_MAX)
#define DUPLEX_CAP_MAX 64
#define DUPLEX_READ_MAX 80
#define DUPLEX_OPS_MAX 256

/* What the wrapper plays instead of forwarding: a write that accepts nothing. */
#define ACTION_ZERO 100

/* One future: its bytes (a slice of the pattern stream) and, if vectored, its iovecs. */
struct write_target {
	uint8_t buf[WRITE_LEN_MAX];       /* pattern[offset, offset + len). */
	size_t len;                       /* Bytes to write. */
	uint64_t offset;                  /* Stream offset of buf[0]. */
	struct iovec iov[IOV_MAX_COUNT];  /* Vectored: the pieces of buf. */
	int iov_count;                    /* Vectored: pieces used. */
};

/* The checking wrapper: plays ZERO actions, checks offers, logs answers. */
struct checked_writer {
	struct gale_async_write inner;   /* Mock or duplex end 0. */
	const int *kinds;                /* Mock: the harness script's kinds (ZERO included). */
	const size_t *lens;              /* Mock: EXPECT_WRITE lengths, by harness index. */
	size_t kinds_count;              /* Mock: harness actions; 0 for the duplex. */
	size_t index;                    /* Mock: the current harness action. */
	size_t offset;                   /* Mock: bytes of it written. */
	const struct write_target *target; /* The current future. */
	uint64_t accepted;               /* Bytes accepted for the current future. */
	int last_rc;                     /* The last call's result. */
	size_t last_n;                   /* Its byte count. */
	size_t last_offered;             /* Bytes it offered. */
	uint64_t calls_count;            /* Calls for the current future. */
};

/* The remainder a correct write_all offers now: all of it, or the current iovec's rest. */
static size_t offer_expected(const struct checked_writer *checked, bool one_piece)
{
	const struct write_target *target = checked->target;
	size_t left = target->len - (size_t)checked->accepted;
	if (!one_piece || target->iov_count == 0)
		return left;
	size_t piece_end = 0;
	for (int i = 0; i < target->iov_count; i++) {
		piece_end += target->iov[i].iov_len;
		if (piece_end > checked->accepted)
			return piece_end - (size_t)checked->accepted;
	}
	return 0;
}

/*
 * Every iovec of a target points into its one buffer, in order, so a correct offer starts
 * exactly at buf + accepted: comparing pointers checks position and bytes in O(1).
 */
static void offer_check(struct checked_writer *checked, const uint8_t *buf, size_t len)
{
	const struct write_target *target = checked->target;
	FUZZ_CHECK(NULL, checked->accepted + len <= target->len, "resume",
		   "offered %zu bytes with %llu of %zu accepted", len,
		   (unsigned long long)checked->accepted, target->len);
	FUZZ_CHECK(NULL, len == 0 || buf == target->buf + checked->accepted, "resume",
		   "offer starts at byte %td, %llu bytes were accepted", buf - target->buf,
		   (unsigned long long)checked->accepted);
}

/* Mock bookkeeping: moves the harness index in step with the mock after an answer. */
static void checked_script_advance(struct checked_writer *checked, int rc, size_t n)
{
	if (checked->index >= checked->kinds_count)
		return;
	if (rc != 0) {
		checked->index++; /* PENDING or ERROR consumed; GALE_E_MOCK: ended anyway. */
		return;
	}
	checked->offset += n;
	if (n > 0 && checked->offset == checked->lens[checked->index]) {
		checked->index++;
		checked->offset = 0;
	}
}

static int checked_poll_write(void *self, struct gale_cx *cx, const void *buf, size_t len,
			      size_t *len_written_out)
{
	struct checked_writer *checked = self;
	assert(checked != NULL && len_written_out != NULL);
	offer_check(checked, buf, len);
	FUZZ_CHECK(NULL, len == offer_expected(checked, true), "resume",
		   "offered %zu bytes, the remainder (of this iovec) is %zu", len,
		   offer_expected(checked, true));
	checked->calls_count++;
	checked->last_offered = len;
	int rc;
	bool play_zero = checked->index < checked->kinds_count &&
			 checked->kinds[checked->index] == ACTION_ZERO;
	if (play_zero) {
		checked->index++;
		*len_written_out = 0;
		rc = 0;
	} else {
		rc = gale_async_write_poll(checked->inner, cx, buf, len, len_written_out);
		checked_script_advance(checked, rc, *len_written_out);
	}
	checked->last_rc = rc;
	checked->last_n = *len_written_out;
	checked->accepted += *len_written_out;
	return rc;
}

static int checked_poll_writev(void *self, struct gale_cx *cx, const struct iovec *iov,
			       int iov_count, size_t *len_written_out)
{
	struct checked_writer *checked = self;
	assert(checked != NULL && len_written_out != NULL);
	size_t total = 0;
	for (int i = 0; i < iov_count; i++) {
		struct checked_writer shifted = *checked;
		shifted.accepted += total;
		offer_check(&shifted, iov[i].iov_base, iov[i].iov_len);
		total += iov[i].iov_len;
	}
	FUZZ_CHECK(NULL, total == offer_expected(checked, false) || iov_count ==
		   GALE_WRITE_ALL_IOV_WINDOW, "resume", "vectored offer of %zu bytes in %d "
		   "iovecs, remainder %zu", total, iov_count, offer_expected(checked, false));
	checked->calls_count++;
	checked->last_offered = total;
	int rc = gale_async_write_poll_vectored(checked->inner, cx, iov, iov_count,
						len_written_out);
	checked->last_rc = rc;
	checked->last_n = *len_written_out;
	checked->accepted += *len_written_out;
	return rc;
}

static int checked_poll_flush(void *self, struct gale_cx *cx)
{
	struct checked_writer *checked = self;
	return gale_async_write_poll_flush(checked->inner, cx);
}

static int checked_poll_shutdown(void *self, struct gale_cx *cx)
{
	struct checked_writer *checked = self;
	return gale_async_write_poll_shutdown(checked->inner, cx);
}

/* For writers that are not vectored (the mock): write_all_vectored takes the default path. */
static const struct gale_async_write_ops checked_write_ops = {
	.abi_version = GALE_ASYNC_IO_ABI_VERSION,
	.name = "checked",
	.poll_write = checked_poll_write,
	.poll_writev = NULL,
	.poll_flush = checked_poll_flush,
	.poll_shutdown = checked_poll_shutdown,
};

/* For vectored writers (the duplex). */
static const struct gale_async_write_ops checked_writev_ops = {
	.abi_version = GALE_ASYNC_IO_ABI_VERSION,
	.name = "checked",
	.poll_write = checked_poll_write,
	.poll_writev = checked_poll_writev,
	.poll_flush = checked_poll_flush,
	.poll_shutdown = checked_poll_shutdown,
};

/* ---- Futures -------------------------------------------------------------------------- */

/* Either kind of future, so one driver loop serves both APIs. */
struct any_write {
	bool vectored;                         /* Which one is in use. */
	struct gale_write_all plain;           /* write_all. */
	struct gale_write_all_vectored vector; /* write_all_vectored. */
};

static void target_decode(struct write_target *target, struct fuzz_input *input,
			  uint64_t offset, size_t len, bool vectored)
{
	target->len = len;
	target->offset = offset;
	fuzz_pattern_fill(target->buf, len, offset);
	target->iov_count = 0;
	if (!vectored)
		return;
	int count = (int)fuzz_input_range(input, 1, IOV_MAX_COUNT);
	size_t at = 0;
	for (int i = 0; i < count; i++) {
		size_t piece = i + 1 == count ? len - at
					      : (size_t)fuzz_input_range(input, 0, len - at);
		/* An empty entry may carry a NULL base: write_all must never touch it. */
		target->iov[i].iov_base = piece == 0 ? NULL : target->buf + at;
		target->iov[i].iov_len = piece;
		at += piece;
	}
	target->iov_count = count;
}

static void any_write_init(struct any_write *future, struct gale_async_write writer,
			   const struct write_target *target)
{
	future->vectored = target->iov_count > 0;
	if (future->vectored)
		gale_write_all_vectored_init(&future->vector, writer, target->iov,
					     target->iov_count);
	else
		gale_write_all_init(&future->plain, writer, target->buf, target->len);
}

static int any_write_poll(struct any_write *future, struct gale_cx *cx)
{
	return future->vectored ? gale_write_all_vectored_poll(&future->vector, cx)
				: gale_write_all_poll(&future->plain, cx);
}

static uint64_t any_write_len_written(const struct any_write *future)
{
	return future->vectored ? future->vector.len_written : future->plain.len_written;
}

/* The outcome must follow from the writer's answers (checked->last_* and accepted). */
static void outcome_check(const struct checked_writer *checked, const struct any_write *future,
			  int rc)
{
	size_t len = checked->target->len;
	uint64_t written = any_write_len_written(future);
	FUZZ_CHECK(NULL, written == checked->accepted, "result",
		   "len_written %llu, the writer accepted %llu", (unsigned long long)written,
		   (unsigned long long)checked->accepted);
	FUZZ_CHECK(NULL, rc != 0 || written == len, "short-ready",
		   "write_all(%zu) ready with %llu written", len, (unsigned long long)written);
	bool zero_write = checked->calls_count > 0 && checked->last_rc == 0 &&
			  checked->last_n == 0 && checked->last_offered > 0;
	FUZZ_CHECK(NULL, (rc == GALE_E_WRITE_ZERO) == (zero_write && written < len), "write-zero",
		   "write_all(%zu) -> %s; last write: %s, %zu of %zu accepted", len,
		   gale_error_name(rc), gale_error_name(checked->last_rc), checked->last_n,
		   checked->last_offered);
	bool failed = rc < 0 && rc != GALE_E_WRITE_ZERO;
	FUZZ_CHECK(NULL, !failed || rc == checked->last_rc, "result",
		   "write_all(%zu) -> %s, the writer's last answer was %s", len,
		   gale_error_name(rc), gale_error_name(checked->last_rc));
	FUZZ_CHECK(NULL, len != 0 || checked->calls_count == 0, "result",
		   "an empty write_all called its writer %llu times",
		   (unsigned long long)checked->calls_count);
}

/* ---- Mock transport ------------------------------------------------------------------- */

struct mock_run {
	struct gale_mock_action actions[ACTIONS_MAX]; /* The mock's script (no ZERO). */
	int kinds[ACTIONS_MAX];                       /* The harness script's kinds. */
	size_t lens[ACTIONS_MAX];                     /* EXPECT_WRITE lengths. */
	size_t kinds_count;                           /* Harness actions. */
	uint8_t stream[ACTIONS_MAX * ACTION_LEN_MAX]; /* Expected bytes of the script. */
};

static const int error_codes[] = {-EPIPE, -ECONNRESET, -EIO, -ENOSPC, GALE_E_CLOSED};

/* Decodes the harness script; returns how many actions the mock gets. */
static size_t mock_script_decode(struct mock_run *run, struct fuzz_input *input)
{
	static const uint32_t weights[] = {8, 3, 1, 1}; /* WRITE, PENDING, ERROR, ZERO. */
	size_t count = (size_t)fuzz_input_range(input, 0, ACTIONS_MAX);
	size_t mock_count = 0;
	size_t stream_len = 0;
	for (size_t i = 0; i < count; i++) {
		uint32_t kind = fuzz_input_pick(input, weights, 4);
		struct gale_mock_action *action = &run->actions[mock_count];
		run->lens[i] = 0;
		if (kind == 3) {
			run->kinds[i] = ACTION_ZERO;
			continue;
		}
		if (kind == 0) {
			size_t len = (size_t)fuzz_input_range(input, 1, ACTION_LEN_MAX);
			size_t len_max = (size_t)fuzz_input_range(input, 0, 16);
			fuzz_pattern_fill(run->stream + stream_len, len, stream_len);
			*action = (struct gale_mock_action)GALE_MOCK_ACTION_EXPECT_WRITE(
				run->stream + stream_len, len, len_max);
			stream_len += len;
			run->lens[i] = len;
		} else if (kind == 1) {
			*action = (struct gale_mock_action)GALE_MOCK_ACTION_PENDING();
		} else {
			*action = (struct gale_mock_action)GALE_MOCK_ACTION_WRITE_ERROR(
				error_codes[fuzz_input_range(input, 0, 4)]);
		}
		run->kinds[i] = (int)action->kind;
		mock_count++;
	}
	run->kinds_count = count;
	return mock_count;
}

static int mock_drive(struct any_write *future, size_t actions_count)
{
	struct fuzz_wake_log log;
	for (uint32_t pendings = 0;; pendings++) {
		fuzz_wake_log_clear(&log);
		struct gale_cx cx = {fuzz_waker(&log, pendings + 1)};
		int rc = any_write_poll(future, &cx);
		if (rc != GALE_PENDING)
			return rc;
		FUZZ_CHECK(NULL, fuzz_wake_log_count(&log, pendings + 1) == 1, "pending",
			   "GALE_PENDING #%u without the mock's wake", pendings + 1);
		FUZZ_CHECK(NULL, pendings < actions_count, "pending",
			   "more Pendings than the %zu actions", actions_count);
	}
}

static void mock_run_all(struct fuzz_input *input, const size_t *lens, size_t count,
			 bool vectored, bool trace)
{
	struct mock_run run;
	size_t mock_count = mock_script_decode(&run, input);
	struct gale_mock_io mock;
	gale_mock_io_init(&mock, run.actions, mock_count);
	struct checked_writer checked = {.inner = gale_mock_io_writer(&mock), .kinds = run.kinds,
					 .lens = run.lens, .kinds_count = run.kinds_count};
	struct gale_async_write writer = {&checked_write_ops, &checked};
	struct write_target target;
	uint64_t offset = 0;
	for (size_t i = 0; i < count; i++) {
		target_decode(&target, input, offset, lens[i], vectored);
		checked.target = &target;
		checked.accepted = 0;
		checked.calls_count = 0;
		struct any_write future;
		any_write_init(&future, writer, &target);
		int rc = mock_drive(&future, run.kinds_count);
		const char *violation = gale_mock_io_error(&mock);
		fuzz_log(trace, "mock write_all%s(%zu) -> %s, %llu written (%s)",
			 vectored ? "_vectored" : "", target.len, gale_error_name(rc),
			 (unsigned long long)checked.accepted,
			 violation != NULL ? violation : "no violation");
		FUZZ_CHECK(NULL, rc != GALE_E_MOCK || checked.index >= checked.kinds_count,
			   "resume", "the mock saw a wrong write: %s", violation);
		outcome_check(&checked, &future, rc);
		offset += checked.accepted;
	}
}

/* ---- Duplex transport ----------------------------------------------------------------- */

struct duplex_run {
	struct gale_duplex duplex;     /* End 0 writes (the futures), end 1 is the peer. */
	size_t cap;                    /* Ring size. */
	uint64_t accepted;             /* Bytes completed futures put in the ring. */
	uint64_t read;                 /* Bytes the peer read. */
	uint64_t dropped;              /* Bytes in the ring when the peer closed (discarded). */
	bool peer_closed;              /* The peer end was closed. */
	bool self_shut;                /* End 0 shut its write side down. */
	bool waiting;                  /* The current future returned GALE_PENDING. */
	uint64_t waiting_id;           /* Its waker's id. */
	struct fuzz_wake_log log;      /* Wakes of the futures' wakers. */
	struct checked_writer checked; /* The current future's wrapper. */
	struct write_target target;    /* The current future's bytes. */
	struct any_write future;       /* The current future. */
	size_t writes_done;            /* Futures completed. */
	bool trace;                    /* GALE_FUZZ_TRACE. */
};

static void duplex_future_start(struct duplex_run *run, struct fuzz_input *input, size_t len,
				bool vectored)
{
	target_decode(&run->target, input, run->accepted, len, vectored);
	run->checked = (struct checked_writer){.inner = gale_duplex_end_writer(&run->duplex, 0),
					       .target = &run->target};
	struct gale_async_write writer = {&checked_writev_ops, &run->checked};
	any_write_init(&run->future, writer, &run->target);
	run->waiting = false;
}

static void duplex_wake_check(struct duplex_run *run, const char *what)
{
	if (!run->waiting)
		return;
	FUZZ_CHECK(NULL, fuzz_wake_log_count(&run->log, run->waiting_id) >= 1, "lost-wakeup",
		   "the pending write_all was not woken by %s", what);
}

static void duplex_peer_read(struct duplex_run *run, size_t len)
{
	uint8_t bytes[DUPLEX_READ_MAX];
	struct gale_read_buf rb;
	gale_read_buf_init(&rb, bytes, len);
	struct gale_cx cx = {gale_waker_none()};
	size_t buffered = gale_duplex_end_buffered_len(&run->duplex, 0);
	int rc = gale_async_read_poll(gale_duplex_end_reader(&run->duplex, 1), &cx, &rb);
	fuzz_log(run->trace, "peer read(%zu) -> %s %zu", len, gale_error_name(rc), rb.len_filled);
	if (run->peer_closed) {
		FUZZ_CHECK(NULL, rc == GALE_E_CLOSED, "result", "read on the closed peer -> %s",
			   gale_error_name(rc));
		return;
	}
	int rc_expected = buffered > 0 || run->self_shut ? 0 : GALE_PENDING;
	size_t n_expected = len < buffered ? len : buffered;
	FUZZ_CHECK(NULL, rc == rc_expected && rb.len_filled == n_expected, "result",
		   "peer read(%zu) with %zu buffered -> %s %zu", len, buffered,
		   gale_error_name(rc), rb.len_filled);
	for (size_t i = 0; i < rb.len_filled; i++)
		FUZZ_CHECK(NULL, bytes[i] == fuzz_pattern_byte(run->read + i), "bytes",
			   "peer byte at stream offset %llu is wrong",
			   (unsigned long long)(run->read + i));
	run->read += rb.len_filled;
	if (rb.len_filled > 0)
		duplex_wake_check(run, "a read");
}

static void duplex_future_done(struct duplex_run *run, int rc)
{
	fuzz_log(run->trace, "write_all(%zu) -> %s, %llu written", run->target.len,
		 gale_error_name(rc), (unsigned long long)run->checked.accepted);
	outcome_check(&run->checked, &run->future, rc);
	FUZZ_CHECK(NULL, rc != GALE_E_WRITE_ZERO, "write-zero", "the duplex never writes 0");
	FUZZ_CHECK(NULL, rc == 0 || (rc == -EPIPE && (run->peer_closed || run->self_shut)),
		   "result", "write_all(%zu) -> %s (peer closed %d, shut %d)", run->target.len,
		   gale_error_name(rc), run->peer_closed, run->self_shut);
	run->accepted += run->checked.accepted;
	uint64_t buffered = run->accepted - run->read - run->dropped;
	FUZZ_CHECK(NULL, gale_duplex_end_buffered_len(&run->duplex, 0) == buffered, "bytes",
		   "%zu bytes in the ring, expected %llu",
		   gale_duplex_end_buffered_len(&run->duplex, 0), (unsigned long long)buffered);
	run->writes_done++;
}

/* Polls the current future once. @return true when it completed. */
static bool duplex_poll(struct duplex_run *run, uint64_t id)
{
	fuzz_wake_log_clear(&run->log);
	struct gale_cx cx = {fuzz_waker(&run->log, id)};
	int rc = any_write_poll(&run->future, &cx);
	if (rc != GALE_PENDING) {
		run->waiting = false;
		duplex_future_done(run, rc);
		return true;
	}
	size_t buffered = gale_duplex_end_buffered_len(&run->duplex, 0);
	FUZZ_CHECK(NULL, buffered == run->cap && !run->peer_closed && !run->self_shut, "pending",
		   "GALE_PENDING with %zu of %zu bytes buffered", buffered, run->cap);
	run->waiting = true;
	run->waiting_id = id;
	fuzz_log(run->trace, "write_all(%zu) pending at %llu", run->target.len,
		 (unsigned long long)run->checked.accepted);
	return false;
}

static void duplex_close_or_shut(struct duplex_run *run, bool close)
{
	if (close && !run->peer_closed) {
		run->dropped += gale_duplex_end_buffered_len(&run->duplex, 0);
		gale_duplex_close_end(&run->duplex, 1);
		run->peer_closed = true;
		fuzz_log(run->trace, "peer close");
		duplex_wake_check(run, "the peer's close");
	} else if (!close) {
		struct gale_cx cx = {gale_waker_none()};
		struct gale_async_write writer = gale_duplex_end_writer(&run->duplex, 0);
		int rc = gale_async_write_poll_shutdown(writer, &cx);
		FUZZ_CHECK(NULL, rc == 0, "result", "shutdown -> %s", gale_error_name(rc));
		run->self_shut = true;
		fuzz_log(run->trace, "own shutdown");
	}
}

static void duplex_run_all(struct fuzz_input *input, const size_t *lens, size_t count,
			   bool vectored, bool trace)
{
	static const uint32_t weights[] = {6, 6, 1, 1}; /* READ, POLL, CLOSE, SHUTDOWN. */
	struct duplex_run run = {.cap = (size_t)fuzz_input_range(input, 1, DUPLEX_CAP_MAX),
				 .trace = trace};
	int rc = gale_duplex_init(&run.duplex, run.cap, NULL);
	FUZZ_CHECK(NULL, rc == 0, "setup", "gale_duplex_init -> %s", gale_error_name(rc));
	duplex_future_start(&run, input, lens[0], vectored);
	for (uint64_t op = 1; op <= DUPLEX_OPS_MAX && run.writes_done < count; op++) {
		if (fuzz_input_is_empty(input))
			break;
		uint32_t kind = fuzz_input_pick(input, weights, 4);
		if (kind == 0)
			duplex_peer_read(&run, (size_t)fuzz_input_range(input, 1, DUPLEX_READ_MAX));
		else if (kind == 1 && duplex_poll(&run, op) && run.writes_done < count)
			duplex_future_start(&run, input, lens[run.writes_done], vectored);
		else if (kind >= 2)
			duplex_close_or_shut(&run, kind == 2);
	}
	/* The end: the peer drains; every future must complete, each read making room. */
	for (uint64_t step = 0; run.writes_done < count; step++) {
		FUZZ_CHECK(NULL, step <= 4 * (WRITES_MAX * WRITE_LEN_MAX + 4), "pending",
			   "write_all makes no progress while the peer drains");
		if (!duplex_poll(&run, DUPLEX_OPS_MAX + 1))
			duplex_peer_read(&run, DUPLEX_READ_MAX);
		else if (run.writes_done < count)
			duplex_future_start(&run, input, lens[run.writes_done], vectored);
	}
	gale_duplex_deinit(&run.duplex);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input input;
	fuzz_input_init(&input, data, size);
	uint8_t mode = fuzz_input_u8(&input);
	bool use_duplex = (mode & 1u) != 0;
	bool vectored = (mode & 2u) != 0;
	size_t count = (size_t)fuzz_input_range(&input, 1, WRITES_MAX);
	size_t lens[WRITES_MAX];
	for (size_t i = 0; i < count; i++)
		lens[i] = (size_t)fuzz_input_range(&input, 0, WRITE_LEN_MAX);
	bool trace = fuzz_trace_is_on();
	fuzz_log(trace, "%s transport, %zu write_all%s", use_duplex ? "duplex" : "mock", count,
		 vectored ? "_vectored" : "");
	if (use_duplex)
		duplex_run_all(&input, lens, count, vectored, trace);
	else
		mock_run_all(&input, lens, count, vectored, trace);
	return 0;
}
