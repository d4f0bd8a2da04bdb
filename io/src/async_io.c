/* SPDX-License-Identifier: MIT */
/*
 * The reader/writer wrappers: the one place that calls reader and writer ops, asserting
 * the poll contract of async_io.h around every call, plus the read buffer helpers.
 */
#include <assert.h>
#include <string.h>

#include <gale/async_io.h>
#include <gale/error.h>

/* A poll result is exactly one of: ready, pending, or a negative code. */
#define POLL_RESULT_IS_VALID(rc) ((rc) == 0 || (rc) == GALE_PENDING || (rc) < 0)

void gale_read_buf_advance(struct gale_read_buf *rb, size_t n)
{
	assert(rb != NULL);
	assert(rb->len_filled <= rb->cap);
	assert(n <= rb->cap - rb->len_filled);
	rb->len_filled += n;
}

void gale_read_buf_put(struct gale_read_buf *rb, const void *src, size_t len)
{
	assert(rb != NULL);
	assert(src != NULL || len == 0);
	assert(len <= gale_read_buf_remaining(rb));
	if (len == 0)
		return;
	memcpy(rb->buf + rb->len_filled, src, len);
	rb->len_filled += len;
}

int gale_async_read_poll(struct gale_async_read reader, struct gale_cx *cx,
			 struct gale_read_buf *rb)
{
	assert(reader.ops != NULL && reader.ops->poll_read != NULL);
	assert(reader.ops->abi_version == GALE_ASYNC_IO_ABI_VERSION);
	assert(cx != NULL && rb != NULL);
	assert(rb->len_filled <= rb->cap);
	assert(rb->buf != NULL || rb->cap == 0);
	size_t len_filled_before = rb->len_filled;
	size_t cap_before = rb->cap;
	int rc = reader.ops->poll_read(reader.self, cx, rb);
	assert(POLL_RESULT_IS_VALID(rc));
	/* The reader may fill, never shrink, never exceed, never resize the buffer. */
	assert(rb->cap == cap_before);
	assert(rb->len_filled >= len_filled_before && rb->len_filled <= rb->cap);
	/* Pending and errors move no bytes. */
	assert(rc == 0 || rb->len_filled == len_filled_before);
	(void)len_filled_before;
	(void)cap_before;
	return rc;
}

int gale_async_write_poll(struct gale_async_write writer, struct gale_cx *cx, const void *buf,
			  size_t len, size_t *len_written_out)
{
	assert(writer.ops != NULL && writer.ops->poll_write != NULL);
	assert(writer.ops->abi_version == GALE_ASYNC_IO_ABI_VERSION);
	assert(cx != NULL && len_written_out != NULL);
	assert(buf != NULL || len == 0);
	size_t n = 0;
	int rc = writer.ops->poll_write(writer.self, cx, buf, len, &n);
	assert(POLL_RESULT_IS_VALID(rc));
	assert(rc != 0 || n <= len);
	*len_written_out = rc == 0 ? n : 0;
	return rc;
}

/* Tokio's default poll_write_vectored: write the first non-empty buffer. */
static int write_vectored_default(struct gale_async_write writer, struct gale_cx *cx,
				  const struct iovec *iov, int iov_count, size_t *len_written_out)
{
	assert(iov != NULL || iov_count == 0);
	assert(len_written_out != NULL);
	for (int i = 0; i < iov_count; i++) {
		if (iov[i].iov_len != 0)
			return gale_async_write_poll(writer, cx, iov[i].iov_base, iov[i].iov_len,
						     len_written_out);
	}
	return gale_async_write_poll(writer, cx, NULL, 0, len_written_out);
}

int gale_async_write_poll_vectored(struct gale_async_write writer, struct gale_cx *cx,
				   const struct iovec *iov, int iov_count, size_t *len_written_out)
{
	assert(writer.ops != NULL && writer.ops->abi_version == GALE_ASYNC_IO_ABI_VERSION);
	assert(cx != NULL && len_written_out != NULL);
	assert(iov_count >= 0 && iov_count <= GALE_ASYNC_IO_IOV_MAX);
	assert(iov != NULL || iov_count == 0);
	if (writer.ops->poll_writev == NULL)
		return write_vectored_default(writer, cx, iov, iov_count, len_written_out);
	size_t len_total = 0;
	for (int i = 0; i < iov_count; i++) {
		assert(iov[i].iov_base != NULL || iov[i].iov_len == 0);
		len_total += iov[i].iov_len;
	}
	size_t n = 0;
	int rc = writer.ops->poll_writev(writer.self, cx, iov, iov_count, &n);
	assert(POLL_RESULT_IS_VALID(rc));
	assert(rc != 0 || n <= len_total);
	(void)len_total;
	*len_written_out = rc == 0 ? n : 0;
	return rc;
}

bool gale_async_write_is_vectored(struct gale_async_write writer)
{
	assert(writer.ops != NULL);
	assert(writer.ops->abi_version == GALE_ASYNC_IO_ABI_VERSION);
	return writer.ops->poll_writev != NULL;
}

int gale_async_write_poll_flush(struct gale_async_write writer, struct gale_cx *cx)
{
	assert(writer.ops != NULL && writer.ops->poll_flush != NULL);
	assert(writer.ops->abi_version == GALE_ASYNC_IO_ABI_VERSION);
	assert(cx != NULL);
	int rc = writer.ops->poll_flush(writer.self, cx);
	assert(POLL_RESULT_IS_VALID(rc));
	return rc;
}

int gale_async_write_poll_shutdown(struct gale_async_write writer, struct gale_cx *cx)
{
	assert(writer.ops != NULL && writer.ops->poll_shutdown != NULL);
	assert(writer.ops->abi_version == GALE_ASYNC_IO_ABI_VERSION);
	assert(cx != NULL);
	int rc = writer.ops->poll_shutdown(writer.self, cx);
	assert(POLL_RESULT_IS_VALID(rc));
	return rc;
}
