/* SPDX-License-Identifier: MIT */
/*
 * The reactor's growth on the kernel (issue 18): 5,000 socketpairs registered on epoll
 * under the default options (the old cap was 1,024), events reaching registrations made
 * before and after every growth, all within the test's own time bound.
 *
 * Methodology: socketpairs (no ports), one byte written to the first and the last pair,
 * and turns until both are ready, bounded by a generous deadline on the driver's clock.
 */
#include <errno.h>
#include <stdlib.h>

#include <gale/driver_epoll.h>
#include <gale/error.h>
#include <gale/reactor.h>
#include <gale/rt.h>

#include "test_support.h"

#define PAIRS 5000
#define DEADLINE_NS (INT64_C(30) * 1000000000)

struct pairs {
	int fds[PAIRS][2];
	uint64_t tokens[PAIRS];
};

static bool both_ready(const struct gale_reactor *reactor, const struct pairs *p)
{
	return (gale_reactor_ready_get(reactor, p->tokens[0]) & GALE_READY_READ) != 0 &&
	       (gale_reactor_ready_get(reactor, p->tokens[PAIRS - 1]) & GALE_READY_READ) != 0;
}

static void test_epoll_holds_5000_registrations(void **state)
{
	(void)state;
	struct gale_driver_epoll epoll;
	assert_int_equal(gale_driver_epoll_init(&epoll), 0);
	struct gale_runtime runtime;
	assert_int_equal(gale_runtime_init(&runtime, &epoll.base, NULL), 0);
	struct pairs *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	for (int i = 0; i < PAIRS; i++) {
		assert_int_equal(gale_driver_socketpair(&epoll.base, p->fds[i]), 0);
		assert_int_equal(gale_reactor_register(&runtime.reactor, p->fds[i][1],
						       GALE_READY_READ, &p->tokens[i]), 0);
	}
	assert_int_equal(gale_reactor_registrations_count(&runtime.reactor), PAIRS);
	char byte = 'x';
	assert_int_equal(gale_driver_write(&epoll.base, p->fds[0][0], &byte, 1), 1);
	assert_int_equal(gale_driver_write(&epoll.base, p->fds[PAIRS - 1][0], &byte, 1), 1);
	int64_t deadline_ns = gale_driver_now_ns(&epoll.base) + DEADLINE_NS;
	while (!both_ready(&runtime.reactor, p)) {
		assert_true(gale_driver_now_ns(&epoll.base) < deadline_ns);
		assert_true(gale_reactor_turn(&runtime.reactor, 100 * 1000000) >= 0);
	}
	assert_int_equal(gale_reactor_ready_get(&runtime.reactor, p->tokens[1]), 0);
	for (int i = 0; i < PAIRS; i++) {
		assert_int_equal(gale_reactor_deregister(&runtime.reactor, p->tokens[i]), 0);
		assert_int_equal(gale_driver_close(&epoll.base, p->fds[i][0]), 0);
		assert_int_equal(gale_driver_close(&epoll.base, p->fds[i][1]), 0);
	}
	free(p);
	assert_int_equal(gale_runtime_deinit(&runtime), 0);
	gale_driver_epoll_deinit(&epoll);
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_epoll_holds_5000_registrations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
