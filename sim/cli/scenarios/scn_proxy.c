/* SPDX-License-Identifier: MIT */
/*
 * Scenario proxy: 1..3 clients on host A (10.0.1.1) each stream 1..64 KiB of a seeded
 * pattern through a copy_bidirectional proxy on host B (10.0.2.1) to an echo backend on
 * host C (10.0.3.1), half-close, and read the echo back to the backend's end of stream.
 * Each client writes and reads in the same task (two wakers, one per direction), so the
 * stream can exceed every buffer on the way (sockets have 16 KiB buffers here). The
 * backend echoes with gale_copy and half-closes after its end of stream; the proxy
 * propagates both half-closes.
 * The proxy's backend connections leave from its own host (gale_tcp_connect_host_bind to
 * B): the simulated routes are A-B and B-C, as a real deployment's are. Everyone connects
 * by name ("proxy", "backend": the run's resolver, <gale/resolve.h>), so every connect
 * resolves first.
 *
 * Faults: every TCP fault and every resolver fault. An attempt that breaks (RESET) is
 * started over on a new connection from byte 0; refused connects are retried, and so are
 * resolutions that failed for an injected resolver fault; a dead address answered
 * (RESOLVE_DEAD_ADDRESS) costs a failed attempt and the connect falls through to the real
 * one. The check is exact: every client read back exactly its pattern and then end of
 * stream; the proxy session that carried its last attempt (matched by port) copied
 * exactly total_len bytes each way and finished cleanly, and so did the backend session
 * behind it; connects and refusals agree with the simulator's counters (which count an
 * attempt to a dead address as refused on the simulator); a broken attempt is explained
 * by a RESET fault; attempts that reached no host by RESOLVE_DEAD_ADDRESS faults.
 * Reproduce: gale replay --scenario proxy --seed N --verbose.
 */
#include <assert.h>
#include <string.h>

#include <gale/copy.h>
#include <gale/resolve.h>
#include <gale/socket_addr.h>
#include <gale/tcp.h>
#include <gale/write_all.h>

#include "scenarios.h"

#define PROXY_CLIENTS_MAX 3
#define PROXY_LEN_MAX (64 * 1024)
#define PROXY_CHUNK_MAX 4096
#define PROXY_SLOTS_MAX 32
#define PROXY_RECORDS_MAX 512
#define PROXY_PORT 7200
#define BACKEND_PORT 7300
/* What clients and the proxy connect to: names in the run's resolver. */
#define PROXY_TEXT "proxy:7200"
#define BACKEND_TEXT "backend:7300"

struct proxy_state;

/* What a finished proxy or backend session did, kept for the check (slots are reused). */
struct proxy_record {
	uint16_t peer_port;    /* The accepted connection's remote port. */
	uint16_t backend_port; /* Proxy: the local port of its backend connection (0: none). */
	int rc;                /* How the session ended (0: cleanly). */
	uint64_t a_to_b;       /* Proxy: client -> backend bytes; backend: bytes echoed. */
	uint64_t b_to_a;       /* Proxy: backend -> client bytes. */
};

struct proxy_client {
	struct proxy_state *state;         /* Borrowed. */
	uint32_t index;                    /* Which client. */
	uint64_t pattern_seed;             /* Its bytes. */
	uint64_t total_len;                /* Bytes per attempt. */
	bool is_connecting;                /* connect holds an attempt. */
	bool is_connected;                 /* stream is open: an attempt is under way. */
	bool is_done;                      /* Verified the whole echo. */
	bool is_sent;                      /* Every byte written and the side shut down. */
	uint16_t local_port;               /* The current attempt's port. */
	struct gale_tcp_connect_host connect; /* The connect future (by name). */
	struct gale_tcp_stream stream;     /* The current attempt. */
	struct gale_write_all write;       /* The chunk being sent. */
	uint64_t sent;                     /* Bytes of this attempt written. */
	uint64_t received;                 /* Bytes of this attempt read and verified. */
	uint64_t connects_count;           /* Connects that succeeded. */
	uint64_t refused_count;            /* Connects refused. */
	uint64_t broken_count;             /* Attempts that broke. */
	uint64_t unreachable_count;        /* Dead addresses tried. */
	uint8_t out[PROXY_CHUNK_MAX];      /* The chunk being sent. */
	uint8_t in[PROXY_CHUNK_MAX];       /* The bytes being read. */
};

/* A live session (proxy or backend) on a reusable slot. */
struct proxy_slot {
	struct proxy_state *state;         /* Borrowed. */
	bool is_in_use;                    /* A task runs on it. */
	bool is_connecting;                /* Proxy: connect holds an attempt. */
	bool is_copying;                   /* The copy was initialised. */
	struct proxy_record *record;       /* Where its outcome goes. */
	struct gale_tcp_stream accepted;   /* The accepted connection. */
	struct gale_tcp_stream backend;    /* Proxy: its connection to the backend. */
	struct gale_tcp_connect_host connect; /* Proxy: connecting to the backend. */
	struct gale_copy_bidirectional copy_both; /* Proxy: accepted <-> backend. */
	struct gale_copy copy;             /* Backend: accepted -> accepted. */
	uint8_t buf_a[PROXY_CHUNK_MAX];    /* Copy buffer. */
	uint8_t buf_b[PROXY_CHUNK_MAX];    /* Copy buffer (proxy's other direction). */
};

/* One server: a listener, its sessions and their records. */
struct proxy_server {
	struct proxy_state *state;             /* Borrowed. */
	const char *session_name;              /* Its sessions' task name. */
	gale_poll_fn *session_poll;            /* Its sessions' poll. */
	struct gale_tcp_listener listener;     /* Its listener. */
	struct gale_scenario_signal signal;              /* Woken when the last client finishes. */
	struct proxy_slot slots[PROXY_SLOTS_MAX];       /* Live sessions. */
	struct proxy_record records[PROXY_RECORDS_MAX]; /* Every accepted connection. */
	uint32_t records_count;                /* Entries used. */
	uint64_t dropped_count;                /* Accepted but closed: no task could run. */
};

struct proxy_state {
	struct gale_scenario_run *run;        /* Borrowed. */
	struct gale_socket_addr proxy_addr;   /* B:PROXY_PORT. */
	struct gale_socket_addr backend_addr; /* C:BACKEND_PORT. */
	struct gale_socket_addr proxy_source; /* B:0, where the proxy's backend connects
					       * come from (its own host, not A). */
	uint32_t clients_count;               /* Clients. */
	uint32_t clients_done;                /* Finished clients. */
	uint64_t proxy_connects_count;        /* Proxy -> backend connects that succeeded. */
	uint64_t proxy_refused_count;         /* ... and that were refused. */
	uint64_t proxy_unreachable_count;     /* ... dead addresses they tried. */
	struct proxy_server proxy;            /* On B. */
	struct proxy_server backend;          /* On C. */
	struct proxy_client clients[PROXY_CLIENTS_MAX]; /* On A. */
	uint8_t expected[PROXY_LEN_MAX];      /* Scratch: a client's whole pattern. */
};

/* ---- Sessions ------------------------------------------------------------------------ */

/* A resolution that failed for an injected resolver fault: retried like a refusal. */
static bool resolve_failed_for_a_fault(const struct gale_scenario_run *run, int rc)
{
	return rc >= GALE_E_RESOLVE_NOT_FOUND && rc <= GALE_E_RESOLVE_FAILED &&
	       gale_scenario_error_explained(run, rc);
}

/* A connect's outcome as the real address saw it: when the last address tried was a dead
 * one (a shuffle put it last), the error of the one before (the host that exists). */
static int connect_outcome(const struct gale_tcp_connect_host *connect, int rc)
{
	for (size_t i = gale_tcp_connect_host_attempts(connect); rc == -EHOSTUNREACH && i > 1;
	     i--)
		rc = gale_tcp_connect_host_attempt_result(connect, i - 2);
	return rc;
}

/*
 * A connect the simulator counts as made though it failed: the handshake completed and a
 * RST (a RESET fault, or the backend listener closing at teardown) ended the connection
 * before the connect reported, so it answers -ECONNRESET. The simulator counts handshakes;
 * a kernel runner counts only connects that reported success.
 */
static bool connect_reset_after_handshake(const struct gale_scenario_run *run, int rc)
{
	return rc == -ECONNRESET && gale_scenario_backend(run) == GALE_BACKEND_SIM;
}

/* Counts the failed attempts of a connect by name, its last included: refused ones, and
 * dead addresses (-EHOSTUNREACH) in *unreachable. */
static void connect_attempts_count(const struct gale_tcp_connect_host *connect,
				   uint64_t *refused, uint64_t *unreachable)
{
	size_t attempts = gale_tcp_connect_host_attempts(connect);
	for (size_t i = 0; i < attempts; i++) {
		int rc = gale_tcp_connect_host_attempt_result(connect, i);
		*refused += rc == -ECONNREFUSED;
		*unreachable += rc == -EHOSTUNREACH;
	}
}

static int slot_end(struct proxy_slot *slot, int rc)
{
	assert(slot->is_in_use);
	assert(rc != GALE_PENDING);
	slot->record->rc = rc;
	if (slot->is_connecting)
		gale_tcp_connect_host_deinit(&slot->connect);
	slot->is_connecting = false;
	if (gale_tcp_stream_is_open(&slot->backend))
		gale_tcp_stream_close(&slot->backend);
	gale_tcp_stream_close(&slot->accepted);
	slot->is_in_use = false;
	if (resolve_failed_for_a_fault(slot->state->run, rc))
		return 0;
	return gale_scenario_error_is_broken(rc) || rc == -ECONNREFUSED ? 0 : rc;
}

static int backend_session_poll(void *data, struct gale_cx *cx)
{
	struct proxy_slot *slot = data;
	assert(slot->is_in_use);
	if (!slot->is_copying) {
		gale_copy_init(&slot->copy, gale_tcp_stream_reader(&slot->accepted),
			       gale_tcp_stream_writer(&slot->accepted), slot->buf_a,
			       sizeof(slot->buf_a));
		slot->is_copying = true;
	}
	int rc = gale_copy_poll(&slot->copy, cx);
	if (rc == GALE_PENDING)
		return rc;
	slot->record->a_to_b = slot->copy.len_copied;
	if (rc == 0)
		rc = gale_tcp_stream_shutdown(&slot->accepted, GALE_SHUTDOWN_WRITE);
	return slot_end(slot, rc);
}

/* Connects the proxy session to the backend, retrying refusals while clients still run. */
static int proxy_session_connect(struct proxy_slot *slot, struct gale_cx *cx)
{
	struct proxy_state *state = slot->state;
	for (;;) {
		if (!slot->is_connecting) {
			gale_tcp_connect_host_init(&slot->connect, &state->run->runtime,
						   BACKEND_TEXT);
			gale_tcp_connect_host_bind(&slot->connect, &state->proxy_source);
			slot->is_connecting = true;
		}
		int rc = gale_tcp_connect_host_poll(&slot->connect, cx, &slot->backend);
		if (rc == GALE_PENDING)
			return rc;
		connect_attempts_count(&slot->connect, &state->proxy_refused_count,
				       &state->proxy_unreachable_count);
		rc = connect_outcome(&slot->connect, rc);
		gale_tcp_connect_host_deinit(&slot->connect);
		slot->is_connecting = false;
		bool resolve_failed = resolve_failed_for_a_fault(state->run, rc);
		if (rc != -ECONNREFUSED && !resolve_failed) {
			state->proxy_connects_count +=
				rc == 0 || connect_reset_after_handshake(state->run, rc);
			return rc;
		}
		if (state->clients_done == state->clients_count)
			return rc; /* A stale attempt: the backend may be gone; give up. */
	}
}

static int proxy_session_poll(void *data, struct gale_cx *cx)
{
	struct proxy_slot *slot = data;
	assert(slot->is_in_use);
	if (!slot->is_copying) {
		int rc = proxy_session_connect(slot, cx);
		if (rc == GALE_PENDING)
			return rc;
		if (rc != 0)
			return slot_end(slot, rc);
		struct gale_socket_addr local;
		if (gale_tcp_stream_local_addr(&slot->backend, &local) == 0)
			slot->record->backend_port = gale_socket_addr_port(&local);
		gale_copy_bidirectional_init(&slot->copy_both,
					     gale_tcp_stream_async_stream(&slot->accepted),
					     gale_tcp_stream_async_stream(&slot->backend),
					     slot->buf_a, sizeof(slot->buf_a), slot->buf_b,
					     sizeof(slot->buf_b));
		slot->is_copying = true;
	}
	int rc = gale_copy_bidirectional_poll(&slot->copy_both, cx);
	if (rc == GALE_PENDING)
		return rc;
	slot->record->a_to_b = slot->copy_both.a_to_b.len_copied;
	slot->record->b_to_a = slot->copy_both.b_to_a.len_copied;
	return slot_end(slot, rc);
}

static struct proxy_slot *server_slot_free(struct proxy_server *server)
{
	for (size_t i = 0; i < PROXY_SLOTS_MAX; i++) {
		if (!server->slots[i].is_in_use)
			return &server->slots[i];
	}
	return NULL;
}

/* Starts an accepted connection's session; if no task can run, closes the connection. */
static void server_session_start(struct proxy_server *server, struct proxy_slot *slot,
				 const struct gale_socket_addr *peer)
{
	assert(server->records_count < PROXY_RECORDS_MAX);
	assert(!slot->is_in_use);
	struct proxy_record *record = &server->records[server->records_count++];
	*record = (struct proxy_record){.peer_port = gale_socket_addr_port(peer), .rc = 1};
	slot->state = server->state;
	slot->record = record;
	slot->is_in_use = true;
	slot->is_copying = false;
	if (gale_scenario_spawn_retry(server->state->run, server->session_name,
				      server->session_poll, slot, false,
		      NULL) == 0)
		return;
	server->dropped_count++;
	slot_end(slot, -ECONNRESET);
}

static int server_accept_poll(void *data, struct gale_cx *cx)
{
	struct proxy_server *server = data;
	struct proxy_state *state = server->state;
	for (;;) {
		if (state->clients_done == state->clients_count)
			return gale_tcp_listener_close(&server->listener);
		gale_scenario_signal_wait(&server->signal, cx);
		struct proxy_slot *slot = server_slot_free(server);
		if (slot == NULL || server->records_count == PROXY_RECORDS_MAX) {
			gale_scenario_fail(state->run, GALE_ORACLE_CHECK,
					   "proxy: out of session slots or records");
			return gale_tcp_listener_close(&server->listener);
		}
		struct gale_socket_addr peer;
		int rc = gale_tcp_listener_poll_accept(&server->listener, cx, &slot->accepted,
						       &peer);
		if (rc == GALE_PENDING)
			return rc;
		if (rc != 0) {
			gale_tcp_listener_close(&server->listener);
			return rc;
		}
		server_session_start(server, slot, &peer);
	}
}

/* ---- Clients ------------------------------------------------------------------------- */

/* The attempt broke: close it; the next connect starts over from byte 0. */
static int client_break(struct proxy_client *client)
{
	assert(client->is_connected);
	assert(!client->is_done);
	gale_tcp_stream_close(&client->stream);
	client->is_connected = false;
	client->broken_count++;
	return 0;
}

static void client_finish(struct proxy_client *client)
{
	struct proxy_state *state = client->state;
	assert(!client->is_done);
	if (gale_tcp_stream_is_open(&client->stream))
		gale_tcp_stream_close(&client->stream);
	client->is_connected = false;
	client->is_done = true;
	state->clients_done++;
	if (state->clients_done == state->clients_count) {
		gale_scenario_signal_wake(&state->proxy.signal);
		gale_scenario_signal_wake(&state->backend.signal);
	}
}

/* A new attempt is connected: reset the cursors and declare what it must carry. */
static int client_attempt_start(struct proxy_client *client)
{
	struct proxy_state *state = client->state;
	struct gale_socket_addr local;
	int rc = gale_tcp_stream_local_addr(&client->stream, &local);
	if (rc != 0)
		return rc;
	client->local_port = gale_socket_addr_port(&local);
	client->is_connected = true;
	client->is_sent = false;
	client->sent = client->received = 0;
	client->write = (struct gale_write_all){0}; /* No chunk in flight: the next is drawn. */
	client->connects_count++;
	size_t len = (size_t)client->total_len;
	assert(len <= sizeof(state->expected));
	gale_scenario_pattern_fill(client->pattern_seed, 0, state->expected, len);
	rc = gale_scenario_stream_expect_fd(state->run, gale_tcp_stream_fd(&client->stream),
					    state->expected, len);
	return rc == -ENOMEM ? 0 : rc; /* Without it the echo comparison still checks all. */
}

static int client_connect(struct proxy_client *client, struct gale_cx *cx)
{
	assert(!client->is_connected);
	if (!client->is_connecting) {
		gale_tcp_connect_host_init(&client->connect, &client->state->run->runtime,
					   PROXY_TEXT);
		client->is_connecting = true;
	}
	int rc = gale_tcp_connect_host_poll(&client->connect, cx, &client->stream);
	if (rc == GALE_PENDING)
		return rc;
	connect_attempts_count(&client->connect, &client->refused_count,
			       &client->unreachable_count);
	rc = connect_outcome(&client->connect, rc);
	gale_tcp_connect_host_deinit(&client->connect);
	client->is_connecting = false;
	if (rc == -ECONNREFUSED)
		return 0; /* Counted above. */
	if (resolve_failed_for_a_fault(client->state->run, rc))
		return 0; /* Resolve again. */
	client->connects_count += connect_reset_after_handshake(client->state->run, rc);
	return rc == 0 ? client_attempt_start(client) : rc;
}

/* Sends the next chunks, then half-closes. 0 when all is sent, GALE_PENDING, or an error. */
static int client_send(struct proxy_client *client, struct gale_cx *cx)
{
	while (client->sent < client->total_len) {
		if (client->write.len_written == client->write.len) {
			uint64_t left = client->total_len - client->sent;
			size_t len = left < PROXY_CHUNK_MAX ? (size_t)left : PROXY_CHUNK_MAX;
			gale_scenario_pattern_fill(client->pattern_seed, client->sent, client->out,
						   len);
			gale_write_all_init(&client->write, gale_tcp_stream_writer(&client->stream),
					    client->out, len);
		}
		int rc = gale_write_all_poll(&client->write, cx);
		if (rc != 0)
			return rc;
		client->sent += client->write.len;
	}
	client->is_sent = true;
	return gale_tcp_stream_shutdown(&client->stream, GALE_SHUTDOWN_WRITE);
}

/* Reads and verifies the echo. 0 at a complete echo's end of stream, GALE_PENDING, an
 * error, or GALE_E_UNEXPECTED_EOF when the stream ended early. */
static int client_receive(struct proxy_client *client, struct gale_cx *cx)
{
	for (;;) {
		struct gale_read_buf rb;
		gale_read_buf_init(&rb, client->in, sizeof(client->in));
		int rc = gale_tcp_stream_poll_read(&client->stream, cx, &rb);
		if (rc != 0)
			return rc;
		if (rb.len_filled == 0)
			return client->received == client->total_len ? 0 : GALE_E_UNEXPECTED_EOF;
		size_t bad = gale_scenario_pattern_mismatch(client->pattern_seed, client->received,
						  client->in, rb.len_filled);
		if (bad != rb.len_filled || client->received + rb.len_filled > client->total_len) {
			gale_scenario_fail(client->state->run, GALE_ORACLE_CHECK,
					   "proxy: client %u: echo byte %llu is wrong (or extra)",
					   client->index,
					   (unsigned long long)(client->received + bad));
			return GALE_E_LIMIT;
		}
		client->received += rb.len_filled;
	}
}

/* One attempt's progress: both directions polled, so neither starves the other. */
static int client_transfer(struct proxy_client *client, struct gale_cx *cx)
{
	assert(client->is_connected);
	int send_rc = client->is_sent ? 0 : client_send(client, cx);
	if (send_rc != 0 && send_rc != GALE_PENDING)
		return gale_scenario_error_is_broken(send_rc) ? client_break(client) : send_rc;
	int receive_rc = client_receive(client, cx);
	if (receive_rc == GALE_PENDING || (receive_rc == 0 && send_rc == GALE_PENDING))
		return GALE_PENDING;
	if (receive_rc == 0) {
		client_finish(client);
		return 0;
	}
	return gale_scenario_error_is_broken(receive_rc) ? client_break(client) : receive_rc;
}

static int client_poll(void *data, struct gale_cx *cx)
{
	struct proxy_client *client = data;
	assert(!client->is_done);
	for (;;) {
		int rc = client->is_connected ? client_transfer(client, cx)
					      : client_connect(client, cx);
		if (client->is_done)
			return 0;
		if (rc == 0)
			continue;
		if (rc != GALE_PENDING)
			client_finish(client);
		return rc;
	}
}

/* ---- Setup and check ----------------------------------------------------------------- */

static int proxy_server_start(struct gale_scenario_run *run, struct proxy_server *server,
			      const struct gale_socket_addr *addr, const char *name)
{
	assert(server->state != NULL);
	assert(server->session_poll != NULL);
	int rc = gale_tcp_listener_bind(&server->listener, &run->runtime, addr, 0);
	if (rc == 0)
		rc = gale_scenario_spawn_retry(run, name, server_accept_poll, server, false, NULL);
	return rc;
}

static int proxy_setup(struct gale_scenario_run *run, void *data)
{
	struct proxy_state *state = data;
	state->run = run;
	state->clients_count = (uint32_t)gale_scenario_draw(run, 1, PROXY_CLIENTS_MAX);
	state->proxy.state = state->backend.state = state; /* The state comes zeroed. */
	state->proxy.session_name = "proxy-session";
	state->proxy.session_poll = proxy_session_poll;
	state->backend.session_name = "backend-session";
	state->backend.session_poll = backend_session_poll;
	/* A first: unbound sockets take the first host added as their source. */
	int rc = gale_scenario_host(run, "10.0.1.1");
	if (rc == 0)
		rc = gale_scenario_host(run, "10.0.2.1");
	if (rc == 0)
		rc = gale_scenario_host(run, "10.0.3.1");
	if (rc == 0)
		rc = gale_scenario_name_add(run, "proxy", "10.0.2.1");
	if (rc == 0)
		rc = gale_scenario_name_add(run, "backend", "10.0.3.1");
	if (rc == 0)
		rc = gale_socket_addr_from_ip("10.0.2.1", PROXY_PORT, &state->proxy_addr);
	if (rc == 0)
		rc = gale_socket_addr_from_ip("10.0.2.1", 0, &state->proxy_source);
	if (rc == 0)
		rc = gale_socket_addr_from_ip("10.0.3.1", BACKEND_PORT, &state->backend_addr);
	if (rc == 0)
		rc = proxy_server_start(run, &state->proxy, &state->proxy_addr, "proxy-acceptor");
	if (rc == 0)
		rc = proxy_server_start(run, &state->backend, &state->backend_addr,
					"backend-acceptor");
	for (uint32_t i = 0; i < state->clients_count && rc == 0; i++) {
		struct proxy_client *client = &state->clients[i];
		client->state = state;
		client->index = i;
		client->pattern_seed = run->seed ^ ((uint64_t)i << 48) ^ 0x9209ull;
		client->total_len = gale_scenario_draw(run, 1, PROXY_LEN_MAX);
		rc = gale_scenario_spawn_retry(run, "proxy-client", client_poll, client, false,
					       NULL);
	}
	return rc;
}

static const struct proxy_record *proxy_record_find(const struct proxy_server *server,
						    uint16_t peer_port)
{
	assert(server->records_count <= PROXY_RECORDS_MAX);
	assert(peer_port != 0);
	/* Ports are never reused within a run (counters count up), so the last match wins. */
	for (uint32_t i = server->records_count; i > 0; i--) {
		if (server->records[i - 1].peer_port == peer_port)
			return &server->records[i - 1];
	}
	return NULL;
}

/* The client's last attempt, followed through the proxy and the backend. */
static const char *proxy_client_judge(const struct proxy_state *state,
				      const struct proxy_client *client)
{
	if (!client->is_done || client->received != client->total_len)
		return "did not read back its whole pattern";
	const struct proxy_record *proxy = proxy_record_find(&state->proxy, client->local_port);
	if (proxy == NULL || proxy->rc != 0)
		return "the proxy session of its last attempt is missing or failed";
	if (proxy->a_to_b != client->total_len || proxy->b_to_a != client->total_len)
		return "the proxy copied other byte counts than the client's length";
	const struct proxy_record *backend = proxy->backend_port == 0 ? NULL :
		proxy_record_find(&state->backend, proxy->backend_port);
	if (backend == NULL || backend->rc != 0 || backend->a_to_b != client->total_len)
		return "the backend session behind it is missing, failed or echoed other counts";
	return NULL;
}

static int proxy_check(struct gale_scenario_run *run, void *data)
{
	struct proxy_state *state = data;
	uint64_t connects = state->proxy_connects_count, refused = state->proxy_refused_count;
	uint64_t client_refused = 0, broken = 0, unreachable = state->proxy_unreachable_count;
	for (uint32_t i = 0; i < state->clients_count; i++) {
		const struct proxy_client *client = &state->clients[i];
		connects += client->connects_count;
		client_refused += client->refused_count;
		broken += client->broken_count;
		unreachable += client->unreachable_count;
		const char *why = proxy_client_judge(state, client);
		if (why != NULL)
			gale_scenario_fail(run, GALE_ORACLE_CHECK,
					   "proxy: client %u (%llu bytes, port %u): %s", i,
					   (unsigned long long)client->total_len,
					   client->local_port, why);
	}
	struct gale_sim_stats stats = gale_scenario_stats(run);
	/* The simulator counts a connect to an address no host owns as refused. */
	if (gale_scenario_backend(run) == GALE_BACKEND_SIM)
		refused += unreachable;
	if (connects != stats.connections_count || refused + client_refused !=
						    stats.connects_refused_count)
		gale_scenario_fail(run, GALE_ORACLE_CHECK,
				   "proxy: %llu connects and %llu refusals seen, the simulator "
				   "made %llu and refused %llu",
				   (unsigned long long)connects,
				   (unsigned long long)(refused + client_refused),
				   (unsigned long long)stats.connections_count,
				   (unsigned long long)stats.connects_refused_count);
	uint64_t dropped = state->proxy.dropped_count + state->backend.dropped_count;
	if (broken > 0 && gale_scenario_faults(run, GALE_FAULT_RESET) == 0 && dropped == 0)
		gale_scenario_fail(run, GALE_ORACLE_CHECK,
				   "proxy: %llu attempts broke without a RESET fault",
				   (unsigned long long)broken);
	if (unreachable > gale_scenario_faults(run, GALE_FAULT_RESOLVE_DEAD_ADDRESS))
		gale_scenario_fail(run, GALE_ORACLE_CHECK,
				   "proxy: %llu connects reached no host, more than the dead "
				   "addresses answered",
				   (unsigned long long)unreachable);
	if (client_refused > 0 && gale_scenario_faults(run, GALE_FAULT_CONNECT_REFUSED) == 0)
		gale_scenario_fail(run, GALE_ORACLE_CHECK,
				   "proxy: clients refused without a CONNECT_REFUSED fault");
	return 0;
}

static void proxy_server_teardown(struct proxy_server *server)
{
	if (gale_tcp_listener_fd(&server->listener) >= 0)
		gale_tcp_listener_close(&server->listener);
	for (size_t i = 0; i < PROXY_SLOTS_MAX; i++) {
		struct proxy_slot *slot = &server->slots[i];
		if (slot->is_connecting)
			gale_tcp_connect_host_deinit(&slot->connect);
		slot->is_connecting = false;
		if (gale_tcp_stream_is_open(&slot->accepted))
			gale_tcp_stream_close(&slot->accepted);
		if (gale_tcp_stream_is_open(&slot->backend))
			gale_tcp_stream_close(&slot->backend);
	}
}

static void proxy_teardown(struct gale_scenario_run *run, void *data)
{
	struct proxy_state *state = data;
	(void)run;
	/* After a failure tasks may have stopped with objects open; close what is. */
	proxy_server_teardown(&state->proxy);
	proxy_server_teardown(&state->backend);
	for (size_t i = 0; i < PROXY_CLIENTS_MAX; i++) {
		if (state->clients[i].is_connecting)
			gale_tcp_connect_host_deinit(&state->clients[i].connect);
		if (gale_tcp_stream_is_open(&state->clients[i].stream))
			gale_tcp_stream_close(&state->clients[i].stream);
	}
}

/* The simulator's defaults, but 16 KiB socket buffers: a stream of up to 64 KiB then
 * needs backpressure through every hop of the proxy. */
static const struct gale_sim_options proxy_sim_options = {
	.latency_ns_min = 50 * 1000,
	.latency_ns_max = 500 * 1000,
	.socket_buf_size = 16 * 1024,
	.fds_max = 65536,
};

const struct gale_scenario scn_proxy = {
	.name = "proxy",
	.description = "client -> copy_bidirectional proxy -> echo backend on three hosts",
	.state_size = sizeof(struct proxy_state),
	.setup = proxy_setup,
	.check = proxy_check,
	.teardown = proxy_teardown,
	.sim_options = &proxy_sim_options,
};
