/* SPDX-License-Identifier: MIT */
/*
 * The reactor: registrations above the driver seam, shared by every driver, in chunks of
 * 256 slots added on demand (up to the hard limit the caller set), never moved or freed
 * before deinit: memory follows the peak of live registrations, with no copy on growth.
 * Sections: tokens and slots, init/deinit, registration, turn (event dispatch), readiness
 * polls and waiters, clearing, queries. It never calls the OS: only gale_driver_*().
 */
#include <assert.h>
#include <errno.h> /* E* constants only. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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

/* The free list's end. */
#define SLOT_NONE UINT32_MAX
/* Slots per chunk: 256 (12 KiB), so a chunk index is slot index >> 8. */
#define CHUNK_SHIFT 8u
#define CHUNK_SLOTS (1u << CHUNK_SHIFT)

/* What a direction's waker_kind says is stored. */
enum waker_kind {
	WAKER_NONE = 0,    /* Nothing. */
	WAKER_HOME = 1,    /* The home pair with waker_ids[direction]. */
	WAKER_FOREIGN = 2, /* A whole waker in the foreign table (priv_foreign). */
};

/*
 * One registration, 48 bytes (it was 88): with 10,000 connections every byte here is 10 KB
 * resident. A direction's waker is stored as its id alone when its wake function and data
 * are the reactor's home pair (the runtime's executor: every task waker), which holds for
 * nearly every waker; any other waker goes whole to the foreign table (priv_foreign), which
 * grows with the slots (so storing never allocates) but is only written, and so only
 * resident, where foreign wakers are stored. The fields an I/O attempt reads come first
 * (lookup, tick, readiness, what short I/O proves, fd).
 */
struct gale_reactor_slot {
	uint32_t generation;                 /* Token high half; never 0, so no token is 0. */
	int fd;                              /* Registered fd, for fd_reregister/deregister. */
	uint64_t tick;                       /* Advances per event; guards clear_ready. */
	uint8_t ready;                       /* Readiness seen and not cleared (expanded: the
					      * five GALE_READY_* bits fit in a byte). */
	uint8_t interest;                    /* READ and/or WRITE, as given to the driver. */
	uint8_t short_io;                    /* GALE_DRIVER_CAP_* bits that hold for this fd
					      * (gale__reactor_stream_set): 0 unless a stream. */
	bool live;                           /* Registered now (false while on the free list). */
	uint8_t waker_kind[2];               /* enum waker_kind, by direction (poll_ready: the
					      * most recent caller). */
	union {
		uint64_t waker_ids[2];       /* Home wakers' ids, by direction, while live. */
		uint32_t free_next;          /* Next free slot while free (SLOT_NONE: none). */
	};
	struct gale_ready_waiter *waiters;   /* Head of the doubly linked waiter list. */
};
_Static_assert(READY_BITS_ALL <= UINT8_MAX, "slot->ready is one byte");
_Static_assert(GALE_DIRECTION_READ == 0 && GALE_DIRECTION_WRITE == 1,
	       "directions index waker_ids and the foreign table");

/* One chunk of slots; the chunk table grows by doubling (8 bytes per 256 slots). */
struct gale_reactor_chunk {
	struct gale_reactor_slot *slots; /* CHUNK_SLOTS of them, or fewer for a last chunk
					  * under a hard limit below a chunk's end. */
};

/* The slot at index (< priv_slots_cap). */
static inline struct gale_reactor_slot *slot_at(const struct gale_reactor *reactor,
						uint32_t slot_index)
{
	assert(slot_index < reactor->priv_slots_cap);
	return &reactor->priv_chunks[slot_index >> CHUNK_SHIFT]
			.slots[slot_index & (CHUNK_SLOTS - 1)];
}

/* The home pair of a reactor nobody named one for: no real waker has this function, so
 * every waker is stored whole. */
static void home_unset(void *data, uint64_t id)
{
	(void)data;
	(void)id;
	assert(!"home_unset is never stored, so never woken");
}

void gale__reactor_home_set(struct gale_reactor *reactor, gale_wake_fn *wake, void *data)
{
	assert(reactor != NULL && wake != NULL);
	/* Only before any waker is stored: the compact ones name the pair they were made with. */
	assert(reactor->priv_holders_count == 0);
	reactor->priv_home_wake = wake;
	reactor->priv_home_data = data;
}

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
	assert(reactor->priv_chunks != NULL);
	uint32_t slot_index = (uint32_t)(token & UINT32_MAX);
	uint32_t generation = (uint32_t)(token >> 32);
	if (slot_index >= reactor->priv_slots_cap)
		return NULL;
	struct gale_reactor_slot *slot = slot_at(reactor, slot_index);
	if (!slot->live || slot->generation != generation)
		return NULL;
	return slot;
}

/* Whether a slot found by token is still that registration. Slots never move and are not
 * freed before deinit (chunks are only added), so a pointer looked up once stays valid
 * memory: after an attempt that may have closed the fd, this check replaces a lookup. */
static inline bool slot_is_current(const struct gale_reactor_slot *slot, uint64_t token)
{
	return slot->live && slot->generation == (uint32_t)(token >> 32);
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

/* The foreign table entry of a direction of the slot that token (or a bare slot index)
 * names. The hot paths pass the token they hold and never come here: only the cold ones
 * take the index out of it. */
static inline struct gale_waker *slot_foreign(const struct gale_reactor *reactor,
					      uint64_t token, unsigned direction)
{
	uint32_t slot_index = (uint32_t)(token & UINT32_MAX);
	assert(slot_index < reactor->priv_slots_cap && direction <= 1);
	assert(slot_index < reactor->priv_foreign_cap);
	return &reactor->priv_foreign[slot_index << 1 | direction];
}

/* A foreign waker, out of line: the hot paths only ever see home wakers. */
static GALE__COLD struct gale_waker slot_foreign_get(const struct gale_reactor *reactor,
						     uint64_t token, unsigned direction)
{
	return *slot_foreign(reactor, token, direction);
}

/* The waker stored for a direction (none if none). */
static inline struct gale_waker slot_waker_get(const struct gale_reactor *reactor,
					       const struct gale_reactor_slot *slot,
					       uint64_t token, unsigned direction)
{
	uint8_t kind = slot->waker_kind[direction];
	if (kind == WAKER_NONE)
		return gale_waker_none();
	if (GALE__UNLIKELY(kind == WAKER_FOREIGN))
		return slot_foreign_get(reactor, token, direction);
	struct gale_waker waker = {reactor->priv_home_wake, reactor->priv_home_data,
				   slot->waker_ids[direction]};
	return waker;
}

/* Sets a direction's kind, keeping the count of holders that gale_reactor_has_waiters()
 * reads. */
static inline void slot_waker_kind_set(struct gale_reactor *reactor,
				       struct gale_reactor_slot *slot, unsigned direction,
				       enum waker_kind kind)
{
	assert(reactor->priv_holders_count > 0 || slot->waker_kind[direction] == WAKER_NONE);
	reactor->priv_holders_count += (uint32_t)(kind != WAKER_NONE);
	reactor->priv_holders_count -= (uint32_t)(slot->waker_kind[direction] != WAKER_NONE);
	slot->waker_kind[direction] = (uint8_t)kind;
}

/* slot_waker_store() for none or a foreign waker. */
static GALE__COLD void slot_waker_store_other(struct gale_reactor *reactor,
					      struct gale_reactor_slot *slot, uint64_t token,
					      unsigned direction, const struct gale_waker *waker)
{
	enum waker_kind kind = WAKER_NONE;
	if (gale_waker_is_set(waker)) {
		*slot_foreign(reactor, token, direction) = *waker;
		kind = WAKER_FOREIGN;
	}
	slot_waker_kind_set(reactor, slot, direction, kind);
}

/* Stores waker in a registration's direction slot (the most recent caller wins). */
static inline void slot_waker_store(struct gale_reactor *reactor, struct gale_reactor_slot *slot,
				    uint64_t token, unsigned direction,
				    const struct gale_waker *waker)
{
	/* The home function is never NULL (home_unset until set), so no waker is taken for
	 * home by accident. */
	if (GALE__UNLIKELY(waker->wake != reactor->priv_home_wake ||
			   waker->data != reactor->priv_home_data)) {
		slot_waker_store_other(reactor, slot, token, direction, waker);
		return;
	}
	slot->waker_ids[direction] = waker->id;
	slot_waker_kind_set(reactor, slot, direction, WAKER_HOME);
}

/* Empties a direction's waker slot and wakes what it held, so an event never wakes the
 * same waker twice. */
static inline void slot_waker_take_and_wake(struct gale_reactor *reactor,
					    struct gale_reactor_slot *slot, uint64_t token,
					    unsigned direction)
{
	uint8_t kind = slot->waker_kind[direction];
	if (kind == WAKER_NONE)
		return;
	assert(reactor->priv_holders_count > 0);
	reactor->priv_holders_count--;
	slot->waker_kind[direction] = WAKER_NONE;
	if (GALE__UNLIKELY(kind == WAKER_FOREIGN)) {
		struct gale_waker taken = slot_foreign_get(reactor, token, direction);
		gale_waker_wake(&taken);
		return;
	}
	/* A home waker's function is never NULL (slot_waker_store). */
	reactor->priv_home_wake(reactor->priv_home_data, slot->waker_ids[direction]);
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

/* Makes slots [from, to) free, linked in index order in front of the free list. */
static void slots_free_init(struct gale_reactor *reactor, uint32_t from, uint32_t to)
{
	assert(from < to);
	for (uint32_t i = from; i < to; i++) {
		struct gale_reactor_slot *slot = slot_at(reactor, i);
		*slot = (struct gale_reactor_slot){0};
		slot->fd = -1;
		slot->generation = 1;
		slot->free_next = i + 1 < to ? i + 1 : reactor->priv_free_head;
	}
	reactor->priv_free_head = from;
}

/* Bytes of a chunk of count slots. */
static size_t chunk_bytes(uint32_t count)
{
	return count * sizeof(struct gale_reactor_slot);
}

/*
 * Makes the foreign table cover slot_count slots (doubling, up to the hard limit): 0 or
 * -ENOMEM. It is one allocation apart from the chunks, so that its pages, untouched unless
 * foreign wakers are stored, share none with the slots (chunk by chunk they would: every
 * allocation's edges are written). Only the entries in use are copied, so the new table
 * stays untouched too; they are few, and growth is rare (doubling).
 */
static int foreign_reserve(struct gale_reactor *reactor, uint32_t slot_count)
{
	uint32_t cap_old = reactor->priv_foreign_cap;
	if (slot_count <= cap_old)
		return 0;
	/* Slots never outnumber the hard limit, so neither does the table. */
	assert(slot_count <= reactor->priv_registrations_max);
	uint32_t cap = cap_old == 0 ? CHUNK_SLOTS : cap_old;
	while (cap < slot_count)
		cap = cap > UINT32_MAX / 2 ? UINT32_MAX : cap * 2;
	if (cap > reactor->priv_registrations_max)
		cap = reactor->priv_registrations_max;
	size_t size = 0;
	if (!size_multiply(cap, 2 * sizeof(struct gale_waker), &size))
		return -ENOMEM;
	struct gale_waker *foreign = gale__alloc(reactor->priv_allocator, size);
	if (foreign == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < reactor->priv_slots_cap; i++) {
		const struct gale_reactor_slot *slot = slot_at(reactor, i);
		for (unsigned direction = 0; direction <= 1; direction++) {
			if (slot->waker_kind[direction] == WAKER_FOREIGN)
				foreign[i << 1 | direction] =
					reactor->priv_foreign[i << 1 | direction];
		}
	}
	gale__free(reactor->priv_allocator, reactor->priv_foreign,
		   (size_t)cap_old * 2 * sizeof(struct gale_waker));
	reactor->priv_foreign = foreign;
	reactor->priv_foreign_cap = cap;
	return 0;
}

/* Slots in the chunk that starts at slot index first (a full chunk unless the hard limit
 * ends it sooner). */
static uint32_t chunk_slots(const struct gale_reactor *reactor, uint32_t first)
{
	uint32_t left = reactor->priv_registrations_max - first;
	return left < CHUNK_SLOTS ? left : CHUNK_SLOTS;
}

/* Makes the chunk table hold one more chunk: 0 or -ENOMEM. */
static int chunks_reserve(struct gale_reactor *reactor)
{
	if (reactor->priv_chunks_len < reactor->priv_chunks_cap)
		return 0;
	uint32_t cap = reactor->priv_chunks_cap == 0 ? 4 : reactor->priv_chunks_cap * 2;
	size_t size = 0;
	if (!size_multiply(cap, sizeof(struct gale_reactor_chunk), &size))
		return -ENOMEM;
	struct gale_reactor_chunk *chunks = gale__alloc(reactor->priv_allocator, size);
	if (chunks == NULL)
		return -ENOMEM;
	if (reactor->priv_chunks_len > 0)
		memcpy(chunks, reactor->priv_chunks,
		       reactor->priv_chunks_len * sizeof(struct gale_reactor_chunk));
	gale__free(reactor->priv_allocator, reactor->priv_chunks,
		   reactor->priv_chunks_cap * sizeof(struct gale_reactor_chunk));
	reactor->priv_chunks = chunks;
	reactor->priv_chunks_cap = cap;
	return 0;
}

/*
 * Adds a chunk of free slots: -ENOSPC at the hard limit (counted), -ENOMEM. Slots never
 * move, and tokens (indexes and generations) and waiters (which hold tokens) stay valid.
 */
static int reactor_slots_grow(struct gale_reactor *reactor)
{
	uint32_t first = reactor->priv_slots_cap;
	if (first >= reactor->priv_registrations_max) {
		reactor->priv_stats.registrations_refused_count++;
		return -ENOSPC;
	}
	assert((first & (CHUNK_SLOTS - 1)) == 0);
	if (chunks_reserve(reactor) < 0)
		return -ENOMEM;
	uint32_t count = chunk_slots(reactor, first);
	if (foreign_reserve(reactor, first + count) < 0)
		return -ENOMEM;
	struct gale_reactor_slot *slots = gale__alloc(reactor->priv_allocator,
						      chunk_bytes(count));
	if (slots == NULL)
		return -ENOMEM;
	reactor->priv_chunks[reactor->priv_chunks_len++].slots = slots;
	reactor->priv_slots_cap = first + count;
	slots_free_init(reactor, first, first + count);
	return 0;
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
	if (registrations_max > GALE_REACTOR_REGISTRATIONS_UNLIMITED)
		registrations_max = GALE_REACTOR_REGISTRATIONS_UNLIMITED;
	allocator = gale__allocator_or_default(allocator);
	size_t events_size = 0;
	if (!size_multiply((size_t)events_cap, sizeof(struct gale_event), &events_size))
		return -ENOMEM;
	struct gale_event *events = gale__alloc(allocator, events_size);
	if (events == NULL)
		return -ENOMEM;
	reactor->priv_driver = driver;
	reactor->priv_allocator = allocator;
	reactor->priv_home_wake = home_unset;
	reactor->priv_registrations_max = registrations_max;
	reactor->priv_free_head = SLOT_NONE;
	reactor->priv_events = events;
	reactor->priv_events_cap = events_cap;
	/* The first chunk now, so an init that succeeds can register. */
	if (reactor_slots_grow(reactor) < 0)
		goto out_free;
	return 0;

out_free:
	gale__free(allocator, reactor->priv_chunks,
		   reactor->priv_chunks_cap * sizeof(struct gale_reactor_chunk));
	gale__free(allocator, reactor->priv_foreign,
		   (size_t)reactor->priv_foreign_cap * 2 * sizeof(struct gale_waker));
	gale__free(allocator, events, events_size);
	*reactor = (struct gale_reactor){0};
	return -ENOMEM;
}

int gale_reactor_deinit(struct gale_reactor *reactor)
{
	assert(reactor != NULL);
	if (reactor->priv_chunks == NULL)
		return 0;
	if (reactor->priv_registrations_count > 0)
		return -EBUSY;
	assert(reactor->priv_events != NULL);
	const struct gale_allocator *allocator = reactor->priv_allocator;
	for (uint32_t i = 0; i < reactor->priv_chunks_len; i++)
		gale__free(allocator, reactor->priv_chunks[i].slots,
			   chunk_bytes(chunk_slots(reactor, i << CHUNK_SHIFT)));
	gale__free(allocator, reactor->priv_chunks,
		   reactor->priv_chunks_cap * sizeof(struct gale_reactor_chunk));
	gale__free(allocator, reactor->priv_foreign,
		   (size_t)reactor->priv_foreign_cap * 2 * sizeof(struct gale_waker));
	gale__free(allocator, reactor->priv_events,
		   (size_t)reactor->priv_events_cap * sizeof(struct gale_event));
	/* Poisoned against use after deinit, but priv_chunks reads NULL so deinit stays
	 * idempotent, as the header promises. */
	GALE__POISON(reactor);
	reactor->priv_chunks = NULL;
	return 0;
}

/* ---- Registration ---------------------------------------------------------------------- */

int gale_reactor_register(struct gale_reactor *reactor, int fd, uint32_t interest,
			  uint64_t *token_out)
{
	assert(reactor != NULL && reactor->priv_chunks != NULL);
	assert(token_out != NULL);
	if (!gale__interest_is_valid(interest))
		return -EINVAL;
	if (reactor->priv_free_head == SLOT_NONE) {
		int rc = reactor_slots_grow(reactor);
		if (rc < 0)
			return rc;
	}
	uint32_t slot_index = reactor->priv_free_head;
	struct gale_reactor_slot *slot = slot_at(reactor, slot_index);
	assert(!slot->live);
	uint64_t token = token_make(slot_index, slot->generation);
	/* The slot is taken only once the driver accepted: a refusal leaves it free, as is. */
	int rc = gale_driver_fd_register(reactor->priv_driver, fd, token, interest);
	if (rc < 0)
		return rc;
	assert(rc == 0);
	reactor->priv_free_head = slot->free_next;
	slot->fd = fd;
	slot->interest = (uint8_t)interest;
	slot->short_io = 0;
	slot->ready = 0;
	slot->tick = 0;
	slot->waker_kind[0] = WAKER_NONE;
	slot->waker_kind[1] = WAKER_NONE;
	slot->waiters = NULL;
	slot->free_next = SLOT_NONE;
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
	slot->interest = (uint8_t)interest;
	return 0;
}

void gale__reactor_stream_set(struct gale_reactor *reactor, uint64_t token)
{
	assert(reactor != NULL);
	struct gale_reactor_slot *slot = reactor_slot_lookup(reactor, token);
	if (slot == NULL)
		return;
	uint32_t caps = gale_driver_caps(reactor->priv_driver);
	slot->short_io = (uint8_t)(caps & (GALE_DRIVER_CAP_READ_SHORT_DRAINED |
					  GALE_DRIVER_CAP_WRITE_SHORT_FULL));
}

/* Returns the slot to the free list with a new generation, which makes its token stale. */
static void reactor_slot_retire(struct gale_reactor *reactor, struct gale_reactor_slot *slot,
				uint32_t slot_index)
{
	assert(slot->live);
	assert(reactor->priv_registrations_count > 0);
	slot->live = false;
	slot->fd = -1;
	slot->short_io = 0;
	slot->generation++;
	if (slot->generation == 0)
		slot->generation = 1;
	slot->free_next = reactor->priv_free_head;
	assert(slot_at(reactor, slot_index) == slot);
	reactor->priv_free_head = slot_index;
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
	struct gale_waker read_waker = slot_waker_get(reactor, slot, token, 0);
	struct gale_waker write_waker = slot_waker_get(reactor, slot, token, 1);
	struct gale_ready_waiter *waiter = slot->waiters;
	const struct gale_waker none = gale_waker_none();
	slot_waker_store(reactor, slot, token, 0, &none);
	slot_waker_store(reactor, slot, token, 1, &none);
	slot->waiters = NULL;
	/* Retired before anyone is woken, so whoever polls next already sees GALE_E_CLOSED. */
	reactor_slot_retire(reactor, slot, (uint32_t)(token & UINT32_MAX));
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
	slot->ready = (uint8_t)(slot->ready | arrived);
	slot->tick++;
	if (arrived == 0)
		return;
	if ((arrived & READY_MASK_READ) != 0)
		slot_waker_take_and_wake(reactor, slot, event->token, 0);
	if ((arrived & READY_MASK_WRITE) != 0)
		slot_waker_take_and_wake(reactor, slot, event->token, 1);
	if (slot->waiters != NULL)
		slot_waiters_wake(reactor, slot, arrived);
}

int gale_reactor_turn(struct gale_reactor *reactor, int64_t timeout_ns)
{
	assert(reactor != NULL && reactor->priv_chunks != NULL);
	if (timeout_ns < -1)
		return -EINVAL;
	reactor->priv_stats.turns_count++;
	int count = gale__driver_wait(reactor->priv_driver, reactor->priv_events,
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
static GALE__ALWAYS_INLINE int slot_poll_ready(struct gale_reactor *reactor,
						struct gale_reactor_slot *slot,
						uint64_t token, bool is_read,
						struct gale_cx *cx,
						struct gale_ready_event *event_out)
{
	uint32_t ready = slot->ready & (is_read ? READY_MASK_READ : READY_MASK_WRITE);
	if (ready != 0) {
		/* The stored waker is left alone, as Tokio does. It is empty here anyway: every
		 * arrival of this direction's readiness took it, and a poll stores one only while
		 * that readiness is clear. */
		*event_out = (struct gale_ready_event){.ready = ready, .tick = slot->tick};
		return 0;
	}
	slot_waker_store(reactor, slot, token, is_read ? 0 : 1, &cx->waker);
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
	return slot_poll_ready(reactor, slot, token, direction == GALE_DIRECTION_READ, cx,
			       event_out);
}

void gale_ready_waiter_init(struct gale_ready_waiter *waiter, uint32_t interest)
{
	assert(waiter != NULL);
	/* An interest other than READ and/or WRITE is kept: the first poll returns -EINVAL. */
	*waiter = (struct gale_ready_waiter){0};
	waiter->interest = interest;
	waiter->priv_waker = gale_waker_none();
}

/* Observes waiter's interest on a live slot into *event_out (0, the waiter unlinked), or
 * stores cx's waker in the waiter, links it and returns GALE_PENDING. */
static int slot_poll_waiter(struct gale_reactor *reactor, struct gale_reactor_slot *slot,
			    uint64_t token, struct gale_ready_waiter *waiter, struct gale_cx *cx,
			    struct gale_ready_event *event_out)
{
	/* A waiter serves one registration at a time: re-polling it for another is a bug. */
	assert(!waiter->priv_linked || waiter->priv_token == token);
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

int gale_reactor_poll_waiter(struct gale_reactor *reactor, uint64_t token,
			     struct gale_ready_waiter *waiter, struct gale_cx *cx,
			     struct gale_ready_event *event_out)
{
	assert(reactor != NULL && waiter != NULL);
	assert(cx != NULL && event_out != NULL);
	if (!gale__interest_is_valid(waiter->interest))
		return -EINVAL;
	struct gale_reactor_slot *slot = reactor_slot_lookup(reactor, token);
	if (slot == NULL) {
		gale_reactor_waiter_cancel(reactor, waiter);
		return GALE_E_CLOSED;
	}
	return slot_poll_waiter(reactor, slot, token, waiter, cx, event_out);
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
	slot->ready = (uint8_t)(slot->ready & ~cleared);
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

/* ---- I/O attempts ---------------------------------------------------------------------- */

/* Runs op once on fd: the general form, or a typed read or write (NULL: the driver's). */
static GALE__ALWAYS_INLINE ssize_t io_op_run(const struct gale__io_op *op,
					     struct gale_driver *driver, int fd)
{
	switch (op->kind) {
	case GALE__IO_READ:
		if (op->fn.read == NULL)
			return gale__driver_read(driver, fd, op->buf.read, op->len);
		return op->fn.read(op->data, driver, fd, op->buf.read, op->len);
	case GALE__IO_WRITE:
		if (op->fn.write == NULL)
			return gale__driver_write(driver, fd, op->buf.write, op->len);
		return op->fn.write(op->data, driver, fd, op->buf.write, op->len);
	default:
		assert(op->kind == GALE__IO_GENERAL && op->fn.io != NULL);
		return op->fn.io(op->data, driver, fd);
	}
}

/*
 * The readiness bits a result proves gone (0: none), the rule in this one place: -EAGAIN
 * proves the observed readiness drained (or full). A short count (more than 0, less than
 * asked) of a typed read or write proves its own direction drained (or full) only where
 * the driver declared it for this stream (slot->short_io): elsewhere no new edge may come
 * for what is left, so readiness stays.
 */
static GALE__ALWAYS_INLINE uint32_t io_result_clears(const struct gale_reactor_slot *slot,
						      const struct gale__io_op *op,
						      ssize_t result, uint32_t observed)
{
	if (result == -EAGAIN)
		return observed;
	if (result <= 0 || (size_t)result >= op->len)
		return 0;
	if (op->kind == GALE__IO_READ &&
	    (slot->short_io & GALE_DRIVER_CAP_READ_SHORT_DRAINED) != 0)
		return observed & GALE_READY_READ;
	if (op->kind == GALE__IO_WRITE &&
	    (slot->short_io & GALE_DRIVER_CAP_WRITE_SHORT_FULL) != 0)
		return observed & GALE_READY_WRITE;
	return 0;
}

/* What a result proves, acted on: the registration checked again (the op may have closed
 * the fd), then the clear io_result_clears() allows. Inlined, so that for the driver's own
 * read or write (a constant op) only the rule for that kind is left. */
static GALE__ALWAYS_INLINE ssize_t slot_attempt_settle(struct gale_reactor *reactor,
						       uint64_t token,
						       struct gale_reactor_slot *slot,
						       struct gale_ready_event event,
						       const struct gale__io_op *op, ssize_t result)
{
	if (!slot_is_current(slot, token))
		return result;
	event.ready = io_result_clears(slot, op, result, event.ready);
	if (event.ready != 0)
		slot_clear_ready(reactor, token, slot, event);
	return result;
}

/* gale__reactor_attempt() on a live slot: small, and inlined into the poll loop (a call
 * there cost ~50 instructions per attempt in callgrind). */
static GALE__ALWAYS_INLINE ssize_t slot_attempt(struct gale_reactor *reactor, uint64_t token,
				   struct gale_reactor_slot *slot,
				   struct gale_ready_event event, const struct gale__io_op *op)
{
	ssize_t result = io_op_run(op, reactor->priv_driver, slot->fd);
	if (result >= 0 && (size_t)result >= op->len) {
		/* The common case: everything asked moved, nothing proven. */
		GALE__CONTRACT(op->kind == GALE__IO_GENERAL || (size_t)result == op->len,
			       "a typed read or write moved %zd bytes of %zu", result, op->len);
		return result;
	}
	return slot_attempt_settle(reactor, token, slot, event, op, result);
}

ssize_t gale__reactor_attempt(struct gale_reactor *reactor, uint64_t token,
			      struct gale_ready_event event, const struct gale__io_op *op)
{
	assert(reactor != NULL && op != NULL);
	struct gale_reactor_slot *slot = reactor_slot_lookup(reactor, token);
	if (slot == NULL)
		return GALE_E_CLOSED;
	return slot_attempt(reactor, token, slot, event, op);
}

/* The end of gale__reactor_poll_io() when token is stale: GALE_E_CLOSED, the waiter let go. */
static int poll_io_closed(struct gale_reactor *reactor, struct gale_ready_waiter *waiter)
{
	if (waiter != NULL)
		gale_reactor_waiter_cancel(reactor, waiter);
	return GALE_E_CLOSED;
}

/* gale__reactor_poll_io(), inlined into it and into gale__reactor_poll_typed() (where
 * waiter is NULL and the waiter branches fold away). */
static GALE__ALWAYS_INLINE int reactor_poll_io(struct gale_reactor *reactor, uint64_t token,
					       enum gale_direction direction,
					       struct gale_ready_waiter *waiter,
					       struct gale_cx *cx, const struct gale__io_op *op,
					       ssize_t *result_out)
{
	assert(reactor != NULL && cx != NULL);
	assert(op != NULL && result_out != NULL);
	assert(waiter != NULL || direction == GALE_DIRECTION_READ ||
	       direction == GALE_DIRECTION_WRITE);
	assert(waiter == NULL || gale__interest_is_valid(waiter->interest));
	/* One lookup: the pointer stays valid across attempts (slots never move), and
	 * slot_is_current() tells whether the op closed the fd. */
	struct gale_reactor_slot *slot = reactor_slot_lookup(reactor, token);
	if (slot == NULL)
		return poll_io_closed(reactor, waiter);
	for (int attempt = 1;; attempt++) {
		struct gale_ready_event event;
		int rc = waiter != NULL
				 ? slot_poll_waiter(reactor, slot, token, waiter, cx, &event)
				 : slot_poll_ready(reactor, slot, token,
						   direction == GALE_DIRECTION_READ, cx, &event);
		if (rc != 0)
			return rc;
		ssize_t result = slot_attempt(reactor, token, slot, event, op);
		if (result != -EAGAIN) {
			*result_out = result;
			return 0;
		}
		if (attempt == GALE__IO_ATTEMPTS_MAX)
			break;
		if (!slot_is_current(slot, token))
			return poll_io_closed(reactor, waiter);
	}
	/* Readiness stays set (hang-up and error are final) and the op keeps saying -EAGAIN:
	 * yield to the executor rather than spin. */
	gale_waker_wake(&cx->waker);
	return GALE_PENDING;
}

int gale__reactor_poll_io(struct gale_reactor *reactor, uint64_t token,
			  enum gale_direction direction, struct gale_ready_waiter *waiter,
			  struct gale_cx *cx, const struct gale__io_op *op, ssize_t *result_out)
{
	return reactor_poll_io(reactor, token, direction, waiter, cx, op, result_out);
}

/* gale__reactor_poll_typed(), inlined into it and into the driver's own read and write
 * below, where op is a constant: the kind's switch and the callback test fold away. */
static GALE__ALWAYS_INLINE int reactor_poll_typed(struct gale_reactor *reactor, uint64_t token,
						  struct gale_cx *cx,
						  const struct gale__io_op *op, size_t *len_out)
{
	assert(op != NULL && len_out != NULL);
	assert(op->kind == GALE__IO_READ || op->kind == GALE__IO_WRITE);
	enum gale_direction direction =
		op->kind == GALE__IO_READ ? GALE_DIRECTION_READ : GALE_DIRECTION_WRITE;
	*len_out = 0;
	ssize_t result = 0;
	int rc = reactor_poll_io(reactor, token, direction, NULL, cx, op, &result);
	if (rc != 0)
		return rc;
	if (result < 0)
		return (int)result;
	*len_out = (size_t)result;
	return 0;
}

int gale__reactor_poll_typed(struct gale_reactor *reactor, uint64_t token, struct gale_cx *cx,
			     const struct gale__io_op *op, size_t *len_out)
{
	return reactor_poll_typed(reactor, token, cx, op, len_out);
}

int gale__reactor_poll_read(struct gale_reactor *reactor, uint64_t token, struct gale_cx *cx,
			    void *buf, size_t len, size_t *len_out)
{
	const struct gale__io_op op = {.kind = GALE__IO_READ, .buf.read = buf, .len = len};
	return reactor_poll_typed(reactor, token, cx, &op, len_out);
}

int gale__reactor_poll_write(struct gale_reactor *reactor, uint64_t token, struct gale_cx *cx,
			     const void *buf, size_t len, size_t *len_out)
{
	const struct gale__io_op op = {.kind = GALE__IO_WRITE, .buf.write = buf, .len = len};
	return reactor_poll_typed(reactor, token, cx, &op, len_out);
}

/* ---- Observer and introspection -------------------------------------------------------- */

void gale_reactor_observer_set(struct gale_reactor *reactor,
			       const struct gale_reactor_observer *observer)
{
	assert(reactor != NULL);
	assert(reactor->priv_chunks != NULL);
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
static uint32_t slot_waker_find(const struct gale_reactor *reactor,
				const struct gale_reactor_slot *slot, uint64_t token,
				const struct gale_waker *waker)
{
	assert(slot->live);
	assert(waker != NULL);
	struct gale_waker read_waker = slot_waker_get(reactor, slot, token, 0);
	if (gale_waker_will_wake(&read_waker, waker))
		return GALE_READY_READ;
	struct gale_waker write_waker = slot_waker_get(reactor, slot, token, 1);
	if (gale_waker_will_wake(&write_waker, waker))
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
	assert(reactor != NULL && reactor->priv_chunks != NULL);
	assert(waker != NULL);
	/* An empty waker names no one: finding an empty slot "holding" it would mislead. */
	if (!gale_waker_is_set(waker))
		return false;
	for (uint32_t i = 0; i < reactor->priv_slots_cap; i++) {
		const struct gale_reactor_slot *slot = slot_at(reactor, i);
		if (!slot->live)
			continue;
		uint32_t interest = slot_waker_find(reactor, slot, i, waker); /* index as token */
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
		const struct gale_reactor_slot *slot = slot_at(reactor, i);
		if (!slot->live)
			continue;
		if (slot->waker_kind[0] != WAKER_NONE || slot->waker_kind[1] != WAKER_NONE ||
		    slot->waiters != NULL)
			return true;
	}
	return false;
}
#endif

bool gale_reactor_has_waiters(const struct gale_reactor *reactor)
{
	assert(reactor != NULL);
	assert(reactor->priv_chunks != NULL);
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
