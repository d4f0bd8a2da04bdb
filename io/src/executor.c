/* SPDX-License-Identifier: MIT */
/*
 * The single-threaded executor: a slab of task slots with generation-tagged ids and a run
 * queue ring, sitting under the runtime (rt.h). Only spawn allocates (slab growth). Slots
 * past the high-water mark (priv_slots_inited) are never touched until a spawn needs one,
 * so memory that is resident follows the peak of tasks, not the slab's doubled capacity.
 *
 * Sections: slots and handles; the run queue; slab growth; waking; finishing and freeing;
 * the public API.
 */
#include <assert.h>
#include <errno.h> /* E* constants only. */
#include <stdint.h>
#include <string.h>

#include <gale/error.h>
#include <gale/rt.h>

#include "io_internal.h"

/* The first slab holds this many slots; each growth doubles it. */
#define EXECUTOR_SLOTS_CAP_FIRST 8u
/* Indexes must stay below UINT32_MAX, and cap itself is the "none" sentinel. The byte
 * sizes cannot overflow size_t on 64-bit targets below this cap. */
#define EXECUTOR_SLOTS_CAP_MAX (1u << 30)
/* The run queue ring masks positions with cap - 1 (queue_at). */
_Static_assert((EXECUTOR_SLOTS_CAP_FIRST & (EXECUTOR_SLOTS_CAP_FIRST - 1)) == 0,
	       "the first slab capacity must be a power of two");

enum task_state {
	TASK_STATE_FREE = 0,     /* Slot unused; on the free list. */
	TASK_STATE_IDLE = 1,     /* Pending, not queued: waits for a wake. */
	TASK_STATE_QUEUED = 2,   /* In the run queue exactly once. */
	TASK_STATE_RUNNING = 3,  /* Being polled right now. */
	TASK_STATE_FINISHED = 4, /* Done; result kept until joined or detached. */
};

struct gale_task_slot {
	gale_poll_fn *poll_fn;    /* The task's poll function; NULL while FREE. */
	void *data;               /* Borrowed task state passed to poll_fn. */
	uint32_t generation;      /* Bumped when the slot is freed, so old ids go stale. */
	uint8_t state;            /* enum task_state. */
	bool woken;               /* Woken while RUNNING: requeue when the poll returns. */
	bool detached;            /* Free the slot as soon as the task finishes. */
	bool abort_requested;     /* Aborted while RUNNING: cancel when the poll returns. */
	int result;               /* The poll's final value once FINISHED. */
	struct gale_waker joiner; /* Woken when the task finishes (poll_join). */
	uint32_t free_next;       /* Next free slot index (cap = none) while FREE. */
};

/* ---- Slots and handles ---- */

static uint64_t slot_id(uint32_t generation, uint32_t index)
{
	assert(generation != 0);
	return (uint64_t)generation << 32 | index;
}

static uint32_t id_index(uint64_t id)
{
	return (uint32_t)(id & UINT32_MAX);
}

/* The slot an id names, or NULL when the id is unknown, stale or its slot is free. */
static struct gale_task_slot *slot_lookup_id(const struct gale_executor *executor, uint64_t id)
{
	assert(executor != NULL);
	uint32_t index = id_index(id);
	if (index >= executor->priv_slots_inited)
		return NULL;
	struct gale_task_slot *slot = &executor->priv_slots[index];
	assert(slot->generation != 0);
	if (slot->generation != (uint32_t)(id >> 32) || slot->state == TASK_STATE_FREE)
		return NULL;
	return slot;
}

/* Like slot_lookup_id() for a caller's handle: a detached handle is no longer valid. */
static struct gale_task_slot *slot_lookup_handle(const struct gale_executor *executor,
						 struct gale_task_handle handle)
{
	struct gale_task_slot *slot = slot_lookup_id(executor, handle.id);
	if (slot == NULL || slot->detached)
		return NULL;
	return slot;
}

static uint32_t slot_index(const struct gale_executor *executor, const struct gale_task_slot *slot)
{
	assert(slot >= executor->priv_slots);
	assert(slot < executor->priv_slots + executor->priv_slots_inited);
	return (uint32_t)(slot - executor->priv_slots);
}

static bool executor_is_polling(const struct gale_executor *executor)
{
	return executor->priv_current < executor->priv_slots_cap;
}

/* ---- The run queue: a ring of slot indexes, capacity == priv_slots_cap ---- */

/* The ring position of a queue offset. The capacity is a power of two (8, doubled on each
 * growth), so a mask replaces the division a % would cost on every push and pop. */
static uint32_t queue_at(const struct gale_executor *executor, uint32_t offset)
{
	uint32_t cap = executor->priv_slots_cap;
	assert(cap != 0 && (cap & (cap - 1)) == 0);
	return offset & (cap - 1);
}

static void queue_push(struct gale_executor *executor, uint32_t index)
{
	assert(executor->priv_queue_len < executor->priv_slots_cap);
	assert(executor->priv_slots[index].state == TASK_STATE_QUEUED);
	uint32_t at = queue_at(executor, executor->priv_queue_head + executor->priv_queue_len);
	executor->priv_queue[at] = index;
	executor->priv_queue_len++;
}

/*
 * Removes the entry at FIFO position pos. The entries before it shift one step towards the
 * tail so the order of the rest is kept: O(pos), O(1) for the FIFO case.
 */
static uint32_t queue_remove_at(struct gale_executor *executor, uint32_t pos)
{
	assert(pos < executor->priv_queue_len);
	assert(executor->priv_queue != NULL);
	uint32_t head = executor->priv_queue_head;
	uint32_t index = executor->priv_queue[queue_at(executor, head + pos)];
	for (uint32_t i = pos; i > 0; i--)
		executor->priv_queue[queue_at(executor, head + i)] =
			executor->priv_queue[queue_at(executor, head + i - 1)];
	executor->priv_queue_head = queue_at(executor, head + 1);
	executor->priv_queue_len--;
	return index;
}

/* Removes the FIFO head: queue_remove_at(executor, 0) without the shifting loop, for the
 * common turn with no scheduling hook. */
static inline uint32_t queue_pop_front(struct gale_executor *executor)
{
	assert(executor->priv_queue_len > 0);
	uint32_t head = executor->priv_queue_head;
	uint32_t index = executor->priv_queue[head];
	executor->priv_queue_head = queue_at(executor, head + 1);
	executor->priv_queue_len--;
	return index;
}

/* Removes a queued slot wherever it sits (abort); O(queue length). */
static void queue_remove_index(struct gale_executor *executor, uint32_t index)
{
	assert(executor->priv_slots[index].state == TASK_STATE_QUEUED);
	for (uint32_t pos = 0; pos < executor->priv_queue_len; pos++) {
		if (executor->priv_queue[queue_at(executor, executor->priv_queue_head + pos)] ==
		    index) {
			queue_remove_at(executor, pos);
			return;
		}
	}
	assert(!"queued slot missing from the run queue");
}

/* ---- Slab growth (spawn only) ---- */

/* Doubles the slab and the ring together; the new slots are left untouched (spawn takes them
 * at the high-water mark). -ENOMEM leaves the executor exactly as it was. */
static int executor_grow(struct gale_executor *executor)
{
	assert(executor->priv_free_head == executor->priv_slots_cap);
	assert(executor->priv_slots_inited == executor->priv_slots_cap);
	uint32_t cap_old = executor->priv_slots_cap;
	if (cap_old >= EXECUTOR_SLOTS_CAP_MAX)
		return -ENOMEM;
	uint32_t cap = cap_old == 0 ? EXECUTOR_SLOTS_CAP_FIRST : cap_old * 2;
	const struct gale_allocator *allocator = executor->priv_allocator;
	struct gale_task_slot *slots = gale__alloc(allocator, cap * sizeof(*slots));
	if (slots == NULL)
		return -ENOMEM;
	uint32_t *queue = gale__alloc(allocator, cap * sizeof(*queue));
	if (queue == NULL) {
		gale__free(allocator, slots, cap * sizeof(*slots));
		return -ENOMEM;
	}
	if (cap_old > 0)
		memcpy(slots, executor->priv_slots, cap_old * sizeof(*slots));
	/* Linearise the ring so the new one starts at 0 with the same FIFO order. */
	for (uint32_t pos = 0; pos < executor->priv_queue_len; pos++) {
		uint32_t at = queue_at(executor, executor->priv_queue_head + pos);
		queue[pos] = executor->priv_queue[at];
	}
	gale__free(allocator, executor->priv_slots, cap_old * sizeof(*slots));
	gale__free(allocator, executor->priv_queue, cap_old * sizeof(*queue));
	executor->priv_slots = slots;
	executor->priv_queue = queue;
	executor->priv_queue_head = 0;
	executor->priv_free_head = cap; /* Empty: the new slots come from the high water. */
	if (executor->priv_current == cap_old)
		executor->priv_current = cap;
	executor->priv_slots_cap = cap;
	return 0;
}

/* ---- Finishing and freeing ---- */

static void slot_free(struct gale_executor *executor, uint32_t index)
{
	struct gale_task_slot *slot = &executor->priv_slots[index];
	assert(slot->state == TASK_STATE_FINISHED);
	assert(executor->priv_used_count > 0);
	uint32_t generation = slot->generation + 1;
	*slot = (struct gale_task_slot){
		.generation = generation != 0 ? generation : 1,
		.state = TASK_STATE_FREE,
		.free_next = executor->priv_free_head,
	};
	executor->priv_free_head = index;
	executor->priv_used_count--;
}

/* Marks a task finished (it must be off the run queue), frees it if detached and wakes
 * its joiner last, so the joiner observes the final state. */
static void slot_finish(struct gale_executor *executor, uint32_t index, int result)
{
	struct gale_task_slot *slot = &executor->priv_slots[index];
	assert(slot->state != TASK_STATE_FREE && slot->state != TASK_STATE_FINISHED);
	assert(executor->priv_live_count > 0);
	struct gale_waker joiner = slot->joiner;
	slot->joiner = gale_waker_none();
	slot->state = TASK_STATE_FINISHED;
	slot->result = result;
	slot->poll_fn = NULL;
	slot->data = NULL;
	executor->priv_live_count--;
	if (slot->detached)
		slot_free(executor, index);
	gale_waker_wake(&joiner);
}

/* ---- Waking ---- */

static void executor_wake_cb(void *data, uint64_t id)
{
	struct gale_executor *executor = data;
	assert(executor != NULL);
	struct gale_task_slot *slot = slot_lookup_id(executor, id);
	if (slot == NULL || slot->state == TASK_STATE_FINISHED ||
	    slot->state == TASK_STATE_QUEUED) {
		executor->priv_stats.wakes_ignored_count++;
		return;
	}
	if (slot->state == TASK_STATE_RUNNING) {
		/* Several wakes during one poll still mean one more poll. */
		if (slot->woken) {
			executor->priv_stats.wakes_ignored_count++;
			return;
		}
		slot->woken = true;
		executor->priv_stats.wakes_count++;
		return;
	}
	assert(slot->state == TASK_STATE_IDLE);
	slot->state = TASK_STATE_QUEUED;
	queue_push(executor, slot_index(executor, slot));
	executor->priv_stats.wakes_count++;
}

static struct gale_waker executor_waker_for(struct gale_executor *executor, uint64_t id)
{
	struct gale_waker waker = {executor_wake_cb, executor, id};
	return waker;
}

/* ---- The public API ---- */

int gale_executor_init(struct gale_executor *executor, const struct gale_allocator *allocator)
{
	assert(executor != NULL);
	*executor = (struct gale_executor){0};
	executor->priv_allocator = gale__allocator_or_default(allocator);
	assert(executor->priv_allocator->alloc != NULL && executor->priv_allocator->free != NULL);
	/* With cap 0, index 0 already means "none" for the free list and the current task. */
	executor->priv_free_head = 0;
	executor->priv_current = 0;
	return 0;
}

int gale_executor_deinit(struct gale_executor *executor)
{
	assert(executor != NULL);
	if (executor->priv_slots == NULL)
		return 0;
	assert(!executor_is_polling(executor));
	if (executor->priv_live_count > 0)
		return -EBUSY;
	uint32_t cap = executor->priv_slots_cap;
	gale__free(executor->priv_allocator, executor->priv_slots,
		   cap * sizeof(*executor->priv_slots));
	gale__free(executor->priv_allocator, executor->priv_queue,
		   cap * sizeof(*executor->priv_queue));
	GALE__POISON(executor);
	/* A second deinit must be a no-op, so the one field it looks at stays meaningful. */
	executor->priv_slots = NULL;
	return 0;
}

int gale_executor_spawn(struct gale_executor *executor, gale_poll_fn *poll_fn, void *data,
			struct gale_task_handle *handle_out)
{
	assert(executor != NULL && executor->priv_allocator != NULL);
	assert(poll_fn != NULL && handle_out != NULL);
	uint32_t index = executor->priv_free_head;
	if (index == executor->priv_slots_cap) {
		/* No freed slot: the next one never used, growing first when there is none. */
		if (executor->priv_slots_inited == executor->priv_slots_cap) {
			int rc = executor_grow(executor);
			if (rc < 0)
				return rc;
		}
		index = executor->priv_slots_inited++;
		executor->priv_slots[index] = (struct gale_task_slot){.generation = 1};
	} else {
		executor->priv_free_head = executor->priv_slots[index].free_next;
	}
	struct gale_task_slot *slot = &executor->priv_slots[index];
	assert(slot->state == TASK_STATE_FREE);
	uint32_t generation = slot->generation;
	*slot = (struct gale_task_slot){
		.poll_fn = poll_fn,
		.data = data,
		.generation = generation,
		.state = TASK_STATE_QUEUED,
		.joiner = gale_waker_none(),
		.free_next = executor->priv_slots_cap,
	};
	queue_push(executor, index);
	executor->priv_live_count++;
	executor->priv_used_count++;
	executor->priv_stats.spawns_count++;
	handle_out->id = slot_id(generation, index);
	return 0;
}

int gale_executor_detach(struct gale_executor *executor, struct gale_task_handle handle)
{
	assert(executor != NULL);
	struct gale_task_slot *slot = slot_lookup_handle(executor, handle);
	if (slot == NULL)
		return -ESRCH;
	slot->joiner = gale_waker_none();
	if (slot->state == TASK_STATE_FINISHED) {
		slot_free(executor, slot_index(executor, slot));
		return 0;
	}
	slot->detached = true;
	return 0;
}

int gale_executor_abort(struct gale_executor *executor, struct gale_task_handle handle)
{
	assert(executor != NULL);
	struct gale_task_slot *slot = slot_lookup_handle(executor, handle);
	if (slot == NULL)
		return -ESRCH;
	uint32_t index = slot_index(executor, slot);
	switch (slot->state) {
	case TASK_STATE_FINISHED:
		return -EALREADY;
	case TASK_STATE_RUNNING:
		/* The poll in progress cannot be interrupted; run_ready finishes it after. */
		slot->abort_requested = true;
		return 0;
	case TASK_STATE_QUEUED:
		queue_remove_index(executor, index);
		slot_finish(executor, index, GALE_E_CANCELED);
		return 0;
	default:
		assert(slot->state == TASK_STATE_IDLE);
		slot_finish(executor, index, GALE_E_CANCELED);
		return 0;
	}
}

int gale_executor_try_join(struct gale_executor *executor, struct gale_task_handle handle,
			   int *result_out)
{
	assert(executor != NULL);
	assert(result_out != NULL);
	struct gale_task_slot *slot = slot_lookup_handle(executor, handle);
	if (slot == NULL)
		return -ESRCH;
	if (slot->state != TASK_STATE_FINISHED)
		return -EAGAIN;
	*result_out = slot->result;
	slot_free(executor, slot_index(executor, slot));
	return 0;
}

int gale_executor_poll_join(struct gale_executor *executor, struct gale_task_handle handle,
			    struct gale_cx *cx, int *result_out)
{
	assert(executor != NULL && cx != NULL);
	assert(result_out != NULL);
	struct gale_task_slot *slot = slot_lookup_handle(executor, handle);
	if (slot == NULL)
		return -ESRCH;
	if (slot->state != TASK_STATE_FINISHED) {
		slot->joiner = cx->waker;
		return GALE_PENDING;
	}
	*result_out = slot->result;
	slot_free(executor, slot_index(executor, slot));
	return 0;
}

bool gale_executor_is_finished(const struct gale_executor *executor,
			       struct gale_task_handle handle)
{
	assert(executor != NULL);
	const struct gale_task_slot *slot = slot_lookup_handle(executor, handle);
	return slot != NULL && slot->state == TASK_STATE_FINISHED;
}

/* Settles a task after one poll returned rc: finished, requeued, cancelled or idle. */
static void executor_after_poll(struct gale_executor *executor, uint32_t index, int rc)
{
	struct gale_task_slot *slot = &executor->priv_slots[index];
	assert(slot->state == TASK_STATE_RUNNING);
	assert(executor->priv_current == executor->priv_slots_cap);
	/* abort() returned 0 and promised GALE_E_CANCELED, so it wins over a result this
	 * very poll produced; the caller cleans the task's data up either way. */
	if (slot->abort_requested) {
		slot_finish(executor, index, GALE_E_CANCELED);
	} else if (rc != GALE_PENDING) {
		slot_finish(executor, index, rc);
	} else if (slot->woken) {
		slot->woken = false;
		slot->state = TASK_STATE_QUEUED;
		queue_push(executor, index);
	} else {
		slot->state = TASK_STATE_IDLE;
	}
}

/* Takes the next runnable task off the queue (the hook picks, else FIFO) and polls it. */
static void executor_poll_next(struct gale_executor *executor)
{
	assert(executor->priv_queue_len > 0);
	uint32_t index;
	if (executor->priv_schedule != NULL) {
		uint32_t pos = executor->priv_schedule(executor->priv_schedule_data,
						       executor->priv_queue_len);
		assert(pos < executor->priv_queue_len);
		index = queue_remove_at(executor, pos);
	} else {
		index = queue_pop_front(executor);
	}
	struct gale_task_slot *slot = &executor->priv_slots[index];
	assert(slot->state == TASK_STATE_QUEUED);
	slot->state = TASK_STATE_RUNNING;
	slot->woken = false;
	executor->priv_current = index;
	uint64_t id = slot_id(slot->generation, index);
	struct gale_cx cx = {executor_waker_for(executor, id)};
	const struct gale_executor_observer *observer = executor->priv_observer;
	if (observer != NULL && observer->poll_begin != NULL)
		observer->poll_begin(observer->data, (struct gale_task_handle){id});
	/* The poll may spawn and so move the slab: only the index survives it. */
	int rc = slot->poll_fn(slot->data, &cx);
	executor->priv_current = executor->priv_slots_cap;
	executor->priv_stats.polls_count++;
	if (observer != NULL && observer->poll_end != NULL)
		observer->poll_end(observer->data, (struct gale_task_handle){id}, rc);
	executor_after_poll(executor, index, rc);
}

uint32_t gale_executor_run_ready(struct gale_executor *executor, uint32_t polls_max)
{
	assert(executor != NULL);
	assert(!executor_is_polling(executor));
	uint32_t polls = 0;
	while (executor->priv_queue_len > 0 && (polls_max == 0 || polls < polls_max)) {
		executor_poll_next(executor);
		polls++;
	}
	return polls;
}

void gale_executor_schedule_set(struct gale_executor *executor, gale_schedule_fn *schedule,
				void *data)
{
	assert(executor != NULL);
	executor->priv_schedule = schedule;
	executor->priv_schedule_data = schedule != NULL ? data : NULL;
}

void gale_executor_observer_set(struct gale_executor *executor,
				const struct gale_executor_observer *observer)
{
	assert(executor != NULL);
	executor->priv_observer = observer;
}

struct gale_waker gale_executor_waker(struct gale_executor *executor,
				      struct gale_task_handle handle)
{
	assert(executor != NULL);
	/* The zero handle or a stale one makes a waker that wakes nobody (slot_lookup_id). */
	return executor_waker_for(executor, handle.id);
}

struct gale_task_handle gale_executor_current(const struct gale_executor *executor)
{
	assert(executor != NULL);
	struct gale_task_handle handle = {0};
	if (executor_is_polling(executor)) {
		const struct gale_task_slot *slot = &executor->priv_slots[executor->priv_current];
		assert(slot->state == TASK_STATE_RUNNING);
		handle.id = slot_id(slot->generation, executor->priv_current);
	}
	return handle;
}

uint32_t gale_executor_runnable_count(const struct gale_executor *executor)
{
	assert(executor != NULL);
	return executor->priv_queue_len;
}

uint32_t gale_executor_live_count(const struct gale_executor *executor)
{
	assert(executor != NULL);
	return executor->priv_live_count;
}

struct gale_executor_stats gale_executor_stats_get(const struct gale_executor *executor)
{
	assert(executor != NULL);
	return executor->priv_stats;
}

/* ---- Introspection ---- */

static bool slot_is_unfinished(const struct gale_task_slot *slot)
{
	return slot->state == TASK_STATE_IDLE || slot->state == TASK_STATE_QUEUED ||
	       slot->state == TASK_STATE_RUNNING;
}

uint32_t gale_executor_task_for_each_pending(const struct gale_executor *executor,
					     gale_executor_task_fn *fn, void *data)
{
	assert(executor != NULL);
	assert(fn != NULL);
	uint32_t visited = 0;
	for (uint32_t index = 0; index < executor->priv_slots_inited; index++) {
		const struct gale_task_slot *slot = &executor->priv_slots[index];
		if (!slot_is_unfinished(slot))
			continue;
		struct gale_task_handle handle = {slot_id(slot->generation, index)};
		fn(data, handle, slot->state != TASK_STATE_IDLE);
		visited++;
	}
	return visited;
}

bool gale_executor_joiner_find(const struct gale_executor *executor,
			       const struct gale_waker *waker, struct gale_task_handle *joined_out)
{
	assert(executor != NULL);
	assert(waker != NULL);
	if (!gale_waker_is_set(waker))
		return false;
	for (uint32_t index = 0; index < executor->priv_slots_inited; index++) {
		const struct gale_task_slot *slot = &executor->priv_slots[index];
		if (!slot_is_unfinished(slot) || !gale_waker_will_wake(&slot->joiner, waker))
			continue;
		if (joined_out != NULL)
			joined_out->id = slot_id(slot->generation, index);
		return true;
	}
	return false;
}

uint32_t gale_executor_abort_all(struct gale_executor *executor)
{
	assert(executor != NULL);
	assert(!executor_is_polling(executor));
	uint32_t aborted = 0;
	/* Finishing a task wakes its joiner, which at most queues a slot: the slab never
	 * moves here (only spawn grows it), so one pass over it sees every task. */
	for (uint32_t index = 0; index < executor->priv_slots_inited; index++) {
		struct gale_task_slot *slot = &executor->priv_slots[index];
		if (!slot_is_unfinished(slot))
			continue;
		assert(slot->state != TASK_STATE_RUNNING);
		if (slot->state == TASK_STATE_QUEUED)
			queue_remove_index(executor, index);
		slot_finish(executor, index, GALE_E_CANCELED);
		aborted++;
	}
	assert(executor->priv_live_count == 0);
	return aborted;
}
