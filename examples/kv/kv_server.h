/* SPDX-License-Identifier: MIT */
/*
 * kv_server: a TCP key-value service written only against gale's public API (kv_protocol.h
 * has the wire format). An acceptor task accepts connections and spawns one task per
 * connection; each task reads a request, applies it to an in-memory store, writes the
 * response, and repeats until the client leaves.
 *
 * The service never names a driver: it runs on whatever runtime it is given. The same
 * code serves real sockets in kv_server_main.c (the native driver) and simulated ones in
 * kv_scenarios.c, where every oracle watches it under injected faults.
 *
 * Build with -DKV_PLANTED_BUG=1 for the variant with a deliberate bug (see kv_server.c):
 * the one the simulator is expected to find.
 */
#ifndef KV_SERVER_H
#define KV_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <gale/alloc.h>
#include <gale/rt.h>
#include <gale/socket_addr.h>
#include <gale/tcp.h>

#define KV_SERVER_BUCKETS 64

struct kv_entry;
struct kv_session;

/*
 * Spawns one task of the server (the acceptor spawns its sessions through it). name is
 * static. Returns 0 or a negative code (-ENOMEM); on failure the server closes that
 * connection and goes on.
 */
typedef int kv_spawn_fn(void *spawn_data, const char *name, gale_poll_fn *poll, void *data);

struct kv_server_options {
	struct gale_runtime *runtime;           /* REQUIRED; borrowed until deinit. */
	const struct gale_socket_addr *addr;    /* REQUIRED: where to listen (port 0: any). */
	uint64_t max_clients;                   /* Stop accepting after this many; 0: never. */
	kv_spawn_fn *spawn;                     /* NULL: gale_executor_spawn, then detach. */
	void *spawn_data;                       /* Passed to spawn. */
	FILE *log;                              /* One line per finished client; NULL: none. */
};

struct kv_server_stats {
	uint64_t clients_count;      /* Connections accepted. */
	uint64_t sessions_started;   /* Of those, served by a task. */
	uint64_t sessions_dropped;   /* Of those, closed at once: no memory or no task. */
	uint64_t sessions_failed;    /* Sessions that ended with an unexpected error. */
	uint64_t requests_count;     /* Responses written in full. */
	uint64_t bad_requests_count; /* Of those, KV_STATUS_BAD_REQUEST. */
	uint64_t no_memory_count;    /* Of those, KV_STATUS_NO_MEMORY. */
	uint64_t refused_count;      /* Connections refused at an explicit registrations_max
				      * (the reactor grows otherwise); logged. */
};

struct kv_server {
	struct kv_server_options options;          /* As given to init. */
	const struct gale_allocator *allocator;    /* The runtime's: sessions and entries
						    * (on the simulator, the leak-checked one). */
	struct gale_tcp_listener listener;         /* Owned; closed by shutdown or the acceptor. */
	struct gale_tcp_stream shed;               /* Accepts a connection no session can take. */
	struct kv_session *next;                   /* Allocated ahead for the next accept. */
	struct kv_session *sessions;               /* Live sessions (a list). */
	struct kv_entry *buckets[KV_SERVER_BUCKETS]; /* The store: chained hash table. */
	uint64_t entries_count;                    /* Keys stored. */
	struct kv_server_stats stats;              /* Counters. */
};

/**
 * Binds the listener. Spawn kv_server_acceptor_poll with the server to serve.
 * @return 0, -EINVAL (no runtime or address), or gale_tcp_listener_bind()'s errors.
 */
int kv_server_init(struct kv_server *server, const struct kv_server_options *options);

/** The acceptor task (data: the server). Returns 0 once it stopped accepting (max_clients
 *  reached, or kv_server_shutdown()), or the listener's error. Sessions outlive it. */
int kv_server_acceptor_poll(void *data, struct gale_cx *cx);

/** Stops accepting: closes the listener (the acceptor then returns 0). Sessions go on
 *  until their clients leave. Safe to call more than once. */
void kv_server_shutdown(struct kv_server *server);

/** The address listened on (the real port after port 0). 0 or a negative code. */
int kv_server_local_addr(const struct kv_server *server, struct gale_socket_addr *addr_out);

/** Looks a key up in the store (for checks and tests). 0 with *value_out (borrowed until
 *  the next change) and *len_out set, or -ENOENT. */
int kv_server_lookup(const struct kv_server *server, const void *key, size_t key_len,
		     const uint8_t **value_out, size_t *len_out);

/**
 * Releases everything: closes the listener and every session's connection, frees the
 * sessions and the store. Call it when no task of the server can run again (all finished,
 * or aborted). Idempotent on a zeroed server.
 */
void kv_server_deinit(struct kv_server *server);

#endif /* KV_SERVER_H */
