/* SPDX-License-Identifier: MIT */
/*
 * The runtime loop (rt.h): an executor, a reactor over one driver, and the timer heap.
 * Each turn runs ready tasks, fires due timers, then waits on the reactor no longer than
 * the next deadline; when nothing at all could wake a pending task it reports
 * GALE_E_STALL instead of sleeping forever.
 */
#include <assert.h>
#include <errno.h> /* E* constants only. */
#include <stdint.h>

#include <gale/error.h>
#include <gale/reactor.h>
#include <gale/rt.h>

#include "io_internal.h"

#define RUNTIME_REGISTRATIONS_MAX_DEFAULT GALE_REACTOR_REGISTRATIONS_UNLIMITED
#define RUNTIME_EVENTS_CAP_DEFAULT 256
#define RUNTIME_POLLS_PER_TURN_DEFAULT 256u

/* Returned by runtime_wait_plan() when the turn must not wait at all. */
#define RUNTIME_WAIT_SKIP 1

struct gale_runtime_options gale_runtime_options_default(void)
{
	struct gale_runtime_options options = {
		.allocator = NULL,
		.registrations_max = RUNTIME_REGISTRATIONS_MAX_DEFAULT,
		.events_cap = RUNTIME_EVENTS_CAP_DEFAULT,
		.polls_per_turn = RUNTIME_POLLS_PER_TURN_DEFAULT,
	};
	return options;
}

/* The caller's options with every zero field replaced by its default. events_cap < 0 is
 * the caller's mistake, not a default: runtime_init refuses it before resolving. */
static struct gale_runtime_options runtime_options_resolve(
	const struct gale_runtime_options *options)
{
	struct gale_runtime_options resolved = gale_runtime_options_default();
	if (options == NULL)
		return resolved;
	resolved.allocator = options->allocator;
	if (options->registrations_max != 0)
		resolved.registrations_max = options->registrations_max;
	if (options->events_cap != 0)
		resolved.events_cap = options->events_cap;
	if (options->polls_per_turn != 0)
		resolved.polls_per_turn = options->polls_per_turn;
	return resolved;
}

int gale_runtime_init(struct gale_runtime *runtime, struct gale_driver *driver,
		      const struct gale_runtime_options *options)
{
	assert(runtime != NULL);
	assert(driver != NULL && driver->ops != NULL);
	*runtime = (struct gale_runtime){0};
	if (options != NULL && options->events_cap < 0)
		return -EINVAL;
	struct gale_runtime_options resolved = runtime_options_resolve(options);
	int rc = gale_executor_init(&runtime->executor, resolved.allocator);
	if (rc < 0)
		goto out_zero;
	rc = gale_reactor_init(&runtime->reactor, driver, resolved.allocator,
			       resolved.registrations_max, resolved.events_cap);
	if (rc < 0)
		goto out_executor;
	/* Every task waker is the executor's callback and data with a task id: the reactor
	 * then keeps only the id. */
	struct gale_waker task_waker =
		gale_executor_waker(&runtime->executor, (struct gale_task_handle){0});
	gale__reactor_home_set(&runtime->reactor, task_waker.wake, task_waker.data);
	runtime->priv_driver = driver;
	runtime->priv_polls_per_turn = resolved.polls_per_turn;
	return 0;

out_executor:
	gale_executor_deinit(&runtime->executor);
out_zero:
	/* Leave a zeroed runtime, so a deinit after the failed init is a no-op. */
	*runtime = (struct gale_runtime){0};
	return rc;
}

int gale_runtime_deinit(struct gale_runtime *runtime)
{
	assert(runtime != NULL);
	if (runtime->priv_driver == NULL)
		return 0;
	if (gale_executor_live_count(&runtime->executor) > 0 ||
	    gale_reactor_registrations_count(&runtime->reactor) > 0 ||
	    runtime->priv_timers_count > 0)
		return -EBUSY;
	assert(runtime->priv_timer_root == NULL);
	int rc = gale_executor_deinit(&runtime->executor);
	assert(rc == 0);
	rc = gale_reactor_deinit(&runtime->reactor);
	assert(rc == 0);
	(void)rc;
	GALE__POISON(runtime);
	/* A second deinit must be a no-op, so the field it looks at stays meaningful. */
	runtime->priv_driver = NULL;
	return 0;
}

/* deadline - now, at least 0, saturating instead of overflowing. */
static int64_t runtime_time_until(int64_t deadline_ns, int64_t now_ns)
{
	if (deadline_ns <= now_ns)
		return 0;
	if (now_ns < 0 && deadline_ns > INT64_MAX + now_ns)
		return INT64_MAX;
	return deadline_ns - now_ns;
}

/*
 * Plans this turn's wait for I/O. Returns 0 with *wait_ns_out set: 0 when a task is
 * runnable, else the caller's limit capped by the next timer deadline. Returns
 * RUNTIME_WAIT_SKIP when no wait could matter (no live task, no timer, no limit), and
 * GALE_E_STALL when tasks are pending and nothing at all could ever wake them.
 */
static int runtime_wait_plan(struct gale_runtime *runtime, int64_t timeout_ns,
			     int64_t *wait_ns_out)
{
	assert(timeout_ns >= -1);
	assert(wait_ns_out != NULL);
	*wait_ns_out = 0;
	/* Every turn comes here: the counts are read in place rather than through calls. */
	if (gale__executor_runnable_count(&runtime->executor) > 0)
		return 0;
	int64_t wait_ns = timeout_ns;
	int64_t deadline_ns = 0;
	if (runtime->priv_timers_count > 0 && gale__timer_next_deadline(runtime, &deadline_ns)) {
		int64_t until_ns = runtime_time_until(deadline_ns, gale_runtime_now_ns(runtime));
		wait_ns = wait_ns == -1 || until_ns < wait_ns ? until_ns : wait_ns;
	}
	*wait_ns_out = wait_ns;
	if (wait_ns != -1)
		return 0;
	if (gale__executor_live_count(&runtime->executor) == 0)
		return RUNTIME_WAIT_SKIP;
	/* The public query also checks the maintained count against a scan (assert builds). */
	assert(gale__reactor_has_waiters(&runtime->reactor) ==
	       gale_reactor_has_waiters(&runtime->reactor));
	if (!gale__reactor_has_waiters(&runtime->reactor))
		return GALE_E_STALL;
	return 0;
}

/* Fires due timers; reads the clock only when a timer is armed (the I/O hot path has none). */
static void runtime_timers_fire(struct gale_runtime *runtime)
{
	if (runtime->priv_timers_count > 0)
		gale__timer_fire_due(runtime, gale_runtime_now_ns(runtime));
}

/* The first half of a turn: poll runnable tasks, then fire due timers. */
static void runtime_turn_run(struct gale_runtime *runtime)
{
	gale_executor_run_ready(&runtime->executor, runtime->priv_polls_per_turn);
	runtime_timers_fire(runtime);
}

/* The second half: wait for I/O (as planned by runtime_wait_plan), then fire timers. */
static int runtime_turn_wait(struct gale_runtime *runtime, int64_t timeout_ns)
{
	int64_t wait_ns = 0;
	int rc = runtime_wait_plan(runtime, timeout_ns, &wait_ns);
	if (rc == RUNTIME_WAIT_SKIP)
		return 0;
	if (rc < 0)
		return rc;
	rc = gale_reactor_turn(&runtime->reactor, wait_ns);
	if (rc < 0)
		return rc;
	runtime_timers_fire(runtime);
	return 0;
}

int gale_runtime_turn(struct gale_runtime *runtime, int64_t timeout_ns)
{
	assert(runtime != NULL && runtime->priv_driver != NULL);
	if (timeout_ns < -1)
		return -EINVAL;
	runtime_turn_run(runtime);
	return runtime_turn_wait(runtime, timeout_ns);
}

int gale_runtime_run(struct gale_runtime *runtime)
{
	assert(runtime != NULL && runtime->priv_driver != NULL);
	assert(gale_executor_current(&runtime->executor).id == 0);
	while (gale__executor_live_count(&runtime->executor) > 0) {
		int rc = gale_runtime_turn(runtime, -1);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int gale_runtime_block_on(struct gale_runtime *runtime, struct gale_task_handle handle,
			  int *result_out)
{
	assert(runtime != NULL && runtime->priv_driver != NULL);
	assert(result_out != NULL);
	for (;;) {
		/* -ESRCH for a bad handle comes out of the first try, before any turn. */
		int rc = gale_executor_try_join(&runtime->executor, handle, result_out);
		if (rc != -EAGAIN)
			return rc;
		runtime_turn_run(runtime);
		/* The task may have finished in this run: never block on I/O for nothing. */
		rc = gale_executor_try_join(&runtime->executor, handle, result_out);
		if (rc != -EAGAIN)
			return rc;
		rc = runtime_turn_wait(runtime, -1);
		if (rc < 0)
			return rc;
	}
}

int64_t gale_runtime_now_ns(struct gale_runtime *runtime)
{
	assert(runtime != NULL);
	assert(runtime->priv_driver != NULL);
	return gale_driver_now_ns(runtime->priv_driver);
}

struct gale_driver *gale_runtime_driver(const struct gale_runtime *runtime)
{
	assert(runtime != NULL);
	return runtime->priv_driver;
}

const struct gale_allocator *gale_runtime_allocator(const struct gale_runtime *runtime)
{
	assert(runtime != NULL);
	return runtime->executor.priv_allocator;
}

uint32_t gale_runtime_timers_count(const struct gale_runtime *runtime)
{
	assert(runtime != NULL);
	return runtime->priv_timers_count;
}
