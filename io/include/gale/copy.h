/* SPDX-License-Identifier: MIT */
/*
 * copy and copy_bidirectional: move bytes reader -> writer (or both ways between two
 * streams) through caller-provided buffers, flushing when the reader stalls and
 * propagating half-close (Tokio's io::copy and io::copy_bidirectional).
 */
#ifndef GALE_IO_COPY_H
#define GALE_IO_COPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gale/async_io.h>
#include <gale/common.h>
#include <gale/task.h>

GALE_BEGIN_DECLS

struct gale_copy {
	struct gale_async_read reader;  /* Borrowed until completion or drop. */
	struct gale_async_write writer; /* Borrowed until completion or drop. */
	uint64_t len_copied;            /* Bytes accepted by the writer so far (the result). */
	/* Private: do not touch. */
	uint8_t *priv_buf;     /* Caller's buffer, borrowed likewise. */
	size_t priv_cap;       /* Its size (> 0). */
	size_t priv_pos;       /* buf[pos, len) was read and is not yet written. */
	size_t priv_len;       /* End of the read bytes in buf. */
	bool priv_eof;         /* The reader reported EOF. */
	bool priv_need_flush;  /* Bytes were written since the last flush. */
	bool priv_done;        /* Completed. */
};

/**
 * Prepares a copy of everything reader produces until EOF into writer, through
 * buf[0, cap). Allocates nothing (now or while polling).
 *
 * @param reader, writer  borrowed until the future completes or is dropped.
 * @param buf             borrowed likewise. One read fills at most cap bytes.
 * @param cap             > 0; 0 makes the first poll return -EINVAL.
 */
GALE_EXTERN void gale_copy_init(struct gale_copy *future, struct gale_async_read reader,
				struct gale_async_write writer, void *buf, size_t cap);

/**
 * Copies: read into the buffer when it is empty, write it all out (resuming after partial
 * writes), repeat. When the reader returns GALE_PENDING and bytes were written since the
 * last flush, the writer is flushed first (so a peer is not left waiting on bytes stuck
 * in a buffering writer while we wait for more input); a pending flush then also leaves
 * the writer's waker stored. On EOF the remaining bytes are written, then the writer is
 * flushed, then the future completes. The writer is NOT shut down (see
 * copy_bidirectional for that).
 *
 * @return 0 (EOF reached, everything written and flushed; len_copied is the total),
 *         GALE_PENDING (forwarded from the reader, the writer or the flush),
 *         GALE_E_WRITE_ZERO (the writer accepted 0 bytes of a non-empty buffer),
 *         -EINVAL (cap was 0; nothing read),
 *         or a negative code from the reader, writer or flush, unchanged.
 * A future that returned anything but GALE_PENDING is complete; polling it again asserts.
 * Note: a reader and writer that never return GALE_PENDING are copied to EOF in one poll.
 *
 * Cancel safety: no. Bytes read into buf and not yet written are lost if the future is
 * dropped; len_copied tells how many reached the writer.
 */
GALE_EXTERN int gale_copy_poll(struct gale_copy *future, struct gale_cx *cx);

struct gale_copy_bidirectional {
	struct gale_copy a_to_b; /* Reads a, writes b; a_to_b.len_copied is a result. */
	struct gale_copy b_to_a; /* Reads b, writes a; b_to_a.len_copied is a result. */
	/* Private: do not touch. */
	uint8_t priv_state_a_to_b; /* Copying, shutting the writer down, or done. */
	uint8_t priv_state_b_to_a; /* Same for the other direction. */
	bool priv_done;            /* Completed. */
};

/**
 * Prepares a copy in both directions between two streams.
 *
 * @param a, b             borrowed until the future completes or is dropped.
 * @param buf_a_to_b       buffer for a -> b, borrowed likewise; cap_a_to_b > 0.
 * @param buf_b_to_a       buffer for b -> a, borrowed likewise; cap_b_to_a > 0; not
 *                         buf_a_to_b. A zero cap or one buffer for both directions makes
 *                         the first poll return -EINVAL.
 */
GALE_EXTERN void gale_copy_bidirectional_init(struct gale_copy_bidirectional *future,
					      struct gale_async_stream a,
					      struct gale_async_stream b, void *buf_a_to_b,
					      size_t cap_a_to_b, void *buf_b_to_a,
					      size_t cap_b_to_a);

/**
 * Polls both directions. When a direction's reader hits EOF (and its bytes are written
 * and flushed), the OTHER stream's writer is shut down, so half-close propagates: a's
 * EOF becomes EOF at b's peer while b -> a keeps running. Completes when both directions
 * copied to EOF and shut their writers down.
 *
 * @return 0 (a_to_b.len_copied and b_to_a.len_copied hold the byte counts),
 *         GALE_PENDING (at least one direction is pending; every pending direction stored
 *         cx's waker), or the first negative code either direction (or a shutdown)
 *         reports, which completes the whole future at once (the other direction stops);
 *         -EINVAL (as init says; nothing read).
 * Cancel safety: no, as gale_copy_poll().
 */
GALE_EXTERN int gale_copy_bidirectional_poll(struct gale_copy_bidirectional *future,
					     struct gale_cx *cx);

GALE_END_DECLS

#endif /* GALE_IO_COPY_H */
