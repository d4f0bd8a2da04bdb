/* SPDX-License-Identifier: MIT */
/*
 * read_to_end: reads a reader until EOF into a buffer that grows, bounded by a caller
 * limit. The one future in io/ that allocates while polling (see below).
 */
#ifndef GALE_IO_READ_TO_END_H
#define GALE_IO_READ_TO_END_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gale/alloc.h>
#include <gale/async_io.h>
#include <gale/common.h>
#include <gale/task.h>

GALE_BEGIN_DECLS

/* First allocation size; later ones double (clamped to the limit). */
#define GALE_READ_TO_END_CAP_INITIAL 256

struct gale_read_to_end {
	struct gale_async_read reader; /* Borrowed until the future completes or is dropped. */
	uint8_t *buf;                  /* Owned by the future (see take/deinit); NULL at first. */
	size_t len_filled;             /* Bytes read so far: buf[0, len_filled). */
	size_t cap;                    /* Bytes allocated at buf. */
	size_t len_max;                /* The limit: more bytes than this fail. */
	/* Private: do not touch. */
	const struct gale_allocator *priv_allocator; /* Borrowed until deinit. */
	bool priv_done;                              /* Completed. */
};

/**
 * Prepares a read of everything up to EOF, at most len_max bytes. Allocates nothing yet.
 *
 * @param reader     borrowed until the future completes or is dropped.
 * @param allocator  borrowed until gale_read_to_end_deinit(); NULL = the default.
 * @param len_max    the limit; SIZE_MAX means "no limit of mine" (allocation still
 *                   fails before the address space does).
 */
GALE_EXTERN void gale_read_to_end_init(struct gale_read_to_end *future,
				       struct gale_async_read reader,
				       const struct gale_allocator *allocator, size_t len_max);

/**
 * Reads until EOF. Allocation while polling is the documented exception to "no allocation
 * on poll paths": the final size is unknown until EOF. The buffer grows geometrically
 * (GALE_READ_TO_END_CAP_INITIAL, then doubling, clamped to len_max) by allocating the new
 * buffer, copying, and freeing the old one, so total copying stays linear in the bytes
 * read. It never grows past len_max bytes: once len_max bytes are held, one more read of
 * at most 1 byte (into a byte on the stack) tells EOF from excess.
 *
 * @return 0 at EOF (buf[0, len_filled) holds the whole stream; the first read already
 *         allocates GALE_READ_TO_END_CAP_INITIAL bytes (clamped), so buf is NULL only
 *         when len_max == 0);
 *         GALE_PENDING (forwarded from the reader; bytes so far are kept);
 *         GALE_E_LIMIT when the stream is longer than len_max: buf holds its first len_max
 *         bytes and exactly one more byte was consumed from the reader and discarded;
 *         -ENOMEM when growing failed (the bytes read so far are kept in buf);
 *         any other negative code of the reader, unchanged (bytes so far are kept).
 * In every case the buffer still belongs to the future: free it with
 * gale_read_to_end_deinit(), or take it with gale_read_to_end_take().
 * A future that returned anything but GALE_PENDING is complete; polling it again asserts.
 *
 * Cancel safety: no. Bytes read are consumed from the reader and live only in the
 * future's buffer; dropping the future (deinit) frees them.
 */
GALE_EXTERN int gale_read_to_end_poll(struct gale_read_to_end *future, struct gale_cx *cx);

/**
 * Transfers the buffer to the caller and leaves the future empty (buf NULL, 0 bytes).
 * The caller frees it later with allocator->free(allocator->data, ptr, *cap_out) using
 * the same allocator (gale_allocator_default() when NULL was given), unless ptr is NULL.
 *
 * @param len_out  set to the bytes filled.
 * @param cap_out  set to the allocation size (what free needs).
 * @return the buffer (ownership transferred), or NULL when nothing was allocated.
 */
GALE_EXTERN uint8_t *gale_read_to_end_take(struct gale_read_to_end *future, size_t *len_out,
					   size_t *cap_out);

/** Frees the buffer if the future still owns it. Idempotent on a zeroed future. */
GALE_EXTERN void gale_read_to_end_deinit(struct gale_read_to_end *future);

GALE_END_DECLS

#endif /* GALE_IO_READ_TO_END_H */
