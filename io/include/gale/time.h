/* SPDX-License-Identifier: MIT */
/*
 * sleep and timeout futures on the driver's clock (virtual under the simulator).
 * Never a direct clock call: gale_runtime_now_ns() asks the driver.
 */
#ifndef GALE_IO_TIME_H
#define GALE_IO_TIME_H

#include <stdint.h>

#include <gale/common.h>
#include <gale/rt.h>
#include <gale/task.h>

GALE_BEGIN_DECLS

struct gale_sleep {
	struct gale_runtime *runtime; /* Borrowed until deinit. */
	struct gale_timer timer;      /* Armed while pending; must not move then. */
};

/**
 * A sleep that completes duration_ns after now (now = the driver's clock at init).
 * Negative durations are treated as 0. Allocates nothing.
 */
GALE_EXTERN void gale_sleep_init(struct gale_sleep *sleep, struct gale_runtime *runtime,
				 int64_t duration_ns);

/** A sleep that completes at deadline_ns on the driver's clock. */
GALE_EXTERN void gale_sleep_init_until(struct gale_sleep *sleep, struct gale_runtime *runtime,
				       int64_t deadline_ns);

/**
 * @return 0 once the clock reached the deadline; otherwise arms the timer with cx's waker
 *         (re-polling with another waker replaces it) and returns GALE_PENDING.
 * Cancel safety: yes; gale_sleep_deinit() disarms.
 */
GALE_EXTERN int gale_sleep_poll(struct gale_sleep *sleep, struct gale_cx *cx);

/** Moves the deadline (disarming first). The next poll re-arms. */
GALE_EXTERN void gale_sleep_reset(struct gale_sleep *sleep, int64_t deadline_ns);

/** Disarms. Must be called before the memory is reused if the sleep may be armed. */
GALE_EXTERN void gale_sleep_deinit(struct gale_sleep *sleep);

struct gale_timeout {
	struct gale_sleep sleep;  /* The deadline. */
	gale_poll_fn *inner_poll; /* The wrapped future. */
	void *inner_data;         /* Borrowed until the timeout completes or is deinit'd. */
};

/**
 * Wraps a future with a deadline duration_ns from now.
 * Polling polls the inner future first: if it completes, its result is returned (even if
 * the deadline also passed); otherwise, once the deadline passed, GALE_E_TIMED_OUT.
 */
GALE_EXTERN void gale_timeout_init(struct gale_timeout *timeout, struct gale_runtime *runtime,
				   int64_t duration_ns, gale_poll_fn *inner_poll,
				   void *inner_data);

/**
 * @return the inner result, GALE_PENDING, or GALE_E_TIMED_OUT.
 * Cancel safety: that of the inner future. After GALE_E_TIMED_OUT the inner future was
 * not completed; the caller deinits it.
 */
GALE_EXTERN int gale_timeout_poll(struct gale_timeout *timeout, struct gale_cx *cx);

/** Disarms the deadline. Does not touch the inner future. */
GALE_EXTERN void gale_timeout_deinit(struct gale_timeout *timeout);

GALE_END_DECLS

#endif /* GALE_IO_TIME_H */
