/* SPDX-License-Identifier: MIT */
/* split: read and write halves of one stream, with waker fan-out for one-slot objects. */
#include <assert.h>
#include <errno.h> /* E* constants only. */

#include <gale/error.h>
#include <gale/split.h>

/* The fan-out waker: wakes (and forgets) whichever halves are waiting. */
static void split_wake_cb(void *data, uint64_t id)
{
	struct gale_split *split = data;
	(void)id; /* One fan-out per split: the id carries nothing. */
	assert(split != NULL);
	struct gale_waker read_waker = split->priv_read_waker;
	struct gale_waker write_waker = split->priv_write_waker;
	split->priv_read_waker = gale_waker_none();
	split->priv_write_waker = gale_waker_none();
	gale_waker_wake(&read_waker);
	gale_waker_wake(&write_waker);
}

/*
 * Remembers the half's waker and sets *cx_inner to the context the object should see.
 * False (the poll then returns -EINVAL) when the split was given a wakers mode that is
 * neither of enum gale_split_wakers: the halves of an unknown mode never reach the object.
 */
static bool split_cx_enter(struct gale_split *split, struct gale_waker *slot,
			   const struct gale_cx *cx, struct gale_cx *cx_inner)
{
	assert(cx != NULL);
	if (split->priv_wakers != GALE_SPLIT_WAKERS_SHARED)
		return false;
	*slot = cx->waker;
	*cx_inner = (struct gale_cx){{split_wake_cb, split, 0}};
	return true;
}

/* A ready (or failed) half no longer waits: forget its waker. */
static void split_cx_leave(struct gale_waker *slot, int rc)
{
	if (rc != GALE_PENDING)
		*slot = gale_waker_none();
}

static int split_poll_read(void *self, struct gale_cx *cx, struct gale_read_buf *rb)
{
	struct gale_split *split = self;
	struct gale_cx cx_inner;
	if (!split_cx_enter(split, &split->priv_read_waker, cx, &cx_inner))
		return -EINVAL;
	int rc = gale_async_read_poll(split->priv_inner.reader, &cx_inner, rb);
	split_cx_leave(&split->priv_read_waker, rc);
	return rc;
}

static int split_poll_write(void *self, struct gale_cx *cx, const void *buf, size_t len,
			    size_t *len_written_out)
{
	struct gale_split *split = self;
	struct gale_cx cx_inner;
	if (!split_cx_enter(split, &split->priv_write_waker, cx, &cx_inner))
		return -EINVAL;
	int rc = gale_async_write_poll(split->priv_inner.writer, &cx_inner, buf, len,
				       len_written_out);
	split_cx_leave(&split->priv_write_waker, rc);
	return rc;
}

static int split_poll_writev(void *self, struct gale_cx *cx, const struct iovec *iov,
			     int iov_count, size_t *len_written_out)
{
	struct gale_split *split = self;
	struct gale_cx cx_inner;
	if (!split_cx_enter(split, &split->priv_write_waker, cx, &cx_inner))
		return -EINVAL;
	int rc = gale_async_write_poll_vectored(split->priv_inner.writer, &cx_inner, iov,
						iov_count, len_written_out);
	split_cx_leave(&split->priv_write_waker, rc);
	return rc;
}

static int split_poll_flush(void *self, struct gale_cx *cx)
{
	struct gale_split *split = self;
	struct gale_cx cx_inner;
	if (!split_cx_enter(split, &split->priv_write_waker, cx, &cx_inner))
		return -EINVAL;
	int rc = gale_async_write_poll_flush(split->priv_inner.writer, &cx_inner);
	split_cx_leave(&split->priv_write_waker, rc);
	return rc;
}

static int split_poll_shutdown(void *self, struct gale_cx *cx)
{
	struct gale_split *split = self;
	struct gale_cx cx_inner;
	if (!split_cx_enter(split, &split->priv_write_waker, cx, &cx_inner))
		return -EINVAL;
	int rc = gale_async_write_poll_shutdown(split->priv_inner.writer, &cx_inner);
	split_cx_leave(&split->priv_write_waker, rc);
	return rc;
}

static const struct gale_async_read_ops split_read_ops = {
	.abi_version = GALE_ASYNC_IO_ABI_VERSION,
	.name = "split",
	.poll_read = split_poll_read,
};

/* Two tables so is_vectored reports what the inner writer offers. */
static const struct gale_async_write_ops split_write_ops = {
	.abi_version = GALE_ASYNC_IO_ABI_VERSION,
	.name = "split",
	.poll_write = split_poll_write,
	.poll_writev = NULL,
	.poll_flush = split_poll_flush,
	.poll_shutdown = split_poll_shutdown,
};

static const struct gale_async_write_ops split_write_vectored_ops = {
	.abi_version = GALE_ASYNC_IO_ABI_VERSION,
	.name = "split",
	.poll_write = split_poll_write,
	.poll_writev = split_poll_writev,
	.poll_flush = split_poll_flush,
	.poll_shutdown = split_poll_shutdown,
};

void gale_split_init(struct gale_split *split, struct gale_async_stream stream,
		     enum gale_split_wakers wakers)
{
	assert(split != NULL);
	assert(stream.reader.ops != NULL && stream.writer.ops != NULL);
	/* An unknown wakers mode is kept: the halves' polls return -EINVAL. */
	split->priv_inner = stream;
	split->priv_wakers = wakers;
	split->priv_read_waker = gale_waker_none();
	split->priv_write_waker = gale_waker_none();
}

struct gale_async_read gale_split_read_half(struct gale_split *split)
{
	assert(split != NULL);
	assert(split->priv_inner.reader.ops != NULL);
	if (split->priv_wakers == GALE_SPLIT_WAKERS_PER_DIRECTION)
		return split->priv_inner.reader;
	struct gale_async_read reader = {&split_read_ops, split};
	return reader;
}

struct gale_async_write gale_split_write_half(struct gale_split *split)
{
	assert(split != NULL);
	assert(split->priv_inner.writer.ops != NULL);
	if (split->priv_wakers == GALE_SPLIT_WAKERS_PER_DIRECTION)
		return split->priv_inner.writer;
	bool vectored = gale_async_write_is_vectored(split->priv_inner.writer);
	struct gale_async_write writer = {vectored ? &split_write_vectored_ops : &split_write_ops,
					  split};
	return writer;
}
