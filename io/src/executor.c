/* SPDX-License-Identifier: MIT */
/*
 * The single-threaded executor: a slab of task slots with generation-tagged ids and a run
 * queue linked through the slots, sitting under the runtime (rt.h). Only spawn allocates
 * (slab growth). Slots past the high-water mark (priv_slots_inited) are never touched until
 * a spawn needs one, so memory that is resident follows the peak of tasks, not the slab's
 * doubled capacity.
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
/* The run queue's end (queue_next of its last slot). */
#define QUEUE_NONE UINT32_MAX

enum task_state {
	TASK_STATE_FREE = 0,     /* Slot unused; on the free list. */
	TASK_STATE_IDLE = 1,     /* Pending, not queued: waits for a wake. */
	TASK_STATE_QUEUED = 2,   /* In the run queue exactly once. */
	TASK_STATE_RUNNING = 3,  /* Being polled right now. */
	TASK_STATE_FINISHED = 4, /* Done; result kept until joined or detached. */
};

/*
 * 32 bytes, one per task, so per connection (it was 64, plus 4 per slot of a run queue
 * ring): result and free_next share storage, since a slot is FINISHED or FREE, never both;
 * the run queue is linked through the slots; and the joiner, a 24-byte waker that most
 * tasks never get (a detached task cannot be joined), lives in a parallel table
 * (priv_joiners) that only poll_join writes, so its pages stay untouched, and not resident,
 * unless tasks are joined that way.
 */
struct gale_task_slot {
	gale_poll_fn *poll_fn;    /* The task's poll function; NULL while FREE. */
	void *data;               /* Borrowed task state passed to poll_fn. */
	uint32_t generation;      /* Bumped when the slot is freed, so old ids go stale. */
	union {
		int result;         /* The poll's final value once FINISHED. */
		uint32_t free_next; /* Next free slot index (cap = none) while FREE. */
	};
	uint8_t state;            /* enum task_state. */
	bool woken;               /* Woken while RUNNING: requeue when the poll returns. */
	bool detached;            /* Free the slot as soon as the task finishes. */
	bool abort_requested : 1; /* Aborted while RUNNING: cancel when the poll returns. */
	bool has_joiner : 1;      /* priv_joiners[index] holds a set waker (poll_join). */
	uint32_t queue_next;      /* Next slot in the run queue while QUEUED (QUEUE_NONE: last). */
};

/* ---- Slots and handles ---- */

/* Takes the joiner a poll_join stored for slot index (none if there is none). The table
 * entry is read only under has_joiner: the table is never initialised, so that it stays
 * untouched memory. */
static struct gale_waker joiner_take(struct gale_executor *executor, uint32_t index)
{
	struct gale_task_slot *slot = &executor->priv_slots[index];
	if (!slot->has_joiner)
		return gale_waker_none();
	slot->has_joiner = false;
	return executor->priv_joiners[index];
}

/* Stores waker as slot index's joiner (the most recent poll_join wins). */
static void joiner_store(struct gale_executor *executor, uint32_t index,
			 const struct gale_waker *waker)
{
	struct gale_task_slot *slot = &executor->priv_slots[index];
	slot->has_joiner = gale_waker_is_set(waker);
	if (slot->has_joiner)
		executor->priv_joiners[index] = *waker;
}

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

/* ---- The run queue: slot indexes linked through queue_next, head to tail ---- */

/*
 * Linked through the slots rather than kept in a ring of its own: the ring cost 4 bytes per
 * slot of capacity (all of them resident once the head had swept round), a copy on every
 * slab growth, and its outgrown copies stayed in the heap. A push or pop writes the slot
 * that is about to be polled anyway.
 */
static void queue_push(struct gale_executor *executor, uint32_t index)
{
	assert(executor->priv_queue_len < executor->priv_slots_cap);
	assert(executor->priv_slots[index].state == TASK_STATE_QUEUED);
	executor->priv_slots[index].queue_next = QUEUE_NONE;
	if (executor->priv_queue_len == 0)
		executor->priv_queue_head = index;
	else
		executor->priv_slots[executor->priv_queue_tail].queue_next = index;
	executor->priv_queue_tail = index;
	executor->priv_queue_len++;
}

/* Removes the FIFO head, for the common turn with no scheduling hook. */
static inline uint32_t queue_pop_front(struct gale_executor *executor)
{
	assert(executor->priv_queue_len > 0);
	uint32_t index = executor->priv_queue_head;
	executor->priv_queue_head = executor->priv_slots[index].queue_next;
	executor->priv_queue_len--;
	return index;
}

/* Removes the entry after the queued slot prev, keeping the order of the rest. */
static uint32_t queue_remove_after(struct gale_executor *executor, uint32_t prev)
{
	uint32_t index = executor->priv_slots[prev].queue_next;
	assert(index != QUEUE_NONE);
	executor->priv_slots[prev].queue_next = executor->priv_slots[index].queue_next;
	if (executor->priv_queue_tail == index)
		executor->priv_queue_tail = prev;
	executor->priv_queue_len--;
	return index;
}

/* Removes the entry at FIFO position pos, keeping the order of the rest: O(pos). */
static uint32_t queue_remove_at(struct gale_executor *executor, uint32_t pos)
{
	assert(pos < executor->priv_queue_len);
	if (pos == 0)
		return queue_pop_front(executor);
	uint32_t prev = executor->priv_queue_head;
	for (uint32_t i = 1; i < pos; i++)
		prev = executor->priv_slots[prev].queue_next;
	return queue_remove_after(executor, prev);
}

/* Removes a queued slot wherever it sits (abort); O(queue length). */
static void queue_remove_index(struct gale_executor *executor, uint32_t index)
{
	assert(executor->priv_slots[index].state == TASK_STATE_QUEUED);
	assert(executor->priv_queue_len > 0);
	if (executor->priv_queue_head == index) {
		(void)queue_pop_front(executor);
		return;
	}
	uint32_t prev = executor->priv_queue_head;
	for (uint32_t pos = 1; pos < executor->priv_queue_len; pos++) {
		if (executor->priv_slots[prev].queue_next == index) {
			(void)queue_remove_after(executor, prev);
			return;
		}
		prev = executor->priv_slots[prev].queue_next;
	}
	assert(!"queued slot missing from the run queue");
}

/* ---- Slab growth (spawn only) ---- */

/* Doubles the slab and the joiner table together; the new slots are left untouched (spawn
 * takes them at the high-water mark). The run queue is linked by index, so it survives the
 * copy as it is; of the joiner table only the entries in use are copied, so the new table's
 * pages stay untouched too. -ENOMEM leaves the executor exactly as it was. */
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
	struct gale_waker *joiners = gale__alloc(allocator, cap * sizeof(*joiners));
	if (joiners == NULL) {
		gale__free(allocator, slots, cap * sizeof(*slots));
		return -ENOMEM;
	}
	if (cap_old > 0)
		memcpy(slots, executor->priv_slots, cap_old * sizeof(*slots));
	for (uint32_t index = 0; index < cap_old; index++) {
		if (slots[index].has_joiner)
			joiners[index] = executor->priv_joiners[index];
	}
	gale__free(allocator, executor->priv_slots, cap_old * sizeof(*slots));
	gale__free(allocator, executor->priv_joiners, cap_old * sizeof(*joiners));
	executor->priv_slots = slots;
	executor->priv_joiners = joiners;
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
	struct gale_waker joiner = joiner_take(executor, index);
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
	gale__free(executor->priv_allocator, executor->priv_joiners,
		   cap * sizeof(*executor->priv_joiners));
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
	slot->has_joiner = false;
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
		joiner_store(executor, slot_index(executor, slot), &cx->waker);
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
		if (!slot_is_unfinished(slot) || !slot->has_joiner ||
		    !gale_waker_will_wake(&executor->priv_joiners[index], waker))
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
