/* SPDX-License-Identifier: MIT */
/*
 * Scenario rpc: a length-prefixed request/response protocol. A frame is a 4-byte
 * big-endian length and that many payload bytes. 2..6 clients on host 10.0.4.2 each make
 * 1..20 requests (payloads of 0..1024 seeded bytes) to a server on host 10.0.4.1, one at a
 * time on a kept connection; the server answers each with a frame holding the payload
 * reversed followed by the payload's 4-byte big-endian FNV-1a hash. Every read is a
 * read_exact, every write a write_all. Clients connect by name ("rpc-server", the run's
 * resolver): a resolution that fails for an injected resolver fault is retried, and a dead
 * address answered first costs one failed attempt before the connect falls through.
 *
 * Timeouts: every request after the first on a connection runs under a 600 ms
 * gale_timeout (the first may wait behind the listener's accept back-off, which has no
 * useful bound). Without partitions a request takes at most ~120 ms even under "harsh",
 * so a timeout that fires is accepted only if a PARTITION fault was injected; the client
 * then drops the connection and repeats the request on a new one, as after a reset.
 *
 * The check is exact: every client verified all its responses (content and length, as
 * they arrived); connects and refusals agree with the simulator's counters (which count
 * an attempt to a dead address as refused on the simulator); attempts that failed before
 * the last are explained by RESOLVE_DEAD_ADDRESS faults; a broken
 * connection is explained by a RESET fault, a timeout by a PARTITION fault; and when no
 * request was repeated the server served exactly the requests the clients made.
 * Reproduce: gale replay --scenario rpc --seed N --verbose.
 */
#include <assert.h>
#include <string.h>

#include <gale/read_exact.h>
#include <gale/resolve.h>
#include <gale/socket_addr.h>
#include <gale/tcp.h>
#include <gale/time.h>
#include <gale/write_all.h>

#include "scenarios.h"

#define RPC_CLIENTS_MAX 6
#define RPC_REQUESTS_MAX 20
#define RPC_PAYLOAD_MAX 1024
#define RPC_FRAME_MAX (4 + RPC_PAYLOAD_MAX + 4)
#define RPC_SESSIONS_MAX 64
#define RPC_PORT 7400
#define RPC_SERVER_TEXT "rpc-server:7400" /* A name in the run's resolver. */
/* Five times the longest request measured over 20000 "harsh" seeds with PARTITION off
 * (120 ms: jitter and delayed readiness), and shorter than harsh's longest partition. */
#define RPC_TIMEOUT_NS (600 * 1000 * 1000LL)

enum rpc_phase {
	RPC_SEND = 0, /* write_all of the request frame. */
	RPC_HEADER,   /* read_exact of the response's length. */
	RPC_BODY,     /* read_exact of its body. */
};

struct rpc_state;

struct rpc_client {
	struct rpc_state *state;          /* Borrowed. */
	uint32_t index;                   /* Which client. */
	uint32_t requests_count;          /* K. */
	uint32_t requests_done;           /* Responses verified. */
	uint32_t requests_on_connection;  /* Of those, on the current connection. */
	bool is_connecting;               /* connect holds an attempt. */
	bool is_connected;                /* stream is open. */
	bool is_in_request;               /* A request is under way. */
	bool has_timeout;                 /* It runs under timeout. */
	bool is_done;                     /* Finished. */
	enum rpc_phase phase;             /* Where the request is. */
	size_t payload_len;               /* The request's payload length. */
	struct gale_tcp_connect_host connect; /* The connect future (by name). */
	struct gale_tcp_stream stream;    /* The connection. */
	struct gale_timeout timeout;      /* Wraps the request (see the file comment). */
	struct gale_write_all write;      /* Sends the request frame. */
	struct gale_read_exact read;      /* Receives the response. */
	uint64_t connects_count;          /* Connects that succeeded. */
	uint64_t refused_count;           /* Connects refused. */
	uint64_t unreachable_count;       /* Dead addresses tried. */
	uint64_t broken_count;            /* Requests cut short by a broken connection. */
	uint64_t timeouts_count;          /* Requests that timed out. */
	uint8_t request[RPC_FRAME_MAX];   /* The request frame. */
	uint8_t response[RPC_FRAME_MAX];  /* The response. */
};

struct rpc_session {
	struct rpc_state *state;          /* Borrowed. */
	bool is_in_use;                   /* A task runs on this slot. */
	enum rpc_phase phase;             /* RPC_HEADER, RPC_BODY, then RPC_SEND. */
	struct gale_tcp_stream stream;    /* The accepted connection. */
	struct gale_read_exact read;      /* The request's header, then its body. */
	struct gale_write_all write;      /* The response. */
	size_t payload_len;               /* The request's payload length. */
	uint8_t header[4];                /* The request's length. */
	uint8_t payload[RPC_PAYLOAD_MAX]; /* The request's payload. */
	uint8_t response[RPC_FRAME_MAX];  /* The response frame. */
};

struct rpc_state {
	struct gale_scenario_run *run;        /* Borrowed. */
	struct gale_socket_addr server_addr;  /* The server. */
	struct gale_tcp_listener listener;    /* Its listener. */
	struct gale_scenario_signal acceptor_signal;    /* Woken when the last client finishes. */
	uint32_t clients_count;               /* Clients. */
	uint32_t clients_done;                /* Finished clients. */
	uint64_t requests_served;             /* Responses the server wrote in full. */
	uint64_t sessions_dropped;            /* Accepted but closed: no task could run. */
	struct rpc_client clients[RPC_CLIENTS_MAX];    /* The clients. */
	struct rpc_session sessions[RPC_SESSIONS_MAX]; /* Server sessions (slots reused). */
};

static void rpc_u32_put(uint8_t *buf, uint32_t value)
{
	buf[0] = (uint8_t)(value >> 24);
	buf[1] = (uint8_t)(value >> 16);
	buf[2] = (uint8_t)(value >> 8);
	buf[3] = (uint8_t)value;
}

static uint32_t rpc_u32_get(const uint8_t *buf)
{
	return (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];
}

static uint32_t rpc_fnv1a(const uint8_t *buf, size_t len)
{
	uint32_t hash = 2166136261u;
	for (size_t i = 0; i < len; i++)
		hash = (hash ^ buf[i]) * 16777619u;
	return hash;
}

/* The response body to payload: the payload reversed, then its FNV-1a hash. */
static void rpc_transform(const uint8_t *payload, size_t len, uint8_t *body_out)
{
	for (size_t i = 0; i < len; i++)
		body_out[i] = payload[len - 1 - i];
	rpc_u32_put(body_out + len, rpc_fnv1a(payload, len));
}

/* ---- Server -------------------------------------------------------------------------- */

static int session_end(struct rpc_session *session, int rc)
{
	assert(session->is_in_use);
	assert(rc != GALE_PENDING);
	gale_tcp_stream_close(&session->stream);
	session->is_in_use = false;
	/* End of stream between requests is how a client says goodbye. */
	bool goodbye = rc == GALE_E_UNEXPECTED_EOF && session->phase == RPC_HEADER &&
		       session->read.len_filled == 0;
	return goodbye || gale_scenario_error_is_broken(rc) ? 0 : rc;
}

/* One step of a session: 0 to go on, GALE_PENDING, or how the session ends. */
static int session_step(struct rpc_session *session, struct gale_cx *cx)
{
	int rc = session->phase == RPC_SEND ? gale_write_all_poll(&session->write, cx)
					    : gale_read_exact_poll(&session->read, cx);
	if (rc != 0)
		return rc;
	struct gale_async_read reader = gale_tcp_stream_reader(&session->stream);
	if (session->phase == RPC_HEADER) {
		session->payload_len = rpc_u32_get(session->header);
		if (session->payload_len > RPC_PAYLOAD_MAX)
			return GALE_E_LIMIT; /* Not our protocol: a task failure. */
		gale_read_exact_init(&session->read, reader, session->payload,
				     session->payload_len);
		session->phase = RPC_BODY;
		return 0;
	}
	if (session->phase == RPC_BODY) {
		size_t len = session->payload_len;
		rpc_u32_put(session->response, (uint32_t)(len + 4));
		rpc_transform(session->payload, len, session->response + 4);
		gale_write_all_init(&session->write, gale_tcp_stream_writer(&session->stream),
				    session->response, 4 + len + 4);
		session->phase = RPC_SEND;
		return 0;
	}
	session->state->requests_served++;
	gale_read_exact_init(&session->read, reader, session->header, 4);
	session->phase = RPC_HEADER;
	return 0;
}

static int session_poll(void *data, struct gale_cx *cx)
{
	struct rpc_session *session = data;
	assert(session->is_in_use);
	for (;;) {
		int rc = session_step(session, cx);
		if (rc == GALE_PENDING)
			return rc;
		if (rc != 0)
			return session_end(session, rc);
	}
}

static struct rpc_session *session_free_slot(struct rpc_state *state)
{
	for (size_t i = 0; i < RPC_SESSIONS_MAX; i++) {
		if (!state->sessions[i].is_in_use)
			return &state->sessions[i];
	}
	return NULL;
}

static void session_start(struct rpc_state *state, struct rpc_session *session)
{
	assert(!session->is_in_use);
	assert(gale_tcp_stream_is_open(&session->stream));
	session->state = state;
	session->is_in_use = true;
	session->phase = RPC_HEADER;
	gale_read_exact_init(&session->read, gale_tcp_stream_reader(&session->stream),
			     session->header, 4);
	if (gale_scenario_spawn_retry(state->run, "rpc-session", session_poll, session, false,
				      NULL) == 0)
		return;
	state->sessions_dropped++;
	gale_tcp_stream_close(&session->stream);
	session->is_in_use = false;
}

static int acceptor_poll(void *data, struct gale_cx *cx)
{
	struct rpc_state *state = data;
	assert(state->clients_done <= state->clients_count);
	for (;;) {
		if (state->clients_done == state->clients_count)
			return gale_tcp_listener_close(&state->listener);
		gale_scenario_signal_wait(&state->acceptor_signal, cx);
		struct rpc_session *session = session_free_slot(state);
		if (session == NULL) {
			gale_scenario_fail(state->run, GALE_ORACLE_CHECK,
					   "rpc: more than %d sessions at once", RPC_SESSIONS_MAX);
			return gale_tcp_listener_close(&state->listener);
		}
		int rc = gale_tcp_listener_poll_accept(&state->listener, cx, &session->stream,
						       NULL);
		if (rc == GALE_PENDING)
			return rc;
		if (rc != 0) {
			gale_tcp_listener_close(&state->listener);
			return rc;
		}
		session_start(state, session);
	}
}

/* ---- Clients ------------------------------------------------------------------------- */

/* Checks a complete response against the request; false (after failing CHECK) if wrong. */
static bool client_response_verify(struct rpc_client *client)
{
	uint8_t expected[RPC_PAYLOAD_MAX + 4];
	size_t len = client->payload_len;
	assert(len <= RPC_PAYLOAD_MAX);
	rpc_transform(client->request + 4, len, expected);
	if (memcmp(client->response + 4, expected, len + 4) == 0)
		return true;
	gale_scenario_fail(client->state->run, GALE_ORACLE_CHECK,
			   "rpc: client %u request %u: the response body is wrong", client->index,
			   client->requests_done);
	return false;
}

/* The request's own future: send, read the length, read the body, verify. */
static int client_request_poll(void *data, struct gale_cx *cx)
{
	struct rpc_client *client = data;
	struct gale_async_read reader = gale_tcp_stream_reader(&client->stream);
	for (;;) {
		int rc = client->phase == RPC_SEND ? gale_write_all_poll(&client->write, cx)
						   : gale_read_exact_poll(&client->read, cx);
		if (rc != 0)
			return rc;
		if (client->phase == RPC_BODY)
			return client_response_verify(client) ? 0 : GALE_E_LIMIT;
		if (client->phase == RPC_HEADER) {
			uint32_t len = rpc_u32_get(client->response);
			if (len != client->payload_len + 4) {
				gale_scenario_fail(client->state->run, GALE_ORACLE_CHECK,
						   "rpc: client %u: response length %u, want %zu",
						   client->index, len, client->payload_len + 4);
				return GALE_E_LIMIT;
			}
			gale_read_exact_init(&client->read, reader, client->response + 4, len);
			client->phase = RPC_BODY;
			continue;
		}
		gale_read_exact_init(&client->read, reader, client->response, 4);
		client->phase = RPC_HEADER;
	}
}

/* Builds request number requests_done (a retry after a failure draws a new payload). */
static void client_request_start(struct rpc_client *client)
{
	struct gale_scenario_run *run = client->state->run;
	assert(client->is_connected && !client->is_in_request);
	client->payload_len = (size_t)gale_scenario_draw(run, 0, RPC_PAYLOAD_MAX);
	uint64_t seed = run->seed ^ ((uint64_t)client->index << 32) ^ client->requests_done;
	rpc_u32_put(client->request, (uint32_t)client->payload_len);
	gale_scenario_pattern_fill(seed, 0, client->request + 4, client->payload_len);
	gale_write_all_init(&client->write, gale_tcp_stream_writer(&client->stream),
			    client->request, 4 + client->payload_len);
	client->phase = RPC_SEND;
	client->is_in_request = true;
	client->has_timeout = client->requests_on_connection > 0;
	if (client->has_timeout)
		gale_timeout_init(&client->timeout, &run->runtime, RPC_TIMEOUT_NS,
				  client_request_poll, client);
}

static int client_connect(struct rpc_client *client, struct gale_cx *cx)
{
	assert(!client->is_connected);
	if (!client->is_connecting) {
		gale_tcp_connect_host_init(&client->connect, &client->state->run->runtime,
					   RPC_SERVER_TEXT);
		client->is_connecting = true;
	}
	int rc = gale_tcp_connect_host_poll(&client->connect, cx, &client->stream);
	if (rc == GALE_PENDING)
		return rc;
	/* Every attempt's outcome: refusals and dead addresses (RESOLVE_DEAD_ADDRESS). */
	size_t attempts = gale_tcp_connect_host_attempts(&client->connect);
	for (size_t i = 0; i < attempts; i++) {
		int attempt_rc = gale_tcp_connect_host_attempt_result(&client->connect, i);
		client->refused_count += attempt_rc == -ECONNREFUSED;
		client->unreachable_count += attempt_rc == -EHOSTUNREACH;
	}
	/* A dead address tried last (a shuffle put it there): the real one's error. */
	for (size_t i = attempts; rc == -EHOSTUNREACH && i > 1; i--)
		rc = gale_tcp_connect_host_attempt_result(&client->connect, i - 2);
	gale_tcp_connect_host_deinit(&client->connect);
	client->is_connecting = false;
	if (rc == -ECONNREFUSED)
		return 0;
	/* A resolution that failed for an injected resolver fault: resolve again. */
	if (rc >= GALE_E_RESOLVE_NOT_FOUND && rc <= GALE_E_RESOLVE_FAILED &&
	    gale_scenario_error_explained(client->state->run, rc))
		return 0;
	if (rc != 0)
		return rc;
	client->connects_count++;
	client->is_connected = true;
	client->requests_on_connection = 0;
	return 0;
}

/* Runs the current request; 0 once it completed or was given up (then retried). */
static int client_request(struct rpc_client *client, struct gale_cx *cx)
{
	if (!client->is_in_request)
		client_request_start(client);
	int rc = client->has_timeout ? gale_timeout_poll(&client->timeout, cx)
				     : client_request_poll(client, cx);
	if (rc == GALE_PENDING)
		return rc;
	if (client->has_timeout)
		gale_timeout_deinit(&client->timeout);
	client->is_in_request = false;
	if (rc == 0) {
		client->requests_done++;
		client->requests_on_connection++;
		return 0;
	}
	if (rc != GALE_E_TIMED_OUT && !gale_scenario_error_is_broken(rc))
		return rc;
	client->timeouts_count += rc == GALE_E_TIMED_OUT;
	client->broken_count += rc != GALE_E_TIMED_OUT;
	gale_tcp_stream_close(&client->stream); /* The next request goes on a new connection. */
	client->is_connected = false;
	return 0;
}

static int client_poll(void *data, struct gale_cx *cx)
{
	struct rpc_client *client = data;
	struct rpc_state *state = client->state;
	assert(!client->is_done);
	int rc = 0;
	while (rc == 0 && client->requests_done < client->requests_count)
		rc = client->is_connected ? client_request(client, cx) : client_connect(client, cx);
	if (rc == GALE_PENDING)
		return rc;
	if (gale_tcp_stream_is_open(&client->stream))
		gale_tcp_stream_close(&client->stream); /* The session reads a goodbye. */
	client->is_connected = false;
	client->is_done = true;
	state->clients_done++;
	if (state->clients_done == state->clients_count)
		gale_scenario_signal_wake(&state->acceptor_signal);
	return rc;
}

/* ---- Setup and check ----------------------------------------------------------------- */

static int rpc_setup(struct gale_scenario_run *run, void *data)
{
	struct rpc_state *state = data;
	state->run = run;
	state->clients_count = (uint32_t)gale_scenario_draw(run, 2, RPC_CLIENTS_MAX);
	/* The clients' host first: unbound sockets take the first host as their source. */
	int rc = gale_scenario_host(run, "10.0.4.2");
	if (rc == 0)
		rc = gale_scenario_listen(run, "10.0.4.1", RPC_PORT, 0, &state->listener,
					  &state->server_addr);
	if (rc == 0)
		rc = gale_scenario_name_add(run, "rpc-server", "10.0.4.1");
	if (rc == 0)
		rc = gale_scenario_spawn_retry(run, "rpc-acceptor", acceptor_poll, state, false,
					       NULL);
	for (uint32_t i = 0; i < state->clients_count && rc == 0; i++) {
		struct rpc_client *client = &state->clients[i];
		client->state = state;
		client->index = i;
		client->requests_count = (uint32_t)gale_scenario_draw(run, 1, RPC_REQUESTS_MAX);
		rc = gale_scenario_spawn_retry(run, "rpc-client", client_poll, client, false, NULL);
	}
	return rc;
}

static int rpc_check(struct gale_scenario_run *run, void *data)
{
	struct rpc_state *state = data;
	uint64_t connects = 0, refused = 0, broken = 0, timeouts = 0, requests = 0;
	uint64_t unreachable = 0;
	for (uint32_t i = 0; i < state->clients_count; i++) {
		const struct rpc_client *client = &state->clients[i];
		if (client->requests_done != client->requests_count)
			gale_scenario_fail(run, GALE_ORACLE_CHECK,
					   "rpc: client %u got %u of %u responses", i,
					   client->requests_done, client->requests_count);
		connects += client->connects_count;
		refused += client->refused_count;
		unreachable += client->unreachable_count;
		broken += client->broken_count;
		timeouts += client->timeouts_count;
		requests += client->requests_count;
	}
	struct gale_sim_stats stats = gale_scenario_stats(run);
	if (unreachable > gale_scenario_faults(run, GALE_FAULT_RESOLVE_DEAD_ADDRESS))
		gale_scenario_fail(run, GALE_ORACLE_CHECK,
				   "rpc: %llu connects reached no host, more than the dead "
				   "addresses answered",
				   (unsigned long long)unreachable);
	/* The simulator counts a connect to an address no host owns as refused. */
	if (gale_scenario_backend(run) == GALE_BACKEND_SIM)
		refused += unreachable;
	if (connects != stats.connections_count || refused != stats.connects_refused_count)
		gale_scenario_fail(run, GALE_ORACLE_CHECK,
				   "rpc: clients saw %llu connects and %llu refusals, the "
				   "simulator made %llu and refused %llu",
				   (unsigned long long)connects, (unsigned long long)refused,
				   (unsigned long long)stats.connections_count,
				   (unsigned long long)stats.connects_refused_count);
	if (timeouts > 0 && gale_scenario_faults(run, GALE_FAULT_PARTITION) == 0)
		gale_scenario_fail(run, GALE_ORACLE_CHECK,
				   "rpc: %llu requests timed out without a PARTITION fault",
				   (unsigned long long)timeouts);
	if (broken > 0 && gale_scenario_faults(run, GALE_FAULT_RESET) == 0 &&
	    state->sessions_dropped == 0)
		gale_scenario_fail(run, GALE_ORACLE_CHECK,
				   "rpc: %llu requests broke without a RESET fault",
				   (unsigned long long)broken);
	if (broken + timeouts == 0 && state->requests_served != requests)
		gale_scenario_fail(run, GALE_ORACLE_CHECK,
				   "rpc: the clients made %llu requests, the server served %llu",
				   (unsigned long long)requests,
				   (unsigned long long)state->requests_served);
	return 0;
}

static void rpc_teardown(struct gale_scenario_run *run, void *data)
{
	struct rpc_state *state = data;
	(void)run;
	/* After a failure tasks may have stopped with objects open; close what is. */
	if (gale_tcp_listener_fd(&state->listener) >= 0)
		gale_tcp_listener_close(&state->listener);
	for (size_t i = 0; i < RPC_CLIENTS_MAX; i++) {
		struct rpc_client *client = &state->clients[i];
		if (client->is_in_request && client->has_timeout)
			gale_timeout_deinit(&client->timeout);
		if (client->is_connecting)
			gale_tcp_connect_host_deinit(&client->connect);
		if (gale_tcp_stream_is_open(&client->stream))
			gale_tcp_stream_close(&client->stream);
	}
	for (size_t i = 0; i < RPC_SESSIONS_MAX; i++) {
		if (gale_tcp_stream_is_open(&state->sessions[i].stream))
			gale_tcp_stream_close(&state->sessions[i].stream);
	}
}

const struct gale_scenario scn_rpc = {
	.name = "rpc",
	.description = "length-prefixed request/response, 2..6 clients, timeouts under partitions",
	.state_size = sizeof(struct rpc_state),
	.setup = rpc_setup,
	.check = rpc_check,
	.teardown = rpc_teardown,
};
