/* SPDX-License-Identifier: MIT */
/*
 * A small echo workload for the simulator's tests: one server on host 10.0.0.1 and a few
 * clients on host 10.0.0.2, written as gale tasks on the real runtime (executor, reactor,
 * timers) over the sim driver, and written to survive every legal fault: it keeps a cursor
 * on every write, reads until -EAGAIN, clears readiness only after -EAGAIN, backs off on
 * EMFILE and refused connects, and treats a reset (or an early end of stream) as a failed
 * attempt, reconnecting and sending the whole message again.
 */
#ifndef GALE_TESTS_SIM_ECHO_H
#define GALE_TESTS_SIM_ECHO_H

#include <stddef.h>
#include <stdint.h>

#include <gale/sim.h>
#include <gale/sim_profile.h>
#include <gale/sim_trace.h>

#define SIM_ECHO_CLIENTS_MAX 8
#define SIM_ECHO_MESSAGE_MAX 8192

struct sim_echo_config {
	uint64_t seed;                            /* The sim's seed. */
	const struct gale_fault_profile *profile; /* NULL: no faults. */
	struct gale_trace *trace;                 /* Optional. */
	uint32_t clients_count;                   /* 1..SIM_ECHO_CLIENTS_MAX. */
	size_t message_len;                       /* 1..SIM_ECHO_MESSAGE_MAX bytes per client. */
	size_t socket_buf_size;                   /* Small values force backpressure. */
	int64_t latency_ns_min;                   /* Network latency range. */
	int64_t latency_ns_max;
};

struct sim_echo_result {
	int run_rc;                   /* gale_runtime_run's result (0 or GALE_E_STALL...). */
	uint32_t clients_ok;          /* Clients that got their exact message back. */
	uint32_t attempts_count;      /* Connections tried, all clients. */
	uint64_t trace_hash;          /* The trace's hash (0 without a trace). */
	struct gale_sim_stats stats;  /* The sim's counters at the end. */
	int streams_check;            /* gale_sim_check_streams(). */
	char message[256];            /* Why something failed, or "". */
};

/* Runs the workload to completion; everything is torn down before it returns (a failed
 * teardown is reported in result->message). Returns 0 when every client succeeded and
 * every check passed. */
int sim_echo_run(const struct sim_echo_config *config, struct sim_echo_result *result);

#endif /* GALE_TESTS_SIM_ECHO_H */
