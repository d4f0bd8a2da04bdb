/* SPDX-License-Identifier: MIT */
/*
 * Scenario tcp_split: TCP sessions whose owned halves (into_split) live in separate tasks.
 * N clients (1..4) on host 10.0.0.2 each connect to an echo server on 10.0.0.1, split the
 * stream into owned halves and run a writer task (the seeded pattern, 1..16 KiB, then the
 * write half is dropped: a half-close) beside a reader (the echo, checked byte by byte,
 * then end of stream). The server splits every accepted stream the same way: a session
 * reader fills a ring that a session writer task empties, so each direction of every
 * connection has its own task, its own waker and its own end.
 *
 * Faults: every TCP fault. A connection that breaks under a fault (RESET, PARTITION,
 * ALLOC_FAIL...) ends its session: both halves stop, and the error must be one an
 * injected fault explains (gale_scenario_survive); a refused connect is retried. The
 * check: every client finished; an unbroken one sent and read back exactly its bytes.
 * Each client connection declares the bytes it must carry (the STREAM oracle).
 * Reproduce: gale replay --scenario tcp_split --seed N --verbose.
 */
#include <assert.h>

#include <gale/socket_addr.h>
#include <gale/tcp.h>

#include "scenarios.h"

#define SPLIT_CLIENTS_MAX 4
#define SPLIT_SESSIONS_MAX 16
#define SPLIT_LEN_MAX (16 * 1024)
#define SPLIT_CHUNK 1024
#define SPLIT_RING 1024
#define SPLIT_PORT 7100

struct split_state;

struct split_client {
	struct split_state *state;              /* Borrowed. */
	uint32_t index;                         /* Which client. */
	bool is_connecting;                     /* connect holds an attempt. */
	bool is_split;                          /* The halves own the stream. */
	bool is_done;                           /* The reader finished. */
	bool is_broken;                         /* A fault ended the connect or the reader. */
	bool is_writer_broken;                  /* A fault ended the writer. */
	struct gale_scenario_signal to_reader;  /* The writer broke: the reader stops. */
	struct gale_tcp_connect connect;        /* The connect future. */
	struct gale_tcp_stream stream;          /* The core the halves share. */
	struct gale_tcp_owned_read_half rh;     /* Read by the client task. */
	struct gale_tcp_owned_write_half wh;    /* Written by the writer task. */
	uint64_t len;                           /* Bytes to send and read back. */
	uint64_t seed;                          /* Pattern seed. */
	uint64_t sent;                          /* Bytes written. */
	uint64_t got;                           /* Bytes read back and checked. */
	uint8_t wbuf[SPLIT_CHUNK];              /* The chunk being written. */
	uint8_t rbuf[SPLIT_CHUNK];              /* What the reader read. */
};

struct split_session {
	struct split_state *state;              /* Borrowed. */
	bool is_in_use;                         /* Its tasks run on this slot. */
	uint32_t tasks_live;                    /* Of its two tasks, those not finished. */
	bool is_eof;                            /* The reader saw end of stream. */
	bool is_broken;                         /* Either half failed: both stop. */
	struct gale_tcp_stream stream;          /* The accepted connection (the core). */
	struct gale_tcp_owned_read_half rh;     /* The session reader's. */
	struct gale_tcp_owned_write_half wh;    /* The session writer's. */
	struct gale_scenario_signal to_reader;  /* Ring space freed, or broken. */
	struct gale_scenario_signal to_writer;  /* Ring bytes added, end, or broken. */
	size_t head;                            /* First byte in the ring. */
	size_t used;                            /* Bytes in the ring. */
	uint8_t ring[SPLIT_RING];               /* Read, not yet written back. */
};

struct split_state {
	struct gale_scenario_run *run;           /* Borrowed. */
	struct gale_socket_addr server_addr;     /* 10.0.0.1:SPLIT_PORT. */
	struct gale_tcp_listener listener;       /* The server's. */
	struct gale_scenario_signal acceptor_signal; /* Woken when the last client finishes. */
	uint32_t clients_count;                  /* N. */
	uint32_t clients_done;                   /* Finished clients. */
	uint8_t expected[SPLIT_LEN_MAX];         /* Scratch: a connection's declared bytes. */
	struct split_client clients[SPLIT_CLIENTS_MAX];
	struct split_session sessions[SPLIT_SESSIONS_MAX];
};

/* An error of a half: 0 and the session or client marked broken when a fault explains it,
 * else the error (the run failed already, oracle CHECK). */
static int split_survive(struct split_state *state, bool *is_broken, int rc, const char *what)
{
	rc = gale_scenario_survive(state->run, rc, what);
	*is_broken = true;
	return rc;
}

/* ---- Server ------------------------------------------------------------------------- */

static void session_task_end(struct split_session *session)
{
	assert(session->tasks_live > 0);
	if (--session->tasks_live == 0)
		session->is_in_use = false;
}

/* The session reader: connection -> ring, until end of stream or a break. */
static int session_reader_step(struct split_session *session, struct gale_cx *cx)
{
	gale_scenario_signal_wait(&session->to_reader, cx);
	while (!session->is_eof && !session->is_broken) {
		if (session->used == SPLIT_RING)
			return GALE_PENDING; /* The writer frees space and wakes us. */
		size_t tail = (session->head + session->used) % SPLIT_RING;
		size_t room = tail >= session->head ? SPLIT_RING - tail : session->head - tail;
		struct gale_read_buf rb;
		gale_read_buf_init(&rb, session->ring + tail, room);
		int rc = gale_async_read_poll(gale_tcp_owned_read_half_reader(&session->rh), cx,
					      &rb);
		if (rc == GALE_PENDING)
			return rc;
		if (rc != 0) {
			rc = split_survive(session->state, &session->is_broken, rc,
					   "session reader");
			gale_scenario_signal_wake(&session->to_writer);
			if (rc != 0)
				return rc;
			break;
		}
		session->used += rb.len_filled;
		session->is_eof = rb.len_filled == 0;
		gale_scenario_signal_wake(&session->to_writer);
	}
	return 0;
}

static int session_reader_poll(void *data, struct gale_cx *cx)
{
	struct split_session *session = data;
	int rc = session_reader_step(session, cx);
	if (rc == GALE_PENDING)
		return rc;
	gale_tcp_owned_read_half_deinit(&session->rh);
	session_task_end(session);
	return rc;
}

/* The session writer: ring -> connection; drops its half at the end (a half-close). */
static int session_writer_step(struct split_session *session, struct gale_cx *cx)
{
	gale_scenario_signal_wait(&session->to_writer, cx);
	while (!session->is_broken) {
		if (session->used == 0) {
			if (session->is_eof)
				return 0;
			return GALE_PENDING; /* The reader adds bytes and wakes us. */
		}
		size_t len = session->head + session->used <= SPLIT_RING ?
				     session->used :
				     SPLIT_RING - session->head;
		size_t n = 0;
		int rc = gale_async_write_poll(gale_tcp_owned_write_half_writer(&session->wh), cx,
					       session->ring + session->head, len, &n);
		if (rc == GALE_PENDING)
			return rc;
		if (rc != 0) {
			rc = split_survive(session->state, &session->is_broken, rc,
					   "session writer");
			gale_scenario_signal_wake(&session->to_reader);
			return rc;
		}
		session->head = (session->head + n) % SPLIT_RING;
		session->used -= n;
		gale_scenario_signal_wake(&session->to_reader);
	}
	return 0;
}

static int session_writer_poll(void *data, struct gale_cx *cx)
{
	struct split_session *session = data;
	int rc = session_writer_step(session, cx);
	if (rc == GALE_PENDING)
		return rc;
	int drop_rc = gale_tcp_owned_write_half_deinit(&session->wh);
	if (rc == 0 && drop_rc != 0 && !session->is_broken)
		rc = split_survive(session->state, &session->is_broken, drop_rc,
				   "session writer dropping its half");
	session_task_end(session);
	return rc;
}

static struct split_session *session_free_slot(struct split_state *state)
{
	for (size_t i = 0; i < SPLIT_SESSIONS_MAX; i++) {
		if (!state->sessions[i].is_in_use)
			return &state->sessions[i];
	}
	return NULL;
}

/* Splits an accepted stream and starts its two tasks; if they cannot run, drops it. */
static void session_start(struct split_state *state, struct split_session *session)
{
	session->state = state;
	session->is_eof = false;
	session->is_broken = false;
	session->to_reader = (struct gale_scenario_signal){0};
	session->to_writer = (struct gale_scenario_signal){0};
	session->head = 0;
	session->used = 0;
	if (gale_tcp_stream_into_split(&session->stream, &session->rh, &session->wh) != 0) {
		gale_tcp_stream_close(&session->stream);
		return;
	}
	session->is_in_use = true;
	session->tasks_live = 2;
	if (gale_scenario_spawn_retry(state->run, "split-session-writer", session_writer_poll,
				      session, false, NULL) != 0) {
		session->tasks_live = 0;
		session->is_in_use = false;
		gale_tcp_owned_read_half_deinit(&session->rh);
		gale_tcp_owned_write_half_deinit(&session->wh);
		return;
	}
	if (gale_scenario_spawn_retry(state->run, "split-session-reader", session_reader_poll,
				      session, false, NULL) != 0) {
		/* The writer runs alone: it sees the break and drops its half. */
		gale_tcp_owned_read_half_deinit(&session->rh);
		session->is_broken = true;
		session->tasks_live = 1;
	}
}

static int acceptor_poll(void *data, struct gale_cx *cx)
{
	struct split_state *state = data;
	for (;;) {
		if (state->clients_done == state->clients_count)
			return gale_tcp_listener_close(&state->listener);
		gale_scenario_signal_wait(&state->acceptor_signal, cx);
		struct split_session *session = session_free_slot(state);
		if (session == NULL) {
			gale_scenario_fail(state->run, GALE_ORACLE_CHECK,
					   "tcp_split: more than %d sessions at once",
					   SPLIT_SESSIONS_MAX);
			return gale_tcp_listener_close(&state->listener);
		}
		int rc = gale_tcp_listener_poll_accept(&state->listener, cx, &session->stream,
						       NULL);
		if (rc == GALE_PENDING)
			return rc;
		if (rc == -ENOSPC)
			continue; /* Reactor full: that connection is closed. */
		if (rc != 0) {
			gale_tcp_listener_close(&state->listener);
			return rc;
		}
		(void)gale_tcp_stream_nodelay_set(&session->stream, true); /* A hint. */
		session_start(state, session);
	}
}

/* ---- Clients ------------------------------------------------------------------------ */

static int client_writer_step(struct split_client *client, struct gale_cx *cx)
{
	while (client->sent < client->len) {
		uint64_t left = client->len - client->sent;
		size_t len = left < SPLIT_CHUNK ? (size_t)left : SPLIT_CHUNK;
		gale_scenario_pattern_fill(client->seed, client->sent, client->wbuf, len);
		size_t n = 0;
		int rc = gale_async_write_poll(gale_tcp_owned_write_half_writer(&client->wh), cx,
					       client->wbuf, len, &n);
		if (rc == GALE_PENDING)
			return rc;
		if (rc != 0) {
			gale_scenario_signal_wake(&client->to_reader);
			return split_survive(client->state, &client->is_writer_broken, rc,
					     "client writer");
		}
		client->sent += n;
	}
	return 0;
}

static int client_writer_poll(void *data, struct gale_cx *cx)
{
	struct split_client *client = data;
	int rc = client_writer_step(client, cx);
	if (rc == GALE_PENDING)
		return rc;
	int drop_rc = gale_tcp_owned_write_half_deinit(&client->wh); /* The half-close. */
	if (rc == 0 && drop_rc != 0 && !client->is_writer_broken)
		rc = split_survive(client->state, &client->is_writer_broken, drop_rc,
				   "client writer dropping its half");
	return rc;
}

static int client_connect(struct split_client *client, struct gale_cx *cx)
{
	struct split_state *state = client->state;
	for (;;) {
		if (!client->is_connecting) {
			gale_tcp_connect_init(&client->connect, &state->run->runtime,
					      &state->server_addr, 1);
			client->is_connecting = true;
		}
		int rc = gale_tcp_connect_poll(&client->connect, cx, &client->stream);
		if (rc == GALE_PENDING)
			return rc;
		gale_tcp_connect_deinit(&client->connect);
		client->is_connecting = false;
		if (rc == -ECONNREFUSED)
			continue;
		if (rc != 0)
			return split_survive(state, &client->is_broken, rc, "client connecting");
		(void)gale_tcp_stream_nodelay_set(&client->stream, true);
		gale_scenario_pattern_fill(client->seed, 0, state->expected, client->len);
		rc = gale_scenario_stream_expect_fd(state->run,
						    gale_tcp_stream_fd(&client->stream),
						    state->expected, client->len);
		if (rc != 0 && rc != -ENOMEM)
			return rc;
		rc = gale_tcp_stream_into_split(&client->stream, &client->rh, &client->wh);
		if (rc != 0)
			return rc;
		client->is_split = true;
		rc = gale_scenario_spawn_retry(state->run, "split-client-writer",
					       client_writer_poll, client, false, NULL);
		if (rc == 0)
			return 0;
		/* Out of memory (ALLOC_FAIL every time): this client gives up, as the server's
		 * session does when it cannot spawn. */
		gale_tcp_owned_write_half_deinit(&client->wh);
		return split_survive(state, &client->is_broken, rc, "client spawning its writer");
	}
}

/*
 * The reader: the echo, byte by byte, then end of stream. It stops without reading once
 * the writer saw the connection break: Linux reports a reset once, to whichever half asks
 * first, and the other half then reads a plain end of stream, which this reader would
 * have to tell from a real early end.
 */
static int client_read(struct split_client *client, struct gale_cx *cx)
{
	struct split_state *state = client->state;
	for (;;) {
		gale_scenario_signal_wait(&client->to_reader, cx);
		if (client->is_writer_broken) {
			client->is_broken = true;
			return 0;
		}
		struct gale_read_buf rb;
		gale_read_buf_init(&rb, client->rbuf, sizeof(client->rbuf));
		int rc = gale_async_read_poll(gale_tcp_owned_read_half_reader(&client->rh), cx,
					      &rb);
		if (rc == GALE_PENDING)
			return rc;
		if (rc == 0 && rb.len_filled == 0 && client->got < client->len)
			rc = GALE_E_UNEXPECTED_EOF;
		if (rc != 0)
			return split_survive(state, &client->is_broken, rc, "client reader");
		if (rb.len_filled == 0)
			return 0; /* End of stream after every byte. */
		size_t bad = gale_scenario_pattern_mismatch(client->seed, client->got, rb.buf,
							    rb.len_filled);
		if (bad != rb.len_filled || client->got + rb.len_filled > client->len) {
			gale_scenario_fail(state->run, GALE_ORACLE_CHECK,
					   "tcp_split: client %u: echo byte %llu differs",
					   client->index,
					   (unsigned long long)(client->got + bad));
			return 0;
		}
		client->got += rb.len_filled;
	}
}

static int client_poll(void *data, struct gale_cx *cx)
{
	struct split_client *client = data;
	struct split_state *state = client->state;
	int rc = 0;
	if (!client->is_split && !client->is_broken)
		rc = client_connect(client, cx);
	if (rc == 0 && client->is_split && !client->is_broken)
		rc = client_read(client, cx);
	if (rc == GALE_PENDING)
		return rc;
	if (client->is_split)
		gale_tcp_owned_read_half_deinit(&client->rh);
	client->is_done = true;
	if (++state->clients_done == state->clients_count)
		gale_scenario_signal_wake(&state->acceptor_signal);
	return rc;
}

/* ---- Setup, check, teardown --------------------------------------------------------- */

static int split_setup(struct gale_scenario_run *run, void *data)
{
	struct split_state *state = data;
	state->run = run;
	state->clients_count = (uint32_t)gale_scenario_draw(run, 1, SPLIT_CLIENTS_MAX);
	/* The clients' host first: unbound sockets take the first host as their source. */
	int rc = gale_scenario_host(run, "10.0.0.2");
	if (rc == 0)
		rc = gale_scenario_listen(run, "10.0.0.1", SPLIT_PORT, 0, &state->listener,
					  &state->server_addr);
	if (rc == 0)
		rc = gale_scenario_spawn_retry(run, "split-acceptor", acceptor_poll, state, false,
					       NULL);
	for (uint32_t i = 0; i < state->clients_count && rc == 0; i++) {
		struct split_client *client = &state->clients[i];
		client->state = state;
		client->index = i;
		client->len = gale_scenario_draw(run, 1, SPLIT_LEN_MAX);
		client->seed = run->seed ^ ((uint64_t)i << 40) ^ 0x5a17;
		rc = gale_scenario_spawn_retry(run, "split-client", client_poll, client, false,
					       NULL);
	}
	return rc;
}

static int split_check(struct gale_scenario_run *run, void *data)
{
	struct split_state *state = data;
	for (uint32_t i = 0; i < state->clients_count; i++) {
		const struct split_client *client = &state->clients[i];
		if (!client->is_done)
			gale_scenario_fail(run, GALE_ORACLE_CHECK,
					   "tcp_split: client %u did not finish", i);
		else if (!client->is_broken && !client->is_writer_broken &&
			 (client->sent != client->len || client->got != client->len))
			gale_scenario_fail(run, GALE_ORACLE_CHECK,
					   "tcp_split: client %u sent %llu and read back %llu of "
					   "%llu bytes, and nothing broke",
					   i, (unsigned long long)client->sent,
					   (unsigned long long)client->got,
					   (unsigned long long)client->len);
	}
	return 0;
}

static void split_teardown(struct gale_scenario_run *run, void *data)
{
	struct split_state *state = data;
	(void)run;
	/* After a failure tasks may have stopped with objects open; close what is. The
	 * halves' deinit is idempotent; the second one closes the core. */
	if (gale_tcp_listener_fd(&state->listener) >= 0)
		gale_tcp_listener_close(&state->listener);
	for (size_t i = 0; i < SPLIT_CLIENTS_MAX; i++) {
		struct split_client *client = &state->clients[i];
		if (client->is_connecting)
			gale_tcp_connect_deinit(&client->connect);
		if (client->is_split) {
			gale_tcp_owned_read_half_deinit(&client->rh);
			gale_tcp_owned_write_half_deinit(&client->wh);
		} else if (gale_tcp_stream_is_open(&client->stream)) {
			gale_tcp_stream_close(&client->stream);
		}
	}
	for (size_t i = 0; i < SPLIT_SESSIONS_MAX; i++) {
		struct split_session *session = &state->sessions[i];
		gale_tcp_owned_read_half_deinit(&session->rh);
		gale_tcp_owned_write_half_deinit(&session->wh);
		if (gale_tcp_stream_is_open(&session->stream))
			gale_tcp_stream_close(&session->stream);
	}
}

const struct gale_scenario scn_tcp_split = {
	.name = "tcp_split",
	.description = "TCP echo over owned halves (into_split), a task per half, under resets",
	.state_size = sizeof(struct split_state),
	.setup = split_setup,
	.check = split_check,
	.teardown = split_teardown,
};
