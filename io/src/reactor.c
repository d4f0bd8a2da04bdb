/* SPDX-License-Identifier: MIT */
/*
 * The reactor: a fixed slab of registrations above the driver seam, shared by every driver.
 * Sections: tokens and slots, init/deinit, registration, turn (event dispatch), readiness
 * polls and waiters, clearing, queries. It never calls the OS: only gale_driver_*().
 */
#include <assert.h>
#include <errno.h> /* E* constants only. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gale/error.h>
#include <gale/reactor.h>

#include "io_internal.h"

/* Every bit the reactor knows; unknown bits from a driver are ignored. */
#define READY_BITS_ALL                                                                      \
	(GALE_READY_READ | GALE_READY_WRITE | GALE_READY_RDHUP | GALE_READY_HUP |          \
	 GALE_READY_ERROR)
/* Readiness that lets a reader make progress (or see the end). */
#define READY_MASK_READ (GALE_READY_READ | GALE_READY_RDHUP | GALE_READY_HUP | GALE_READY_ERROR)
/* Readiness that lets a writer make progress (or see the failure). */
#define READY_MASK_WRITE (GALE_READY_WRITE | GALE_READY_HUP | GALE_READY_ERROR)

struct gale_reactor_slot {
	int fd;                              /* Registered fd, for fd_reregister/deregister. */
	uint32_t generation;                 /* Token high half; never 0, so no token is 0. */
	uint32_t interest;                   /* READ and/or WRITE, as given to the driver. */
	uint32_t ready;                      /* Readiness seen and not cleared (expanded). */
	uint64_t tick;                       /* Advances per event; guards clear_ready. */
	struct gale_waker read_waker;        /* poll_ready(READ): the most recent caller. */
	struct gale_waker write_waker;       /* poll_ready(WRITE): the most recent caller. */
	struct gale_ready_waiter *waiters;   /* Head of the doubly linked waiter list. */
	uint32_t free_next;                  /* Next free slot while free (cap = none). */
	bool live;                           /* Registered now (false while on the free list). */
};

/* ---- Tokens and slots ------------------------------------------------------------------ */

static uint64_t token_make(uint32_t slot_index, uint32_t generation)
{
	return (uint64_t)generation << 32 | slot_index;
}

/* The live slot a token names, or NULL when the token is stale (or was never issued). */
static struct gale_reactor_slot *reactor_slot_lookup(const struct gale_reactor *reactor,
						     uint64_t token)
{
	assert(reactor != NULL);
	assert(reactor->priv_slots != NULL);
	uint32_t slot_index = (uint32_t)(token & UINT32_MAX);
	uint32_t generation = (uint32_t)(token >> 32);
	if (slot_index >= reactor->priv_slots_cap)
		return NULL;
	struct gale_reactor_slot *slot = &reactor->priv_slots[slot_index];
	if (!slot->live || slot->generation != generation)
		return NULL;
	return slot;
}

/* Widens reported bits: hang-up and error end both directions, RDHUP ends reading. */
static uint32_t ready_expand(uint32_t ready)
{
	ready &= READY_BITS_ALL;
	if ((ready & (GALE_READY_HUP | GALE_READY_ERROR)) != 0)
		ready |= GALE_READY_READ | GALE_READY_WRITE;
	if ((ready & GALE_READY_RDHUP) != 0)
		ready |= GALE_READY_READ;
	return ready;
}

/* The readiness bits that satisfy an interest of READ and/or WRITE. */
static uint32_t interest_mask(uint32_t interest)
{
	assert((interest & ~(uint32_t)GALE_READY_INTEREST_ALL) == 0);
	uint32_t mask = 0;
	if ((interest & GALE_READY_READ) != 0)
		mask |= READY_MASK_READ;
	if ((interest & GALE_READY_WRITE) != 0)
		mask |= READY_MASK_WRITE;
	return mask;
}

static void waiter_link(struct gale_reactor *reactor, struct gale_reactor_slot *slot,
			struct gale_ready_waiter *waiter, uint64_t token)
{
	assert(!waiter->priv_linked);
	assert(slot->live);
	/* Head insertion keeps linking O(1); the wake order (newest first) carries no promise. */
	waiter->priv_prev = NULL;
	waiter->priv_next = slot->waiters;
	if (slot->waiters != NULL)
		slot->waiters->priv_prev = waiter;
	slot->waiters = waiter;
	waiter->priv_token = token;
	waiter->priv_linked = true;
	reactor->priv_holders_count++;
}

static void waiter_unlink(struct gale_reactor *reactor, struct gale_reactor_slot *slot,
			  struct gale_ready_waiter *waiter)
{
	assert(waiter->priv_linked);
	assert(reactor->priv_holders_count > 0);
	assert(waiter->priv_prev != NULL || slot->waiters == waiter);
	if (waiter->priv_prev != NULL)
		waiter->priv_prev->priv_next = waiter->priv_next;
	else
		slot->waiters = waiter->priv_next;
	if (waiter->priv_next != NULL)
		waiter->priv_next->priv_prev = waiter->priv_prev;
	waiter->priv_next = NULL;
	waiter->priv_prev = NULL;
	waiter->priv_linked = false;
	reactor->priv_holders_count--;
}

/* Stores waker in a registration's direction slot (the most recent caller wins), keeping
 * the count of holders that gale_reactor_has_waiters() reads. */
static void slot_waker_store(struct gale_reactor *reactor, struct gale_waker *slot_waker,
			     const struct gale_waker *waker)
{
	reactor->priv_holders_count += (uint32_t)gale_waker_is_set(waker);
	reactor->priv_holders_count -= (uint32_t)gale_waker_is_set(slot_waker);
	*slot_waker = *waker;
}

/* Empties a direction's waker slot and wakes what it held, so an event never wakes the
 * same waker twice. */
static void slot_waker_take_and_wake(struct gale_reactor *reactor, struct gale_waker *slot_waker)
{
	struct gale_waker taken = *slot_waker;
	if (!gale_waker_is_set(&taken))
		return;
	assert(reactor->priv_holders_count > 0);
	reactor->priv_holders_count--;
	*slot_waker = gale_waker_none();
	gale_waker_wake(&taken);
}

/* Empties a waiter's waker and wakes it (the waiter itself is counted while linked). */
static void waker_take_and_wake(struct gale_waker *waker)
{
	struct gale_waker taken = *waker;
	*waker = gale_waker_none();
	gale_waker_wake(&taken);
}

/* ---- Init and deinit ------------------------------------------------------------------- */

/* count * size without wrapping: a capacity too large for memory is -ENOMEM, not a tiny
 * allocation (it matters where size_t is 32 bits). */
static bool size_multiply(size_t count, size_t size, size_t *product_out)
{
	assert(size > 0);
	assert(product_out != NULL);
	if (count > SIZE_MAX / size)
		return false;
	*product_out = count * size;
	return true;
}

int gale_reactor_init(struct gale_reactor *reactor, struct gale_driver *driver,
		      const struct gale_allocator *allocator, uint32_t registrations_max,
		      int events_cap)
{
	assert(reactor != NULL);
	assert(driver != NULL);
	/* Zeroed first so that deinit after a failed init is a harmless no-op. */
	*reactor = (struct gale_reactor){0};
	if (registrations_max == 0 || events_cap <= 0)
		return -EINVAL;
	allocator = gale__allocator_or_default(allocator);
	size_t slots_size = 0;
	size_t events_size = 0;
	if (!size_multiply(registrations_max, sizeof(struct gale_reactor_slot), &slots_size) ||
	    !size_multiply((size_t)events_cap, sizeof(struct gale_event), &events_size))
		return -ENOMEM;
	struct gale_reactor_slot *slots = gale__alloc(allocator, slots_size);
	if (slots == NULL)
		return -ENOMEM;
	struct gale_event *events = gale__alloc(allocator, events_size);
	if (events == NULL)
		goto out_free_slots;
	for (uint32_t i = 0; i < registrations_max; i++) {
		slots[i] = (struct gale_reactor_slot){0};
		slots[i].fd = -1;
		slots[i].generation = 1;
		slots[i].free_next = i + 1; /* The last one gets cap: the end of the list. */
	}
	reactor->priv_driver = driver;
	reactor->priv_allocator = allocator;
	reactor->priv_slots = slots;
	reactor->priv_slots_cap = registrations_max;
	reactor->priv_free_head = 0;
	reactor->priv_events = events;
	reactor->priv_events_cap = events_cap;
	return 0;

out_free_slots:
	gale__free(allocator, slots, slots_size);
	return -ENOMEM;
}

int gale_reactor_deinit(struct gale_reactor *reactor)
{
	assert(reactor != NULL);
	if (reactor->priv_slots == NULL)
		return 0;
	if (reactor->priv_registrations_count > 0)
		return -EBUSY;
	assert(reactor->priv_events != NULL);
	const struct gale_allocator *allocator = reactor->priv_allocator;
	gale__free(allocator, reactor->priv_slots,
		   (size_t)reactor->priv_slots_cap * sizeof(struct gale_reactor_slot));
	gale__free(allocator, reactor->priv_events,
		   (size_t)reactor->priv_events_cap * sizeof(struct gale_event));
	/* Poisoned against use after deinit, but priv_slots reads NULL so deinit stays
	 * idempotent, as the header promises. */
	GALE__POISON(reactor);
	reactor->priv_slots = NULL;
	return 0;
}

/* ---- Registration ---------------------------------------------------------------------- */

int gale_reactor_register(struct gale_reactor *reactor, int fd, uint32_t interest,
			  uint64_t *token_out)
{
	assert(reactor != NULL && reactor->priv_slots != NULL);
	assert(token_out != NULL);
	if (!gale__interest_is_valid(interest))
		return -EINVAL;
	uint32_t slot_index = reactor->priv_free_head;
	if (slot_index == reactor->priv_slots_cap)
		return -ENOSPC;
	struct gale_reactor_slot *slot = &reactor->priv_slots[slot_index];
	assert(!slot->live);
	uint64_t token = token_make(slot_index, slot->generation);
	/* The slot is taken only once the driver accepted: a refusal leaves it free, as is. */
	int rc = gale_driver_fd_register(reactor->priv_driver, fd, token, interest);
	if (rc < 0)
		return rc;
	assert(rc == 0);
	reactor->priv_free_head = slot->free_next;
	slot->fd = fd;
	slot->interest = interest;
	slot->ready = 0;
	slot->tick = 0;
	slot->read_waker = gale_waker_none();
	slot->write_waker = gale_waker_none();
	slot->waiters = NULL;
	slot->free_next = reactor->priv_slots_cap;
	slot->live = true;
	reactor->priv_registrations_count++;
	*token_out = token;
	return 0;
}

int gale_reactor_reregister(struct gale_reactor *reactor, uint64_t token, uint32_t interest)
{
	assert(reactor != NULL);
	struct gale_reactor_slot *slot = reactor_slot_lookup(reactor, token);
	if (slot == NULL)
		return GALE_E_CLOSED;
	/* The same check as register: the driver would refuse such an interest anyway. */
	if (!gale__interest_is_valid(interest))
		return -EINVAL;
	int rc = gale_driver_fd_reregister(reactor->priv_driver, slot->fd, token, interest);
	if (rc < 0)
		return rc;
	slot->interest = interest;
	return 0;
}

/* Returns the slot to the free list with a new generation, which makes its token stale. */
static void reactor_slot_retire(struct gale_reactor *reactor, struct gale_reactor_slot *slot)
{
	assert(slot->live);
	assert(reactor->priv_registrations_count > 0);
	slot->live = false;
	slot->fd = -1;
	slot->generation++;
	if (slot->generation == 0)
		slot->generation = 1;
	slot->free_next = reactor->priv_free_head;
	reactor->priv_free_head = (uint32_t)(slot - reactor->priv_slots);
	reactor->priv_registrations_count--;
}

int gale_reactor_deregister(struct gale_reactor *reactor, uint64_t token)
{
	assert(reactor != NULL);
	struct gale_reactor_slot *slot = reactor_slot_lookup(reactor, token);
	if (slot == NULL)
		return GALE_E_CLOSED;
	/* A driver error does not keep the registration: its fd is about to be closed. */
	int rc = gale_driver_fd_deregister(reactor->priv_driver, slot->fd);
	struct gale_waker read_waker = slot->read_waker;
	struct gale_waker write_waker = slot->write_waker;
	struct gale_ready_waiter *waiter = slot->waiters;
	const struct gale_waker none = gale_waker_none();
	slot_waker_store(reactor, &slot->read_waker, &none);
	slot_waker_store(reactor, &slot->write_waker, &none);
	slot->waiters = NULL;
	/* Retired before anyone is woken, so whoever polls next already sees GALE_E_CLOSED. */
	reactor_slot_retire(reactor, slot);
	gale_waker_wake(&read_waker);
	gale_waker_wake(&write_waker);
	while (waiter != NULL) {
		struct gale_ready_waiter *next = waiter->priv_next;
		struct gale_waker waker = waiter->priv_waker;
		assert(waiter->priv_linked && waiter->priv_token == token);
		waiter->priv_next = NULL;
		waiter->priv_prev = NULL;
		waiter->priv_linked = false;
		waiter->priv_waker = gale_waker_none();
		assert(reactor->priv_holders_count > 0);
		reactor->priv_holders_count--;
		gale_waker_wake(&waker);
		waiter = next;
	}
	return rc;
}

/* ---- Turn ------------------------------------------------------------------------------ */

/* Wakes and unlinks every waiter that what arrived satisfies. */
static void slot_waiters_wake(struct gale_reactor *reactor, struct gale_reactor_slot *slot,
			      uint32_t arrived)
{
	assert(slot->live);
	assert(arrived != 0);
	struct gale_ready_waiter *waiter = slot->waiters;
	while (waiter != NULL) {
		/* Saved first: unlinking the current node must not end the walk. */
		struct gale_ready_waiter *next = waiter->priv_next;
		if ((interest_mask(waiter->interest) & arrived) != 0) {
			waiter_unlink(reactor, slot, waiter);
			waker_take_and_wake(&waiter->priv_waker);
		}
		waiter = next;
	}
}

static void reactor_event_dispatch(struct gale_reactor *reactor, const struct gale_event *event)
{
	assert(reactor != NULL);
	assert(event != NULL);
	struct gale_reactor_slot *slot = reactor_slot_lookup(reactor, event->token);
	if (slot == NULL) {
		/* A registration dropped while its event was in flight, or an fd number reused. */
		reactor->priv_stats.events_stale_count++;
		return;
	}
	uint32_t arrived = ready_expand(event->ready);
	slot->ready |= arrived;
	slot->tick++;
	if (arrived == 0)
		return;
	if ((arrived & READY_MASK_READ) != 0)
		slot_waker_take_and_wake(reactor, &slot->read_waker);
	if ((arrived & READY_MASK_WRITE) != 0)
		slot_waker_take_and_wake(reactor, &slot->write_waker);
	if (slot->waiters != NULL)
		slot_waiters_wake(reactor, slot, arrived);
}

int gale_reactor_turn(struct gale_reactor *reactor, int64_t timeout_ns)
{
	assert(reactor != NULL && reactor->priv_slots != NULL);
	if (timeout_ns < -1)
		return -EINVAL;
	reactor->priv_stats.turns_count++;
	int count = gale_driver_wait(reactor->priv_driver, reactor->priv_events,
				     reactor->priv_events_cap, timeout_ns);
	if (count < 0)
		return count;
	assert(count <= reactor->priv_events_cap);
	reactor->priv_stats.events_count += (uint64_t)count;
	for (int i = 0; i < count; i++)
		reactor_event_dispatch(reactor, &reactor->priv_events[i]);
	return count;
}

/* ---- Readiness polls and waiters ------------------------------------------------------- */

/* Observes direction's readiness on a live slot into *event_out (0), or stores cx's waker
 * in the direction's slot and returns GALE_PENDING. */
static int slot_poll_ready(struct gale_reactor *reactor, struct gale_reactor_slot *slot,
			   bool is_read, struct gale_cx *cx, struct gale_ready_event *event_out)
{
	uint32_t ready = slot->ready & (is_read ? READY_MASK_READ : READY_MASK_WRITE);
	if (ready != 0) {
		/* The stored waker is left alone, as Tokio does. It is empty here anyway: every
		 * arrival of this direction's readiness took it, and a poll stores one only while
		 * that readiness is clear. */
		*event_out = (struct gale_ready_event){.ready = ready, .tick = slot->tick};
		return 0;
	}
	slot_waker_store(reactor, is_read ? &slot->read_waker : &slot->write_waker, &cx->waker);
	return GALE_PENDING;
}

int gale_reactor_poll_ready(struct gale_reactor *reactor, uint64_t token,
			    enum gale_direction direction, struct gale_cx *cx,
			    struct gale_ready_event *event_out)
{
	assert(reactor != NULL);
	assert(cx != NULL && event_out != NULL);
	if (direction != GALE_DIRECTION_READ && direction != GALE_DIRECTION_WRITE)
		return -EINVAL;
	struct gale_reactor_slot *slot = reactor_slot_lookup(reactor, token);
	if (slot == NULL)
		return GALE_E_CLOSED;
	return slot_poll_ready(reactor, slot, direction == GALE_DIRECTION_READ, cx, event_out);
}

void gale_ready_waiter_init(struct gale_ready_waiter *waiter, uint32_t interest)
{
	assert(waiter != NULL);
	/* An interest other than READ and/or WRITE is kept: the first poll returns -EINVAL. */
	*waiter = (struct gale_ready_waiter){0};
	waiter->interest = interest;
	waiter->priv_waker = gale_waker_none();
}

int gale_reactor_poll_waiter(struct gale_reactor *reactor, uint64_t token,
			     struct gale_ready_waiter *waiter, struct gale_cx *cx,
			     struct gale_ready_event *event_out)
{
	assert(reactor != NULL && waiter != NULL);
	assert(cx != NULL && event_out != NULL);
	if (!gale__interest_is_valid(waiter->interest))
		return -EINVAL;
	/* A waiter serves one registration at a time: re-polling it for another is a bug. */
	assert(!waiter->priv_linked || waiter->priv_token == token);
	struct gale_reactor_slot *slot = reactor_slot_lookup(reactor, token);
	if (slot == NULL) {
		gale_reactor_waiter_cancel(reactor, waiter);
		return GALE_E_CLOSED;
	}
	uint32_t ready = slot->ready & interest_mask(waiter->interest);
	if (ready != 0) {
		if (waiter->priv_linked)
			waiter_unlink(reactor, slot, waiter);
		waiter->priv_waker = gale_waker_none();
		*event_out = (struct gale_ready_event){.ready = ready, .tick = slot->tick};
		return 0;
	}
	waiter->priv_waker = cx->waker;
	if (!waiter->priv_linked)
		waiter_link(reactor, slot, waiter, token);
	return GALE_PENDING;
}

void gale_reactor_waiter_cancel(struct gale_reactor *reactor, struct gale_ready_waiter *waiter)
{
	assert(reactor != NULL);
	assert(waiter != NULL);
	if (!waiter->priv_linked)
		return;
	/* Deregister unlinks every waiter, so a linked waiter's registration is still live. */
	struct gale_reactor_slot *slot = reactor_slot_lookup(reactor, waiter->priv_token);
	assert(slot != NULL);
	if (slot != NULL)
		waiter_unlink(reactor, slot, waiter);
	waiter->priv_waker = gale_waker_none();
}

/* ---- Clearing -------------------------------------------------------------------------- */

/* clear_ready on a live slot: the tick rule, then the observer. */
static void slot_clear_ready(struct gale_reactor *reactor, uint64_t token,
			     struct gale_reactor_slot *slot, struct gale_ready_event event)
{
	/* An event arrived after the observation: clearing now could erase an edge that no
	 * one has acted on yet, and edge-triggered drivers would never report it again. */
	if (slot->tick != event.tick)
		return;
	/* RDHUP, HUP and ERROR are final: only the READ/WRITE hints are ever cleared. */
	uint32_t cleared = slot->ready & event.ready & (uint32_t)GALE_READY_INTEREST_ALL;
	slot->ready &= ~cleared;
	const struct gale_reactor_observer *observer = reactor->priv_observer;
	if (observer != NULL && cleared != 0 && observer->ready_cleared != NULL)
		observer->ready_cleared(observer->data, token, slot->fd, cleared);
}

void gale_reactor_clear_ready(struct gale_reactor *reactor, uint64_t token,
			      struct gale_ready_event event)
{
	assert(reactor != NULL);
	assert((event.ready & ~(uint32_t)READY_BITS_ALL) == 0);
	struct gale_reactor_slot *slot = reactor_slot_lookup(reactor, token);
	if (slot != NULL)
		slot_clear_ready(reactor, token, slot, event);
}

int gale__reactor_poll_io(struct gale_reactor *reactor, uint64_t token,
			  enum gale_direction direction, struct gale_cx *cx,
			  ssize_t (*io)(void *data, struct gale_driver *driver, int fd), void *data,
			  ssize_t *result_out)
{
	assert(reactor != NULL && cx != NULL);
	assert(io != NULL && result_out != NULL);
	assert(direction == GALE_DIRECTION_READ || direction == GALE_DIRECTION_WRITE);
	bool is_read = direction == GALE_DIRECTION_READ;
	for (int attempt = 0; attempt < GALE__IO_ATTEMPTS_MAX; attempt++) {
		/* Looked up again after every attempt: io may have closed the fd. */
		struct gale_reactor_slot *slot = reactor_slot_lookup(reactor, token);
		if (slot == NULL)
			return GALE_E_CLOSED;
		struct gale_ready_event event;
		int rc = slot_poll_ready(reactor, slot, is_read, cx, &event);
		if (rc != 0)
			return rc;
		ssize_t result = io(data, reactor->priv_driver, slot->fd);
		if (result != -EAGAIN) {
			/* A short count included: readiness stays set (no new edge would come). */
			*result_out = result;
			return 0;
		}
		slot = reactor_slot_lookup(reactor, token);
		if (slot != NULL)
			slot_clear_ready(reactor, token, slot, event);
	}
	gale_waker_wake(&cx->waker);
	return GALE_PENDING;
}

/* ---- Observer and introspection -------------------------------------------------------- */

void gale_reactor_observer_set(struct gale_reactor *reactor,
			       const struct gale_reactor_observer *observer)
{
	assert(reactor != NULL);
	assert(reactor->priv_slots != NULL);
	reactor->priv_observer = observer;
}

bool gale__reactor_misuse(struct gale_reactor *reactor, const char *message)
{
	assert(reactor != NULL);
	assert(message != NULL);
	const struct gale_reactor_observer *observer = reactor->priv_observer;
	if (observer == NULL || observer->misuse == NULL)
		return false;
	observer->misuse(observer->data, message);
	return true;
}

/* The interest of the first thing in slot holding a waker like waker, or 0. */
static uint32_t slot_waker_find(const struct gale_reactor_slot *slot,
				const struct gale_waker *waker)
{
	assert(slot->live);
	assert(waker != NULL);
	if (gale_waker_will_wake(&slot->read_waker, waker))
		return GALE_READY_READ;
	if (gale_waker_will_wake(&slot->write_waker, waker))
		return GALE_READY_WRITE;
	for (const struct gale_ready_waiter *w = slot->waiters; w != NULL; w = w->priv_next) {
		if (gale_waker_will_wake(&w->priv_waker, waker))
			return w->interest;
	}
	return 0;
}

bool gale_reactor_waker_find(const struct gale_reactor *reactor, const struct gale_waker *waker,
			     uint64_t *token_out, uint32_t *interest_out)
{
	assert(reactor != NULL && reactor->priv_slots != NULL);
	assert(waker != NULL);
	/* An empty waker names no one: finding an empty slot "holding" it would mislead. */
	if (!gale_waker_is_set(waker))
		return false;
	for (uint32_t i = 0; i < reactor->priv_slots_cap; i++) {
		const struct gale_reactor_slot *slot = &reactor->priv_slots[i];
		if (!slot->live)
			continue;
		uint32_t interest = slot_waker_find(slot, waker);
		if (interest == 0)
			continue;
		if (token_out != NULL)
			*token_out = token_make(i, slot->generation);
		if (interest_out != NULL)
			*interest_out = interest;
		return true;
	}
	return false;
}

int gale_reactor_fd(const struct gale_reactor *reactor, uint64_t token)
{
	const struct gale_reactor_slot *slot = reactor_slot_lookup(reactor, token);
	return slot != NULL ? slot->fd : -1;
}

/* ---- Queries --------------------------------------------------------------------------- */

uint32_t gale_reactor_ready_get(const struct gale_reactor *reactor, uint64_t token)
{
	const struct gale_reactor_slot *slot = reactor_slot_lookup(reactor, token);
	return slot != NULL ? slot->ready : 0;
}

bool gale_reactor_is_registered(const struct gale_reactor *reactor, uint64_t token)
{
	return reactor_slot_lookup(reactor, token) != NULL;
}

uint32_t gale_reactor_registrations_count(const struct gale_reactor *reactor)
{
	assert(reactor != NULL);
	return reactor->priv_registrations_count;
}

#ifndef NDEBUG
/* has_waiters the slow way: the check of the maintained count in assert builds. */
static bool reactor_has_waiters_scan(const struct gale_reactor *reactor)
{
	for (uint32_t i = 0; i < reactor->priv_slots_cap; i++) {
		const struct gale_reactor_slot *slot = &reactor->priv_slots[i];
		if (!slot->live)
			continue;
		if (gale_waker_is_set(&slot->read_waker) || gale_waker_is_set(&slot->write_waker) ||
		    slot->waiters != NULL)
			return true;
	}
	return false;
}
#endif

bool gale_reactor_has_waiters(const struct gale_reactor *reactor)
{
	assert(reactor != NULL);
	assert(reactor->priv_slots != NULL);
	assert(reactor_has_waiters_scan(reactor) == (reactor->priv_holders_count > 0));
	return reactor->priv_holders_count > 0;
}

struct gale_driver *gale_reactor_driver(const struct gale_reactor *reactor)
{
	assert(reactor != NULL);
	return reactor->priv_driver;
}

struct gale_reactor_stats gale_reactor_stats_get(const struct gale_reactor *reactor)
{
	assert(reactor != NULL);
	return reactor->priv_stats;
}
