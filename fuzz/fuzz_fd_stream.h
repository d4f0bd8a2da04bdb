/* SPDX-License-Identifier: MIT */
/*
 * A byte stream over an AsyncFd, for the fuzz targets that run read_exact / write_all on
 * real or simulated socketpairs: the Tokio pattern (poll readiness, try_io, -EAGAIN clears
 * readiness and polls again) behind the gale_async_read / gale_async_write interfaces.
 * Harness code: it exists because the targets must not depend on net/ (TCP), and it keeps
 * the guard protocol honest (every guard consumed by try_io).
 */
#ifndef GALE_FUZZ_FUZZ_FD_STREAM_H
#define GALE_FUZZ_FUZZ_FD_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include <gale/async_fd.h>
#include <gale/async_io.h>
#include <gale/rt.h>

struct fuzz_fd_stream {
	struct gale_async_fd async_fd; /* Owns the fd. */
	bool write_shut;               /* poll_shutdown succeeded. */
	uint64_t eagain_count;         /* -EAGAIN answers seen (readiness cleared after each). */
};

/* Wraps fd (ownership transferred on success). @return gale_async_fd_init's result. */
int fuzz_fd_stream_init(struct fuzz_fd_stream *stream, struct gale_runtime *runtime, int fd);

/* Deregisters and closes the fd. @return gale_async_fd_close's result. */
int fuzz_fd_stream_close(struct fuzz_fd_stream *stream);

/* The stream as a reader (borrows stream). */
struct gale_async_read fuzz_fd_stream_reader(struct fuzz_fd_stream *stream);

/* The stream as a vectored writer (borrows stream); shutdown is shutdown(SHUT_WR). */
struct gale_async_write fuzz_fd_stream_writer(struct fuzz_fd_stream *stream);

#endif /* GALE_FUZZ_FUZZ_FD_STREAM_H */
