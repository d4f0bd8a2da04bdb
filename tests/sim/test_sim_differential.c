/* SPDX-License-Identifier: MIT */
/*
 * Differential runs (`run --backend sim,epoll`): a scenario planted to be correct only
 * when the kernel delivers a message in one segment passes on the simulator (which
 * delivers each write as one segment, here with 1 MiB socket buffers) and fails on the
 * real kernel (which carries 512 KiB in segments of at most 64 KiB, within a receive
 * window far smaller): the campaign reports it as a divergence, through gale_main()
 * exactly as a user's test program would.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gale/gale_main.h>
#include <gale/scenario_kit.h>
#include <gale/scenario_net.h>

#include "test_support.h"

#define MESSAGE_LEN (512 * 1024)

struct one_read_state {
	struct gale_scenario_run *run;
	struct gale_tcp_listener listener;
	struct gale_socket_addr server;
	struct gale_socket_addr client_local;
	struct gale_tcp_connect connect;
	bool connecting;
	struct gale_tcp_stream client;
	struct gale_tcp_stream session;
	bool accepted;
	bool sent;
	bool read_once;
	size_t written;
	uint8_t message[MESSAGE_LEN];
	uint8_t buf[MESSAGE_LEN];
};

/* BUG (planted): takes one read for one whole message. Correct only where the transport
 * never splits a write, as the simulator does (each write one segment). */
static int one_read_server_poll(void *data, struct gale_cx *cx)
{
	struct one_read_state *s = data;
	if (!s->accepted) {
		int rc = gale_tcp_listener_poll_accept(&s->listener, cx, &s->session, NULL);
		if (rc != 0)
			return rc;
		s->accepted = true;
	}
	for (;;) {
		struct gale_read_buf rb;
		gale_read_buf_init(&rb, s->buf, sizeof(s->buf));
		int rc = gale_tcp_stream_poll_read(&s->session, cx, &rb);
		if (rc != 0)
			return rc;
		size_t n = rb.len_filled;
		if (n == 0)
			return 0; /* The end of stream. */
		if (!s->read_once && n != MESSAGE_LEN)
			gale_scenario_fail(s->run, GALE_ORACLE_CHECK,
					   "one_read: the message came in pieces: the first read "
					   "returned %zu of %d bytes", n, MESSAGE_LEN);
		s->read_once = true;
	}
}

static int one_read_client_poll(void *data, struct gale_cx *cx)
{
	struct one_read_state *s = data;
	if (s->connecting) {
		int rc = gale_tcp_connect_poll(&s->connect, cx, &s->client);
		if (rc != 0)
			return rc;
		gale_tcp_connect_deinit(&s->connect);
		s->connecting = false;
	}
	while (s->written < MESSAGE_LEN) {
		size_t n = 0;
		int rc = gale_tcp_stream_poll_write(&s->client, cx, s->message + s->written,
						    MESSAGE_LEN - s->written, &n);
		if (rc != 0)
			return rc;
		s->written += n;
	}
	return gale_tcp_stream_poll_shutdown(&s->client, cx);
}

static int one_read_setup(struct gale_scenario_run *run, void *data)
{
	struct one_read_state *s = data;
	s->run = run;
	gale_scenario_pattern_fill(run->seed, 0, s->message, MESSAGE_LEN);
	int rc = gale_scenario_listen(run, "10.0.7.1", 7700, 0, &s->listener, &s->server);
	if (rc == 0)
		rc = gale_scenario_connect_init(run, &s->connect, "10.0.7.2", &s->server,
						&s->client_local);
	s->connecting = rc == 0;
	if (rc == 0)
		rc = gale_scenario_spawn(run, "server", one_read_server_poll, s, false, NULL);
	if (rc == 0)
		rc = gale_scenario_spawn(run, "client", one_read_client_poll, s, false, NULL);
	return rc;
}

static void one_read_teardown(struct gale_scenario_run *run, void *data)
{
	struct one_read_state *s = data;
	(void)run;
	if (s->connecting)
		gale_tcp_connect_deinit(&s->connect);
	gale_tcp_stream_close(&s->client);
	gale_tcp_stream_close(&s->session);
	gale_tcp_listener_close(&s->listener);
}

/* Buffers that hold the whole message: one write, one segment, one read. */
static const struct gale_sim_options one_read_sim_options = {
	.latency_ns_min = 50 * 1000,
	.latency_ns_max = 500 * 1000,
	.socket_buf_size = 1024 * 1024,
	.fds_max = 64,
};

static const struct gale_scenario one_read_scenario = {
	.name = "one_read",
	.description = "a server that takes one read for one 512 KiB message (planted)",
	.state_size = sizeof(struct one_read_state),
	.setup = one_read_setup,
	.teardown = one_read_teardown,
	.sim_options = &one_read_sim_options,
};

/* The runner alone: passes on sim, fails on epoll, every seed. */
static void test_planted_scenario_passes_on_sim_fails_on_epoll(void **state)
{
	(void)state;
	for (uint64_t seed = 0; seed < 5; seed++) {
		struct gale_run_result result;
		struct gale_run_options options = {.seed = seed};
		int rc = gale_scenario_run(&one_read_scenario, &options, NULL, &result);
		if (rc != 0)
			fail_msg("sim seed %llu: %s", (unsigned long long)seed, result.message);
		options.backend = GALE_BACKEND_EPOLL;
		assert_int_equal(gale_scenario_run(&one_read_scenario, &options, NULL, &result), 1);
		assert_int_equal(result.oracle, GALE_ORACLE_CHECK);
		if (strstr(result.message, "the message came in pieces") == NULL)
			fail_msg("epoll seed %llu: %s", (unsigned long long)seed, result.message);
	}
}

/* The whole text of a file (NUL-terminated; the caller frees it). */
static char *file_slurp(const char *path)
{
	FILE *file = fopen(path, "rb");
	assert_non_null(file);
	static char text[1 << 16];
	size_t len = fread(text, 1, sizeof(text) - 1, file);
	text[len] = '\0';
	fclose(file);
	return strdup(text);
}

/* A user's test program: the campaign runs each seed on both backends and reports every
 * seed as a divergence; on the simulator alone it passes. */
static void test_differential_campaign_reports_divergences(void **state)
{
	(void)state;
	static const struct gale_scenario *const scenarios[] = {&one_read_scenario};
	char json[] = "/tmp/gale-differential-XXXXXX";
	int fd = mkstemp(json);
	assert_true(fd >= 0);
	close(fd);
	/* No faults: the simulator's verdict must hang on the planted bug alone. */
	char *sim_only[] = {"one_read_tests", "run", "--count", "3", "-j", "1", "--profile",
			    "none", NULL};
	assert_int_equal(gale_main(8, sim_only, scenarios, 1), 0);
	char *both[] = {"one_read_tests", "run", "--backend", "sim,epoll", "--count", "3",
			"-j", "1", "--profile", "none", "--json", json, NULL};
	assert_int_equal(gale_main(12, both, scenarios, 1), 1);
	char *text = file_slurp(json);
	unlink(json);
	if (strstr(text, "\"backend\": \"sim,epoll\"") == NULL ||
	    strstr(text, "\"seeds_divergent\": 3") == NULL ||
	    strstr(text, "diverges: passes on sim, fails on epoll: one_read: the message came "
			 "in pieces") == NULL)
		fail_msg("the report does not show 3 divergences: %.2000s", text);
	free(text);
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_planted_scenario_passes_on_sim_fails_on_epoll),
		cmocka_unit_test(test_differential_campaign_reports_divergences),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
