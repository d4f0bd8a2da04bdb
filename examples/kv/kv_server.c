/* SPDX-License-Identifier: MIT */
/*
 * The kv service (kv_server.h): acceptor, sessions and the store. Public gale API only.
 *
 * Sections: the store (a chained hash table whose entries come from the server's
 * allocator), sessions (one task per connection: read a request, apply it, write the
 * response), the acceptor, and init / shutdown / deinit.
 *
 * The planted bug (KV_PLANTED_BUG=1) replaces session_read_request() with a version that
 * makes ONE read call per request and parses whatever it got, as if TCP delivered the
 * client's writes as messages. It works on loopback almost always; a short read or a
 * request that arrives in two segments breaks the framing.
 */
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <gale/error.h>
#include <gale/read_exact.h>
#include <gale/write_all.h>

#include "kv_protocol.h"
#include "kv_server.h"

#ifndef KV_PLANTED_BUG
#define KV_PLANTED_BUG 0
#endif

/* ---- The store --------------------------------------------------------------------------- */

struct kv_entry {
	struct kv_entry *next; /* Next in the bucket. */
	size_t size;           /* Bytes allocated (the allocator wants them back). */
	uint8_t key_len;       /* Key bytes at data[0]. */
	uint16_t value_len;    /* Value bytes at data[key_len]. */
	uint8_t data[];        /* Key, then value. */
};

static uint32_t kv_hash(const uint8_t *key, size_t len)
{
	uint32_t hash = 2166136261u;
	for (size_t i = 0; i < len; i++)
		hash = (hash ^ key[i]) * 16777619u;
	return hash;
}

/* The link that points at key's entry, or at the NULL ending its bucket. */
static struct kv_entry **store_find(struct kv_server *server, const uint8_t *key, size_t key_len)
{
	struct kv_entry **link = &server->buckets[kv_hash(key, key_len) % KV_SERVER_BUCKETS];
	while (*link != NULL &&
	       ((*link)->key_len != key_len || memcmp((*link)->data, key, key_len) != 0))
		link = &(*link)->next;
	return link;
}

/* The entry of key, or NULL. */
static const struct kv_entry *store_get(const struct kv_server *server, const uint8_t *key,
					size_t key_len)
{
	const struct kv_entry *entry = server->buckets[kv_hash(key, key_len) % KV_SERVER_BUCKETS];
	while (entry != NULL &&
	       (entry->key_len != key_len || memcmp(entry->data, key, key_len) != 0))
		entry = entry->next;
	return entry;
}

static void entry_free(struct kv_server *server, struct kv_entry *entry)
{
	const struct gale_allocator *allocator = server->allocator;
	allocator->free(allocator->data, entry, entry->size);
}

/* Stores key = value, replacing an older value. KV_STATUS_NO_MEMORY leaves the store as
 * it was. */
static int store_put(struct kv_server *server, const uint8_t *key, size_t key_len,
		     const uint8_t *value, size_t value_len)
{
	const struct gale_allocator *allocator = server->allocator;
	size_t size = sizeof(struct kv_entry) + key_len + value_len;
	struct kv_entry *entry = allocator->alloc(allocator->data, size);
	if (entry == NULL)
		return KV_STATUS_NO_MEMORY;
	entry->size = size;
	entry->key_len = (uint8_t)key_len;
	entry->value_len = (uint16_t)value_len;
	memcpy(entry->data, key, key_len);
	if (value_len > 0)
		memcpy(entry->data + key_len, value, value_len);
	struct kv_entry **link = store_find(server, key, key_len);
	struct kv_entry *old = *link;
	entry->next = old != NULL ? old->next : NULL;
	*link = entry;
	if (old != NULL)
		entry_free(server, old);
	else
		server->entries_count++;
	return KV_STATUS_OK;
}

static int store_del(struct kv_server *server, const uint8_t *key, size_t key_len)
{
	struct kv_entry **link = store_find(server, key, key_len);
	struct kv_entry *entry = *link;
	if (entry == NULL)
		return KV_STATUS_NOT_FOUND;
	*link = entry->next;
	entry_free(server, entry);
	server->entries_count--;
	return KV_STATUS_OK;
}

int kv_server_lookup(const struct kv_server *server, const void *key, size_t key_len,
		     const uint8_t **value_out, size_t *len_out)
{
	const struct kv_entry *entry = store_get(server, key, key_len);
	if (entry == NULL)
		return -ENOENT;
	*value_out = entry->data + entry->key_len;
	*len_out = entry->value_len;
	return 0;
}

/* ---- Sessions ---------------------------------------------------------------------------- */

struct kv_session {
	struct kv_server *server;          /* Borrowed. */
	struct kv_session *prev;           /* In server->sessions. */
	struct kv_session *next;           /* Same list. */
	struct gale_tcp_stream stream;     /* The connection (owned). */
	struct gale_socket_addr peer;      /* The client's address (for the log). */
	bool is_responding;                /* write holds the response being written. */
	bool is_reading_body;              /* read holds the request's key and value. */
	struct gale_read_exact read;       /* The request's header, then its body. */
	struct gale_write_all write;       /* The response. */
	uint64_t requests_count;           /* Responses written in full. */
	uint8_t request[KV_REQUEST_MAX];   /* The request being read. */
	uint8_t response[KV_RESPONSE_MAX]; /* The response being written. */
};

static struct kv_session *session_alloc(struct kv_server *server)
{
	const struct gale_allocator *allocator = server->allocator;
	struct kv_session *session = allocator->alloc(allocator->data, sizeof(*session));
	if (session != NULL)
		memset(session, 0, sizeof(*session)); /* Deterministic bytes, even where unused. */
	return session;
}

/* Closes the session's connection and frees it (its task is over or aborted). */
static void session_free(struct kv_server *server, struct kv_session *session)
{
	if (session->prev != NULL)
		session->prev->next = session->next;
	else if (server->sessions == session)
		server->sessions = session->next;
	if (session->next != NULL)
		session->next->prev = session->prev;
	if (gale_tcp_stream_is_open(&session->stream))
		(void)gale_tcp_stream_close(&session->stream);
	const struct gale_allocator *allocator = server->allocator;
	allocator->free(allocator->data, session, sizeof(*session));
}

/* Prepares the read of the next request's header. */
static void session_read_init(struct kv_session *session)
{
	session->is_reading_body = false;
	gale_read_exact_init(&session->read, gale_tcp_stream_reader(&session->stream),
			     session->request, KV_REQUEST_HEADER_SIZE);
}

#if !KV_PLANTED_BUG
/*
 * Reads one request into session->request: the 4-byte header with read_exact, then
 * exactly the key and value bytes it announces with read_exact. TCP is a byte stream: a
 * request may arrive in any number of pieces, and read_exact keeps the cursor.
 * Returns 0 (a whole request is in session->request), GALE_PENDING, or the reader's
 * error (GALE_E_UNEXPECTED_EOF when the client left).
 */
static int session_read_request(struct kv_session *session, struct gale_cx *cx)
{
	for (;;) {
		int rc = gale_read_exact_poll(&session->read, cx);
		if (rc != 0)
			return rc;
		if (session->is_reading_body)
			return 0;
		size_t body_len = (size_t)session->request[1] + kv_u16_get(session->request + 2);
		gale_read_exact_init(&session->read, gale_tcp_stream_reader(&session->stream),
				     session->request + KV_REQUEST_HEADER_SIZE, body_len);
		session->is_reading_body = true;
	}
}
#else
/*
 * PLANTED BUG: one read call per request, into the whole buffer, and whatever it returned
 * is taken to be the request: "the client writes each request with one write, so one read
 * gets all of it". TCP promises no such thing: a short read, or a request that arrived in
 * two segments, leaves the header or the body incomplete (the rest of the buffer holds
 * the previous request's bytes), and the rest of the request is parsed as the next one.
 */
static int session_read_request(struct kv_session *session, struct gale_cx *cx)
{
	struct gale_read_buf rb;
	gale_read_buf_init(&rb, session->request, sizeof(session->request));
	int rc = gale_async_read_poll(gale_tcp_stream_reader(&session->stream), cx, &rb);
	if (rc != 0)
		return rc;
	return rb.len_filled == 0 ? GALE_E_UNEXPECTED_EOF : 0;
}
#endif /* KV_PLANTED_BUG */

/* Applies session->request to the store; returns the status and sets *value_len_out. */
static int session_apply(struct kv_session *session, size_t *value_len_out)
{
	struct kv_server *server = session->server;
	const uint8_t *request = session->request;
	size_t key_len = request[1];
	size_t value_len = kv_u16_get(request + 2);
	const uint8_t *key = request + KV_REQUEST_HEADER_SIZE;
	*value_len_out = 0;
	bool has_value = value_len > 0;
	if (key_len == 0 || (request[0] != KV_OP_PUT && has_value))
		return KV_STATUS_BAD_REQUEST;
	switch (request[0]) {
	case KV_OP_PUT:
		return store_put(server, key, key_len, key + key_len, value_len);
	case KV_OP_GET: {
		const struct kv_entry *entry = store_get(server, key, key_len);
		if (entry == NULL)
			return KV_STATUS_NOT_FOUND;
		/* A copy: another session may replace the entry while this response is sent. */
		memcpy(session->response + KV_RESPONSE_HEADER_SIZE, entry->data + entry->key_len,
		       entry->value_len);
		*value_len_out = entry->value_len;
		return KV_STATUS_OK;
	}
	case KV_OP_DEL:
		return store_del(server, key, key_len);
	default:
		return KV_STATUS_BAD_REQUEST;
	}
}

/* Applies the request just read and prepares its response. */
static void session_respond(struct kv_session *session)
{
	size_t value_len;
	int status = session_apply(session, &value_len);
	session->server->stats.bad_requests_count += status == KV_STATUS_BAD_REQUEST;
	session->server->stats.no_memory_count += status == KV_STATUS_NO_MEMORY;
	session->response[0] = (uint8_t)status;
	kv_u16_put(session->response + 1, (uint16_t)value_len);
	gale_write_all_init(&session->write, gale_tcp_stream_writer(&session->stream),
			    session->response, KV_RESPONSE_HEADER_SIZE + value_len);
	session->is_responding = true;
}

/* A connection that broke, or a client that left, ends a session normally. */
static bool session_error_is_normal(int rc)
{
	return rc == GALE_E_UNEXPECTED_EOF || rc == -ECONNRESET || rc == -EPIPE ||
	       rc == -ENOTCONN;
}

static int session_end(struct kv_session *session, int rc)
{
	struct kv_server *server = session->server;
	int result = session_error_is_normal(rc) ? 0 : rc;
	server->stats.sessions_failed += result != 0;
	if (server->options.log != NULL) {
		char text[GALE_SOCKET_ADDR_TEXT_MAX];
		if (gale_socket_addr_format(&session->peer, text, sizeof(text)) < 0)
			strcpy(text, "?");
		bool goodbye = rc == GALE_E_UNEXPECTED_EOF && !session->is_reading_body &&
			       session->read.len_filled == 0;
		fprintf(server->options.log, "%s: %llu requests%s%s\n", text,
			(unsigned long long)session->requests_count, goodbye ? "" : ", then ",
			goodbye ? "" : gale_error_name(rc));
	}
	/* The task's data is freed here: the executor never touches it after this poll. */
	session_free(server, session);
	return result;
}

static int session_poll(void *data, struct gale_cx *cx)
{
	struct kv_session *session = data;
	assert(session->server != NULL);
	for (;;) {
		int rc;
		if (session->is_responding) {
			rc = gale_write_all_poll(&session->write, cx);
			if (rc == 0) {
				session->is_responding = false;
				session->requests_count++;
				session->server->stats.requests_count++;
				session_read_init(session);
				continue;
			}
		} else {
			rc = session_read_request(session, cx);
			if (rc == 0) {
				session_respond(session);
				continue;
			}
		}
		return rc == GALE_PENDING ? rc : session_end(session, rc);
	}
}

static int server_spawn(struct kv_server *server, const char *name, gale_poll_fn *poll,
			void *data)
{
	if (server->options.spawn != NULL)
		return server->options.spawn(server->options.spawn_data, name, poll, data);
	struct gale_executor *executor = &server->options.runtime->executor;
	struct gale_task_handle handle;
	int rc = gale_executor_spawn(executor, poll, data, &handle);
	return rc != 0 ? rc : gale_executor_detach(executor, handle);
}

/* Starts the task of the connection just accepted into server->next. */
static void session_start(struct kv_server *server)
{
	struct kv_session *session = server->next;
	server->next = NULL;
	session->server = server;
	session->next = server->sessions;
	if (server->sessions != NULL)
		server->sessions->prev = session;
	server->sessions = session;
	session_read_init(session);
	if (server_spawn(server, "kv-session", session_poll, session) == 0) {
		server->stats.sessions_started++;
		return;
	}
	server->stats.sessions_dropped++; /* No task: the client sees its connection close. */
	session_free(server, session);
}

/* ---- The acceptor ------------------------------------------------------------------------ */

/* One accept: 0 to go on, GALE_PENDING, or the listener's error; *stop_out when done. */
static int acceptor_step(struct kv_server *server, struct gale_cx *cx, bool *stop_out)
{
	*stop_out = gale_tcp_listener_fd(&server->listener) < 0 ||
		    (server->options.max_clients != 0 &&
		     server->stats.clients_count == server->options.max_clients);
	if (*stop_out)
		return 0;
	if (server->next == NULL)
		server->next = session_alloc(server);
	/* Out of memory: accept anyway and close at once, so the client is not left waiting. */
	struct kv_session *session = server->next;
	int rc = gale_tcp_listener_poll_accept(&server->listener, cx,
					       session != NULL ? &session->stream : &server->shed,
					       session != NULL ? &session->peer : NULL);
	if (rc == -ENOSPC) {
		/* The explicit registrations_max was reached: the listener closed that
		 * connection. Counted and logged, never silent. */
		server->stats.refused_count++;
		if (server->options.log != NULL)
			fprintf(server->options.log, "kv: connection refused: registrations_max "
				"reached (%llu so far)\n",
				(unsigned long long)server->stats.refused_count);
		return 0;
	}
	*stop_out = rc == GALE_E_CLOSED; /* kv_server_shutdown(). */
	if (rc != 0)
		return *stop_out ? 0 : rc;
	server->stats.clients_count++;
	if (session != NULL) {
		session_start(server);
		return 0;
	}
	server->stats.sessions_dropped++;
	(void)gale_tcp_stream_close(&server->shed);
	return 0;
}

int kv_server_acceptor_poll(void *data, struct gale_cx *cx)
{
	struct kv_server *server = data;
	bool stop = false;
	int rc;
	do
		rc = acceptor_step(server, cx, &stop);
	while (rc == 0 && !stop);
	if (rc == GALE_PENDING)
		return rc;
	kv_server_shutdown(server);
	return rc;
}

/* ---- Init, shutdown, deinit -------------------------------------------------------------- */

int kv_server_init(struct kv_server *server, const struct kv_server_options *options)
{
	memset(server, 0, sizeof(*server));
	if (options == NULL || options->runtime == NULL || options->addr == NULL)
		return -EINVAL;
	server->options = *options;
	server->allocator = gale_runtime_allocator(options->runtime);
	return gale_tcp_listener_bind(&server->listener, options->runtime, options->addr, 0);
}

void kv_server_shutdown(struct kv_server *server)
{
	if (gale_tcp_listener_fd(&server->listener) >= 0)
		(void)gale_tcp_listener_close(&server->listener);
	if (server->next != NULL) {
		const struct gale_allocator *allocator = server->allocator;
		allocator->free(allocator->data, server->next, sizeof(*server->next));
		server->next = NULL;
	}
}

int kv_server_local_addr(const struct kv_server *server, struct gale_socket_addr *addr_out)
{
	return gale_tcp_listener_local_addr(&server->listener, addr_out);
}

void kv_server_deinit(struct kv_server *server)
{
	if (server->allocator == NULL)
		return; /* Zeroed, or init failed before the allocator was set. */
	kv_server_shutdown(server);
	if (gale_tcp_stream_is_open(&server->shed))
		(void)gale_tcp_stream_close(&server->shed);
	while (server->sessions != NULL)
		session_free(server, server->sessions);
	for (size_t i = 0; i < KV_SERVER_BUCKETS; i++) {
		while (server->buckets[i] != NULL) {
			struct kv_entry *entry = server->buckets[i];
			server->buckets[i] = entry->next;
			entry_free(server, entry);
		}
	}
	server->entries_count = 0;
}
