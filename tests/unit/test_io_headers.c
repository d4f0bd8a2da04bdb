/* SPDX-License-Identifier: MIT */
/* Placeholder being written. */
#include "test_support.h"

static void placeholder(void **state)
{
	(void)state;
	assert_true(1);
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(placeholder)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
