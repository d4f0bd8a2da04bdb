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
 * A recording waker for tests: counts wakes per id. wake_counts[id % 16] increments.
 */
struct gale_test_wake_log {
	uint32_t wake_counts[16]; /* Wakes seen per id (mod 16). */
	uint32_t wakes_total;     /* All wakes. */
};
struct gale_waker gale_test_waker(struct gale_test_wake_log *log, uint64_t id);

/*
 * The scripted driver (support/script_driver.c): every op pops the next scripted result,
 * so a test sets exact return values and checks exact calls. Scripted with cmocka's
 * will_return()/expect_*() on the op's function name:
 *   fd_register/fd_reregister/fd_deregister: expect_value(op, fd, ...), will_return(op, rc)
 *   wait: will_return(gale_script_driver_wait, count) then, count times,
 *         will_return(gale_script_driver_wait, token), will_return(..., ready bits).
 *   now_ns: returns driver->now_ns (a field the test sets), never scripted.
 * Other ops are not scripted and fail the test if called.
 */
struct gale_script_driver {
	struct gale_driver base; /* Always first. */
	int64_t now_ns;          /* What now_ns() returns. */
	uint32_t waits_count;    /* wait() calls seen. */
	int64_t last_timeout_ns; /* timeout_ns of the last wait(). */
};
void gale_script_driver_init(struct gale_script_driver *driver);

#endif /* GALE_TESTS_TEST_SUPPORT_H */
