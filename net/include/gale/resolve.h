/* SPDX-License-Identifier: MIT */
/*
 * Host names for TCP, as Tokio's ToSocketAddrs: "host:port" text where host is a name
 * ("localhost", "db.internal"), an IPv4 literal or a bracketed IPv6 literal ("[::1]").
 * Names are resolved by the runtime's resolver (<gale/resolver.h>: c-ares on the real
 * kernel, a seeded name table in the simulator), so the same code runs on every backend.
 *   - gale_resolve: the addresses, for users who want them;
 *   - gale_tcp_connect_host: resolve, then try every address in order (the connect
 *     future), completing with the first connection or the last error;
 *   - gale_tcp_bind_host: resolve, then bind a listener to the first address that binds.
 * Errors say which name failed and why: gale_resolve_describe() and the _describe of each
 * future write "resolving \"db\": host name not found" or "connecting to db:80 (10.0.0.2:80,
 * the last of 2 addresses): connection refused"; the codes are in <gale/error.h>
 * (GALE_E_RESOLVE_*). All three are caller-allocated and must not move while pending.
 */
#ifndef GALE_NET_RESOLVE_H
#define GALE_NET_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gale/common.h>
#include <gale/resolver.h>
#include <gale/rt.h>
#include <gale/socket_addr.h>
#include <gale/tcp.h>

GALE_BEGIN_DECLS

/* ==== Resolve ============================================================================ */

struct gale_resolve {
	/* The answer, valid after gale_resolve_poll() returned 0: addr_count >= 1, each with
	 * the port asked for, in the resolver's order (the order connects try them). */
	struct gale_socket_addr addrs[GALE_RESOLVE_ADDRS_MAX];
	size_t addr_count;
	/* Private: do not touch. */
	struct gale_resolve_query priv_query; /* The name's resolution. */
	uint16_t priv_port;                   /* Port for every address. */
	int priv_error;                       /* A parse error, reported by the first poll. */
	bool priv_is_done;                    /* Completed: polling again asserts. */
};

/**
 * Prepares resolving "host:port" / "[v6]:port" text (port 0..65535), both families.
 * Calls nothing, allocates nothing; the host is copied. Text that does not parse (no
 * port, an unbracketed IPv6 literal, a port out of range) makes the first poll return
 * -EINVAL.
 * @param runtime  borrowed until completion or deinit (its resolver is asked).
 * @param text     borrowed for the call.
 */
GALE_EXTERN void gale_resolve_init(struct gale_resolve *future, struct gale_runtime *runtime,
				   const char *text);

/**
 * Prepares resolving a bare host (name or literal, IPv6 without brackets) for family
 * (AF_UNSPEC, AF_INET, AF_INET6), every address given port.
 */
GALE_EXTERN void gale_resolve_init_host(struct gale_resolve *future,
					struct gale_runtime *runtime, const char *host,
					uint16_t port, int family);

/**
 * @return 0 (addrs holds addr_count >= 1 addresses); GALE_PENDING; -EINVAL (text that
 *         does not parse); or the errors of gale_resolve_query_poll() (resolver.h):
 *         GALE_E_RESOLVE_NOT_FOUND, GALE_E_RESOLVE_TIMED_OUT, ... Polling after
 *         completion is asserted.
 * Cancel safety: yes; gale_resolve_deinit() cancels a resolution in flight and leaks
 * nothing.
 */
GALE_EXTERN int gale_resolve_poll(struct gale_resolve *future, struct gale_cx *cx);

/** Cancels a resolution in flight. Idempotent; safe after completion. */
GALE_EXTERN void gale_resolve_deinit(struct gale_resolve *future);

/** The host being resolved (the name, or the literal), borrowed from the future; "" when
 * the text did not parse. */
GALE_EXTERN const char *gale_resolve_host(const struct gale_resolve *future);

/**
 * Describes a result of gale_resolve_poll() for a person: "resolving \"db\": host name
 * not found". @return the length written (truncated to fit, always NUL-terminated when
 * buf_len > 0), as snprintf.
 */
GALE_EXTERN int gale_resolve_describe(const struct gale_resolve *future, int rc, char *buf,
				      size_t buf_len);

/* ==== Connect by name ==================================================================== */

struct gale_tcp_connect_host {
	/* Private: do not touch. */
	struct gale_resolve priv_resolve;           /* Stage 1. */
	struct gale_tcp_connect priv_connect;       /* Stage 2: one address at a time. */
	int priv_errors[GALE_RESOLVE_ADDRS_MAX];    /* Each attempt's result. */
	size_t priv_attempts_count;                 /* Addresses tried (or in flight). */
	char priv_text[GALE_RESOLVE_NAME_MAX + 16]; /* The text, for messages. */
	const struct gale_socket_addr *priv_local;  /* Source to bind, or NULL. */
	bool priv_is_connecting;                    /* priv_connect holds an attempt. */
	bool priv_is_done;                          /* Completed: polling again asserts. */
};

/**
 * Prepares a connect to "host:port" text (gale_resolve_init()): resolve, then try every
 * address in order as gale_tcp_connect_poll() does. Calls nothing, allocates nothing.
 * @param runtime  borrowed until the stream produced is closed.
 * @param text     borrowed for the call (copied).
 */
GALE_EXTERN void gale_tcp_connect_host_init(struct gale_tcp_connect_host *future,
					    struct gale_runtime *runtime, const char *text);

/**
 * Binds each attempt's socket to local first, as gale_tcp_connect_bind(). Call it before
 * the first poll. @param local  borrowed until completion or deinit; NULL: no bind.
 */
GALE_EXTERN void gale_tcp_connect_host_bind(struct gale_tcp_connect_host *future,
					    const struct gale_socket_addr *local);

/** Addresses tried so far, the one in flight included (0 while resolving). */
GALE_EXTERN size_t gale_tcp_connect_host_attempts(const struct gale_tcp_connect_host *future);

/**
 * What the attempt on the index-th address (in the resolver's order) gave: 0 (it
 * connected: the last one), its error (-ECONNREFUSED, -EHOSTUNREACH...), or GALE_PENDING
 * (in flight). -EINVAL when index >= gale_tcp_connect_host_attempts(). For callers that
 * account for every attempt (a scenario counting refusals, a log line per address).
 */
GALE_EXTERN int gale_tcp_connect_host_attempt_result(const struct gale_tcp_connect_host *future,
						     size_t index);

/**
 * @param stream_out  caller-allocated; filled on 0 (it then owns the socket).
 * @return 0; GALE_PENDING; a resolve error (gale_resolve_poll()); or, when every address
 *         was tried, the last attempt's error (gale_tcp_connect_poll()). Polling after
 *         completion is asserted.
 * Cancel safety: yes; deinit cancels the resolution or closes the attempt in flight.
 */
GALE_EXTERN int gale_tcp_connect_host_poll(struct gale_tcp_connect_host *future,
					   struct gale_cx *cx,
					   struct gale_tcp_stream *stream_out);

/** Cancels whatever is in flight. Idempotent; safe after completion. */
GALE_EXTERN void gale_tcp_connect_host_deinit(struct gale_tcp_connect_host *future);

/**
 * Describes a result of the poll: the resolve failure with the name, or "connecting to
 * <text> (<last address>, the last of <n> addresses): <why>". As snprintf.
 */
GALE_EXTERN int gale_tcp_connect_host_describe(const struct gale_tcp_connect_host *future,
					       int rc, char *buf, size_t buf_len);

/* ==== Bind by name ======================================================================= */

struct gale_tcp_bind_host {
	/* Private: do not touch. */
	struct gale_resolve priv_resolve;      /* The name's addresses. */
	struct gale_tcp_listener *priv_listener; /* Borrowed; filled on success. */
	int priv_backlog;                      /* For gale_tcp_listener_bind(). */
	bool priv_is_done;                     /* Completed: polling again asserts. */
};

/**
 * Prepares binding listener to "host:port" text: resolve, then gale_tcp_listener_bind()
 * each address in order until one binds. Calls nothing, allocates nothing.
 * @param listener  caller-allocated; zeroed here (it reads as closed), filled on success.
 * @param runtime   borrowed until the listener is closed.
 * @param text      borrowed for the call (copied).
 * @param backlog   as gale_tcp_listener_bind().
 */
GALE_EXTERN void gale_tcp_bind_host_init(struct gale_tcp_bind_host *future,
					 struct gale_tcp_listener *listener,
					 struct gale_runtime *runtime, const char *text,
					 int backlog);

/**
 * @return 0 (the listener is bound and listening); GALE_PENDING; a resolve error; or the
 *         last address's gale_tcp_listener_bind() error. Polling after completion is
 *         asserted. Cancel safety: yes (only the resolution can be in flight).
 */
GALE_EXTERN int gale_tcp_bind_host_poll(struct gale_tcp_bind_host *future, struct gale_cx *cx);

/** Cancels a resolution in flight. Idempotent; safe after completion. */
GALE_EXTERN void gale_tcp_bind_host_deinit(struct gale_tcp_bind_host *future);

GALE_END_DECLS

#endif /* GALE_NET_RESOLVE_H */
