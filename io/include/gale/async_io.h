/* SPDX-License-Identifier: MIT */
/*
 * Readers and writers: the poll-based byte-stream interfaces (Tokio's AsyncRead and
 * AsyncWrite) as fat pointers {ops, self}, and the read buffer they fill.
 *
 * Contract shared by every poll function here (seeds 000 and 001):
 *   - No poll ever blocks the thread. An object that cannot make progress now returns
 *     GALE_PENDING; it never waits, and it never turns "would block" into an error.
 *   - A poll returns 0 (ready; out-params set), GALE_PENDING, or a negative code
 *     (-errno or GALE_E_*). GALE_PENDING is allowed ONLY after the implementation arranged
 *     for cx->waker to be woken when the call can make progress (Future::poll's contract).
 *     A caller that forwards a GALE_PENDING it received from an inner poll keeps the
 *     contract, because the inner poll stored the waker.
 *   - GALE_PENDING and errors move no bytes: "NotReady means that no data was written from
 *     the buffer provided", and a failed read adds nothing to the buffer.
 *   - Reads and writes may be partial: any count from 1 to the space offered is normal,
 *     and callers keep an explicit cursor (see read_exact.h and write_all.h).
 *   - A read that completes having added 0 bytes to a buffer with free space means end of
 *     stream (EOF). A read into a full buffer adds 0 bytes and means nothing.
 *   - A write that completes returns n <= len. A write of a non-empty buffer that completes
 *     with n == 0 means the object cannot accept more bytes (write_all turns it into
 *     GALE_E_WRITE_ZERO).
 *   - Polls happen inside a task: cx carries the waker to store. A cx holding
 *     gale_waker_none() is allowed (hand-driven code), but a GALE_PENDING then wakes
 *     nobody and the caller must poll again on its own.
 *   - Shutdown implies flush: once poll_shutdown is ready, every byte written before it
 *     was flushed, the write side is closed (later writes fail; callers should not write
 *     after shutting down), the peer reads EOF after the last byte, and this call will
 *     not wake the task again. The read side of an object that is both reader and writer
 *     is not affected: it keeps reading until the peer shuts down its own write side.
 *     GALE_PENDING means the shutdown started and needs more I/O (for example a protocol's
 *     closing handshake); an error means it failed and the object is usually unusable.
 *     Shutting down what is closed already is no failure: a write side whose connection
 *     is gone (the peer reset it, or both sides finished) reports 0, not -ENOTCONN
 *     (Tokio PR #7290), and a second shutdown reports 0 again. gale's TCP streams do so.
 *   - A writer that wraps another writer (TLS, compression, framing) runs its own closing
 *     logic in poll_shutdown and then shuts the wrapped writer down: shutting a wrapper
 *     down shuts down the whole stack beneath it.
 * Call sites use the gale_async_read_poll() / gale_async_write_poll*() wrappers, never
 * ops->x directly: the wrappers check the contract (the reader fills the caller's buffer
 * and no other, n <= len, filled never shrinks, Pending moves nothing) so a broken
 * implementation fails at the call that broke it.
 * These checks are cheap and stay in EVERY build type, NDEBUG included (they are not
 * assert()s): a broken implementation prints "gale: contract broken: <what>" on stderr
 * and aborts (error.h states the rule).
 *
 * Thread affinity: an object and its fat pointers belong to one thread at a time.
 */
#ifndef GALE_IO_ASYNC_IO_H
#define GALE_IO_ASYNC_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <gale/common.h>
#include <gale/task.h>

GALE_BEGIN_DECLS

/* Append-only: bump when ops are added at the end of the ops structs below. */
#define GALE_ASYNC_IO_ABI_VERSION 1u

/* The most iovecs one vectored write may carry (Linux's IOV_MAX). */
#define GALE_ASYNC_IO_IOV_MAX 1024

/*
 * The buffer a read fills: bytes [0, len_filled) of buf are filled, [len_filled, cap)
 * are free. A reader appends at len_filled and never touches the filled part, so a
 * caller can keep one read buffer across several polls and partial reads (the cursor).
 */
struct gale_read_buf {
	uint8_t *buf;      /* Borrowed storage; may be NULL only when cap == 0. */
	size_t cap;        /* Size of buf in bytes. */
	size_t len_filled; /* Bytes filled so far; always <= cap. */
};

/** Points rb at buf[0, cap) with nothing filled. buf is borrowed while rb is used. */
static inline void gale_read_buf_init(struct gale_read_buf *rb, void *buf, size_t cap)
{
	rb->buf = (uint8_t *)buf;
	rb->cap = cap;
	rb->len_filled = 0;
}

/** Free bytes: cap - len_filled. */
static inline size_t gale_read_buf_remaining(const struct gale_read_buf *rb)
{
	return rb->cap - rb->len_filled;
}

/** True when no byte is free (a read then adds 0 bytes without meaning EOF). */
static inline bool gale_read_buf_is_full(const struct gale_read_buf *rb)
{
	return rb->len_filled == rb->cap;
}

/** Where the next byte goes: buf + len_filled. */
static inline uint8_t *gale_read_buf_unfilled(const struct gale_read_buf *rb)
{
	return rb->buf + rb->len_filled;
}

/**
 * Marks n more bytes filled, after the caller wrote them at gale_read_buf_unfilled().
 * Contract (checked in every build type; aborts): n <= gale_read_buf_remaining(rb).
 */
GALE_EXTERN void gale_read_buf_advance(struct gale_read_buf *rb, size_t n);

/**
 * Copies len bytes from src to the unfilled part and advances. src is borrowed for the
 * call. Contract (checked in every build type; aborts): len fits.
 */
GALE_EXTERN void gale_read_buf_put(struct gale_read_buf *rb, const void *src, size_t len);

/* ---- Reader ---- */

struct gale_async_read_ops {
	uint32_t abi_version; /* GALE_ASYNC_IO_ABI_VERSION. */
	const char *name;     /* "duplex", "mock", "async_fd": for messages and traces. */
	/*
	 * REQUIRED. Reads into the unfilled part of rb and advances rb->len_filled.
	 * Returns 0 (ready: len_filled grew by n >= 0; n == 0 with free space is EOF),
	 * GALE_PENDING (nothing read; cx->waker stored and woken when data or EOF arrive),
	 * or a negative code (nothing read). rb and cx are borrowed for the call.
	 */
	int (*poll_read)(void *self, struct gale_cx *cx, struct gale_read_buf *rb);
};

/* A reader: copy it freely; it borrows self, which must outlive every copy in use. */
struct gale_async_read {
	const struct gale_async_read_ops *ops; /* static const table. */
	void *self;                            /* The object. Borrowed. */
};

/**
 * Polls a reader (the only way call sites read). Checks, in every build type, that the
 * implementation kept the contract, and aborts with a message naming the reader if not:
 * the result is 0, GALE_PENDING or negative; rb still points at the caller's buffer with
 * the same cap (a reader that swapped in its own buffer would leave the caller's bytes
 * unwritten); on ready len_filled did not shrink and stays <= cap; on GALE_PENDING or an
 * error len_filled did not move. Also checks the ops' abi_version.
 *
 * @param reader  the reader; its object is borrowed for the call. NULL ops: asserted.
 * @param cx      borrowed; its waker is stored by the reader when GALE_PENDING is returned.
 * @param rb      borrowed for the call; must have rb->len_filled <= rb->cap and a non-NULL
 *                buf when cap > 0 (checked in every build type; aborts).
 * @return 0 (rb->len_filled grew by the bytes read; no growth with free space is EOF),
 *         GALE_PENDING, or the reader's negative code (-ECONNRESET, GALE_E_MOCK, ...).
 */
GALE_EXTERN int gale_async_read_poll(struct gale_async_read reader, struct gale_cx *cx,
				     struct gale_read_buf *rb);

/* ---- Writer ---- */

struct gale_async_write_ops {
	uint32_t abi_version; /* GALE_ASYNC_IO_ABI_VERSION. */
	const char *name;     /* "duplex", "mock", "tcp". */
	/*
	 * REQUIRED. Writes up to len bytes of buf (buf may be NULL only when len == 0).
	 * Returns 0 with *len_written_out = n <= len, GALE_PENDING (nothing written; waker
	 * stored, woken when the object becomes writable or is closed), or a negative code
	 * (nothing written; -EPIPE after the peer closed or after this side shut down).
	 */
	int (*poll_write)(void *self, struct gale_cx *cx, const void *buf, size_t len,
			  size_t *len_written_out);
	/*
	 * Optional (NULL: gale_async_write_poll_vectored() writes the first non-empty iovec
	 * through poll_write, as Tokio's default poll_write_vectored does). Like poll_write
	 * over the concatenation of iov[0, iov_count); n <= the sum of the lengths. Setting
	 * it declares an efficient vectored write (gale_async_write_is_vectored()).
	 */
	int (*poll_writev)(void *self, struct gale_cx *cx, const struct iovec *iov, int iov_count,
			   size_t *len_written_out);
	/*
	 * REQUIRED. Ensures bytes written so far reach their destination. 0 when done,
	 * GALE_PENDING (waker stored, woken when flushing can progress), or a negative code.
	 * Objects without buffering return 0 at once.
	 */
	int (*poll_flush)(void *self, struct gale_cx *cx);
	/*
	 * REQUIRED. Flushes, then closes the write side (the peer reads EOF after the last
	 * byte). 0 when both are done: the flush happened first, the caller need not flush
	 * before. GALE_PENDING while either is in progress (waker stored). After 0, writes
	 * fail and the read side still works. Calling it again after 0 returns 0.
	 */
	int (*poll_shutdown)(void *self, struct gale_cx *cx);
};

/* A writer: copy it freely; it borrows self, which must outlive every copy in use. */
struct gale_async_write {
	const struct gale_async_write_ops *ops; /* static const table. */
	void *self;                             /* The object. Borrowed. */
};

/* An object that is both: the two fat pointers usually share one self. */
struct gale_async_stream {
	struct gale_async_read reader;  /* Its read side. */
	struct gale_async_write writer; /* Its write side. */
};

/**
 * Polls a write of buf[0, len). Checks in every build type (aborts) that the writer
 * returned 0, GALE_PENDING or a negative code, and n <= len on ready.
 *
 * @param buf              borrowed for the call; NULL only when len == 0.
 * @param len_written_out  set to n on 0 (n <= len), and to 0 otherwise.
 * @return 0, GALE_PENDING (nothing written; waker stored), or the writer's negative code
 *         (-EPIPE once the peer closed or after shutdown; others pass through).
 */
GALE_EXTERN int gale_async_write_poll(struct gale_async_write writer, struct gale_cx *cx,
				      const void *buf, size_t len, size_t *len_written_out);

/**
 * Polls a write of the concatenation of iov[0, iov_count).
 * Writers without poll_writev get the default: the first iovec with a non-zero length is
 * written through poll_write (an all-empty array writes a zero-length buffer).
 *
 * @param iov              borrowed for the call, never modified.
 * @param iov_count        0 <= iov_count <= GALE_ASYNC_IO_IOV_MAX, else -EINVAL.
 * @param len_written_out  set to n on 0 (n <= the sum of the lengths), 0 otherwise.
 * @return as gale_async_write_poll(); -EINVAL (iov_count out of range; nothing called).
 */
GALE_EXTERN int gale_async_write_poll_vectored(struct gale_async_write writer,
					       struct gale_cx *cx, const struct iovec *iov,
					       int iov_count, size_t *len_written_out);

/** True when the writer has an efficient vectored write (its poll_writev is set). */
GALE_EXTERN bool gale_async_write_is_vectored(struct gale_async_write writer);

/**
 * Polls a flush. @return 0 (flushed), GALE_PENDING (waker stored), or a negative code.
 */
GALE_EXTERN int gale_async_write_poll_flush(struct gale_async_write writer, struct gale_cx *cx);

/**
 * Polls a shutdown of the write side (implies flush; see the ops doc).
 * @return 0 (flushed and closed), GALE_PENDING (waker stored), or a negative code, after
 *         which the object is usually no longer usable.
 */
GALE_EXTERN int gale_async_write_poll_shutdown(struct gale_async_write writer,
					       struct gale_cx *cx);

GALE_END_DECLS

#endif /* GALE_IO_ASYNC_IO_H */
