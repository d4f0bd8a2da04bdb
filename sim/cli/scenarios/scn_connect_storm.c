/* SPDX-License-Identifier: MIT */
/*
 * Scenario connect_storm: 10..50 clients on host 10.0.0.2 connect within 2 ms, each exactly
 * once, to a listener on 10.0.0.1 with a small backlog (1..4), so that some are refused
 * for want of room (on the simulator: on a real kernel the backlog holds them all). A
 * fifth of them (by draw) aim at a port nobody listens on. The ones that connect then
 * either send a short message and close (FIN), close at once, or set SO_LINGER to 0 and
 * close (RST). The server accepts until every connection a client made
 * is accepted, and reads each one until end of stream or reset.
 *
 * Faults: every TCP fault (CONNECT_REFUSED adds refusals, ACCEPT_EMFILE makes the
 * listener back off, RESET may cut a message short). The check is exact: every client
 * either connected or was refused (-ECONNREFUSED, always for the dead port), and the
 * counts agree with the simulator's; every connection made was accepted exactly once
 * (matched by port); what each session read is exactly what its client did: the whole
 * message then end of stream, nothing then end of stream, or nothing then ECONNRESET (a
 * RESET fault may only shorten a message to a prefix).
 * Reproduce: gale replay --scenario connect_storm --seed N --verbose.
 */
#include <assert.h>
#include <string.h>

#include <gale/read_exact.h>
#include <gale/socket_addr.h>
#include <gale/tcp.h>
#include <gale/time.h>
#include <gale/write_all.h>

#include "scenarios.h"

#define STORM_CLIENTS_MIN 10
#define STORM_CLIENTS_MAX 50
#define STORM_MESSAGE_LEN_MAX 512
#define STORM_PORT 7100
#define STORM_DEAD_PORT 7101
/* Clients start within this window: a few round trips, so the backlog fills and drains. */
#define STORM_STAGGER_NS (2 * 1000 * 1000)

enum storm_kind {
	STORM_DEAD = 0,   /* Connects to the port nobody listens on. */
	STORM_SEND_CLOSE, /* Sends its message, then closes (FIN). */
	STORM_CLOSE,      /* Closes at once (FIN). */
	STORM_RESET,      /* SO_LINGER 0, then closes (RST). */
	STORM_KIND_COUNT,
};

static const char *const storm_kind_names[STORM_KIND_COUNT] = {"dead-port", "send-close",
							       "close", "reset"};

struct storm_state;

struct storm_client {
	struct storm_state *state;       /* Borrowed. */
	uint32_t index;                  /* Which client. */
	enum storm_kind kind;            /* What it does. */
	struct gale_task_handle handle;  /* Its task (the check reads its result). */
	struct gale_sleep start;         /* Staggers the storm: waits 0..STORM_STAGGER_NS. */
	bool is_started;                 /* start elapsed. */
	bool is_connecting;              /* connect holds an attempt. */
	bool is_connected;               /* The connect succeeded. */
	bool is_done;                    /* Finished. */
	int connect_rc;                  /* The connect's result. */
	int task_rc;                     /* What its task returned. */
	int write_rc;                    /* STORM_SEND_CLOSE: write_all's result. */
	uint16_t local_port;             /* Its port once connected (matches a session). */
	struct gale_tcp_connect connect; /* The connect future. */
	struct gale_tcp_stream stream;   /* The connection. */
	struct gale_write_all write;     /* STORM_SEND_CLOSE: its message. */
	size_t message_len;              /* Bytes of message. */
	uint8_t message[STORM_MESSAGE_LEN_MAX]; /* Its message. */
};

struct storm_session {
	struct storm_state *state;     /* Borrowed. */
	struct gale_tcp_stream stream; /* The accepted connection. */
	uint16_t peer_port;            /* The client's port. */
	bool is_done;                  /* Read to the end. */
	int end_rc;                    /* 0 (end of stream) or the read error. */
	size_t len_read;               /* Bytes read. */
	uint8_t buf[STORM_MESSAGE_LEN_MAX + 1]; /* What was read (one spare byte: excess). */
};

struct storm_state {
	struct gale_scenario_run *run;        /* Borrowed. */
	struct gale_socket_addr server_addr;  /* The listener's address. */
	struct gale_socket_addr dead_addr;    /* Nobody listens there. */
	struct gale_tcp_listener listener;    /* The server's. */
	struct gale_scenario_signal acceptor_signal;    /* Woken when a client finishes. */
	uint32_t clients_count;               /* Attempts. */
	uint32_t clients_done;                /* Finished clients. */
	uint32_t connected_count;             /* Clients whose connect succeeded. */
	uint32_t accepted_count;              /* Connections accepted (= sessions used). */
	struct storm_client clients[STORM_CLIENTS_MAX];   /* One attempt each. */
	struct storm_session sessions[STORM_CLIENTS_MAX]; /* One per accepted connection. */
};

/* ---- Server -------------------------------------------------------------------------- */

static int session_poll(void *data, struct gale_cx *cx)
{
	struct storm_session *session = data;
	assert(!session->is_done);
	for (;;) {
		struct gale_read_buf rb;
		gale_read_buf_init(&rb, session->buf + session->len_read,
				   sizeof(session->buf) - session->len_read);
		int rc = gale_tcp_stream_poll_read(&session->stream, cx, &rb);
		if (rc == GALE_PENDING)
			return rc;
		session->len_read += rb.len_filled;
		if (rc == 0 && rb.len_filled > 0 && session->len_read < sizeof(session->buf))
			continue;
		/* End of stream, an error, or more bytes than any client sends: stop here. */
		session->end_rc = rc;
		session->is_done = true;
		gale_tcp_stream_close(&session->stream);
		return gale_scenario_error_is_broken(rc) ? 0 : rc;
	}
}

static bool acceptor_is_finished(const struct storm_state *state)
{
	assert(state->clients_done <= state->clients_count);
	assert(state->accepted_count <= STORM_CLIENTS_MAX);
	return state->clients_done == state->clients_count &&
	       state->accepted_count >= state->connected_count;
}

static int acceptor_poll(void *data, struct gale_cx *cx)
{
	struct storm_state *state = data;
	for (;;) {
		if (acceptor_is_finished(state))
			return gale_tcp_listener_close(&state->listener);
		gale_scenario_signal_wait(&state->acceptor_signal, cx);
		if (state->accepted_count == STORM_CLIENTS_MAX) {
			gale_scenario_fail(state->run, GALE_ORACLE_CHECK,
					   "connect_storm: more connections accepted than clients");
			return gale_tcp_listener_close(&state->listener);
		}
		struct storm_session *session = &state->sessions[state->accepted_count];
		struct gale_socket_addr peer;
		int rc = gale_tcp_listener_poll_accept(&state->listener, cx, &session->stream,
						       &peer);
		if (rc == GALE_PENDING)
			return rc;
		if (rc != 0) {
			gale_tcp_listener_close(&state->listener);
			return rc;
		}
		state->accepted_count++;
		session->state = state;
		session->peer_port = gale_socket_addr_port(&peer);
		rc = gale_scenario_spawn_retry(state->run, "storm-session", session_poll, session,
					       false, NULL);
		if (rc != 0) {
			/* No task for it: the check then misses this session's reads. */
			gale_tcp_stream_close(&session->stream);
			gale_tcp_listener_close(&state->listener);
			return rc;
		}
	}
}

/* ---- Clients ------------------------------------------------------------------------- */

static void client_finish(struct storm_client *client)
{
	struct storm_state *state = client->state;
	assert(!client->is_done);
	if (gale_tcp_stream_is_open(&client->stream))
		gale_tcp_stream_close(&client->stream);
	client->is_done = true;
	state->clients_done++;
	gale_scenario_signal_wake(&state->acceptor_signal);
}

/* Connected: record the port the server will see, then act out the client's kind. */
static int client_connected(struct storm_client *client)
{
	struct gale_socket_addr local;
	int rc = gale_tcp_stream_local_addr(&client->stream, &local);
	assert(client->is_connected);
	if (rc != 0)
		return rc;
	client->local_port = gale_socket_addr_port(&local);
	if (client->kind == STORM_RESET)
		rc = gale_tcp_stream_linger_set(&client->stream, 0);
	if (client->kind == STORM_SEND_CLOSE)
		gale_write_all_init(&client->write, gale_tcp_stream_writer(&client->stream),
				    client->message, client->message_len);
	return rc;
}

static int client_connect(struct storm_client *client, struct gale_cx *cx)
{
	struct storm_state *state = client->state;
	assert(!client->is_connected);
	if (!client->is_connecting) {
		const struct gale_socket_addr *addr =
			client->kind == STORM_DEAD ? &state->dead_addr : &state->server_addr;
		gale_tcp_connect_init(&client->connect, &state->run->runtime, addr, 1);
		client->is_connecting = true;
	}
	int rc = gale_tcp_connect_poll(&client->connect, cx, &client->stream);
	if (rc == GALE_PENDING)
		return rc;
	gale_tcp_connect_deinit(&client->connect);
	client->is_connecting = false;
	client->connect_rc = rc;
	if (rc != 0)
		return rc;
	client->is_connected = true;
	state->connected_count++;
	return client_connected(client);
}

static int client_poll(void *data, struct gale_cx *cx)
{
	struct storm_client *client = data;
	assert(!client->is_done);
	int rc = 0;
	if (!client->is_started) {
		rc = gale_sleep_poll(&client->start, cx);
		if (rc != 0)
			return rc;
		gale_sleep_deinit(&client->start);
		client->is_started = true;
	}
	if (!client->is_connected)
		rc = client_connect(client, cx);
	if (rc == 0 && client->kind == STORM_SEND_CLOSE) {
		rc = gale_write_all_poll(&client->write, cx);
		if (rc != GALE_PENDING)
			client->write_rc = rc;
		if (gale_scenario_error_is_broken(rc))
			rc = 0; /* A reset cut the message short; the session shows how short. */
	}
	if (rc == GALE_PENDING)
		return rc;
	client_finish(client);
	client->task_rc = rc;
	return rc;
}

/* ---- Setup --------------------------------------------------------------------------- */

static void storm_client_init(struct storm_state *state, uint32_t index)
{
	static const uint32_t kind_weights[STORM_KIND_COUNT] = {2, 3, 3, 2};
	struct gale_scenario_run *run = state->run;
	struct storm_client *client = &state->clients[index];
	client->state = state;
	client->index = index;
	client->kind = gale_entropy_pick(&run->entropy, kind_weights,
					 STORM_KIND_COUNT);
	assert(client->kind < STORM_KIND_COUNT);
	int64_t stagger_ns = (int64_t)gale_scenario_draw(run, 0, STORM_STAGGER_NS);
	gale_sleep_init(&client->start, &run->runtime, stagger_ns);
	if (client->kind != STORM_SEND_CLOSE)
		return;
	client->message_len = (size_t)gale_scenario_draw(run, 1, STORM_MESSAGE_LEN_MAX);
	gale_scenario_pattern_fill(run->seed ^ index, 0, client->message, client->message_len);
	assert(client->message_len <= sizeof(client->message));
}

static int storm_setup(struct gale_scenario_run *run, void *data)
{
	struct storm_state *state = data;
	state->run = run;
	state->clients_count = (uint32_t)gale_scenario_draw(run, STORM_CLIENTS_MIN,
							    STORM_CLIENTS_MAX);
	int backlog = (int)gale_scenario_draw(run, 1, 4);
	/* A kernel does not refuse past its backlog: it drops the handshake and the client
	 * retries a second later. On a real backend the storm gets room for every client. */
	if (gale_scenario_backend(run) != GALE_BACKEND_SIM)
		backlog = STORM_CLIENTS_MAX;
	/* The clients' host first: unbound sockets take the first host as their source. */
	int rc = gale_scenario_host(run, "10.0.0.2");
	if (rc == 0)
		rc = gale_scenario_listen(run, "10.0.0.1", STORM_PORT, backlog, &state->listener,
					  &state->server_addr);
	if (rc == 0)
		rc = gale_socket_addr_from_ip("10.0.0.1", STORM_DEAD_PORT, &state->dead_addr);
	if (rc == 0)
		rc = gale_scenario_spawn_retry(run, "storm-acceptor", acceptor_poll, state, false,
					       NULL);
	for (uint32_t i = 0; i < state->clients_count && rc == 0; i++) {
		storm_client_init(state, i);
		/* Refusals are part of the storm: the check judges every client's result. */
		rc = gale_scenario_spawn_retry(run, storm_kind_names[state->clients[i].kind],
					       client_poll,
			       &state->clients[i], true, &state->clients[i].handle);
	}
	return rc;
}

/* ---- Check --------------------------------------------------------------------------- */

static const struct storm_session *storm_session_find(const struct storm_state *state,
						      uint16_t port)
{
	const struct storm_session *found = NULL;
	for (uint32_t i = 0; i < state->accepted_count; i++) {
		if (state->sessions[i].peer_port != port)
			continue;
		if (found != NULL)
			return NULL; /* Two sessions for one connection: as bad as none. */
		found = &state->sessions[i];
	}
	return found;
}

/* What the session of a connected client must have read; NULL when it did. */
static const char *storm_session_judge(const struct storm_state *state,
				       const struct storm_client *client,
				       const struct storm_session *session)
{
	bool resets = gale_scenario_faults(state->run, GALE_FAULT_RESET) > 0;
	assert(client->is_connected);
	if (session == NULL)
		return "no session (or two) has its port";
	if (!session->is_done)
		return "its session did not finish";
	/* The fault driver can reset a connection that carries no data (the sim resets
	 * only on a data segment): ECONNRESET then stands for the end of stream. */
	bool end_ok = session->end_rc == 0 || (resets && session->end_rc == -ECONNRESET);
	if (client->kind == STORM_CLOSE && (session->len_read != 0 || !end_ok))
		return "a plain close must read as end of stream, nothing before";
	if (client->kind == STORM_RESET && (session->len_read != 0 ||
					    session->end_rc != -ECONNRESET))
		return "a close with SO_LINGER 0 must read as ECONNRESET, nothing before";
	if (client->kind != STORM_SEND_CLOSE)
		return NULL;
	if (session->len_read > client->message_len ||
	    memcmp(session->buf, client->message, session->len_read) != 0)
		return "the session read bytes its client did not send";
	bool whole = session->len_read == client->message_len && session->end_rc == 0 &&
		     client->write_rc == 0;
	if (!whole && !(resets && session->end_rc == -ECONNRESET))
		return "the message was cut short without a RESET fault";
	return NULL;
}

/* The client's own outcome, and its task's result, against what its kind allows. */
static const char *storm_client_judge(const struct storm_state *state,
				      const struct storm_client *client)
{
	int result = 1;
	assert(client->is_done);
	/* The runner's record of the result, when it still has it, must be what was returned. */
	int rc = gale_scenario_task_result(state->run, client->handle, &result);
	if (rc == 0 && result != client->task_rc)
		return "the runner reports another result than its task returned";
	if (rc != 0 && rc != -ESRCH)
		return "its task was not joined";
	result = client->task_rc;
	if (client->kind == STORM_DEAD && client->connect_rc != -ECONNREFUSED)
		return "a connect to a port nobody listens on must be refused";
	if (client->connect_rc != 0 && client->connect_rc != -ECONNREFUSED)
		return "the connect failed otherwise than ECONNREFUSED";
	if (result != client->connect_rc)
		return "its task's result differs from its connect's";
	if (!client->is_connected)
		return NULL;
	return storm_session_judge(state, client, storm_session_find(state, client->local_port));
}

static int storm_check(struct gale_scenario_run *run, void *data)
{
	struct storm_state *state = data;
	uint32_t refused = 0;
	for (uint32_t i = 0; i < state->clients_count; i++) {
		const struct storm_client *client = &state->clients[i];
		refused += client->connect_rc == -ECONNREFUSED;
		const char *why = storm_client_judge(state, client);
		if (why != NULL)
			gale_scenario_fail(run, GALE_ORACLE_CHECK,
					   "connect_storm: client %u (%s, port %u): %s", i,
					   storm_kind_names[client->kind], client->local_port, why);
	}
	struct gale_sim_stats stats = gale_scenario_stats(run);
	if (state->connected_count + refused != state->clients_count ||
	    state->accepted_count != state->connected_count ||
	    stats.connections_count != state->connected_count ||
	    stats.connects_refused_count != refused)
		gale_scenario_fail(run, GALE_ORACLE_CHECK,
				   "connect_storm: %u attempts: %u connected + %u refused, %u "
				   "accepted; the simulator made %llu and refused %llu",
				   state->clients_count, state->connected_count, refused,
				   state->accepted_count,
				   (unsigned long long)stats.connections_count,
				   (unsigned long long)stats.connects_refused_count);
	return 0;
}

static void storm_teardown(struct gale_scenario_run *run, void *data)
{
	struct storm_state *state = data;
	(void)run;
	/* After a failure tasks may have stopped with objects open; close what is. */
	if (gale_tcp_listener_fd(&state->listener) >= 0)
		gale_tcp_listener_close(&state->listener);
	for (size_t i = 0; i < STORM_CLIENTS_MAX; i++) {
		gale_sleep_deinit(&state->clients[i].start);
		if (state->clients[i].is_connecting)
			gale_tcp_connect_deinit(&state->clients[i].connect);
		if (gale_tcp_stream_is_open(&state->clients[i].stream))
			gale_tcp_stream_close(&state->clients[i].stream);
		if (gale_tcp_stream_is_open(&state->sessions[i].stream))
			gale_tcp_stream_close(&state->sessions[i].stream);
	}
}

const struct gale_scenario scn_connect_storm = {
	.name = "connect_storm",
	.description = "10..50 one-shot connects: backlog and dead-port refusals, FIN and RST",
	.state_size = sizeof(struct storm_state),
	.setup = storm_setup,
	.check = storm_check,
	.teardown = storm_teardown,
};
