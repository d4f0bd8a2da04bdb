/* SPDX-License-Identifier: MIT */
/*
 * read_to_end with a limit and a counting allocator. Methodology: hand polling over the
 * scripted mock, which also proves exactly how many bytes past the limit were consumed
 * (gale_mock_io_finish names the bytes left). Pins: the whole stream up to EOF, geometric
 * growth (exact allocation counts and capacities), the limit (GALE_E_LIMIT, first len_max
 * bytes kept, exactly one extra byte consumed), allocation failure at each growth step
 * (-ENOMEM, bytes kept), errors pass through, ownership (take / deinit, live_count 0).
 */
#include <errno.h>
#include <string.h>

#include <gale/error.h>
#include <gale/mock_io.h>
#include <gale/read_to_end.h>

#include "test_support.h"

enum { PATTERN_LEN = 10000 };

static void pattern_fill(uint8_t pattern[PATTERN_LEN])
{
	for (size_t i = 0; i < PATTERN_LEN; i++)
		pattern[i] = (uint8_t)(i * 7 + 3);
}

static void reads_until_eof_with_geometric_growth(void **state)
{
	(void)state;
	uint8_t pattern[PATTERN_LEN];
	pattern_fill(pattern);
	const struct gale_mock_action actions[] = {
		GALE_MOCK_ACTION_READ(pattern, 100),
		GALE_MOCK_ACTION_PENDING(),
		GALE_MOCK_ACTION_READ(pattern + 100, 4900),
		GALE_MOCK_ACTION_READ_EOF(),
	};
	struct gale_mock_io mock;
	gale_mock_io_init(&mock, actions, 4);
	struct gale_test_allocator allocator;
	gale_test_allocator_init(&allocator);
	struct gale_test_wake_log log = {0};
	struct gale_cx cx = {gale_test_waker(&log, 1)};
	struct gale_read_to_end future;
	gale_read_to_end_init(&future, gale_mock_io_reader(&mock), &allocator.base, SIZE_MAX);
	assert_int_equal(gale_read_to_end_poll(&future, &cx), GALE_PENDING);
	assert_int_equal(future.len_filled, 100);
	assert_int_equal(log.wake_counts[1], 1);
	assert_int_equal(gale_read_to_end_poll(&future, &cx), 0);
	assert_int_equal(future.len_filled, 5000);
	assert_memory_equal(future.buf, pattern, 5000);
	/* 256, 512, 1024, 2048, 4096, 8192: six allocations, one alive. */
	assert_int_equal(future.cap, 8192);
	assert_int_equal(allocator.alloc_count, 6);
	assert_int_equal(allocator.live_count, 1);
	assert_int_equal(gale_mock_io_finish(&mock), 0);

	size_t len = 0, cap = 0;
	uint8_t *buf = gale_read_to_end_take(&future, &len, &cap);
	assert_non_null(buf);
	assert_int_equal(len, 5000);
	assert_int_equal(cap, 8192);
	assert_null(future.buf);
	gale_read_to_end_deinit(&future); /* Owns nothing now: frees nothing. */
	assert_int_equal(allocator.live_count, 1);
	allocator.base.free(allocator.base.data, buf, cap);
	assert_int_equal(allocator.live_count, 0);
}

static void growth_is_clamped_to_the_limit(void **state)
{
	(void)state;
	uint8_t pattern[PATTERN_LEN];
	pattern_fill(pattern);
	const struct gale_mock_action actions[] = {
		GALE_MOCK_ACTION_READ(pattern, 6000),
		GALE_MOCK_ACTION_READ_EOF(),
	};
	struct gale_mock_io mock;
	gale_mock_io_init(&mock, actions, 2);
	struct gale_test_allocator allocator;
	gale_test_allocator_init(&allocator);
	struct gale_cx cx = {gale_waker_none()};
	struct gale_read_to_end future;
	gale_read_to_end_init(&future, gale_mock_io_reader(&mock), &allocator.base, 6000);
	assert_int_equal(gale_read_to_end_poll(&future, &cx), 0);
	assert_int_equal(future.len_filled, 6000);
	assert_int_equal(future.cap, 6000); /* 256 .. 4096, then 6000, never more. */
	assert_int_equal(allocator.alloc_count, 6);
	assert_memory_equal(future.buf, pattern, 6000);
	assert_int_equal(gale_mock_io_finish(&mock), 0);
	gale_read_to_end_deinit(&future);
	assert_int_equal(allocator.live_count, 0);
}

static void exceeding_the_limit_is_limit(void **state)
{
	(void)state;
	const struct gale_mock_action actions[] = {
		GALE_MOCK_ACTION_READ("0123456789AB", 12),
	};
	struct gale_mock_io mock;
	gale_mock_io_init(&mock, actions, 1);
	struct gale_test_allocator allocator;
	gale_test_allocator_init(&allocator);
	struct gale_cx cx = {gale_waker_none()};
	struct gale_read_to_end future;
	gale_read_to_end_init(&future, gale_mock_io_reader(&mock), &allocator.base, 10);
	assert_int_equal(gale_read_to_end_poll(&future, &cx), GALE_E_LIMIT);
	assert_int_equal(future.len_filled, 10);
	assert_int_equal(future.cap, 10);
	assert_memory_equal(future.buf, "0123456789", 10);
	/* Exactly one byte past the limit was consumed: "B" is still in the reader. */
	assert_int_equal(gale_mock_io_finish(&mock), GALE_E_MOCK);
	assert_string_equal(gale_mock_io_error(&mock),
			    "script not finished: 1 of 1 actions left, "
			    "next is action 0 (READ, 1 of 12 bytes left)");
	gale_read_to_end_deinit(&future);
	assert_int_equal(allocator.live_count, 0);
}

static void exactly_at_the_limit_is_fine(void **state)
{
	(void)state;
	const struct gale_mock_action actions[] = {
		GALE_MOCK_ACTION_READ("0123456789", 10),
		GALE_MOCK_ACTION_READ_EOF(),
	};
	struct gale_mock_io mock;
	gale_mock_io_init(&mock, actions, 2);
	struct gale_cx cx = {gale_waker_none()};
	struct gale_read_to_end future;
	gale_read_to_end_init(&future, gale_mock_io_reader(&mock), NULL, 10);
	assert_int_equal(gale_read_to_end_poll(&future, &cx), 0);
	assert_int_equal(future.len_filled, 10);
	assert_int_equal(gale_mock_io_finish(&mock), 0);
	gale_read_to_end_deinit(&future);
}

static void zero_limit(void **state)
{
	(void)state;
	const struct gale_mock_action eof[] = {GALE_MOCK_ACTION_READ_EOF()};
	const struct gale_mock_action data[] = {GALE_MOCK_ACTION_READ("x", 1)};
	struct gale_mock_io mock;
	struct gale_test_allocator allocator;
	gale_test_allocator_init(&allocator);
	struct gale_cx cx = {gale_waker_none()};
	struct gale_read_to_end future;
	gale_mock_io_init(&mock, eof, 1);
	gale_read_to_end_init(&future, gale_mock_io_reader(&mock), &allocator.base, 0);
	assert_int_equal(gale_read_to_end_poll(&future, &cx), 0);
	assert_null(future.buf);
	gale_read_to_end_deinit(&future);
	gale_mock_io_init(&mock, data, 1);
	gale_read_to_end_init(&future, gale_mock_io_reader(&mock), &allocator.base, 0);
	assert_int_equal(gale_read_to_end_poll(&future, &cx), GALE_E_LIMIT);
	assert_int_equal(future.len_filled, 0);
	gale_read_to_end_deinit(&future);
	assert_int_equal(allocator.calls_count, 0);
}

static void allocation_failure_keeps_the_bytes(void **state)
{
	(void)state;
	uint8_t pattern[PATTERN_LEN];
	pattern_fill(pattern);
	const struct gale_mock_action actions[] = {
		GALE_MOCK_ACTION_READ(pattern, 1000),
		GALE_MOCK_ACTION_READ_EOF(),
	};
	/* Growth steps 256, 512, 1024: fail each in turn. */
	const size_t kept[] = {0, 256, 512};
	for (uint64_t fail_at = 1; fail_at <= 3; fail_at++) {
		struct gale_mock_io mock;
		gale_mock_io_init(&mock, actions, 2);
		struct gale_test_allocator allocator;
		gale_test_allocator_init(&allocator);
		allocator.fail_at = fail_at;
		struct gale_cx cx = {gale_waker_none()};
		struct gale_read_to_end future;
		gale_read_to_end_init(&future, gale_mock_io_reader(&mock), &allocator.base,
				      SIZE_MAX);
		assert_int_equal(gale_read_to_end_poll(&future, &cx), -ENOMEM);
		assert_int_equal(future.len_filled, kept[fail_at - 1]);
		if (future.len_filled != 0)
			assert_memory_equal(future.buf, pattern, future.len_filled);
		assert_int_equal(allocator.live_count, fail_at == 1 ? 0 : 1);
		gale_read_to_end_deinit(&future);
		assert_int_equal(allocator.live_count, 0);
	}
}

static void reader_errors_pass_through(void **state)
{
	(void)state;
	const struct gale_mock_action actions[] = {
		GALE_MOCK_ACTION_READ("abc", 3),
		GALE_MOCK_ACTION_READ_ERROR(-ECONNRESET),
	};
	struct gale_mock_io mock;
	gale_mock_io_init(&mock, actions, 2);
	struct gale_test_allocator allocator;
	gale_test_allocator_init(&allocator);
	struct gale_cx cx = {gale_waker_none()};
	struct gale_read_to_end future;
	gale_read_to_end_init(&future, gale_mock_io_reader(&mock), &allocator.base, 100);
	assert_int_equal(gale_read_to_end_poll(&future, &cx), -ECONNRESET);
	assert_int_equal(future.len_filled, 3);
	assert_memory_equal(future.buf, "abc", 3);
	gale_read_to_end_deinit(&future);
	assert_int_equal(allocator.live_count, 0);
	/* A zeroed future deinits to nothing. */
	struct gale_read_to_end zeroed = {0};
	gale_read_to_end_deinit(&zeroed);
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reads_until_eof_with_geometric_growth),
		cmocka_unit_test(growth_is_clamped_to_the_limit),
		cmocka_unit_test(exceeding_the_limit_is_limit),
		cmocka_unit_test(exactly_at_the_limit_is_fine),
		cmocka_unit_test(zero_limit),
		cmocka_unit_test(allocation_failure_keeps_the_bytes),
		cmocka_unit_test(reader_errors_pass_through),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
