/* SPDX-License-Identifier: MIT */
/*
 * write_all (one buffer or an iovec array), flush and shutdown: caller-allocated futures
 * over a writer with explicit cursors (seed 001, Tokio's WriteAll, Flush, Shutdown).
 */
#ifndef GALE_IO_WRITE_ALL_H
#define GALE_IO_WRITE_ALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <gale/async_io.h>
#include <gale/common.h>
#include <gale/task.h>

GALE_BEGIN_DECLS

/* ---- write_all ---- */

struct gale_write_all {
	struct gale_async_write writer; /* Borrowed until the future completes or is dropped. */
	const uint8_t *buf;             /* Source, borrowed likewise. */
	size_t len;                     /* Bytes to write. */
	size_t len_written;             /* Cursor: buf[0, len_written) was accepted. */
	/* Private: do not touch. */
	bool priv_done; /* Completed: polling again is a programmer error. */
};

/**
 * Prepares a write of every byte of buf[0, len). Allocates nothing, calls nothing.
 * @param writer  borrowed until the future completes or is dropped.
 * @param buf     borrowed likewise; NULL only when len == 0.
 */
GALE_EXTERN void gale_write_all_init(struct gale_write_all *future,
				     struct gale_async_write writer, const void *buf, size_t len);

/**
 * Writes buf[len_written, len) until every byte is accepted, retrying partial writes in
 * the same poll and resuming from len_written after GALE_PENDING. An empty buffer
 * completes at once without calling the writer. Does not flush.
 *
 * @return 0 (len_written == len);
 *         GALE_PENDING (forwarded from the writer, which stored cx's waker);
 *         GALE_E_WRITE_ZERO when a write of the non-empty remainder accepts 0 bytes;
 *         any other negative code of the writer, unchanged (-EPIPE, ...).
 *         len_written tells how much was accepted before a failure.
 * A future that returned anything but GALE_PENDING is complete; polling it again asserts.
 *
 * Cancel safety: no. A prefix of buf may already be written; a caller that drops the
 * future cannot know how much unless it reads len_written first.
 */
GALE_EXTERN int gale_write_all_poll(struct gale_write_all *future, struct gale_cx *cx);

/* ---- write_all over an iovec array ---- */

/* The most iovecs handed to one vectored write (a local window, bounded stack use). */
#define GALE_WRITE_ALL_IOV_WINDOW 16

struct gale_write_all_vectored {
	struct gale_async_write writer; /* Borrowed until the future completes or is dropped. */
	const struct iovec *iov;        /* The caller's array: borrowed likewise, never modified. */
	int iov_count;                  /* Entries in iov. */
	int iov_index;                  /* Cursor: first entry not fully written. */
	size_t iov_offset;              /* Cursor: bytes of iov[iov_index] already written. */
	uint64_t len_written;           /* Total bytes accepted so far. */
	/* Private: do not touch. */
	bool priv_done; /* Completed: polling again is a programmer error. */
};

/**
 * Prepares a write of every byte of iov[0, iov_count) in order. The array and the bytes
 * it points to are borrowed until the future completes or is dropped; the array is never
 * written to, so it may be const storage or shared with other futures.
 * @param iov_count  0 <= iov_count; iov may be NULL when it is 0. A negative count makes
 *                   the first poll return -EINVAL.
 */
GALE_EXTERN void gale_write_all_vectored_init(struct gale_write_all_vectored *future,
					      struct gale_async_write writer,
					      const struct iovec *iov, int iov_count);

/**
 * Writes the remaining bytes. Each attempt builds a local window of at most
 * GALE_WRITE_ALL_IOV_WINDOW iovecs starting at the cursor (the first one trimmed by
 * iov_offset) and passes it to gale_async_write_poll_vectored(), so writers without a
 * vectored write get one buffer at a time. After each partial write the cursor
 * (iov_index, iov_offset) advances across entries; empty entries are skipped. An array
 * with no bytes completes at once without calling the writer.
 *
 * @return 0 (every byte written), GALE_PENDING (forwarded), GALE_E_WRITE_ZERO (a write of
 *         a non-empty window accepted 0 bytes), -EINVAL (iov_count < 0; nothing written),
 *         or the writer's negative code unchanged.
 * Cancel safety: no, as gale_write_all_poll(); len_written and the cursor tell how much
 * was written.
 */
GALE_EXTERN int gale_write_all_vectored_poll(struct gale_write_all_vectored *future,
					     struct gale_cx *cx);

/* ---- flush and shutdown ---- */

struct gale_write_flush {
	struct gale_async_write writer; /* Borrowed until the future completes or is dropped. */
	/* Private: do not touch. */
	bool priv_done; /* Completed: polling again is a programmer error. */
};

/** Prepares a flush of writer (borrowed until completion or drop). */
GALE_EXTERN void gale_write_flush_init(struct gale_write_flush *future,
				       struct gale_async_write writer);

/**
 * @return 0 (flushed), GALE_PENDING (forwarded; waker stored), or the writer's code.
 * Cancel safety: yes. The future holds no progress of its own: the writer keeps what
 * was flushed, and a new flush continues from there.
 */
GALE_EXTERN int gale_write_flush_poll(struct gale_write_flush *future, struct gale_cx *cx);

struct gale_write_shutdown {
	struct gale_async_write writer; /* Borrowed until the future completes or is dropped. */
	/* Private: do not touch. */
	bool priv_done; /* Completed: polling again is a programmer error. */
};

/** Prepares a shutdown of writer's write side (borrowed until completion or drop). */
GALE_EXTERN void gale_write_shutdown_init(struct gale_write_shutdown *future,
					  struct gale_async_write writer);

/**
 * Shuts the write side down; implies flush (no separate flush needed before).
 * @return 0 (flushed, write side closed: the peer reads EOF after the last byte; the read
 *         side of the same object keeps working), GALE_PENDING (forwarded), or the writer's
 *         negative code.
 * Cancel safety: yes. The shutdown state lives in the writer; polling a new shutdown
 * future continues it.
 */
GALE_EXTERN int gale_write_shutdown_poll(struct gale_write_shutdown *future,
					 struct gale_cx *cx);

GALE_END_DECLS

#endif /* GALE_IO_WRITE_ALL_H */
