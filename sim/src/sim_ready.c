/* SPDX-License-Identifier: MIT */
/*
 * The sim's readiness model (between the streams below and wait() above): what each
 * virtual fd is ready for, edge detection per registration, the ready queue wait() drains,
 * and registration itself.
 *
 * Edges: a registration remembers the bits it reported true (reported). After anything
 * that may change an fd's readiness, gale__sim_fd_update() first forgets the bits that are
 * false now (that is the re-arm: a drained buffer, a full one, a consumed error), then
 * queues an event if some bit is true and not remembered (that is the edge). wait() never
 * scans registrations: it drains the ready queue, whose entries are validated by the
 * registration's serial, so deregistered or re-registered fds leave harmless leftovers.
 */
#include <assert.h>
#include <errno.h> /* E* constants only. */
#include <stdlib.h>

#include "sim_internal.h"

int gale__sim_ready_init(struct gale_sim_state *state)
{
	assert(state != NULL);
	gale__sim_fifo_init(&state->ready_queue, sizeof(struct sim_ready_entry));
	gale__sim_fifo_init(&state->stale_events, sizeof(struct gale_event));
	return 0;
}

void gale__sim_ready_deinit(struct gale_sim_state *state)
{
	assert(state != NULL);
	gale__sim_fifo_deinit(&state->ready_queue);
	gale__sim_fifo_deinit(&state->stale_events);
	free(state->registered);
	state->registered = NULL;
	state->registered_len = 0;
	state->registered_cap = 0;
}

/* ---- Masks --------------------------------------------------------------------------- */

/* A connected TCP socket or a socketpair end, as Linux's tcp_poll / unix_poll see it. */
static uint32_t endpoint_mask(const struct gale_sim_state *state, const struct sim_conn *conn,
			      int side)
{
	assert(side == 0 || side == 1);
	assert(conn->kind != SIM_CONN_PIPE);
	const struct sim_endpoint *end = &conn->ends[side];
	bool rcv_done = end->fin_received || end->rcv_shutdown || end->reset;
	bool snd_done = end->snd_shutdown || end->reset;
	uint32_t mask = 0;
	if (conn->flows[1 - side].delivered > 0 || rcv_done || end->error != 0)
		mask |= GALE_READY_READ;
	if (rcv_done)
		mask |= GALE_READY_RDHUP;
	if (snd_done || gale__sim_flow_space(state, &conn->flows[side]) > 0)
		mask |= GALE_READY_WRITE;
	if (rcv_done && snd_done)
		mask |= GALE_READY_HUP;
	if (end->error != 0)
		mask |= GALE_READY_ERROR;
	return mask;
}

static uint32_t tcp_mask(const struct gale_sim_state *state, const struct sim_fd *fd)
{
	switch (fd->tcp_state) {
	case SIM_TCP_NEW:
	case SIM_TCP_BOUND:
		/* Linux's tcp_poll: a socket in TCP_CLOSE is writable and hung up. */
		return GALE_READY_WRITE | GALE_READY_HUP;
	case SIM_TCP_LISTENING:
		assert(fd->listener != NULL);
		return fd->listener->accepts.len > 0 ? GALE_READY_READ : 0;
	case SIM_TCP_CONNECTING:
		return 0;
	default:
		break;
	}
	const struct sim_conn *conn = gale__sim_conn_get(state, fd->conn);
	assert(conn != NULL);
	if (fd->tcp_state == SIM_TCP_FAILED) {
		uint32_t mask = GALE_READY_READ | GALE_READY_RDHUP | GALE_READY_WRITE |
				GALE_READY_HUP;
		return conn->ends[fd->side].error != 0 ? mask | GALE_READY_ERROR : mask;
	}
	return endpoint_mask(state, conn, fd->side);
}

uint32_t gale__sim_fd_mask(const struct gale_sim_state *state, const struct sim_fd *fd)
{
	assert(state != NULL && fd != NULL);
	if (fd->kind == SIM_FD_TCP)
		return tcp_mask(state, fd);
	const struct sim_conn *conn = gale__sim_conn_get(state, fd->conn);
	assert(conn != NULL);
	if (fd->kind == SIM_FD_UNIX)
		return endpoint_mask(state, conn, fd->side);
	if (fd->kind == SIM_FD_PIPE_READ) {
		/* pipe_poll: readable with bytes or once the writer is gone, which is HUP. */
		if (conn->ends[1].fin_received)
			return GALE_READY_READ | GALE_READY_HUP;
		return conn->flows[0].delivered > 0 ? GALE_READY_READ : 0;
	}
	assert(fd->kind == SIM_FD_PIPE_WRITE);
	uint32_t mask = gale__sim_flow_space(state, &conn->flows[0]) > 0 ? GALE_READY_WRITE : 0;
	return conn->ends[1].is_open ? mask : mask | GALE_READY_ERROR;
}

/* epoll's filter: READ/RDHUP need READ interest, WRITE needs WRITE; HUP, ERROR always. */
static uint32_t mask_filter(uint32_t mask, uint32_t interest)
{
	uint32_t allowed = GALE_READY_HUP | GALE_READY_ERROR;
	if ((interest & GALE_READY_READ) != 0)
		allowed |= GALE_READY_READ | GALE_READY_RDHUP;
	if ((interest & GALE_READY_WRITE) != 0)
		allowed |= GALE_READY_WRITE;
	return mask & allowed;
}

/* ---- Edges --------------------------------------------------------------------------- */

static void ready_queue_push(struct gale_sim_state *state, uint32_t slot, struct sim_fd *fd)
{
	if (fd->reg.queued)
		return;
	struct sim_ready_entry entry = {.slot = slot, .serial = fd->reg.serial};
	/* Out of memory would lose the edge; the sim's own bookkeeping has no better answer. */
	if (gale__sim_fifo_push(&state->ready_queue, &entry) == 0)
		fd->reg.queued = true;
}

/* An edge: queue it now, or (READY_DELAY) schedule it for later. */
static void ready_signal(struct gale_sim_state *state, int fd_number, struct sim_fd *fd)
{
	assert(fd->reg.serial != 0);
	uint32_t slot = (uint32_t)(fd_number - GALE_SIM_FD_BASE);
	const struct gale_fault_profile *profile = state->options.profile;
	if (profile != NULL && profile->ready_delay_ns_max > 0 &&
	    gale__sim_fault(state, GALE_FAULT_READY_DELAY, fd_number)) {
		int64_t delay_ns = gale__sim_range(state, 1, profile->ready_delay_ns_max);
		int64_t time_ns = gale__sim_time_after(state->now_ns, delay_ns);
		if (gale__sim_clock_schedule(state, time_ns, SIM_EVENT_READY, slot,
					     fd->reg.serial, 0) == 0)
			return;
	}
	ready_queue_push(state, slot, fd);
}

void gale__sim_fd_update(struct gale_sim_state *state, int fd)
{
	struct sim_fd *entry = gale__sim_fd_get(state, fd);
	assert(entry != NULL);
	if (entry->reg.serial == 0)
		return;
	uint32_t bits = mask_filter(gale__sim_fd_mask(state, entry), entry->reg.interest);
	entry->reg.reported &= bits;
	uint32_t edges = bits & ~entry->reg.reported;
	if (edges == 0)
		return;
	entry->reg.reported |= edges;
	ready_signal(state, fd, entry);
}

void gale__sim_fd_rearm(struct gale_sim_state *state, int fd, uint32_t bits)
{
	struct sim_fd *entry = gale__sim_fd_get(state, fd);
	assert(entry != NULL);
	entry->reg.reported &= ~bits;
	gale__sim_fd_update(state, fd);
}

void gale__sim_endpoint_update(struct gale_sim_state *state, struct sim_conn *conn, int side)
{
	assert(conn != NULL);
	assert(side == 0 || side == 1);
	if (conn->ends[side].fd >= 0)
		gale__sim_fd_update(state, conn->ends[side].fd);
}

void gale__sim_ready_fire(struct gale_sim_state *state, const struct sim_event *event)
{
	assert(event->kind == SIM_EVENT_READY);
	struct sim_fd *fd = gale__sim_fd_slot(state, event->index);
	if (fd == NULL || fd->reg.serial != event->serial)
		return; /* Deregistered (or closed) while the event was held back. */
	ready_queue_push(state, event->index, fd);
}

/* ---- Registration -------------------------------------------------------------------- */

static int registered_reserve(struct gale_sim_state *state)
{
	if (state->registered_len < state->registered_cap)
		return 0;
	uint32_t cap = state->registered_cap == 0 ? 64 : state->registered_cap * 2;
	uint32_t *registered = realloc(state->registered, (size_t)cap * sizeof(*registered));
	if (registered == NULL)
		return -ENOMEM;
	state->registered = registered;
	state->registered_cap = cap;
	return 0;
}

static bool interest_is_valid(uint32_t interest)
{
	return interest != 0 && (interest & ~(uint32_t)GALE_READY_INTEREST_ALL) == 0;
}

int gale__sim_op_fd_register(struct gale_sim_state *state, int fd, uint64_t token,
			     uint32_t interest)
{
	struct sim_fd *entry = gale__sim_fd_get(state, fd);
	if (entry == NULL)
		return -EBADF;
	if (!interest_is_valid(interest))
		return -EINVAL;
	if (entry->reg.serial != 0)
		return -EEXIST;
	if (registered_reserve(state) < 0)
		return -ENOMEM;
	entry->reg = (struct sim_registration){
		.token = token,
		.serial = ++state->serial_next,
		.interest = interest,
		.index = state->registered_len,
	};
	assert(state->registered_len < state->registered_cap);
	state->registered[state->registered_len++] = (uint32_t)(fd - GALE_SIM_FD_BASE);
	assert(entry->reg.serial != 0 && !entry->reg.queued);
	gale__sim_fd_update(state, fd);
	return 0;
}

int gale__sim_op_fd_reregister(struct gale_sim_state *state, int fd, uint64_t token,
			       uint32_t interest)
{
	struct sim_fd *entry = gale__sim_fd_get(state, fd);
	if (entry == NULL)
		return -EBADF;
	if (entry->reg.serial == 0)
		return -ENOENT;
	if (!interest_is_valid(interest))
		return -EINVAL;
	assert(entry->reg.index < state->registered_len);
	assert(state->registered[entry->reg.index] == (uint32_t)(fd - GALE_SIM_FD_BASE));
	entry->reg.token = token;
	entry->reg.interest = interest;
	/* EPOLL_CTL_MOD re-arms: whatever is true now is reported once more. */
	entry->reg.reported = 0;
	gale__sim_fd_update(state, fd);
	return 0;
}

void gale__sim_registration_drop(struct gale_sim_state *state, int fd)
{
	struct sim_fd *entry = gale__sim_fd_get(state, fd);
	assert(entry != NULL);
	if (entry->reg.serial == 0)
		return;
	uint32_t index = entry->reg.index;
	assert(index < state->registered_len);
	assert(state->registered[index] == (uint32_t)(fd - GALE_SIM_FD_BASE));
	uint32_t last = state->registered[--state->registered_len];
	state->registered[index] = last;
	state->fds[last].reg.index = index;
	/* Serial 0: queue entries and held-back events for it are now leftovers. */
	entry->reg = (struct sim_registration){0};
}

int gale__sim_op_fd_deregister(struct gale_sim_state *state, int fd)
{
	struct sim_fd *entry = gale__sim_fd_get(state, fd);
	if (entry == NULL)
		return -EBADF;
	if (entry->reg.serial == 0)
		return -ENOENT;
	if (gale__sim_fault(state, GALE_FAULT_READY_STALE, fd)) {
		struct gale_event stale = {
			.token = entry->reg.token,
			.ready = entry->reg.interest & GALE_READY_INTEREST_ALL,
		};
		(void)gale__sim_fifo_push(&state->stale_events, &stale);
	}
	gale__sim_registration_drop(state, fd);
	assert(entry->reg.serial == 0);
	return 0;
}

/* ---- Handing events out -------------------------------------------------------------- */

/* The fd of a ready-queue entry if the entry is still current, else NULL. */
static struct sim_fd *entry_fd(const struct gale_sim_state *state,
			       const struct sim_ready_entry *entry)
{
	struct sim_fd *fd = gale__sim_fd_slot(state, entry->slot);
	if (fd == NULL || fd->reg.serial != entry->serial || !fd->reg.queued)
		return NULL;
	return fd;
}

bool gale__sim_events_pending(struct gale_sim_state *state)
{
	assert(state != NULL);
	if (state->stale_events.len > 0)
		return true;
	while (state->ready_queue.len > 0) {
		const struct sim_ready_entry *entry = gale__sim_fifo_at(&state->ready_queue, 0);
		struct sim_fd *fd = entry_fd(state, entry);
		if (fd != NULL &&
		    mask_filter(gale__sim_fd_mask(state, fd), fd->reg.interest) != 0)
			return true;
		/* A leftover, or readiness that went away: epoll would not report it either. */
		if (fd != NULL)
			fd->reg.queued = false;
		gale__sim_fifo_pop(&state->ready_queue);
	}
	return false;
}

int gale__sim_events_collect(struct gale_sim_state *state, struct gale_event *events,
			     int events_cap)
{
	assert(events != NULL && events_cap > 0);
	int count = 0;
	while (count < events_cap && state->stale_events.len > 0) {
		events[count++] = *(const struct gale_event *)gale__sim_fifo_at(
			&state->stale_events, 0);
		gale__sim_fifo_pop(&state->stale_events);
	}
	while (count < events_cap && state->ready_queue.len > 0) {
		struct sim_ready_entry entry =
			*(const struct sim_ready_entry *)gale__sim_fifo_at(&state->ready_queue, 0);
		gale__sim_fifo_pop(&state->ready_queue);
		struct sim_fd *fd = entry_fd(state, &entry);
		if (fd == NULL)
			continue;
		fd->reg.queued = false;
		/* Like epoll, the bits are those true now; an event with none is dropped. */
		uint32_t bits = mask_filter(gale__sim_fd_mask(state, fd), fd->reg.interest);
		if (bits == 0)
			continue;
		events[count].token = fd->reg.token;
		events[count].ready = bits;
		count++;
	}
	return count;
}

int gale__sim_events_spurious(struct gale_sim_state *state, struct gale_event *events,
			      int count, int events_cap)
{
	assert(count >= 0 && count <= events_cap);
	if (count == events_cap || state->registered_len == 0)
		return count;
	if (!gale__sim_fault(state, GALE_FAULT_READY_SPURIOUS, -1))
		return count;
	uint32_t index = (uint32_t)gale__sim_range(state, 0, (int64_t)state->registered_len - 1);
	const struct sim_fd *fd = &state->fds[state->registered[index]];
	assert(fd->reg.serial != 0);
	events[count].token = fd->reg.token;
	events[count].ready = fd->reg.interest & GALE_READY_INTEREST_ALL;
	return count + 1;
}
