/* SPDX-License-Identifier: MIT */
/*
 * The echo workload (sim_echo.c: a server and three clients as tasks on the real runtime,
 * hosts 10.0.0.1 and 10.0.0.2) on the simulated driver, with and without faults.
 *
 * Methodology: a quiet run pins exact figures (time, bytes, connections). Harsh runs sweep
 * seeds (default 1000; GALE_TEST_SEEDS=N to change, GALE_TEST_SEED=0x... to replay one):
 * each seed runs twice and must give the same trace hash and stats (determinism), every
 * client must get its exact message back through every fault (the workload reconnects
 * after resets), the stream oracle must pass and teardown must leave nothing open. Across
 * the sweep every fault kind the driver injects must have fired, and distinct seeds must
 * give distinct traces. A failing seed is printed; rerun it with GALE_TEST_SEED.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gale/entropy.h>
#include <gale/sim.h>
#include <gale/sim_profile.h>
#include <gale/sim_trace.h>

#include "sim_echo.h"
#include "test_support.h"

#define MS INT64_C(1000000)
#define US INT64_C(1000)

static struct sim_echo_config config_make(uint64_t seed, const struct gale_fault_profile *profile,
					  struct gale_trace *trace)
{
	struct sim_echo_config config = {
		.seed = seed,
		.profile = profile,
		.trace = trace,
		.clients_count = 3,
		.message_len = 4000,
		.socket_buf_size = 1024,
		.latency_ns_min = 100 * US,
		.latency_ns_max = 2 * MS,
	};
	return config;
}

static void result_assert_ok(const struct sim_echo_result *result, int rc, uint64_t seed)
{
	if (rc != 0)
		fail_msg("seed=0x%llx: run %d, %u clients ok, attempts %u, streams %d: %s",
			 (unsigned long long)seed, result->run_rc, result->clients_ok,
			 result->attempts_count, result->streams_check, result->message);
}

static void test_echo_quiet_exact(void **state)
{
	(void)state;
	struct sim_echo_config config = config_make(1, NULL, NULL);
	config.clients_count = 1;
	config.message_len = 1500;
	config.socket_buf_size = 65536;
	config.latency_ns_min = MS;
	config.latency_ns_max = MS;
	struct sim_echo_result result;
	int rc = sim_echo_run(&config, &result);
	result_assert_ok(&result, rc, config.seed);
	assert_int_equal(result.clients_ok, 1);
	assert_int_equal(result.attempts_count, 1);
	assert_int_equal(result.stats.connections_count, 1);
	assert_int_equal(result.stats.connects_refused_count, 0);
	assert_int_equal(result.stats.resets_count, 0);
	/* The message there and back; FINs carry no bytes. */
	assert_int_equal(result.stats.bytes_delivered, 3000);
	/* The client is connected at 2 ms and sends everything and its FIN at once; they
	 * reach the server with the handshake's last ACK at 3 ms; the echo and the server's
	 * FIN reach the client at 4 ms. */
	assert_int_equal(result.stats.time_ns, 4 * MS);
	assert_int_equal(result.stats.fds_open_count, 0);
	for (int kind = 0; kind < GALE_FAULT_COUNT; kind++)
		assert_int_equal(result.stats.faults.injected[kind], 0);
}

static int hash_compare(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a;
	uint64_t y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Two runs of one seed: both succeed and agree on the trace hash and the stats. */
static uint64_t run_twice(uint64_t seed, const struct gale_fault_profile *profile,
			  struct gale_fault_stats *faults_sum)
{
	struct sim_echo_result results[2];
	for (int run = 0; run < 2; run++) {
		struct gale_trace trace;
		gale_trace_init(&trace, NULL, 0);
		struct sim_echo_config config = config_make(seed, profile, &trace);
		int rc = sim_echo_run(&config, &results[run]);
		gale_trace_deinit(&trace);
		result_assert_ok(&results[run], rc, seed);
	}
	const struct gale_sim_stats *a = &results[0].stats;
	const struct gale_sim_stats *b = &results[1].stats;
	if (results[0].trace_hash != results[1].trace_hash || a->time_ns != b->time_ns ||
	    a->ops_count != b->ops_count || a->events_count != b->events_count ||
	    a->bytes_delivered != b->bytes_delivered ||
	    memcmp(&a->faults, &b->faults, sizeof(a->faults)) != 0)
		fail_msg("seed=0x%llx: two runs differ (hash %llx vs %llx)",
			 (unsigned long long)seed, (unsigned long long)results[0].trace_hash,
			 (unsigned long long)results[1].trace_hash);
	/* Every client got 4000 bytes back, so at least 2 * 3 * 4000 bytes were carried. */
	assert_true(a->bytes_delivered >= 24000);
	for (int kind = 0; kind < GALE_FAULT_COUNT; kind++)
		faults_sum->injected[kind] += a->faults.injected[kind];
	return results[0].trace_hash;
}

static void test_echo_harsh_seeds(void **state)
{
	(void)state;
	const struct gale_fault_profile *harsh = gale_fault_profile_find("harsh");
	assert_non_null(harsh);
	struct gale_test_seeds seeds = gale_test_seeds_get(1000);
	uint64_t *hashes = calloc(seeds.count, sizeof(*hashes));
	assert_non_null(hashes);
	struct gale_fault_stats faults = {0};
	for (uint64_t i = 0; i < seeds.count; i++)
		hashes[i] = run_twice(seeds.first + i, harsh, &faults);
	qsort(hashes, seeds.count, sizeof(*hashes), hash_compare);
	for (uint64_t i = 1; i < seeds.count; i++)
		assert_true(hashes[i] != hashes[i - 1]);
	free(hashes);
	if (seeds.count < 50)
		return; /* A replay of a few seeds need not meet every fault. */
	for (int kind = 0; kind < GALE_FAULT_COUNT; kind++) {
		if (kind == GALE_FAULT_ALLOC_FAIL)
			continue; /* The allocator's fault, not the driver's. */
		if (kind >= GALE_FAULT_RESOLVE_TIMEOUT && kind <= GALE_FAULT_RESOLVE_DEAD_ADDRESS)
			continue; /* The resolver's: this workload connects to addresses. */
		if (faults.injected[kind] == 0)
			fail_msg("fault %s never injected", gale_fault_kind_name(kind));
	}
}

static void test_echo_swarm_seeds(void **state)
{
	(void)state;
	struct gale_test_seeds seeds = gale_test_seeds_get(64);
	struct gale_fault_stats faults = {0};
	for (uint64_t i = 0; i < seeds.count; i++) {
		uint64_t seed = seeds.first + i;
		struct gale_entropy entropy;
		gale_entropy_init_seed(&entropy, seed ^ UINT64_C(0x5757));
		struct gale_fault_profile swarm;
		gale_fault_profile_swarm(&swarm, &entropy);
		run_twice(seed, &swarm, &faults);
	}
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echo_quiet_exact),
		cmocka_unit_test(test_echo_harsh_seeds),
		cmocka_unit_test(test_echo_swarm_seeds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
