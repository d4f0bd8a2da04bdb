/* SPDX-License-Identifier: MIT */
/*
 * The executor alone (no driver, no reactor).
 *
 * Methodology: every task is a struct test_task whose poll function follows a tiny script
 * (how many polls stay pending, how often it wakes itself during a poll, whether it aborts
 * itself) and logs each poll into a shared order log. Tests drive gale_executor_run_ready()
 * by hand and assert exact poll counts, orders, stats and join results. Allocation goes
 * through the counting test allocator, so every test also proves nothing leaked, and
 * fail_at makes slab growth fail on purpose. Everything is deterministic: no seeds.
 */
#include <errno.h>
#include <stdlib.h>

#include <gale/error.h>
#include <gale/rt.h>

#include "test_support.h"

#define ORDER_LOG_CAP 64

struct order_log {
	uint32_t tags[ORDER_LOG_CAP]; /* Task tags in the order their polls ran. */
	uint32_t len;                 /* Entries used. */
};

struct test_task {
	struct gale_executor *executor;  /* For abort/current from inside the poll. */
	struct order_log *log;           /* Optional: where polls are logged. */
	uint32_t tag;                    /* What this task logs. */
	uint32_t polls;                  /* Polls seen so far. */
	uint32_t pending_polls;          /* The first pending_polls polls return PENDING. */
	uint32_t self_wakes;             /* Self-wakes made during each pending poll. */
	uint32_t self_wakes_polls;       /* Only the first self_wakes_polls polls self-wake. */
	bool abort_self;                 /* Abort its own handle during the first poll. */
	int result;                      /* Returned once done. */
	struct gale_waker waker;         /* The cx waker of the last poll. */
	struct gale_task_handle current; /* gale_executor_current() seen inside the last poll. */
	int abort_rc;                    /* What abort() returned inside the poll. */
};

static void test_task_init(struct test_task *task, struct gale_executor *executor,
			   struct order_log *log, uint32_t tag)
{
	*task = (struct test_task){.executor = executor, .log = log, .tag = tag};
}

static int test_task_poll(void *data, struct gale_cx *cx)
{
	struct test_task *task = data;
	task->polls++;
	task->waker = cx->waker;
	task->current = gale_executor_current(task->executor);
	if (task->log != NULL && task->log->len < ORDER_LOG_CAP)
		task->log->tags[task->log->len++] = task->tag;
	if (task->abort_self && task->polls == 1)
		task->abort_rc = gale_executor_abort(task->executor, task->current);
	if (task->polls > task->pending_polls)
		return task->result;
	if (task->polls <= task->self_wakes_polls) {
		for (uint32_t i = 0; i < task->self_wakes; i++)
			gale_waker_wake(&cx->waker);
	}
	return GALE_PENDING;
}

struct fixture {
	struct gale_test_allocator allocator; /* Counts every allocation. */
	struct gale_executor executor;        /* Under test. */
	struct order_log log;                 /* Shared poll log. */
};

static int fixture_setup(void **state)
{
	struct fixture *fixture = calloc(1, sizeof(*fixture));
	assert_non_null(fixture);
	gale_test_allocator_init(&fixture->allocator);
	assert_int_equal(gale_executor_init(&fixture->executor, &fixture->allocator.base), 0);
	*state = fixture;
	return 0;
}

static int fixture_teardown(void **state)
{
	struct fixture *fixture = *state;
	assert_int_equal(gale_executor_deinit(&fixture->executor), 0);
	assert_int_equal(fixture->allocator.live_count, 0);
	assert_int_equal(fixture->allocator.live_bytes, 0);
	free(fixture);
	return 0;
}

static struct gale_task_handle spawn_ok(struct gale_executor *executor, struct test_task *task)
{
	struct gale_task_handle handle = {0};
	assert_int_equal(gale_executor_spawn(executor, test_task_poll, task, &handle), 0);
	assert_true(handle.id != 0);
	return handle;
}

static void join_expect(struct gale_executor *executor, struct gale_task_handle handle,
			int result_expected)
{
	int result = 12345;
	assert_int_equal(gale_executor_try_join(executor, handle, &result), 0);
	assert_int_equal(result, result_expected);
}

static void test_executor_fifo_order(void **state)
{
	struct fixture *fixture = *state;
	struct test_task tasks[3];
	struct gale_task_handle handles[3];
	for (uint32_t i = 0; i < 3; i++) {
		test_task_init(&tasks[i], &fixture->executor, &fixture->log, 10 + i);
		handles[i] = spawn_ok(&fixture->executor, &tasks[i]);
	}
	assert_int_equal(gale_executor_runnable_count(&fixture->executor), 3);
	assert_int_equal(gale_executor_live_count(&fixture->executor), 3);
	assert_int_equal(gale_executor_run_ready(&fixture->executor, 0), 3);
	assert_int_equal(fixture->log.len, 3);
	assert_int_equal(fixture->log.tags[0], 10);
	assert_int_equal(fixture->log.tags[1], 11);
	assert_int_equal(fixture->log.tags[2], 12);
	assert_int_equal(gale_executor_live_count(&fixture->executor), 0);
	struct gale_executor_stats stats = gale_executor_stats_get(&fixture->executor);
	assert_int_equal(stats.spawns_count, 3);
	assert_int_equal(stats.polls_count, 3);
	for (uint32_t i = 0; i < 3; i++)
		join_expect(&fixture->executor, handles[i], 0);
}

static void test_executor_polls_max_limits_a_run(void **state)
{
	struct fixture *fixture = *state;
	struct test_task tasks[3];
	struct gale_task_handle handles[3];
	for (uint32_t i = 0; i < 3; i++) {
		test_task_init(&tasks[i], &fixture->executor, &fixture->log, i);
		handles[i] = spawn_ok(&fixture->executor, &tasks[i]);
	}
	assert_int_equal(gale_executor_run_ready(&fixture->executor, 2), 2);
	assert_int_equal(gale_executor_runnable_count(&fixture->executor), 1);
	assert_int_equal(tasks[2].polls, 0);
	assert_int_equal(gale_executor_run_ready(&fixture->executor, 2), 1);
	assert_int_equal(gale_executor_run_ready(&fixture->executor, 2), 0);
	for (uint32_t i = 0; i < 3; i++)
		join_expect(&fixture->executor, handles[i], 0);
}

static void test_executor_wake_while_queued_queues_once(void **state)
{
	struct fixture *fixture = *state;
	struct test_task task;
	test_task_init(&task, &fixture->executor, NULL, 0);
	task.pending_polls = 1;
	struct gale_task_handle handle = spawn_ok(&fixture->executor, &task);
	struct gale_waker waker = gale_executor_waker(&fixture->executor, handle);
	/* Freshly spawned tasks are queued: both wakes are absorbed. */
	gale_waker_wake(&waker);
	gale_waker_wake(&waker);
	struct gale_executor_stats stats = gale_executor_stats_get(&fixture->executor);
	assert_int_equal(stats.wakes_count, 0);
	assert_int_equal(stats.wakes_ignored_count, 2);
	assert_int_equal(gale_executor_runnable_count(&fixture->executor), 1);
	assert_int_equal(gale_executor_run_ready(&fixture->executor, 0), 1);
	assert_int_equal(gale_executor_runnable_count(&fixture->executor), 0);
	assert_true(gale_waker_will_wake(&task.waker, &waker));
	/* Idle now: the first wake queues, the next two are absorbed. */
	for (int i = 0; i < 3; i++)
		gale_waker_wake(&waker);
	stats = gale_executor_stats_get(&fixture->executor);
	assert_int_equal(stats.wakes_count, 1);
	assert_int_equal(stats.wakes_ignored_count, 4);
	assert_int_equal(gale_executor_runnable_count(&fixture->executor), 1);
	assert_int_equal(gale_executor_run_ready(&fixture->executor, 0), 1);
	assert_int_equal(task.polls, 2);
	join_expect(&fixture->executor, handle, 0);
}

static void test_executor_wake_while_running_repolls_once(void **state)
{
	struct fixture *fixture = *state;
	struct test_task task;
	test_task_init(&task, &fixture->executor, NULL, 0);
	task.pending_polls = 5;
	task.self_wakes = 3;
	task.self_wakes_polls = 1;
	struct gale_task_handle handle = spawn_ok(&fixture->executor, &task);
	/* Poll 1 wakes itself three times: exactly one more poll, which stays idle. */
	assert_int_equal(gale_executor_run_ready(&fixture->executor, 0), 2);
	assert_int_equal(task.polls, 2);
	assert_int_equal(gale_executor_runnable_count(&fixture->executor), 0);
	struct gale_executor_stats stats = gale_executor_stats_get(&fixture->executor);
	assert_int_equal(stats.wakes_count, 1);
	assert_int_equal(stats.wakes_ignored_count, 2);
	assert_int_equal(stats.polls_count, 2);
	assert_int_equal(gale_executor_abort(&fixture->executor, handle), 0);
	join_expect(&fixture->executor, handle, GALE_E_CANCELED);
}

static void test_executor_wake_after_completion_ignored(void **state)
{
	struct fixture *fixture = *state;
	struct test_task task;
	test_task_init(&task, &fixture->executor, NULL, 0);
	task.result = -ECONNRESET;
	struct gale_task_handle handle = spawn_ok(&fixture->executor, &task);
	assert_int_equal(gale_executor_run_ready(&fixture->executor, 0), 1);
	assert_true(gale_executor_is_finished(&fixture->executor, handle));
	gale_waker_wake(&task.waker);
	assert_int_equal(gale_executor_runnable_count(&fixture->executor), 0);
	assert_int_equal(gale_executor_stats_get(&fixture->executor).wakes_ignored_count, 1);
	assert_int_equal(gale_executor_run_ready(&fixture->executor, 0), 0);
	assert_int_equal(task.polls, 1);
	join_expect(&fixture->executor, handle, -ECONNRESET);
	/* Joined: the slot is free, the waker is stale, still ignored. */
	gale_waker_wake(&task.waker);
	assert_int_equal(gale_executor_stats_get(&fixture->executor).wakes_ignored_count, 2);
}

static void test_executor_stale_waker_after_slot_reuse(void **state)
{
	struct fixture *fixture = *state;
	struct test_task first;
	test_task_init(&first, &fixture->executor, NULL, 0);
	struct gale_task_handle first_handle = spawn_ok(&fixture->executor, &first);
	assert_int_equal(gale_executor_run_ready(&fixture->executor, 0), 1);
	join_expect(&fixture->executor, first_handle, 0);
	struct test_task second;
	test_task_init(&second, &fixture->executor, NULL, 1);
	second.pending_polls = 1;
	struct gale_task_handle second_handle = spawn_ok(&fixture->executor, &second);
	/* Same slot, new generation. */
	assert_int_equal(second_handle.id & UINT32_MAX, first_handle.id & UINT32_MAX);
	assert_int_equal(second_handle.id >> 32, (first_handle.id >> 32) + 1);
	assert_int_equal(gale_executor_run_ready(&fixture->executor, 0), 1);
	gale_waker_wake(&first.waker);
	assert_int_equal(gale_executor_runnable_count(&fixture->executor), 0);
	assert_int_equal(gale_executor_stats_get(&fixture->executor).wakes_ignored_count, 1);
	/* The old handle is unknown for every handle operation. */
	int result = 0;
	assert_int_equal(gale_executor_try_join(&fixture->executor, first_handle, &result), -ESRCH);
	assert_int_equal(gale_executor_abort(&fixture->executor, first_handle), -ESRCH);
	assert_int_equal(gale_executor_detach(&fixture->executor, first_handle), -ESRCH);
	assert_false(gale_executor_is_finished(&fixture->executor, first_handle));
	gale_waker_wake(&second.waker);
	assert_int_equal(gale_executor_run_ready(&fixture->executor, 0), 1);
	assert_int_equal(second.polls, 2);
	join_expect(&fixture->executor, second_handle, 0);
}

static void test_executor_join_results(void **state)
{
	struct fixture *fixture = *state;
	const int results[3] = {0, -ECONNRESET, GALE_E_WRITE_ZERO};
	struct test_task tasks[3];
	struct gale_task_handle handles[3];
	for (uint32_t i = 0; i < 3; i++) {
		test_task_init(&tasks[i], &fixture->executor, NULL, i);
		tasks[i].result = results[i];
		handles[i] = spawn_ok(&fixture->executor, &tasks[i]);
	}
	int result = 777;
	assert_int_equal(gale_executor_try_join(&fixture->executor, handles[0], &result), -EAGAIN);
	assert_int_equal(result, 777);
	assert_false(gale_executor_is_finished(&fixture->executor, handles[0]));
	assert_int_equal(gale_executor_run_ready(&fixture->executor, 0), 3);
	for (uint32_t i = 0; i < 3; i++) {
		assert_true(gale_executor_is_finished(&fixture->executor, handles[i]));
		join_expect(&fixture->executor, handles[i], results[i]);
		assert_false(gale_executor_is_finished(&fixture->executor, handles[i]));
		assert_int_equal(gale_executor_try_join(&fixture->executor, handles[i], &result),
				 -ESRCH);
	}
	struct gale_task_handle none = {0};
	assert_int_equal(gale_executor_try_join(&fixture->executor, none, &result), -ESRCH);
	struct gale_task_handle out_of_range = {(uint64_t)1 << 32 | 5000};
	assert_int_equal(gale_executor_try_join(&fixture->executor, out_of_range, &result), -ESRCH);
	assert_int_equal(fixture->executor.priv_used_count, 0);
}

static void test_executor_poll_join_pending_then_woken(void **state)
{
	struct fixture *fixture = *state;
	struct test_task task;
	test_task_init(&task, &fixture->executor, NULL, 0);
	task.pending_polls = 1;
	task.result = -EPIPE;
	struct gale_task_handle handle = spawn_ok(&fixture->executor, &task);
	struct gale_test_wake_log wakes = {0};
	struct gale_cx cx_old = {gale_test_waker(&wakes, 3)};
	struct gale_cx cx = {gale_test_waker(&wakes, 4)};
	int result = 99;
	assert_int_equal(gale_executor_poll_join(&fixture->executor, handle, &cx_old, &result),
			 GALE_PENDING);
	/* The most recent joiner wins. */
	assert_int_equal(gale_executor_poll_join(&fixture->executor, handle, &cx, &result),
			 GALE_PENDING);
	assert_int_equal(result, 99);
	assert_int_equal(gale_executor_run_ready(&fixture->executor, 0), 1);
	assert_int_equal(wakes.wakes_total, 0);
	gale_waker_wake(&task.waker);
	assert_int_equal(gale_executor_run_ready(&fixture->executor, 0), 1);
	assert_int_equal(wakes.wakes_total, 1);
	assert_int_equal(wakes.wake_counts[4], 1);
	assert_int_equal(wakes.wake_counts[3], 0);
	assert_int_equal(gale_executor_poll_join(&fixture->executor, handle, &cx, &result), 0);
	assert_int_equal(result, -EPIPE);
	assert_int_equal(gale_executor_poll_join(&fixture->executor, handle, &cx, &result), -ESRCH);
	assert_int_equal(wakes.wakes_total, 1);
}

/* The joiners live in a table beside the slab that is never initialised: growing the slab
 * must carry the stored ones over (and only those), and joiner_find must still see them. */
static void test_executor_poll_join_survives_growth(void **state)
{
	struct fixture *fixture = *state;
	enum { JOINED = 8, MORE = 20 };
	struct test_task joined[JOINED];
	struct gale_task_handle handles[JOINED];
	struct gale_test_wake_log wakes = {0};
	for (uint32_t i = 0; i < JOINED; i++) {
		test_task_init(&joined[i], &fixture->executor, NULL, i);
		joined[i].pending_polls = 1;
		joined[i].result = -(int)i;
		handles[i] = spawn_ok(&fixture->executor, &joined[i]);
	}
	assert_int_equal(gale_executor_run_ready(&fixture->executor, 0), JOINED);
	int result = 99;
	/* Every other task gets a joiner; the rest stay unjoined. */
	for (uint32_t i = 0; i < JOINED; i += 2) {
		struct gale_cx cx = {gale_test_waker(&wakes, i)};
		assert_int_equal(gale_executor_poll_join(&fixture->executor, handles[i], &cx,
							 &result),
				 GALE_PENDING);
	}
	struct test_task more[MORE];
	struct gale_task_handle more_handles[MORE];
	for (uint32_t i = 0; i < MORE; i++) {
		test_task_init(&more[i], &fixture->executor, NULL, JOINED + i);
		more_handles[i] = spawn_ok(&fixture->executor, &more[i]);
	}
	assert_int_equal(fixture->executor.priv_slots_cap, 32);
	struct gale_waker joiner = gale_test_waker(&wakes, 2);
	struct gale_task_handle found = {0};
	assert_true(gale_executor_joiner_find(&fixture->executor, &joiner, &found));
	assert_int_equal(found.id, handles[2].id);
	joiner = gale_test_waker(&wakes, 3);
	assert_false(gale_executor_joiner_find(&fixture->executor, &joiner, NULL));
	for (uint32_t i = 0; i < JOINED; i++)
		gale_waker_wake(&joined[i].waker);
	assert_int_equal(gale_executor_run_ready(&fixture->executor, 0), MORE + JOINED);
	assert_int_equal(wakes.wakes_total, JOINED / 2);
	for (uint32_t i = 0; i < JOINED; i++) {
		assert_int_equal(wakes.wake_counts[i], i % 2 == 0 ? 1 : 0);
		join_expect(&fixture->executor, handles[i], -(int)i);
	}
	for (uint32_t i = 0; i < MORE; i++)
		join_expect(&fixture->executor, more_handles[i], 0);
}

static void test_executor_detach_frees_slot(void **state)
{
	struct fixture *fixture = *state;
	struct test_task finished;
	test_task_init(&finished, &fixture->executor, NULL, 0);
	struct gale_task_handle finished_handle = spawn_ok(&fixture->executor, &finished);
	assert_int_equal(gale_executor_run_ready(&fixture->executor, 0), 1);
	assert_int_equal(fixture->executor.priv_used_count, 1);
	/* Detaching a finished task frees its slot at once. */
	assert_int_equal(gale_executor_detach(&fixture->executor, finished_handle), 0);
	assert_int_equal(fixture->executor.priv_used_count, 0);
	assert_int_equal(gale_executor_detach(&fixture->executor, finished_handle), -ESRCH);
	struct test_task pending;
	test_task_init(&pending, &fixture->executor, NULL, 1);
	pending.pending_polls = 1;
	struct gale_task_handle pending_handle = spawn_ok(&fixture->executor, &pending);
	assert_int_equal(pending_handle.id & UINT32_MAX, finished_handle.id & UINT32_MAX);
	assert_int_equal(gale_executor_run_ready(&fixture->executor, 0), 1);
	/* Detaching a pending task frees its slot when it finishes. */
	assert_int_equal(gale_executor_detach(&fixture->executor, pending_handle), 0);
	int result = 0;
	assert_int_equal(gale_executor_try_join(&fixture->executor, pending_handle, &result),
			 -ESRCH);
	assert_int_equal(gale_executor_live_count(&fixture->executor), 1);
	assert_int_equal(fixture->executor.priv_used_count, 1);
	gale_waker_wake(&pending.waker);
	assert_int_equal(gale_executor_run_ready(&fixture->executor, 0), 1);
	assert_int_equal(gale_executor_live_count(&fixture->executor), 0);
	assert_int_equal(fixture->executor.priv_used_count, 0);
	assert_false(gale_executor_is_finished(&fixture->executor, pending_handle));
	/* The slot is reused with a third generation. */
	struct test_task third;
	test_task_init(&third, &fixture->executor, NULL, 2);
	struct gale_task_handle third_handle = spawn_ok(&fixture->executor, &third);
	assert_int_equal(third_handle.id, (uint64_t)3 << 32 | (finished_handle.id & UINT32_MAX));
	assert_int_equal(gale_executor_detach(&fixture->executor, third_handle), 0);
	assert_int_equal(gale_executor_run_ready(&fixture->executor, 0), 1);
	assert_int_equal(fixture->executor.priv_used_count, 0);
}

static void test_executor_abort_queued_and_idle(void **state)
{
	struct fixture *fixture = *state;
	struct test_task tasks[3];
	struct gale_task_handle handles[3];
	for (uint32_t i = 0; i < 3; i++) {
		test_task_init(&tasks[i], &fixture->executor, &fixture->log, i);
		tasks[i].pending_polls = 10;
		handles[i] = spawn_ok(&fixture->executor, &tasks[i]);
	}
	struct gale_test_wake_log wakes = {0};
	struct gale_cx cx = {gale_test_waker(&wakes, 1)};
	int result = 0;
	assert_int_equal(gale_executor_poll_join(&fixture->executor, handles[1], &cx, &result),
			 GALE_PENDING);
	/* Queued, in the middle of the run queue: removed, the others keep their order. */
	assert_int_equal(gale_executor_abort(&fixture->executor, handles[1]), 0);
	assert_int_equal(wakes.wake_counts[1], 1);
	assert_int_equal(gale_executor_runnable_count(&fixture->executor), 2);
	assert_int_equal(gale_executor_live_count(&fixture->executor), 2);
	assert_int_equal(gale_executor_abort(&fixture->executor, handles[1]), -EALREADY);
	assert_int_equal(gale_executor_run_ready(&fixture->executor, 0), 2);
	assert_int_equal(fixture->log.len, 2);
	assert_int_equal(fixture->log.tags[0], 0);
	assert_int_equal(fixture->log.tags[1], 2);
	assert_int_equal(tasks[1].polls, 0);
	join_expect(&fixture->executor, handles[1], GALE_E_CANCELED);
	/* Idle: finishes at once; a later wake is ignored and it is never polled again. */
	assert_int_equal(gale_executor_abort(&fixture->executor, handles[0]), 0);
	gale_waker_wake(&tasks[0].waker);
	assert_int_equal(gale_executor_runnable_count(&fixture->executor), 0);
	assert_int_equal(gale_executor_run_ready(&fixture->executor, 0), 0);
	assert_int_equal(tasks[0].polls, 1);
	join_expect(&fixture->executor, handles[0], GALE_E_CANCELED);
	assert_int_equal(gale_executor_abort(&fixture->executor, handles[0]), -ESRCH);
	assert_int_equal(gale_executor_abort(&fixture->executor, handles[2]), 0);
	join_expect(&fixture->executor, handles[2], GALE_E_CANCELED);
}

static void test_executor_abort_running(void **state)
{
	struct fixture *fixture = *state;
	/* Aborted during its poll, woken during it too: cancelled, not requeued. */
	struct test_task woken;
	test_task_init(&woken, &fixture->executor, NULL, 0);
	woken.abort_self = true;
	woken.pending_polls = 10;
	woken.self_wakes = 1;
	woken.self_wakes_polls = 10;
	/* Aborted during a poll that completes: the promised GALE_E_CANCELED wins. */
	struct test_task done;
	test_task_init(&done, &fixture->executor, NULL, 1);
	done.abort_self = true;
	done.result = 5;
	struct gale_task_handle woken_handle = spawn_ok(&fixture->executor, &woken);
	struct gale_task_handle done_handle = spawn_ok(&fixture->executor, &done);
	assert_int_equal(gale_executor_run_ready(&fixture->executor, 0), 2);
	assert_int_equal(woken.abort_rc, 0);
	assert_int_equal(done.abort_rc, 0);
	assert_int_equal(woken.polls, 1);
	assert_int_equal(done.polls, 1);
	assert_int_equal(gale_executor_runnable_count(&fixture->executor), 0);
	assert_int_equal(gale_executor_live_count(&fixture->executor), 0);
	gale_waker_wake(&woken.waker);
	assert_int_equal(gale_executor_run_ready(&fixture->executor, 0), 0);
	join_expect(&fixture->executor, woken_handle, GALE_E_CANCELED);
	join_expect(&fixture->executor, done_handle, GALE_E_CANCELED);
}

static void test_executor_current(void **state)
{
	struct fixture *fixture = *state;
	assert_int_equal(gale_executor_current(&fixture->executor).id, 0);
	struct test_task tasks[2];
	struct gale_task_handle handles[2];
	for (uint32_t i = 0; i < 2; i++) {
		test_task_init(&tasks[i], &fixture->executor, NULL, i);
		handles[i] = spawn_ok(&fixture->executor, &tasks[i]);
	}
	assert_int_equal(gale_executor_run_ready(&fixture->executor, 0), 2);
	for (uint32_t i = 0; i < 2; i++) {
		assert_int_equal(tasks[i].current.id, handles[i].id);
		struct gale_waker waker = gale_executor_waker(&fixture->executor, handles[i]);
		assert_true(gale_waker_will_wake(&tasks[i].waker, &waker));
		join_expect(&fixture->executor, handles[i], 0);
	}
	assert_int_equal(gale_executor_current(&fixture->executor).id, 0);
}

struct schedule_log {
	uint32_t counts[ORDER_LOG_CAP]; /* runnable_count passed to each hook call. */
	uint32_t len;                   /* Hook calls. */
	bool pick_middle;               /* Pick count / 2 instead of the last index. */
};

static uint32_t schedule_pick_cb(void *data, uint32_t runnable_count)
{
	struct schedule_log *log = data;
	assert_true(runnable_count > 0);
	if (log->len < ORDER_LOG_CAP)
		log->counts[log->len++] = runnable_count;
	return log->pick_middle ? runnable_count / 2 : runnable_count - 1;
}

static void run_scheduled(struct fixture *fixture, struct schedule_log *schedule,
			  uint32_t tasks_count)
{
	struct test_task tasks[5];
	struct gale_task_handle handles[5];
	assert_true(tasks_count <= 5);
	gale_executor_schedule_set(&fixture->executor, schedule_pick_cb, schedule);
	for (uint32_t i = 0; i < tasks_count; i++) {
		test_task_init(&tasks[i], &fixture->executor, &fixture->log, i);
		handles[i] = spawn_ok(&fixture->executor, &tasks[i]);
	}
	assert_int_equal(gale_executor_run_ready(&fixture->executor, 0), tasks_count);
	gale_executor_schedule_set(&fixture->executor, NULL, NULL);
	for (uint32_t i = 0; i < tasks_count; i++)
		join_expect(&fixture->executor, handles[i], 0);
}

static void test_executor_schedule_hook_lifo(void **state)
{
	struct fixture *fixture = *state;
	struct schedule_log schedule = {0};
	run_scheduled(fixture, &schedule, 3);
	assert_int_equal(fixture->log.len, 3);
	assert_int_equal(fixture->log.tags[0], 2);
	assert_int_equal(fixture->log.tags[1], 1);
	assert_int_equal(fixture->log.tags[2], 0);
	assert_int_equal(schedule.len, 3);
	assert_int_equal(schedule.counts[0], 3);
	assert_int_equal(schedule.counts[1], 2);
	assert_int_equal(schedule.counts[2], 1);
}

static void test_executor_schedule_hook_middle(void **state)
{
	struct fixture *fixture = *state;
	struct schedule_log schedule = {.pick_middle = true};
	/* Queue 0 1 2 3 4: picks 2 -> 0 1 3 4: picks 3 -> 0 1 4: picks 1 -> 0 4: 4 -> 0. */
	run_scheduled(fixture, &schedule, 5);
	const uint32_t expected[5] = {2, 3, 1, 4, 0};
	assert_int_equal(fixture->log.len, 5);
	for (uint32_t i = 0; i < 5; i++) {
		assert_int_equal(fixture->log.tags[i], expected[i]);
		assert_int_equal(schedule.counts[i], 5 - i);
	}
}

static void test_executor_slab_growth(void **state)
{
	struct fixture *fixture = *state;
	enum { TASKS_COUNT = 1000 };
	struct test_task *tasks = calloc(TASKS_COUNT, sizeof(*tasks));
	struct gale_task_handle *handles = calloc(TASKS_COUNT, sizeof(*handles));
	assert_non_null(tasks);
	assert_non_null(handles);
	for (uint32_t i = 0; i < TASKS_COUNT; i++) {
		test_task_init(&tasks[i], &fixture->executor, NULL, i);
		tasks[i].result = -(int)(i % 200);
		handles[i] = spawn_ok(&fixture->executor, &tasks[i]);
	}
	/* 8 doubled seven times; each growth freed the previous slab and joiner table. */
	assert_int_equal(fixture->executor.priv_slots_cap, 1024);
	assert_int_equal(fixture->allocator.live_count, 2);
	assert_int_equal(fixture->allocator.alloc_count, 16);
	assert_int_equal(gale_executor_runnable_count(&fixture->executor), TASKS_COUNT);
	assert_int_equal(gale_executor_run_ready(&fixture->executor, 0), TASKS_COUNT);
	for (uint32_t i = 0; i < TASKS_COUNT; i++) {
		assert_int_equal(tasks[i].polls, 1);
		join_expect(&fixture->executor, handles[i], -(int)(i % 200));
	}
	assert_int_equal(gale_executor_live_count(&fixture->executor), 0);
	assert_int_equal(fixture->executor.priv_used_count, 0);
	free(tasks);
	free(handles);
}

struct spawner {
	struct gale_executor *executor;       /* Where children are spawned. */
	struct test_task children[20];        /* Spawned during the first poll. */
	struct gale_task_handle handles[20];  /* Their handles. */
	struct gale_task_handle current_after; /* current() after spawning. */
	uint32_t polls;                       /* Polls seen. */
};

/* Spawns 20 children in its first poll (growing the slab under its own feet), then
 * wakes itself once and finishes on its second poll. */
static int spawner_poll(void *data, struct gale_cx *cx)
{
	struct spawner *spawner = data;
	spawner->polls++;
	if (spawner->polls > 1)
		return 0;
	for (uint32_t i = 0; i < 20; i++) {
		test_task_init(&spawner->children[i], spawner->executor, NULL, i);
		int rc = gale_executor_spawn(spawner->executor, test_task_poll,
					     &spawner->children[i], &spawner->handles[i]);
		assert_int_equal(rc, 0);
	}
	spawner->current_after = gale_executor_current(spawner->executor);
	gale_waker_wake(&cx->waker);
	return GALE_PENDING;
}

static void test_executor_spawn_inside_poll_grows(void **state)
{
	struct fixture *fixture = *state;
	struct spawner spawner = {.executor = &fixture->executor};
	struct gale_task_handle handle = {0};
	assert_int_equal(gale_executor_spawn(&fixture->executor, spawner_poll, &spawner, &handle),
			 0);
	assert_int_equal(fixture->executor.priv_slots_cap, 8);
	/* 1 spawner poll, 20 children, then the spawner's second poll (queued last). */
	assert_int_equal(gale_executor_run_ready(&fixture->executor, 0), 22);
	assert_int_equal(fixture->executor.priv_slots_cap, 32);
	assert_int_equal(spawner.current_after.id, handle.id);
	assert_int_equal(spawner.polls, 2);
	join_expect(&fixture->executor, handle, 0);
	for (uint32_t i = 0; i < 20; i++) {
		assert_int_equal(spawner.children[i].polls, 1);
		join_expect(&fixture->executor, spawner.handles[i], 0);
	}
}

static void test_executor_spawn_enomem(void **state)
{
	struct fixture *fixture = *state;
	struct test_task task;
	test_task_init(&task, &fixture->executor, NULL, 0);
	struct gale_task_handle handle = {0};
	/* The very first slab fails: nothing allocated, nothing spawned. */
	fixture->allocator.fail_at = 1;
	assert_int_equal(gale_executor_spawn(&fixture->executor, test_task_poll, &task, &handle),
			 -ENOMEM);
	assert_int_equal(handle.id, 0);
	assert_null(fixture->executor.priv_slots);
	/* The joiner table allocation fails after the slab allocation succeeded. */
	fixture->allocator.fail_at = 3;
	assert_int_equal(gale_executor_spawn(&fixture->executor, test_task_poll, &task, &handle),
			 -ENOMEM);
	assert_int_equal(fixture->allocator.live_count, 0);
	fixture->allocator.fail_at = 0;
	struct test_task tasks[8];
	struct gale_task_handle handles[8];
	for (uint32_t i = 0; i < 8; i++) {
		test_task_init(&tasks[i], &fixture->executor, &fixture->log, i);
		handles[i] = spawn_ok(&fixture->executor, &tasks[i]);
	}
	assert_int_equal(fixture->executor.priv_slots_cap, 8);
	for (uint64_t step = 1; step <= 2; step++) {
		fixture->allocator.fail_at = fixture->allocator.calls_count + step;
		assert_int_equal(gale_executor_spawn(&fixture->executor, test_task_poll, &task,
						     &handle), -ENOMEM);
		assert_int_equal(fixture->executor.priv_slots_cap, 8);
		assert_int_equal(fixture->allocator.live_count, 2);
		assert_int_equal(gale_executor_runnable_count(&fixture->executor), 8);
		assert_int_equal(gale_executor_live_count(&fixture->executor), 8);
		assert_int_equal(gale_executor_stats_get(&fixture->executor).spawns_count, 8);
	}
	fixture->allocator.fail_at = 0;
	handle = spawn_ok(&fixture->executor, &task);
	assert_int_equal(gale_executor_run_ready(&fixture->executor, 0), 9);
	for (uint32_t i = 0; i < 8; i++) {
		assert_int_equal(fixture->log.tags[i], i);
		join_expect(&fixture->executor, handles[i], 0);
	}
	join_expect(&fixture->executor, handle, 0);
}

static void test_executor_deinit_busy(void **state)
{
	(void)state;
	struct gale_test_allocator allocator;
	gale_test_allocator_init(&allocator);
	struct gale_executor zeroed = {0};
	assert_int_equal(gale_executor_deinit(&zeroed), 0);
	struct gale_executor executor;
	assert_int_equal(gale_executor_init(&executor, &allocator.base), 0);
	assert_int_equal(allocator.calls_count, 0);
	struct test_task pending;
	struct test_task finished;
	test_task_init(&pending, &executor, NULL, 0);
	test_task_init(&finished, &executor, NULL, 1);
	pending.pending_polls = 1;
	struct gale_task_handle pending_handle = spawn_ok(&executor, &pending);
	spawn_ok(&executor, &finished);
	assert_int_equal(gale_executor_run_ready(&executor, 0), 2);
	assert_int_equal(gale_executor_deinit(&executor), -EBUSY);
	assert_int_equal(allocator.live_count, 2);
	assert_int_equal(gale_executor_abort(&executor, pending_handle), 0);
	/* Finished, unjoined results are discarded. */
	assert_int_equal(gale_executor_deinit(&executor), 0);
	assert_int_equal(allocator.live_count, 0);
	assert_null(executor.priv_slots);
	assert_int_equal(gale_executor_deinit(&executor), 0);
}

/* Issue 13: gale_executor_waker() asserted a non-zero handle, a value it has no error to
 * return for. The zero handle makes a waker that wakes nobody, as a stale one does. */
static void test_executor_zero_handle_waker_wakes_nobody(void **state)
{
	struct fixture *fixture = *state;
	struct test_task task;
	test_task_init(&task, &fixture->executor, &fixture->log, 1);
	task.pending_polls = 1;
	struct gale_task_handle handle = spawn_ok(&fixture->executor, &task);
	assert_int_equal(gale_executor_run_ready(&fixture->executor, 0), 1);
	struct gale_task_handle zero = {0};
	struct gale_waker waker = gale_executor_waker(&fixture->executor, zero);
	gale_waker_wake(&waker);
	assert_int_equal(gale_executor_runnable_count(&fixture->executor), 0);
	assert_int_equal(gale_executor_stats_get(&fixture->executor).wakes_ignored_count, 1);
	assert_int_equal(gale_executor_abort(&fixture->executor, handle), 0);
	int result = 0;
	assert_int_equal(gale_executor_try_join(&fixture->executor, handle, &result), 0);
}

int gale_test_group(void)
{
#define EXECUTOR_TEST(name) cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)
	const struct CMUnitTest tests[] = {
		EXECUTOR_TEST(test_executor_fifo_order),
		EXECUTOR_TEST(test_executor_polls_max_limits_a_run),
		EXECUTOR_TEST(test_executor_wake_while_queued_queues_once),
		EXECUTOR_TEST(test_executor_wake_while_running_repolls_once),
		EXECUTOR_TEST(test_executor_wake_after_completion_ignored),
		EXECUTOR_TEST(test_executor_stale_waker_after_slot_reuse),
		EXECUTOR_TEST(test_executor_join_results),
		EXECUTOR_TEST(test_executor_poll_join_pending_then_woken),
		EXECUTOR_TEST(test_executor_poll_join_survives_growth),
		EXECUTOR_TEST(test_executor_detach_frees_slot),
		EXECUTOR_TEST(test_executor_abort_queued_and_idle),
		EXECUTOR_TEST(test_executor_abort_running),
		EXECUTOR_TEST(test_executor_current),
		EXECUTOR_TEST(test_executor_schedule_hook_lifo),
		EXECUTOR_TEST(test_executor_schedule_hook_middle),
		EXECUTOR_TEST(test_executor_slab_growth),
		EXECUTOR_TEST(test_executor_spawn_inside_poll_grows),
		EXECUTOR_TEST(test_executor_spawn_enomem),
		EXECUTOR_TEST(test_executor_zero_handle_waker_wakes_nobody),
		cmocka_unit_test(test_executor_deinit_busy),
	};
#undef EXECUTOR_TEST
	return cmocka_run_group_tests(tests, NULL, NULL);
}
