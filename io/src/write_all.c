/* SPDX-License-Identifier: MIT */
/* write_all (buffer and iovec array), flush and shutdown futures over a writer. */
#include <assert.h>
#include <errno.h> /* E* constants only. */

#include <gale/error.h>
#include <gale/write_all.h>

void gale_write_all_init(struct gale_write_all *future, struct gale_async_write writer,
			 const void *buf, size_t len)
{
	assert(future != NULL);
	assert(writer.ops != NULL);
	assert(buf != NULL || len == 0);
	future->writer = writer;
	future->buf = buf;
	future->len = len;
	future->len_written = 0;
	future->priv_done = false;
}

int gale_write_all_poll(struct gale_write_all *future, struct gale_cx *cx)
{
	assert(future != NULL && cx != NULL);
	assert(!future->priv_done);
	assert(future->len_written <= future->len);
	while (future->len_written < future->len) {
		const uint8_t *rest = future->buf + future->len_written;
		size_t n = 0;
		int rc = gale_async_write_poll(future->writer, cx, rest,
					       future->len - future->len_written, &n);
		if (rc == GALE_PENDING)
			return rc;
		if (rc == 0 && n == 0)
			rc = GALE_E_WRITE_ZERO;
		if (rc != 0) {
			future->priv_done = true;
			return rc;
		}
		future->len_written += n;
	}
	future->priv_done = true;
	return 0;
}

void gale_write_all_vectored_init(struct gale_write_all_vectored *future,
				  struct gale_async_write writer, const struct iovec *iov,
				  int iov_count)
{
	assert(future != NULL && writer.ops != NULL);
	/* iov_count < 0 is kept: the first poll returns -EINVAL (init has no error). */
	assert(iov != NULL || iov_count <= 0);
	future->writer = writer;
	future->iov = iov;
	future->iov_count = iov_count;
	future->iov_index = 0;
	future->iov_offset = 0;
	future->len_written = 0;
	future->priv_done = false;
}

/* Moves the cursor past fully written and empty entries. */
static void vectored_skip_done(struct gale_write_all_vectored *future)
{
	assert(future->iov_index <= future->iov_count);
	while (future->iov_index < future->iov_count &&
	       future->iov_offset == future->iov[future->iov_index].iov_len) {
		future->iov_index++;
		future->iov_offset = 0;
	}
	assert(future->iov_index == future->iov_count ||
	       future->iov_offset < future->iov[future->iov_index].iov_len);
}

/* Fills window with the entries from the cursor on; returns how many were used. */
static int vectored_window_fill(const struct gale_write_all_vectored *future,
				struct iovec window[GALE_WRITE_ALL_IOV_WINDOW])
{
	assert(future->iov_index < future->iov_count);
	int count = 0;
	for (int i = future->iov_index; i < future->iov_count; i++) {
		if (count == GALE_WRITE_ALL_IOV_WINDOW)
			break;
		size_t offset = i == future->iov_index ? future->iov_offset : 0;
		if (future->iov[i].iov_len == offset)
			continue;
		window[count].iov_base = (uint8_t *)future->iov[i].iov_base + offset;
		window[count].iov_len = future->iov[i].iov_len - offset;
		count++;
	}
	assert(count > 0);
	return count;
}

/* Advances the cursor by n accepted bytes, across entries. */
static void vectored_advance(struct gale_write_all_vectored *future, size_t n)
{
	assert(n > 0);
	future->len_written += n;
	while (n > 0) {
		assert(future->iov_index < future->iov_count);
		size_t left = future->iov[future->iov_index].iov_len - future->iov_offset;
		size_t step = n < left ? n : left;
		future->iov_offset += step;
		n -= step;
		vectored_skip_done(future);
	}
}

int gale_write_all_vectored_poll(struct gale_write_all_vectored *future, struct gale_cx *cx)
{
	assert(future != NULL && cx != NULL);
	assert(!future->priv_done);
	if (future->iov_count < 0) {
		future->priv_done = true;
		return -EINVAL;
	}
	for (;;) {
		vectored_skip_done(future);
		if (future->iov_index == future->iov_count)
			break;
		struct iovec window[GALE_WRITE_ALL_IOV_WINDOW];
		int window_count = vectored_window_fill(future, window);
		size_t n = 0;
		int rc = gale_async_write_poll_vectored(future->writer, cx, window, window_count,
							&n);
		if (rc == GALE_PENDING)
			return rc;
		if (rc == 0 && n == 0)
			rc = GALE_E_WRITE_ZERO;
		if (rc != 0) {
			future->priv_done = true;
			return rc;
		}
		vectored_advance(future, n);
	}
	future->priv_done = true;
	return 0;
}

void gale_write_flush_init(struct gale_write_flush *future, struct gale_async_write writer)
{
	assert(future != NULL);
	assert(writer.ops != NULL);
	future->writer = writer;
	future->priv_done = false;
}

int gale_write_flush_poll(struct gale_write_flush *future, struct gale_cx *cx)
{
	assert(future != NULL && cx != NULL);
	assert(!future->priv_done);
	int rc = gale_async_write_poll_flush(future->writer, cx);
	future->priv_done = rc != GALE_PENDING;
	return rc;
}

void gale_write_shutdown_init(struct gale_write_shutdown *future, struct gale_async_write writer)
{
	assert(future != NULL);
	assert(writer.ops != NULL);
	future->writer = writer;
	future->priv_done = false;
}

int gale_write_shutdown_poll(struct gale_write_shutdown *future, struct gale_cx *cx)
{
	assert(future != NULL && cx != NULL);
	assert(!future->priv_done);
	int rc = gale_async_write_poll_shutdown(future->writer, cx);
	future->priv_done = rc != GALE_PENDING;
	return rc;
}
