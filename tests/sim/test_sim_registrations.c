/* SPDX-License-Identifier: MIT */
/*
 * The reactor's registrations grow on demand (issue 18): no fixed cap by default, tokens
 * that stay valid (and stale ones that stay stale) across growth, and a hard limit, when
 * one is set, refused with -ENOSPC and counted.
 *
 * Methodology: the simulator with exact options (no faults, socketpairs delivered inside
 * write), so growth is driven far past the old 1,024 default without kernel fds. Nothing
 * depends on a seed; replay one test with -t NAME.
 */
#include <errno.h>
#include <stdlib.h>

#include <gale/error.h>
#include <gale/reactor.h>
#include <gale/rt.h>
#include <gale/sim.h>

#include "sim_test_support.h"
#include "test_support.h"

#define PAIRS 5000

struct pairs {
	int fds[PAIRS][2];
	uint64_t tokens[PAIRS];
};

static void pairs_register(struct gale_runtime *runtime, struct pairs *p, uint32_t count)
{
	struct gale_driver *driver = gale_runtime_driver(runtime);
	for (uint32_t i = 0; i < count; i++) {
		assert_int_equal(gale_driver_socketpair(driver, p->fds[i]), 0);
		assert_int_equal(gale_reactor_register(&runtime->reactor, p->fds[i][1],
						       GALE_READY_READ, &p->tokens[i]), 0);
	}
}

static void pairs_close(struct gale_runtime *runtime, struct pairs *p, uint32_t count)
{
	struct gale_driver *driver = gale_runtime_driver(runtime);
	for (uint32_t i = 0; i < count; i++) {
		assert_int_equal(gale_reactor_deregister(&runtime->reactor, p->tokens[i]), 0);
		assert_int_equal(gale_driver_close(driver, p->fds[i][0]), 0);
		assert_int_equal(gale_driver_close(driver, p->fds[i][1]), 0);
	}
}

/* Registers 5,000 fds under the default options, far past the old 1,024 cap; a token
 * issued before every growth still names its registration and gets its events. */
static void test_default_grows_and_tokens_survive(void **state)
{
	(void)state;
	struct gale_sim sim;
	struct gale_sim_options options = gale_sim_test_options(1000000);
	assert_int_equal(gale_sim_init(&sim, &options), 0);
	struct gale_runtime runtime;
	assert_int_equal(gale_runtime_init(&runtime, &sim.base, NULL), 0);
	struct pairs *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	/* A token retired before growth stays stale after it (generations are kept). */
	int spare[2];
	uint64_t stale;
	assert_int_equal(gale_driver_socketpair(&sim.base, spare), 0);
	assert_int_equal(gale_reactor_register(&runtime.reactor, spare[1], GALE_READY_READ,
					       &stale), 0);
	assert_int_equal(gale_reactor_deregister(&runtime.reactor, stale), 0);
	pairs_register(&runtime, p, PAIRS);
	assert_int_equal(gale_reactor_registrations_count(&runtime.reactor), PAIRS);
	assert_false(gale_reactor_is_registered(&runtime.reactor, stale));
	assert_true(gale_reactor_is_registered(&runtime.reactor, p->tokens[0]));
	char byte = 'x';
	assert_int_equal(gale_driver_write(&sim.base, p->fds[0][0], &byte, 1), 1);
	assert_int_equal(gale_driver_write(&sim.base, p->fds[PAIRS - 1][0], &byte, 1), 1);
	assert_true(gale_reactor_turn(&runtime.reactor, 0) >= 2);
	uint32_t first = gale_reactor_ready_get(&runtime.reactor, p->tokens[0]);
	assert_true((first & GALE_READY_READ) != 0);
	assert_true((gale_reactor_ready_get(&runtime.reactor, p->tokens[PAIRS - 1]) &
		     GALE_READY_READ) != 0);
	assert_int_equal(gale_reactor_ready_get(&runtime.reactor, p->tokens[1]), 0);
	assert_int_equal(gale_reactor_stats_get(&runtime.reactor).registrations_refused_count, 0);
	pairs_close(&runtime, p, PAIRS);
	assert_int_equal(gale_driver_close(&sim.base, spare[0]), 0);
	assert_int_equal(gale_driver_close(&sim.base, spare[1]), 0);
	assert_int_equal(gale_runtime_deinit(&runtime), 0);
	free(p);
	gale_sim_test_finish(&sim);
}

/* A hard limit set explicitly refuses the next registration with -ENOSPC and counts it;
 * a deregistration makes room again. */
static void test_explicit_limit_refuses_and_reports(void **state)
{
	(void)state;
	struct gale_sim sim;
	struct gale_sim_options options = gale_sim_test_options(1000000);
	assert_int_equal(gale_sim_init(&sim, &options), 0);
	struct gale_runtime runtime;
	struct gale_runtime_options runtime_options = gale_runtime_options_default();
	runtime_options.registrations_max = 100; /* Above the first slab: growth, then limit. */
	assert_int_equal(gale_runtime_init(&runtime, &sim.base, &runtime_options), 0);
	struct pairs *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	pairs_register(&runtime, p, 100);
	int extra[2];
	uint64_t token;
	assert_int_equal(gale_driver_socketpair(&sim.base, extra), 0);
	assert_int_equal(gale_reactor_register(&runtime.reactor, extra[1], GALE_READY_READ,
					       &token), -ENOSPC);
	assert_int_equal(gale_reactor_stats_get(&runtime.reactor).registrations_refused_count, 1);
	assert_int_equal(gale_reactor_deregister(&runtime.reactor, p->tokens[50]), 0);
	assert_int_equal(gale_reactor_register(&runtime.reactor, extra[1], GALE_READY_READ,
					       &p->tokens[50]), 0);
	assert_int_equal(gale_driver_close(&sim.base, p->fds[50][1]), 0);
	p->fds[50][1] = extra[1];
	pairs_close(&runtime, p, 100);
	assert_int_equal(gale_driver_close(&sim.base, extra[0]), 0);
	assert_int_equal(gale_runtime_deinit(&runtime), 0);
	free(p);
	gale_sim_test_finish(&sim);
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_grows_and_tokens_survive),
		cmocka_unit_test(test_explicit_limit_refuses_and_reports),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
