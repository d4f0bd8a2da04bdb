/* SPDX-License-Identifier: MIT */
/*
 * TcpStream I/O paths (tcp.h): non-blocking attempts, poll-style reads and writes, the
 * reader/writer fat pointers, and the ready and peek futures.
 *
 * The edge-triggered rule lives in two places, stream_try_io() (an AsyncFd guard) and
 * stream_poll_io() (gale_async_fd_poll_io()): observe readiness, make exactly one driver
 * call, and clear readiness only when that call says -EAGAIN (it stays set otherwise,
 * short counts included). Nothing here allocates, and a successful read or write costs
 * exactly one driver call.
 */
#include <assert.h>
#include <errno.h> /* E* constants only. */

#include <gale/async_fd.h>
#include <gale/driver.h>
#include <gale/error.h>
#include <gale/tcp.h>

#include "net_internal.h"

enum stream_op_kind {
	STREAM_OP_READ,
	STREAM_OP_READV,
	STREAM_OP_PEEK,
	STREAM_OP_WRITE,
	STREAM_OP_WRITEV,
};

/* One driver call, described so the guard's try_io can run it. */
struct stream_op {
	enum stream_op_kind kind; /* Which driver call. */
	void *buf;                /* READ/PEEK destination; WRITE source (cast back to const). */
	size_t len;               /* Bytes of buf. */
	const struct iovec *iov;  /* READV/WRITEV array. */
	int iov_count;            /* Its entries. */
};

/* gale_async_fd_io_fn for each kind: runs the described call once. One function per kind
 * rather than a switch, so the per-byte path dispatches once (the io pointer). */
static ssize_t stream_op_read(void *data, struct gale_driver *driver, int fd)
{
	const struct stream_op *op = data;
	return gale_driver_read(driver, fd, op->buf, op->len);
}

static ssize_t stream_op_readv(void *data, struct gale_driver *driver, int fd)
{
	const struct stream_op *op = data;
	return gale_driver_readv(driver, fd, op->iov, op->iov_count);
}

static ssize_t stream_op_peek(void *data, struct gale_driver *driver, int fd)
{
	const struct stream_op *op = data;
	return gale_driver_recv(driver, fd, op->buf, op->len, GALE_RECV_PEEK);
}

static ssize_t stream_op_write(void *data, struct gale_driver *driver, int fd)
{
	const struct stream_op *op = data;
	return gale_driver_write(driver, fd, op->buf, op->len);
}

static ssize_t stream_op_writev(void *data, struct gale_driver *driver, int fd)
{
	const struct stream_op *op = data;
	return gale_driver_writev(driver, fd, op->iov, op->iov_count);
}

static gale_async_fd_io_fn *const stream_op_fns[] = {
	[STREAM_OP_READ] = stream_op_read,   [STREAM_OP_READV] = stream_op_readv,
	[STREAM_OP_PEEK] = stream_op_peek,   [STREAM_OP_WRITE] = stream_op_write,
	[STREAM_OP_WRITEV] = stream_op_writev,
};

/* The io function for op's kind. */
static gale_async_fd_io_fn *stream_op_fn(const struct stream_op *op)
{
	assert(op != NULL);
	assert((size_t)op->kind < sizeof(stream_op_fns) / sizeof(stream_op_fns[0]));
	return stream_op_fns[op->kind];
}

int gale__tcp_yield(struct gale_cx *cx)
{
	assert(cx != NULL);
	gale_waker_wake(&cx->waker);
	return GALE_PENDING;
}

/*
 * A non-blocking attempt: readiness is read without storing any waker (a waiter linked
 * and unlinked at once, so no other task's waker slot is touched), then one driver call.
 */
static ssize_t stream_try_io(struct gale_tcp_stream *stream, uint32_t interest,
			     const struct stream_op *op)
{
	assert(stream != NULL && op != NULL);
	assert(interest == GALE_READY_READ || interest == GALE_READY_WRITE);
	if (!gale__tcp_stream_is_open(stream))
		return GALE_E_CLOSED;
	struct gale_async_fd_ready probe;
	gale_async_fd_ready_init(&probe, gale__tcp_stream_async_fd(stream), interest);
	struct gale_cx cx_none = {gale_waker_none()};
	struct gale_async_fd_guard guard;
	int rc = gale_async_fd_ready_poll(&probe, &cx_none, &guard);
	gale_async_fd_ready_deinit(&probe);
	if (rc == GALE_PENDING)
		return -EAGAIN;
	if (rc < 0)
		return rc;
	/* try_io clears the observed readiness on -EAGAIN and keeps it otherwise. */
	return gale_async_fd_guard_try_io(&guard, stream_op_fn(op), (void *)op);
}

/*
 * The poll path: gale_async_fd_poll_io() observes readiness through the direction's single
 * waker slot, makes the one driver call, and on -EAGAIN clears and polls again (which
 * stores the waker when readiness is gone), all with one reactor lookup per attempt.
 */
static int stream_poll_io(struct gale_tcp_stream *stream, struct gale_cx *cx,
			  enum gale_direction direction, const struct stream_op *op,
			  size_t *len_out)
{
	assert(stream != NULL && cx != NULL);
	assert(op != NULL && len_out != NULL);
	if (!gale__tcp_stream_is_open(stream))
		return GALE_E_CLOSED;
	ssize_t n = 0;
	int rc = gale_async_fd_poll_io(gale__tcp_stream_async_fd(stream), cx, direction,
				       stream_op_fn(op), (void *)op, &n);
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
	struct stream_op op = {.kind = STREAM_OP_READ, .buf = buf, .len = len};
	return stream_try_io(stream, GALE_READY_READ, &op);
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
	struct stream_op op = {.kind = STREAM_OP_READV, .iov = iov, .iov_count = iov_count};
	return stream_try_io(stream, GALE_READY_READ, &op);
}

ssize_t gale_tcp_stream_try_write(struct gale_tcp_stream *stream, const void *buf, size_t len)
{
	assert(buf != NULL || len == 0);
	/* The op struct is shared with reads; the driver call takes it back as const. */
	struct stream_op op = {.kind = STREAM_OP_WRITE, .buf = (void *)buf, .len = len};
	return stream_try_io(stream, GALE_READY_WRITE, &op);
}

ssize_t gale_tcp_stream_try_write_vectored(struct gale_tcp_stream *stream,
					   const struct iovec *iov, int iov_count)
{
	if (!iov_count_is_valid(iov, iov_count))
		return -EINVAL;
	struct stream_op op = {.kind = STREAM_OP_WRITEV, .iov = iov, .iov_count = iov_count};
	return stream_try_io(stream, GALE_READY_WRITE, &op);
}

ssize_t gale_tcp_stream_try_peek(struct gale_tcp_stream *stream, void *buf, size_t len)
{
	assert(buf != NULL || len == 0);
	struct stream_op op = {.kind = STREAM_OP_PEEK, .buf = buf, .len = len};
	return stream_try_io(stream, GALE_READY_READ, &op);
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

/* poll_read and poll_peek: the same path, one flag apart. */
static int stream_poll_into(struct gale_tcp_stream *stream, struct gale_cx *cx,
			    struct gale_read_buf *rb, enum stream_op_kind kind)
{
	assert(rb != NULL);
	assert(rb->len_filled <= rb->cap);
	/* A full buffer reads nothing and means nothing: no syscall for it (but a closed
	 * stream still says so). */
	if (gale_read_buf_is_full(rb))
		return gale__tcp_stream_is_open(stream) ? 0 : GALE_E_CLOSED;
	struct stream_op op = {.kind = kind,
			       .buf = gale_read_buf_unfilled(rb),
			       .len = gale_read_buf_remaining(rb)};
	size_t n = 0;
	int rc = stream_poll_io(stream, cx, GALE_DIRECTION_READ, &op, &n);
	if (rc == 0)
		gale_read_buf_advance(rb, n);
	return rc;
}

int gale_tcp_stream_poll_read(struct gale_tcp_stream *stream, struct gale_cx *cx,
			      struct gale_read_buf *rb)
{
	return stream_poll_into(stream, cx, rb, STREAM_OP_READ);
}

int gale_tcp_stream_poll_peek(struct gale_tcp_stream *stream, struct gale_cx *cx,
			      struct gale_read_buf *rb)
{
	return stream_poll_into(stream, cx, rb, STREAM_OP_PEEK);
}

static int stream_poll_write(struct gale_tcp_stream *stream, struct gale_cx *cx,
			     const void *buf, size_t len, size_t *len_written_out)
{
	assert(buf != NULL || len == 0);
	assert(len_written_out != NULL);
	*len_written_out = 0;
	if (len == 0)
		return gale__tcp_stream_is_open(stream) ? 0 : GALE_E_CLOSED;
	struct stream_op op = {.kind = STREAM_OP_WRITE, .buf = (void *)buf, .len = len};
	return stream_poll_io(stream, cx, GALE_DIRECTION_WRITE, &op, len_written_out);
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
	struct stream_op op = {.kind = STREAM_OP_WRITEV, .iov = iov, .iov_count = iov_count};
	return stream_poll_io(stream, cx, GALE_DIRECTION_WRITE, &op, len_written_out);
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

/* The fat pointers' entry points do the work themselves rather than call the public
 * functions: one call level less on every read and write. */
static int tcp_poll_read(void *self, struct gale_cx *cx, struct gale_read_buf *rb)
{
	return stream_poll_into(self, cx, rb, STREAM_OP_READ);
}

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

static const struct gale_async_read_ops tcp_read_ops = {
	.abi_version = GALE_ASYNC_IO_ABI_VERSION,
	.name = "tcp",
	.poll_read = tcp_poll_read,
};

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
	struct gale_async_read reader = {&tcp_read_ops, stream};
	return reader;
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

void gale_tcp_ready_deinit(struct gale_tcp_ready *future)
{
	assert(future != NULL);
	/* A zeroed runtime pointer means the stream was never opened: nothing was linked. */
	if (future->priv_stream == NULL || gale_tcp_stream_runtime(future->priv_stream) == NULL)
		return;
	gale_async_fd_ready_deinit(&future->priv_ready);
}

/* ---- peek future ---------------------------------------------------------------------- */

static ssize_t stream_peek_run(void *data, struct gale_driver *driver, int fd)
{
	struct gale_tcp_peek *future = data;
	assert(future != NULL && driver != NULL);
	return gale_driver_recv(driver, fd, future->priv_buf, future->priv_len, GALE_RECV_PEEK);
}

void gale_tcp_peek_init(struct gale_tcp_peek *future, struct gale_tcp_stream *stream, void *buf,
			size_t len)
{
	assert(future != NULL && stream != NULL);
	assert(buf != NULL || len == 0);
	future->priv_stream = stream;
	future->priv_buf = buf;
	future->priv_len = len;
	gale_async_fd_io_init(&future->priv_io, gale__tcp_stream_async_fd(stream), GALE_READY_READ,
			      stream_peek_run, future);
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
	if (future->priv_stream == NULL || gale_tcp_stream_runtime(future->priv_stream) == NULL)
		return;
	gale_async_fd_io_deinit(&future->priv_io);
}
