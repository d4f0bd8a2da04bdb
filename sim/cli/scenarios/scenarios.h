/* SPDX-License-Identifier: MIT */
/* Shared helpers of the built-in scenarios, and the list of them (defined one per file). */
#ifndef GALE_SIM_CLI_SCENARIOS_H
#define GALE_SIM_CLI_SCENARIOS_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gale/error.h>
#include <gale/scenario.h>
#include <gale/task.h>

/* Byte i of a seeded pattern: cheap, position-dependent, so a lost, duplicated or
 * reordered byte changes what the reader sees. */
static inline uint8_t scn_pattern_byte(uint64_t seed, uint64_t i)
{
	uint64_t x = seed ^ (i * 0x9E3779B97F4A7C15ull);
	x ^= x >> 29;
	x *= 0xBF58476D1CE4E5B9ull;
	return (uint8_t)(x >> 56);
}

/* Fills buf[0, len) with pattern bytes offset, offset + 1, ... */
static inline void scn_pattern_fill(uint64_t seed, uint64_t offset, uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = scn_pattern_byte(seed, offset + i);
}

/* The index of the first byte of buf[0, len) that is not pattern byte offset + i, or len. */
static inline size_t scn_pattern_mismatch(uint64_t seed, uint64_t offset, const uint8_t *buf,
					  size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != scn_pattern_byte(seed, offset + i))
			return i;
	}
	return len;
}

/* A uniform draw in [min, max] from the run's entropy (min in an exhausted fuzz input). */
static inline uint64_t scn_draw(struct gale_scenario_run *run, uint64_t min, uint64_t max)
{
	return gale_entropy_range(gale_sim_entropy(&run->sim), min, max);
}

/* Faults of one kind injected so far in this run (the driver's and the allocator's). */
static inline uint64_t scn_faults(const struct gale_scenario_run *run, enum gale_fault_kind kind)
{
	if (kind == GALE_FAULT_ALLOC_FAIL)
		return gale_sim_allocator_stats_get(&run->allocator).failed_count;
	return gale_sim_stats_get(&run->sim).faults.injected[kind];
}

/*
 * True for the errors a TCP endpoint sees when its connection broke under it: a reset
 * (the RESET fault, or a peer that closed with unread data), a write after the peer
 * left, or an end of stream in the middle of a message. Scenarios retry on these and
 * their checks then demand that a fault explains the retry.
 */
static inline bool scn_is_broken(int rc)
{
	return rc == -ECONNRESET || rc == -EPIPE || rc == -ENOTCONN || rc == GALE_E_UNEXPECTED_EOF;
}

/*
 * A one-slot waker: a task that waits for a condition other tasks change (an acceptor
 * waiting for its clients to finish) stores its waker here on every poll, and the task
 * that makes the condition true wakes it.
 */
struct scn_signal {
	struct gale_waker waker; /* The waiting task's waker, or none. */
};

static inline void scn_signal_store(struct scn_signal *signal, const struct gale_cx *cx)
{
	signal->waker = cx->waker;
}

static inline void scn_signal_wake(struct scn_signal *signal)
{
	gale_waker_wake(&signal->waker);
}

/*
 * gale_scenario_spawn(), retried when it fails with -ENOMEM: the ALLOC_FAIL fault makes
 * a spawn fail now and then, and a scenario that gave up would fail its setup for a
 * fault a real program survives by trying again.
 * @return 0, or the last error (-ENOMEM after many failures in a row).
 */
int scn_spawn(struct gale_scenario_run *run, const char *name, gale_poll_fn *poll, void *data,
	      bool expect_error, struct gale_task_handle *handle_out);

extern const struct gale_scenario scn_tcp_echo;
extern const struct gale_scenario scn_duplex_pump;
extern const struct gale_scenario scn_async_fd_pair;
extern const struct gale_scenario scn_connect_storm;
extern const struct gale_scenario scn_proxy;
extern const struct gale_scenario scn_rpc;

#endif /* GALE_SIM_CLI_SCENARIOS_H */
