/* SPDX-License-Identifier: MIT */
/*
 * read_exact: a caller-allocated future that reads exactly len bytes from a reader,
 * retrying short reads, with an explicit cursor (seed 001, Tokio's ReadExact).
 */
#ifndef GALE_IO_READ_EXACT_H
#define GALE_IO_READ_EXACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gale/async_io.h>
#include <gale/common.h>
#include <gale/task.h>

GALE_BEGIN_DECLS

struct gale_read_exact {
	struct gale_async_read reader; /* Borrowed until the future completes or is dropped. */
	uint8_t *buf;                  /* Destination, borrowed likewise. */
	size_t len;                    /* Bytes wanted. */
	size_t len_filled;             /* Cursor: buf[0, len_filled) holds the bytes read. */
	/* Private: do not touch. */
	bool priv_done; /* Completed (ready or failed): polling again is a programmer error. */
};

/**
 * Prepares a read of exactly len bytes into buf. Allocates nothing, calls nothing.
 *
 * @param reader  borrowed until the future completes or is dropped.
 * @param buf     borrowed likewise; NULL only when len == 0.
 */
GALE_EXTERN void gale_read_exact_init(struct gale_read_exact *future,
				      struct gale_async_read reader, void *buf, size_t len);

/**
 * Reads until len_filled == len. Each read is offered only the remaining
 * len - len_filled bytes of buf, so the reader is never asked for a byte past len (the
 * next bytes of the stream stay in the reader). Short reads are retried in the same poll.
 * A zero-length target completes at once without calling the reader.
 *
 * @return 0 (buf[0, len) holds exactly len bytes);
 *         GALE_PENDING (forwarded from the reader, which stored cx's waker; len_filled
 *         keeps the bytes read so far and the next poll resumes there);
 *         GALE_E_UNEXPECTED_EOF when a read adds 0 bytes before len bytes arrived
 *         (len_filled tells how many did);
 *         any other negative code of the reader, unchanged.
 * A future that returned anything but GALE_PENDING is complete; polling it again asserts.
 *
 * Cancel safety: no. Bytes already read are consumed from the reader; a caller that drops
 * the future before completion loses them unless it keeps buf[0, len_filled) itself.
 */
GALE_EXTERN int gale_read_exact_poll(struct gale_read_exact *future, struct gale_cx *cx);

GALE_END_DECLS

#endif /* GALE_IO_READ_EXACT_H */
