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
#define GALE__ALWAYS_INLINE __attribute__((always_inline)) inline
#else
#define GALE__UNLIKELY(condition) (condition)
#define GALE__COLD
#define GALE__ALWAYS_INLINE inline
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

/* ---- Driver wrappers (driver.c): the ones the reactor's hot path calls, inline ---- */

/* gale_driver_read() and gale_driver_write(): the driver's op, its count checked against
 * len (a larger one would overrun the caller). Inline so that an attempt on the driver's
 * own read or write costs one call into the driver, not two. */
static inline ssize_t gale__driver_read(struct gale_driver *driver, int fd, void *buf,
					size_t len)
{
	assert(driver != NULL && driver->ops != NULL);
	assert(driver->ops->abi_version == GALE_DRIVER_ABI_VERSION);
	assert(buf != NULL || len == 0);
	ssize_t rc = driver->ops->read(driver, fd, buf, len);
	GALE__CONTRACT(rc < 0 || (size_t)rc <= len, "driver '%s' read returned %zd for %zu bytes",
		       driver->ops->name, rc, len);
	return rc;
}

static inline ssize_t gale__driver_write(struct gale_driver *driver, int fd, const void *buf,
					 size_t len)
{
	assert(driver != NULL && driver->ops != NULL);
	assert(driver->ops->abi_version == GALE_DRIVER_ABI_VERSION);
	assert(buf != NULL || len == 0);
	ssize_t rc = driver->ops->write(driver, fd, buf, len);
	GALE__CONTRACT(rc < 0 || (size_t)rc <= len,
		       "driver '%s' write returned %zd for %zu bytes", driver->ops->name, rc, len);
	return rc;
}

/* gale_driver_wait() once its arguments are known valid (events_cap > 0, timeout_ns >= -1):
 * the reactor's turn checked them already, so it calls this rather than the wrapper. */
static inline int gale__driver_wait(struct gale_driver *driver, struct gale_event *events,
				    int events_cap, int64_t timeout_ns)
{
	assert(driver != NULL && driver->ops != NULL);
	assert(driver->ops->abi_version == GALE_DRIVER_ABI_VERSION);
	assert(events != NULL && events_cap > 0 && timeout_ns >= -1);
	int rc = driver->ops->wait(driver, events, events_cap, timeout_ns);
	GALE__CONTRACT(rc <= events_cap, "driver '%s' wait returned %d events for %d slots",
		       driver->ops->name, rc, events_cap);
	return rc;
}

/* ---- Reactor (reactor.c) ---- */

/* gale_reactor_has_waiters(), inline for the runtime's every turn (the public one also
 * checks the maintained count against a scan in assert builds). */
static inline bool gale__reactor_has_waiters(const struct gale_reactor *reactor)
{
	return reactor->priv_holders_count > 0;
}

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

/* One I/O attempt, the general form (gale_async_fd_io_fn, repeated so the reactor needs no
 * AsyncFd header), and the typed forms (gale_async_fd_read_fn / gale_async_fd_write_fn). */
typedef ssize_t gale__io_fn(void *data, struct gale_driver *driver, int fd);
typedef ssize_t gale__read_fn(void *data, struct gale_driver *driver, int fd, void *buf,
			      size_t len);
typedef ssize_t gale__write_fn(void *data, struct gale_driver *driver, int fd, const void *buf,
			       size_t len);

/* What an attempt is: only a typed read or write tells the reactor how much was asked. */
enum gale__io_kind {
	GALE__IO_GENERAL = 0, /* fn.io; a count proves nothing (len is 0). */
	GALE__IO_READ = 1,    /* fn.read (NULL: gale_driver_read) of len bytes into buf.read. */
	GALE__IO_WRITE = 2,   /* fn.write (NULL: gale_driver_write) of len bytes of buf.write. */
};

/* One attempt, described for gale__reactor_attempt() / gale__reactor_poll_io(). */
struct gale__io_op {
	enum gale__io_kind kind; /* Which fn and buf member is meant. */
	union {
		gale__io_fn *io;
		gale__read_fn *read;
		gale__write_fn *write;
	} fn;
	void *data; /* For fn. Borrowed for the attempt. */
	union {
		void *read;
		const void *write;
	} buf;      /* Typed kinds: the bytes. Borrowed for the attempt. */
	size_t len; /* Typed kinds: bytes asked or offered (a short count is measured by it). */
};

/*
 * Names the wakers the reactor stores compactly (their id alone, 16 bytes per registration
 * for both directions instead of 48): the runtime passes its executor's wake function and
 * data, since every task waker is made of them. Others are stored whole in a table that
 * grows with the slots and stays untouched memory unless they come. Call before any waker
 * is stored.
 */
void gale__reactor_home_set(struct gale_reactor *reactor, gale_wake_fn *wake, void *data);

/*
 * Marks token's registration a stream (a connected SOCK_STREAM socket or a pipe): from now
 * on a typed attempt's short count clears its direction's readiness where the driver
 * declares it (gale_driver_caps(), asked here, once). A stale token is ignored.
 */
void gale__reactor_stream_set(struct gale_reactor *reactor, uint64_t token);

/*
 * Attempts once, the edge-triggered rule in one place: op on token's fd, acting on event,
 * readiness observed before. -EAGAIN clears event's READ/WRITE readiness (the tick rule;
 * the observer is told). A typed op's short count (0 < count < len) clears its own
 * direction's bit when the registration is a stream and the driver vouches for short I/O
 * (GALE_DRIVER_CAP_*); any other result leaves readiness set. Returns op's result, or
 * GALE_E_CLOSED (token stale; op not run). op may close the fd: the registration is looked
 * up again before clearing. Every AsyncFd and TcpStream I/O path goes through it (guard
 * try_io/try_read/try_write, poll_io/poll_read/poll_write, the io future), so a rule about
 * what a result proves belongs here.
 */
ssize_t gale__reactor_attempt(struct gale_reactor *reactor, uint64_t token,
			      struct gale_ready_event event, const struct gale__io_op *op);

/*
 * The poll-style loop around gale__reactor_attempt(), the only one: observe readiness
 * (waiter NULL: direction's slot, the most recent caller's waker kept; else the waiter,
 * linked while pending, interest valid), or store cx's waker and return GALE_PENDING;
 * attempt; on -EAGAIN observe again (which stores the waker once readiness is gone). Any
 * other result is put in *result_out (return 0). After GALE__IO_ATTEMPTS_MAX -EAGAINs with
 * readiness still set: wakes cx, GALE_PENDING. GALE_E_CLOSED when token is stale.
 */
int gale__reactor_poll_io(struct gale_reactor *reactor, uint64_t token,
			  enum gale_direction direction, struct gale_ready_waiter *waiter,
			  struct gale_cx *cx, const struct gale__io_op *op, ssize_t *result_out);

/*
 * gale__reactor_poll_io() for a typed op (GALE__IO_READ or _WRITE) in its direction's slot,
 * the path of every TcpStream read and write, with fewer arguments and no waiter: 0 with the
 * count in *len_out, GALE_PENDING, or an error (the op's, or GALE_E_CLOSED); *len_out is 0
 * unless 0 is returned.
 */
int gale__reactor_poll_typed(struct gale_reactor *reactor, uint64_t token, struct gale_cx *cx,
			     const struct gale__io_op *op, size_t *len_out);

/* gale__reactor_poll_typed() for the driver's own read or write (fn NULL), compiled for
 * that one op: every TcpStream read and write. The same loop and rules, not a copy. */
int gale__reactor_poll_read(struct gale_reactor *reactor, uint64_t token, struct gale_cx *cx,
			    void *buf, size_t len, size_t *len_out);
int gale__reactor_poll_write(struct gale_reactor *reactor, uint64_t token, struct gale_cx *cx,
			     const void *buf, size_t len, size_t *len_out);

#endif /* GALE_IO_SRC_IO_INTERNAL_H */
