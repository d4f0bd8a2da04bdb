/* SPDX-License-Identifier: MIT */
/* Private declarations shared by io/ sources only (gale__ symbols). Never installed. */
#ifndef GALE_IO_SRC_IO_INTERNAL_H
#define GALE_IO_SRC_IO_INTERNAL_H

#include <assert.h>
#include <stddef.h>
#include <string.h>

#include <gale/alloc.h>
#include <gale/common.h>

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

/*
 * Contract checks that stay in every build type, unlike assert(), which NDEBUG removes.
 * For the cheap checks around calls into code gale does not control (readers, writers,
 * drivers), where a broken implementation would otherwise overrun a buffer or drop bytes
 * silently in a release build. A broken contract is a programmer error, as an assert is:
 * gale__contract_fail() prints "gale: contract broken: <message> (<file>:<line>)" on
 * stderr and aborts. The check itself costs a compare and a branch predicted not taken.
 */
#if defined(__GNUC__) || defined(__clang__)
#define GALE__UNLIKELY(condition) __builtin_expect(!!(condition), 0)
#define GALE__COLD __attribute__((cold, noinline))
#else
#define GALE__UNLIKELY(condition) (condition)
#define GALE__COLD
#endif /* __GNUC__ || __clang__ */

#define GALE__CONTRACT(condition, ...)                                                      \
	do {                                                                                \
		if (GALE__UNLIKELY(!(condition)))                                           \
			gale__contract_fail(__FILE__, __LINE__, __VA_ARGS__);               \
	} while (0)

/* Prints the broken contract (printf-style) and aborts. Never returns. */
_Noreturn GALE__COLD void gale__contract_fail(const char *file, int line, const char *format,
					      ...) GALE_PRINTF(3, 4);

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

/* An interest a caller may ask for: READ and/or WRITE, nothing else (else -EINVAL). Shared
 * by the driver wrappers, the reactor and AsyncFd, so all three refuse the same values. */
static inline bool gale__interest_is_valid(uint32_t interest)
{
	return interest != 0 && (interest & ~(uint32_t)GALE_READY_INTEREST_ALL) == 0;
}

/* Reports a readiness misuse (e.g. an AsyncFd guard consumed twice) to the reactor's
 * observer. Returns false when no observer with a misuse callback is installed: the caller
 * then treats the misuse as the programmer error it is (assert). */
bool gale__reactor_misuse(struct gale_reactor *reactor, const char *message);

/* I/O attempts per readiness poll before yielding when readiness stays set (hang-up and
 * error are final) but the call keeps answering -EAGAIN, which only a faulty or
 * fault-injecting driver does: the attempt, and the retry after clearing. */
#define GALE__IO_ATTEMPTS_MAX 2

/*
 * The edge-triggered I/O step on one registration's direction, without a guard: observe
 * readiness (or store cx's waker in the direction slot, most recent caller wins, and
 * return GALE_PENDING), make the one io call, clear the observed readiness on -EAGAIN
 * (tick rule, observer notified) and try again; any other result, a short count
 * included, leaves readiness set and is put in *result_out (return 0). After
 * GALE__IO_ATTEMPTS_MAX -EAGAINs with readiness still set: wakes cx, GALE_PENDING.
 * GALE_E_CLOSED when token is stale (io may close the fd: the slot is looked up again).
 */
int gale__reactor_poll_io(struct gale_reactor *reactor, uint64_t token,
			  enum gale_direction direction, struct gale_cx *cx,
			  ssize_t (*io)(void *data, struct gale_driver *driver, int fd), void *data,
			  ssize_t *result_out);

#endif /* GALE_IO_SRC_IO_INTERNAL_H */
