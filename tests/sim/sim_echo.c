/* SPDX-License-Identifier: MIT */
/*
 * The echo workload (sim_echo.h): tasks on the real runtime over the sim driver.
 *
 * Every I/O step follows the edge-triggered rules: poll readiness for the direction, try
 * the op, and only when it says -EAGAIN clear exactly the readiness that was observed (the
 * reactor's tick keeps a newer event), then poll again, which stores the waker. A short
 * count never clears readiness. Any other error ends the attempt: the fd is deregistered
 * and closed, and the client starts over on a new connection after a short sleep.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <gale/error.h>
#include <gale/reactor.h>
#include <gale/rt.h>
#include <gale/sim.h>
#include <gale/time.h>

#include "sim_echo.h"

#define ECHO_PORT 7000
#define ECHO_SESSIONS_MAX 512
#define ECHO_ATTEMPTS_MAX 64
#define ECHO_SESSION_BUF_SIZE 700
#define ECHO_BACKOFF_NS INT64_C(1000000)
/* A step made progress: call it again (GALE_PENDING is 1, so this is not). */
#define STEP_AGAIN 2

struct echo_world;

/* One registered fd and the step helpers around it. */
struct echo_fd {
	int fd;            /* -1 when closed. */
	uint64_t token;    /* Reactor registration. */
	bool registered;   /* Registered with the reactor. */
};

struct echo_session {
	struct echo_world *world;
	struct echo_fd io;
	uint8_t buf[ECHO_SESSION_BUF_SIZE];
	size_t pending_len; /* Bytes read, to echo. */
	size_t cursor;      /* Of those, bytes written back. */
	bool eof;           /* The client finished sending. */
};

enum client_phase {
	CLIENT_START = 0,
	CLIENT_CONNECTING,
	CLIENT_STREAMING,
	CLIENT_BACKOFF,
	CLIENT_FINISHED,
};

struct echo_client {
	struct echo_world *world;
	uint32_t index;
	enum client_phase phase;
	struct echo_fd io;
	uint8_t message[SIM_ECHO_MESSAGE_MAX];
	uint8_t received[SIM_ECHO_MESSAGE_MAX + 1];
	size_t sent_len;
	size_t received_len;
	bool write_shut;
	bool ok;
	uint32_t attempts_count;
	struct gale_sleep backoff;
};

struct echo_server {
	struct echo_world *world;
	struct echo_fd io;
	bool started;
	bool backing_off;
	struct gale_sleep backoff;
	struct echo_session sessions[ECHO_SESSIONS_MAX];
	uint32_t sessions_used;
};

struct echo_world {
	const struct sim_echo_config *config;
	struct gale_sim sim;
	struct gale_runtime runtime;
	struct echo_server server;
	struct echo_client clients[SIM_ECHO_CLIENTS_MAX];
	uint32_t clients_finished;
	struct gale_waker server_waker;
	char message[256];
};

static struct gale_driver *world_driver(struct echo_world *world)
{
	return &world->sim.base;
}

static void world_fail(struct echo_world *world, const char *what, int rc)
{
	if (world->message[0] == '\0')
		snprintf(world->message, sizeof(world->message), "%s: %s", what,
			 gale_strerror(rc));
}

/* ---- Registered fds ------------------------------------------------------------------ */

static int echo_fd_open(struct echo_world *world, struct echo_fd *io, int fd, uint32_t interest)
{
	io->fd = fd;
	io->registered = false;
	int rc = gale_reactor_register(&world->runtime.reactor, fd, interest, &io->token);
	if (rc == 0)
		io->registered = true;
	return rc;
}

static void echo_fd_close(struct echo_world *world, struct echo_fd *io)
{
	if (io->registered)
		(void)gale_reactor_deregister(&world->runtime.reactor, io->token);
	io->registered = false;
	if (io->fd >= 0)
		(void)gale_driver_close(world_driver(world), io->fd);
	io->fd = -1;
}

/*
 * One readiness-guarded attempt: 0 with *ready_out set when the direction is ready (the
 * caller then tries the op), or GALE_PENDING with the waker stored.
 */
static int echo_fd_ready(struct echo_world *world, struct echo_fd *io,
			 enum gale_direction direction, struct gale_cx *cx,
			 struct gale_ready_event *ready_out)
{
	return gale_reactor_poll_ready(&world->runtime.reactor, io->token, direction, cx,
				       ready_out);
}

/* The op said -EAGAIN: forget exactly the readiness that was observed. */
static void echo_fd_blocked(struct echo_world *world, struct echo_fd *io,
			    struct gale_ready_event observed)
{
	gale_reactor_clear_ready(&world->runtime.reactor, io->token, observed);
}

/* ---- Server sessions ----------------------------------------------------------------- */

/* One step of a session: STEP_AGAIN, GALE_PENDING, or 0 = finished. */
static int session_step(struct echo_session *session, struct gale_cx *cx)
{
	struct echo_world *world = session->world;
	struct gale_driver *driver = world_driver(world);
	struct gale_ready_event ready;
	bool writing = session->cursor < session->pending_len;
	if (!writing && session->eof)
		return 0;
	int rc = echo_fd_ready(world, &session->io,
			       writing ? GALE_DIRECTION_WRITE : GALE_DIRECTION_READ, cx, &ready);
	if (rc != 0)
		return rc == GALE_PENDING ? GALE_PENDING : 0;
	ssize_t n = writing ? gale_driver_write(driver, session->io.fd,
					       session->buf + session->cursor,
					       session->pending_len - session->cursor)
			    : gale_driver_read(driver, session->io.fd, session->buf,
					       sizeof(session->buf));
	if (n == -EAGAIN) {
		echo_fd_blocked(world, &session->io, ready);
		return STEP_AGAIN;
	}
	if (n < 0)
		return 0; /* Reset or broken: this session is over; the client retries. */
	if (writing) {
		session->cursor += (size_t)n;
		if (session->cursor == session->pending_len)
			session->cursor = session->pending_len = 0;
	} else if (n == 0) {
		session->eof = true;
	} else {
		session->pending_len = (size_t)n;
	}
	return STEP_AGAIN;
}

static int session_poll(void *data, struct gale_cx *cx)
{
	struct echo_session *session = data;
	for (;;) {
		int rc = session_step(session, cx);
		if (rc == GALE_PENDING)
			return GALE_PENDING;
		if (rc == 0)
			break;
	}
	echo_fd_close(session->world, &session->io);
	return 0;
}

/* ---- The accept loop ----------------------------------------------------------------- */

static int server_start(struct echo_server *server)
{
	struct echo_world *world = server->world;
	struct gale_driver *driver = world_driver(world);
	int fd = gale_driver_socket(driver, AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return fd;
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(ECHO_PORT)};
	inet_pton(AF_INET, "10.0.0.1", &addr.sin_addr);
	int rc = gale_driver_sockopt_set(driver, fd, GALE_SOCKOPT_REUSEADDR, 1);
	if (rc == 0)
		rc = gale_driver_bind(driver, fd, (const struct sockaddr *)&addr, sizeof(addr));
	if (rc == 0)
		rc = gale_driver_listen(driver, fd, 4);
	if (rc == 0)
		rc = echo_fd_open(world, &server->io, fd, GALE_READY_READ);
	if (rc < 0) {
		server->io.fd = fd;
		echo_fd_close(world, &server->io);
		return rc;
	}
	server->started = true;
	return 0;
}

static void server_session_start(struct echo_server *server, int fd)
{
	struct echo_world *world = server->world;
	if (server->sessions_used == ECHO_SESSIONS_MAX) {
		(void)gale_driver_close(world_driver(world), fd); /* The client will retry. */
		return;
	}
	struct echo_session *session = &server->sessions[server->sessions_used++];
	*session = (struct echo_session){.world = world};
	struct gale_task_handle handle;
	int rc = echo_fd_open(world, &session->io, fd, GALE_READY_INTEREST_ALL);
	if (rc == 0)
		rc = gale_executor_spawn(&world->runtime.executor, session_poll, session, &handle);
	if (rc == 0)
		rc = gale_executor_detach(&world->runtime.executor, handle);
	if (rc < 0) {
		world_fail(world, "session start", rc);
		echo_fd_close(world, &session->io);
	}
}

/* One accept: STEP_AGAIN, GALE_PENDING or < 0 (the listener is gone). */
static int server_accept_step(struct echo_server *server, struct gale_cx *cx)
{
	struct echo_world *world = server->world;
	if (server->backing_off) {
		if (gale_sleep_poll(&server->backoff, cx) == GALE_PENDING)
			return GALE_PENDING;
		gale_sleep_deinit(&server->backoff);
		server->backing_off = false;
	}
	struct gale_ready_event ready;
	int rc = echo_fd_ready(world, &server->io, GALE_DIRECTION_READ, cx, &ready);
	if (rc != 0)
		return rc;
	int fd = gale_driver_accept(world_driver(world), server->io.fd, NULL, NULL);
	if (fd == -EAGAIN) {
		echo_fd_blocked(world, &server->io, ready);
	} else if (fd == -EMFILE) {
		/* Out of fds: wait a little; the connection stays queued meanwhile. */
		gale_sleep_init(&server->backoff, &world->runtime, ECHO_BACKOFF_NS);
		server->backing_off = true;
	} else if (fd == -ECONNABORTED) {
		/* A connection left before it was taken: take the next. */
	} else if (fd < 0) {
		world_fail(world, "accept", fd);
	} else {
		server_session_start(server, fd);
	}
	return STEP_AGAIN;
}

static int server_poll(void *data, struct gale_cx *cx)
{
	struct echo_server *server = data;
	struct echo_world *world = server->world;
	world->server_waker = cx->waker; /* Finishing clients wake the accept loop. */
	if (!server->started) {
		int rc = server_start(server);
		if (rc < 0) {
			world_fail(world, "server start", rc);
			return rc;
		}
	}
	while (world->clients_finished < world->config->clients_count) {
		int rc = server_accept_step(server, cx);
		if (rc == GALE_PENDING)
			return GALE_PENDING;
		if (rc < 0) {
			world_fail(world, "listener", rc);
			break;
		}
	}
	if (server->backing_off)
		gale_sleep_deinit(&server->backoff);
	echo_fd_close(world, &server->io);
	return 0;
}

/* ---- Clients ------------------------------------------------------------------------- */

static int client_connect(struct echo_client *client)
{
	struct echo_world *world = client->world;
	struct gale_driver *driver = world_driver(world);
	int fd = gale_driver_socket(driver, AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return fd;
	client->io.fd = fd;
	struct sockaddr_in addr = {.sin_family = AF_INET};
	inet_pton(AF_INET, "10.0.0.2", &addr.sin_addr);
	int rc = gale_driver_bind(driver, fd, (const struct sockaddr *)&addr, sizeof(addr));
	addr.sin_port = htons(ECHO_PORT);
	inet_pton(AF_INET, "10.0.0.1", &addr.sin_addr);
	if (rc == 0)
		rc = gale_driver_connect(driver, fd, (const struct sockaddr *)&addr, sizeof(addr));
	if (rc != 0 && rc != -EINPROGRESS)
		return rc;
	return echo_fd_open(world, &client->io, fd, GALE_READY_INTEREST_ALL);
}

static void client_attempt_end(struct echo_client *client)
{
	struct echo_world *world = client->world;
	echo_fd_close(world, &client->io);
	gale_sleep_init(&client->backoff, &world->runtime, ECHO_BACKOFF_NS);
	client->phase = CLIENT_BACKOFF;
}

/* The write half of streaming: STEP_AGAIN, GALE_PENDING, 0 = done, < 0 = failed. */
static int client_write_step(struct echo_client *client, struct gale_cx *cx)
{
	struct echo_world *world = client->world;
	size_t len = world->config->message_len;
	if (client->write_shut)
		return 0;
	struct gale_ready_event ready;
	int rc = echo_fd_ready(world, &client->io, GALE_DIRECTION_WRITE, cx, &ready);
	if (rc != 0)
		return rc == GALE_PENDING ? GALE_PENDING : rc;
	if (client->sent_len == len) {
		rc = gale_driver_shutdown(world_driver(world), client->io.fd, GALE_SHUTDOWN_WRITE);
		client->write_shut = rc == 0;
		return rc < 0 ? rc : STEP_AGAIN;
	}
	ssize_t n = gale_driver_write(world_driver(world), client->io.fd,
				      client->message + client->sent_len, len - client->sent_len);
	if (n == -EAGAIN) {
		echo_fd_blocked(world, &client->io, ready);
		return STEP_AGAIN;
	}
	if (n <= 0)
		return n < 0 ? (int)n : GALE_E_WRITE_ZERO;
	client->sent_len += (size_t)n;
	return STEP_AGAIN;
}

/* The read half: STEP_AGAIN, GALE_PENDING, 0 = the exact echo and its end arrived. */
static int client_read_step(struct echo_client *client, struct gale_cx *cx)
{
	struct echo_world *world = client->world;
	size_t len = world->config->message_len;
	struct gale_ready_event ready;
	int rc = echo_fd_ready(world, &client->io, GALE_DIRECTION_READ, cx, &ready);
	if (rc != 0)
		return rc == GALE_PENDING ? GALE_PENDING : rc;
	/* Room for one byte more than expected, so an excess byte would be seen. */
	ssize_t n = gale_driver_read(world_driver(world), client->io.fd,
				     client->received + client->received_len,
				     len + 1 - client->received_len);
	if (n == -EAGAIN) {
		echo_fd_blocked(world, &client->io, ready);
		return STEP_AGAIN;
	}
	if (n < 0)
		return (int)n;
	if (n > 0) {
		client->received_len += (size_t)n;
		return client->received_len > len ? GALE_E_LIMIT : STEP_AGAIN;
	}
	/* End of stream: an early one is a failed attempt (e.g. after a reset). */
	if (client->received_len < len || !client->write_shut)
		return GALE_E_UNEXPECTED_EOF;
	if (memcmp(client->received, client->message, len) != 0) {
		world_fail(world, "echo differs from the message", GALE_E_LIMIT);
		return GALE_E_LIMIT;
	}
	return 0;
}

/* Streaming: both halves make progress independently; pending only when both wait. */
static int client_stream(struct echo_client *client, struct gale_cx *cx)
{
	for (;;) {
		int written = client_write_step(client, cx);
		if (written < 0 && written != GALE_PENDING)
			return written;
		int read = client_read_step(client, cx);
		if (read < 0 && read != GALE_PENDING)
			return read;
		if (read == 0)
			return 0;
		if (written == GALE_PENDING && read == GALE_PENDING)
			return GALE_PENDING;
		if (written == 0 && read == GALE_PENDING)
			return GALE_PENDING;
	}
}

/* One phase step: STEP_AGAIN, GALE_PENDING, or 0 = finished. */
static int client_step(struct echo_client *client, struct gale_cx *cx)
{
	struct echo_world *world = client->world;
	int rc;
	switch (client->phase) {
	case CLIENT_START:
		if (++client->attempts_count > ECHO_ATTEMPTS_MAX) {
			world_fail(world, "client gave up", GALE_E_LIMIT);
			client->phase = CLIENT_FINISHED;
			return STEP_AGAIN;
		}
		client->sent_len = client->received_len = 0;
		client->write_shut = false;
		rc = client_connect(client);
		if (rc < 0) {
			client_attempt_end(client);
			return STEP_AGAIN;
		}
		client->phase = CLIENT_CONNECTING;
		return STEP_AGAIN;
	case CLIENT_CONNECTING: {
		struct gale_ready_event ready;
		rc = echo_fd_ready(world, &client->io, GALE_DIRECTION_WRITE, cx, &ready);
		if (rc == GALE_PENDING)
			return GALE_PENDING;
		/* Writability may be a hint only; a write then says -EAGAIN, which is fine. */
		rc = gale_driver_socket_error_take(world_driver(world), client->io.fd);
		if (rc < 0)
			client_attempt_end(client);
		else
			client->phase = CLIENT_STREAMING;
		return STEP_AGAIN;
	}
	case CLIENT_STREAMING:
		rc = client_stream(client, cx);
		if (rc == GALE_PENDING)
			return GALE_PENDING;
		if (rc < 0) {
			client_attempt_end(client);
			return STEP_AGAIN;
		}
		client->ok = true;
		echo_fd_close(world, &client->io);
		client->phase = CLIENT_FINISHED;
		return STEP_AGAIN;
	case CLIENT_BACKOFF:
		if (gale_sleep_poll(&client->backoff, cx) == GALE_PENDING)
			return GALE_PENDING;
		gale_sleep_deinit(&client->backoff);
		client->phase = CLIENT_START;
		return STEP_AGAIN;
	default:
		return 0;
	}
}

static int client_poll(void *data, struct gale_cx *cx)
{
	struct echo_client *client = data;
	for (;;) {
		int rc = client_step(client, cx);
		if (rc == GALE_PENDING)
			return GALE_PENDING;
		if (rc == 0)
			break;
	}
	client->world->clients_finished++;
	gale_waker_wake(&client->world->server_waker);
	return 0;
}

/* ---- The run ------------------------------------------------------------------------- */

static int world_init(struct echo_world *world, const struct sim_echo_config *config)
{
	world->config = config;
	struct gale_sim_options options = gale_sim_options_default();
	options.seed = config->seed;
	options.profile = config->profile;
	options.trace = config->trace;
	options.socket_buf_size = config->socket_buf_size;
	options.latency_ns_min = config->latency_ns_min;
	options.latency_ns_max = config->latency_ns_max;
	int rc = gale_sim_init(&world->sim, &options);
	if (rc < 0)
		return rc;
	if (gale_sim_host_add(&world->sim, "10.0.0.1", NULL) < 0 ||
	    gale_sim_host_add(&world->sim, "10.0.0.2", NULL) < 0)
		return -EINVAL;
	struct gale_runtime_options runtime_options = gale_runtime_options_default();
	runtime_options.registrations_max = 64;
	rc = gale_runtime_init(&world->runtime, world_driver(world), &runtime_options);
	if (rc < 0)
		return rc;
	gale_executor_schedule_set(&world->runtime.executor, gale_sim_schedule, &world->sim);
	return 0;
}

static int world_spawn(struct echo_world *world)
{
	const struct sim_echo_config *config = world->config;
	struct gale_executor *executor = &world->runtime.executor;
	struct gale_task_handle handle;
	world->server = (struct echo_server){.world = world, .io = {.fd = -1}};
	int rc = gale_executor_spawn(executor, server_poll, &world->server, &handle);
	if (rc == 0)
		rc = gale_executor_detach(executor, handle);
	uint64_t pattern = config->seed * UINT64_C(6364136223846793005) + 1;
	for (uint32_t i = 0; rc == 0 && i < config->clients_count; i++) {
		struct echo_client *client = &world->clients[i];
		client->world = world;
		client->index = i;
		client->io.fd = -1;
		for (size_t j = 0; j < config->message_len; j++) {
			pattern = pattern * UINT64_C(6364136223846793005) + 1442695040888963407u;
			client->message[j] = (uint8_t)(pattern >> 56);
		}
		rc = gale_executor_spawn(executor, client_poll, client, &handle);
		if (rc == 0)
			rc = gale_executor_detach(executor, handle);
	}
	return rc;
}

/* Collects the results and tears everything down, reporting what would not come down. */
static void world_finish(struct echo_world *world, struct sim_echo_result *result)
{
	for (uint32_t i = 0; i < world->config->clients_count; i++) {
		result->clients_ok += world->clients[i].ok;
		result->attempts_count += world->clients[i].attempts_count;
	}
	result->stats = gale_sim_stats_get(&world->sim);
	result->streams_check = gale_sim_check_streams(&world->sim, NULL, 0);
	if (result->streams_check != GALE_SIM_CHECK_OK)
		gale_sim_check_streams(&world->sim, world->message, sizeof(world->message));
	result->trace_hash = world->config->trace != NULL ? gale_trace_hash(world->config->trace)
							   : 0;
	int rc = gale_runtime_deinit(&world->runtime);
	if (rc < 0)
		world_fail(world, "runtime deinit", rc);
	rc = gale_sim_deinit(&world->sim);
	if (rc < 0) {
		struct gale_sim_leaks leaks;
		gale_sim_leaks(&world->sim, &leaks);
		char text[128];
		gale_sim_fd_describe(&world->sim, leaks.fds[0], text, sizeof(text));
		world_fail(world, text, rc);
		gale_driver_deinit(world_driver(world));
	}
	memcpy(result->message, world->message, sizeof(result->message));
}

int sim_echo_run(const struct sim_echo_config *config, struct sim_echo_result *result)
{
	*result = (struct sim_echo_result){0};
	struct echo_world *world = calloc(1, sizeof(*world));
	if (world == NULL)
		return -ENOMEM;
	int rc = world_init(world, config);
	if (rc == 0)
		rc = world_spawn(world);
	if (rc == 0)
		rc = gale_runtime_run(&world->runtime);
	result->run_rc = rc;
	if (rc < 0)
		world_fail(world, "run", rc);
	world_finish(world, result);
	free(world);
	bool ok = result->run_rc == 0 && result->clients_ok == config->clients_count &&
		  result->streams_check == GALE_SIM_CHECK_OK && result->message[0] == '\0';
	return ok ? 0 : -1;
}
