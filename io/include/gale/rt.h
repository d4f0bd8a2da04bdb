/* SPDX-License-Identifier: MIT */
/*
 * The single-threaded executor and the runtime (executor + reactor + timers over a driver).
 *
 * Tasks are poll functions over caller-owned state. The executor keeps a slab of task
 * slots; a task id is slot | generation << 32, so a waker that outlives its task (or whose
 * slot was reused) is recognised and ignored. Rules:
 *   - a wake while the task is queued queues it once; a wake while it is being polled
 *     makes it run again after this poll; a wake after completion is ignored;
 *   - runnable tasks run in FIFO order unless a scheduling hook chooses (the simulator
 *     uses it to explore interleavings deterministically);
 *   - allocation happens only in spawn (slab growth) through the executor's allocator;
 *     polling, waking and joining never allocate.
 * The runtime loop: run the runnable tasks, fire expired timers, and when nothing is
 * runnable wait on the reactor until the next timer deadline. When tasks are pending and
 * nothing at all could wake them (no timers, no reactor wakers) it returns GALE_E_STALL
 * instead of sleeping forever.
 *
 * Thread affinity: an executor and a runtime belong to one thread at a time.
 */
#ifndef GALE_IO_RT_H
#define GALE_IO_RT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gale/alloc.h>
#include <gale/common.h>
#include <gale/driver.h>
#include <gale/reactor.h>
#include <gale/task.h>

GALE_BEGIN_DECLS

/* A spawned task. id 0 never names a task. Copy freely; it is only a name. */
struct gale_task_handle {
	uint64_t id; /* slot | generation << 32. */
};

/*
 * Scheduling hook: picks which runnable task runs next, as an index into the run queue in
 * FIFO order (0 = oldest). Must return a value < runnable_count (asserted).
 */
typedef uint32_t gale_schedule_fn(void *data, uint32_t runnable_count);

struct gale_executor_stats {
	uint64_t spawns_count;        /* Tasks spawned. */
	uint64_t polls_count;         /* Task polls. */
	uint64_t wakes_count;         /* Wakes that queued (or re-armed) a task. */
	uint64_t wakes_ignored_count; /* Wakes of queued, finished or unknown tasks. */
};

struct gale_task_slot; /* Private, defined in executor.c. */

/*
 * An optional observer of task polls, for harnesses (the simulator's scenario runner
 * records each poll for timelines). Either callback may be NULL. They run inside
 * gale_executor_run_ready(), around the poll: they may record, but must not call back
 * into the executor. Without an observer the cost is one NULL check per poll.
 */
struct gale_executor_observer {
	/* task is about to be polled. */
	void (*poll_begin)(void *data, struct gale_task_handle task);
	/* task's poll returned rc: GALE_PENDING, or a result (the task finishes with it, or
	 * with GALE_E_CANCELED when it was aborted during this poll). */
	void (*poll_end)(void *data, struct gale_task_handle task, int rc);
	void *data; /* Passed back to both callbacks. Borrowed. */
};

struct gale_executor {
	/* Private: do not touch. */
	const struct gale_allocator *priv_allocator; /* Borrowed. */
	struct gale_task_slot *priv_slots;          /* Slab; grows in spawn only. */
	struct gale_waker *priv_joiners;            /* poll_join's wakers, by slot index. */
	uint32_t priv_slots_cap;                    /* Slots allocated. */
	uint32_t priv_slots_inited;                 /* High water: slots ever used. */
	uint32_t priv_free_head;                    /* Free slot list (index, cap = none). */
	uint32_t priv_live_count;                   /* Spawned and not finished. */
	uint32_t priv_used_count;                   /* Slots in use (live + unjoined). */
	uint32_t priv_queue_head;                   /* Run queue: first slot index. */
	uint32_t priv_queue_tail;                   /* Run queue: last slot index. */
	uint32_t priv_queue_len;                    /* Slots in the run queue. */
	uint32_t priv_current;                      /* Slot being polled, or cap. */
	gale_schedule_fn *priv_schedule;            /* NULL: FIFO. */
	void *priv_schedule_data;                   /* For priv_schedule. */
	struct gale_executor_stats priv_stats;      /* Counters. */
	const struct gale_executor_observer *priv_observer; /* Optional; borrowed. */
};

/**
 * @param allocator  borrowed until deinit; NULL means gale_allocator_default().
 * @return 0. Allocates nothing until the first spawn.
 */
GALE_EXTERN int gale_executor_init(struct gale_executor *executor,
				   const struct gale_allocator *allocator);

/**
 * Frees the slab. @return 0, or -EBUSY while unfinished tasks exist (nothing freed).
 * Finished, unjoined results are discarded. Idempotent on a zeroed executor. Not from
 * inside a poll (asserted).
 */
GALE_EXTERN int gale_executor_deinit(struct gale_executor *executor);

/**
 * Spawns a task and queues it to be polled.
 *
 * @param poll        called with (data, cx) until it returns something other than
 *                    GALE_PENDING; that value is the task's result.
 * @param data        borrowed until the task finishes (or is aborted).
 * @param handle_out  set on success; later join it or detach it.
 * @return 0, or -ENOMEM (slab growth failed; nothing spawned).
 */
GALE_EXTERN int gale_executor_spawn(struct gale_executor *executor, gale_poll_fn *poll,
				    void *data, struct gale_task_handle *handle_out);

/**
 * Detaches: the result will be discarded and the slot freed when the task finishes (at
 * once if it already has). The handle is invalid afterwards. @return 0 or -ESRCH.
 */
GALE_EXTERN int gale_executor_detach(struct gale_executor *executor,
				     struct gale_task_handle handle);

/**
 * Aborts an unfinished task: it is never polled again and finishes with GALE_E_CANCELED
 * (its joiner is woken). The task's data is the caller's to clean up. Aborting the task
 * being polled right now takes effect when its poll returns.
 * @return 0, or -ESRCH (unknown handle), or -EALREADY (already finished).
 */
GALE_EXTERN int gale_executor_abort(struct gale_executor *executor,
				    struct gale_task_handle handle);

/**
 * Takes a finished task's result and frees its slot.
 * @return 0 (*result_out set), -EAGAIN (not finished yet), -ESRCH (unknown, joined or
 *         detached handle).
 */
GALE_EXTERN int gale_executor_try_join(struct gale_executor *executor,
				       struct gale_task_handle handle, int *result_out);

/**
 * Join as a poll function: like try_join, but stores cx's waker (one joiner per task,
 * the most recent wins) and returns GALE_PENDING while the task runs.
 * @return 0, GALE_PENDING, -ESRCH.
 * Cancel safety: yes; dropping the join loses nothing, the task keeps running.
 */
GALE_EXTERN int gale_executor_poll_join(struct gale_executor *executor,
					struct gale_task_handle handle, struct gale_cx *cx,
					int *result_out);

/** True when the task finished (and was not yet joined). False for unknown handles. */
GALE_EXTERN bool gale_executor_is_finished(const struct gale_executor *executor,
					   struct gale_task_handle handle);

/**
 * Polls runnable tasks, one at a time, until the run queue is empty or polls_max polls
 * were made (0 = no limit; a task that wakes itself forever then loops forever). Not
 * from inside a poll (asserted: the executor is not re-entrant).
 * @return the number of polls made.
 */
GALE_EXTERN uint32_t gale_executor_run_ready(struct gale_executor *executor, uint32_t polls_max);

/** Installs a scheduling hook (NULL restores FIFO). data is borrowed. */
GALE_EXTERN void gale_executor_schedule_set(struct gale_executor *executor,
					    gale_schedule_fn *schedule, void *data);

/**
 * Installs a poll observer (replacing any previous one; NULL removes it).
 * @param observer  borrowed until replaced, removed or gale_executor_deinit().
 */
GALE_EXTERN void gale_executor_observer_set(struct gale_executor *executor,
					    const struct gale_executor_observer *observer);

/** A waker that wakes the given task (what its cx carries). The waker of a stale handle,
 * or of the zero handle, wakes nobody. */
GALE_EXTERN struct gale_waker gale_executor_waker(struct gale_executor *executor,
						  struct gale_task_handle handle);

/** The task being polled now, or {0} outside a poll. */
GALE_EXTERN struct gale_task_handle gale_executor_current(const struct gale_executor *executor);

/** Tasks queued to run. */
GALE_EXTERN uint32_t gale_executor_runnable_count(const struct gale_executor *executor);

/** Tasks spawned and not finished. */
GALE_EXTERN uint32_t gale_executor_live_count(const struct gale_executor *executor);

/** Counters since init. */
GALE_EXTERN struct gale_executor_stats
gale_executor_stats_get(const struct gale_executor *executor);

/* ---- Introspection for harnesses and oracles (the simulator's scenario runner) ---- */

/* Called per unfinished task: runnable is true when it is queued (or being polled). */
typedef void gale_executor_task_fn(void *data, struct gale_task_handle handle, bool runnable);

/**
 * Calls fn for every unfinished task (queued, waiting for a wake, or being polled),
 * detached ones included, in slot order. fn must not spawn, abort, join or detach.
 * O(slots). @return the number of tasks visited.
 */
GALE_EXTERN uint32_t gale_executor_task_for_each_pending(const struct gale_executor *executor,
							 gale_executor_task_fn *fn, void *data);

/**
 * Is a waker that wakes the same target as waker (gale_waker_will_wake) stored as the
 * joiner of an unfinished task (gale_executor_poll_join)? O(slots).
 * @param joined_out  set to the task being joined (may be NULL).
 */
GALE_EXTERN bool gale_executor_joiner_find(const struct gale_executor *executor,
					   const struct gale_waker *waker,
					   struct gale_task_handle *joined_out);

/**
 * Aborts every unfinished task, detached ones included (teardown after a failed run: a
 * detached task has no handle to abort it by). Each finishes with GALE_E_CANCELED as with
 * gale_executor_abort(); their data is the caller's to clean up. Not from inside a poll
 * (asserted). @return how many were aborted.
 */
GALE_EXTERN uint32_t gale_executor_abort_all(struct gale_executor *executor);

/* ---- Timers (the heap lives in the runtime; futures in <gale/time.h>) ---- */

/* An intrusive timer node, embedded in sleep futures. Must not move while armed. */
struct gale_timer {
	int64_t deadline_ns; /* On the driver's clock. */
	/* Private: do not touch. */
	uint64_t priv_sequence;           /* Arm order: equal deadlines fire in this order. */
	struct gale_timer *priv_child;    /* Pairing heap: first child. */
	struct gale_timer *priv_sibling;  /* Pairing heap: next sibling. */
	struct gale_timer *priv_prev;     /* Pairing heap: parent or previous sibling. */
	struct gale_waker priv_waker;     /* Woken when the deadline passes. */
	bool priv_armed;                  /* In the heap now. */
};

/* ---- Runtime ---- */

struct gale_runtime_options {
	const struct gale_allocator *allocator; /* NULL: gale_allocator_default(). */
	uint32_t registrations_max;             /* Hard limit on registrations (default
						 * GALE_REACTOR_REGISTRATIONS_UNLIMITED:
						 * the reactor grows on demand). */
	int events_cap;                         /* Driver events per turn (default 256). */
	uint32_t polls_per_turn;                /* Task polls between I/O checks (default 256). */
};

struct gale_resolver; /* <gale/resolver.h>: the host name resolver the runtime holds. */

struct gale_runtime {
	struct gale_executor executor; /* Spawn/join tasks here. */
	struct gale_reactor reactor;   /* Register fds here (AsyncFd, TCP do it for you). */
	/* Private: do not touch. */
	struct gale_driver *priv_driver;    /* Borrowed. */
	struct gale_timer *priv_timer_root; /* Pairing heap of armed timers. */
	uint32_t priv_timers_count;         /* Armed timers. */
	uint64_t priv_timer_sequence;       /* Next arm sequence number. */
	uint32_t priv_polls_per_turn;       /* From the options. */
	struct gale_resolver *priv_resolver; /* Borrowed; NULL: none (resolver.h). */
};

/** The defaults described in struct gale_runtime_options. */
GALE_EXTERN struct gale_runtime_options gale_runtime_options_default(void);

/**
 * @param driver   borrowed until deinit (the caller inits and deinits the driver).
 * @param options  borrowed for the call; NULL means defaults. Zero fields take defaults.
 * @return 0, -EINVAL (events_cap < 0), -ENOMEM. On failure nothing is left allocated
 *         and the runtime is zeroed (deinit is a no-op).
 */
GALE_EXTERN int gale_runtime_init(struct gale_runtime *runtime, struct gale_driver *driver,
				  const struct gale_runtime_options *options);

/**
 * @return 0, or -EBUSY while tasks are unfinished, fds registered or timers armed
 *         (nothing freed). Idempotent on a zeroed runtime.
 */
GALE_EXTERN int gale_runtime_deinit(struct gale_runtime *runtime);

/**
 * Runs until no unfinished task remains. Not from inside a task's poll (asserted).
 * @return 0; GALE_E_STALL when tasks are pending and nothing (no timer, no reactor waker,
 *         nothing runnable) can ever wake them; or the driver's wait() error.
 */
GALE_EXTERN int gale_runtime_run(struct gale_runtime *runtime);

/**
 * Runs until the given task finishes, then joins it.
 * @return 0 (*result_out = the task's result), GALE_E_STALL, a wait() error, or -ESRCH.
 */
GALE_EXTERN int gale_runtime_block_on(struct gale_runtime *runtime,
				      struct gale_task_handle handle, int *result_out);

/**
 * One iteration of the loop: run up to polls_per_turn tasks, fire due timers, and take
 * I/O events, waiting at most timeout_ns (-1: until the next timer; capped by it always).
 * Useful to embed gale in another loop. @return 0, GALE_E_STALL, a wait() error, or
 * -EINVAL (timeout_ns < -1; nothing run).
 */
GALE_EXTERN int gale_runtime_turn(struct gale_runtime *runtime, int64_t timeout_ns);

/** The driver's clock, in ns. */
GALE_EXTERN int64_t gale_runtime_now_ns(struct gale_runtime *runtime);

/** The driver (borrowed). */
GALE_EXTERN struct gale_driver *gale_runtime_driver(const struct gale_runtime *runtime);

/**
 * The allocator the runtime was given (borrowed; gale_allocator_default() when options
 * named none). Service code that allocates through it is leak-checked on the simulator,
 * whose runner hands every runtime its counting allocator, and uses malloc in production.
 */
GALE_EXTERN const struct gale_allocator *gale_runtime_allocator(const struct gale_runtime *runtime);

/** Armed timers. */
GALE_EXTERN uint32_t gale_runtime_timers_count(const struct gale_runtime *runtime);

/**
 * Introspection for oracles: is a waker that wakes the same target as waker
 * (gale_waker_will_wake) held by an armed timer? O(armed timers).
 * @param deadline_out  set to that timer's deadline (may be NULL).
 */
GALE_EXTERN bool gale_runtime_timer_holds_waker(const struct gale_runtime *runtime,
						const struct gale_waker *waker,
						int64_t *deadline_out);

/**
 * Disarms every armed timer without waking anyone (teardown after a failed run, before
 * the memory holding the timers goes away). The sleeps that owned them read as not armed
 * afterwards. @return how many were disarmed.
 */
GALE_EXTERN uint32_t gale_runtime_timers_cancel_all(struct gale_runtime *runtime);

GALE_END_DECLS

#endif /* GALE_IO_RT_H */
