/* SPDX-License-Identifier: MIT */
/* Shared test helpers: cmocka includes, seeds, a counting allocator, a scripted driver. */
#ifndef GALE_TESTS_TEST_SUPPORT_H
#define GALE_TESTS_TEST_SUPPORT_H

/* cmocka needs these before its header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <gale/alloc.h>
#include <gale/driver.h>
#include <gale/task.h>

/* Each test file defines this: runs its cmocka group and returns the failure count. */
int gale_test_group(void);

/*
 * How long an os test waits for an event the kernel or the runtime owes it (a loopback
 * handshake, a readiness edge, a due timer) before calling it lost. Generous on purpose: on
 * a shared, loaded machine any single step may lag by seconds, so an os test waits for the
 * event itself and never assumes it happens within a time window. Only a failing test ever
 * waits this long (CTest's per-test timeout is 120 s).
 */
#define GALE_TEST_EVENT_WAIT_NS (30 * INT64_C(1000000000))

/* The seed sweep of sim tests: GALE_TEST_SEED pins one, GALE_TEST_SEEDS sets the count. */
struct gale_test_seeds {
	uint64_t first; /* First seed. */
	uint64_t count; /* How many consecutive seeds. */
};
struct gale_test_seeds gale_test_seeds_get(uint64_t count_default);

/*
 * An allocator that counts, and fails the Nth allocation when fail_at != 0 (1 = the first).
 * The test asserts live_count == 0 at the end to prove nothing leaked.
 */
struct gale_test_allocator {
	struct gale_allocator base; /* Hand &base to gale. */
	uint64_t alloc_count;       /* Successful allocations. */
	uint64_t live_count;        /* Allocated and not freed. */
	uint64_t live_bytes;        /* Bytes allocated and not freed. */
	uint64_t calls_count;       /* alloc calls, failed ones included. */
	uint64_t fail_at;           /* Fail the call with this number (1-based); 0 = never. */
};
void gale_test_allocator_init(struct gale_test_allocator *allocator);

/*
 * A death test (support/test_death.c): runs fn(data) in a forked child and fails unless
 * the child aborts (SIGABRT) with message_part somewhere in what it wrote to stderr. For
 * the checks that abort on purpose (a broken reader contract, error.h); the parent's
 * state is untouched whatever the child does.
 */
void gale_test_expect_abort(void (*fn)(void *data), void *data, const char *message_part);

/*
 * A recording waker for tests: counts wakes per id. wake_counts[id % 16] increments.
 */
struct gale_test_wake_log {
	uint32_t wake_counts[16]; /* Wakes seen per id (mod 16). */
	uint32_t wakes_total;     /* All wakes. */
};
struct gale_waker gale_test_waker(struct gale_test_wake_log *log, uint64_t id);

/*
 * The scripted driver (support/script_driver.c): a struct gale_driver whose ops return what
 * the test queued with cmocka, so a test fixes exact results and checks exact calls without
 * a kernel. Queue per op, keyed by these function names (cmocka stringifies them):
 *   gale_script_driver_fd_register:   expect_value(..., fd, x), expect_value(..., token, x),
 *                                     expect_value(..., interest, x), will_return(..., rc)
 *   gale_script_driver_fd_reregister: the same three expectations and will_return(..., rc)
 *   gale_script_driver_fd_deregister: expect_value(..., fd, x), will_return(..., rc)
 *   gale_script_driver_wait:          will_return(..., count); when count > 0, then count
 *                                     pairs will_return(..., token), will_return(..., ready).
 *                                     A negative count is returned as the wait error.
 * expect_any() works in place of expect_value() for an argument the test does not pin.
 * The gale_script_driver_expect_*() helpers below queue exactly those values.
 * wait() also counts calls (waits_count), keeps last_timeout_ns and fails the test when
 * the scripted count exceeds its events_cap. now_ns() returns the now_ns field (the test
 * sets it; never scripted). wake is NULL (the wrapper returns -ENOTSUP); deinit does
 * nothing. Every other op (read, write, socket, close...) fails the test when called.
 * cmocka fails a test that ends with queued values left over, so a script is exact.
 */
struct gale_script_driver {
	struct gale_driver base;    /* Always first. */
	struct gale_driver_ops ops; /* Per instance: init fills it from the op list. */
	int64_t now_ns;             /* What now_ns() returns. */
	uint32_t waits_count;       /* wait() calls seen. */
	int64_t last_timeout_ns;    /* timeout_ns of the last wait(). */
};
void gale_script_driver_init(struct gale_script_driver *driver);
/* Queues one fd_register call with these exact arguments, returning rc. */
void gale_script_driver_expect_fd_register(int fd, uint64_t token, uint32_t interest, int rc);
/* Queues one fd_reregister call with these exact arguments, returning rc. */
void gale_script_driver_expect_fd_reregister(int fd, uint64_t token, uint32_t interest,
					     int rc);
/* Queues one fd_deregister call for fd, returning rc. */
void gale_script_driver_expect_fd_deregister(int fd, int rc);
/* Queues one wait() returning count events copied from events (NULL when count <= 0), or
 * the error count when it is negative. */
void gale_script_driver_expect_wait(const struct gale_event *events, int count);

#endif /* GALE_TESTS_TEST_SUPPORT_H */
