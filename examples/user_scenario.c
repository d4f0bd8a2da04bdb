/* SPDX-License-Identifier: MIT */
/*
 * A user scenario: two tasks pass "ping" through a duplex pipe whose ring holds 1..4
 * bytes (drawn per seed), so writes are partial and the tasks wait on each other.
 * gale_scenario_run() runs it on the simulator under five seeds of the "default" fault
 * profile with every oracle on (lost wakeups, stalls, stream integrity, leaks, the
 * scenario's own check) and prints each verdict. The README shows it from `struct ping`.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <gale/duplex.h>
#include <gale/read_exact.h>
#include <gale/scenario.h>
#include <gale/write_all.h>

struct ping {
	struct gale_duplex duplex;   /* The pipe: end 0 writes, end 1 reads. */
	struct gale_write_all write; /* The writer task's future. */
	struct gale_read_exact read; /* The reader task's future. */
	char got[4];                 /* What the reader read. */
};

static int writer_poll(void *data, struct gale_cx *cx)
{
	return gale_write_all_poll(&((struct ping *)data)->write, cx);
}

static int reader_poll(void *data, struct gale_cx *cx)
{
	return gale_read_exact_poll(&((struct ping *)data)->read, cx);
}

static int ping_setup(struct gale_scenario_run *run, void *data)
{
	struct ping *ping = data; /* state_size zeroed bytes, owned by the runner. */
	uint64_t ring_len = gale_entropy_range(gale_sim_entropy(&run->sim), 1, 4); /* Per seed. */
	int rc = gale_duplex_init(&ping->duplex, ring_len, &run->allocator.base);
	if (rc != 0)
		return rc;
	gale_write_all_init(&ping->write, gale_duplex_end_writer(&ping->duplex, 0), "ping", 4);
	gale_read_exact_init(&ping->read, gale_duplex_end_reader(&ping->duplex, 1), ping->got, 4);
	rc = gale_scenario_spawn(run, "writer", writer_poll, ping, false, NULL);
	return rc != 0 ? rc : gale_scenario_spawn(run, "reader", reader_poll, ping, false, NULL);
}

static int ping_check(struct gale_scenario_run *run, void *data)
{
	struct ping *ping = data;
	if (memcmp(ping->got, "ping", 4) != 0)
		gale_scenario_fail(run, GALE_ORACLE_CHECK, "read '%.4s'", ping->got);
	return 0;
}

static void ping_teardown(struct gale_scenario_run *run, void *data)
{
	(void)run;
	gale_duplex_deinit(&((struct ping *)data)->duplex); /* Else: oracle LEAK. */
}

static const struct gale_scenario ping_scenario = {
	.name = "ping",
	.description = "ping through a tiny duplex",
	.state_size = sizeof(struct ping),
	.setup = ping_setup,
	.check = ping_check,
	.teardown = ping_teardown,
};

int main(void)
{
	int failed = 0;
	for (uint64_t seed = 0; seed < 5; seed++) {
		struct gale_run_options options = {
			.seed = seed,
			.profile = gale_fault_profile_find("default"),
		};
		struct gale_run_result result;
		int rc = gale_scenario_run(&ping_scenario, &options, NULL, &result);
		printf("seed %" PRIu64 ": %s %s (trace hash 0x%016" PRIx64 ")\n", seed,
		       rc == 0 ? "passed" : gale_oracle_name(result.oracle), result.message,
		       result.trace_hash);
		failed |= rc != 0;
	}
	return failed;
}
