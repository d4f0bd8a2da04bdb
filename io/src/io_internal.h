/* SPDX-License-Identifier: MIT */
/* Private declarations shared by io/ sources only (gale__ symbols). Never installed. */
#ifndef GALE_IO_SRC_IO_INTERNAL_H
#define GALE_IO_SRC_IO_INTERNAL_H

#include <assert.h>
#include <stddef.h>
#include <string.h>

#include <gale/alloc.h>

/* Allocation through a gale_allocator; NULL allocator means the default. */
static inline const struct gale_allocator *gale__allocator_or_default(
	const struct gale_allocator *allocator)
{
	return allocator != NULL ? allocator : gale_allocator_default();
}

static inline void *gale__alloc(const struct gale_allocator *allocator, size_t size)
{
	assert(allocator != NULL);
	assert(size > 0);
	return allocator->alloc(allocator->data, size);
}

static inline void gale__free(const struct gale_allocator *allocator, void *ptr, size_t size)
{
	assert(allocator != NULL);
	if (ptr != NULL)
		allocator->free(allocator->data, ptr, size);
}

/* Debug builds poison deinit'd objects so use-after-deinit fails loudly (libuv). */
#ifndef NDEBUG
#define GALE__POISON(object) memset((object), 0xA5, sizeof(*(object)))
#else
#define GALE__POISON(object) ((void)0)
#endif /* NDEBUG */

/* ---- Timers (timer.c): the runtime's pairing heap of armed struct gale_timer nodes ---- */

#include <stdbool.h>
#include <stdint.h>

#include <gale/driver.h>
#include <gale/reactor.h>
#include <gale/rt.h>
#include <gale/task.h>

/* Inserts timer (not armed) keyed by (deadline_ns, arm order); waker is woken when due. */
void gale__timer_arm(struct gale_runtime *runtime, struct gale_timer *timer,
		     struct gale_waker waker);

/* Removes timer from the heap if armed; a disarmed timer is left alone. */
void gale__timer_disarm(struct gale_runtime *runtime, struct gale_timer *timer);

/* Disarms and wakes every timer whose deadline is <= now_ns, earliest first.
 * Returns how many fired. */
uint32_t gale__timer_fire_due(struct gale_runtime *runtime, int64_t now_ns);

/* The earliest armed deadline: true with *deadline_out set, or false when none is armed. */
bool gale__timer_next_deadline(const struct gale_runtime *runtime, int64_t *deadline_out);

/* ---- Executor (executor.c): counts the runtime loop reads on every turn, in place ---- */

/* gale_executor_runnable_count(), inline. */
static inline uint32_t gale__executor_runnable_count(const struct gale_executor *executor)
{
	return executor->priv_queue_len;
}

/* gale_executor_live_count(), inline. */
static inline uint32_t gale__executor_live_count(const struct gale_executor *executor)
{
	return executor->priv_live_count;
}

/* ---- Reactor (reactor.c) ---- */

/* Reports a readiness misuse (e.g. an AsyncFd guard consumed twice) to the reactor's
 * observer. Returns false when no observer with a misuse callback is installed: the caller
 * then treats the misuse as the programmer error it is (assert). */
bool gale__reactor_misuse(struct gale_reactor *reactor, const char *message);

/* Readiness that lets a reader make progress (or see the end). */
#define GALE__READY_MASK_READ                                                               \
	(GALE_READY_READ | GALE_READY_RDHUP | GALE_READY_HUP | GALE_READY_ERROR)
/* Readiness that lets a writer make progress (or see the failure). */
#define GALE__READY_MASK_WRITE (GALE_READY_WRITE | GALE_READY_HUP | GALE_READY_ERROR)

/* One registration. Owned by reactor.c; defined here so that AsyncFd's poll-io fast path
 * (gale_async_fd_poll_io) reads it without a call per step. */
struct gale_reactor_slot {
	int fd;                              /* Registered fd, for fd_reregister/deregister. */
	uint32_t generation;                 /* Token high half; never 0, so no token is 0. */
	uint32_t interest;                   /* READ and/or WRITE, as given to the driver. */
	uint32_t ready;                      /* Readiness seen and not cleared (expanded). */
	uint32_t tick;                       /* Advances per event; guards clear_ready. */
	struct gale_waker read_waker;        /* poll_ready(READ): the most recent caller. */
	struct gale_waker write_waker;       /* poll_ready(WRITE): the most recent caller. */
	struct gale_ready_waiter *waiters;   /* Head of the doubly linked waiter list. */
	uint32_t free_next;                  /* Next free slot while free (cap = none). */
	bool live;                           /* Registered now (false while on the free list). */
};

/* The live slot a token names, or NULL when the token is stale (or was never issued). */
static inline struct gale_reactor_slot *gale__reactor_slot_lookup(
	const struct gale_reactor *reactor, uint64_t token)
{
	assert(reactor != NULL);
	assert(reactor->priv_slots != NULL);
	uint32_t slot_index = (uint32_t)(token & UINT32_MAX);
	uint32_t generation = (uint32_t)(token >> 32);
	if (slot_index >= reactor->priv_slots_cap)
		return NULL;
	struct gale_reactor_slot *slot = &reactor->priv_slots[slot_index];
	if (!slot->live || slot->generation != generation)
		return NULL;
	return slot;
}

/* Stores waker in a live slot's read_waker or write_waker (the most recent caller wins),
 * keeping the reactor's count of holders (gale_reactor_has_waiters) right. */
static inline void gale__reactor_slot_waker_store(struct gale_reactor *reactor,
						  struct gale_waker *slot_waker,
						  const struct gale_waker *waker)
{
	reactor->priv_holders_count += (uint32_t)gale_waker_is_set(waker);
	reactor->priv_holders_count -= (uint32_t)gale_waker_is_set(slot_waker);
	*slot_waker = *waker;
}

#endif /* GALE_IO_SRC_IO_INTERNAL_H */
