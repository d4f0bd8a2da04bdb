/* SPDX-License-Identifier: MIT */
/*
 * fuzz_read_exact: gale_read_exact over the scripted mock and over the duplex pipe.
 *
 * Methodology. Byte 0 picks the transport (low bit: 0 mock, 1 duplex); then 1..3 read
 * lengths (0..300 bytes each) for successive read_exact futures on one stream.
 *   Mock: a script of up to 48 actions decides the chunking (READ of 1..64 pattern bytes),
 *   the Pendings, where the stream ends (EOF, or the script running out) and the errors.
 *   A model walks the same script and predicts each future's result, byte count, bytes and
 *   number of Pendings; the harness must see exactly that.
 *   Duplex: a ring of 1..64 bytes; an op script on the peer end (write k, shutdown, close)
 *   interleaved with polls of the current future, checked against byte counters.
 * Every read goes through a checking wrapper that sees what read_exact offers the reader.
 * Invariants (an abort names the one broken):
 *   "result"         the result code differs from the model's;
 *   "short-ready"    read_exact returned 0 with fewer than n bytes;
 *   "eof"            GALE_E_UNEXPECTED_EOF although the stream had not ended before n;
 *   "bytes"          bytes read differ from the bytes sent (order, loss, duplication);
 *   "past-n"         the reader was offered space beyond n, or a later read lost bytes;
 *   "cursor"         the offered buffer does not start at the future's cursor;
 *   "pending"        GALE_PENDING with no wake arranged, or while data or EOF was there;
 *   "lost-wakeup"    a pending reader not woken by a write, shutdown or close;
 *   "canary"         bytes past buf[n) or past the cursor were written.
 * Replay: fuzz_read_exact FILE (any build); GALE_FUZZ_TRACE=1 prints the op log.
 */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include <gale/duplex.h>
#include <gale/error.h>
#include <gale/mock_io.h>
#include <gale/read_exact.h>

#include "fuzz_harness.h"
#include "fuzz_input.h"

#define READS_MAX 3
#define READ_LEN_MAX 300
#define ACTIONS_MAX 48
#define ACTION_LEN_MAX 64
#define STREAM_MAX (ACTIONS_MAX * ACTION_LEN_MAX)
#define DUPLEX_CAP_MAX 64
#define DUPLEX_WRITE_MAX 80
#define DUPLEX_OPS_MAX 256
#define CANARY_LEN 16
#define CANARY_BYTE 0xCC

/* A reader wrapper that checks what read_exact offers and counts what it delivers. */
struct checked_reader {
	struct gale_async_read inner; /* The mock or the duplex end. */
	const uint8_t *buf;           /* The future's buffer. */
	size_t len;                   /* The future's n. */
	size_t delivered;             /* Bytes the inner reader added for this future. */
	uint64_t calls_count;         /* poll_read calls for this future. */
};

static int checked_poll_read(void *self, struct gale_cx *cx, struct gale_read_buf *rb)
{
	struct checked_reader *checked = self;
	assert(checked != NULL && rb != NULL);
	FUZZ_CHECK(NULL, rb->buf == checked->buf && rb->len_filled == checked->delivered,
		   "cursor", "read offered at filled %zu, the future had %zu", rb->len_filled,
		   checked->delivered);
	FUZZ_CHECK(NULL, rb->cap == checked->len, "past-n",
		   "read offered a buffer of %zu bytes for read_exact(%zu)", rb->cap, checked->len);
	checked->calls_count++;
	size_t before = rb->len_filled;
	int rc = gale_async_read_poll(checked->inner, cx, rb);
	checked->delivered += rb->len_filled - before;
	return rc;
}

static const struct gale_async_read_ops checked_read_ops = {
	.abi_version = GALE_ASYNC_IO_ABI_VERSION,
	.name = "checked",
	.poll_read = checked_poll_read,
};

/* One future's buffer with canary bytes behind it. */
struct read_target {
	uint8_t buf[READ_LEN_MAX + CANARY_LEN]; /* buf[0, len) is the target. */
	size_t len;                             /* n. */
};

static void target_canary_check(const struct read_target *target, size_t filled)
{
	for (size_t i = filled; i < target->len + CANARY_LEN; i++)
		FUZZ_CHECK(NULL, target->buf[i] == CANARY_BYTE, "canary",
			   "byte %zu of read_exact(%zu) changed with %zu filled", i, target->len,
			   filled);
}

/* ---- Mock transport: a script and its model ------------------------------------------ */

struct mock_run {
	struct gale_mock_action actions[ACTIONS_MAX]; /* The script. */
	size_t actions_count;                         /* Actions in it. */
	uint8_t stream[STREAM_MAX];                   /* Bytes of every READ action, in order. */
	size_t model_index;                           /* Model: the current action. */
	size_t model_offset;                          /* Model: bytes of it consumed. */
	bool model_failed;                            /* Model: the mock recorded a violation. */
	bool log;                                     /* GALE_FUZZ_TRACE. */
};

/* What the model predicts for one read_exact. */
struct read_expect {
	int rc;              /* Result code. */
	size_t filled;       /* len_filled at completion. */
	uint32_t pendings;   /* GALE_PENDING results before completion. */
};

static const int error_codes[] = {-ECONNRESET, -EIO, -EPIPE, -ETIMEDOUT, GALE_E_CLOSED};

static void mock_script_decode(struct mock_run *run, struct fuzz_input *input)
{
	static const uint32_t weights[] = {8, 3, 1, 1}; /* READ, PENDING, EOF, ERROR. */
	size_t count = (size_t)fuzz_input_range(input, 0, ACTIONS_MAX);
	size_t stream_len = 0;
	for (size_t i = 0; i < count; i++) {
		struct gale_mock_action *action = &run->actions[i];
		switch (fuzz_input_pick(input, weights, 4)) {
		case 0: {
			size_t len = (size_t)fuzz_input_range(input, 1, ACTION_LEN_MAX);
			fuzz_pattern_fill(run->stream + stream_len, len, stream_len);
			*action = (struct gale_mock_action)GALE_MOCK_ACTION_READ(
				run->stream + stream_len, len);
			stream_len += len;
			break;
		}
		case 1:
			*action = (struct gale_mock_action)GALE_MOCK_ACTION_PENDING();
			break;
		case 2:
			*action = (struct gale_mock_action)GALE_MOCK_ACTION_READ_EOF();
			break;
		default:
			*action = (struct gale_mock_action)GALE_MOCK_ACTION_READ_ERROR(
				error_codes[fuzz_input_range(input, 0, 4)]);
			break;
		}
	}
	run->actions_count = count;
}

/* The model of the mock for read_exact(len): fills expect and the expected bytes. */
static void model_read_exact(struct mock_run *run, size_t len, uint8_t *bytes_out,
			     struct read_expect *expect)
{
	*expect = (struct read_expect){.rc = 0};
	while (expect->filled < len) {
		if (run->model_failed || run->model_index == run->actions_count) {
			run->model_failed = true; /* Script ended: every later call fails. */
			expect->rc = GALE_E_MOCK;
			return;
		}
		const struct gale_mock_action *action = &run->actions[run->model_index];
		if (action->kind != GALE_MOCK_READ) {
			run->model_index++;
			if (action->kind == GALE_MOCK_PENDING) {
				expect->pendings++;
				continue;
			}
			expect->rc = action->kind == GALE_MOCK_READ_EOF ? GALE_E_UNEXPECTED_EOF
									: action->code;
			return;
		}
		size_t left = action->len - run->model_offset;
		size_t take = len - expect->filled < left ? len - expect->filled : left;
		memcpy(bytes_out + expect->filled,
		       (const uint8_t *)action->bytes + run->model_offset, take);
		expect->filled += take;
		run->model_offset += take;
		if (run->model_offset == action->len) {
			run->model_index++;
			run->model_offset = 0;
		}
	}
}

/* Polls future until it completes; every Pending must have woken the waker at once. */
static int mock_drive(struct gale_read_exact *future, size_t actions_count, uint32_t *pendings)
{
	struct fuzz_wake_log log;
	*pendings = 0;
	for (;;) {
		fuzz_wake_log_clear(&log);
		struct gale_cx cx = {fuzz_waker(&log, *pendings + 1)};
		int rc = gale_read_exact_poll(future, &cx);
		if (rc != GALE_PENDING)
			return rc;
		(*pendings)++;
		FUZZ_CHECK(NULL, fuzz_wake_log_count(&log, *pendings) == 1, "pending",
			   "GALE_PENDING #%u without the mock's wake", *pendings);
		FUZZ_CHECK(NULL, *pendings <= actions_count, "pending",
			   "%u Pendings from a script of %zu actions", *pendings, actions_count);
	}
}

static void mock_check_one(struct mock_run *run, struct gale_mock_io *mock,
			   struct read_target *target)
{
	uint8_t expected_bytes[READ_LEN_MAX];
	struct read_expect expect;
	model_read_exact(run, target->len, expected_bytes, &expect);
	struct checked_reader checked = {.inner = gale_mock_io_reader(mock), .buf = target->buf,
					 .len = target->len};
	struct gale_async_read reader = {&checked_read_ops, &checked};
	struct gale_read_exact future;
	memset(target->buf, CANARY_BYTE, sizeof(target->buf));
	gale_read_exact_init(&future, reader, target->buf, target->len);
	uint32_t pendings;
	int rc = mock_drive(&future, run->actions_count, &pendings);
	fuzz_log(run->log, "mock read_exact(%zu) -> %s, %zu filled, %u pendings", target->len,
		 gale_error_name(rc), future.len_filled, pendings);
	FUZZ_CHECK(NULL, rc != 0 || future.len_filled == target->len, "short-ready",
		   "read_exact(%zu) ready with %zu bytes", target->len, future.len_filled);
	FUZZ_CHECK(NULL, rc != GALE_E_UNEXPECTED_EOF || expect.rc == GALE_E_UNEXPECTED_EOF, "eof",
		   "UNEXPECTED_EOF after %zu of %zu bytes; model: %s", future.len_filled,
		   target->len, gale_error_name(expect.rc));
	FUZZ_CHECK(NULL, rc == expect.rc, "result", "read_exact(%zu) -> %s, model %s",
		   target->len, gale_error_name(rc), gale_error_name(expect.rc));
	FUZZ_CHECK(NULL, future.len_filled == expect.filled && checked.delivered == expect.filled,
		   "past-n", "filled %zu, delivered %zu, model %zu", future.len_filled,
		   checked.delivered, expect.filled);
	FUZZ_CHECK(NULL, pendings == expect.pendings, "pending", "%u Pendings, model %u",
		   pendings, expect.pendings);
	FUZZ_CHECK(NULL, memcmp(target->buf, expected_bytes, expect.filled) == 0, "bytes",
		   "read_exact(%zu) bytes differ from the script's", target->len);
	target_canary_check(target, future.len_filled);
}

static void mock_run_all(struct fuzz_input *input, const size_t *lens, size_t reads_count,
			 bool log)
{
	struct mock_run run = {.log = log};
	mock_script_decode(&run, input);
	struct gale_mock_io mock;
	gale_mock_io_init(&mock, run.actions, run.actions_count);
	struct read_target target;
	for (size_t i = 0; i < reads_count; i++) {
		target.len = lens[i];
		mock_check_one(&run, &mock, &target);
	}
	struct gale_mock_io_stats stats = gale_mock_io_stats_get(&mock);
	FUZZ_CHECK(NULL, stats.reads_count <= run.actions_count + reads_count, "pending",
		   "%llu reads for %zu actions", (unsigned long long)stats.reads_count,
		   run.actions_count);
}

/* ---- Duplex transport ----------------------------------------------------------------- */

struct duplex_run {
	struct gale_duplex duplex;     /* End 0 reads (the futures), end 1 is the peer. */
	size_t cap;                    /* Ring size. */
	uint64_t written;              /* Bytes the peer's writes accepted. */
	uint64_t consumed;             /* Bytes completed futures took. */
	bool peer_shut;                /* The peer shut its write side down. */
	bool peer_closed;              /* The peer end was closed. */
	bool waiting;                  /* The current future returned GALE_PENDING. */
	uint64_t waiting_id;           /* Its waker's id. */
	struct fuzz_wake_log log;      /* Wakes of the futures' wakers. */
	struct checked_reader checked; /* The current future's wrapper. */
	struct gale_read_exact future; /* The current future. */
	struct read_target target;     /* Its buffer. */
	size_t reads_done;             /* Futures completed. */
	bool trace;                    /* GALE_FUZZ_TRACE. */
};

static void duplex_future_start(struct duplex_run *run, size_t len)
{
	run->target.len = len;
	memset(run->target.buf, CANARY_BYTE, sizeof(run->target.buf));
	run->checked = (struct checked_reader){.inner = gale_duplex_end_reader(&run->duplex, 0),
					       .buf = run->target.buf, .len = len};
	struct gale_async_read reader = {&checked_read_ops, &run->checked};
	gale_read_exact_init(&run->future, reader, run->target.buf, len);
	run->waiting = false;
}

/* A pending future must have been woken by what just happened (bytes, EOF). */
static void duplex_wake_check(struct duplex_run *run, const char *what)
{
	if (!run->waiting)
		return;
	FUZZ_CHECK(NULL, fuzz_wake_log_count(&run->log, run->waiting_id) >= 1, "lost-wakeup",
		   "the pending read_exact was not woken by %s", what);
}

static void duplex_peer_write(struct duplex_run *run, size_t len)
{
	uint8_t bytes[DUPLEX_WRITE_MAX];
	fuzz_pattern_fill(bytes, len, run->written);
	size_t buffered = gale_duplex_end_buffered_len(&run->duplex, 1);
	struct gale_cx cx = {gale_waker_none()};
	size_t n = 0;
	struct gale_async_write writer = gale_duplex_end_writer(&run->duplex, 1);
	int rc = gale_async_write_poll(writer, &cx, bytes, len, &n);
	int rc_expected = run->peer_closed ? GALE_E_CLOSED : run->peer_shut ? -EPIPE
							: buffered == run->cap ? GALE_PENDING : 0;
	size_t n_expected = rc_expected == 0 ? (len < run->cap - buffered ? len
									   : run->cap - buffered)
					     : 0;
	FUZZ_CHECK(NULL, rc == rc_expected && n == n_expected, "result",
		   "peer write(%zu) with %zu buffered -> %s %zu, expected %s %zu", len, buffered,
		   gale_error_name(rc), n, gale_error_name(rc_expected), n_expected);
	run->written += n;
	fuzz_log(run->trace, "peer write(%zu) -> %s %zu", len, gale_error_name(rc), n);
	if (n > 0)
		duplex_wake_check(run, "a write");
}

static void duplex_future_done(struct duplex_run *run, int rc)
{
	size_t len = run->target.len;
	size_t filled = run->future.len_filled;
	uint64_t available = run->written - run->consumed;
	size_t buffered = gale_duplex_end_buffered_len(&run->duplex, 1);
	fuzz_log(run->trace, "read_exact(%zu) -> %s, %zu filled", len, gale_error_name(rc), filled);
	FUZZ_CHECK(NULL, rc != 0 || filled == len, "short-ready", "read_exact(%zu) ready with %zu",
		   len, filled);
	bool ended = run->peer_shut || run->peer_closed;
	FUZZ_CHECK(NULL, rc != GALE_E_UNEXPECTED_EOF || (ended && available < len), "eof",
		   "UNEXPECTED_EOF with %llu bytes available for %zu, ended %d",
		   (unsigned long long)available, len, ended);
	FUZZ_CHECK(NULL, rc == 0 || rc == GALE_E_UNEXPECTED_EOF, "result",
		   "read_exact(%zu) -> %s", len, gale_error_name(rc));
	FUZZ_CHECK(NULL, filled == (rc == 0 ? len : available) && run->checked.delivered == filled,
		   "past-n", "filled %zu, delivered %zu, available %llu", filled,
		   run->checked.delivered, (unsigned long long)available);
	FUZZ_CHECK(NULL, buffered == available - filled, "past-n",
		   "%zu bytes left in the ring, expected %llu", buffered,
		   (unsigned long long)(available - filled));
	for (size_t i = 0; i < filled; i++)
		FUZZ_CHECK(NULL, run->target.buf[i] == fuzz_pattern_byte(run->consumed + i),
			   "bytes", "byte %zu of read_exact(%zu) (stream offset %llu) is wrong", i,
			   len, (unsigned long long)(run->consumed + i));
	target_canary_check(&run->target, filled);
	run->consumed += filled;
	run->reads_done++;
}

/* Polls the current future once. @return true when it completed. */
static bool duplex_poll(struct duplex_run *run, uint64_t id)
{
	size_t buffered = gale_duplex_end_buffered_len(&run->duplex, 1);
	fuzz_wake_log_clear(&run->log);
	struct gale_cx cx = {fuzz_waker(&run->log, id)};
	int rc = gale_read_exact_poll(&run->future, &cx);
	if (rc != GALE_PENDING) {
		run->waiting = false;
		duplex_future_done(run, rc);
		return true;
	}
	FUZZ_CHECK(NULL, !run->peer_shut && !run->peer_closed, "pending",
		   "GALE_PENDING after the peer's shutdown or close");
	FUZZ_CHECK(NULL, gale_duplex_end_buffered_len(&run->duplex, 1) == 0, "pending",
		   "GALE_PENDING with %zu bytes buffered (before the poll: %zu)",
		   gale_duplex_end_buffered_len(&run->duplex, 1), buffered);
	run->waiting = true;
	run->waiting_id = id;
	fuzz_log(run->trace, "read_exact(%zu) pending at %zu", run->target.len,
		 run->future.len_filled);
	return false;
}

static void duplex_peer_end(struct duplex_run *run, bool close)
{
	if (run->peer_closed)
		return;
	if (close) {
		gale_duplex_close_end(&run->duplex, 1);
		run->peer_closed = true;
	} else {
		struct gale_cx cx = {gale_waker_none()};
		struct gale_async_write writer = gale_duplex_end_writer(&run->duplex, 1);
		int rc = gale_async_write_poll_shutdown(writer, &cx);
		FUZZ_CHECK(NULL, rc == 0, "result", "peer shutdown -> %s", gale_error_name(rc));
		run->peer_shut = true;
	}
	fuzz_log(run->trace, "peer %s", close ? "close" : "shutdown");
	duplex_wake_check(run, close ? "the peer's close" : "the peer's shutdown");
}

static void duplex_run_all(struct fuzz_input *input, const size_t *lens, size_t reads_count,
			   bool trace)
{
	static const uint32_t weights[] = {6, 6, 1, 1}; /* WRITE, POLL, SHUTDOWN, CLOSE. */
	struct duplex_run run = {.cap = (size_t)fuzz_input_range(input, 1, DUPLEX_CAP_MAX),
				 .trace = trace};
	int rc = gale_duplex_init(&run.duplex, run.cap, NULL);
	FUZZ_CHECK(NULL, rc == 0, "setup", "gale_duplex_init -> %s", gale_error_name(rc));
	duplex_future_start(&run, lens[0]);
	for (uint64_t op = 1; op <= DUPLEX_OPS_MAX && run.reads_done < reads_count; op++) {
		if (fuzz_input_is_empty(input))
			break;
		uint32_t kind = fuzz_input_pick(input, weights, 4);
		size_t len = kind == 0 ? (size_t)fuzz_input_range(input, 1, DUPLEX_WRITE_MAX) : 0;
		if (kind == 0)
			duplex_peer_write(&run, len);
		else if (kind == 1 && duplex_poll(&run, op) && run.reads_done < reads_count)
			duplex_future_start(&run, lens[run.reads_done]);
		else if (kind >= 2)
			duplex_peer_end(&run, kind == 3);
	}
	/* The end: after a shutdown every future must complete without waiting. */
	duplex_peer_end(&run, false);
	while (run.reads_done < reads_count) {
		bool done = duplex_poll(&run, DUPLEX_OPS_MAX + 1);
		FUZZ_CHECK(NULL, done, "pending", "read_exact pending after the peer's shutdown");
		if (run.reads_done < reads_count)
			duplex_future_start(&run, lens[run.reads_done]);
	}
	gale_duplex_deinit(&run.duplex);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input input;
	fuzz_input_init(&input, data, size);
	bool use_duplex = fuzz_input_bool(&input);
	size_t reads_count = (size_t)fuzz_input_range(&input, 1, READS_MAX);
	size_t lens[READS_MAX];
	for (size_t i = 0; i < reads_count; i++)
		lens[i] = (size_t)fuzz_input_range(&input, 0, READ_LEN_MAX);
	bool trace = fuzz_trace_is_on();
	fuzz_log(trace, "%s transport, %zu reads", use_duplex ? "duplex" : "mock", reads_count);
	if (use_duplex)
		duplex_run_all(&input, lens, reads_count, trace);
	else
		mock_run_all(&input, lens, reads_count, trace);
	return 0;
}
