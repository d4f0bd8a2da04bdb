/* SPDX-License-Identifier: MIT */
/*
 * The simulator's resolver: a per-run name table (host name -> the simulated hosts'
 * addresses, IPv4 and IPv6, in the order added) behind struct gale_resolver, with faults
 * rolled from the run's seed. Install it with gale_runtime_resolver_set(); the same user
 * code that resolves through c-ares on the kernel then resolves here.
 *
 * Per query, in this order (every choice from the fault source, so from the seed):
 *   RESOLVE_TIMEOUT       no server answers: GALE_E_RESOLVE_TIMED_OUT after timeout_ns;
 *   RESOLVE_NOT_FOUND     a name in the table is reported missing (a stale negative
 *                         answer): GALE_E_RESOLVE_NOT_FOUND;
 *   RESOLVE_SERVER_FAILURE  GALE_E_RESOLVE_SERVER_FAILURE;
 *   RESOLVE_SLOW          the answer comes up to slow_ns_max late;
 *   RESOLVE_DEAD_ADDRESS  an address no host owns (192.0.2.x / 2001:db8::x, documentation
 *                         ranges) is answered first: a connect to it fails (-EHOSTUNREACH)
 *                         and the caller must fall through to the next address;
 *   RESOLVE_SHUFFLE       then the whole answer (two addresses or more, a dead one
 *                         included) comes in a shuffled order.
 * A name not in the table is GALE_E_RESOLVE_NOT_FOUND (no fault); every answer takes
 * latency_ns. Each answer is decided when the query starts and held on the runtime's
 * timers until due (resolver.h), so a cancelled query leaves nothing behind. Faults are
 * counted, traced and filtered as the simulator's own when the source is the simulator
 * (gale_sim_resolver_init()); a kernel backend passes its own.
 */
#ifndef GALE_SIM_SIM_RESOLVE_H
#define GALE_SIM_SIM_RESOLVE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <gale/common.h>
#include <gale/resolver.h>
#include <gale/sim.h>
#include <gale/sim_profile.h>

GALE_BEGIN_DECLS

/* Names one table holds, addresses per name, and the longest name. */
#define GALE_SIM_RESOLVE_NAMES_MAX 32
#define GALE_SIM_RESOLVE_NAME_ADDRS_MAX 8
#define GALE_SIM_RESOLVE_NAME_LEN_MAX 63

/* Where the resolver's fault decisions come from. */
struct gale_sim_resolve_faults {
	/* Rolls one opportunity of kind: true to inject (counted and traced by the
	 * source). NULL: no faults. */
	bool (*roll)(void *data, enum gale_fault_kind kind);
	/* A uniform integer in [min, max] (min <= max). REQUIRED when roll is set. */
	uint64_t (*range)(void *data, uint64_t min, uint64_t max);
	void *data; /* Passed back to both. Borrowed. */
};

struct gale_sim_resolve_name {
	char name[GALE_SIM_RESOLVE_NAME_LEN_MAX + 1];                   /* NUL-terminated. */
	struct sockaddr_storage addrs[GALE_SIM_RESOLVE_NAME_ADDRS_MAX]; /* Port 0. */
	uint32_t addr_count;                                            /* In use. */
};

struct gale_sim_resolver {
	struct gale_resolver base; /* Always first: hand &base to the runtime. */
	int64_t latency_ns;        /* Every answer's delay (default 1 ms). */
	int64_t timeout_ns;        /* RESOLVE_TIMEOUT: when the failure shows (default 2 s). */
	int64_t slow_ns_max;       /* RESOLVE_SLOW: extra delay, up to (default 500 ms). */
	/* Private: do not touch. */
	struct gale_sim_resolve_faults priv_faults;                     /* The fault source. */
	struct gale_sim_resolve_name priv_names[GALE_SIM_RESOLVE_NAMES_MAX]; /* The table. */
	uint32_t priv_name_count;                                       /* Entries in use. */
	uint64_t priv_queries_count;                                    /* Started ever. */
};

/**
 * A resolver whose faults are the simulator's: rolled with sim's profile and entropy,
 * counted in its stats, traced (GALE_TRACE_FAULT, fd -1) and subject to its fault filter.
 * @param sim  borrowed until deinit; an initialised simulator.
 * Never fails. Release with gale_resolver_deinit(&resolver->base).
 */
GALE_EXTERN void gale_sim_resolver_init(struct gale_sim_resolver *resolver,
					struct gale_sim *sim);

/**
 * A resolver with the given fault source (a kernel backend's seeded rolls), or none.
 * @param faults  copied; NULL: no faults.
 */
GALE_EXTERN void gale_sim_resolver_init_with(struct gale_sim_resolver *resolver,
					     const struct gale_sim_resolve_faults *faults);

/**
 * Adds ip (IPv4 or IPv6 text, no port) to name's addresses, after those added before
 * (the order answers keep unless shuffled). Names compare without case.
 * @return 0; -EINVAL (ip is not an address literal, or name is empty, too long or holds a
 *         character a host name cannot); -EEXIST (name has that address already);
 *         -ENOSPC (too many names, or addresses for name).
 */
GALE_EXTERN int gale_sim_resolver_name_add(struct gale_sim_resolver *resolver,
					   const char *name, const char *ip);

/** Queries started since init. */
GALE_EXTERN uint64_t gale_sim_resolver_queries_count(const struct gale_sim_resolver *resolver);

GALE_END_DECLS

#endif /* GALE_SIM_SIM_RESOLVE_H */
