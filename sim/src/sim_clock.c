/* SPDX-License-Identifier: MIT */
/*
 * The sim's scheduled events (below sim_driver.c's wait): a binary min-heap keyed by
 * (time_ns, sequence), so events due at the same virtual instant fire in the order they
 * were scheduled and every run orders them identically. Events name their object by index
 * plus a generation or serial; one whose object is gone by then fires as a no-op.
 */
#include <assert.h>
#include <errno.h> /* E* constants only. */
#include <stdlib.h>

#include "sim_internal.h"

#define HEAP_CAP_MIN 64u

static bool event_before(const struct sim_event *a, const struct sim_event *b)
{
	if (a->time_ns != b->time_ns)
		return a->time_ns < b->time_ns;
	return a->sequence < b->sequence;
}

static void heap_sift_up(struct sim_event *heap, uint32_t i)
{
	struct sim_event moving = heap[i];
	while (i > 0 && event_before(&moving, &heap[(i - 1) / 2])) {
		heap[i] = heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	heap[i] = moving;
}

static void heap_sift_down(struct sim_event *heap, uint32_t len, uint32_t i)
{
	assert(i < len);
	struct sim_event moving = heap[i];
	for (;;) {
		uint32_t child = 2 * i + 1;
		if (child >= len)
			break;
		if (child + 1 < len && event_before(&heap[child + 1], &heap[child]))
			child++;
		if (!event_before(&heap[child], &moving))
			break;
		heap[i] = heap[child];
		i = child;
	}
	heap[i] = moving;
}

void gale__sim_clock_deinit(struct gale_sim_state *state)
{
	assert(state != NULL);
	free(state->heap);
	state->heap = NULL;
	state->heap_len = 0;
	state->heap_cap = 0;
}

int gale__sim_clock_schedule(struct gale_sim_state *state, int64_t time_ns,
			     enum sim_event_kind kind, uint32_t index, uint64_t serial,
			     uint16_t arg)
{
	assert(state != NULL);
	assert(time_ns >= state->now_ns);
	if (state->heap_len == state->heap_cap) {
		uint32_t cap = state->heap_cap == 0 ? HEAP_CAP_MIN : state->heap_cap * 2;
		if (cap <= state->heap_cap)
			return -ENOMEM;
		struct sim_event *heap = realloc(state->heap, (size_t)cap * sizeof(*heap));
		if (heap == NULL)
			return -ENOMEM;
		state->heap = heap;
		state->heap_cap = cap;
	}
	struct sim_event event = {
		.time_ns = time_ns,
		.sequence = state->sequence_next++,
		.serial = serial,
		.index = index,
		.kind = (uint16_t)kind,
		.arg = arg,
	};
	state->heap[state->heap_len] = event;
	heap_sift_up(state->heap, state->heap_len);
	state->heap_len++;
	return 0;
}

bool gale__sim_clock_next(const struct gale_sim_state *state, int64_t *time_out)
{
	assert(state != NULL && time_out != NULL);
	if (state->heap_len == 0)
		return false;
	*time_out = state->heap[0].time_ns;
	return true;
}

static struct sim_event heap_pop(struct gale_sim_state *state)
{
	assert(state->heap_len > 0);
	struct sim_event top = state->heap[0];
	state->heap_len--;
	if (state->heap_len > 0) {
		state->heap[0] = state->heap[state->heap_len];
		heap_sift_down(state->heap, state->heap_len, 0);
	}
	return top;
}

static void event_fire(struct gale_sim_state *state, const struct sim_event *event)
{
	if (event->kind == SIM_EVENT_READY) {
		gale__sim_ready_fire(state, event);
		return;
	}
	struct sim_conn *conn = gale__sim_conn_of_event(state, event);
	if (conn == NULL)
		return; /* The stream was released since: nothing left to deliver to. */
	switch (event->kind) {
	case SIM_EVENT_FLOW:
		assert(event->arg <= 1);
		gale__sim_flow_fire(state, conn, event->arg);
		break;
	case SIM_EVENT_SYN:
		gale__sim_syn_fire(state, conn);
		break;
	case SIM_EVENT_SYNACK:
		gale__sim_synack_fire(state, conn);
		break;
	case SIM_EVENT_ACK:
		gale__sim_ack_fire(state, conn);
		break;
	case SIM_EVENT_REFUSE:
		gale__sim_refuse_fire(state, conn, event->arg);
		break;
	default:
		assert(!"unknown sim event kind");
	}
}

void gale__sim_clock_run_due(struct gale_sim_state *state)
{
	assert(state != NULL);
	while (state->heap_len > 0 && state->heap[0].time_ns <= state->now_ns) {
		/* Popped before firing: firing may schedule (and so move the heap). */
		struct sim_event event = heap_pop(state);
		event_fire(state, &event);
	}
}
