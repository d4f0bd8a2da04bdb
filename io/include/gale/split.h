/* SPDX-License-Identifier: MIT */
/*
 * split: view one stream (a reader and a writer over one object) as a read half and a
 * write half that two different tasks poll independently (Tokio's io::split).
 *
 * The halves are borrowed views: they neither own nor copy the object, the object and the
 * struct gale_split must outlive both halves, and closing the object ends both. What makes
 * two tasks safe on one object is waker storage: if the object keeps ONE waker for both
 * directions, the second task's poll overwrites the first task's waker and the first
 * task is never woken (a lost wakeup). Hence two modes:
 *   - GALE_SPLIT_WAKERS_PER_DIRECTION: the object keeps a read waker and a write waker
 *     (gale_duplex, TCP streams). The halves are the object's own reader and writer; the
 *     split adds no indirection.
 *   - GALE_SPLIT_WAKERS_SHARED: the object keeps one waker. The split remembers each half's
 *     waker and hands the object a fan-out waker that wakes both halves, so no wakeup is
 *     lost; the price is a spurious wake of the other half now and then.
 * Cancellation: a task that stops polling its half (drops its future) leaves at most a
 * stale waker behind, which is harmless (waking a finished task is ignored, task.h). It
 * does not close or shut down anything: to end the write direction, poll a shutdown on
 * the write half; to end everything, close the object itself.
 *
 * Thread affinity: both halves on one thread (two tasks of one executor).
 */
#ifndef GALE_IO_SPLIT_H
#define GALE_IO_SPLIT_H

#include <gale/async_io.h>
#include <gale/common.h>
#include <gale/task.h>

GALE_BEGIN_DECLS

enum gale_split_wakers {
	GALE_SPLIT_WAKERS_PER_DIRECTION = 0, /* The object keeps one waker per direction. */
	GALE_SPLIT_WAKERS_SHARED = 1,        /* The object keeps one waker for both. */
};

struct gale_split {
	/* Private: do not touch. */
	struct gale_async_stream priv_inner;  /* The object's reader and writer. Borrowed. */
	enum gale_split_wakers priv_wakers;   /* How the object stores wakers. */
	struct gale_waker priv_read_waker;    /* SHARED: the read half's task. */
	struct gale_waker priv_write_waker;   /* SHARED: the write half's task. */
};

/**
 * Prepares a split of stream. Allocates nothing. The split must not move while halves
 * are in use (they point at it). In SHARED mode the object may keep a waker that points
 * at the split, so the split must also outlive the object's use (close or deinit the
 * object first). There is no deinit: the split owns nothing.
 *
 * @param stream  borrowed until both halves are no longer used.
 * @param wakers  one of enum gale_split_wakers; any other value makes every poll of the
 *                halves return -EINVAL (the object is never reached).
 */
GALE_EXTERN void gale_split_init(struct gale_split *split, struct gale_async_stream stream,
				 enum gale_split_wakers wakers);

/** The read half: a reader borrowing split (and the object). Copy freely. */
GALE_EXTERN struct gale_async_read gale_split_read_half(struct gale_split *split);

/**
 * The write half: a writer borrowing split (and the object). poll_shutdown on it closes
 * the write direction only; the read half keeps reading.
 */
GALE_EXTERN struct gale_async_write gale_split_write_half(struct gale_split *split);

GALE_END_DECLS

#endif /* GALE_IO_SPLIT_H */
