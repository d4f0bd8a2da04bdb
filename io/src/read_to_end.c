/* SPDX-License-Identifier: MIT */
/* read_to_end: read until EOF into a geometrically growing buffer, bounded by a limit. */
#include <assert.h>
#include <errno.h> /* E* constants only. */
#include <stdint.h>
#include <string.h>

#include <gale/error.h>
#include <gale/read_to_end.h>

#include "io_internal.h"

void gale_read_to_end_init(struct gale_read_to_end *future, struct gale_async_read reader,
			   const struct gale_allocator *allocator, size_t len_max)
{
	assert(future != NULL);
	assert(reader.ops != NULL);
	future->reader = reader;
	future->buf = NULL;
	future->len_filled = 0;
	future->cap = 0;
	future->len_max = len_max;
	future->priv_allocator = gale__allocator_or_default(allocator);
	future->priv_done = false;
}

/* Grows the buffer: double (or the initial size), clamped to the limit. */
static int read_to_end_grow(struct gale_read_to_end *future)
{
	assert(future->cap < future->len_max);
	assert(future->len_filled == future->cap);
	size_t cap_new = GALE_READ_TO_END_CAP_INITIAL;
	if (future->cap != 0)
		cap_new = future->cap <= SIZE_MAX / 2 ? future->cap * 2 : SIZE_MAX;
	if (cap_new > future->len_max)
		cap_new = future->len_max;
	uint8_t *buf_new = gale__alloc(future->priv_allocator, cap_new);
	if (buf_new == NULL)
		return -ENOMEM;
	if (future->len_filled != 0)
		memcpy(buf_new, future->buf, future->len_filled);
	gale__free(future->priv_allocator, future->buf, future->cap);
	future->buf = buf_new;
	future->cap = cap_new;
	return 0;
}

/* At the limit: read at most one byte to tell EOF (0) from excess (GALE_E_LIMIT). */
static int read_to_end_probe(struct gale_read_to_end *future, struct gale_cx *cx)
{
	assert(future->len_filled == future->len_max);
	uint8_t byte = 0;
	struct gale_read_buf rb = {&byte, 1, 0};
	int rc = gale_async_read_poll(future->reader, cx, &rb);
	if (rc != 0)
		return rc;
	return rb.len_filled == 0 ? 0 : GALE_E_LIMIT;
}

/* One read into the free space; sets *eof_out when the read added nothing. */
static int read_to_end_step(struct gale_read_to_end *future, struct gale_cx *cx, bool *eof_out)
{
	assert(future->len_filled < future->len_max);
	assert(!*eof_out);
	if (future->len_filled == future->cap) {
		int rc = read_to_end_grow(future);
		if (rc != 0)
			return rc;
	}
	struct gale_read_buf rb = {future->buf, future->cap, future->len_filled};
	int rc = gale_async_read_poll(future->reader, cx, &rb);
	if (rc != 0)
		return rc;
	*eof_out = rb.len_filled == future->len_filled;
	future->len_filled = rb.len_filled;
	return 0;
}

int gale_read_to_end_poll(struct gale_read_to_end *future, struct gale_cx *cx)
{
	assert(future != NULL && cx != NULL);
	assert(!future->priv_done);
	int rc = 0;
	bool eof = false;
	while (rc == 0 && !eof && future->len_filled < future->len_max)
		rc = read_to_end_step(future, cx, &eof);
	if (rc == 0 && !eof)
		rc = read_to_end_probe(future, cx);
	if (rc == GALE_PENDING)
		return rc;
	future->priv_done = true;
	return rc;
}

uint8_t *gale_read_to_end_take(struct gale_read_to_end *future, size_t *len_out,
			       size_t *cap_out)
{
	assert(future != NULL);
	assert(len_out != NULL && cap_out != NULL);
	uint8_t *buf = future->buf;
	*len_out = future->len_filled;
	*cap_out = future->cap;
	future->buf = NULL;
	future->len_filled = 0;
	future->cap = 0;
	return buf;
}

void gale_read_to_end_deinit(struct gale_read_to_end *future)
{
	assert(future != NULL);
	if (future->buf != NULL) {
		assert(future->priv_allocator != NULL);
		gale__free(future->priv_allocator, future->buf, future->cap);
	}
	future->buf = NULL;
	future->len_filled = 0;
	future->cap = 0;
}
