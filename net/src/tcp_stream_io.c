/* SPDX-License-Identifier: MIT */
/*
 * TcpStream I/O paths (tcp.h): non-blocking attempts, poll-style reads and writes, the
 * reader/writer fat pointers, and the ready and peek futures.
 *
 * The edge-triggered rule lives in one place, the reactor's attempt (reached through the
 * AsyncFd's typed reads and writes, gale_async_fd_poll_read/_write and guard
 * try_read/try_write, and its general form for peeks and vectored calls): observe
 * readiness, make exactly one driver call, and clear readiness when that call says -EAGAIN,
 * or, for a plain read or write, when it moved less than asked and the driver vouches that
 * this proves the socket drained or full (the stream is declared one at registration:
 * gale_async_fd_stream_set). A peek never clears on a short count: it consumed nothing.
 * Nothing here allocates, and a successful read or write costs exactly one driver call.
 */
#include <assert.h>
#include <errno.h> /* E* constants only. */

#include <gale/async_fd.h>
#include <gale/driver.h>
#include <gale/error.h>
#include <gale/tcp.h>

#include "net_internal.h"

/* ---- The attempts: one driver call each, typed by what it does with the bytes -------- */

/* A vectored call's array, for reads and writes alike (the array is never written). */
struct stream_iov {
	const struct iovec *iov; /* Borrowed for the attempt. */
	int iov_count;           /* Its entries. */
};

/* Peeks into the unfilled part of a struct gale_read_buf: the poll, the try and the peek
 * future all use this one. */
static ssize_t stream_peek(void *data, struct gale_driver *driver, int fd)
{
	struct gale_read_buf *rb = data;
	return gale_driver_recv(driver, fd, gale_read_buf_unfilled(rb),
				gale_read_buf_remaining(rb), GALE_RECV_PEEK);
}

static ssize_t stream_readv(void *data, struct gale_driver *driver, int fd)
{
	const struct stream_iov *vec = data;
	return gale_driver_readv(driver, fd, vec->iov, vec->iov_count);
}

static ssize_t stream_writev(void *data, struct gale_driver *driver, int fd)
{
	const struct stream_iov *vec = data;
	return gale_driver_writev(driver, fd, vec->iov, vec->iov_count);
}

int gale__tcp_yield(struct gale_cx *cx)
{
	assert(cx != NULL);
	gale_waker_wake(&cx->waker);
	return GALE_PENDING;
}

/*
 * Readiness for a non-blocking attempt, read without storing any waker (a waiter linked
 * and unlinked at once, so no other task's waker slot is touched): 0 with *guard_out to
 * consume, -EAGAIN (not ready), or GALE_E_CLOSED.
 */
static int stream_try_ready(struct gale_tcp_stream *stream, uint32_t interest,
			    struct gale_async_fd_guard *guard_out)
{
	assert(stream != NULL && guard_out != NULL);
	assert(interest == GALE_READY_READ || interest == GALE_READY_WRITE);
	if (!gale__tcp_stream_is_open(stream))
		return GALE_E_CLOSED;
	struct gale_async_fd_ready probe;
	gale_async_fd_ready_init(&probe, gale__tcp_stream_async_fd(stream), interest);
	struct gale_cx cx_none = {gale_waker_none()};
	int rc = gale_async_fd_ready_poll(&probe, &cx_none, guard_out);
	gale_async_fd_ready_deinit(&probe);
	return rc == GALE_PENDING ? -EAGAIN : rc;
}

/* A non-blocking attempt in the general form (peek, vectored): clears only on -EAGAIN. */
static ssize_t stream_try_io(struct gale_tcp_stream *stream, uint32_t interest,
			     gale_async_fd_io_fn *io, void *data)
{
	assert(io != NULL);
	struct gale_async_fd_guard guard;
	int rc = stream_try_ready(stream, interest, &guard);
	if (rc != 0)
		return rc;
	return gale_async_fd_guard_try_io(&guard, io, data);
}

/*
 * The poll path: gale_async_fd_poll_io() observes readiness through the direction's single
 * waker slot, makes the one driver call, and on -EAGAIN clears and polls again (which
 * stores the waker when readiness is gone), all with one reactor lookup per attempt.
 */
static int stream_poll_io(struct gale_tcp_stream *stream, struct gale_cx *cx,
			  enum gale_direction direction, gale_async_fd_io_fn *io, void *data,
			  size_t *len_out)
{
	assert(stream != NULL && cx != NULL);
	assert(io != NULL && len_out != NULL);
	if (!gale__tcp_stream_is_open(stream))
		return GALE_E_CLOSED;
	ssize_t n = 0;
	int rc = gale_async_fd_poll_io(gale__tcp_stream_async_fd(stream), cx, direction,
				       io, data, &n);
	if (rc != 0)
		return rc;
	if (n < 0)
		return (int)n;
	*len_out = (size_t)n;
	return 0;
}

/* ---- Non-blocking attempts ------------------------------------------------------------ */

ssize_t gale_tcp_stream_try_read(struct gale_tcp_stream *stream, void *buf, size_t len)
{
	assert(buf != NULL || len == 0);
	struct gale_async_fd_guard guard;
	int rc = stream_try_ready(stream, GALE_READY_READ, &guard);
	if (rc != 0)
		return rc;
	return gale_async_fd_guard_try_read(&guard, NULL, NULL, buf, len);
}

/* The iovec array of a vectored call: a count in [0, GALE_ASYNC_IO_IOV_MAX] (else -EINVAL,
 * a value the caller passed), and a non-NULL array when it is not empty (asserted). */
static bool iov_count_is_valid(const struct iovec *iov, int iov_count)
{
	if (iov_count < 0 || iov_count > GALE_ASYNC_IO_IOV_MAX)
		return false;
	assert(iov != NULL || iov_count == 0);
	(void)iov;
	return true;
}

ssize_t gale_tcp_stream_try_read_vectored(struct gale_tcp_stream *stream,
					  const struct iovec *iov, int iov_count)
{
	if (!iov_count_is_valid(iov, iov_count))
		return -EINVAL;
	struct stream_iov vec = {iov, iov_count};
	return stream_try_io(stream, GALE_READY_READ, stream_readv, &vec);
}

ssize_t gale_tcp_stream_try_write(struct gale_tcp_stream *stream, const void *buf, size_t len)
{
	assert(buf != NULL || len == 0);
	struct gale_async_fd_guard guard;
	int rc = stream_try_ready(stream, GALE_READY_WRITE, &guard);
	if (rc != 0)
		return rc;
	return gale_async_fd_guard_try_write(&guard, NULL, NULL, buf, len);
}

ssize_t gale_tcp_stream_try_write_vectored(struct gale_tcp_stream *stream,
					   const struct iovec *iov, int iov_count)
{
	if (!iov_count_is_valid(iov, iov_count))
		return -EINVAL;
	struct stream_iov vec = {iov, iov_count};
	return stream_try_io(stream, GALE_READY_WRITE, stream_writev, &vec);
}

ssize_t gale_tcp_stream_try_peek(struct gale_tcp_stream *stream, void *buf, size_t len)
{
	assert(buf != NULL || len == 0);
	struct gale_read_buf rb;
	gale_read_buf_init(&rb, buf, len);
	return stream_try_io(stream, GALE_READY_READ, stream_peek, &rb);
}

/* ---- Poll-style readiness and I/O ----------------------------------------------------- */

/* Observes one direction's readiness and keeps it (nothing was attempted). */
static int stream_poll_ready(struct gale_tcp_stream *stream, struct gale_cx *cx,
			     enum gale_direction direction)
{
	assert(stream != NULL && cx != NULL);
	if (!gale__tcp_stream_is_open(stream))
		return GALE_E_CLOSED;
	struct gale_async_fd *async_fd = gale__tcp_stream_async_fd(stream);
	struct gale_async_fd_guard guard;
	int rc = direction == GALE_DIRECTION_READ
			 ? gale_async_fd_poll_read_ready(async_fd, cx, &guard)
			 : gale_async_fd_poll_write_ready(async_fd, cx, &guard);
	if (rc == 0)
		gale_async_fd_guard_retain_ready(&guard);
	return rc;
}

int gale_tcp_stream_poll_read_ready(struct gale_tcp_stream *stream, struct gale_cx *cx)
{
	return stream_poll_ready(stream, cx, GALE_DIRECTION_READ);
}

int gale_tcp_stream_poll_write_ready(struct gale_tcp_stream *stream, struct gale_cx *cx)
{
	return stream_poll_ready(stream, cx, GALE_DIRECTION_WRITE);
}

/* poll_read: the stream's reader (its AsyncFd's, gale_async_fd_reader) does the typed read,
 * so that a short count may prove the socket drained: one read path, not two. */
int gale_tcp_stream_poll_read(struct gale_tcp_stream *stream, struct gale_cx *cx,
			      struct gale_read_buf *rb)
{
	assert(stream != NULL && rb != NULL);
	assert(rb->len_filled <= rb->cap);
	struct gale_async_read reader = gale_tcp_stream_reader(stream);
	return reader.ops->poll_read(reader.self, cx, rb);
}

/* poll_peek: the general form (a short peek consumed nothing, so it proves nothing). */
int gale_tcp_stream_poll_peek(struct gale_tcp_stream *stream, struct gale_cx *cx,
			      struct gale_read_buf *rb)
{
	assert(rb != NULL);
	assert(rb->len_filled <= rb->cap);
	if (gale_read_buf_is_full(rb))
		return gale__tcp_stream_is_open(stream) ? 0 : GALE_E_CLOSED;
	size_t n = 0;
	int rc = stream_poll_io(stream, cx, GALE_DIRECTION_READ, stream_peek, rb, &n);
	if (rc == 0)
		gale_read_buf_advance(rb, n);
	return rc;
}

static int stream_poll_write(struct gale_tcp_stream *stream, struct gale_cx *cx,
			     const void *buf, size_t len, size_t *len_written_out)
{
	assert(buf != NULL || len == 0);
	assert(len_written_out != NULL);
	*len_written_out = 0;
	if (len == 0)
		return gale__tcp_stream_is_open(stream) ? 0 : GALE_E_CLOSED;
	if (!gale__tcp_stream_is_open(stream))
		return GALE_E_CLOSED;
	return gale_async_fd_poll_write(gale__tcp_stream_async_fd(stream), cx, NULL, NULL, buf,
					len, len_written_out);
}

int gale_tcp_stream_poll_write(struct gale_tcp_stream *stream, struct gale_cx *cx,
			       const void *buf, size_t len, size_t *len_written_out)
{
	return stream_poll_write(stream, cx, buf, len, len_written_out);
}

int gale_tcp_stream_poll_writev(struct gale_tcp_stream *stream, struct gale_cx *cx,
				const struct iovec *iov, int iov_count, size_t *len_written_out)
{
	assert(len_written_out != NULL);
	*len_written_out = 0;
	if (!iov_count_is_valid(iov, iov_count))
		return -EINVAL;
	size_t len_total = 0;
	for (int i = 0; i < iov_count; i++)
		len_total += iov[i].iov_len;
	if (len_total == 0)
		return gale__tcp_stream_is_open(stream) ? 0 : GALE_E_CLOSED;
	struct stream_iov vec = {iov, iov_count};
	return stream_poll_io(stream, cx, GALE_DIRECTION_WRITE, stream_writev, &vec,
			      len_written_out);
}

int gale_tcp_stream_poll_shutdown(struct gale_tcp_stream *stream, struct gale_cx *cx)
{
	assert(stream != NULL && cx != NULL);
	(void)cx; /* Shutting down never waits: no waker to store. */
	if (!gale__tcp_stream_is_open(stream))
		return GALE_E_CLOSED;
	if (stream->priv_is_write_shutdown)
		return 0;
	/* No userspace buffer: every accepted byte is in the kernel, so there is no flush.
	 * A connection already gone is shut down already: 0, never -ENOTCONN. */
	return gale_tcp_stream_shutdown(stream, GALE_SHUTDOWN_WRITE);
}

/* ---- Reader and writer fat pointers --------------------------------------------------- */

/* The writer's entry points do the work themselves rather than call the public functions:
 * one call level less on every write. The reader is the AsyncFd's own (the same checks:
 * a stream is open exactly while its AsyncFd is), which saves one more. */
static int tcp_poll_write(void *self, struct gale_cx *cx, const void *buf, size_t len,
			  size_t *len_written_out)
{
	return stream_poll_write(self, cx, buf, len, len_written_out);
}

static int tcp_poll_writev(void *self, struct gale_cx *cx, const struct iovec *iov,
			   int iov_count, size_t *len_written_out)
{
	return gale_tcp_stream_poll_writev(self, cx, iov, iov_count, len_written_out);
}

static int tcp_poll_flush(void *self, struct gale_cx *cx)
{
	assert(self != NULL && cx != NULL);
	(void)cx; /* Nothing is buffered, so a flush never waits. */
	/* Flushing a closed stream reports it, like every other operation. */
	return gale__tcp_stream_is_open(self) ? 0 : GALE_E_CLOSED;
}

static int tcp_poll_shutdown(void *self, struct gale_cx *cx)
{
	return gale_tcp_stream_poll_shutdown(self, cx);
}

static const struct gale_async_write_ops tcp_write_ops = {
	.abi_version = GALE_ASYNC_IO_ABI_VERSION,
	.name = "tcp",
	.poll_write = tcp_poll_write,
	.poll_writev = tcp_poll_writev,
	.poll_flush = tcp_poll_flush,
	.poll_shutdown = tcp_poll_shutdown,
};

struct gale_async_read gale_tcp_stream_reader(struct gale_tcp_stream *stream)
{
	assert(stream != NULL);
	return gale_async_fd_reader(gale__tcp_stream_async_fd(stream));
}

struct gale_async_write gale_tcp_stream_writer(struct gale_tcp_stream *stream)
{
	assert(stream != NULL);
	struct gale_async_write writer = {&tcp_write_ops, stream};
	return writer;
}

struct gale_async_stream gale_tcp_stream_async_stream(struct gale_tcp_stream *stream)
{
	struct gale_async_stream both = {gale_tcp_stream_reader(stream),
					 gale_tcp_stream_writer(stream)};
	return both;
}

/* ---- ready futures -------------------------------------------------------------------- */

void gale_tcp_ready_init(struct gale_tcp_ready *future, struct gale_tcp_stream *stream,
			 uint32_t interest)
{
	assert(future != NULL && stream != NULL);
	/* An interest other than READ and/or WRITE is kept: the poll returns -EINVAL. */
	future->priv_stream = stream;
	gale_async_fd_ready_init(&future->priv_ready, gale__tcp_stream_async_fd(stream), interest);
}

void gale_tcp_readable_init(struct gale_tcp_ready *future, struct gale_tcp_stream *stream)
{
	gale_tcp_ready_init(future, stream, GALE_READY_READ);
}

void gale_tcp_writable_init(struct gale_tcp_ready *future, struct gale_tcp_stream *stream)
{
	gale_tcp_ready_init(future, stream, GALE_READY_WRITE);
}

int gale_tcp_ready_poll(struct gale_tcp_ready *future, struct gale_cx *cx, uint32_t *ready_out)
{
	assert(future != NULL && future->priv_stream != NULL);
	assert(cx != NULL);
	if (!gale__tcp_stream_is_open(future->priv_stream))
		return GALE_E_CLOSED;
	struct gale_async_fd_guard guard;
	int rc = gale_async_fd_ready_poll(&future->priv_ready, cx, &guard);
	if (rc != 0)
		return rc;
	if (ready_out != NULL)
		*ready_out = gale_async_fd_guard_ready(&guard);
	/* Kept: the _try_* call that follows is what may observe -EAGAIN and clear. */
	gale_async_fd_guard_retain_ready(&guard);
	return 0;
}

/* False when a future's stream was never opened (a zeroed runtime pointer): then nothing
 * was linked and deinit has nothing to undo. */
static bool future_stream_was_opened(const struct gale_tcp_stream *stream)
{
	return stream != NULL && gale_tcp_stream_runtime(stream) != NULL;
}

void gale_tcp_ready_deinit(struct gale_tcp_ready *future)
{
	assert(future != NULL);
	if (future_stream_was_opened(future->priv_stream))
		gale_async_fd_ready_deinit(&future->priv_ready);
}

/* ---- peek future ---------------------------------------------------------------------- */

void gale_tcp_peek_init(struct gale_tcp_peek *future, struct gale_tcp_stream *stream, void *buf,
			size_t len)
{
	assert(future != NULL && stream != NULL);
	assert(buf != NULL || len == 0);
	future->priv_stream = stream;
	gale_read_buf_init(&future->priv_rb, buf, len);
	gale_async_fd_io_init(&future->priv_io, gale__tcp_stream_async_fd(stream), GALE_READY_READ,
			      stream_peek, &future->priv_rb);
}

int gale_tcp_peek_poll(struct gale_tcp_peek *future, struct gale_cx *cx, size_t *len_peeked_out)
{
	assert(future != NULL && cx != NULL);
	assert(len_peeked_out != NULL);
	*len_peeked_out = 0;
	if (!gale__tcp_stream_is_open(future->priv_stream))
		return GALE_E_CLOSED;
	int rc = gale_async_fd_io_poll(&future->priv_io, cx);
	if (rc != 0)
		return rc;
	if (future->priv_io.result < 0)
		return (int)future->priv_io.result;
	*len_peeked_out = (size_t)future->priv_io.result;
	return 0;
}

void gale_tcp_peek_deinit(struct gale_tcp_peek *future)
{
	assert(future != NULL);
	if (future_stream_was_opened(future->priv_stream))
		gale_async_fd_io_deinit(&future->priv_io);
}
