/* SPDX-License-Identifier: MIT */
/*
 * Wakers and poll contexts: the vocabulary every poll function speaks.
 *
 * A waker is a plain value {wake, data, id}; copying it is cloning it. gale never
 * reference-counts wakers: a waker names its task by a generation-tagged id, so a waker
 * kept after its task finished (or after the slot was reused) is harmless: waking it is
 * ignored. Wakers only enqueue work; they never run user code inline (STYLE 3.8).
 */
#ifndef GALE_IO_TASK_H
#define GALE_IO_TASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gale/common.h>

GALE_BEGIN_DECLS

/* Called to wake: data and id come from the waker. Must only record/enqueue work. */
typedef void gale_wake_fn(void *data, uint64_t id);

struct gale_waker {
	gale_wake_fn *wake; /* NULL means "no waker" (nothing to wake). */
	void *data;         /* Usually the executor. Borrowed. */
	uint64_t id;        /* Usually a task id (slot | generation << 32). */
};

/* The context a poll function receives. Copying it is allowed. */
struct gale_cx {
	struct gale_waker waker; /* Who to wake when the polled object can make progress. */
};

/*
 * A future's poll function: 0 (done, result in the future's own out-fields) or a negative
 * code (done, failed) or GALE_PENDING (waker of cx stored somewhere that will fire).
 */
typedef int gale_poll_fn(void *data, struct gale_cx *cx);

/**
 * Wakes a waker. A waker with wake == NULL is ignored, so an empty slot can be woken
 * without checking. Borrowed for the call; safe to call from within a poll function.
 */
static inline void gale_waker_wake(const struct gale_waker *waker)
{
	if (waker->wake != NULL)
		waker->wake(waker->data, waker->id);
}

/** True when the waker names someone to wake. */
static inline bool gale_waker_is_set(const struct gale_waker *waker)
{
	return waker->wake != NULL;
}

/** True when both wakers wake the same target (Tokio's will_wake). */
static inline bool gale_waker_will_wake(const struct gale_waker *a, const struct gale_waker *b)
{
	return a->wake == b->wake && a->data == b->data && a->id == b->id;
}

/** An empty waker: waking it does nothing. */
static inline struct gale_waker gale_waker_none(void)
{
	struct gale_waker waker = {NULL, NULL, 0};
	return waker;
}

GALE_END_DECLS

#endif /* GALE_IO_TASK_H */
