/* SPDX-License-Identifier: MIT */
/*
 * The sim's virtual fd table (below sim_net.c and sim_io.c): slots indexed by fd -
 * GALE_SIM_FD_BASE, the lowest free number handed out first (as the kernel does, so
 * closed numbers are reused and stale tokens get exercised), and the small growable FIFO
 * the other sim files use for queues.
 */
#include <assert.h>
#include <errno.h> /* E* constants only. */
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

#define FDS_CAP_MIN 64u
#define FIFO_CAP_MIN 4u

/* ---- FIFO ---------------------------------------------------------------------------- */

void gale__sim_fifo_init(struct sim_fifo *fifo, size_t item_size)
{
	assert(fifo != NULL);
	assert(item_size > 0);
	*fifo = (struct sim_fifo){.item_size = item_size};
}

void gale__sim_fifo_deinit(struct sim_fifo *fifo)
{
	assert(fifo != NULL);
	free(fifo->items);
	size_t item_size = fifo->item_size;
	*fifo = (struct sim_fifo){.item_size = item_size};
}

void *gale__sim_fifo_at(const struct sim_fifo *fifo, uint32_t index)
{
	assert(fifo != NULL);
	assert(index < fifo->len);
	uint32_t position = fifo->head + index;
	if (position >= fifo->cap)
		position -= fifo->cap;
	return fifo->items + (size_t)position * fifo->item_size;
}

void *gale__sim_fifo_back(const struct sim_fifo *fifo)
{
	assert(fifo != NULL && fifo->len > 0);
	return gale__sim_fifo_at(fifo, fifo->len - 1);
}

/* Doubles the allocation, unrolling the ring so the oldest item is first again. */
static int fifo_grow(struct sim_fifo *fifo)
{
	assert(fifo->len == fifo->cap);
	uint32_t cap = fifo->cap == 0 ? FIFO_CAP_MIN : fifo->cap * 2;
	if (cap <= fifo->cap)
		return -ENOMEM;
	uint8_t *items = malloc((size_t)cap * fifo->item_size);
	if (items == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < fifo->len; i++)
		memcpy(items + (size_t)i * fifo->item_size, gale__sim_fifo_at(fifo, i),
		       fifo->item_size);
	free(fifo->items);
	fifo->items = items;
	fifo->cap = cap;
	fifo->head = 0;
	return 0;
}

int gale__sim_fifo_push(struct sim_fifo *fifo, const void *item)
{
	assert(fifo != NULL);
	assert(item != NULL);
	if (fifo->len == fifo->cap) {
		int rc = fifo_grow(fifo);
		if (rc < 0)
			return rc;
	}
	fifo->len++;
	memcpy(gale__sim_fifo_back(fifo), item, fifo->item_size);
	return 0;
}

void gale__sim_fifo_pop(struct sim_fifo *fifo)
{
	assert(fifo != NULL);
	assert(fifo->len > 0);
	fifo->head++;
	if (fifo->head == fifo->cap)
		fifo->head = 0;
	fifo->len--;
}

/* ---- Free numbers: a binary min-heap of slots ---------------------------------------- */

static void free_heap_push(struct gale_sim_state *state, uint32_t slot)
{
	assert(state->fds_free_len < state->fds_free_cap);
	uint32_t *heap = state->fds_free;
	uint32_t i = state->fds_free_len++;
	while (i > 0 && heap[(i - 1) / 2] > slot) {
		heap[i] = heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	heap[i] = slot;
}

static uint32_t free_heap_pop(struct gale_sim_state *state)
{
	assert(state->fds_free_len > 0);
	uint32_t *heap = state->fds_free;
	uint32_t top = heap[0];
	uint32_t last = heap[--state->fds_free_len];
	uint32_t i = 0;
	for (;;) {
		uint32_t child = 2 * i + 1;
		if (child >= state->fds_free_len)
			break;
		if (child + 1 < state->fds_free_len && heap[child + 1] < heap[child])
			child++;
		if (heap[child] >= last)
			break;
		heap[i] = heap[child];
		i = child;
	}
	if (state->fds_free_len > 0)
		heap[i] = last;
	return top;
}

/* ---- The table ----------------------------------------------------------------------- */

int gale__sim_fds_init(struct gale_sim_state *state)
{
	assert(state != NULL);
	assert(state->fds == NULL);
	state->fds = calloc(FDS_CAP_MIN, sizeof(*state->fds));
	state->fds_free = malloc(FDS_CAP_MIN * sizeof(*state->fds_free));
	if (state->fds == NULL || state->fds_free == NULL) {
		gale__sim_fds_deinit(state);
		return -ENOMEM;
	}
	state->fds_cap = FDS_CAP_MIN;
	state->fds_free_cap = FDS_CAP_MIN;
	return 0;
}

void gale__sim_fds_deinit(struct gale_sim_state *state)
{
	assert(state != NULL);
	for (uint32_t slot = 0; state->fds != NULL && slot < state->fds_high; slot++) {
		struct sim_listener *listener = state->fds[slot].listener;
		if (listener != NULL)
			gale__sim_fifo_deinit(&listener->accepts);
		free(listener);
	}
	free(state->fds);
	free(state->fds_free);
	state->fds = NULL;
	state->fds_free = NULL;
	state->fds_cap = 0;
	state->fds_free_cap = 0;
}

/* Makes room for one more fresh slot (and its number in the free heap, later). */
static int fds_reserve(struct gale_sim_state *state)
{
	assert(state->fds_high <= state->fds_cap && state->fds_cap > 0);
	if (state->fds_high < state->fds_cap && state->fds_high < state->fds_free_cap)
		return 0;
	/* The free heap first: it must always hold every slot below fds_cap. */
	uint32_t cap = state->fds_cap * 2;
	if (state->fds_free_cap < cap) {
		uint32_t *free_slots = realloc(state->fds_free, (size_t)cap * sizeof(*free_slots));
		if (free_slots == NULL)
			return -ENOMEM;
		state->fds_free = free_slots;
		state->fds_free_cap = cap;
	}
	struct sim_fd *fds = realloc(state->fds, (size_t)cap * sizeof(*fds));
	if (fds == NULL)
		return -ENOMEM;
	memset(fds + state->fds_cap, 0, (size_t)(cap - state->fds_cap) * sizeof(*fds));
	state->fds = fds;
	state->fds_cap = cap;
	return 0;
}

int gale__sim_fd_alloc(struct gale_sim_state *state, enum sim_fd_kind kind, int *fd_out)
{
	assert(state != NULL && fd_out != NULL);
	assert(kind != SIM_FD_FREE);
	if (state->fds_open_count >= state->options.fds_max)
		return -EMFILE;
	uint32_t slot;
	if (state->fds_free_len > 0) {
		slot = free_heap_pop(state);
	} else {
		int rc = fds_reserve(state);
		if (rc < 0)
			return rc;
		slot = state->fds_high++;
	}
	struct sim_fd *fd = &state->fds[slot];
	assert(fd->kind == SIM_FD_FREE);
	*fd = (struct sim_fd){0};
	fd->kind = (uint8_t)kind;
	fd->conn = SIM_NONE;
	fd->serial = ++state->serial_next;
	fd->local.host = SIM_HOST_ANY;
	gale__sim_sockopts_default(state, fd);
	state->fds_open_count++;
	*fd_out = gale__sim_fd_number(slot);
	return 0;
}

void gale__sim_fd_release(struct gale_sim_state *state, int fd)
{
	struct sim_fd *entry = gale__sim_fd_get(state, fd);
	assert(entry != NULL);
	assert(entry->reg.serial == 0 && entry->listener == NULL && !entry->is_bound);
	*entry = (struct sim_fd){0};
	free_heap_push(state, (uint32_t)(fd - GALE_SIM_FD_BASE));
	assert(state->fds_open_count > 0);
	state->fds_open_count--;
}

struct sim_fd *gale__sim_fd_slot(const struct gale_sim_state *state, uint32_t slot)
{
	assert(state != NULL);
	if (slot >= state->fds_high)
		return NULL;
	struct sim_fd *fd = &state->fds[slot];
	return fd->kind == SIM_FD_FREE ? NULL : fd;
}

struct sim_fd *gale__sim_fd_get(const struct gale_sim_state *state, int fd)
{
	assert(state != NULL);
	if (fd < GALE_SIM_FD_BASE)
		return NULL;
	return gale__sim_fd_slot(state, (uint32_t)(fd - GALE_SIM_FD_BASE));
}

int gale__sim_fd_number(uint32_t slot)
{
	assert(slot < (uint32_t)(INT32_MAX - GALE_SIM_FD_BASE));
	return GALE_SIM_FD_BASE + (int)slot;
}
