/* SPDX-License-Identifier: MIT */
/*
 * Timers: the runtime's intrusive pairing heap of struct gale_timer nodes, and the sleep
 * and timeout futures built on it (time.h). Time comes only from the driver's clock.
 *
 * The heap never allocates: nodes live inside the futures. Order is (deadline_ns,
 * priv_sequence), a total order, so equal deadlines fire in the order they were armed.
 * priv_prev points at the parent for a first child and at the previous sibling otherwise,
 * which is what makes removing an arbitrary node (a dropped sleep) O(log n) amortised.
 *
 * Sections: the heap; the private gale__timer_* API; sleep; timeout.
 */
#include <assert.h>
#include <stdint.h>

#include <gale/error.h>
#include <gale/rt.h>
#include <gale/time.h>

#include "io_internal.h"

/* ---- The pairing heap ---- */

static bool timer_is_before(const struct gale_timer *a, const struct gale_timer *b)
{
	assert(a != b);
	assert(a->priv_sequence != b->priv_sequence);
	if (a->deadline_ns != b->deadline_ns)
		return a->deadline_ns < b->deadline_ns;
	return a->priv_sequence < b->priv_sequence;
}

/* Links two detached heaps (no siblings, no prev); the earlier root adopts the other. */
static struct gale_timer *timer_meld(struct gale_timer *a, struct gale_timer *b)
{
	assert(a->priv_sibling == NULL && a->priv_prev == NULL);
	assert(b->priv_sibling == NULL && b->priv_prev == NULL);
	if (timer_is_before(b, a)) {
		struct gale_timer *swap = a;
		a = b;
		b = swap;
	}
	b->priv_sibling = a->priv_child;
	if (a->priv_child != NULL)
		a->priv_child->priv_prev = b;
	b->priv_prev = a;
	a->priv_child = b;
	return a;
}

/*
 * Merges a sibling list into one heap with the standard two passes: meld pairs left to
 * right, then meld the results right to left. Iterative, so a long list cannot overflow
 * the stack: the first pass threads its results through priv_sibling in reverse order.
 */
static struct gale_timer *timer_merge_pairs(struct gale_timer *first)
{
	struct gale_timer *pairs = NULL;
	while (first != NULL) {
		struct gale_timer *a = first;
		struct gale_timer *b = a->priv_sibling;
		first = b != NULL ? b->priv_sibling : NULL;
		a->priv_sibling = NULL;
		a->priv_prev = NULL;
		struct gale_timer *merged = a;
		if (b != NULL) {
			b->priv_sibling = NULL;
			b->priv_prev = NULL;
			merged = timer_meld(a, b);
		}
		merged->priv_sibling = pairs;
		pairs = merged;
	}
	struct gale_timer *root = NULL;
	while (pairs != NULL) {
		struct gale_timer *next = pairs->priv_sibling;
		pairs->priv_sibling = NULL;
		root = root != NULL ? timer_meld(root, pairs) : pairs;
		pairs = next;
	}
	return root;
}

static void timer_heap_insert(struct gale_runtime *runtime, struct gale_timer *timer)
{
	assert(timer->priv_child == NULL);
	timer->priv_sibling = NULL;
	timer->priv_prev = NULL;
	struct gale_timer *root = runtime->priv_timer_root;
	runtime->priv_timer_root = root != NULL ? timer_meld(root, timer) : timer;
}

static void timer_heap_remove(struct gale_runtime *runtime, struct gale_timer *timer)
{
	assert(runtime->priv_timer_root != NULL);
	struct gale_timer *children = timer_merge_pairs(timer->priv_child);
	if (timer == runtime->priv_timer_root) {
		assert(timer->priv_prev == NULL && timer->priv_sibling == NULL);
		runtime->priv_timer_root = children;
	} else {
		/* Unlink from the parent's child list, then meld the orphaned subtree back. */
		assert(timer->priv_prev != NULL);
		if (timer->priv_prev->priv_child == timer)
			timer->priv_prev->priv_child = timer->priv_sibling;
		else
			timer->priv_prev->priv_sibling = timer->priv_sibling;
		if (timer->priv_sibling != NULL)
			timer->priv_sibling->priv_prev = timer->priv_prev;
		if (children != NULL)
			runtime->priv_timer_root = timer_meld(runtime->priv_timer_root, children);
	}
	timer->priv_child = NULL;
	timer->priv_sibling = NULL;
	timer->priv_prev = NULL;
}

/* ---- The private API ---- */

void gale__timer_arm(struct gale_runtime *runtime, struct gale_timer *timer,
		     struct gale_waker waker)
{
	assert(runtime != NULL && timer != NULL);
	assert(!timer->priv_armed);
	timer->priv_sequence = runtime->priv_timer_sequence++;
	timer->priv_child = NULL;
	timer->priv_waker = waker;
	timer_heap_insert(runtime, timer);
	timer->priv_armed = true;
	runtime->priv_timers_count++;
}

void gale__timer_disarm(struct gale_runtime *runtime, struct gale_timer *timer)
{
	assert(runtime != NULL && timer != NULL);
	if (!timer->priv_armed)
		return;
	assert(runtime->priv_timers_count > 0);
	timer_heap_remove(runtime, timer);
	timer->priv_armed = false;
	timer->priv_waker = gale_waker_none();
	runtime->priv_timers_count--;
}

uint32_t gale__timer_fire_due(struct gale_runtime *runtime, int64_t now_ns)
{
	assert(runtime != NULL);
	uint32_t fired_count = 0;
	struct gale_timer *timer = runtime->priv_timer_root;
	while (timer != NULL && timer->deadline_ns <= now_ns) {
		struct gale_waker waker = timer->priv_waker;
		gale__timer_disarm(runtime, timer);
		assert(runtime->priv_timer_root != timer);
		/* Wakers only enqueue; the root is read again after each wake all the same. */
		gale_waker_wake(&waker);
		fired_count++;
		timer = runtime->priv_timer_root;
	}
	return fired_count;
}

bool gale__timer_next_deadline(const struct gale_runtime *runtime, int64_t *deadline_out)
{
	assert(runtime != NULL);
	assert(deadline_out != NULL);
	if (runtime->priv_timer_root == NULL)
		return false;
	*deadline_out = runtime->priv_timer_root->deadline_ns;
	return true;
}

/* ---- Introspection ---- */

/* The node after timer in a preorder walk of the heap (child first, then sibling, then the
 * nearest ancestor's sibling), or NULL at the end. Iterative: heaps can be deep. */
static const struct gale_timer *timer_walk_next(const struct gale_timer *timer)
{
	assert(timer != NULL);
	if (timer->priv_child != NULL)
		return timer->priv_child;
	while (timer != NULL) {
		if (timer->priv_sibling != NULL)
			return timer->priv_sibling;
		/* Back to the first sibling, whose priv_prev is the parent. */
		while (timer->priv_prev != NULL && timer->priv_prev->priv_child != timer)
			timer = timer->priv_prev;
		timer = timer->priv_prev;
	}
	return NULL;
}

bool gale_runtime_timer_holds_waker(const struct gale_runtime *runtime,
				    const struct gale_waker *waker, int64_t *deadline_out)
{
	assert(runtime != NULL);
	assert(waker != NULL);
	if (!gale_waker_is_set(waker))
		return false;
	const struct gale_timer *timer = runtime->priv_timer_root;
	for (; timer != NULL; timer = timer_walk_next(timer)) {
		if (!gale_waker_will_wake(&timer->priv_waker, waker))
			continue;
		if (deadline_out != NULL)
			*deadline_out = timer->deadline_ns;
		return true;
	}
	return false;
}

uint32_t gale_runtime_timers_cancel_all(struct gale_runtime *runtime)
{
	assert(runtime != NULL);
	uint32_t count = 0;
	while (runtime->priv_timer_root != NULL) {
		gale__timer_disarm(runtime, runtime->priv_timer_root);
		count++;
	}
	assert(runtime->priv_timers_count == 0);
	return count;
}

/* ---- Sleep ---- */

/* now + duration, with negative durations as 0 and saturation instead of overflow. */
static int64_t deadline_after(int64_t now_ns, int64_t duration_ns)
{
	if (duration_ns <= 0)
		return now_ns;
	if (now_ns > INT64_MAX - duration_ns)
		return INT64_MAX;
	return now_ns + duration_ns;
}

void gale_sleep_init(struct gale_sleep *sleep, struct gale_runtime *runtime, int64_t duration_ns)
{
	assert(sleep != NULL);
	assert(runtime != NULL);
	int64_t now_ns = gale_runtime_now_ns(runtime);
	gale_sleep_init_until(sleep, runtime, deadline_after(now_ns, duration_ns));
}

void gale_sleep_init_until(struct gale_sleep *sleep, struct gale_runtime *runtime,
			   int64_t deadline_ns)
{
	assert(sleep != NULL);
	assert(runtime != NULL);
	*sleep = (struct gale_sleep){.runtime = runtime};
	sleep->timer.deadline_ns = deadline_ns;
	sleep->timer.priv_waker = gale_waker_none();
}

int gale_sleep_poll(struct gale_sleep *sleep, struct gale_cx *cx)
{
	assert(sleep != NULL && sleep->runtime != NULL);
	assert(cx != NULL);
	if (gale_runtime_now_ns(sleep->runtime) >= sleep->timer.deadline_ns) {
		gale__timer_disarm(sleep->runtime, &sleep->timer);
		return 0;
	}
	if (sleep->timer.priv_armed)
		sleep->timer.priv_waker = cx->waker;
	else
		gale__timer_arm(sleep->runtime, &sleep->timer, cx->waker);
	return GALE_PENDING;
}

void gale_sleep_reset(struct gale_sleep *sleep, int64_t deadline_ns)
{
	assert(sleep != NULL && sleep->runtime != NULL);
	gale__timer_disarm(sleep->runtime, &sleep->timer);
	sleep->timer.deadline_ns = deadline_ns;
}

void gale_sleep_deinit(struct gale_sleep *sleep)
{
	assert(sleep != NULL);
	if (sleep->runtime != NULL)
		gale__timer_disarm(sleep->runtime, &sleep->timer);
}

/* ---- Timeout ---- */

void gale_timeout_init(struct gale_timeout *timeout, struct gale_runtime *runtime,
		       int64_t duration_ns, gale_poll_fn *inner_poll, void *inner_data)
{
	assert(timeout != NULL);
	assert(inner_poll != NULL);
	gale_sleep_init(&timeout->sleep, runtime, duration_ns);
	timeout->inner_poll = inner_poll;
	timeout->inner_data = inner_data;
}

int gale_timeout_poll(struct gale_timeout *timeout, struct gale_cx *cx)
{
	assert(timeout != NULL && timeout->inner_poll != NULL);
	assert(cx != NULL);
	/* The inner future goes first: work that completed is never reported as timed out. */
	int rc = timeout->inner_poll(timeout->inner_data, cx);
	if (rc != GALE_PENDING) {
		gale_sleep_deinit(&timeout->sleep);
		return rc;
	}
	rc = gale_sleep_poll(&timeout->sleep, cx);
	assert(rc == 0 || rc == GALE_PENDING);
	return rc == 0 ? GALE_E_TIMED_OUT : GALE_PENDING;
}

void gale_timeout_deinit(struct gale_timeout *timeout)
{
	assert(timeout != NULL);
	gale_sleep_deinit(&timeout->sleep);
}
