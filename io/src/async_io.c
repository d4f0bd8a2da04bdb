/* SPDX-License-Identifier: MIT */
/*
 * The reader/writer wrappers: the one place that calls reader and writer ops, checking
 * the poll contract of async_io.h around every call in every build type (GALE__CONTRACT,
 * not assert: NDEBUG must not turn a reader that overruns a buffer into silent memory
 * corruption), plus the read buffer helpers.
 */
#include <assert.h>
#include <errno.h> /* E* constants only. */
#include <string.h>

#include <gale/async_io.h>
#include <gale/error.h>

#include "io_internal.h"

/* A poll result is exactly one of: ready, pending, or a negative code. */
#define POLL_RESULT_IS_VALID(rc) ((rc) == 0 || (rc) == GALE_PENDING || (rc) < 0)

void gale_read_buf_advance(struct gale_read_buf *rb, size_t n)
{
	assert(rb != NULL);
	GALE__CONTRACT(rb->len_filled <= rb->cap && n <= rb->cap - rb->len_filled,
		       "read buffer advanced by %zu with %zu of %zu bytes filled", n,
		       rb->len_filled, rb->cap);
	rb->len_filled += n;
}

void gale_read_buf_put(struct gale_read_buf *rb, const void *src, size_t len)
{
	assert(rb != NULL);
	assert(src != NULL || len == 0);
	GALE__CONTRACT(rb->len_filled <= rb->cap && len <= rb->cap - rb->len_filled,
		       "read buffer put of %zu bytes with %zu of %zu bytes filled", len,
		       rb->len_filled, rb->cap);
	if (len == 0)
		return;
	memcpy(rb->buf + rb->len_filled, src, len);
	rb->len_filled += len;
}

/* Names the rule a reader broke (the slow path of gale_async_read_poll's checks); buf,
 * cap and len_filled are what the caller's read buffer held before the reader ran. */
static GALE__COLD void read_contract_fail(const char *name, const uint8_t *buf, size_t cap,
					  size_t len_filled, const struct gale_read_buf *after,
					  int rc)
{
	if (!POLL_RESULT_IS_VALID(rc))
		gale__contract_fail(__FILE__, __LINE__, "reader '%s' returned %d from poll_read",
				    name, rc);
	if (after->buf != buf || after->cap != cap)
		gale__contract_fail(__FILE__, __LINE__,
				    "reader '%s' replaced the caller's read buffer (%p, cap %zu) "
				    "with (%p, cap %zu): the caller's bytes were never written",
				    name, (const void *)buf, cap, (const void *)after->buf,
				    after->cap);
	if (after->len_filled < len_filled || after->len_filled > cap)
		gale__contract_fail(__FILE__, __LINE__,
				    "reader '%s' moved len_filled from %zu to %zu with cap %zu "
				    "(a read never shrinks the filled part or goes past cap)",
				    name, len_filled, after->len_filled, cap);
	gale__contract_fail(__FILE__, __LINE__,
			    "reader '%s' filled %zu bytes and returned %s (%d): pending and "
			    "errors move no bytes",
			    name, after->len_filled - len_filled, gale_error_name(rc), rc);
}

int gale_async_read_poll(struct gale_async_read reader, struct gale_cx *cx,
			 struct gale_read_buf *rb)
{
	assert(reader.ops != NULL && reader.ops->poll_read != NULL);
	assert(cx != NULL && rb != NULL);
	assert(rb->buf != NULL || rb->cap == 0);
	const uint8_t *buf = rb->buf;
	size_t cap = rb->cap;
	size_t len_filled = rb->len_filled;
	GALE__CONTRACT(reader.ops->abi_version == GALE_ASYNC_IO_ABI_VERSION && len_filled <= cap,
		       "reader '%s' (ops ABI %u, gale's %u) polled with %zu of %zu bytes filled",
		       reader.ops->name, reader.ops->abi_version, GALE_ASYNC_IO_ABI_VERSION,
		       len_filled, cap);
	int rc = reader.ops->poll_read(reader.self, cx, rb);
	/* The reader fills the caller's buffer: never another one, never resized, never
	 * shrinks, never past cap (one unsigned compare: the growth fits what was free); and
	 * pending and errors move no bytes. */
	size_t grown = rb->len_filled - len_filled;
	if (GALE__UNLIKELY(rb->buf != buf || rb->cap != cap || grown > cap - len_filled ||
			   (rc != 0 && (rc > GALE_PENDING || grown != 0))))
		read_contract_fail(reader.ops->name, buf, cap, len_filled, rb, rc);
	return rc;
}

/* Checks a writer's answer: a valid poll result and, when ready, n <= the bytes offered. */
static inline void write_result_check(const struct gale_async_write_ops *ops, int rc, size_t n,
				      size_t len)
{
	GALE__CONTRACT(POLL_RESULT_IS_VALID(rc) && (rc != 0 || n <= len),
		       "writer '%s' returned %d with %zu of %zu bytes written", ops->name, rc, n,
		       len);
}

/* The writer's ops, checked: present (asserted) and of the ABI gale knows (always). */
static inline const struct gale_async_write_ops *writer_ops(struct gale_async_write writer)
{
	assert(writer.ops != NULL);
	GALE__CONTRACT(writer.ops->abi_version == GALE_ASYNC_IO_ABI_VERSION,
		       "writer '%s' has ops ABI %u, gale expects %u", writer.ops->name,
		       writer.ops->abi_version, GALE_ASYNC_IO_ABI_VERSION);
	return writer.ops;
}

int gale_async_write_poll(struct gale_async_write writer, struct gale_cx *cx, const void *buf,
			  size_t len, size_t *len_written_out)
{
	const struct gale_async_write_ops *ops = writer_ops(writer);
	assert(ops->poll_write != NULL);
	assert(cx != NULL && len_written_out != NULL);
	assert(buf != NULL || len == 0);
	size_t n = 0;
	int rc = ops->poll_write(writer.self, cx, buf, len, &n);
	write_result_check(ops, rc, n, len);
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
	const struct gale_async_write_ops *ops = writer_ops(writer);
	assert(cx != NULL && len_written_out != NULL);
	*len_written_out = 0;
	if (iov_count < 0 || iov_count > GALE_ASYNC_IO_IOV_MAX)
		return -EINVAL;
	assert(iov != NULL || iov_count == 0);
	if (ops->poll_writev == NULL)
		return write_vectored_default(writer, cx, iov, iov_count, len_written_out);
	size_t len_total = 0;
	for (int i = 0; i < iov_count; i++) {
		assert(iov[i].iov_base != NULL || iov[i].iov_len == 0);
		len_total += iov[i].iov_len;
	}
	size_t n = 0;
	int rc = ops->poll_writev(writer.self, cx, iov, iov_count, &n);
	write_result_check(ops, rc, n, len_total);
	*len_written_out = rc == 0 ? n : 0;
	return rc;
}

bool gale_async_write_is_vectored(struct gale_async_write writer)
{
	return writer_ops(writer)->poll_writev != NULL;
}

int gale_async_write_poll_flush(struct gale_async_write writer, struct gale_cx *cx)
{
	const struct gale_async_write_ops *ops = writer_ops(writer);
	assert(ops->poll_flush != NULL);
	assert(cx != NULL);
	int rc = ops->poll_flush(writer.self, cx);
	write_result_check(ops, rc, 0, 0);
	return rc;
}

int gale_async_write_poll_shutdown(struct gale_async_write writer, struct gale_cx *cx)
{
	const struct gale_async_write_ops *ops = writer_ops(writer);
	assert(ops->poll_shutdown != NULL);
	assert(cx != NULL);
	int rc = ops->poll_shutdown(writer.self, cx);
	write_result_check(ops, rc, 0, 0);
	return rc;
}
