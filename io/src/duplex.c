/* SPDX-License-Identifier: MIT */
/*
 * The in-memory duplex pipe: two bounded rings (one per direction) allocated once, with
 * one reader and one writer waker per ring. Copies use at most two memcpy calls.
 */
#include <assert.h>
#include <errno.h> /* E* constants only. */
#include <stdint.h>
#include <string.h>

#include <gale/duplex.h>
#include <gale/error.h>

#include "io_internal.h"

/* Wakes the waker stored in slot, if any, and empties the slot (no redundant wakes). */
static inline void waker_slot_wake(struct gale_waker *slot)
{
	if (slot->wake == NULL)
		return;
	struct gale_waker waker = *slot;
	*slot = gale_waker_none();
	waker.wake(waker.data, waker.id);
}

/* Appends n bytes (n <= free space): one memcpy, or two across the wrap. */
static inline void ring_put(struct gale_duplex_pipe *pipe, size_t cap, const uint8_t *src,
			    size_t n)
{
	assert(n <= cap - pipe->priv_len);
	size_t tail = pipe->priv_head + pipe->priv_len;
	if (tail >= cap)
		tail -= cap;
	size_t first = cap - tail < n ? cap - tail : n;
	memcpy(pipe->priv_buf + tail, src, first);
	if (n > first)
		memcpy(pipe->priv_buf, src + first, n - first);
	pipe->priv_len += n;
}

/* Removes n bytes (n <= buffered) into dst: one memcpy, or two across the wrap. */
static inline void ring_take(struct gale_duplex_pipe *pipe, size_t cap, uint8_t *dst, size_t n)
{
	assert(n <= pipe->priv_len);
	size_t first = cap - pipe->priv_head < n ? cap - pipe->priv_head : n;
	memcpy(dst, pipe->priv_buf + pipe->priv_head, first);
	if (n > first)
		memcpy(dst + first, pipe->priv_buf, n - first);
	pipe->priv_len -= n;
	pipe->priv_head += n;
	if (pipe->priv_head >= cap)
		pipe->priv_head -= cap;
	/* An empty ring restarts at 0 so the next transfer is one contiguous memcpy. */
	if (pipe->priv_len == 0)
		pipe->priv_head = 0;
}

static int duplex_poll_read(void *self, struct gale_cx *cx, struct gale_read_buf *rb)
{
	struct gale_duplex_end *end = self;
	struct gale_duplex_pipe *pipe = end->priv_read_pipe;
	assert(cx != NULL && rb != NULL);
	assert(pipe->priv_len <= end->priv_cap);
	if (end->priv_closed)
		return GALE_E_CLOSED;
	size_t want = rb->cap - rb->len_filled;
	if (want == 0)
		return 0;
	const struct gale_stream_observer *observer = end->priv_observer;
	if (pipe->priv_len == 0) {
		if (!pipe->priv_write_closed) {
			pipe->priv_reader_waker = cx->waker;
			return GALE_PENDING;
		}
		/* EOF: the writer is gone and everything was read. */
		if (observer != NULL)
			observer->on_read(observer->data, end->priv_index, NULL, 0);
		return 0;
	}
	size_t n = want < pipe->priv_len ? want : pipe->priv_len;
	ring_take(pipe, end->priv_cap, rb->buf + rb->len_filled, n);
	if (observer != NULL)
		observer->on_read(observer->data, end->priv_index, rb->buf + rb->len_filled, n);
	rb->len_filled += n;
	waker_slot_wake(&pipe->priv_writer_waker);
	return 0;
}

/* Checks shared by write and writev: true when bytes may be copied, else *rc_out is set. */
static bool duplex_write_begin(struct gale_duplex_end *end, struct gale_cx *cx, size_t len,
			       int *rc_out)
{
	struct gale_duplex_pipe *pipe = end->priv_write_pipe;
	assert(cx != NULL && rc_out != NULL);
	*rc_out = 0;
	if (end->priv_closed)
		*rc_out = GALE_E_CLOSED;
	else if (pipe->priv_read_closed || pipe->priv_write_closed)
		*rc_out = -EPIPE;
	else if (len != 0 && pipe->priv_len == end->priv_cap)
		*rc_out = GALE_PENDING;
	/* Pending only after storing the waker: the reader wakes it when it frees space. */
	if (*rc_out == GALE_PENDING)
		pipe->priv_writer_waker = cx->waker;
	return *rc_out == 0 && len != 0;
}

static int duplex_poll_write(void *self, struct gale_cx *cx, const void *buf, size_t len,
			     size_t *len_written_out)
{
	struct gale_duplex_end *end = self;
	struct gale_duplex_pipe *pipe = end->priv_write_pipe;
	assert(len_written_out != NULL);
	assert(buf != NULL || len == 0);
	*len_written_out = 0;
	int rc = 0;
	if (!duplex_write_begin(end, cx, len, &rc))
		return rc;
	size_t space = end->priv_cap - pipe->priv_len;
	size_t n = len < space ? len : space;
	ring_put(pipe, end->priv_cap, buf, n);
	*len_written_out = n;
	const struct gale_stream_observer *observer = end->priv_observer;
	if (observer != NULL)
		observer->on_write(observer->data, end->priv_index, buf, n);
	waker_slot_wake(&pipe->priv_reader_waker);
	return 0;
}

static int duplex_poll_writev(void *self, struct gale_cx *cx, const struct iovec *iov,
			      int iov_count, size_t *len_written_out)
{
	struct gale_duplex_end *end = self;
	struct gale_duplex_pipe *pipe = end->priv_write_pipe;
	assert(len_written_out != NULL);
	assert(iov != NULL || iov_count == 0);
	*len_written_out = 0;
	size_t len_total = 0;
	for (int i = 0; i < iov_count; i++)
		len_total += iov[i].iov_len;
	int rc = 0;
	if (!duplex_write_begin(end, cx, len_total, &rc))
		return rc;
	size_t n_total = 0;
	for (int i = 0; i < iov_count && pipe->priv_len < end->priv_cap; i++) {
		size_t space = end->priv_cap - pipe->priv_len;
		size_t n = iov[i].iov_len < space ? iov[i].iov_len : space;
		if (n == 0)
			continue; /* An empty entry may have a NULL base: no memcpy for it. */
		ring_put(pipe, end->priv_cap, iov[i].iov_base, n);
		n_total += n;
		if (end->priv_observer != NULL)
			end->priv_observer->on_write(end->priv_observer->data, end->priv_index,
						     iov[i].iov_base, n);
	}
	*len_written_out = n_total;
	waker_slot_wake(&pipe->priv_reader_waker);
	return 0;
}

static int duplex_poll_flush(void *self, struct gale_cx *cx)
{
	struct gale_duplex_end *end = self;
	(void)cx; /* Nothing is buffered on the way: a flush never waits. */
	assert(end != NULL);
	return end->priv_closed ? GALE_E_CLOSED : 0;
}

static int duplex_poll_shutdown(void *self, struct gale_cx *cx)
{
	struct gale_duplex_end *end = self;
	struct gale_duplex_pipe *pipe = end->priv_write_pipe;
	(void)cx; /* Shutdown completes at once: nothing to flush, nothing to wait for. */
	assert(pipe != NULL);
	if (end->priv_closed)
		return GALE_E_CLOSED;
	if (!pipe->priv_write_closed) {
		pipe->priv_write_closed = true;
		/* The peer's reader sees EOF; a writer of this end (a split half) sees -EPIPE. */
		waker_slot_wake(&pipe->priv_reader_waker);
		waker_slot_wake(&pipe->priv_writer_waker);
	}
	return 0;
}

static const struct gale_async_read_ops duplex_read_ops = {
	.abi_version = GALE_ASYNC_IO_ABI_VERSION,
	.name = "duplex",
	.poll_read = duplex_poll_read,
};

static const struct gale_async_write_ops duplex_write_ops = {
	.abi_version = GALE_ASYNC_IO_ABI_VERSION,
	.name = "duplex",
	.poll_write = duplex_poll_write,
	.poll_writev = duplex_poll_writev,
	.poll_flush = duplex_poll_flush,
	.poll_shutdown = duplex_poll_shutdown,
};

int gale_duplex_init(struct gale_duplex *duplex, size_t buf_size_max,
		     const struct gale_allocator *allocator)
{
	assert(duplex != NULL);
	*duplex = (struct gale_duplex){0};
	if (buf_size_max == 0)
		return -EINVAL;
	if (buf_size_max > SIZE_MAX / 2)
		return -ENOMEM;
	const struct gale_allocator *chosen = gale__allocator_or_default(allocator);
	uint8_t *memory = gale__alloc(chosen, 2 * buf_size_max);
	if (memory == NULL)
		return -ENOMEM;
	duplex->priv_memory = memory;
	duplex->priv_cap = buf_size_max;
	duplex->priv_allocator = chosen;
	for (unsigned e = 0; e < 2; e++) {
		duplex->priv_pipes[e].priv_buf = memory + e * buf_size_max;
		duplex->priv_ends[e].priv_write_pipe = &duplex->priv_pipes[e];
		duplex->priv_ends[e].priv_read_pipe = &duplex->priv_pipes[1 - e];
		duplex->priv_ends[e].priv_cap = buf_size_max;
		duplex->priv_ends[e].priv_index = e;
	}
	return 0;
}

void gale_duplex_deinit(struct gale_duplex *duplex)
{
	assert(duplex != NULL);
	if (duplex->priv_memory == NULL)
		return;
	assert(duplex->priv_allocator != NULL);
	const struct gale_stream_observer *observer = duplex->priv_ends[0].priv_observer;
	if (observer != NULL && observer->on_deinit != NULL)
		observer->on_deinit(observer->data);
	gale__free(duplex->priv_allocator, duplex->priv_memory, 2 * duplex->priv_cap);
	/* Poisoned against use after deinit (debug builds), but priv_memory reads NULL so a
	 * second deinit is a no-op, as the header promises: poisoning it too would send that
	 * deinit after the poisoned observer. */
	GALE__POISON(duplex);
	duplex->priv_memory = NULL;
}

static struct gale_duplex_end *duplex_end_get(struct gale_duplex *duplex, unsigned end)
{
	assert(duplex != NULL && duplex->priv_memory != NULL);
	assert(end < 2);
	return &duplex->priv_ends[end];
}

struct gale_async_read gale_duplex_end_reader(struct gale_duplex *duplex, unsigned end)
{
	struct gale_async_read reader = {&duplex_read_ops, duplex_end_get(duplex, end)};
	return reader;
}

struct gale_async_write gale_duplex_end_writer(struct gale_duplex *duplex, unsigned end)
{
	struct gale_async_write writer = {&duplex_write_ops, duplex_end_get(duplex, end)};
	return writer;
}

struct gale_async_stream gale_duplex_end_stream(struct gale_duplex *duplex, unsigned end)
{
	struct gale_async_stream stream = {gale_duplex_end_reader(duplex, end),
					   gale_duplex_end_writer(duplex, end)};
	return stream;
}

void gale_duplex_close_end(struct gale_duplex *duplex, unsigned end)
{
	struct gale_duplex_end *closing = duplex_end_get(duplex, end);
	assert(!closing->priv_closed);
	closing->priv_closed = true;
	/* What this end wrote stays readable, then the peer reads EOF. */
	struct gale_duplex_pipe *written = closing->priv_write_pipe;
	written->priv_write_closed = true;
	written->priv_writer_waker = gale_waker_none();
	waker_slot_wake(&written->priv_reader_waker);
	/* Nobody will read what the peer wrote: drop it and fail the peer's writes. */
	struct gale_duplex_pipe *read = closing->priv_read_pipe;
	read->priv_read_closed = true;
	read->priv_head = 0;
	read->priv_len = 0;
	read->priv_reader_waker = gale_waker_none();
	waker_slot_wake(&read->priv_writer_waker);
}

size_t gale_duplex_end_buffered_len(const struct gale_duplex *duplex, unsigned end)
{
	assert(duplex != NULL && duplex->priv_memory != NULL);
	assert(end < 2);
	return duplex->priv_pipes[end].priv_len;
}

void gale_duplex_observer_set(struct gale_duplex *duplex,
			      const struct gale_stream_observer *observer)
{
	assert(duplex != NULL && duplex->priv_memory != NULL);
	assert(observer == NULL || (observer->on_write != NULL && observer->on_read != NULL));
	duplex->priv_ends[0].priv_observer = observer;
	duplex->priv_ends[1].priv_observer = observer;
}

bool gale_duplex_waker_find(const struct gale_duplex *duplex, const struct gale_waker *waker,
			    unsigned *end_out, bool *writing_out)
{
	assert(duplex != NULL && duplex->priv_memory != NULL);
	assert(waker != NULL);
	if (!gale_waker_is_set(waker))
		return false;
	/* Pipe e is written by end e and read by end 1 - e. */
	for (unsigned e = 0; e < 2; e++) {
		const struct gale_duplex_pipe *pipe = &duplex->priv_pipes[e];
		bool writing = gale_waker_will_wake(&pipe->priv_writer_waker, waker);
		if (!writing && !gale_waker_will_wake(&pipe->priv_reader_waker, waker))
			continue;
		if (end_out != NULL)
			*end_out = writing ? e : 1 - e;
		if (writing_out != NULL)
			*writing_out = writing;
		return true;
	}
	return false;
}
