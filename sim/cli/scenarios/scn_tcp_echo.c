/* SPDX-License-Identifier: MIT */
/*
 * Scenario tcp_echo: N clients (2..8) on host 10.0.0.2 each send M messages (1..16, each
 * 1..2048 bytes of a seeded pattern) to an echo server on host 10.0.0.1, with write_all,
 * read each echo back with read_exact and compare it byte for byte, then half-close and
 * expect the server's end of stream. The server accepts in one task and echoes every
 * connection in its own task with gale_copy until end of stream, then shuts down.
 *
 * Faults: every TCP fault. A connection that breaks (RESET, or a session the server
 * could not spawn under ALLOC_FAIL) is retried on a new one from the unfinished
 * message; a refused connect is retried. The check is exact: every client verified all
 * M echoes; the clients' successful connects and refusals equal the simulator's
 * counters; a broken connection is explained by an injected fault; and when none broke,
 * the server echoed exactly the bytes the clients sent. Each client connection declares
 * the bytes it must carry (gale_scenario_stream_expect_fd), so a resend bug fails at the
 * write that made it.
 * Reproduce: gale replay --scenario tcp_echo --seed N --verbose.
 */
#include <assert.h>
#include <string.h>

#include <gale/copy.h>
#include <gale/read_exact.h>
#include <gale/socket_addr.h>
#include <gale/tcp.h>
#include <gale/write_all.h>

#include "scenarios.h"

#define ECHO_CLIENTS_MAX 8
#define ECHO_SESSIONS_MAX 64
#define ECHO_MESSAGES_MAX 16
#define ECHO_MESSAGE_LEN_MAX 2048
#define ECHO_SESSION_BUF_SIZE 1024
#define ECHO_PORT 7000

enum echo_phase {
	ECHO_CONNECT = 0, /* Connecting (again). */
	ECHO_SEND,        /* write_all of the current message. */
	ECHO_RECEIVE,     /* read_exact of its echo. */
	ECHO_SHUTDOWN,    /* Every message verified: half-close. */
	ECHO_DRAIN,       /* Expect the server's end of stream. */
	ECHO_DONE,        /* Finished. */
};

struct echo_state;

struct echo_client {
	struct echo_state *state;         /* Borrowed. */
	uint32_t index;                   /* Which client. */
	enum echo_phase phase;            /* Where it is. */
	bool is_connecting;               /* connect holds an attempt. */
	struct gale_tcp_connect connect;  /* The connect future. */
	struct gale_tcp_stream stream;    /* The connection (closed between attempts). */
	struct gale_write_all write;      /* Sends the message. */
	struct gale_read_exact read;      /* Receives its echo. */
	uint32_t messages_done;           /* Echoes verified. */
	size_t message_len;               /* Current message's length. */
	uint16_t message_lens[ECHO_MESSAGES_MAX]; /* Every message's length (drawn in setup). */
	uint8_t out[ECHO_MESSAGE_LEN_MAX]; /* Current message. */
	uint8_t in[ECHO_MESSAGE_LEN_MAX]; /* Its echo. */
	uint64_t connects_count;          /* Connects that succeeded. */
	uint64_t refused_count;           /* Connects refused. */
	uint64_t broken_count;            /* Connections that broke under it. */
	uint64_t bytes_sent;              /* Bytes write_all got accepted, every attempt. */
};

struct echo_session {
	struct echo_state *state;       /* Borrowed. */
	bool is_in_use;                 /* A task runs on this slot. */
	bool is_copied;                 /* The copy reached end of stream. */
	struct gale_tcp_stream stream;  /* The accepted connection. */
	struct gale_copy copy;          /* stream -> stream. */
	uint8_t buf[ECHO_SESSION_BUF_SIZE]; /* The copy's buffer. */
};

struct echo_state {
	struct gale_scenario_run *run;           /* Borrowed. */
	struct gale_socket_addr server_addr;     /* 10.0.0.1:ECHO_PORT. */
	struct gale_tcp_listener listener;       /* The server's. */
	struct gale_scenario_signal acceptor_signal; /* Woken when the last client finishes. */
	uint32_t clients_count;                  /* N. */
	uint32_t clients_done;                   /* Finished clients. */
	uint32_t messages_count;                 /* M. */
	size_t session_buf_len;                  /* The copy buffer used (per seed). */
	uint64_t accepted_count;                 /* Connections accepted. */
	uint64_t sessions_dropped;               /* Accepted but closed: no task could run. */
	uint64_t bytes_echoed;                   /* Bytes the sessions wrote back. */
	uint8_t expected[ECHO_MESSAGES_MAX * ECHO_MESSAGE_LEN_MAX]; /* Scratch: a client's
								     * remaining messages. */
	struct echo_client clients[ECHO_CLIENTS_MAX];   /* The clients. */
	struct echo_session sessions[ECHO_SESSIONS_MAX]; /* Server sessions (slots reused). */
};

/* ---- Server -------------------------------------------------------------------------- */

/* Ends a session: a broken connection is a normal end for the server. */
static int session_end(struct echo_session *session, int rc)
{
	assert(session->is_in_use);
	assert(rc != GALE_PENDING);
	gale_tcp_stream_close(&session->stream);
	session->is_in_use = false;
	return gale_scenario_error_is_broken(rc) ? 0 : rc;
}

static int session_poll(void *data, struct gale_cx *cx)
{
	struct echo_session *session = data;
	assert(session->is_in_use);
	if (!session->is_copied) {
		int rc = gale_copy_poll(&session->copy, cx);
		if (rc == GALE_PENDING)
			return rc;
		session->state->bytes_echoed += session->copy.len_copied;
		if (rc != 0)
			return session_end(session, rc);
		session->is_copied = true;
	}
	int rc = gale_tcp_stream_poll_shutdown(&session->stream, cx);
	if (rc == GALE_PENDING)
		return rc;
	return session_end(session, rc);
}

static struct echo_session *session_free_slot(struct echo_state *state)
{
	for (size_t i = 0; i < ECHO_SESSIONS_MAX; i++) {
		if (!state->sessions[i].is_in_use)
			return &state->sessions[i];
	}
	return NULL;
}

/* Starts the task of an accepted connection; if no task can run, closes the connection. */
static void session_start(struct echo_state *state, struct echo_session *session)
{
	assert(!session->is_in_use);
	assert(gale_tcp_stream_is_open(&session->stream));
	session->state = state;
	session->is_in_use = true;
	session->is_copied = false;
	gale_copy_init(&session->copy, gale_tcp_stream_reader(&session->stream),
		       gale_tcp_stream_writer(&session->stream), session->buf,
		       state->session_buf_len);
	if (gale_scenario_spawn_retry(state->run, "echo-session", session_poll, session, false,
				      NULL) == 0)
		return;
	state->sessions_dropped++;
	gale_tcp_stream_close(&session->stream);
	session->is_in_use = false;
}

static int acceptor_poll(void *data, struct gale_cx *cx)
{
	struct echo_state *state = data;
	assert(state->clients_done <= state->clients_count);
	for (;;) {
		if (state->clients_done == state->clients_count)
			return gale_tcp_listener_close(&state->listener);
		gale_scenario_signal_wait(&state->acceptor_signal, cx);
		struct echo_session *session = session_free_slot(state);
		if (session == NULL) {
			gale_scenario_fail(state->run, GALE_ORACLE_CHECK,
					   "tcp_echo: more than %d sessions at once",
					   ECHO_SESSIONS_MAX);
			return gale_tcp_listener_close(&state->listener);
		}
		int rc = gale_tcp_listener_poll_accept(&state->listener, cx, &session->stream,
						       NULL);
		if (rc == GALE_PENDING)
			return rc;
		if (rc == -ENOSPC)
			continue; /* Reactor full: that connection is closed; its client retries. */
		if (rc != 0) {
			gale_tcp_listener_close(&state->listener);
			return rc;
		}
		state->accepted_count++;
		/* Echoes in pieces: on a real kernel Nagle's algorithm and the peer's delayed
		 * ACK would hold each piece back 40 ms. A hint: its failure changes nothing. */
		(void)gale_tcp_stream_nodelay_set(&session->stream, true);
		session_start(state, session);
	}
}

/* ---- Clients ------------------------------------------------------------------------- */

/* The connection broke: close it and start over from the unfinished message. */
static int client_break(struct echo_client *client)
{
	assert(client->phase != ECHO_CONNECT && client->phase != ECHO_DONE);
	assert(gale_tcp_stream_is_open(&client->stream));
	gale_tcp_stream_close(&client->stream);
	client->broken_count++;
	client->phase = ECHO_CONNECT;
	return 0;
}

static void client_finish(struct echo_client *client)
{
	struct echo_state *state = client->state;
	assert(client->phase != ECHO_DONE);
	if (gale_tcp_stream_is_open(&client->stream))
		gale_tcp_stream_close(&client->stream);
	client->phase = ECHO_DONE;
	state->clients_done++;
	assert(state->clients_done <= state->clients_count);
	if (state->clients_done == state->clients_count)
		gale_scenario_signal_wake(&state->acceptor_signal);
}

/* Message i of a client: message_lens[i] bytes of its own pattern. */
static size_t client_message_fill(const struct echo_client *client, uint32_t i, uint8_t *buf)
{
	uint64_t seed = client->state->run->seed ^ ((uint64_t)client->index << 40) ^ i;
	size_t len = client->message_lens[i];
	assert(i < client->state->messages_count);
	assert(len > 0 && len <= ECHO_MESSAGE_LEN_MAX);
	gale_scenario_pattern_fill(seed, 0, buf, len);
	return len;
}

/* Loads the current message into out (it stays the same across retries). */
static void client_message_load(struct echo_client *client)
{
	client->message_len = client_message_fill(client, client->messages_done, client->out);
}

/*
 * Tells the STREAM oracle what a new connection must carry: the messages not yet
 * verified, in order (fewer bytes if it breaks, never others). Skipped when the
 * declaration cannot allocate (ALLOC_FAIL): the echo comparison still checks every byte.
 */
static int client_expect(struct echo_client *client)
{
	struct echo_state *state = client->state;
	size_t len = 0;
	for (uint32_t i = client->messages_done; i < state->messages_count; i++)
		len += client_message_fill(client, i, state->expected + len);
	assert(len <= sizeof(state->expected));
	int rc = gale_scenario_stream_expect_fd(state->run, gale_tcp_stream_fd(&client->stream),
						state->expected, len);
	return rc == -ENOMEM ? 0 : rc;
}

static int client_connect(struct echo_client *client, struct gale_cx *cx)
{
	struct echo_state *state = client->state;
	assert(client->phase == ECHO_CONNECT);
	if (!client->is_connecting) {
		gale_tcp_connect_init(&client->connect, &state->run->runtime, &state->server_addr,
				      1);
		client->is_connecting = true;
	}
	int rc = gale_tcp_connect_poll(&client->connect, cx, &client->stream);
	if (rc == GALE_PENDING)
		return rc;
	gale_tcp_connect_deinit(&client->connect);
	client->is_connecting = false;
	if (rc == -ECONNREFUSED) {
		client->refused_count++;
		return 0; /* The loop connects again. */
	}
	if (rc != 0)
		return rc;
	client->connects_count++;
	(void)gale_tcp_stream_nodelay_set(&client->stream, true); /* As the server's. */
	rc = client_expect(client);
	if (rc != 0)
		return rc;
	client->phase = ECHO_SEND;
	gale_write_all_init(&client->write, gale_tcp_stream_writer(&client->stream), client->out,
			    client->message_len);
	return 0;
}

static int client_send(struct echo_client *client, struct gale_cx *cx)
{
	assert(client->phase == ECHO_SEND);
	assert(client->message_len > 0);
	int rc = gale_write_all_poll(&client->write, cx);
	if (rc == GALE_PENDING)
		return rc;
	client->bytes_sent += client->write.len_written;
	if (gale_scenario_error_is_broken(rc))
		return client_break(client);
	if (rc != 0)
		return rc;
	client->phase = ECHO_RECEIVE;
	gale_read_exact_init(&client->read, gale_tcp_stream_reader(&client->stream), client->in,
			     client->message_len);
	return 0;
}

static int client_receive(struct echo_client *client, struct gale_cx *cx)
{
	struct echo_state *state = client->state;
	assert(client->phase == ECHO_RECEIVE);
	int rc = gale_read_exact_poll(&client->read, cx);
	if (rc == GALE_PENDING)
		return rc;
	if (gale_scenario_error_is_broken(rc))
		return client_break(client);
	if (rc != 0)
		return rc;
	if (memcmp(client->in, client->out, client->message_len) != 0) {
		gale_scenario_fail(state->run, GALE_ORACLE_CHECK,
				   "tcp_echo: client %u message %u: the echo differs from what "
				   "was sent",
				   client->index, client->messages_done);
		client_finish(client);
		return 0;
	}
	client->messages_done++;
	if (client->messages_done == state->messages_count) {
		client->phase = ECHO_SHUTDOWN;
		return 0;
	}
	client_message_load(client);
	client->phase = ECHO_SEND;
	gale_write_all_init(&client->write, gale_tcp_stream_writer(&client->stream), client->out,
			    client->message_len);
	return 0;
}

/* After the half-close the server has nothing more to echo: the next read must be EOF. */
static int client_drain(struct echo_client *client, struct gale_cx *cx)
{
	assert(client->phase == ECHO_DRAIN);
	uint8_t byte;
	struct gale_read_buf rb;
	gale_read_buf_init(&rb, &byte, 1);
	int rc = gale_tcp_stream_poll_read(&client->stream, cx, &rb);
	if (rc == GALE_PENDING)
		return rc;
	if (rc == 0 && rb.len_filled != 0)
		gale_scenario_fail(client->state->run, GALE_ORACLE_CHECK,
				   "tcp_echo: client %u got bytes after its last echo",
				   client->index);
	if (rc == 0 || gale_scenario_error_is_broken(rc)) {
		client_finish(client); /* Every echo was verified: a late break changes nothing. */
		return 0;
	}
	return rc;
}

static int client_step(struct echo_client *client, struct gale_cx *cx)
{
	switch (client->phase) {
	case ECHO_CONNECT:
		return client_connect(client, cx);
	case ECHO_SEND:
		return client_send(client, cx);
	case ECHO_RECEIVE:
		return client_receive(client, cx);
	case ECHO_SHUTDOWN: {
		int rc = gale_tcp_stream_poll_shutdown(&client->stream, cx);
		if (rc == 0)
			client->phase = ECHO_DRAIN;
		if (!gale_scenario_error_is_broken(rc))
			return rc;
		client_finish(client); /* Every echo was verified: a late break changes nothing. */
		return 0;
	}
	case ECHO_DRAIN:
		return client_drain(client, cx);
	case ECHO_DONE:
		break;
	}
	assert(false);
	return -EINVAL;
}

static int client_poll(void *data, struct gale_cx *cx)
{
	struct echo_client *client = data;
	assert(client->state != NULL);
	while (client->phase != ECHO_DONE) {
		int rc = client_step(client, cx);
		if (rc != 0) {
			if (rc != GALE_PENDING && client->phase != ECHO_DONE)
				client_finish(client);
			return rc;
		}
	}
	return 0;
}

/* ---- Setup and check ----------------------------------------------------------------- */

static int echo_setup(struct gale_scenario_run *run, void *data)
{
	struct echo_state *state = data;
	state->run = run;
	state->clients_count = (uint32_t)gale_scenario_draw(run, 2, ECHO_CLIENTS_MAX);
	state->messages_count = (uint32_t)gale_scenario_draw(run, 1, ECHO_MESSAGES_MAX);
	/* The shortfall from the largest buffer: a draw's minimum (a shrunk world, a fuzz
	 * input run out) copies in few large reads rather than byte by byte. */
	state->session_buf_len = ECHO_SESSION_BUF_SIZE -
				 (size_t)gale_scenario_draw(run, 0, ECHO_SESSION_BUF_SIZE - 1);
	/* The clients' host first: unbound sockets take the first host as their source. */
	int rc = gale_scenario_host(run, "10.0.0.2");
	if (rc == 0)
		rc = gale_scenario_listen(run, "10.0.0.1", ECHO_PORT, 0, &state->listener,
					  &state->server_addr);
	if (rc == 0)
		rc = gale_scenario_spawn_retry(run, "echo-acceptor", acceptor_poll, state, false,
					       NULL);
	for (uint32_t i = 0; i < state->clients_count && rc == 0; i++) {
		struct echo_client *client = &state->clients[i];
		client->state = state;
		client->index = i;
		for (uint32_t m = 0; m < state->messages_count; m++) {
			uint64_t len = gale_scenario_draw(run, 1, ECHO_MESSAGE_LEN_MAX);
			client->message_lens[m] = (uint16_t)len;
		}
		client_message_load(client);
		rc = gale_scenario_spawn_retry(run, "echo-client", client_poll, client, false,
					       NULL);
	}
	return rc;
}

/* The clients' own results, cross-checked with the simulator's counters. */
static void echo_check_counts(struct gale_scenario_run *run, struct echo_state *state)
{
	struct gale_sim_stats stats = gale_scenario_stats(run);
	uint64_t connects = 0, refused = 0, broken = 0, sent = 0;
	for (uint32_t i = 0; i < state->clients_count; i++) {
		connects += state->clients[i].connects_count;
		refused += state->clients[i].refused_count;
		broken += state->clients[i].broken_count;
		sent += state->clients[i].bytes_sent;
	}
	if (connects != stats.connections_count || refused != stats.connects_refused_count)
		gale_scenario_fail(run, GALE_ORACLE_CHECK,
				   "tcp_echo: clients saw %llu connects and %llu refusals, the "
				   "simulator made %llu and refused %llu",
				   (unsigned long long)connects, (unsigned long long)refused,
				   (unsigned long long)stats.connections_count,
				   (unsigned long long)stats.connects_refused_count);
	if (refused > 0 && gale_scenario_faults(run, GALE_FAULT_CONNECT_REFUSED) == 0)
		gale_scenario_fail(run, GALE_ORACLE_CHECK,
				   "tcp_echo: %llu connects refused without a CONNECT_REFUSED "
				   "fault",
				   (unsigned long long)refused);
	if (broken > 0 && gale_scenario_faults(run, GALE_FAULT_RESET) == 0 &&
	    state->sessions_dropped == 0)
		gale_scenario_fail(run, GALE_ORACLE_CHECK,
				   "tcp_echo: %llu connections broke without a RESET fault",
				   (unsigned long long)broken);
	if (broken == 0 && state->bytes_echoed != sent)
		gale_scenario_fail(run, GALE_ORACLE_CHECK,
				   "tcp_echo: the clients sent %llu bytes, the server echoed %llu",
				   (unsigned long long)sent,
				   (unsigned long long)state->bytes_echoed);
}

static int echo_check(struct gale_scenario_run *run, void *data)
{
	struct echo_state *state = data;
	assert(state->run == run);
	for (uint32_t i = 0; i < state->clients_count; i++) {
		const struct echo_client *client = &state->clients[i];
		if (client->messages_done != state->messages_count)
			gale_scenario_fail(run, GALE_ORACLE_CHECK,
					   "tcp_echo: client %u verified %u of %u echoes", i,
					   client->messages_done, state->messages_count);
	}
	if (state->clients_done != state->clients_count)
		gale_scenario_fail(run, GALE_ORACLE_CHECK, "tcp_echo: %u of %u clients finished",
				   state->clients_done, state->clients_count);
	echo_check_counts(run, state);
	return 0;
}

static void echo_teardown(struct gale_scenario_run *run, void *data)
{
	struct echo_state *state = data;
	(void)run;
	/* After a failure tasks may have stopped with objects open; close what is. */
	if (gale_tcp_listener_fd(&state->listener) >= 0)
		gale_tcp_listener_close(&state->listener);
	for (size_t i = 0; i < ECHO_CLIENTS_MAX; i++) {
		if (state->clients[i].is_connecting)
			gale_tcp_connect_deinit(&state->clients[i].connect);
		if (gale_tcp_stream_is_open(&state->clients[i].stream))
			gale_tcp_stream_close(&state->clients[i].stream);
	}
	for (size_t i = 0; i < ECHO_SESSIONS_MAX; i++) {
		if (gale_tcp_stream_is_open(&state->sessions[i].stream))
			gale_tcp_stream_close(&state->sessions[i].stream);
	}
}

const struct gale_scenario scn_tcp_echo = {
	.name = "tcp_echo",
	.description = "TCP echo server, 2..8 clients verifying every echo (resets retried)",
	.state_size = sizeof(struct echo_state),
	.setup = echo_setup,
	.check = echo_check,
	.teardown = echo_teardown,
};
