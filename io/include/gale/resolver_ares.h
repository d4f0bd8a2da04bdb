/* SPDX-License-Identifier: MIT */
/*
 * The real kernel's resolver: c-ares (asynchronous DNS, /etc/hosts and resolv.conf as
 * c-ares reads them), driven by the runtime it is bound to. Never a blocking getaddrinfo:
 *   - c-ares's sockets are made, connected, read, written and closed through the runtime's
 *     driver (ares_set_socket_functions), so they are registered with the reactor like any
 *     AsyncFd and no gale code outside the epoll driver calls the OS;
 *   - a task the resolver spawns on the runtime while queries are outstanding processes
 *     them on readiness and sleeps on the runtime's timers until c-ares's next timeout;
 *     it finishes when nothing is outstanding (so gale_runtime_run() can return).
 * Built where the epoll driver is (it needs real sockets); install with
 * gale_runtime_resolver_set(runtime, &ares.base).
 */
#ifndef GALE_IO_RESOLVER_ARES_H
#define GALE_IO_RESOLVER_ARES_H

#include <stdbool.h>

#include <gale/common.h>
#include <gale/resolver.h>
#include <gale/rt.h>

GALE_BEGIN_DECLS

struct gale_resolver_ares_options {
	/* Name servers as c-ares's CSV ("127.0.0.1:5353,[::1]:53"); NULL: resolv.conf's. */
	const char *servers;
	int timeout_ms; /* First try's timeout per server; 0: c-ares's (resolv.conf's). */
	int tries;      /* Tries per server; 0: c-ares's default. */
	bool use_tcp;   /* Every query over TCP (c-ares's ARES_FLAG_USEVC); else UDP first. */
};

struct gale_resolver_ares_state; /* Private, resolver_ares.c. */

struct gale_resolver_ares {
	struct gale_resolver base; /* Always first: hand &base to the runtime. */
	/* Private: do not touch. */
	struct gale_resolver_ares_state *priv_state; /* Allocated by init. */
};

/**
 * Starts a c-ares channel bound to runtime.
 * @param resolver  caller-allocated; filled in place (resolver->base.ops NULL on failure).
 * @param runtime   borrowed until deinit; its allocator holds the resolver's state, its
 *                  driver makes the sockets, its executor runs the resolver's task.
 * @param options   borrowed for the call; NULL: c-ares's defaults (resolv.conf).
 * @return 0; -ENOMEM; -EINVAL (servers text c-ares refuses, negative timeout or tries);
 *         GALE_E_RESOLVE_FAILED (c-ares could not start: no usable configuration).
 * Release with gale_resolver_deinit(&resolver->base) after every query on it is done or
 * deinit'd and before the runtime is deinit'd: it aborts its task, lets c-ares fail what
 * it still holds, and closes its sockets.
 */
GALE_EXTERN int gale_resolver_ares_init(struct gale_resolver_ares *resolver,
					struct gale_runtime *runtime,
					const struct gale_resolver_ares_options *options);

/** Sockets c-ares has open now (through the driver). For tests: 0 when idle. */
GALE_EXTERN unsigned gale_resolver_ares_sockets_open(const struct gale_resolver_ares *resolver);

GALE_END_DECLS

#endif /* GALE_IO_RESOLVER_ARES_H */
