/* SPDX-License-Identifier: MIT */
/*
 * Host name resolution, beside the driver: the runtime holds a resolver (like its driver,
 * borrowed), and the resolve future asks it. So the same user code resolves on every
 * backend: c-ares on the real kernel (resolver_ares.h; its sockets go through the driver,
 * its timeouts through the runtime's timers), a name table with seeded faults in the
 * simulator (sim_resolve.h). IP literals ("10.0.0.1", "::1") resolve to themselves
 * without a resolver.
 *
 * Implementations fill in struct gale_resolver_ops; users never call the ops: they poll a
 * struct gale_resolve_query (net/'s <gale/resolve.h> adds ports and "host:port" text).
 * Thread affinity: the runtime's thread.
 */
#ifndef GALE_IO_RESOLVER_H
#define GALE_IO_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <gale/common.h>
#include <gale/rt.h>
#include <gale/task.h>
#include <gale/time.h>

GALE_BEGIN_DECLS

#define GALE_RESOLVER_ABI_VERSION 1u

/* Longest host name (DNS: 253 characters of text), NUL excluded. */
#define GALE_RESOLVE_NAME_MAX 253
/* Most addresses one query keeps (the rest of a longer answer is dropped). */
#define GALE_RESOLVE_ADDRS_MAX 16

struct gale_resolver;
struct gale_resolve_query;

struct gale_resolver_ops {
	uint32_t abi_version; /* GALE_RESOLVER_ABI_VERSION. */
	const char *name;     /* "c-ares", "sim", "table"... for logs and traces. */
	/*
	 * REQUIRED. Starts resolving gale_resolve_query_name(query) for
	 * gale_resolve_query_family(query). The answer comes later, or at once, through
	 * gale_resolve_query_answer() (addresses added first with
	 * gale_resolve_query_addr_add()). 0 (started) or a negative code (the query fails
	 * with it at once: -ENOMEM, ...). query must not move until answered or cancelled.
	 */
	int (*query_start)(struct gale_resolver *resolver, struct gale_resolve_query *query);
	/*
	 * REQUIRED. Forgets a query started and not answered yet (its owner deinit'd it):
	 * the resolver must never touch query again. Never fails.
	 */
	void (*query_cancel)(struct gale_resolver *resolver, struct gale_resolve_query *query);
	/* Optional (NULL: nothing to release). Releases the resolver; no query may be
	 * pending (the caller's contract). */
	void (*deinit)(struct gale_resolver *resolver);
};

/* The base every resolver embeds first (as drivers embed struct gale_driver). */
struct gale_resolver {
	const struct gale_resolver_ops *ops; /* Valid after init; NULL after a failed init. */
};

/*
 * One resolution: a caller-allocated future. Must not move from the first poll until it
 * completes or is deinit'd (the resolver holds a pointer to it meanwhile).
 */
struct gale_resolve_query {
	/* The answer, valid after gale_resolve_query_poll() returned 0: addr_count >= 1. */
	struct sockaddr_storage addrs[GALE_RESOLVE_ADDRS_MAX]; /* AF_INET/AF_INET6, port 0. */
	socklen_t addr_lens[GALE_RESOLVE_ADDRS_MAX];           /* Length of each. */
	size_t addr_count;                                     /* Entries in use. */
	/* For the resolver implementation while the query is started (NULL before). */
	void *resolver_data;
	/* Private: do not touch. */
	struct gale_runtime *priv_runtime;      /* Borrowed until done or deinit. */
	struct gale_resolver *priv_resolver;    /* The one asked; NULL before start. */
	char priv_name[GALE_RESOLVE_NAME_MAX + 1]; /* The name, NUL-terminated. */
	int priv_family;                        /* AF_UNSPEC, AF_INET or AF_INET6. */
	int priv_state;                         /* Idle, started, answered, done. */
	int priv_result;                        /* The answer's code (0: addresses). */
	struct gale_sleep priv_sleep;           /* Holds the answer until its deadline. */
	struct gale_waker priv_waker;           /* The poller waiting for the answer. */
};

/**
 * The runtime's resolver: borrowed, until replaced or the runtime is deinit'd (the
 * caller deinits it after every query on it is done). NULL removes it. Queries already
 * started keep the resolver they started with.
 */
GALE_EXTERN void gale_runtime_resolver_set(struct gale_runtime *runtime,
					   struct gale_resolver *resolver);

/** The runtime's resolver, or NULL when none was set. */
GALE_EXTERN struct gale_resolver *gale_runtime_resolver(const struct gale_runtime *runtime);

/** The resolver's name ("c-ares", "sim"...), "none" for NULL. */
GALE_EXTERN const char *gale_resolver_name(const struct gale_resolver *resolver);

/**
 * Releases a resolver through its deinit op. A no-op when resolver->ops is NULL (a failed
 * init, or a second call). No query may be pending on it (asserted where the resolver
 * can tell).
 */
GALE_EXTERN void gale_resolver_deinit(struct gale_resolver *resolver);

/**
 * Prepares a resolution of name for family (AF_UNSPEC: both, AF_INET, AF_INET6). Calls
 * nothing, allocates nothing; the name is copied (a name longer than
 * GALE_RESOLVE_NAME_MAX, empty, or with a character a host name cannot hold makes the
 * first poll return GALE_E_RESOLVE_BAD_NAME).
 * @param runtime  borrowed until completion or deinit; its resolver is asked at the
 *                 first poll.
 * @param name     borrowed for the call.
 */
GALE_EXTERN void gale_resolve_query_init(struct gale_resolve_query *query,
					 struct gale_runtime *runtime, const char *name,
					 int family);

/**
 * @return 0 (addrs[0 .. addr_count) hold the answer, in the resolver's order; at least
 *         one); GALE_PENDING (woken when the answer is due); or an error:
 *         GALE_E_RESOLVE_NOT_FOUND (no such name), GALE_E_RESOLVE_NO_ADDRESS (the name
 *         exists, with no address of that family), GALE_E_RESOLVE_SERVER_FAILURE,
 *         GALE_E_RESOLVE_REFUSED, GALE_E_RESOLVE_TIMED_OUT (no server answered),
 *         GALE_E_RESOLVE_BAD_NAME, GALE_E_RESOLVE_NO_RESOLVER (a name that is not an IP
 *         literal, and the runtime has no resolver), GALE_E_RESOLVE_FAILED (anything
 *         else the resolver reports), -EINVAL (family), -ENOMEM. IP literals answer on
 *         the first poll without a resolver. Polling after completion is asserted.
 * Cancel safety: yes. gale_resolve_query_deinit() at any point cancels the query with
 * the resolver, which keeps nothing of it and leaks nothing.
 */
GALE_EXTERN int gale_resolve_query_poll(struct gale_resolve_query *query, struct gale_cx *cx);

/** Cancels a query in flight (see poll) and disarms its timer. Idempotent; safe after
 * completion and on a query never polled. */
GALE_EXTERN void gale_resolve_query_deinit(struct gale_resolve_query *query);

/** The name being resolved (borrowed from the query). */
GALE_EXTERN const char *gale_resolve_query_name(const struct gale_resolve_query *query);

/** AF_UNSPEC, AF_INET or AF_INET6, as given to init. */
GALE_EXTERN int gale_resolve_query_family(const struct gale_resolve_query *query);

/** The runtime given to init. */
GALE_EXTERN struct gale_runtime *gale_resolve_query_runtime(const struct gale_resolve_query *query);

/* ---- For resolver implementations ---- */

/**
 * Adds one address to the answer being built (AF_INET or AF_INET6; its port is cleared).
 * Addresses of the other family than the query asked for, duplicates and those past
 * GALE_RESOLVE_ADDRS_MAX are skipped. Only between query_start and the answer.
 * @return true when added.
 */
GALE_EXTERN bool gale_resolve_query_addr_add(struct gale_resolve_query *query,
					     const struct sockaddr *addr, socklen_t addr_len);

/**
 * Answers a started query: result 0 (the addresses added; none makes it
 * GALE_E_RESOLVE_NO_ADDRESS) or an error code, visible to the poller once the runtime's
 * clock reaches deadline_ns (0 or a past instant: at once). Wakes the poller (or, with a
 * future deadline, arms the query's timer on its next poll). Exactly once per start, and
 * never after query_cancel.
 */
GALE_EXTERN void gale_resolve_query_answer(struct gale_resolve_query *query, int result,
					   int64_t deadline_ns);

GALE_END_DECLS

#endif /* GALE_IO_RESOLVER_H */
