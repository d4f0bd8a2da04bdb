/* SPDX-License-Identifier: MIT */
/*
 * kv_client: futures that talk to a kv_server (kv_protocol.h) over gale's public API.
 *
 *   struct kv_client client;                 // a connection
 *   kv_connect_init(&connect, &client, runtime, &addr);
 *   ... kv_connect_poll(&connect, cx) == 0 ...  // connected
 *   kv_put_init(&request, &client, "k", 1, "v", 1);
 *   ... kv_request_poll(&request, cx) == 0 ...  // request.status is the answer
 *
 * One request at a time per client. Like the server, it runs on any driver: the smoke
 * client (kv_cli.c) uses it on the native driver, the scenarios on the simulator.
 */
#ifndef KV_CLIENT_H
#define KV_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <gale/read_exact.h>
#include <gale/rt.h>
#include <gale/socket_addr.h>
#include <gale/tcp.h>
#include <gale/write_all.h>

#include "kv_protocol.h"

/* A connection to the server. Zero it; kv_connect fills it. */
struct kv_client {
	struct gale_tcp_stream stream; /* Open while connected. */
};

/** True while the client holds an open connection. */
bool kv_client_is_connected(const struct kv_client *client);

/** Closes the connection (a no-op when there is none). 0 or the close error. */
int kv_client_close(struct kv_client *client);

/* ---- connect ---------------------------------------------------------------------------- */

struct kv_connect {
	struct kv_client *client;        /* Borrowed; connected on success. */
	struct gale_tcp_connect connect; /* The TCP connect. */
};

/** Prepares a connect of client (not connected) to addr (borrowed until done or deinit). */
void kv_connect_init(struct kv_connect *future, struct kv_client *client,
		     struct gale_runtime *runtime, const struct gale_socket_addr *addr);

/**
 * @return 0 (client is connected), GALE_PENDING, or gale_tcp_connect_poll()'s errors
 *         (-ECONNREFUSED, ...). Cancel safety: yes (deinit closes an attempt in flight).
 */
int kv_connect_poll(struct kv_connect *future, struct gale_cx *cx);

/** Releases the attempt in flight, if any. Safe after completion; idempotent. */
void kv_connect_deinit(struct kv_connect *future);

/* ---- put / get / del -------------------------------------------------------------------- */

struct kv_request {
	struct kv_client *client;                    /* Borrowed until done. */
	int phase;                                   /* Send, header, value, done. */
	int error;                                   /* A bad argument, reported by poll. */
	uint8_t header[KV_REQUEST_HEADER_SIZE];      /* The request's header. */
	struct iovec iov[3];                         /* Header, key, value: one writev. */
	struct gale_write_all_vectored write;        /* Sends the request. */
	struct gale_read_exact read;                 /* The response's header, then value. */
	uint8_t response[KV_RESPONSE_HEADER_SIZE];   /* The response's header. */
	uint8_t *value_buf;                          /* GET: where the value goes (borrowed). */
	size_t value_cap;                            /* Its size. */
	/* Results, once kv_request_poll() returned 0: */
	int status;                                  /* enum kv_status. */
	size_t value_len;                            /* GET, KV_STATUS_OK: bytes in value_buf. */
};

/** PUT key = value. key (1..KV_KEY_MAX bytes) and value (0..KV_VALUE_MAX) are borrowed
 *  until the request completes. */
void kv_put_init(struct kv_request *request, struct kv_client *client, const void *key,
		 size_t key_len, const void *value, size_t value_len);

/** GET key into value_buf[0, value_cap) (borrowed until the request completes). */
void kv_get_init(struct kv_request *request, struct kv_client *client, const void *key,
		 size_t key_len, void *value_buf, size_t value_cap);

/** DEL key. */
void kv_del_init(struct kv_request *request, struct kv_client *client, const void *key,
		 size_t key_len);

/**
 * Sends the request with write_all and reads its response with read_exact.
 * @return 0 (status and value_len hold the answer); GALE_PENDING; -EINVAL (a key or
 *         value out of range: nothing sent); the connection's errors (-ECONNRESET,
 *         -EPIPE, GALE_E_UNEXPECTED_EOF, ...); -EPROTO (a response this request cannot
 *         get: unknown status, or a value where none belongs); -EMSGSIZE (the value is
 *         longer than value_cap). After any error the connection is out of step: close it.
 * Cancel safety: no. A request dropped half-way leaves the connection out of step.
 */
int kv_request_poll(struct kv_request *request, struct gale_cx *cx);

#endif /* KV_CLIENT_H */
