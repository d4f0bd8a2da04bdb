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

#include <sys/types.h>

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

/* gale_async_fd_io_fn (async_fd.h), repeated so the reactor need not include that header. */
typedef ssize_t gale__reactor_io_fn(void *data, struct gale_driver *driver, int fd);

/*
 * The poll-style I/O cycle behind gale_async_fd_poll_io(), with one slot lookup per
 * attempt: readiness of direction (else cx's waker goes in the direction's slot and
 * GALE_PENDING), io(data, driver, fd) once, and on -EAGAIN gale_reactor_clear_ready()
 * with the observed event, then again; after two -EAGAIN attempts it wakes cx and returns
 * GALE_PENDING. 0 with *result_out = io's result (not -EAGAIN), GALE_PENDING or
 * GALE_E_CLOSED (stale token).
 */
int gale__reactor_poll_io(struct gale_reactor *reactor, uint64_t token, int fd,
			  enum gale_direction direction, struct gale_cx *cx, gale__reactor_io_fn *io,
			  void *data, ssize_t *result_out);

#endif /* GALE_IO_SRC_IO_INTERNAL_H */
