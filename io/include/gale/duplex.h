/* SPDX-License-Identifier: MIT */
/*
 * The in-memory duplex pipe (seed 003, Tokio's DuplexStream): two ends, 0 and 1, each a
 * reader and a writer. Bytes written at one end are read at the other, in both
 * directions, through one bounded ring per direction. No driver, no syscalls: it is the
 * default transport of unit tests.
 *
 *   struct gale_duplex duplex;
 *   gale_duplex_init(&duplex, 64, NULL);
 *   struct gale_async_stream client = gale_duplex_end_stream(&duplex, 0);
 *   struct gale_async_stream server = gale_duplex_end_stream(&duplex, 1);
 *   ... client.writer writes "ping", server.reader reads it; server answers "pong" ...
 *   gale_duplex_deinit(&duplex);
 *
 * Behaviour, per direction (end e writes, end 1 - e reads):
 *   - Bounded: at most buf_size_max bytes are buffered. A write takes what fits (a
 *     partial write when space is short) and returns GALE_PENDING only when the ring is
 *     full, after storing the writer's waker. A read takes what is buffered (up to the
 *     space offered) and returns GALE_PENDING only when the ring is empty and the writer
 *     is still open, after storing the reader's waker.
 *   - Each direction keeps one reader waker and one writer waker (so a split read half and
 *     write half never overwrite each other's waker). A write that adds bytes wakes the
 *     stored reader waker; a read that frees space wakes the stored writer waker. A waker
 *     is woken only if one is stored, and is then cleared: no redundant wakes.
 *   - Zero-length reads and writes complete at once (never GALE_PENDING).
 *   - Shutdown of end e's write side (poll_shutdown): end 1 - e reads what is buffered,
 *     then EOF (0 bytes); end e's later writes fail with -EPIPE; the other direction keeps
 *     working. Flush always completes at once (nothing is buffered on the way).
 *   - Closing end e (gale_duplex_close_end, Tokio's drop): end 1 - e reads what is
 *     buffered, then EOF; its writes, including pending ones (their wakers are woken at
 *     once), fail with -EPIPE; bytes end e had not read yet are discarded. Any poll on a
 *     closed end returns GALE_E_CLOSED.
 *   - Memory: one allocation at init (both rings); polling never allocates. A read or a
 *     write copies with at most two memcpy calls (the ring's wrap-around).
 * Thread affinity: one thread at a time for the whole duplex (no locks).
 */
#ifndef GALE_IO_DUPLEX_H
#define GALE_IO_DUPLEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gale/alloc.h>
#include <gale/async_io.h>
#include <gale/common.h>
#include <gale/task.h>

GALE_BEGIN_DECLS

struct gale_duplex;

/*
 * An optional observer of the bytes a duplex moves (gale_duplex_observer_set), for test
 * oracles: the simulator's stream oracle compares what each end wrote with what the other
 * end read. Callbacks run inside the poll that moved the bytes and must not poll the
 * duplex. Without an observer the cost is one NULL check per read or write.
 */
struct gale_stream_observer {
	/* REQUIRED. end accepted len > 0 bytes (a partial write reports what was taken; a
	 * vectored write reports each iovec's part in order). bytes is borrowed for the call. */
	void (*on_write)(void *data, unsigned end, const void *bytes, size_t len);
	/* REQUIRED. end read len > 0 bytes, or len == 0 (bytes NULL): end read the end of
	 * stream (the other end shut down or closed and everything was read). */
	void (*on_read)(void *data, unsigned end, const void *bytes, size_t len);
	/* Optional. gale_duplex_deinit() is running: forget this duplex. */
	void (*on_deinit)(void *data);
	void *data; /* Passed back to the callbacks. Borrowed. */
};

/* One direction: a ring written by one end and read by the other. */
struct gale_duplex_pipe {
	/* Private: do not touch. */
	uint8_t *priv_buf;                   /* Ring storage, priv_cap bytes (in priv_memory). */
	size_t priv_head;                    /* Index of the first buffered byte. */
	size_t priv_len;                     /* Buffered bytes. */
	struct gale_waker priv_reader_waker; /* Reader waiting for bytes or EOF. */
	struct gale_waker priv_writer_waker; /* Writer waiting for space. */
	bool priv_write_closed;              /* Writer shut down or closed: EOF after drain. */
	bool priv_read_closed;               /* Reader's end closed: writes fail -EPIPE. */
};

/* One end: the self of its reader and writer fat pointers. */
struct gale_duplex_end {
	/* Private: do not touch. */
	struct gale_duplex_pipe *priv_read_pipe;  /* The pipe this end reads. */
	struct gale_duplex_pipe *priv_write_pipe; /* The pipe this end writes. */
	size_t priv_cap;                          /* Ring size of both pipes. */
	bool priv_closed;                         /* gale_duplex_close_end() was called. */
	unsigned priv_index;                      /* 0 or 1: which end this is. */
	const struct gale_stream_observer *priv_observer; /* Optional; borrowed. */
};

/* Caller-allocated shared state of both ends. Must not move between init and deinit. */
struct gale_duplex {
	/* Private: do not touch. */
	struct gale_duplex_pipe priv_pipes[2];       /* [e]: written by end e, read by 1 - e. */
	struct gale_duplex_end priv_ends[2];         /* The two ends. */
	uint8_t *priv_memory;                        /* Both rings: 2 * priv_cap bytes. */
	size_t priv_cap;                             /* buf_size_max. */
	const struct gale_allocator *priv_allocator; /* Borrowed until deinit. */
};

/**
 * Creates both ends, each direction a ring of buf_size_max bytes, allocated now (once).
 *
 * @param duplex        caller-allocated; must not move until deinit.
 * @param allocator     borrowed until deinit; NULL means gale_allocator_default().
 * @return 0; -EINVAL when buf_size_max == 0; -ENOMEM when the allocation failed or
 *         2 * buf_size_max overflows. On failure duplex is zeroed (deinit is a no-op).
 */
GALE_EXTERN int gale_duplex_init(struct gale_duplex *duplex, size_t buf_size_max,
				 const struct gale_allocator *allocator);

/**
 * Frees both rings. Order: stop polling both ends (or close them) first; deinit does not
 * wake anyone, and a waker still stored is simply forgotten. Closing before deinit is
 * optional. Every reader/writer obtained from the duplex is invalid afterwards (debug
 * builds poison the object so such use fails loudly). Idempotent: a no-op on a duplex
 * deinit'd already, on a zeroed one and on one whose init failed.
 */
GALE_EXTERN void gale_duplex_deinit(struct gale_duplex *duplex);

/*
 * The calls below take an initialised duplex (a deinit'd or zeroed one is asserted) and
 * an end that is 0 or 1: any other end is asserted too, as these calls have no error to
 * return (error.h states the rule).
 */

/** The reader of end (0 or 1): reads what the other end writes. Borrows duplex. */
GALE_EXTERN struct gale_async_read gale_duplex_end_reader(struct gale_duplex *duplex,
							  unsigned end);

/**
 * The writer of end (0 or 1): writes what the other end reads. Borrows duplex.
 * Vectored writes are efficient (gale_async_write_is_vectored() is true). Errors:
 * -EPIPE after the other end closed or after this end's shutdown; GALE_E_CLOSED after
 * this end was closed.
 */
GALE_EXTERN struct gale_async_write gale_duplex_end_writer(struct gale_duplex *duplex,
							   unsigned end);

/** Both of the above (one self). */
GALE_EXTERN struct gale_async_stream gale_duplex_end_stream(struct gale_duplex *duplex,
							    unsigned end);

/**
 * Closes end (Tokio's drop of one DuplexStream): see the file comment. Wakes the other
 * end's stored reader and writer wakers. Closing an end twice is a programmer error
 * (asserted). Closing both ends in either order is fine; deinit is still required.
 */
GALE_EXTERN void gale_duplex_close_end(struct gale_duplex *duplex, unsigned end);

/** Bytes written by end that the other end has not read yet. */
GALE_EXTERN size_t gale_duplex_end_buffered_len(const struct gale_duplex *duplex, unsigned end);

/**
 * Installs a stream observer on both ends (replacing any previous one; NULL removes it).
 * Install it before any byte moves, so the observer sees the whole stream.
 * @param observer  borrowed until replaced, removed or deinit (its on_deinit is called);
 *                  on_write and on_read are required (asserted).
 */
GALE_EXTERN void gale_duplex_observer_set(struct gale_duplex *duplex,
					  const struct gale_stream_observer *observer);

/**
 * Introspection for oracles (the lost-wakeup check after a stall): is a waker that wakes
 * the same target as waker (gale_waker_will_wake) stored in one of the duplex's reader or
 * writer slots?
 *
 * @param end_out      set to the end that waits (may be NULL).
 * @param writing_out  set to true when that end waits to write (for space), false when it
 *                     waits to read (may be NULL).
 */
GALE_EXTERN bool gale_duplex_waker_find(const struct gale_duplex *duplex,
					const struct gale_waker *waker, unsigned *end_out,
					bool *writing_out);

GALE_END_DECLS

#endif /* GALE_IO_DUPLEX_H */
