/* SPDX-License-Identifier: MIT */
/*
 * Timers, sleep/timeout futures and the runtime loop, over the scripted driver.
 *
 * Methodology: time is the scripted driver's now_ns field and nothing else. Two ways to
 * move it:
 *   - by hand: the test sets script.now_ns between gale_runtime_turn() calls and scripts
 *     each wait() with gale_script_driver_expect_wait(NULL, 0), then checks the exact
 *     timeout the runtime asked for (script.last_timeout_ns);
 *   - a tiny local "clock" driver wrapping the script driver jumps now_ns to now + timeout
 *     inside each wait() that returns no events, as the simulator does, and records every
 *     timeout; gale_runtime_run()/block_on() then run to completion in virtual time.
 * Fire order is observed through wakers that append their id to an order log. The heap
 * property test draws deadlines from a fixed-seed LCG, so it is deterministic. Every test
 * deinits the runtime and checks the counting allocator for leaks.
 */
#include <errno.h>
#include <stdlib.h>

#include <gale/error.h>
#include <gale/rt.h>
#include <gale/time.h>

#include "test_support.h"

#define WAITS_CAP 16
#define FIRES_CAP 1024

/* ---- A waker that logs the order of wakes ---- */

struct fire_log {
	uint32_t ids[FIRES_CAP]; /* Waker ids in wake order. */
	uint32_t len;            /* Entries used. */
};

static void fire_log_wake_cb(void *data, uint64_t id)
{
	struct fire_log *log = data;
	assert_true(log->len < FIRES_CAP);
	log->ids[log->len++] = (uint32_t)id;
}

static struct gale_cx fire_log_cx(struct fire_log *log, uint32_t id)
{
	struct gale_cx cx = {{fire_log_wake_cb, log, id}};
	return cx;
}

/* ---- The clock driver: the script driver, plus virtual time that jumps in wait() ---- */

struct clock_driver {
	struct gale_driver base;             /* Always first. */
	struct gale_script_driver *script;   /* Scripted results and the clock field. */
	int64_t timeouts_ns[WAITS_CAP];      /* timeout_ns of every wait(), in order. */
	uint32_t waits_count;                /* wait() calls seen. */
};

static int clock_driver_wait(struct gale_driver *driver, struct gale_event *events,
			     int events_cap, int64_t timeout_ns)
{
	struct clock_driver *clock = (struct clock_driver *)driver;
	assert_true(clock->waits_count < WAITS_CAP);
	clock->timeouts_ns[clock->waits_count++] = timeout_ns;
	int rc = gale_driver_wait(&clock->script->base, events, events_cap, timeout_ns);
	/* Nothing happened: time passes to the end of the wait, as in the simulator. */
	if (rc == 0 && timeout_ns > 0)
		clock->script->now_ns += timeout_ns;
	return rc;
}

static int64_t clock_driver_now_ns(struct gale_driver *driver)
{
	struct clock_driver *clock = (struct clock_driver *)driver;
	return gale_driver_now_ns(&clock->script->base);
}

static void clock_driver_deinit(struct gale_driver *driver)
{
	(void)driver;
}

/* Only what the runtime's timer paths reach; the fd and socket ops are never called here. */
static const struct gale_driver_ops clock_driver_ops = {
	.abi_version = GALE_DRIVER_ABI_VERSION,
	.name = "clock(script)",
	.wait = clock_driver_wait,
	.now_ns = clock_driver_now_ns,
	.deinit = clock_driver_deinit,
};

/* ---- Fixture ---- */

struct fixture {
	struct gale_test_allocator allocator; /* Counts every allocation. */
	struct gale_script_driver script;     /* Time and scripted wait() results. */
	struct clock_driver clock;            /* Wraps script; used when use_clock. */
	struct gale_runtime runtime;          /* Under test. */
	struct fire_log fires;                /* Wake order of test wakers. */
};

static struct fixture *fixture_new(bool use_clock)
{
	struct fixture *fixture = calloc(1, sizeof(*fixture));
	assert_non_null(fixture);
	gale_test_allocator_init(&fixture->allocator);
	gale_script_driver_init(&fixture->script);
	fixture->script.now_ns = 1000;
	fixture->clock.base.ops = &clock_driver_ops;
	fixture->clock.script = &fixture->script;
	struct gale_runtime_options options = {
		.allocator = &fixture->allocator.base,
		.registrations_max = 4,
		.events_cap = 4,
	};
	struct gale_driver *driver = use_clock ? &fixture->clock.base : &fixture->script.base;
	assert_int_equal(gale_runtime_init(&fixture->runtime, driver, &options), 0);
	return fixture;
}

static int fixture_setup(void **state)
{
	*state = fixture_new(false);
	return 0;
}

static int fixture_setup_clock(void **state)
{
	*state = fixture_new(true);
	return 0;
}

static int fixture_teardown(void **state)
{
	struct fixture *fixture = *state;
	assert_int_equal(gale_runtime_deinit(&fixture->runtime), 0);
	assert_int_equal(gale_runtime_deinit(&fixture->runtime), 0);
	assert_int_equal(fixture->allocator.live_count, 0);
	free(fixture);
	return 0;
}

static void expect_wait_empty(void)
{
	gale_script_driver_expect_wait(NULL, 0);
}

/* ---- Tasks ---- */

struct sleep_task {
	struct gale_runtime *runtime; /* Where the sleep lives. */
	struct gale_sleep sleep;      /* Initialised on the first poll. */
	int64_t duration_ns;          /* From the first poll. */
	uint32_t polls;               /* Polls seen. */
	int64_t done_ns;              /* The clock when the sleep completed. */
	struct fire_log *done_log;    /* Optional: logs tag on completion. */
	uint32_t tag;                 /* What done_log records. */
};

static int sleep_task_poll(void *data, struct gale_cx *cx)
{
	struct sleep_task *task = data;
	if (task->polls++ == 0)
		gale_sleep_init(&task->sleep, task->runtime, task->duration_ns);
	int rc = gale_sleep_poll(&task->sleep, cx);
	if (rc != 0)
		return rc;
	task->done_ns = gale_runtime_now_ns(task->runtime);
	if (task->done_log != NULL)
		task->done_log->ids[task->done_log->len++] = task->tag;
	gale_sleep_deinit(&task->sleep);
	return 0;
}

/* An inner future that completes with result once opened, and stores its waker until. */
struct gate {
	bool open;               /* Completes when true. */
	int result;              /* Its result then. */
	uint32_t polls;          /* Polls seen. */
	struct gale_waker waker; /* The last poller's waker. */
};

static int gate_poll(void *data, struct gale_cx *cx)
{
	struct gate *gate = data;
	gate->polls++;
	if (gate->open)
		return gate->result;
	gate->waker = cx->waker;
	return GALE_PENDING;
}

struct timeout_task {
	struct gale_runtime *runtime; /* Where the deadline lives. */
	struct gale_timeout timeout;  /* Initialised on the first poll. */
	int64_t duration_ns;          /* Deadline from the first poll. */
	struct gate gate;             /* The inner future. */
	uint32_t polls;               /* Polls seen. */
};

static int timeout_task_poll(void *data, struct gale_cx *cx)
{
	struct timeout_task *task = data;
	if (task->polls++ == 0)
		gale_timeout_init(&task->timeout, task->runtime, task->duration_ns, gate_poll,
				  &task->gate);
	int rc = gale_timeout_poll(&task->timeout, cx);
	if (rc != GALE_PENDING)
		gale_timeout_deinit(&task->timeout);
	return rc;
}

/* Pending forever without storing its waker anywhere: the lost-wakeup bug. */
static int forgetful_poll(void *data, struct gale_cx *cx)
{
	uint32_t *polls = data;
	(void)cx;
	(*polls)++;
	return GALE_PENDING;
}

/* Wakes itself on every poll and never finishes. */
static int busy_poll(void *data, struct gale_cx *cx)
{
	uint32_t *polls = data;
	(*polls)++;
	gale_waker_wake(&cx->waker);
	return GALE_PENDING;
}

static struct gale_task_handle spawn_ok(struct gale_runtime *runtime, gale_poll_fn *poll_fn,
					void *data)
{
	struct gale_task_handle handle = {0};
	assert_int_equal(gale_executor_spawn(&runtime->executor, poll_fn, data, &handle), 0);
	return handle;
}

/* ---- Tests ---- */

static void test_timer_sleeps_fire_in_deadline_order(void **state)
{
	struct fixture *fixture = *state;
	struct fire_log done = {0};
	const int64_t durations_ns[3] = {30, 10, 20};
	struct sleep_task tasks[3];
	struct gale_task_handle handles[3];
	for (uint32_t i = 0; i < 3; i++) {
		tasks[i] = (struct sleep_task){.runtime = &fixture->runtime,
					       .duration_ns = durations_ns[i],
					       .done_log = &done,
					       .tag = i};
		handles[i] = spawn_ok(&fixture->runtime, sleep_task_poll, &tasks[i]);
	}
	for (int i = 0; i < 3; i++)
		expect_wait_empty();
	assert_int_equal(gale_runtime_run(&fixture->runtime), 0);
	/* Each wait lasted exactly until the next deadline, and only waits moved the clock. */
	assert_int_equal(fixture->clock.waits_count, 3);
	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(fixture->clock.timeouts_ns[i], 10);
	assert_int_equal(fixture->script.now_ns, 1030);
	assert_int_equal(gale_runtime_now_ns(&fixture->runtime), 1030);
	assert_int_equal(done.len, 3);
	assert_int_equal(done.ids[0], 1);
	assert_int_equal(done.ids[1], 2);
	assert_int_equal(done.ids[2], 0);
	for (uint32_t i = 0; i < 3; i++) {
		assert_int_equal(tasks[i].done_ns, 1000 + durations_ns[i]);
		assert_int_equal(tasks[i].polls, 2);
		int result = -1;
		assert_int_equal(gale_executor_try_join(&fixture->runtime.executor, handles[i],
							&result), 0);
		assert_int_equal(result, 0);
	}
	assert_int_equal(gale_runtime_timers_count(&fixture->runtime), 0);
}

static void test_timer_equal_deadlines_fire_in_arm_order(void **state)
{
	struct fixture *fixture = *state;
	const uint32_t arm_order[5] = {3, 0, 4, 1, 2};
	struct gale_sleep sleeps[5];
	for (uint32_t i = 0; i < 5; i++)
		gale_sleep_init_until(&sleeps[i], &fixture->runtime, 1500);
	for (uint32_t i = 0; i < 5; i++) {
		struct gale_cx cx = fire_log_cx(&fixture->fires, arm_order[i]);
		assert_int_equal(gale_sleep_poll(&sleeps[arm_order[i]], &cx), GALE_PENDING);
	}
	assert_int_equal(gale_runtime_timers_count(&fixture->runtime), 5);
	fixture->script.now_ns = 1499;
	/* One nanosecond early: the turn only polls for I/O and fires nothing. */
	expect_wait_empty();
	assert_int_equal(gale_runtime_turn(&fixture->runtime, 0), 0);
	assert_int_equal(fixture->fires.len, 0);
	fixture->script.now_ns = 1500;
	expect_wait_empty();
	assert_int_equal(gale_runtime_turn(&fixture->runtime, 0), 0);
	assert_int_equal(fixture->script.waits_count, 2);
	assert_int_equal(fixture->fires.len, 5);
	for (uint32_t i = 0; i < 5; i++) {
		assert_int_equal(fixture->fires.ids[i], arm_order[i]);
		struct gale_cx cx = fire_log_cx(&fixture->fires, 99);
		assert_int_equal(gale_sleep_poll(&sleeps[i], &cx), 0);
		gale_sleep_deinit(&sleeps[i]);
	}
	assert_int_equal(gale_runtime_timers_count(&fixture->runtime), 0);
	assert_int_equal(fixture->fires.len, 5);
}

static void test_timer_zero_and_negative_durations_complete_at_once(void **state)
{
	struct fixture *fixture = *state;
	const int64_t durations_ns[3] = {0, -5, INT64_MIN};
	struct gale_cx cx = fire_log_cx(&fixture->fires, 1);
	for (uint32_t i = 0; i < 3; i++) {
		struct gale_sleep sleep;
		gale_sleep_init(&sleep, &fixture->runtime, durations_ns[i]);
		assert_int_equal(sleep.timer.deadline_ns, 1000);
		assert_int_equal(gale_sleep_poll(&sleep, &cx), 0);
		gale_sleep_deinit(&sleep);
	}
	struct gale_sleep past;
	gale_sleep_init_until(&past, &fixture->runtime, 999);
	assert_int_equal(gale_sleep_poll(&past, &cx), 0);
	/* A huge duration saturates instead of wrapping into the past. */
	struct gale_sleep forever;
	gale_sleep_init(&forever, &fixture->runtime, INT64_MAX);
	assert_int_equal(forever.timer.deadline_ns, INT64_MAX);
	assert_int_equal(gale_sleep_poll(&forever, &cx), GALE_PENDING);
	assert_int_equal(gale_runtime_timers_count(&fixture->runtime), 1);
	gale_sleep_deinit(&forever);
	assert_int_equal(gale_runtime_timers_count(&fixture->runtime), 0);
	assert_int_equal(fixture->fires.len, 0);
}

static void test_timer_wait_timeout_is_time_to_next_deadline(void **state)
{
	struct fixture *fixture = *state;
	struct sleep_task task = {.runtime = &fixture->runtime, .duration_ns = 250};
	struct gale_task_handle handle = spawn_ok(&fixture->runtime, sleep_task_poll, &task);
	expect_wait_empty();
	assert_int_equal(gale_runtime_turn(&fixture->runtime, -1), 0);
	assert_int_equal(fixture->script.last_timeout_ns, 250);
	/* The caller's limit wins when it is shorter. */
	expect_wait_empty();
	assert_int_equal(gale_runtime_turn(&fixture->runtime, 100), 0);
	assert_int_equal(fixture->script.last_timeout_ns, 100);
	fixture->script.now_ns = 1100;
	expect_wait_empty();
	assert_int_equal(gale_runtime_turn(&fixture->runtime, 500), 0);
	assert_int_equal(fixture->script.last_timeout_ns, 150);
	/* Due: fired before waiting, so the woken task makes the wait a poll. */
	fixture->script.now_ns = 1250;
	expect_wait_empty();
	assert_int_equal(gale_runtime_turn(&fixture->runtime, -1), 0);
	assert_int_equal(fixture->script.last_timeout_ns, 0);
	assert_int_equal(gale_executor_runnable_count(&fixture->runtime.executor), 1);
	/* The task finishes; with nothing live the turn does not wait at all. */
	assert_int_equal(gale_runtime_turn(&fixture->runtime, -1), 0);
	assert_int_equal(fixture->script.waits_count, 4);
	assert_int_equal(task.polls, 2);
	assert_int_equal(task.done_ns, 1250);
	int result = -1;
	assert_int_equal(gale_runtime_block_on(&fixture->runtime, handle, &result), 0);
	assert_int_equal(result, 0);
}

static void test_timer_timeout_elapses_before_inner(void **state)
{
	struct fixture *fixture = *state;
	struct timeout_task task = {.runtime = &fixture->runtime, .duration_ns = 50};
	struct gale_task_handle handle = spawn_ok(&fixture->runtime, timeout_task_poll, &task);
	expect_wait_empty();
	int result = 0;
	assert_int_equal(gale_runtime_block_on(&fixture->runtime, handle, &result), 0);
	assert_int_equal(result, GALE_E_TIMED_OUT);
	assert_int_equal(fixture->clock.waits_count, 1);
	assert_int_equal(fixture->clock.timeouts_ns[0], 50);
	assert_int_equal(fixture->script.now_ns, 1050);
	/* The inner future was polled before the deadline was checked, both times. */
	assert_int_equal(task.gate.polls, 2);
	assert_int_equal(task.polls, 2);
	assert_int_equal(gale_runtime_timers_count(&fixture->runtime), 0);
}

static void timeout_inner_wins(struct fixture *fixture, int64_t now_ns)
{
	struct timeout_task task = {.runtime = &fixture->runtime, .duration_ns = 100};
	task.gate.result = -ECONNRESET;
	struct gale_task_handle handle = spawn_ok(&fixture->runtime, timeout_task_poll, &task);
	expect_wait_empty();
	assert_int_equal(gale_runtime_turn(&fixture->runtime, -1), 0);
	assert_int_equal(fixture->script.last_timeout_ns, 100);
	assert_int_equal(gale_runtime_timers_count(&fixture->runtime), 1);
	task.gate.open = true;
	gale_waker_wake(&task.gate.waker);
	fixture->script.now_ns = now_ns;
	int result = 0;
	assert_int_equal(gale_runtime_block_on(&fixture->runtime, handle, &result), 0);
	assert_int_equal(result, -ECONNRESET);
	assert_int_equal(task.polls, 2);
	assert_int_equal(gale_runtime_timers_count(&fixture->runtime), 0);
	assert_int_equal(fixture->script.waits_count, 1);
}

static void test_timer_timeout_inner_first_wins(void **state)
{
	struct fixture *fixture = *state;
	timeout_inner_wins(fixture, 1050);
}

static void test_timer_timeout_inner_wins_when_both_due(void **state)
{
	struct fixture *fixture = *state;
	timeout_inner_wins(fixture, 1100);
}

static void test_timer_repoll_replaces_waker(void **state)
{
	struct fixture *fixture = *state;
	struct gale_sleep sleep;
	gale_sleep_init(&sleep, &fixture->runtime, 10);
	struct gale_cx first = fire_log_cx(&fixture->fires, 1);
	struct gale_cx second = fire_log_cx(&fixture->fires, 2);
	assert_int_equal(gale_sleep_poll(&sleep, &first), GALE_PENDING);
	assert_int_equal(gale_sleep_poll(&sleep, &second), GALE_PENDING);
	assert_int_equal(gale_runtime_timers_count(&fixture->runtime), 1);
	fixture->script.now_ns = 1010;
	assert_int_equal(gale_runtime_turn(&fixture->runtime, -1), 0);
	assert_int_equal(fixture->fires.len, 1);
	assert_int_equal(fixture->fires.ids[0], 2);
	assert_int_equal(gale_runtime_timers_count(&fixture->runtime), 0);
	gale_sleep_deinit(&sleep);
}

static void test_timer_sleep_deinit_disarms(void **state)
{
	struct fixture *fixture = *state;
	struct gale_sleep sleeps[3];
	for (uint32_t i = 0; i < 3; i++) {
		gale_sleep_init(&sleeps[i], &fixture->runtime, 10 * (int64_t)(i + 1));
		struct gale_cx cx = fire_log_cx(&fixture->fires, i);
		assert_int_equal(gale_sleep_poll(&sleeps[i], &cx), GALE_PENDING);
	}
	assert_int_equal(gale_runtime_timers_count(&fixture->runtime), 3);
	/* The root and an inner node: both leave the heap without firing. */
	gale_sleep_deinit(&sleeps[0]);
	gale_sleep_deinit(&sleeps[1]);
	gale_sleep_deinit(&sleeps[1]);
	assert_int_equal(gale_runtime_timers_count(&fixture->runtime), 1);
	assert_int_equal(gale_runtime_deinit(&fixture->runtime), -EBUSY);
	fixture->script.now_ns = 1030;
	assert_int_equal(gale_runtime_turn(&fixture->runtime, -1), 0);
	assert_int_equal(fixture->fires.len, 1);
	assert_int_equal(fixture->fires.ids[0], 2);
	gale_sleep_deinit(&sleeps[2]);
	assert_int_equal(gale_runtime_timers_count(&fixture->runtime), 0);
}

static void test_timer_reset_moves_deadline(void **state)
{
	struct fixture *fixture = *state;
	struct gale_sleep sleep;
	gale_sleep_init(&sleep, &fixture->runtime, 100);
	struct gale_cx cx = fire_log_cx(&fixture->fires, 7);
	assert_int_equal(gale_sleep_poll(&sleep, &cx), GALE_PENDING);
	/* Later: disarmed until the next poll, which re-arms at the new deadline. */
	gale_sleep_reset(&sleep, 1300);
	assert_int_equal(gale_runtime_timers_count(&fixture->runtime), 0);
	assert_int_equal(gale_sleep_poll(&sleep, &cx), GALE_PENDING);
	assert_int_equal(gale_runtime_timers_count(&fixture->runtime), 1);
	fixture->script.now_ns = 1150;
	expect_wait_empty();
	assert_int_equal(gale_runtime_turn(&fixture->runtime, 0), 0);
	assert_int_equal(fixture->fires.len, 0);
	assert_int_equal(gale_sleep_poll(&sleep, &cx), GALE_PENDING);
	/* Earlier, and already due: completes on the next poll. */
	gale_sleep_reset(&sleep, 1140);
	assert_int_equal(gale_sleep_poll(&sleep, &cx), 0);
	assert_int_equal(gale_runtime_timers_count(&fixture->runtime), 0);
	gale_sleep_reset(&sleep, 1300);
	assert_int_equal(gale_sleep_poll(&sleep, &cx), GALE_PENDING);
	fixture->script.now_ns = 1300;
	assert_int_equal(gale_runtime_turn(&fixture->runtime, -1), 0);
	assert_int_equal(fixture->fires.len, 1);
	assert_int_equal(fixture->fires.ids[0], 7);
	assert_int_equal(gale_sleep_poll(&sleep, &cx), 0);
	gale_sleep_deinit(&sleep);
}

static void test_timer_stall_instead_of_hanging(void **state)
{
	struct fixture *fixture = *state;
	uint32_t polls = 0;
	struct gale_task_handle handle = spawn_ok(&fixture->runtime, forgetful_poll, &polls);
	assert_int_equal(gale_runtime_run(&fixture->runtime), GALE_E_STALL);
	assert_int_equal(polls, 1);
	int result = 0;
	assert_int_equal(gale_runtime_block_on(&fixture->runtime, handle, &result), GALE_E_STALL);
	assert_int_equal(fixture->script.waits_count, 0);
	assert_int_equal(gale_runtime_deinit(&fixture->runtime), -EBUSY);
	assert_int_equal(gale_executor_abort(&fixture->runtime.executor, handle), 0);
	assert_int_equal(gale_runtime_block_on(&fixture->runtime, handle, &result), 0);
	assert_int_equal(result, GALE_E_CANCELED);
	assert_int_equal(gale_runtime_block_on(&fixture->runtime, handle, &result), -ESRCH);
	assert_int_equal(polls, 1);
}

static void test_timer_run_returns_wait_error(void **state)
{
	struct fixture *fixture = *state;
	struct sleep_task task = {.runtime = &fixture->runtime, .duration_ns = 40};
	struct gale_task_handle handle = spawn_ok(&fixture->runtime, sleep_task_poll, &task);
	gale_script_driver_expect_wait(NULL, -ENOMEM);
	assert_int_equal(gale_runtime_run(&fixture->runtime), -ENOMEM);
	assert_int_equal(fixture->script.last_timeout_ns, 40);
	expect_wait_empty();
	assert_int_equal(gale_runtime_turn(&fixture->runtime, -1), 0);
	fixture->script.now_ns = 1040;
	expect_wait_empty();
	int result = -1;
	assert_int_equal(gale_runtime_block_on(&fixture->runtime, handle, &result), 0);
	assert_int_equal(result, 0);
	assert_int_equal(fixture->script.waits_count, 3);
	assert_int_equal(fixture->script.last_timeout_ns, 0);
}

static void test_timer_polls_per_turn_then_no_wait(void **state)
{
	(void)state;
	struct gale_test_allocator allocator;
	gale_test_allocator_init(&allocator);
	struct gale_script_driver script;
	gale_script_driver_init(&script);
	struct gale_runtime runtime;
	struct gale_runtime_options options = {.allocator = &allocator.base, .polls_per_turn = 4};
	assert_int_equal(gale_runtime_init(&runtime, &script.base, &options), 0);
	assert_ptr_equal(gale_runtime_driver(&runtime), &script.base);
	uint32_t polls = 0;
	struct gale_task_handle handle = spawn_ok(&runtime, busy_poll, &polls);
	expect_wait_empty();
	assert_int_equal(gale_runtime_turn(&runtime, -1), 0);
	assert_int_equal(polls, 4);
	/* Still runnable: the wait only polls for I/O. */
	assert_int_equal(script.last_timeout_ns, 0);
	assert_int_equal(gale_executor_abort(&runtime.executor, handle), 0);
	int result = 0;
	assert_int_equal(gale_executor_try_join(&runtime.executor, handle, &result), 0);
	assert_int_equal(result, GALE_E_CANCELED);
	assert_int_equal(gale_runtime_deinit(&runtime), 0);
	assert_int_equal(allocator.live_count, 0);
}

static void test_timer_runtime_init_and_deinit(void **state)
{
	(void)state;
	struct gale_runtime_options defaults = gale_runtime_options_default();
	assert_null(defaults.allocator);
	assert_int_equal(defaults.registrations_max, GALE_REACTOR_REGISTRATIONS_UNLIMITED);
	assert_int_equal(defaults.events_cap, 256);
	assert_int_equal(defaults.polls_per_turn, 256);
	struct gale_runtime zeroed = {0};
	assert_int_equal(gale_runtime_deinit(&zeroed), 0);
	struct gale_test_allocator allocator;
	gale_test_allocator_init(&allocator);
	struct gale_script_driver script;
	gale_script_driver_init(&script);
	struct gale_runtime_options options = {.allocator = &allocator.base};
	struct gale_runtime runtime;
	/* The reactor's memory fails: nothing stays allocated and deinit is a no-op. */
	allocator.fail_at = 1;
	assert_int_equal(gale_runtime_init(&runtime, &script.base, &options), -ENOMEM);
	assert_int_equal(allocator.live_count, 0);
	assert_int_equal(gale_runtime_deinit(&runtime), 0);
	allocator.fail_at = 0;
	assert_int_equal(gale_runtime_init(&runtime, &script.base, &options), 0);
	assert_int_equal(runtime.priv_polls_per_turn, 256);
	assert_true(allocator.live_count > 0);
	assert_int_equal(gale_runtime_deinit(&runtime), 0);
	assert_int_equal(allocator.live_count, 0);
	assert_int_equal(gale_runtime_deinit(&runtime), 0);
}

/* Issue 13: events_cap = -1 asserted in gale_runtime_init; timeout_ns < -1 asserted in
 * gale_runtime_turn. Both are values: -EINVAL, nothing allocated, nothing run. */
static void test_timer_runtime_bad_values_are_einval(void **state)
{
	(void)state;
	struct gale_test_allocator allocator;
	gale_test_allocator_init(&allocator);
	struct gale_script_driver script;
	gale_script_driver_init(&script);
	struct gale_runtime_options options = {.allocator = &allocator.base, .events_cap = -1};
	struct gale_runtime runtime;
	assert_int_equal(gale_runtime_init(&runtime, &script.base, &options), -EINVAL);
	assert_int_equal(allocator.calls_count, 0);
	assert_int_equal(gale_runtime_deinit(&runtime), 0);
	options.events_cap = 0; /* The default. */
	assert_int_equal(gale_runtime_init(&runtime, &script.base, &options), 0);
	assert_ptr_equal(gale_runtime_allocator(&runtime), &allocator.base);
	uint32_t polls = 0;
	struct gale_task_handle handle = spawn_ok(&runtime, forgetful_poll, &polls);
	/* No wait() is scripted: a turn that got past the check would fail the test. */
	assert_int_equal(gale_runtime_turn(&runtime, -2), -EINVAL);
	assert_int_equal(polls, 0);
	assert_int_equal(script.waits_count, 0);
	assert_int_equal(gale_executor_abort(&runtime.executor, handle), 0);
	int result = 0;
	assert_int_equal(gale_executor_try_join(&runtime.executor, handle, &result), 0);
	assert_int_equal(gale_runtime_deinit(&runtime), 0);
	assert_int_equal(allocator.live_count, 0);
}

static void test_timer_runtime_deinit_busy(void **state)
{
	struct fixture *fixture = *state;
	/* A live task keeps the runtime busy. */
	uint32_t polls = 0;
	struct gale_task_handle handle = spawn_ok(&fixture->runtime, forgetful_poll, &polls);
	assert_int_equal(gale_runtime_deinit(&fixture->runtime), -EBUSY);
	assert_int_equal(gale_executor_abort(&fixture->runtime.executor, handle), 0);
	/* So does an armed timer, even with no task at all. */
	struct gale_sleep sleep;
	struct gale_cx cx = fire_log_cx(&fixture->fires, 0);
	gale_sleep_init(&sleep, &fixture->runtime, 5);
	assert_int_equal(gale_sleep_poll(&sleep, &cx), GALE_PENDING);
	assert_int_equal(gale_runtime_deinit(&fixture->runtime), -EBUSY);
	gale_sleep_deinit(&sleep);
	assert_int_equal(gale_runtime_timers_count(&fixture->runtime), 0);
	/* An unknown handle fails before any turn. */
	int result = 0;
	struct gale_task_handle bogus = {(uint64_t)9 << 32 | 3};
	assert_int_equal(gale_runtime_block_on(&fixture->runtime, bogus, &result), -ESRCH);
	assert_int_equal(fixture->script.waits_count, 0);
	assert_int_equal(polls, 0);
	assert_int_equal(fixture->fires.len, 0);
	/* The teardown's deinit succeeds: the aborted task's result is simply discarded. */
}

/* ---- Heap property test ---- */

#define PROPERTY_TIMERS_COUNT 1000

struct property {
	struct gale_sleep sleeps[PROPERTY_TIMERS_COUNT]; /* The timers. */
	bool armed[PROPERTY_TIMERS_COUNT];               /* Still expected to fire. */
	uint32_t expected[PROPERTY_TIMERS_COUNT];        /* Sorted (deadline, arm order). */
	uint32_t expected_len;                           /* Entries in expected. */
};

static uint64_t lcg_next(uint64_t *lcg)
{
	*lcg = *lcg * 6364136223846793005u + 1442695040888963407u;
	return *lcg >> 33;
}

/* Sorted insert of index by (deadline, index); arm order equals index order here. */
static void property_expect(struct property *property, uint32_t index)
{
	int64_t deadline_ns = property->sleeps[index].timer.deadline_ns;
	uint32_t at = property->expected_len;
	while (at > 0 && property->sleeps[property->expected[at - 1]].timer.deadline_ns >
				 deadline_ns) {
		property->expected[at] = property->expected[at - 1];
		at--;
	}
	property->expected[at] = index;
	property->expected_len++;
}

static void test_timer_heap_property(void **state)
{
	struct fixture *fixture = *state;
	struct property *property = calloc(1, sizeof(*property));
	assert_non_null(property);
	uint64_t lcg = 0x5eed;
	for (uint32_t i = 0; i < PROPERTY_TIMERS_COUNT; i++) {
		/* 1000 deadlines over 300 values: plenty of ties. */
		int64_t deadline_ns = 2000 + (int64_t)(lcg_next(&lcg) % 300);
		gale_sleep_init_until(&property->sleeps[i], &fixture->runtime, deadline_ns);
		struct gale_cx cx = fire_log_cx(&fixture->fires, i);
		assert_int_equal(gale_sleep_poll(&property->sleeps[i], &cx), GALE_PENDING);
		property->armed[i] = true;
	}
	assert_int_equal(gale_runtime_timers_count(&fixture->runtime), PROPERTY_TIMERS_COUNT);
	uint32_t disarmed_count = 0;
	while (disarmed_count < PROPERTY_TIMERS_COUNT / 3) {
		uint32_t i = (uint32_t)(lcg_next(&lcg) % PROPERTY_TIMERS_COUNT);
		if (!property->armed[i])
			continue;
		gale_sleep_deinit(&property->sleeps[i]);
		property->armed[i] = false;
		disarmed_count++;
	}
	for (uint32_t i = 0; i < PROPERTY_TIMERS_COUNT; i++) {
		if (property->armed[i])
			property_expect(property, i);
	}
	assert_int_equal(property->expected_len, PROPERTY_TIMERS_COUNT - 333);
	assert_int_equal(gale_runtime_timers_count(&fixture->runtime), property->expected_len);
	/* Two stages: the first half of the deadlines, then the rest. */
	fixture->script.now_ns = 2149;
	expect_wait_empty();
	assert_int_equal(gale_runtime_turn(&fixture->runtime, 0), 0);
	uint32_t first_len = fixture->fires.len;
	assert_true(first_len > 0 && first_len < property->expected_len);
	assert_int_equal(gale_runtime_timers_count(&fixture->runtime),
			 property->expected_len - first_len);
	uint32_t last = property->expected[first_len - 1];
	assert_true(property->sleeps[last].timer.deadline_ns <= 2149);
	assert_true(property->sleeps[property->expected[first_len]].timer.deadline_ns > 2149);
	fixture->script.now_ns = 2299;
	assert_int_equal(gale_runtime_turn(&fixture->runtime, -1), 0);
	assert_int_equal(fixture->fires.len, property->expected_len);
	for (uint32_t i = 0; i < property->expected_len; i++)
		assert_int_equal(fixture->fires.ids[i], property->expected[i]);
	assert_int_equal(gale_runtime_timers_count(&fixture->runtime), 0);
	assert_null(fixture->runtime.priv_timer_root);
	free(property);
}

int gale_test_group(void)
{
#define TIMER_TEST(name) cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)
#define CLOCK_TEST(name)                                                                   \
	cmocka_unit_test_setup_teardown(name, fixture_setup_clock, fixture_teardown)
	const struct CMUnitTest tests[] = {
		CLOCK_TEST(test_timer_sleeps_fire_in_deadline_order),
		TIMER_TEST(test_timer_equal_deadlines_fire_in_arm_order),
		TIMER_TEST(test_timer_zero_and_negative_durations_complete_at_once),
		TIMER_TEST(test_timer_wait_timeout_is_time_to_next_deadline),
		CLOCK_TEST(test_timer_timeout_elapses_before_inner),
		TIMER_TEST(test_timer_timeout_inner_first_wins),
		TIMER_TEST(test_timer_timeout_inner_wins_when_both_due),
		TIMER_TEST(test_timer_repoll_replaces_waker),
		TIMER_TEST(test_timer_sleep_deinit_disarms),
		TIMER_TEST(test_timer_reset_moves_deadline),
		TIMER_TEST(test_timer_stall_instead_of_hanging),
		TIMER_TEST(test_timer_run_returns_wait_error),
		cmocka_unit_test(test_timer_polls_per_turn_then_no_wait),
		cmocka_unit_test(test_timer_runtime_init_and_deinit),
		cmocka_unit_test(test_timer_runtime_bad_values_are_einval),
		TIMER_TEST(test_timer_runtime_deinit_busy),
		TIMER_TEST(test_timer_heap_property),
	};
#undef TIMER_TEST
#undef CLOCK_TEST
	return cmocka_run_group_tests(tests, NULL, NULL);
}
