/* SPDX-License-Identifier: MIT */
/* A reader/writer over an AsyncFd (readiness + try_io), for the fuzz targets' transfers. */
#include <assert.h>
#include <errno.h>

#include <gale/error.h>

#include "fuzz_fd_stream.h"

/* What one attempt moves: a buffer, or an iovec array for writev. */
struct io_args {
	void *buf;               /* read / write buffer. */
	size_t len;              /* Its length. */
	const struct iovec *iov; /* writev: the array (NULL otherwise). */
	int iov_count;           /* writev: entries. */
};

static ssize_t io_read(void *data, struct gale_driver *driver, int fd)
{
	struct io_args *args = data;
	return gale_driver_read(driver, fd, args->buf, args->len);
}

static ssize_t io_write(void *data, struct gale_driver *driver, int fd)
{
	struct io_args *args = data;
	if (args->iov != NULL)
		return gale_driver_writev(driver, fd, args->iov, args->iov_count);
	return gale_driver_write(driver, fd, args->buf, args->len);
}

/*
 * The edge-triggered loop: wait for readiness, try once; -EAGAIN cleared the readiness
 * (try_io did), so poll again, which stores the waker and returns GALE_PENDING unless an
 * event arrived meanwhile. Any other answer, short counts included, keeps the readiness.
 */
static int stream_try(struct fuzz_fd_stream *stream, struct gale_cx *cx, bool is_write,
		      gale_async_fd_io_fn *io, struct io_args *args, size_t *n_out)
{
	assert(stream != NULL && n_out != NULL);
	*n_out = 0;
	for (;;) {
		struct gale_async_fd_guard guard;
		int rc = is_write ? gale_async_fd_poll_write_ready(&stream->async_fd, cx, &guard)
				  : gale_async_fd_poll_read_ready(&stream->async_fd, cx, &guard);
		if (rc != 0)
			return rc;
		ssize_t n = gale_async_fd_guard_try_io(&guard, io, args);
		if (n == -EAGAIN) {
			stream->eagain_count++;
			continue;
		}
		if (n < 0)
			return (int)n;
		*n_out = (size_t)n;
		return 0;
	}
}

static int stream_poll_read(void *self, struct gale_cx *cx, struct gale_read_buf *rb)
{
	struct fuzz_fd_stream *stream = self;
	assert(rb != NULL);
	if (gale_read_buf_is_full(rb))
		return 0;
	struct io_args args = {gale_read_buf_unfilled(rb), gale_read_buf_remaining(rb), NULL, 0};
	size_t n;
	int rc = stream_try(stream, cx, false, io_read, &args, &n);
	if (rc == 0)
		gale_read_buf_advance(rb, n);
	return rc;
}

static int stream_poll_write(void *self, struct gale_cx *cx, const void *buf, size_t len,
			     size_t *len_written_out)
{
	struct fuzz_fd_stream *stream = self;
	assert(len_written_out != NULL);
	*len_written_out = 0;
	if (len == 0)
		return 0;
	struct io_args args = {(void *)buf, len, NULL, 0};
	return stream_try(stream, cx, true, io_write, &args, len_written_out);
}

static int stream_poll_writev(void *self, struct gale_cx *cx, const struct iovec *iov,
			      int iov_count, size_t *len_written_out)
{
	struct fuzz_fd_stream *stream = self;
	assert(len_written_out != NULL);
	*len_written_out = 0;
	size_t total = 0;
	for (int i = 0; i < iov_count; i++)
		total += iov[i].iov_len;
	if (total == 0)
		return 0;
	struct io_args args = {NULL, total, iov, iov_count};
	return stream_try(stream, cx, true, io_write, &args, len_written_out);
}

static int stream_poll_flush(void *self, struct gale_cx *cx)
{
	(void)self; /* Sockets buffer in the kernel: nothing to flush here. */
	(void)cx;
	return 0;
}

static int stream_poll_shutdown(void *self, struct gale_cx *cx)
{
	struct fuzz_fd_stream *stream = self;
	(void)cx; /* shutdown(2) never blocks. */
	if (stream->write_shut)
		return 0;
	struct gale_runtime *runtime = gale_async_fd_runtime(&stream->async_fd);
	int rc = gale_driver_shutdown(gale_runtime_driver(runtime),
				      gale_async_fd_fd(&stream->async_fd), GALE_SHUTDOWN_WRITE);
	if (rc == 0)
		stream->write_shut = true;
	return rc;
}

static const struct gale_async_read_ops stream_read_ops = {
	.abi_version = GALE_ASYNC_IO_ABI_VERSION,
	.name = "fuzz_fd_stream",
	.poll_read = stream_poll_read,
};

static const struct gale_async_write_ops stream_write_ops = {
	.abi_version = GALE_ASYNC_IO_ABI_VERSION,
	.name = "fuzz_fd_stream",
	.poll_write = stream_poll_write,
	.poll_writev = stream_poll_writev,
	.poll_flush = stream_poll_flush,
	.poll_shutdown = stream_poll_shutdown,
};

int fuzz_fd_stream_init(struct fuzz_fd_stream *stream, struct gale_runtime *runtime, int fd)
{
	assert(stream != NULL && runtime != NULL);
	stream->write_shut = false;
	stream->eagain_count = 0;
	return gale_async_fd_init(&stream->async_fd, runtime, fd);
}

int fuzz_fd_stream_close(struct fuzz_fd_stream *stream)
{
	assert(stream != NULL);
	return gale_async_fd_close(&stream->async_fd);
}

struct gale_async_read fuzz_fd_stream_reader(struct fuzz_fd_stream *stream)
{
	assert(stream != NULL);
	struct gale_async_read reader = {&stream_read_ops, stream};
	return reader;
}

struct gale_async_write fuzz_fd_stream_writer(struct fuzz_fd_stream *stream)
{
	assert(stream != NULL);
	struct gale_async_write writer = {&stream_write_ops, stream};
	return writer;
}
