/* SPDX-License-Identifier: MIT */
/*
 * gale's own TCP code (net/: listener, connect future, streams) and io/'s combinators
 * (copy, write_all, read_exact) running unchanged on the simulated driver, as they run on
 * epoll: an echo server (accept, copy the stream onto itself, shut down) and clients on
 * another host (connect, write_all, shutdown, read_exact, expect end of stream).
 *
 * Methodology: a quiet run pins exact figures; then seeds sweep the harsh profile (default
 * 64; GALE_TEST_SEEDS / GALE_TEST_SEED as usual) and every client must get its exact
 * message back, reconnecting after resets and refusals, with the stream oracle passing
 * and nothing left open. A failing seed is printed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gale/copy.h>
#include <gale/error.h>
#include <gale/read_exact.h>
#include <gale/rt.h>
#include <gale/sim.h>
#include <gale/sim_profile.h>
#include <gale/socket_addr.h>
#include <gale/tcp.h>
#include <gale/time.h>
#include <gale/write_all.h>

#include "test_support.h"

#define MS INT64_C(1000000)
#define CLIENTS_COUNT 3
#define MESSAGE_LEN 3000
#define SESSIONS_MAX 256
#define ATTEMPTS_MAX 64

struct tcp_world;

struct tcp_session {
	struct tcp_world *world;
	struct gale_tcp_stream stream;
	struct gale_copy copy;
	uint8_t buf[512];
};

enum tcp_client_phase {
	PHASE_CONNECT = 0,
	PHASE_WRITE,
	PHASE_READ,
	PHASE_EOF,
	PHASE_BACKOFF,
	PHASE_DONE,
};

struct tcp_client {
	struct tcp_world *world;
	enum tcp_client_phase phase;
	struct gale_tcp_connect connect;
	struct gale_tcp_stream stream;
	struct gale_write_all write_all;
	struct gale_read_exact read_exact;
	struct gale_sleep backoff;
	uint8_t message[MESSAGE_LEN];
	uint8_t received[MESSAGE_LEN + 1];
	uint32_t attempts_count;
	bool ok;
};

struct tcp_world {
	struct gale_sim sim;
	struct gale_runtime runtime;
	struct gale_tcp_listener listener;
	struct gale_socket_addr server_addr;
	struct tcp_session sessions[SESSIONS_MAX];
	uint32_t sessions_used;
	struct tcp_client clients[CLIENTS_COUNT];
	uint32_t clients_finished;
	struct gale_waker server_waker;
	int failure;
};

/* ---- Server -------------------------------------------------------------------------- */

static int session_poll(void *data, struct gale_cx *cx)
{
	struct tcp_session *session = data;
	int rc = gale_copy_poll(&session->copy, cx);
	if (rc == GALE_PENDING)
		return GALE_PENDING;
	if (rc == 0)
		(void)gale_tcp_stream_shutdown(&session->stream, GALE_SHUTDOWN_WRITE);
	/* Errors (a reset client) just end the session: the client tries again. */
	(void)gale_tcp_stream_close(&session->stream);
	return 0;
}

/* Starts the echo of an accepted stream (already in its session slot). */
static void session_start(struct tcp_world *world, struct tcp_session *session)
{
	session->world = world;
	gale_copy_init(&session->copy, gale_tcp_stream_reader(&session->stream),
		       gale_tcp_stream_writer(&session->stream), session->buf,
		       sizeof(session->buf));
	struct gale_task_handle handle;
	int rc = gale_executor_spawn(&world->runtime.executor, session_poll, session, &handle);
	if (rc == 0)
		rc = gale_executor_detach(&world->runtime.executor, handle);
	assert_int_equal(rc, 0);
}

static int server_poll(void *data, struct gale_cx *cx)
{
	struct tcp_world *world = data;
	world->server_waker = cx->waker;
	while (world->clients_finished < CLIENTS_COUNT) {
		assert_true(world->sessions_used < SESSIONS_MAX);
		struct tcp_session *session = &world->sessions[world->sessions_used];
		int rc = gale_tcp_listener_poll_accept(&world->listener, cx, &session->stream,
						       NULL);
		if (rc == GALE_PENDING)
			return GALE_PENDING;
		if (rc < 0) {
			world->failure = rc;
			break;
		}
		world->sessions_used++;
		session_start(world, session);
	}
	assert_int_equal(gale_tcp_listener_close(&world->listener), 0);
	return 0;
}

/* ---- Clients ------------------------------------------------------------------------- */

static void client_attempt_end(struct tcp_client *client)
{
	if (gale_tcp_stream_is_open(&client->stream))
		(void)gale_tcp_stream_close(&client->stream);
	gale_sleep_init(&client->backoff, &client->world->runtime, MS);
	client->phase = PHASE_BACKOFF;
}

/* The end of stream after the echo: 0, GALE_PENDING, or an error (excess or failure). */
static int client_eof_poll(struct tcp_client *client, struct gale_cx *cx)
{
	struct gale_read_buf rb;
	gale_read_buf_init(&rb, client->received + MESSAGE_LEN, 1);
	int rc = gale_tcp_stream_poll_read(&client->stream, cx, &rb);
	if (rc != 0)
		return rc;
	return rb.len_filled == 0 ? 0 : GALE_E_LIMIT;
}

/* One phase: 0 = phase done (moved on), GALE_PENDING, or < 0 = the attempt failed. */
static int client_phase_poll(struct tcp_client *client, struct gale_cx *cx)
{
	struct tcp_world *world = client->world;
	int rc;
	switch (client->phase) {
	case PHASE_CONNECT:
		rc = gale_tcp_connect_poll(&client->connect, cx, &client->stream);
		if (rc != 0)
			return rc;
		gale_write_all_init(&client->write_all, gale_tcp_stream_writer(&client->stream),
				    client->message, MESSAGE_LEN);
		client->phase = PHASE_WRITE;
		return 0;
	case PHASE_WRITE:
		rc = gale_write_all_poll(&client->write_all, cx);
		if (rc == 0)
			rc = gale_tcp_stream_shutdown(&client->stream, GALE_SHUTDOWN_WRITE);
		if (rc != 0)
			return rc;
		gale_read_exact_init(&client->read_exact, gale_tcp_stream_reader(&client->stream),
				     client->received, MESSAGE_LEN);
		client->phase = PHASE_READ;
		return 0;
	case PHASE_READ:
		rc = gale_read_exact_poll(&client->read_exact, cx);
		if (rc == 0)
			client->phase = PHASE_EOF;
		return rc;
	case PHASE_EOF:
		rc = client_eof_poll(client, cx);
		if (rc == 0) {
			client->ok = memcmp(client->received, client->message, MESSAGE_LEN) == 0;
			(void)gale_tcp_stream_close(&client->stream);
			client->phase = PHASE_DONE;
		}
		return rc;
	default:
		assert_int_equal(client->phase, PHASE_BACKOFF);
		rc = gale_sleep_poll(&client->backoff, cx);
		if (rc != 0)
			return rc;
		gale_sleep_deinit(&client->backoff);
		gale_tcp_connect_init(&client->connect, &world->runtime, &world->server_addr, 1);
		client->attempts_count++;
		client->phase = PHASE_CONNECT;
		return 0;
	}
}

static int client_poll(void *data, struct gale_cx *cx)
{
	struct tcp_client *client = data;
	while (client->phase != PHASE_DONE) {
		int rc = client_phase_poll(client, cx);
		if (rc == GALE_PENDING)
			return GALE_PENDING;
		if (rc < 0 && client->attempts_count >= ATTEMPTS_MAX) {
			client->world->failure = rc;
			break;
		}
		if (rc < 0) {
			gale_tcp_connect_deinit(&client->connect);
			client_attempt_end(client);
		}
	}
	client->world->clients_finished++;
	gale_waker_wake(&client->world->server_waker);
	return 0;
}

/* ---- Runs ---------------------------------------------------------------------------- */

struct tcp_run {
	uint32_t clients_ok;
	uint32_t attempts_count;
	struct gale_sim_stats stats;
};

static void world_start(struct tcp_world *world, uint64_t seed,
			const struct gale_fault_profile *profile)
{
	struct gale_sim_options options = gale_sim_options_default();
	options.seed = seed;
	options.profile = profile;
	options.socket_buf_size = 4096;
	options.latency_ns_min = profile != NULL ? 100000 : MS;
	options.latency_ns_max = profile != NULL ? 2 * MS : MS;
	assert_int_equal(gale_sim_init(&world->sim, &options), 0);
	/* The client's host is added first: it becomes the source of unbound connects. */
	assert_int_equal(gale_sim_host_add(&world->sim, "10.0.0.2", NULL), 0);
	assert_int_equal(gale_sim_host_add(&world->sim, "10.0.0.1", NULL), 0);
	assert_int_equal(gale_runtime_init(&world->runtime, &world->sim.base, NULL), 0);
	gale_executor_schedule_set(&world->runtime.executor, gale_sim_schedule, &world->sim);
	assert_int_equal(gale_socket_addr_parse("10.0.0.1:7000", &world->server_addr), 0);
	assert_int_equal(gale_tcp_listener_bind(&world->listener, &world->runtime,
						&world->server_addr, 4),
			 0);
}

static void world_spawn(struct tcp_world *world, uint64_t seed)
{
	struct gale_task_handle handle;
	assert_int_equal(gale_executor_spawn(&world->runtime.executor, server_poll, world, &handle),
			 0);
	assert_int_equal(gale_executor_detach(&world->runtime.executor, handle), 0);
	for (uint32_t i = 0; i < CLIENTS_COUNT; i++) {
		struct tcp_client *client = &world->clients[i];
		client->world = world;
		for (size_t j = 0; j < MESSAGE_LEN; j++)
			client->message[j] = (uint8_t)(seed * 31 + i * 7 + j * 13);
		gale_tcp_connect_init(&client->connect, &world->runtime, &world->server_addr, 1);
		client->attempts_count = 1;
		assert_int_equal(gale_executor_spawn(&world->runtime.executor, client_poll, client,
						     &handle),
				 0);
		assert_int_equal(gale_executor_detach(&world->runtime.executor, handle), 0);
	}
}

static struct tcp_run tcp_run_seed(uint64_t seed, const struct gale_fault_profile *profile)
{
	struct tcp_world *world = calloc(1, sizeof(*world));
	assert_non_null(world);
	world_start(world, seed, profile);
	world_spawn(world, seed);
	int rc = gale_runtime_run(&world->runtime);
	char message[256];
	if (rc != 0 || world->failure != 0)
		fail_msg("seed=0x%llx: run %s, failure %s", (unsigned long long)seed,
			 gale_strerror(rc), gale_strerror(world->failure));
	struct tcp_run run = {.stats = gale_sim_stats_get(&world->sim)};
	for (uint32_t i = 0; i < CLIENTS_COUNT; i++) {
		run.clients_ok += world->clients[i].ok;
		run.attempts_count += world->clients[i].attempts_count;
	}
	if (gale_sim_check_streams(&world->sim, message, sizeof(message)) != GALE_SIM_CHECK_OK)
		fail_msg("seed=0x%llx: %s", (unsigned long long)seed, message);
	assert_int_equal(gale_runtime_deinit(&world->runtime), 0);
	assert_int_equal(gale_sim_deinit(&world->sim), 0);
	free(world);
	return run;
}

static void test_tcp_echo_quiet_exact(void **state)
{
	(void)state;
	struct tcp_run run = tcp_run_seed(1, NULL);
	assert_int_equal(run.clients_ok, CLIENTS_COUNT);
	assert_int_equal(run.attempts_count, CLIENTS_COUNT);
	assert_int_equal(run.stats.connections_count, CLIENTS_COUNT);
	assert_int_equal(run.stats.resets_count, 0);
	assert_int_equal(run.stats.bytes_delivered, 2 * CLIENTS_COUNT * MESSAGE_LEN);
	assert_int_equal(run.stats.fds_open_count, 0);
}

static void test_tcp_echo_harsh_seeds(void **state)
{
	(void)state;
	const struct gale_fault_profile *harsh = gale_fault_profile_find("harsh");
	assert_non_null(harsh);
	struct gale_test_seeds seeds = gale_test_seeds_get(64);
	uint64_t resets = 0;
	for (uint64_t i = 0; i < seeds.count; i++) {
		struct tcp_run run = tcp_run_seed(seeds.first + i, harsh);
		if (run.clients_ok != CLIENTS_COUNT)
			fail_msg("seed=0x%llx: %u of %u clients got their echo",
				 (unsigned long long)(seeds.first + i), run.clients_ok,
				 CLIENTS_COUNT);
		resets += run.stats.resets_count;
	}
	if (seeds.count >= 32)
		assert_true(resets > 0); /* The sweep did meet resets, and survived them. */
}

/* A connect bound to a source address first: the connection comes from that host. */
struct bound_connect {
	struct tcp_world *world;
	struct gale_tcp_connect connect;
	struct gale_tcp_stream client;   /* The connected client end. */
	struct gale_tcp_stream accepted; /* The server's end. */
	struct gale_socket_addr peer;    /* Who the server saw. */
	int connect_rc, accept_rc;       /* Results (GALE_PENDING until done). */
};

static int bound_accept_poll(void *data, struct gale_cx *cx)
{
	struct bound_connect *b = data;
	b->accept_rc = gale_tcp_listener_poll_accept(&b->world->listener, cx, &b->accepted,
						     &b->peer);
	return b->accept_rc == GALE_PENDING ? GALE_PENDING : 0;
}

static int bound_connect_poll(void *data, struct gale_cx *cx)
{
	struct bound_connect *b = data;
	b->connect_rc = gale_tcp_connect_poll(&b->connect, cx, &b->client);
	return b->connect_rc == GALE_PENDING ? GALE_PENDING : 0;
}

static void test_tcp_connect_bind_picks_the_source_host(void **state)
{
	(void)state;
	struct tcp_world *world = calloc(1, sizeof(*world));
	assert_non_null(world);
	world_start(world, 1, NULL);
	assert_int_equal(gale_sim_host_add(&world->sim, "10.0.0.3", NULL), 0);
	struct gale_socket_addr local, want;
	assert_int_equal(gale_socket_addr_parse("10.0.0.3:0", &local), 0);
	struct bound_connect b = {.world = world, .connect_rc = GALE_PENDING,
				  .accept_rc = GALE_PENDING};
	gale_tcp_connect_init(&b.connect, &world->runtime, &world->server_addr, 1);
	gale_tcp_connect_bind(&b.connect, &local);
	struct gale_task_handle h1, h2;
	assert_int_equal(gale_executor_spawn(&world->runtime.executor, bound_accept_poll, &b, &h1),
			 0);
	assert_int_equal(gale_executor_spawn(&world->runtime.executor, bound_connect_poll, &b,
					     &h2), 0);
	assert_int_equal(gale_runtime_run(&world->runtime), 0);
	assert_int_equal(b.connect_rc, 0);
	assert_int_equal(b.accept_rc, 0);
	/* Without the bind it would be 10.0.0.2, the first host added. */
	assert_int_equal(gale_tcp_stream_local_addr(&b.client, &want), 0);
	assert_true(gale_socket_addr_is_equal(&b.peer, &want));
	char text[GALE_SOCKET_ADDR_TEXT_MAX];
	assert_true(gale_socket_addr_format(&b.peer, text, sizeof(text)) > 0);
	assert_non_null(strstr(text, "10.0.0.3:"));
	int result = 0;
	assert_int_equal(gale_executor_try_join(&world->runtime.executor, h1, &result), 0);
	assert_int_equal(gale_executor_try_join(&world->runtime.executor, h2, &result), 0);
	gale_tcp_stream_close(&b.client);
	gale_tcp_stream_close(&b.accepted);
	gale_tcp_connect_deinit(&b.connect);

	/* A source no host owns: the attempt fails, the error is the bind's. */
	struct gale_tcp_stream stream;
	struct gale_cx cx = {gale_waker_none()};
	assert_int_equal(gale_socket_addr_parse("10.0.0.9:0", &local), 0);
	gale_tcp_connect_init(&b.connect, &world->runtime, &world->server_addr, 1);
	gale_tcp_connect_bind(&b.connect, &local);
	assert_int_equal(gale_tcp_connect_poll(&b.connect, &cx, &stream), -EADDRNOTAVAIL);
	gale_tcp_connect_deinit(&b.connect);
	/* Another family than the destination's. */
	assert_int_equal(gale_socket_addr_parse("[::1]:0", &local), 0);
	gale_tcp_connect_init(&b.connect, &world->runtime, &world->server_addr, 1);
	gale_tcp_connect_bind(&b.connect, &local);
	assert_int_equal(gale_tcp_connect_poll(&b.connect, &cx, &stream), -EINVAL);
	gale_tcp_connect_deinit(&b.connect);
	/* Addresses are tried in order: one whose bind fails is skipped like a refused one,
	 * the next is connected (an IPv6 destination first, then the server's IPv4). */
	struct gale_socket_addr two[2];
	assert_int_equal(gale_socket_addr_parse("[::1]:7000", &two[0]), 0);
	two[1] = world->server_addr;
	assert_int_equal(gale_socket_addr_parse("10.0.0.3:0", &local), 0);
	b.connect_rc = b.accept_rc = GALE_PENDING;
	gale_tcp_connect_init(&b.connect, &world->runtime, two, 2);
	gale_tcp_connect_bind(&b.connect, &local);
	assert_int_equal(gale_executor_spawn(&world->runtime.executor, bound_accept_poll, &b, &h1),
			 0);
	assert_int_equal(gale_executor_spawn(&world->runtime.executor, bound_connect_poll, &b,
					     &h2), 0);
	assert_int_equal(gale_runtime_run(&world->runtime), 0);
	assert_int_equal(b.connect_rc, 0);
	assert_int_equal(b.accept_rc, 0);
	assert_true(gale_socket_addr_format(&b.peer, text, sizeof(text)) > 0);
	assert_non_null(strstr(text, "10.0.0.3:"));
	assert_int_equal(gale_executor_try_join(&world->runtime.executor, h1, &result), 0);
	assert_int_equal(gale_executor_try_join(&world->runtime.executor, h2, &result), 0);
	gale_tcp_stream_close(&b.client);
	gale_tcp_stream_close(&b.accepted);
	gale_tcp_connect_deinit(&b.connect);
	gale_tcp_listener_close(&world->listener);
	assert_int_equal(gale_runtime_deinit(&world->runtime), 0);
	assert_int_equal(gale_sim_deinit(&world->sim), 0);
	free(world);
}

/* Issue 13: values a caller can plausibly pass asserted deep in net/ (a zeroed address
 * from a failed parse in connect and bind, backlog -5, an iov_count out of range, an
 * empty interest). Each is an error code now, and nothing is left open. */
static void test_tcp_bad_values_are_errors(void **state)
{
	(void)state;
	struct tcp_world *world = calloc(1, sizeof(*world));
	assert_non_null(world);
	world_start(world, 1, NULL);
	struct gale_runtime *runtime = &world->runtime;
	struct gale_cx cx = {gale_waker_none()};
	struct gale_socket_addr zeroed[2];
	assert_int_equal(gale_socket_addr_parse("10.0.0.1:port", &zeroed[0]), -EINVAL);
	zeroed[1] = zeroed[0];

	/* connect: each address of no family fails like a refused socket(); the last error
	 * is the result. */
	struct gale_tcp_connect connect;
	struct gale_tcp_stream stream;
	gale_tcp_connect_init(&connect, runtime, zeroed, 2);
	assert_int_equal(gale_tcp_connect_poll(&connect, &cx, &stream), -EAFNOSUPPORT);
	gale_tcp_connect_deinit(&connect);

	/* bind: a negative backlog and an address of no family. */
	struct gale_tcp_listener listener;
	assert_int_equal(gale_tcp_listener_bind_text(&listener, runtime, "10.0.0.1:7001", -5),
			 -EINVAL);
	assert_int_equal(gale_tcp_listener_fd(&listener), -1);
	assert_int_equal(gale_tcp_listener_bind(&listener, runtime, &zeroed[0], 0), -EAFNOSUPPORT);
	assert_int_equal(gale_tcp_listener_fd(&listener), -1);

	/* A stream: iov counts out of range and interests that are not READ and/or WRITE. */
	int fds[2];
	assert_int_equal(gale_driver_socketpair(&world->sim.base, fds), 0);
	assert_int_equal(gale_tcp_stream_from_fd(&stream, runtime, fds[0]), 0);
	struct iovec iov = {.iov_base = world->clients[0].message, .iov_len = 1};
	size_t n = 0;
	assert_int_equal(gale_tcp_stream_try_read_vectored(&stream, &iov, -1), -EINVAL);
	assert_int_equal(gale_tcp_stream_try_write_vectored(&stream, &iov,
							     GALE_ASYNC_IO_IOV_MAX + 1),
			 -EINVAL);
	assert_int_equal(gale_tcp_stream_poll_writev(&stream, &cx, &iov, -1, &n), -EINVAL);
	assert_int_equal(n, 0);
	struct gale_tcp_ready ready;
	gale_tcp_ready_init(&ready, &stream, 0);
	assert_int_equal(gale_tcp_ready_poll(&ready, &cx, NULL), -EINVAL);
	gale_tcp_ready_deinit(&ready);
	gale_tcp_ready_init(&ready, &stream, GALE_READY_HUP);
	assert_int_equal(gale_tcp_ready_poll(&ready, &cx, NULL), -EINVAL);
	gale_tcp_ready_deinit(&ready);
	/* The stream still works. */
	assert_true(gale_runtime_turn(runtime, 0) == 0);
	assert_int_equal(gale_tcp_stream_try_write_vectored(&stream, &iov, 1), 1);

	assert_int_equal(gale_tcp_stream_close(&stream), 0);
	assert_int_equal(gale_driver_close(&world->sim.base, fds[1]), 0);
	assert_int_equal(gale_tcp_listener_close(&world->listener), 0);
	assert_int_equal(gale_runtime_deinit(runtime), 0);
	assert_int_equal(gale_sim_deinit(&world->sim), 0);
	free(world);
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_echo_quiet_exact),
		cmocka_unit_test(test_tcp_echo_harsh_seeds),
		cmocka_unit_test(test_tcp_bad_values_are_errors),
		cmocka_unit_test(test_tcp_connect_bind_picks_the_source_host),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
