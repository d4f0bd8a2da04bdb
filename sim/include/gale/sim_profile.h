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
#include <gale/error.h> /* The resolver kinds' codes. */

GALE_BEGIN_DECLS

/*
 * The fault effects: errors a fault kind can make I/O calls return later or elsewhere (a
 * reset breaks the peer's connection too; a partition can outlast a deadline), as bits for
 * the effects column of GALE_FAULT_MAP. gale_scenario_fault_causes() (scenario_kit.h)
 * reads them to tell an injected failure from a bug.
 */
enum gale_fault_effect {
	/* -ECONNRESET, -EPIPE, -ENOTCONN, GALE_E_UNEXPECTED_EOF. */
	GALE_FAULT_EFFECT_BROKEN = 1u << 0,
	GALE_FAULT_EFFECT_REFUSED = 1u << 1, /* -ECONNREFUSED. */
	GALE_FAULT_EFFECT_TIMEOUT = 1u << 2, /* GALE_E_TIMED_OUT, -ETIMEDOUT. */
};

/*
 * X(NAME, field, description, default, harsh, error, effects): the single list of fault
 * kinds; one entry is the whole declaration of a kind. Append only (the values are an ABI
 * for traces, fault plans and fuzz corpora).
 *   NAME         GALE_FAULT_<NAME>.
 *   field        its name in JSON, on the command line and from gale_fault_kind_name().
 *   description  one line of English (gale_fault_kind_description()).
 *   default, harsh  its chance per opportunity, 1 in N, in the "default" and "harsh"
 *                profiles: harsh <= default (checked when sim_profile.c compiles); the
 *                swarm draws between the two.
 *   error        the code the call the fault fails returns, negated (EMFILE for -EMFILE,
 *                -GALE_E_<NAME> for gale's own codes), or 0 when it fails no call itself
 *                (WouldBlock and short I/O are not failures).
 *   effects      GALE_FAULT_EFFECT_* bits, or 0.
 * The comment above an entry says where the fault is rolled: "sim" (the simulated driver,
 * sim.h), "fault driver" (the decorator over any driver; sim_fault.h details how), "both".
 * A kind that needs a bound (how late, how long) adds a field to struct gale_fault_profile
 * below, set in sim_profile.c's "default" and "harsh" profiles and drawn by the swarm.
 */
#define GALE_FAULT_MAP(X)                                                                   \
	/* Both: once per wait(), an extra event (READ/WRITE per interest) for a registered \
	 * fd, ready or not. */                                                             \
	X(READY_SPURIOUS, ready_spurious,                                                   \
	  "readiness event for a registered fd that is not ready", 50, 5, 0, 0)             \
	/* Both: per deregistration, the old token is reported once by a later wait(). */   \
	X(READY_STALE, ready_stale, "event for a token already deregistered", 50, 5, 0, 0)  \
	/* Sim: per readiness edge, the event is held back 1..ready_delay_ns_max. Fault     \
	 * driver: an event the inner wait() returned is held back to the next wait(). */   \
	X(READY_DELAY, ready_delay, "readiness delivered late", 50, 5, 0,                   \
	  GALE_FAULT_EFFECT_TIMEOUT)                                                        \
	/* Both: per read/readv/recv/accept that could make progress: -EAGAIN, and the fd   \
	 * gets a fresh READ event on the next wait() (a kernel never loses readiness). */  \
	X(READ_WOULD_BLOCK, read_would_block, "read reports EAGAIN although data is there", \
	  50, 5, 0, 0)                                                                      \
	/* Both: the same for write/writev/send (a fresh WRITE event follows). */           \
	X(WRITE_WOULD_BLOCK, write_would_block, "write reports EAGAIN although space is there", \
	  50, 5, 0, 0)                                                                      \
	/* Both: a read of n >= 2 available bytes returns 1..n-1. */                        \
	X(READ_SHORT, read_short, "read returns fewer bytes than available", 50, 5, 0, 0)   \
	/* Both: a write that could take n >= 2 bytes takes 1..n-1. */                      \
	X(WRITE_PARTIAL, write_partial, "write takes 1..n-1 bytes", 50, 5, 0, 0)            \
	/* Sim: per TCP data segment arriving, the connection is aborted: both ends get a RST \
	 * at once, bytes in flight are lost. Fault driver: per write on a connected TCP    \
	 * socket, -ECONNRESET and a real RST to the peer. */                               \
	X(RESET, reset, "connection reset mid-stream (RST)", 200, 50, ECONNRESET,           \
	  GALE_FAULT_EFFECT_BROKEN)                                                         \
	/* Sim: per TCP segment, 1..latency_jitter_ns_max extra delay. */                   \
	X(LATENCY_JITTER, latency_jitter, "extra delivery delay on a segment", 50, 5, 0,    \
	  GALE_FAULT_EFFECT_TIMEOUT)                                                        \
	/* Sim: per SYN reaching a listener, refused as if the backlog were full. */        \
	X(CONNECT_REFUSED, connect_refused, "connect refused (listener backlog overflow)",  \
	  50, 10, ECONNREFUSED, 0)                                                          \
	/* Sim: per connect, the SYN leaves 1..connect_delay_ns_max late. Fault driver: a   \
	 * connect the inner driver completed at once reports -EINPROGRESS. */              \
	X(CONNECT_SLOW, connect_slow, "connect completes late", 50, 5, 0,                   \
	  GALE_FAULT_EFFECT_TIMEOUT)                                                        \
	/* Both: per accept with a connection waiting, -EMFILE; the connection stays queued \
	 * and the listener gets a fresh READ event. */                                     \
	X(ACCEPT_EMFILE, accept_emfile, "accept fails with EMFILE", 50, 10, EMFILE, 0)      \
	/* Sim: per TCP segment between two distinct hosts not already partitioned, the pair \
	 * is cut for 1..partition_ns_max. Fault driver: per write on a connected TCP socket, \
	 * the fd's byte ops return -EAGAIN and its readiness is held for as long. */       \
	X(PARTITION, partition, "temporary partition between two hosts", 500, 20, 0,        \
	  GALE_FAULT_EFFECT_BROKEN | GALE_FAULT_EFFECT_REFUSED | GALE_FAULT_EFFECT_TIMEOUT) \
	/* Neither: the scenario runner's allocator, per allocation (sim_alloc.h). A task   \
	 * whose allocation failed may close its connection early. */                       \
	X(ALLOC_FAIL, alloc_fail, "allocation returns NULL", 1000, 20, ENOMEM,              \
	  GALE_FAULT_EFFECT_BROKEN)                                                         \
	/* Resolver (sim_resolve.h: the simulator's, and the runner's on fault(epoll)), per \
	 * query of a name the table knows: no server answers; it fails after timeout_ns. */ \
	X(RESOLVE_TIMEOUT, resolve_timeout, "name server does not answer", 20, 5,          \
	  -GALE_E_RESOLVE_TIMED_OUT, 0)                                                     \
	/* Resolver: per query of a known name, NXDOMAIN (a stale negative answer). */      \
	X(RESOLVE_NOT_FOUND, resolve_not_found, "known name reported not found", 20, 5,    \
	  -GALE_E_RESOLVE_NOT_FOUND, 0)                                                     \
	/* Resolver: per query of a known name, SERVFAIL. */                                \
	X(RESOLVE_SERVER_FAILURE, resolve_servfail, "name server failure (SERVFAIL)",       \
	  20, 5, -GALE_E_RESOLVE_SERVER_FAILURE, 0)                                         \
	/* Resolver: per answer, 1..slow_ns_max late (the resolver's bound). */             \
	X(RESOLVE_SLOW, resolve_slow, "name answer comes late", 10, 3, 0,                   \
	  GALE_FAULT_EFFECT_TIMEOUT)                                                        \
	/* Resolver: per answer of two addresses or more (a dead one included), shuffled. */ \
	X(RESOLVE_SHUFFLE, resolve_shuffle, "addresses answered in a shuffled order", 5, 2, \
	  0, 0)                                                                             \
	/* Resolver: per answer, an address no host owns is put first (a connect to it     \
	 * fails and the caller must try the next; a shuffle may move it). */               \
	X(RESOLVE_DEAD_ADDRESS, resolve_dead_addr, "unreachable address answered first",    \
	  10, 3, 0, 0)

enum gale_fault_kind {
#define GALE_FAULT_ENUM(name, ...) GALE_FAULT_##name,
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
