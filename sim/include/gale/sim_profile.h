/* SPDX-License-Identifier: MIT */
/*
 * Fault profiles: one knob per fault kind, shared by the simulated driver (sim.h) and the
 * fault-injecting decorator (sim_fault.h). Every fault is legal POSIX behaviour: a real
 * kernel can produce each one, so code that breaks under a fault is really broken.
 *
 * Named profiles: "none" (no faults), "default" (moderate), "harsh" (frequent), and
 * "swarm": a random profile drawn per seed (swarm testing: each run turns some faults off
 * entirely and others up, which finds bugs that uniform mixes dilute).
 */
#ifndef GALE_SIM_SIM_PROFILE_H
#define GALE_SIM_SIM_PROFILE_H

#include <stdbool.h>
#include <stdint.h>

#include <gale/common.h>
#include <gale/entropy.h>

GALE_BEGIN_DECLS

/* X(NAME, field_name, description): the single list of fault kinds. Append only. */
#define GALE_FAULT_MAP(X)                                                                   \
	X(READY_SPURIOUS, ready_spurious, "readiness event for a registered fd that is not ready") \
	X(READY_STALE, ready_stale, "event for a token already deregistered")              \
	X(READY_DELAY, ready_delay, "readiness delivered late")                            \
	X(READ_WOULD_BLOCK, read_would_block, "read reports EAGAIN although data is there") \
	X(WRITE_WOULD_BLOCK, write_would_block, "write reports EAGAIN although space is there") \
	X(READ_SHORT, read_short, "read returns fewer bytes than available")              \
	X(WRITE_PARTIAL, write_partial, "write takes 1..n-1 bytes")                        \
	X(RESET, reset, "connection reset mid-stream (RST)")                               \
	X(LATENCY_JITTER, latency_jitter, "extra delivery delay on a segment")             \
	X(CONNECT_REFUSED, connect_refused, "connect refused (listener backlog overflow)") \
	X(CONNECT_SLOW, connect_slow, "connect completes late")                            \
	X(ACCEPT_EMFILE, accept_emfile, "accept fails with EMFILE")                        \
	X(PARTITION, partition, "temporary partition between two hosts")                   \
	X(ALLOC_FAIL, alloc_fail, "allocation returns NULL")

enum gale_fault_kind {
#define GALE_FAULT_ENUM(name, field, description) GALE_FAULT_##name,
	GALE_FAULT_MAP(GALE_FAULT_ENUM)
#undef GALE_FAULT_ENUM
	GALE_FAULT_COUNT
};

struct gale_fault_profile {
	const char *name;                         /* "none", "default", "harsh", "swarm". */
	struct gale_ratio ratios[GALE_FAULT_COUNT]; /* Chance per opportunity, by kind. */
	int64_t ready_delay_ns_max;               /* READY_DELAY: up to this much later. */
	int64_t latency_jitter_ns_max;            /* LATENCY_JITTER: extra delay per segment. */
	int64_t connect_delay_ns_max;             /* CONNECT_SLOW: extra connect delay. */
	int64_t partition_ns_max;                 /* PARTITION: how long one lasts at most. */
};

/* Per-run counts of injected faults, by kind. */
struct gale_fault_stats {
	uint64_t injected[GALE_FAULT_COUNT];
};

/**
 * A named profile ("none", "default", "harsh"). @return a static profile, or NULL for an
 * unknown name ("swarm" is drawn, see below, so it is not found here).
 */
GALE_EXTERN const struct gale_fault_profile *gale_fault_profile_find(const char *name);

/** The names gale_fault_profile_find() knows, NULL-terminated (for help texts). */
GALE_EXTERN const char *const *gale_fault_profile_names(void);

/**
 * Draws a swarm profile from entropy: each fault kind is independently off (about half of
 * them) or on with a ratio between the default and harsh ones. Deterministic per entropy.
 */
GALE_EXTERN void gale_fault_profile_swarm(struct gale_fault_profile *profile_out,
					  struct gale_entropy *entropy);

/** "ready_spurious", ... (the field name); "unknown" out of range. */
GALE_EXTERN const char *gale_fault_kind_name(enum gale_fault_kind kind);

/** One-line English description of a fault kind. */
GALE_EXTERN const char *gale_fault_kind_description(enum gale_fault_kind kind);

/**
 * Rolls the dice for one opportunity of a fault: true (and counts it in stats, which may
 * be NULL) with the profile's ratio for kind. Neutral (false) when entropy is exhausted,
 * and for a kind out of range (no entropy consumed).
 */
GALE_EXTERN bool gale_fault_roll(const struct gale_fault_profile *profile,
				 struct gale_entropy *entropy, struct gale_fault_stats *stats,
				 enum gale_fault_kind kind);

/**
 * The profile a fuzz input describes, as every gale fuzz target decodes it: "none" named
 * name, with short fixed delay bounds (delays vary the order of events without stretching
 * runs). Set each kind's ratio from one input byte with gale_fault_ratio_from_byte().
 * name is borrowed (static, or outliving the profile).
 */
GALE_EXTERN void gale_fault_profile_fuzz_base(struct gale_fault_profile *profile_out,
					      const char *name);

/** One fuzz input byte as a fault chance: 0 leaves the fault off, b > 0 is b/512 (up to
 *  one chance in two per opportunity). */
GALE_EXTERN struct gale_ratio gale_fault_ratio_from_byte(uint8_t byte);

/**
 * An injection filter, for shrinking a failure: the faults a run decides to inject are
 * numbered in the order they happen (0, 1, 2, ..., across the simulated driver and the
 * allocator), and only those whose number is in `allowed` are injected; the others are
 * rolled (the same entropy is spent) and then withheld, as if the dice had said no.
 * Zero-initialise the private fields; one filter serves one run.
 */
struct gale_fault_filter {
	const uint64_t *allowed; /* Fault numbers that may be injected, ascending. Borrowed. */
	size_t count;            /* Entries in allowed (0: no fault at all). */
	/* Private: do not touch. */
	uint64_t priv_next;      /* Number of the next fault decided. */
	size_t priv_cursor;      /* First entry of allowed not below priv_next. */
};

/**
 * Numbers one fault the dice decided and says whether it may be injected. A NULL filter
 * admits everything (and numbers nothing).
 */
GALE_EXTERN bool gale_fault_filter_admit(struct gale_fault_filter *filter);

GALE_END_DECLS

#endif /* GALE_SIM_SIM_PROFILE_H */
