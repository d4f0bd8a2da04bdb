/* SPDX-License-Identifier: MIT */
/* copy and copy_bidirectional through caller buffers (no allocation). */
#include <assert.h>
#include <errno.h> /* E* constants only. */

#include <gale/copy.h>
#include <gale/error.h>

/* States of one direction of copy_bidirectional. */
enum {
	DIRECTION_COPYING = 0,
	DIRECTION_SHUTTING_DOWN = 1,
	DIRECTION_DONE = 2,
};

void gale_copy_init(struct gale_copy *future, struct gale_async_read reader,
		    struct gale_async_write writer, void *buf, size_t cap)
{
	assert(future != NULL && buf != NULL);
	assert(reader.ops != NULL && writer.ops != NULL);
	/* cap == 0 is kept: the first poll returns -EINVAL (an init has no error to return). */
	future->reader = reader;
	future->writer = writer;
	future->len_copied = 0;
	future->priv_buf = buf;
	future->priv_cap = cap;
	future->priv_pos = 0;
	future->priv_len = 0;
	future->priv_eof = false;
	future->priv_need_flush = false;
	future->priv_done = false;
}

/* Reads into the empty buffer. Flushes the writer first-thing when the reader stalls. */
static int copy_fill(struct gale_copy *future, struct gale_cx *cx)
{
	assert(future->priv_pos == future->priv_len);
	assert(!future->priv_eof);
	struct gale_read_buf rb = {future->priv_buf, future->priv_cap, 0};
	int rc = gale_async_read_poll(future->reader, cx, &rb);
	if (rc == GALE_PENDING && future->priv_need_flush) {
		int rc_flush = gale_async_write_poll_flush(future->writer, cx);
		if (rc_flush < 0)
			return rc_flush;
		if (rc_flush == 0)
			future->priv_need_flush = false;
		return GALE_PENDING;
	}
	if (rc != 0)
		return rc;
	future->priv_pos = 0;
	future->priv_len = rb.len_filled;
	future->priv_eof = rb.len_filled == 0;
	return 0;
}

/* Writes buf[pos, len) out, resuming after partial writes. */
static int copy_drain(struct gale_copy *future, struct gale_cx *cx)
{
	assert(future->priv_pos <= future->priv_len);
	assert(future->priv_len <= future->priv_cap);
	while (future->priv_pos < future->priv_len) {
		size_t n = 0;
		int rc = gale_async_write_poll(future->writer, cx,
					       future->priv_buf + future->priv_pos,
					       future->priv_len - future->priv_pos, &n);
		if (rc != 0)
			return rc;
		if (n == 0)
			return GALE_E_WRITE_ZERO;
		future->priv_pos += n;
		future->len_copied += n;
		future->priv_need_flush = true;
	}
	return 0;
}

static int copy_step(struct gale_copy *future, struct gale_cx *cx)
{
	assert(future != NULL);
	assert(cx != NULL);
	for (;;) {
		if (future->priv_pos == future->priv_len && !future->priv_eof) {
			int rc = copy_fill(future, cx);
			if (rc != 0)
				return rc;
		}
		int rc = copy_drain(future, cx);
		if (rc != 0)
			return rc;
		if (future->priv_eof)
			return gale_async_write_poll_flush(future->writer, cx);
	}
}

int gale_copy_poll(struct gale_copy *future, struct gale_cx *cx)
{
	assert(future != NULL && cx != NULL);
	assert(!future->priv_done);
	int rc = future->priv_cap > 0 ? copy_step(future, cx) : -EINVAL;
	if (rc == 0)
		future->priv_need_flush = false;
	if (rc != GALE_PENDING)
		future->priv_done = true;
	return rc;
}

void gale_copy_bidirectional_init(struct gale_copy_bidirectional *future,
				  struct gale_async_stream a, struct gale_async_stream b,
				  void *buf_a_to_b, size_t cap_a_to_b, void *buf_b_to_a,
				  size_t cap_b_to_a)
{
	assert(future != NULL);
	/* One buffer for both directions is kept: the first poll returns -EINVAL. */
	gale_copy_init(&future->a_to_b, a.reader, b.writer, buf_a_to_b, cap_a_to_b);
	gale_copy_init(&future->b_to_a, b.reader, a.writer, buf_b_to_a, cap_b_to_a);
	future->priv_state_a_to_b = DIRECTION_COPYING;
	future->priv_state_b_to_a = DIRECTION_COPYING;
	future->priv_done = false;
}

/* Advances one direction: copy to EOF, then shut the destination's writer down. */
static int direction_poll(struct gale_copy *copy, uint8_t *state, struct gale_cx *cx)
{
	assert(copy != NULL && state != NULL);
	assert(*state <= DIRECTION_DONE);
	if (*state == DIRECTION_COPYING) {
		int rc = gale_copy_poll(copy, cx);
		if (rc != 0)
			return rc;
		*state = DIRECTION_SHUTTING_DOWN;
	}
	if (*state == DIRECTION_SHUTTING_DOWN) {
		int rc = gale_async_write_poll_shutdown(copy->writer, cx);
		if (rc != 0)
			return rc;
		*state = DIRECTION_DONE;
	}
	return 0;
}

int gale_copy_bidirectional_poll(struct gale_copy_bidirectional *future, struct gale_cx *cx)
{
	assert(future != NULL && cx != NULL);
	assert(!future->priv_done);
	if (future->a_to_b.priv_buf == future->b_to_a.priv_buf) {
		future->priv_done = true;
		return -EINVAL;
	}
	/* Both directions are polled every time, so both store the waker when pending. */
	int rc_a_to_b = direction_poll(&future->a_to_b, &future->priv_state_a_to_b, cx);
	if (rc_a_to_b < 0) {
		future->priv_done = true;
		return rc_a_to_b;
	}
	int rc_b_to_a = direction_poll(&future->b_to_a, &future->priv_state_b_to_a, cx);
	if (rc_b_to_a < 0) {
		future->priv_done = true;
		return rc_b_to_a;
	}
	if (rc_a_to_b == GALE_PENDING || rc_b_to_a == GALE_PENDING)
		return GALE_PENDING;
	future->priv_done = true;
	return 0;
}
