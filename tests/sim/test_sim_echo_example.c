/* SPDX-License-Identifier: MIT */
/*
 * The echo server of examples/ (examples/echo_service.c, the code echo_server runs on
 * epoll) running unchanged on the simulator, checked by every scenario oracle.
 *
 * Methodology: a scenario binds a listener on a simulated host, spawns the example's
 * acceptor task, and 1..6 clients on another host that connect, write_all a seeded
 * message, shut down their write side, read_exact the echo and expect end of stream.
 * Profile: "harsh" minus the faults that legitimately break a connection (resets,
 * refusals, allocation failures: the example does not retry), so every client must get
 * its exact echo. Seeds: 100 (GALE_TEST_SEEDS / GALE_TEST_SEED as usual); a failing
 * seed is printed with the oracle's message.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <gale/error.h>
#include <gale/read_exact.h>
#include <gale/scenario.h>
#include <gale/socket_addr.h>
#include <gale/tcp.h>
#include <gale/write_all.h>

#include "echo_service.h"
#include "test_support.h"

#define CLIENTS_MAX 6
#define MESSAGE_MAX 8192

struct echo_client {
	struct echo_world *world;            /* Borrowed. */
	struct gale_tcp_connect connect;     /* Phase 0. */
	struct gale_tcp_stream stream;       /* Once connected. */
	struct gale_write_all write_all;     /* Phase 1. */
	struct gale_write_shutdown shutdown; /* Phase 2. */
	struct gale_read_exact read_exact;   /* Phase 3. */
	int phase;                           /* 0 connect .. 4 expect EOF. */
	uint8_t sent[MESSAGE_MAX];           /* The message. */
	uint8_t got[MESSAGE_MAX + 1];        /* The echo (one extra byte to see EOF). */
	size_t len;                          /* Message length. */
};

struct echo_world {
	struct gale_scenario_run *run;      /* Borrowed. */
	struct gale_tcp_listener listener;  /* The server's. */
	struct gale_socket_addr server;     /* Where clients connect. */
	struct echo_acceptor acceptor;      /* The example's acceptor state. */
	struct echo_client clients[CLIENTS_MAX];
	uint32_t clients_count;             /* Clients this seed. */
	uint32_t clients_ok;                /* Clients that got their exact echo and EOF. */
};

/* Polls the current phase's future. */
static int client_step(struct echo_client *client, struct gale_cx *cx)
{
	if (client->phase == 0)
		return gale_tcp_connect_poll(&client->connect, cx, &client->stream);
	if (client->phase == 1)
		return gale_write_all_poll(&client->write_all, cx);
	if (client->phase == 2)
		return gale_write_shutdown_poll(&client->shutdown, cx);
	if (client->phase == 3)
		return gale_read_exact_poll(&client->read_exact, cx);
	/* The server shuts down after echoing: the next read must be end of stream. */
	struct gale_read_exact eof;
	gale_read_exact_init(&eof, gale_tcp_stream_reader(&client->stream), client->got + client->len,
			     1);
	int rc = gale_read_exact_poll(&eof, cx);
	return rc == GALE_E_UNEXPECTED_EOF ? 0 : rc == 0 ? -EPROTO : rc;
}

/* Prepares the future of the next phase. */
static void client_advance(struct echo_client *client)
{
	client->phase++;
	if (client->phase == 1) {
		gale_tcp_connect_deinit(&client->connect);
		gale_write_all_init(&client->write_all, gale_tcp_stream_writer(&client->stream),
				    client->sent, client->len);
	} else if (client->phase == 2) {
		gale_write_shutdown_init(&client->shutdown, gale_tcp_stream_writer(&client->stream));
	} else if (client->phase == 3) {
		gale_read_exact_init(&client->read_exact, gale_tcp_stream_reader(&client->stream),
				     client->got, client->len);
	}
}

static int client_poll(void *data, struct gale_cx *cx)
{
	struct echo_client *client = data;
	while (client->phase <= 4) {
		int rc = client_step(client, cx);
		if (rc != 0)
			return rc;
		if (client->phase == 4)
			break;
		client_advance(client);
	}
	if (memcmp(client->got, client->sent, client->len) == 0)
		client->world->clients_ok++;
	return gale_tcp_stream_close(&client->stream);
}

static int echo_setup(struct gale_scenario_run *run, void *data)
{
	struct echo_world *world = data;
	struct gale_entropy *entropy = gale_sim_entropy(&run->sim);
	world->run = run;
	int rc = gale_sim_host_add(&run->sim, "10.0.0.1", NULL);
	if (rc == 0)
		rc = gale_sim_host_add(&run->sim, "10.0.0.2", NULL);
	if (rc == 0)
		rc = gale_tcp_listener_bind_text(&world->listener, &run->runtime, "10.0.0.1:7000", 0);
	if (rc == 0)
		rc = gale_socket_addr_parse("10.0.0.1:7000", &world->server);
	if (rc != 0)
		return rc;
	world->clients_count = (uint32_t)gale_entropy_range(entropy, 1, CLIENTS_MAX);
	world->acceptor = (struct echo_acceptor){.runtime = &run->runtime,
						 .listener = &world->listener,
						 .max_clients = world->clients_count};
	rc = gale_scenario_spawn(run, "acceptor", echo_acceptor_poll, &world->acceptor, false, NULL);
	for (uint32_t i = 0; i < world->clients_count && rc == 0; i++) {
		struct echo_client *client = &world->clients[i];
		client->world = world;
		client->len = (size_t)gale_entropy_range(entropy, 1, MESSAGE_MAX);
		for (size_t k = 0; k < client->len; k++)
			client->sent[k] = (uint8_t)(k * 31 + i * 7 + 1);
		gale_tcp_connect_init(&client->connect, &run->runtime, &world->server, 1);
		rc = gale_scenario_spawn(run, "client", client_poll, client, false, NULL);
	}
	return rc;
}

static int echo_check(struct gale_scenario_run *run, void *data)
{
	struct echo_world *world = data;
	if (world->clients_ok != world->clients_count ||
	    world->acceptor.connections_done != world->clients_count ||
	    world->acceptor.errors_count != 0)
		gale_scenario_fail(run, GALE_ORACLE_CHECK,
				   "%u of %u clients got their echo; server: %" PRIu64
				   " sessions done, %" PRIu64 " errors",
				   world->clients_ok, world->clients_count,
				   world->acceptor.connections_done, world->acceptor.errors_count);
	return 0;
}

static void echo_teardown(struct gale_scenario_run *run, void *data)
{
	(void)run;
	struct echo_world *world = data;
	if (gale_tcp_listener_fd(&world->listener) >= 0)
		(void)gale_tcp_listener_close(&world->listener);
	for (uint32_t i = 0; i < world->clients_count; i++) {
		struct echo_client *client = &world->clients[i];
		if (client->phase == 0)
			gale_tcp_connect_deinit(&client->connect);
		else if (gale_tcp_stream_is_open(&client->stream))
			(void)gale_tcp_stream_close(&client->stream);
	}
}

static const struct gale_scenario echo_example_scenario = {
	.name = "echo_example",
	.description = "examples/echo_service.c on the simulator",
	.state_size = sizeof(struct echo_world),
	.setup = echo_setup,
	.check = echo_check,
	.teardown = echo_teardown,
};

static void echo_example_passes_on_the_simulator(void **state)
{
	(void)state;
	struct gale_fault_profile profile = *gale_fault_profile_find("harsh");
	profile.ratios[GALE_FAULT_RESET] = (struct gale_ratio){0, 1};
	profile.ratios[GALE_FAULT_CONNECT_REFUSED] = (struct gale_ratio){0, 1};
	profile.ratios[GALE_FAULT_ALLOC_FAIL] = (struct gale_ratio){0, 1};
	struct gale_test_seeds seeds = gale_test_seeds_get(100);
	uint64_t faults = 0;
	for (uint64_t seed = seeds.first; seed < seeds.first + seeds.count; seed++) {
		struct gale_run_options options = {.seed = seed, .profile = &profile};
		struct gale_run_result result;
		int rc = gale_scenario_run(&echo_example_scenario, &options, NULL, &result);
		if (rc != 0)
			fail_msg("seed=0x%" PRIx64 " %s: %s", seed, gale_oracle_name(result.oracle),
				 result.message);
		for (int kind = 0; kind < GALE_FAULT_COUNT; kind++)
			faults += result.sim.faults.injected[kind];
	}
	/* The run was not fault-free by accident. */
	assert_true(faults > seeds.count);
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(echo_example_passes_on_the_simulator),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
