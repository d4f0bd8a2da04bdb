/* SPDX-License-Identifier: MIT */
/*
 * TCP scaffolding for scenarios (<gale/scenario_net.h>): a server listening on its host
 * and clients connecting from hosts of their own. The server sees each client's own
 * address, a host used twice is added once, and the runner's oracles (leaks, streams)
 * find nothing to report.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

#include <gale/scenario_kit.h>
#include <gale/scenario_net.h>

#include "test_support.h"

#define CLIENTS 3

static const char *const client_hosts[CLIENTS] = {"10.0.0.2", "10.0.0.3", "10.0.0.3"};

struct net_client {
	struct net_state *state;        /* Back pointer. */
	struct gale_tcp_connect connect;
	struct gale_socket_addr local;  /* Where it connects from (borrowed by connect). */
	struct gale_tcp_stream stream;  /* Its end, once connected. */
};

struct net_state {
	struct gale_tcp_listener listener;
	struct gale_socket_addr server;
	struct gale_tcp_stream accepted[CLIENTS];
	uint32_t accepted_count;
	struct net_client clients[CLIENTS];
};

/* The peers the server saw, as text (read by the test after the run). */
static char peers_seen[CLIENTS][GALE_SOCKET_ADDR_TEXT_MAX];

static int acceptor_poll(void *data, struct gale_cx *cx)
{
	struct net_state *s = data;
	while (s->accepted_count < CLIENTS) {
		uint32_t k = s->accepted_count;
		struct gale_socket_addr peer;
		int rc = gale_tcp_listener_poll_accept(&s->listener, cx, &s->accepted[k], &peer);
		if (rc != 0)
			return rc;
		gale_socket_addr_format(&peer, peers_seen[k], sizeof(peers_seen[k]));
		s->accepted_count++;
	}
	return 0;
}

static int client_poll(void *data, struct gale_cx *cx)
{
	struct net_client *client = data;
	return gale_tcp_connect_poll(&client->connect, cx, &client->stream);
}

static int net_setup(struct gale_scenario_run *run, void *data)
{
	struct net_state *s = data;
	int rc = gale_scenario_listen(run, "10.0.0.1", 7000, 0, &s->listener, &s->server);
	if (rc == 0)
		rc = gale_scenario_spawn_retry(run, "acceptor", acceptor_poll, s, false, NULL);
	for (uint32_t k = 0; k < CLIENTS && rc == 0; k++) {
		struct net_client *client = &s->clients[k];
		client->state = s;
		rc = gale_scenario_connect_init(run, &client->connect, client_hosts[k], &s->server,
						&client->local);
		if (rc == 0)
			rc = gale_scenario_spawn_retry(run, "client", client_poll, client, false,
						       NULL);
	}
	return rc;
}

static void net_teardown(struct gale_scenario_run *run, void *data)
{
	(void)run;
	struct net_state *s = data;
	for (uint32_t k = 0; k < CLIENTS; k++) {
		gale_tcp_connect_deinit(&s->clients[k].connect);
		gale_tcp_stream_close(&s->clients[k].stream);
		gale_tcp_stream_close(&s->accepted[k]);
	}
	gale_tcp_listener_close(&s->listener);
}

static const struct gale_scenario net_scenario = {
	.name = "net", .state_size = sizeof(struct net_state), .setup = net_setup,
	.teardown = net_teardown};

/* On every backend: on a real kernel each host is a loopback address of its own, and the
 * runner's driver shows the scenario its own addresses. */
static void test_clients_connect_from_their_own_hosts(void **state)
{
	(void)state;
	for (uint64_t run = 0; run < 16 * GALE_BACKEND_COUNT; run++) {
		uint64_t seed = run / GALE_BACKEND_COUNT;
		memset(peers_seen, 0, sizeof(peers_seen));
		struct gale_run_options options = {
			.seed = seed, .backend = (enum gale_backend)(run % GALE_BACKEND_COUNT)};
		struct gale_run_result result;
		if (gale_scenario_run(&net_scenario, &options, NULL, &result) != 0)
			fail_msg("seed %llu on %s: %s", (unsigned long long)seed,
				 gale_backend_name(options.backend), result.message);
		/* Two clients from 10.0.0.3, one from 10.0.0.2, in whatever order they came. */
		int from_2 = 0, from_3 = 0;
		for (int k = 0; k < CLIENTS; k++) {
			from_2 += strncmp(peers_seen[k], "10.0.0.2:", 9) == 0;
			from_3 += strncmp(peers_seen[k], "10.0.0.3:", 9) == 0;
		}
		assert_int_equal(from_2, 1);
		assert_int_equal(from_3, 2);
	}
}

/* What the address map answers where no host stands: errors, never a packet sent off the
 * machine; and the scenario's own port, whatever port the kernel gave. */
static int mapping_setup(struct gale_scenario_run *run, void *data)
{
	struct net_state *s = data;
	int rc = gale_scenario_listen(run, "10.0.0.1", 7000, 0, &s->listener, &s->server);
	if (rc != 0)
		return rc;
	struct gale_socket_addr local;
	rc = gale_tcp_listener_local_addr(&s->listener, &local);
	char text[GALE_SOCKET_ADDR_TEXT_MAX];
	gale_socket_addr_format(&local, text, sizeof(text));
	if (rc != 0 || strcmp(text, "10.0.0.1:7000") != 0)
		gale_scenario_fail(run, GALE_ORACLE_CHECK, "the listener is at %s (rc %d)", text,
				   rc);
	struct gale_tcp_listener stray;
	struct gale_socket_addr nowhere;
	rc = gale_socket_addr_from_ip("10.9.9.9", 7000, &nowhere);
	if (rc == 0)
		rc = gale_tcp_listener_bind(&stray, &run->runtime, &nowhere, 0);
	if (rc != -EADDRNOTAVAIL)
		gale_scenario_fail(run, GALE_ORACLE_CHECK, "a bind to no host's address: %d", rc);
	if (rc == 0)
		gale_tcp_listener_close(&stray);
	int fd = gale_driver_socket(gale_scenario_driver(run), AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return fd;
	rc = gale_driver_connect(gale_scenario_driver(run), fd,
				 (const struct sockaddr *)&nowhere.storage, nowhere.len);
	/* The simulator answers with a RST later; the map refuses at once. */
	if (rc != -EHOSTUNREACH && rc != -EINPROGRESS)
		gale_scenario_fail(run, GALE_ORACLE_CHECK, "a connect to no host: %d", rc);
	if (gale_scenario_backend(run) != GALE_BACKEND_SIM && rc != -EHOSTUNREACH)
		gale_scenario_fail(run, GALE_ORACLE_CHECK, "a kernel connect to no host: %d", rc);
	(void)gale_driver_close(gale_scenario_driver(run), fd);
	gale_tcp_listener_close(&s->listener);
	return 0;
}

static const struct gale_scenario mapping_scenario = {
	.name = "mapping", .state_size = sizeof(struct net_state), .setup = mapping_setup};

static void test_addresses_map_to_loopback_and_back(void **state)
{
	(void)state;
	for (int b = 0; b < GALE_BACKEND_COUNT; b++) {
		struct gale_run_options options = {.backend = (enum gale_backend)b};
		struct gale_run_result result;
		if (gale_scenario_run(&mapping_scenario, &options, NULL, &result) != 0)
			fail_msg("%s: %s", gale_backend_name(options.backend), result.message);
	}
	struct gale_run_options options = {.backend = GALE_BACKEND_COUNT};
	struct gale_run_result result;
	assert_int_equal(gale_scenario_run(&mapping_scenario, &options, NULL, &result), -EINVAL);
	enum gale_backend backend = GALE_BACKEND_SIM;
	assert_int_equal(gale_backend_parse("fault-epoll", &backend), 0);
	assert_int_equal(backend, GALE_BACKEND_FAULT_EPOLL);
	assert_int_equal(gale_backend_parse("kqueue", &backend), -EINVAL);
	assert_int_equal(gale_backend_parse(NULL, &backend), -EINVAL);
	assert_string_equal(gale_backend_name(GALE_BACKEND_COUNT), "unknown");
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clients_connect_from_their_own_hosts),
		cmocka_unit_test(test_addresses_map_to_loopback_and_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
