/* SPDX-License-Identifier: MIT */
/*
 * Result codes: the tri-state, gale's own codes in [-4095, -4000], gale_strerror() and
 * gale_error_name() for every code gale returns. Pure logic, no driver.
 */
#include <errno.h>
#include <string.h>

#include <gale/error.h>

#include "test_support.h"

static void pending_is_one_and_not_an_error(void **state)
{
	(void)state;
	assert_int_equal(GALE_PENDING, 1);
	assert_true(gale_is_pending(GALE_PENDING));
	assert_false(gale_is_pending(0));
	assert_false(gale_is_pending(-EAGAIN));
	assert_string_equal(gale_error_name(GALE_PENDING), "GALE_PENDING");
	assert_string_equal(gale_strerror(0), "success");
}

static void own_codes_live_outside_errno_range(void **state)
{
	(void)state;
#define CHECK_RANGE(name, value, message)                                                   \
	assert_true(GALE_E_##name >= -4095 && GALE_E_##name <= -4000);                     \
	assert_string_equal(gale_strerror(GALE_E_##name), message);                        \
	assert_string_equal(gale_error_name(GALE_E_##name), "GALE_E_" #name);
	GALE_ERROR_MAP(CHECK_RANGE)
#undef CHECK_RANGE
	assert_int_equal(GALE_E_UNEXPECTED_EOF, -4095);
	assert_int_equal(GALE_E_WRITE_ZERO, -4094);
}

static void errno_codes_have_names(void **state)
{
	(void)state;
	assert_string_equal(gale_error_name(-ECONNRESET), "ECONNRESET");
	assert_string_equal(gale_strerror(-ECONNRESET), "connection reset by peer");
	assert_string_equal(gale_error_name(-EPIPE), "EPIPE");
	assert_string_equal(gale_error_name(-EAGAIN), "EAGAIN");
	assert_string_equal(gale_error_name(-EWOULDBLOCK), "EAGAIN");
	assert_string_equal(gale_error_name(-EBADF), "EBADF");
	assert_string_equal(gale_error_name(-EEXIST), "EEXIST");
	assert_string_equal(gale_error_name(-EPERM), "EPERM");
	assert_string_equal(gale_error_name(-EBUSY), "EBUSY");
	assert_string_equal(gale_error_name(-ECONNREFUSED), "ECONNREFUSED");
}

static void unknown_codes_are_named_unknown(void **state)
{
	(void)state;
	assert_string_equal(gale_strerror(-3999), "unknown error");
	assert_string_equal(gale_error_name(-3999), "UNKNOWN");
	assert_string_equal(gale_strerror(42), "unknown error");
	assert_string_equal(gale_strerror(-4000), "unknown error");
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pending_is_one_and_not_an_error),
		cmocka_unit_test(own_codes_live_outside_errno_range),
		cmocka_unit_test(errno_codes_have_names),
		cmocka_unit_test(unknown_codes_are_named_unknown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
