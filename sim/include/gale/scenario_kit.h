/* SPDX-License-Identifier: MIT */
/**
 * @file scenario_kit.h
 * What every scenario needs besides the runner (<gale/scenario.h>): draws from the run's
 * entropy, spawns that survive injected allocation failures, signals and start-up barriers
 * between tasks, pattern bytes to check streams with, and THE RULE for errors:
 *
 *   A correct program on the simulator sees an I/O error only when a fault the runner
 *   injected explains it. A reset, a refused connect, a write after the peer left, an end
 *   of stream in the middle of a message, a timeout: each is survivable when a fault
 *   caused it (the program should retry, reconnect or give up cleanly) and a bug when
 *   nothing did.
 *
 * gale_scenario_fault_causes() says which fault kinds can cause an error code (from the
 * fault map's error and effects columns);
 * gale_scenario_error_explained() asks whether one of them was injected in this run so
 * far; gale_scenario_survive() applies the rule in a task: an explained error becomes 0
 * (carry on), an unexplained one fails the run (oracle CHECK) naming the error and what
 * the task was doing, and comes back so the task can stop.
 *
 * All of it runs on the simulator only (the run's entropy and fault counts); none of it
 * allocates except the spawns. Signals and barriers hold wakers the stall oracle cannot
 * see: a task waiting on them forever is reported as a stall, as it should be.
 */
#ifndef GALE_SCENARIO_KIT_H
#define GALE_SCENARIO_KIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gale/scenario.h>
#include <gale/task.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * A draw in [min, max] (min <= max) from the run's entropy: uniform with a seed,
 * log-scaled from fuzz bytes (gale_entropy_size(): small sizes as reachable as large ones),
 * min once a fuzz input is exhausted. Every size and count a scenario varies per seed
 * should come from here: it is the scenario's size knob, which shrinking turns to its
 * minimum (gale_run_options' draws_min: min, no entropy spent) to find the smallest world
 * that still fails. So put the cheap choice at min: a chunk size repeated until a total
 * is written is best drawn as the shortfall from the largest chunk (largest - draw(0,
 * largest - 1)), so that an exhausted input or a shrunk world writes in few chunks rather
 * than byte by byte.
 */
GALE_EXTERN uint64_t gale_scenario_draw(struct gale_scenario_run *run, uint64_t min,
					uint64_t max);

/** Faults of one kind injected so far in this run (the driver's and the allocator's). */
GALE_EXTERN uint64_t gale_scenario_faults(const struct gale_scenario_run *run,
					  enum gale_fault_kind kind);

/**
 * gale_scenario_spawn(), tried again while it fails with -ENOMEM: the ALLOC_FAIL fault
 * makes a spawn fail now and then, and a setup that gave up would fail the run for a fault
 * a real program survives. Same arguments and ownership as gale_scenario_spawn().
 * @return 0, or -ENOMEM after 64 failures in a row (the allocator is really exhausted).
 */
GALE_EXTERN int gale_scenario_spawn_retry(struct gale_scenario_run *run, const char *name,
					  gale_poll_fn *poll, void *data, bool expect_error,
					  struct gale_task_handle *handle_out);

/**
 * Bit (1u << kind) set for each fault kind that can make an I/O call return rc, read off
 * GALE_FAULT_MAP (sim_profile.h): the kinds whose error column is -rc (-ENFILE counts as
 * -EMFILE), and the kinds whose effects column holds the effect rc is:
 *   -ECONNRESET, -EPIPE, -ENOTCONN, GALE_E_UNEXPECTED_EOF  GALE_FAULT_EFFECT_BROKEN
 *   -ECONNREFUSED                                          GALE_FAULT_EFFECT_REFUSED
 *   GALE_E_TIMED_OUT, -ETIMEDOUT                           GALE_FAULT_EFFECT_TIMEOUT
 * For example (the map is the full list): a broken connection is explained by RESET,
 * PARTITION and ALLOC_FAIL (a peer whose allocation failed closes early; an accept EMFILE
 * leaves the connection queued, so it explains none); -ECONNREFUSED by CONNECT_REFUSED and
 * PARTITION; -EMFILE and -ENFILE by ACCEPT_EMFILE; -ENOMEM by ALLOC_FAIL; a timeout by
 * PARTITION, CONNECT_SLOW, LATENCY_JITTER and READY_DELAY.
 * 0 for every other code (including 0 and GALE_PENDING): no fault explains it.
 */
GALE_EXTERN uint32_t gale_scenario_fault_causes(int rc);

/** True for the errors a TCP endpoint sees when its connection broke under it: -ECONNRESET,
 *  -EPIPE, -ENOTCONN, GALE_E_UNEXPECTED_EOF. */
GALE_EXTERN bool gale_scenario_error_is_broken(int rc);

/**
 * True when rc < 0 and a fault that can cause it (gale_scenario_fault_causes) was injected
 * in this run before now. The question is per run, not per connection: one reset early in
 * a run explains every later broken connection of any task (the fault record does not say
 * which connection it hit), so the rule can miss a connection a bug broke after a fault
 * broke another one. Checks that want more can count faults per kind
 * (gale_scenario_faults) against the breaks they saw.
 */
GALE_EXTERN bool gale_scenario_error_explained(const struct gale_scenario_run *run, int rc);

/**
 * The rule, in a task: returns 0 for rc == 0 and for an error an injected fault explains
 * (the task carries on: retries, reconnects or finishes cleanly); for an unexplained error
 * records a failure (oracle CHECK: "<what>: <error name> (<message>), and no injected fault
 * explains it") and returns rc. GALE_PENDING is returned as is.
 * @param what  what the task was doing ("client 2 reading the echo"), for the message.
 */
GALE_EXTERN int gale_scenario_survive(struct gale_scenario_run *run, int rc, const char *what);

/**
 * A one-slot signal: a task waiting for a condition other tasks change stores its waker
 * on every poll that returns pending; the task that makes the condition true wakes it.
 * Zero-initialise it.
 */
struct gale_scenario_signal {
	struct gale_waker waker; /**< The waiting task's waker, or none. */
};

/** Stores cx's waker (call it in the poll that is about to return GALE_PENDING). */
GALE_EXTERN void gale_scenario_signal_wait(struct gale_scenario_signal *signal,
					   const struct gale_cx *cx);
/** Wakes the stored waker, if any (it is consumed). */
GALE_EXTERN void gale_scenario_signal_wake(struct gale_scenario_signal *signal);

/** Tasks one barrier can hold. */
#define GALE_SCENARIO_BARRIER_MAX 32

/**
 * A start-up barrier: no task passes until `parties` tasks arrived (servers listening
 * before clients connect, all clients connected before the first request). Each task
 * keeps a zeroed uint32_t ticket for it.
 */
struct gale_scenario_barrier {
	uint32_t parties;                                   /**< Tasks that must arrive. */
	uint32_t arrived;                                   /**< Tasks that did. */
	struct gale_waker wakers[GALE_SCENARIO_BARRIER_MAX]; /**< Of the tasks waiting. */
};

/** @return 0, or -EINVAL when parties is 0 or above GALE_SCENARIO_BARRIER_MAX. */
GALE_EXTERN int gale_scenario_barrier_init(struct gale_scenario_barrier *barrier,
					   uint32_t parties);

/**
 * Arrives (on the first call with this ticket) and waits: 0 once every party arrived,
 * GALE_PENDING before (the waker is kept and woken by the last arrival). Calls after
 * passing return 0 at once. -EINVAL when more tasks arrive than parties.
 */
GALE_EXTERN int gale_scenario_barrier_poll(struct gale_scenario_barrier *barrier,
					   uint32_t *ticket, const struct gale_cx *cx);

/** Byte i of a seeded pattern: position-dependent, so a lost, duplicated or reordered
 *  byte changes what the reader sees. */
GALE_EXTERN uint8_t gale_scenario_pattern_byte(uint64_t seed, uint64_t i);
/** Fills buf[0, len) with pattern bytes offset, offset + 1, ... */
GALE_EXTERN void gale_scenario_pattern_fill(uint64_t seed, uint64_t offset, uint8_t *buf,
					    size_t len);
/** The index of the first byte of buf[0, len) that is not pattern byte offset + i, or len. */
GALE_EXTERN size_t gale_scenario_pattern_mismatch(uint64_t seed, uint64_t offset,
						  const uint8_t *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* GALE_SCENARIO_KIT_H */
