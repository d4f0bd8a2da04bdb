/* SPDX-License-Identifier: MIT */
/*
 * fuzz_duplex: the duplex pipe against a reference model, op by op.
 *
 * Methodology. Byte 0 sets the ring size (1..64 bytes; 0x80 and up: 65..4096). Then an op
 * script of up to 512 ops on either end: write n (plain or vectored in 1..4 pieces, n up
 * to 2x the ring), read n (n 0..2x the ring: a full buffer is a zero-length read), flush,
 * shutdown, close. Every op carries its own waker id, so the model can say exactly which
 * stored waker each op must wake.
 * The model is what duplex.h documents, written as plainly as possible: per direction a
 * byte queue (bounded by the ring size), write_closed and read_closed flags, and the id
 * of the stored reader and writer wakers; per end a closed flag.
 * Invariants (an abort names the one broken):
 *   "result"  a result code or a byte count differs from the model's;
 *   "bytes"   bytes read differ from the model's queue (order, loss, duplication);
 *   "wake"    the wakes an op caused differ from the model's (a lost wakeup, a spurious or
 *             redundant one, or the wrong waker woken: the most recent caller must win);
 *   "len"     gale_duplex_end_buffered_len differs from the model's queue length.
 * Replay: fuzz_duplex FILE (any build); GALE_FUZZ_TRACE=1 prints every op and its result.
 */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include <gale/duplex.h>
#include <gale/error.h>

#include "fuzz_harness.h"
#include "fuzz_input.h"

#define OPS_MAX 512
#define CAP_MAX 4096
#define IO_MAX (2 * CAP_MAX)
#define PIECES_MAX 4

/* One direction of the model: written by end e, read by end 1 - e. */
struct model_pipe {
	uint8_t queue[CAP_MAX]; /* Buffered bytes, oldest first (a plain array, no ring). */
	size_t len;             /* Bytes in queue. */
	uint64_t written;       /* Stream offset of the next byte written. */
	uint64_t reader_waker;  /* Id of the stored reader waker; 0: none. */
	uint64_t writer_waker;  /* Id of the stored writer waker; 0: none. */
	bool write_closed;      /* The writer shut down or closed. */
	bool read_closed;       /* The reader's end closed. */
};

struct model {
	struct model_pipe pipes[2]; /* [e]: written by end e. */
	bool closed[2];             /* gale_duplex_close_end(e) was called. */
	size_t cap;                 /* Ring size. */
	uint64_t woken[4];          /* Ids the current op must wake, in any order. */
	uint32_t woken_len;         /* Entries in woken. */
};

struct run {
	struct gale_duplex duplex; /* Under test. */
	struct model model;        /* The reference. */
	struct fuzz_wake_log log;  /* Wakes the current op caused. */
	bool trace;                /* GALE_FUZZ_TRACE. */
};

/* The model wakes a slot: if an id is stored, it is woken and the slot empties. */
static void model_wake(struct model *model, uint64_t *slot)
{
	if (*slot == 0)
		return;
	assert(model->woken_len < 4);
	model->woken[model->woken_len++] = *slot;
	*slot = 0;
}

/* Compares the wakes of one op with the model's, as multisets. */
static void wakes_check(const struct run *run, const char *op)
{
	const struct model *model = &run->model;
	FUZZ_CHECK(NULL, run->log.wakes_count == model->woken_len, "wake",
		   "%s woke %llu wakers, the model %u", op,
		   (unsigned long long)run->log.wakes_count, model->woken_len);
	for (uint32_t i = 0; i < model->woken_len; i++)
		FUZZ_CHECK(NULL, fuzz_wake_log_count(&run->log, model->woken[i]) >= 1, "wake",
			   "%s did not wake waker %llu", op, (unsigned long long)model->woken[i]);
}

/* ---- Model ops (duplex.h, restated) ---------------------------------------------------- */

static int model_write(struct model *model, unsigned end, uint64_t id, size_t len,
		       size_t *n_out)
{
	struct model_pipe *pipe = &model->pipes[end];
	*n_out = 0;
	if (model->closed[end])
		return GALE_E_CLOSED;
	if (pipe->read_closed || pipe->write_closed)
		return -EPIPE;
	if (len == 0)
		return 0;
	if (pipe->len == model->cap) {
		pipe->writer_waker = id;
		return GALE_PENDING;
	}
	size_t space = model->cap - pipe->len;
	*n_out = len < space ? len : space;
	fuzz_pattern_fill(pipe->queue + pipe->len, *n_out, pipe->written + ((uint64_t)end << 40));
	pipe->len += *n_out;
	pipe->written += *n_out;
	model_wake(model, &pipe->reader_waker);
	return 0;
}

static int model_read(struct model *model, unsigned end, uint64_t id, size_t len,
		      uint8_t *bytes_out, size_t *n_out)
{
	struct model_pipe *pipe = &model->pipes[1 - end];
	*n_out = 0;
	if (model->closed[end])
		return GALE_E_CLOSED;
	if (len == 0)
		return 0;
	if (pipe->len == 0) {
		if (pipe->write_closed)
			return 0;
		pipe->reader_waker = id;
		return GALE_PENDING;
	}
	*n_out = len < pipe->len ? len : pipe->len;
	memcpy(bytes_out, pipe->queue, *n_out);
	memmove(pipe->queue, pipe->queue + *n_out, pipe->len - *n_out);
	pipe->len -= *n_out;
	model_wake(model, &pipe->writer_waker);
	return 0;
}

static int model_shutdown(struct model *model, unsigned end)
{
	struct model_pipe *pipe = &model->pipes[end];
	if (model->closed[end])
		return GALE_E_CLOSED;
	if (!pipe->write_closed) {
		pipe->write_closed = true;
		model_wake(model, &pipe->reader_waker);
		model_wake(model, &pipe->writer_waker);
	}
	return 0;
}

static void model_close(struct model *model, unsigned end)
{
	assert(!model->closed[end]);
	model->closed[end] = true;
	struct model_pipe *written = &model->pipes[end];
	written->write_closed = true;
	written->writer_waker = 0; /* Forgotten, not woken: its owner is gone. */
	model_wake(model, &written->reader_waker);
	struct model_pipe *read = &model->pipes[1 - end];
	read->read_closed = true;
	read->len = 0; /* Nobody will read it. */
	read->reader_waker = 0;
	model_wake(model, &read->writer_waker);
}

/* ---- Ops on the real duplex ------------------------------------------------------------ */

static void op_write(struct run *run, struct fuzz_input *input, unsigned end, uint64_t id)
{
	size_t len = (size_t)fuzz_input_range(input, 0, 2 * run->model.cap);
	int pieces = (int)fuzz_input_range(input, 0, PIECES_MAX); /* 0: poll_write. */
	uint8_t bytes[IO_MAX];
	/* What a correct duplex accepts is a prefix: fill from the model's stream offset. */
	fuzz_pattern_fill(bytes, len, run->model.pipes[end].written + ((uint64_t)end << 40));
	struct gale_cx cx = {fuzz_waker(&run->log, id)};
	struct gale_async_write writer = gale_duplex_end_writer(&run->duplex, end);
	size_t n = 0;
	int rc;
	if (pieces == 0) {
		rc = gale_async_write_poll(writer, &cx, bytes, len, &n);
	} else {
		struct iovec iov[PIECES_MAX];
		size_t at = 0;
		for (int i = 0; i < pieces; i++) {
			size_t piece = i + 1 == pieces
					       ? len - at
					       : (size_t)fuzz_input_range(input, 0, len - at);
			iov[i] = (struct iovec){piece > 0 ? bytes + at : NULL, piece};
			at += piece;
		}
		rc = gale_async_write_poll_vectored(writer, &cx, iov, pieces, &n);
	}
	size_t n_model;
	int rc_model = model_write(&run->model, end, id, len, &n_model);
	fuzz_log(run->trace, "#%llu end %u write(%zu, %d pieces) -> %s %zu",
		 (unsigned long long)id, end, len, pieces, gale_error_name(rc), n);
	FUZZ_CHECK(NULL, rc == rc_model && n == n_model, "result",
		   "end %u write(%zu) -> %s %zu, model %s %zu", end, len, gale_error_name(rc), n,
		   gale_error_name(rc_model), n_model);
	wakes_check(run, "write");
}

static void op_read(struct run *run, struct fuzz_input *input, unsigned end, uint64_t id)
{
	size_t len = (size_t)fuzz_input_range(input, 0, 2 * run->model.cap);
	uint8_t bytes[IO_MAX];
	uint8_t bytes_model[IO_MAX];
	/* len 0 is offered as a full buffer: some bytes filled, no space left. */
	struct gale_read_buf rb = {bytes, len, 0};
	struct gale_cx cx = {fuzz_waker(&run->log, id)};
	int rc = gale_async_read_poll(gale_duplex_end_reader(&run->duplex, end), &cx, &rb);
	size_t n_model;
	int rc_model = model_read(&run->model, end, id, len, bytes_model, &n_model);
	fuzz_log(run->trace, "#%llu end %u read(%zu) -> %s %zu", (unsigned long long)id, end, len,
		 gale_error_name(rc), rb.len_filled);
	FUZZ_CHECK(NULL, rc == rc_model && rb.len_filled == n_model, "result",
		   "end %u read(%zu) -> %s %zu, model %s %zu", end, len, gale_error_name(rc),
		   rb.len_filled, gale_error_name(rc_model), n_model);
	FUZZ_CHECK(NULL, memcmp(bytes, bytes_model, n_model) == 0, "bytes",
		   "end %u read %zu bytes that differ from the model's", end, n_model);
	wakes_check(run, "read");
}

static void op_end(struct run *run, unsigned end, uint32_t kind, uint64_t id)
{
	struct gale_cx cx = {fuzz_waker(&run->log, id)};
	struct gale_async_write writer = gale_duplex_end_writer(&run->duplex, end);
	const char *name = kind == 2 ? "flush" : kind == 3 ? "shutdown" : "close";
	int rc = 0;
	int rc_model = 0;
	if (kind == 2) {
		rc = gale_async_write_poll_flush(writer, &cx);
		rc_model = run->model.closed[end] ? GALE_E_CLOSED : 0;
	} else if (kind == 3) {
		rc = gale_async_write_poll_shutdown(writer, &cx);
		rc_model = model_shutdown(&run->model, end);
	} else if (!run->model.closed[end]) {
		gale_duplex_close_end(&run->duplex, end);
		model_close(&run->model, end);
	}
	fuzz_log(run->trace, "#%llu end %u %s -> %s", (unsigned long long)id, end, name,
		 gale_error_name(rc));
	FUZZ_CHECK(NULL, rc == rc_model, "result", "end %u %s -> %s, model %s", end, name,
		   gale_error_name(rc), gale_error_name(rc_model));
	wakes_check(run, name);
}

static void lens_check(const struct run *run)
{
	for (unsigned end = 0; end < 2; end++) {
		size_t len = gale_duplex_end_buffered_len(&run->duplex, end);
		FUZZ_CHECK(NULL, len == run->model.pipes[end].len, "len",
			   "end %u has %zu bytes buffered, the model %zu", end, len,
			   run->model.pipes[end].len);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t weights[] = {8, 8, 1, 2, 1}; /* WRITE READ FLUSH SHUTDOWN CLOSE */
	struct fuzz_input input;
	fuzz_input_init(&input, data, size);
	uint8_t size_byte = fuzz_input_u8(&input);
	struct run run = {.trace = fuzz_trace_is_on()};
	run.model.cap = size_byte < 0x80 ? 1u + size_byte % 64u
					 : 65u + (size_t)fuzz_input_range(&input, 0, CAP_MAX - 65);
	int rc = gale_duplex_init(&run.duplex, run.model.cap, NULL);
	FUZZ_CHECK(NULL, rc == 0, "setup", "gale_duplex_init -> %s", gale_error_name(rc));
	fuzz_log(run.trace, "ring of %zu bytes", run.model.cap);
	for (uint64_t id = 1; id <= OPS_MAX && !fuzz_input_is_empty(&input); id++) {
		uint32_t kind = fuzz_input_pick(&input, weights, 5);
		unsigned end = fuzz_input_bool(&input) ? 1u : 0u;
		fuzz_wake_log_clear(&run.log);
		run.model.woken_len = 0;
		if (kind == 0)
			op_write(&run, &input, end, id);
		else if (kind == 1)
			op_read(&run, &input, end, id);
		else
			op_end(&run, end, kind, id);
		lens_check(&run);
	}
	gale_duplex_deinit(&run.duplex);
	return 0;
}
