/* SPDX-License-Identifier: MIT */
/*
 * The reactor: readiness bookkeeping above the driver, shared by every driver.
 *
 * Registrations are identified by tokens (slot index | generation << 32), never by fds, so
 * an event that arrives for a registration already dropped (a stale event, or an fd number
 * reused) is recognised and ignored. Each registration keeps:
 *   - readiness bits with a 64-bit tick that advances on every event, so that clearing
 *     readiness observed at tick T never erases an event that arrived after T (Tokio
 *     ScheduledIo; see struct gale_ready_event for why 64 bits);
 *   - one waker slot per direction for poll-style readiness: the most recent caller wins;
 *   - a list of waiters (caller-allocated nodes) for future-style waits, any number of them.
 * Error and hang-up readiness are final: they set both READ and WRITE and are never
 * cleared, so the waiters of both directions see them.
 * turn() collects driver events and wakes; it never runs user code (wakers only enqueue).
 *
 * Thread affinity: single-threaded; one reactor belongs to one thread at a time.
 */
#ifndef GALE_IO_REACTOR_H
#define GALE_IO_REACTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gale/alloc.h>
#include <gale/common.h>
#include <gale/driver.h>
#include <gale/task.h>

GALE_BEGIN_DECLS

/* Directions for the single-waker-per-direction poll API. */
enum gale_direction {
	GALE_DIRECTION_READ = 0,
	GALE_DIRECTION_WRITE = 1,
};

/*
 * What a readiness poll observed; hand it back to clear exactly that readiness.
 *
 * The tick is 64 bits wide and counts the driver events delivered to one registration
 * (every event, spurious and duplicate ones included). A clear succeeds only when the tick
 * still equals the observed one, so it could erase a newer event only if some multiple of
 * 2^64 events arrived in between: at one event per nanosecond, which no fd reaches (each
 * event costs a wait() round trip), that is 584 years. A 32-bit tick would alias after
 * 2^32 events, 4.3 s at that rate; tests/unit/test_io_reactor_tick.c delivers exactly
 * 2^32 events between an observation and its clear and requires the readiness to stay.
 * Tokio's tick is narrower (it accepts the alias); gale does not.
 */
struct gale_ready_event {
	uint32_t ready; /* enum gale_ready bits that were set (restricted to the interest). */
	uint64_t tick;  /* The registration's tick when observed (64 bits: never wraps). */
};

/*
 * A waiter for future-style readiness waits (readable()/writable()/ready() futures embed
 * one). Zero-initialise or gale_ready_waiter_init() before use; it must not move while
 * linked (i.e. between a PENDING poll and completion or gale_reactor_waiter_cancel()).
 */
struct gale_ready_waiter {
	uint32_t interest; /* READ and/or WRITE: what this waiter waits for. */
	/* Private: do not touch. */
	struct gale_waker priv_waker;           /* Whom to wake. */
	struct gale_ready_waiter *priv_next;    /* Registration's waiter list. */
	struct gale_ready_waiter *priv_prev;    /* Registration's waiter list. */
	uint64_t priv_token;                    /* Registration it is linked to. */
	bool priv_linked;                       /* On a waiter list now. */
};

struct gale_reactor_slot;  /* Private, defined in reactor.c. */
struct gale_reactor_chunk; /* Private, defined in reactor.c. */

/* registrations_max meaning "no limit but memory" (the runtime's default). */
#define GALE_REACTOR_REGISTRATIONS_UNLIMITED 0x7fffffffu

/*
 * An optional observer, for test harnesses and oracles (the simulator's scenario runner
 * installs one to check the readiness rules). Either callback may be NULL. Callbacks run
 * inside the reactor call that triggered them: they may record, but must not call back
 * into the reactor. Without an observer the cost is one NULL check in
 * gale_reactor_clear_ready().
 */
struct gale_reactor_observer {
	/* gale_reactor_clear_ready() cleared bits: ready_bits are the READ/WRITE bits that
	 * were set and are clear now (never 0; nothing is reported when the tick check kept
	 * the readiness or the bits were clear already). fd is the registration's fd. */
	void (*ready_cleared)(void *data, uint64_t token, int fd, uint32_t ready_bits);
	/* Code above the reactor found a readiness misuse it would otherwise assert on (an
	 * AsyncFd guard consumed twice). message is a static sentence. */
	void (*misuse)(void *data, const char *message);
	void *data; /* Passed back to both callbacks. Borrowed. */
};

struct gale_reactor_stats {
	uint64_t events_count;       /* Events taken from the driver. */
	uint64_t events_stale_count; /* Events dropped: token not (or no longer) registered. */
	uint64_t turns_count;        /* Calls of gale_reactor_turn(). */
	uint64_t registrations_refused_count; /* register() refused at the hard limit. */
};

struct gale_reactor {
	/* Private: do not touch. */
	struct gale_driver *priv_driver;            /* Borrowed. */
	const struct gale_allocator *priv_allocator; /* Borrowed. */
	struct gale_reactor_chunk *priv_chunks;     /* Chunk table (chunks of 256 slots). */
	uint32_t priv_chunks_len;                   /* Chunks allocated. */
	uint32_t priv_chunks_cap;                   /* Entries of the table. */
	uint32_t priv_slots_cap;                    /* Slots in the chunks; grows on demand. */
	uint32_t priv_registrations_max;            /* The hard limit slots grow to. */
	uint32_t priv_free_head;                    /* Free list of slots (UINT32_MAX: none). */
	uint32_t priv_registrations_count;          /* Live registrations. */
	uint32_t priv_holders_count;                /* Set direction wakers + linked waiters. */
	struct gale_event *priv_events;             /* Buffer for one wait(). */
	int priv_events_cap;                        /* Its capacity. */
	struct gale_reactor_stats priv_stats;       /* Counters. */
	const struct gale_reactor_observer *priv_observer; /* Optional; borrowed. */
	gale_wake_fn *priv_home_wake;               /* Wakers of this pair are stored as */
	void *priv_home_data;                       /* their id alone (never NULL). */
	struct gale_waker *priv_foreign;            /* Other wakers, 2 per slot, by index. */
	uint32_t priv_foreign_cap;                  /* Slots it covers. */
};

/**
 * Initialises a reactor over driver.
 *
 * @param reactor            caller-allocated; filled in place.
 * @param driver             borrowed until gale_reactor_deinit().
 * @param allocator          borrowed until deinit; NULL means gale_allocator_default().
 * @param registrations_max  hard limit on live registrations (> 0; values above
 *                           GALE_REACTOR_REGISTRATIONS_UNLIMITED mean that). Memory follows
 *                           use: one chunk of 256 slots at first (fewer under a smaller
 *                           limit), another added by gale_reactor_register() whenever all
 *                           are used, none freed before deinit; slots never move and tokens
 *                           stay valid across growth.
 * @param events_cap         events taken per turn (> 0).
 * @return 0, -EINVAL (zero capacity), -ENOMEM. On failure nothing is allocated.
 */
GALE_EXTERN int gale_reactor_init(struct gale_reactor *reactor, struct gale_driver *driver,
				  const struct gale_allocator *allocator,
				  uint32_t registrations_max, int events_cap);

/**
 * Releases the reactor's memory.
 *
 * @return 0, or -EBUSY while registrations exist (nothing is freed then; deregister them
 *         and call again). Idempotent on a zeroed or already deinit'd reactor.
 */
GALE_EXTERN int gale_reactor_deinit(struct gale_reactor *reactor);

/**
 * Registers fd with the driver for interest (READ and/or WRITE), edge-triggered.
 *
 * Adds a chunk of slots when all are used (bounded by registrations_max); the only
 * allocation after init.
 *
 * @param token_out  set on success.
 * @return 0, -ENOSPC (registrations_max live registrations: the hard limit; counted in
 *         registrations_refused_count), -ENOMEM (growth failed), -EINVAL
 *         (interest is not READ and/or WRITE: none of them, or other bits), or
 *         the driver's fd_register error: -EBADF (not open), -EEXIST (already registered),
 *         -EPERM (fd cannot be polled, e.g. a regular file), -ENOMEM.
 */
GALE_EXTERN int gale_reactor_register(struct gale_reactor *reactor, int fd, uint32_t interest,
				      uint64_t *token_out);

/**
 * Changes the interest of a registration (the driver re-arms, so current readiness is
 * reported again). @return 0, GALE_E_CLOSED (stale token), -EINVAL (interest as for
 * register), or the driver's error.
 */
GALE_EXTERN int gale_reactor_reregister(struct gale_reactor *reactor, uint64_t token,
					uint32_t interest);

/**
 * Deregisters: tells the driver, wakes every stored waker and waiter (they then see
 * GALE_E_CLOSED), and retires the token. The slot is reused with a new generation.
 * The fd is not closed: its owner closes it after this call.
 *
 * @return 0, GALE_E_CLOSED (stale token), or the driver's fd_deregister error (the
 *         registration is dropped all the same: a closed fd cannot stay registered).
 */
GALE_EXTERN int gale_reactor_deregister(struct gale_reactor *reactor, uint64_t token);

/**
 * One turn: waits up to timeout_ns (-1 no limit, 0 poll) for driver events, records
 * readiness and wakes the affected wakers and waiters.
 *
 * @return the number of events taken (stale ones included), -EINVAL (timeout_ns < -1;
 *         nothing waited), or the driver's wait error.
 */
GALE_EXTERN int gale_reactor_turn(struct gale_reactor *reactor, int64_t timeout_ns);

/**
 * Poll-style readiness for one direction. If any of that direction's readiness is set
 * (READ: READ|RDHUP|HUP|ERROR; WRITE: WRITE|HUP|ERROR), fills event_out and returns 0.
 * Otherwise stores cx's waker in the direction's single slot (replacing the previous
 * one: the most recent caller wins) and returns GALE_PENDING.
 *
 * @return 0, GALE_PENDING, GALE_E_CLOSED (stale token), or -EINVAL (direction is neither
 *         GALE_DIRECTION_READ nor GALE_DIRECTION_WRITE).
 */
GALE_EXTERN int gale_reactor_poll_ready(struct gale_reactor *reactor, uint64_t token,
					enum gale_direction direction, struct gale_cx *cx,
					struct gale_ready_event *event_out);

/** Initialises a waiter for interest (READ and/or WRITE; with anything else the waiter's
 * polls return -EINVAL). */
GALE_EXTERN void gale_ready_waiter_init(struct gale_ready_waiter *waiter, uint32_t interest);

/**
 * Future-style readiness: like gale_reactor_poll_ready() but for waiter->interest and
 * with any number of concurrent waiters. On GALE_PENDING the waiter is linked (and must
 * stay in place); it is unlinked when it returns 0 or an error, or when woken. On 0,
 * event_out->ready is the registration's readiness now intersected with the interest's
 * mask (as for poll_ready, per direction): what is set, never the whole mask.
 *
 * @return 0 (event_out filled), GALE_PENDING, GALE_E_CLOSED (stale token), or -EINVAL
 *         (the waiter's interest is not READ and/or WRITE; nothing linked). Polling a
 *         linked waiter for another token is a programmer error (asserted).
 */
GALE_EXTERN int gale_reactor_poll_waiter(struct gale_reactor *reactor, uint64_t token,
					 struct gale_ready_waiter *waiter, struct gale_cx *cx,
					 struct gale_ready_event *event_out);

/** Unlinks a waiter if linked (future dropped). Safe to call on any initialised waiter. */
GALE_EXTERN void gale_reactor_waiter_cancel(struct gale_reactor *reactor,
					    struct gale_ready_waiter *waiter);

/**
 * Clears the READ/WRITE bits of event, but only if no event arrived since it was observed
 * (the tick still matches). Call it only after an operation reported -EAGAIN. RDHUP, HUP
 * and ERROR are final and never cleared. A stale token is ignored. Bits actually cleared
 * are reported to the observer's ready_cleared, if one is installed. event must be one
 * this reactor handed out (poll_ready, poll_waiter): unknown bits are asserted.
 */
GALE_EXTERN void gale_reactor_clear_ready(struct gale_reactor *reactor, uint64_t token,
					  struct gale_ready_event event);

/** Current readiness bits of a registration (0 for a stale token). For tests and oracles. */
GALE_EXTERN uint32_t gale_reactor_ready_get(const struct gale_reactor *reactor, uint64_t token);

/** True when token names a live registration. */
GALE_EXTERN bool gale_reactor_is_registered(const struct gale_reactor *reactor, uint64_t token);

/** The number of live registrations. */
GALE_EXTERN uint32_t gale_reactor_registrations_count(const struct gale_reactor *reactor);

/** True when some registration holds a waker or a waiter (an event could wake a task). O(1). */
GALE_EXTERN bool gale_reactor_has_waiters(const struct gale_reactor *reactor);

/**
 * Installs an observer (see struct gale_reactor_observer), replacing any previous one.
 * @param observer  borrowed until replaced, removed (NULL) or the reactor's deinit.
 */
GALE_EXTERN void gale_reactor_observer_set(struct gale_reactor *reactor,
					   const struct gale_reactor_observer *observer);

/**
 * Introspection for oracles (the lost-wakeup check runs it after a stall): is a waker that
 * wakes the same target as waker (same wake, data and id: gale_waker_will_wake) stored in
 * some registration's read or write slot or in one of its waiters? O(registrations +
 * waiters); not for hot paths.
 *
 * @param token_out     set to the registration holding it (may be NULL).
 * @param interest_out  set to what it waits for: GALE_READY_READ (read slot),
 *                      GALE_READY_WRITE (write slot) or the waiter's interest (may be NULL).
 * @return true when found (the first registration in slot order).
 */
GALE_EXTERN bool gale_reactor_waker_find(const struct gale_reactor *reactor,
					 const struct gale_waker *waker, uint64_t *token_out,
					 uint32_t *interest_out);

/** The fd of a live registration, or -1 for a stale token. For messages and oracles. */
GALE_EXTERN int gale_reactor_fd(const struct gale_reactor *reactor, uint64_t token);

/** The driver this reactor runs on (borrowed). */
GALE_EXTERN struct gale_driver *gale_reactor_driver(const struct gale_reactor *reactor);

/** Counters since init. */
GALE_EXTERN struct gale_reactor_stats gale_reactor_stats_get(const struct gale_reactor *reactor);

GALE_END_DECLS

#endif /* GALE_IO_REACTOR_H */
