/* SPDX-License-Identifier: MIT */
/*
 * Simulated driver throughput: driver ops per second, and the cost of one op, at 10, 1,000
 * and 10,000 open connections (the per-op cost should stay flat: fds, streams and the
 * ready queue are indexed, nothing scans per op).
 *
 * Setup per size N: N TCP connections on localhost, both ends registered for READ|WRITE.
 * A ("inline", latency 0: bytes are delivered inside write): for each connection in turn,
 *    the client writes 64 bytes, the server reads them, writes them back, the client reads
 *    them; every 64 connections one wait(0) hands out the readiness events.
 * B ("latency", 50 us per segment: every delivery goes through the event heap): each round
 *    every client writes 64 bytes, then wait(-1) (the clock jumps) and every server reads
 *    what its events announce, until all N messages arrived.
 * Ops are counted by the sim itself (gale_sim_stats_get: every driver op, waits included).
 * Faults off; no trace. Each of --rounds rounds (default 5) runs every size in turn, so the
 * per-round ratio "cost at 10 / cost at N" compares runs made close together; the medians
 * go out as "@bench" rows (bench_report.h). Goals: >= 1M ops/s on one core, and the cost
 * per op at 10,000 connections <= 1.5x the cost at 10 (ratio >= 0.667).
 *
 *   cmake --preset bench && cmake --build --preset bench && ./build/bench/bench/bench_sim
 *       [--rounds N] [--ops N]
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <gale/driver.h>
#include <gale/sim.h>

#include "bench_report.h"

enum {
	MESSAGE_LEN = 64,      /* Bytes per write. */
	EVENTS_CAP = 256,      /* Events per wait. */
	DRAIN_EVERY = 64,      /* Connections between two wait(0) in mode A. */
	CONNECT_BATCH = 1000,  /* Connections handshaking at once during setup. */
	OPS_DEFAULT = 4000000, /* Ops measured per size and mode (about), --ops. */
	ROUNDS_DEFAULT = 5,    /* --rounds. */
	SIZES = 3,             /* Connection counts measured. */
	MODES = 2,             /* Inline, latency. */
};

static const uint32_t sizes[SIZES] = {10, 1000, 10000};

#define LATENCY_NS INT64_C(50000) /* Mode B: one-way latency of every segment. */

struct bench_net {
	struct gale_sim sim;
	struct gale_driver *driver;
	int listener;
	int *clients;
	int *servers;
	uint32_t count;
};

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void check(int rc, const char *what)
{
	if (rc < 0) {
		fprintf(stderr, "bench_sim: %s failed: %d\n", what, rc);
		exit(1);
	}
}

static void drain_events(struct gale_driver *driver, int64_t timeout_ns)
{
	struct gale_event events[EVENTS_CAP];
	while (gale_driver_wait(driver, events, EVENTS_CAP, timeout_ns) == EVENTS_CAP)
		timeout_ns = 0;
}

/* Opens and accepts connections [first, first + count), registering both ends. */
static void net_connect_batch(struct bench_net *net, uint32_t first, uint32_t count)
{
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(80)};
	inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
	for (uint32_t i = first; i < first + count; i++) {
		int fd = gale_driver_socket(net->driver, AF_INET, SOCK_STREAM, 0);
		check(fd, "socket");
		int rc = gale_driver_connect(net->driver, fd, (struct sockaddr *)&addr,
					     sizeof(addr));
		if (rc != -EINPROGRESS)
			check(-1, "connect");
		net->clients[i] = fd;
	}
	for (uint32_t i = first; i < first + count; i++) {
		int fd;
		/* Handshakes finish as the clock moves: wait until the next one is queued. */
		while ((fd = gale_driver_accept(net->driver, net->listener, NULL, NULL)) == -EAGAIN)
			drain_events(net->driver, -1);
		check(fd, "accept");
		net->servers[i] = fd;
		check(gale_driver_fd_register(net->driver, fd, (uint64_t)fd,
					      GALE_READY_INTEREST_ALL),
		      "register");
		check(gale_driver_fd_register(net->driver, net->clients[i],
					      (uint64_t)net->clients[i], GALE_READY_INTEREST_ALL),
		      "register");
	}
	drain_events(net->driver, 0);
}

static void net_open(struct bench_net *net, uint32_t count, int64_t latency_ns)
{
	struct gale_sim_options options = gale_sim_options_default();
	options.latency_ns_min = latency_ns;
	options.latency_ns_max = latency_ns;
	check(gale_sim_init(&net->sim, &options), "gale_sim_init");
	net->driver = &net->sim.base;
	net->count = count;
	net->clients = calloc(count, sizeof(int));
	net->servers = calloc(count, sizeof(int));
	if (net->clients == NULL || net->servers == NULL)
		check(-ENOMEM, "calloc");
	net->listener = gale_driver_socket(net->driver, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(80)};
	inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
	check(gale_driver_bind(net->driver, net->listener, (struct sockaddr *)&addr, sizeof(addr)),
	      "bind");
	check(gale_driver_listen(net->driver, net->listener, CONNECT_BATCH), "listen");
	for (uint32_t first = 0; first < count; first += CONNECT_BATCH)
		net_connect_batch(net, first,
				  count - first < CONNECT_BATCH ? count - first : CONNECT_BATCH);
}

static void net_close(struct bench_net *net)
{
	for (uint32_t i = 0; i < net->count; i++) {
		int fds[2] = {net->clients[i], net->servers[i]};
		for (int j = 0; j < 2; j++) {
			check(gale_driver_fd_deregister(net->driver, fds[j]), "deregister");
			check(gale_driver_close(net->driver, fds[j]), "close");
		}
	}
	check(gale_driver_close(net->driver, net->listener), "close");
	check(gale_sim_deinit(&net->sim), "gale_sim_deinit");
	free(net->clients);
	free(net->servers);
}

/* A: one echo per connection, bytes delivered inline. Returns the ops made. */
static uint64_t run_inline(struct bench_net *net, uint64_t ops_target)
{
	uint8_t buf[MESSAGE_LEN] = {1};
	uint64_t ops_start = gale_sim_stats_get(&net->sim).ops_count;
	uint64_t ops = 0;
	while (ops < ops_target) {
		for (uint32_t i = 0; i < net->count; i++) {
			int client = net->clients[i];
			int server = net->servers[i];
			check((int)gale_driver_write(net->driver, client, buf, sizeof(buf)), "write");
			check((int)gale_driver_read(net->driver, server, buf, sizeof(buf)), "read");
			check((int)gale_driver_write(net->driver, server, buf, sizeof(buf)), "write");
			check((int)gale_driver_read(net->driver, client, buf, sizeof(buf)), "read");
			if (i % DRAIN_EVERY == 0)
				drain_events(net->driver, 0);
		}
		ops = gale_sim_stats_get(&net->sim).ops_count - ops_start;
	}
	return ops;
}

/* B: all clients write, then the clock jumps and servers read what their events say. */
static uint64_t run_latency(struct bench_net *net, uint64_t ops_target)
{
	struct gale_event events[EVENTS_CAP];
	uint8_t buf[MESSAGE_LEN] = {2};
	uint64_t ops_start = gale_sim_stats_get(&net->sim).ops_count;
	uint64_t ops = 0;
	while (ops < ops_target) {
		for (uint32_t i = 0; i < net->count; i++)
			check((int)gale_driver_write(net->driver, net->clients[i], buf, sizeof(buf)),
			      "write");
		uint32_t arrived = 0;
		while (arrived < net->count) {
			int count = gale_driver_wait(net->driver, events, EVENTS_CAP, -1);
			check(count, "wait");
			for (int e = 0; e < count; e++) {
				if ((events[e].ready & GALE_READY_READ) == 0)
					continue;
				int fd = (int)events[e].token;
				arrived += gale_driver_read(net->driver, fd, buf, sizeof(buf)) > 0;
			}
		}
		ops = gale_sim_stats_get(&net->sim).ops_count - ops_start;
	}
	return ops;
}

static double report(uint32_t count, const char *mode, uint64_t ops, double seconds)
{
	double ns_per_op = seconds * 1e9 / (double)ops;
	printf("%6u connections  %-7s: %10.0f ops/s  %6.1f ns/op  (%llu ops)\n", count, mode,
	       (double)ops / seconds, ns_per_op, (unsigned long long)ops);
	return ns_per_op;
}

/* Measures one size in both modes; returns ns per op of each. */
static void bench_size(uint32_t count, uint64_t ops_target, double ns_per_op[MODES])
{
	struct bench_net net;
	net_open(&net, count, 0);
	double start = now_seconds();
	uint64_t ops = run_inline(&net, ops_target);
	ns_per_op[0] = report(count, "inline", ops, now_seconds() - start);
	net_close(&net);
	net_open(&net, count, LATENCY_NS);
	start = now_seconds();
	ops = run_latency(&net, ops_target / 2);
	ns_per_op[1] = report(count, "latency", ops, now_seconds() - start);
	net_close(&net);
}

static uint64_t parse_count(const char *text)
{
	char *end = NULL;
	unsigned long long value = strtoull(text, &end, 10);
	if (end == text || *end != '\0' || value == 0) {
		fprintf(stderr, "bench_sim: bad count \"%s\"\n", text);
		exit(2);
	}
	return value;
}

int main(int argc, char **argv)
{
	static const char *const figures_ns[MODES] = {"sim driver cost, inline delivery",
						      "sim driver cost, 50 us latency"};
	static const char *const figures_rate[MODES] = {"sim driver rate, inline delivery",
							"sim driver rate, 50 us latency"};
	uint64_t ops_target = OPS_DEFAULT;
	int rounds = ROUNDS_DEFAULT;
	for (int i = 1; i < argc; i += 2) {
		if (i + 1 < argc && strcmp(argv[i], "--rounds") == 0)
			rounds = (int)parse_count(argv[i + 1]);
		else if (i + 1 < argc && strcmp(argv[i], "--ops") == 0)
			ops_target = parse_count(argv[i + 1]);
		else
			rounds = 0;
	}
	if (rounds <= 0 || rounds > BENCH_SAMPLES_MAX) {
		fprintf(stderr, "usage: %s [--rounds N<=%d] [--ops N]\n", argv[0],
			BENCH_SAMPLES_MAX);
		return 2;
	}
	printf("bench_sim: simulated driver ops (write/read/wait...), faults off, no trace\n");
	struct bench_series ns[MODES][SIZES] = {0};
	struct bench_series mops[MODES][SIZES] = {0};
	struct bench_series ratios[MODES][SIZES] = {0};
	for (int round = 0; round < rounds; round++) {
		printf("round %d\n", round + 1);
		for (int size = 0; size < SIZES; size++) {
			double ns_per_op[MODES];
			bench_size(sizes[size], ops_target, ns_per_op);
			for (int mode = 0; mode < MODES; mode++) {
				bench_series_add(&ns[mode][size], ns_per_op[mode]);
				bench_series_add(&mops[mode][size], 1e3 / ns_per_op[mode]);
			}
		}
		/* Cost ratio: reference (10 connections) / this size, so >= 1 is good. */
		for (int mode = 0; mode < MODES; mode++)
			for (int size = 1; size < SIZES; size++)
				bench_series_add(&ratios[mode][size], ns[mode][0].sample[round] /
									      ns[mode][size].sample[round]);
	}
	for (int mode = 0; mode < MODES; mode++) {
		for (int size = 0; size < SIZES; size++) {
			char name[32];
			snprintf(name, sizeof(name), "%u connections", sizes[size]);
			bench_report_row(figures_ns[mode], name, "ns/op", &ns[mode][size],
					 size ? &ratios[mode][size] : NULL,
					 size == SIZES - 1 ? ">= 0.667" : NULL);
		}
		for (int size = 0; size < SIZES; size++) {
			char name[32];
			snprintf(name, sizeof(name), "%u connections", sizes[size]);
			bench_report_row(figures_rate[mode], name, "M ops/s", &mops[mode][size], NULL,
					 NULL);
		}
	}
	return 0;
}
