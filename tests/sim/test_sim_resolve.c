/* SPDX-License-Identifier: MIT */
/*
 * The simulator's resolver (sim_resolve.h) and names through the runtime.
 *
 * Methodology: a sim with hosts 10.0.0.1 (a listener on port 80), 10.0.0.2 and
 * fd00::2, and a name table: "db" -> 10.0.0.1, fd00::2, 10.0.0.2. Each resolver fault kind
 * is turned on alone at ratio 1/1 (every opportunity) on a profile with nothing else, so
 * its effect is exact: the error, the virtual instant the answer shows, the order. The
 * counts are read back from the sim's stats and trace (GALE_TRACE_FAULT records, fd -1).
 * Connect and bind by name try every address in order (a dead or unbindable one first)
 * and report the last error. Replay: two runs from one seed give the same answers and the
 * same trace hash. Seeds:
 * GALE_TEST_SEED pins one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <gale/error.h>
#include <gale/resolve.h>
#include <gale/rt.h>
#include <gale/sim.h>
#include <gale/sim_profile.h>
#include <gale/sim_resolve.h>
#include <gale/sim_trace.h>
#include <gale/tcp.h>

#include "test_support.h"

#define MS INT64_C(1000000)

struct world {
	struct gale_fault_profile profile;  /* "none" plus the kind under test. */
	struct gale_trace trace;            /* The sim's trace. */
	struct gale_sim sim;                /* The driver. */
	struct gale_runtime runtime;        /* Over it. */
	struct gale_sim_resolver resolver;  /* Installed on the runtime. */
	struct gale_tcp_listener listener;  /* 10.0.0.1:80. */
};

/* kind < 0: no fault at all. */
static void world_init(struct world *w, uint64_t seed, int kind)
{
	memset(w, 0, sizeof(*w));
	w->profile = *gale_fault_profile_find("none");
	if (kind >= 0)
		w->profile.ratios[kind] = (struct gale_ratio){1, 1};
	gale_trace_init(&w->trace, NULL, 4096);
	struct gale_sim_options options = gale_sim_options_default();
	options.seed = seed;
	options.profile = &w->profile;
	options.trace = &w->trace;
	assert_int_equal(gale_sim_init(&w->sim, &options), 0);
	assert_int_equal(gale_sim_host_add(&w->sim, "10.0.0.1", NULL), 0);
	assert_int_equal(gale_sim_host_add(&w->sim, "10.0.0.2", NULL), 0);
	assert_int_equal(gale_sim_host_add(&w->sim, "fd00::2", NULL), 0);
	assert_int_equal(gale_runtime_init(&w->runtime, &w->sim.base, NULL), 0);
	gale_sim_resolver_init(&w->resolver, &w->sim);
	gale_runtime_resolver_set(&w->runtime, &w->resolver.base);
	assert_int_equal(gale_sim_resolver_name_add(&w->resolver, "db", "10.0.0.1"), 0);
	assert_int_equal(gale_sim_resolver_name_add(&w->resolver, "db", "fd00::2"), 0);
	assert_int_equal(gale_sim_resolver_name_add(&w->resolver, "DB", "10.0.0.2"), 0);
	assert_int_equal(gale_sim_resolver_name_add(&w->resolver, "db", "10.0.0.2"), -EEXIST);
	assert_int_equal(gale_sim_resolver_name_add(&w->resolver, "db", "nope"), -EINVAL);
	assert_int_equal(gale_sim_resolver_name_add(&w->resolver, "bad name", "10.0.0.1"),
			 -EINVAL);
	assert_int_equal(gale_tcp_listener_bind_text(&w->listener, &w->runtime, "10.0.0.1:80",
						     0), 0);
}

static void world_deinit(struct world *w)
{
	(void)gale_tcp_listener_close(&w->listener);
	gale_runtime_resolver_set(&w->runtime, NULL);
	gale_resolver_deinit(&w->resolver.base);
	assert_int_equal(gale_runtime_deinit(&w->runtime), 0);
	assert_int_equal(gale_sim_deinit(&w->sim), 0);
	gale_trace_deinit(&w->trace);
}

struct resolve_task {
	struct gale_resolve future; /* The resolution. */
	int result;                 /* Its result. */
	int64_t done_ns;            /* When it completed. */
};

static int resolve_task_poll(void *data, struct gale_cx *cx)
{
	struct resolve_task *task = data;
	int rc = gale_resolve_poll(&task->future, cx);
	if (rc == GALE_PENDING)
		return rc;
	task->result = rc;
	return 0;
}

/* Resolves text to completion; returns the result, the virtual time it took in *ns_out. */
static int resolve_run(struct world *w, struct resolve_task *task, const char *text,
		       int64_t *ns_out)
{
	memset(task, 0, sizeof(*task));
	gale_resolve_init(&task->future, &w->runtime, text);
	int64_t start_ns = gale_runtime_now_ns(&w->runtime);
	struct gale_task_handle handle;
	assert_int_equal(gale_executor_spawn(&w->runtime.executor, resolve_task_poll, task,
					     &handle), 0);
	int result = -1;
	assert_int_equal(gale_runtime_block_on(&w->runtime, handle, &result), 0);
	if (ns_out != NULL)
		*ns_out = gale_runtime_now_ns(&w->runtime) - start_ns;
	gale_resolve_deinit(&task->future);
	return task->result;
}

static const char *addr_text(const struct gale_socket_addr *addr, char *buf, size_t len)
{
	assert_true(gale_socket_addr_format(addr, buf, len) > 0);
	return buf;
}

static uint64_t faults_traced(const struct world *w, enum gale_fault_kind kind)
{
	uint64_t count = 0;
	const struct gale_trace_record *records = gale_trace_records(&w->trace);
	for (size_t i = 0; i < gale_trace_kept_count(&w->trace); i++)
		count += records[i].kind == GALE_TRACE_FAULT && records[i].op == kind &&
			 records[i].fd == -1;
	return count;
}

static void names_resolve_in_order_without_faults(void **state)
{
	(void)state;
	struct world w;
	world_init(&w, 1, -1);
	struct resolve_task task;
	int64_t ns = 0;
	char buf[GALE_SOCKET_ADDR_TEXT_MAX];
	assert_int_equal(resolve_run(&w, &task, "db:80", &ns), 0);
	assert_int_equal(task.future.addr_count, 3);
	assert_string_equal(addr_text(&task.future.addrs[0], buf, sizeof(buf)), "10.0.0.1:80");
	assert_string_equal(addr_text(&task.future.addrs[1], buf, sizeof(buf)), "[fd00::2]:80");
	assert_string_equal(addr_text(&task.future.addrs[2], buf, sizeof(buf)), "10.0.0.2:80");
	assert_int_equal(ns, w.resolver.latency_ns);
	/* One family only. */
	gale_resolve_init_host(&task.future, &w.runtime, "db", 7, AF_INET6);
	struct gale_test_wake_log log = {0};
	struct gale_cx cx = {.waker = gale_test_waker(&log, 1)};
	assert_int_equal(gale_resolve_poll(&task.future, &cx), GALE_PENDING);
	/* Cancelling the pending query disarms its timer: nothing is left behind. */
	gale_resolve_deinit(&task.future);
	assert_int_equal(gale_runtime_timers_count(&w.runtime), 0);
	/* Unknown names, literals, bad text. */
	assert_int_equal(resolve_run(&w, &task, "nowhere:80", NULL), GALE_E_RESOLVE_NOT_FOUND);
	char message[128];
	gale_resolve_describe(&task.future, task.result, message, sizeof(message));
	assert_string_equal(message, "resolving \"nowhere\": host name not found");
	uint64_t queries = gale_sim_resolver_queries_count(&w.resolver);
	assert_int_equal(resolve_run(&w, &task, "[::1]:5", NULL), 0);
	assert_int_equal(resolve_run(&w, &task, "10.9.9.9:5", NULL), 0);
	assert_int_equal(gale_sim_resolver_queries_count(&w.resolver), queries);
	assert_int_equal(resolve_run(&w, &task, "db", NULL), -EINVAL);
	assert_int_equal(resolve_run(&w, &task, "::1:80", NULL), -EINVAL);
	assert_int_equal(resolve_run(&w, &task, "a b:80", NULL), GALE_E_RESOLVE_BAD_NAME);
	world_deinit(&w);
}

/* Each error kind alone: the error, when it shows, counted and traced. */
static void error_faults_fail_the_query(void **state)
{
	(void)state;
	static const struct {
		enum gale_fault_kind kind;
		int result;
	} cases[] = {
		{GALE_FAULT_RESOLVE_TIMEOUT, GALE_E_RESOLVE_TIMED_OUT},
		{GALE_FAULT_RESOLVE_NOT_FOUND, GALE_E_RESOLVE_NOT_FOUND},
		{GALE_FAULT_RESOLVE_SERVER_FAILURE, GALE_E_RESOLVE_SERVER_FAILURE},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct world w;
		world_init(&w, 7, (int)cases[i].kind);
		struct resolve_task task;
		int64_t ns = 0;
		assert_int_equal(resolve_run(&w, &task, "db:80", &ns), cases[i].result);
		int64_t expected_ns = cases[i].kind == GALE_FAULT_RESOLVE_TIMEOUT
					      ? w.resolver.timeout_ns
					      : w.resolver.latency_ns;
		assert_int_equal(ns, expected_ns);
		assert_int_equal(gale_sim_stats_get(&w.sim).faults.injected[cases[i].kind], 1);
		assert_int_equal(faults_traced(&w, cases[i].kind), 1);
		/* A name the table lacks is not a fault: nothing more is injected. */
		assert_int_equal(resolve_run(&w, &task, "nowhere:80", NULL),
				 GALE_E_RESOLVE_NOT_FOUND);
		assert_int_equal(gale_sim_stats_get(&w.sim).faults.injected[cases[i].kind], 1);
		world_deinit(&w);
	}
}

static void slow_answers_come_late(void **state)
{
	(void)state;
	struct world w;
	world_init(&w, 3, GALE_FAULT_RESOLVE_SLOW);
	struct resolve_task task;
	int64_t ns = 0;
	assert_int_equal(resolve_run(&w, &task, "db:80", &ns), 0);
	assert_true(ns > w.resolver.latency_ns);
	assert_true(ns <= w.resolver.latency_ns + w.resolver.slow_ns_max);
	assert_int_equal(gale_sim_stats_get(&w.sim).faults.injected[GALE_FAULT_RESOLVE_SLOW], 1);
	world_deinit(&w);
}

/* Shuffles reorder (some seed of a few shows another order than the table's). */
static void shuffled_answers_keep_every_address(void **state)
{
	(void)state;
	bool reordered = false;
	for (uint64_t seed = 1; seed <= 16 && !reordered; seed++) {
		struct world w;
		world_init(&w, seed, GALE_FAULT_RESOLVE_SHUFFLE);
		struct resolve_task task;
		assert_int_equal(resolve_run(&w, &task, "db:80", NULL), 0);
		assert_int_equal(task.future.addr_count, 3);
		char first[GALE_SOCKET_ADDR_TEXT_MAX];
		reordered = strcmp(addr_text(&task.future.addrs[0], first, sizeof(first)),
				   "10.0.0.1:80") != 0;
		assert_int_equal(faults_traced(&w, GALE_FAULT_RESOLVE_SHUFFLE), 1);
		world_deinit(&w);
	}
	assert_true(reordered);
}

struct connect_task {
	struct gale_tcp_connect_host future; /* By name. */
	struct gale_tcp_stream stream;       /* Filled on success. */
	int result;                          /* The poll's result. */
};

static int connect_task_poll(void *data, struct gale_cx *cx)
{
	struct connect_task *task = data;
	int rc = gale_tcp_connect_host_poll(&task->future, cx, &task->stream);
	if (rc == GALE_PENDING)
		return rc;
	task->result = rc;
	return 0;
}

/* A dead address first: the connect falls through to the next, the listener's. */
static void dead_address_first_falls_through(void **state)
{
	(void)state;
	struct world w;
	world_init(&w, 5, GALE_FAULT_RESOLVE_DEAD_ADDRESS);
	struct resolve_task resolved;
	assert_int_equal(resolve_run(&w, &resolved, "db:80", NULL), 0);
	assert_int_equal(resolved.future.addr_count, 4);
	char buf[GALE_SOCKET_ADDR_TEXT_MAX];
	assert_non_null(strstr(addr_text(&resolved.future.addrs[0], buf, sizeof(buf)),
			       "192.0.2."));
	struct connect_task task = {0};
	gale_tcp_connect_host_init(&task.future, &w.runtime, "db:80");
	struct gale_task_handle handle;
	assert_int_equal(gale_executor_spawn(&w.runtime.executor, connect_task_poll, &task,
					     &handle), 0);
	int result = -1;
	assert_int_equal(gale_runtime_block_on(&w.runtime, handle, &result), 0);
	assert_int_equal(task.result, 0);
	assert_int_equal(gale_tcp_connect_host_attempts(&task.future), 2);
	struct gale_socket_addr peer;
	assert_int_equal(gale_tcp_stream_peer_addr(&task.stream, &peer), 0);
	assert_string_equal(addr_text(&peer, buf, sizeof(buf)), "10.0.0.1:80");
	assert_int_equal(gale_tcp_stream_close(&task.stream), 0);
	gale_tcp_connect_host_deinit(&task.future);
	assert_int_equal(
		gale_sim_stats_get(&w.sim).faults.injected[GALE_FAULT_RESOLVE_DEAD_ADDRESS], 2);
	/* A name whose only address is dead: the last error is the dead one's. */
	assert_int_equal(gale_sim_resolver_name_add(&w.resolver, "lonely", "10.0.0.2"), 0);
	memset(&task, 0, sizeof(task));
	gale_tcp_connect_host_init(&task.future, &w.runtime, "lonely:80");
	assert_int_equal(gale_executor_spawn(&w.runtime.executor, connect_task_poll, &task,
					     &handle), 0);
	assert_int_equal(gale_runtime_block_on(&w.runtime, handle, &result), 0);
	assert_int_equal(task.result, -ECONNREFUSED); /* 10.0.0.2 has no listener. */
	char message[160];
	gale_tcp_connect_host_describe(&task.future, task.result, message, sizeof(message));
	assert_string_equal(message, "connecting to lonely:80 (10.0.0.2:80, the last of 2 "
				     "addresses): connection refused");
	gale_tcp_connect_host_deinit(&task.future);
	world_deinit(&w);
}

struct bind_task {
	struct gale_tcp_bind_host future; /* By name. */
	int result;                       /* Its result. */
};

static int bind_task_poll(void *data, struct gale_cx *cx)
{
	struct bind_task *task = data;
	int rc = gale_tcp_bind_host_poll(&task->future, cx);
	if (rc == GALE_PENDING)
		return rc;
	task->result = rc;
	return 0;
}

static int bind_by_name(struct world *w, struct gale_tcp_listener *listener, const char *text)
{
	struct bind_task task = {0};
	gale_tcp_bind_host_init(&task.future, listener, &w->runtime, text, 0);
	struct gale_task_handle handle;
	assert_int_equal(gale_executor_spawn(&w->runtime.executor, bind_task_poll, &task,
					     &handle), 0);
	int result = -1;
	assert_int_equal(gale_runtime_block_on(&w->runtime, handle, &result), 0);
	gale_tcp_bind_host_deinit(&task.future);
	return task.result;
}

/* Bind by name: each address in order until one binds; the last error otherwise. */
static void bind_by_name_takes_the_first_address_that_binds(void **state)
{
	(void)state;
	struct world w;
	world_init(&w, 2, -1);
	/* 192.0.2.9: no host owns it (-EADDRNOTAVAIL); 10.0.0.2 binds. */
	assert_int_equal(gale_sim_resolver_name_add(&w.resolver, "multi", "192.0.2.9"), 0);
	assert_int_equal(gale_sim_resolver_name_add(&w.resolver, "multi", "10.0.0.2"), 0);
	struct gale_tcp_listener listener;
	assert_int_equal(bind_by_name(&w, &listener, "multi:90"), 0);
	struct gale_socket_addr local;
	char buf[GALE_SOCKET_ADDR_TEXT_MAX];
	assert_int_equal(gale_tcp_listener_local_addr(&listener, &local), 0);
	assert_string_equal(addr_text(&local, buf, sizeof(buf)), "10.0.0.2:90");
	assert_int_equal(gale_tcp_listener_close(&listener), 0);
	/* An unknown name: the listener stays closed. */
	assert_int_equal(bind_by_name(&w, &listener, "nowhere:90"), GALE_E_RESOLVE_NOT_FOUND);
	assert_int_equal(gale_tcp_listener_fd(&listener), -1);
	/* Every address fails: the last one's error. */
	assert_int_equal(gale_sim_resolver_name_add(&w.resolver, "taken", "10.0.0.1"), 0);
	assert_int_equal(bind_by_name(&w, &listener, "taken:80"), -EADDRINUSE);
	assert_int_equal(gale_tcp_listener_fd(&listener), -1);
	world_deinit(&w);
}

/* Every kind on at once, twice from one seed: the same answers and trace. */
static void runs_replay_from_the_seed(void **state)
{
	(void)state;
	static const enum gale_fault_kind kinds[] = {
		GALE_FAULT_RESOLVE_NOT_FOUND, GALE_FAULT_RESOLVE_SERVER_FAILURE,
		GALE_FAULT_RESOLVE_TIMEOUT,   GALE_FAULT_RESOLVE_SLOW,
		GALE_FAULT_RESOLVE_SHUFFLE,   GALE_FAULT_RESOLVE_DEAD_ADDRESS,
	};
	struct gale_test_seeds seeds = gale_test_seeds_get(16);
	for (uint64_t seed = seeds.first; seed < seeds.first + seeds.count; seed++) {
		uint64_t hashes[2];
		int results[2][8];
		for (int run = 0; run < 2; run++) {
			struct world w;
			world_init(&w, seed, -1);
			for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
				w.profile.ratios[kinds[k]] = (struct gale_ratio){1, 3};
			for (int q = 0; q < 8; q++) {
				struct resolve_task task;
				int rc = resolve_run(&w, &task, "db:80", NULL);
				const struct gale_socket_addr *first = &task.future.addrs[0];
				if (rc == 0)
					rc = (int)gale_socket_addr_port(first) +
					     100 * (int)task.future.addr_count +
					     1000 * gale_socket_addr_family(first);
				results[run][q] = rc;
			}
			hashes[run] = gale_trace_hash(&w.trace);
			world_deinit(&w);
		}
		if (hashes[0] != hashes[1] || memcmp(results[0], results[1], sizeof(results[0])))
			fail_msg("seed=0x%llx: two runs differ", (unsigned long long)seed);
	}
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names_resolve_in_order_without_faults),
		cmocka_unit_test(error_faults_fail_the_query),
		cmocka_unit_test(slow_answers_come_late),
		cmocka_unit_test(shuffled_answers_keep_every_address),
		cmocka_unit_test(dead_address_first_falls_through),
		cmocka_unit_test(bind_by_name_takes_the_first_address_that_binds),
		cmocka_unit_test(runs_replay_from_the_seed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
