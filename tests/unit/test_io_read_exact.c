/* SPDX-License-Identifier: MIT */
/*
 * read_exact (seed 001, DESIGN core contracts). Methodology: hand polling with a
 * recording waker over the scripted mock (exact read sequences, exact leftovers) and over
 * the duplex pipe (real Pending and wakes). Pins: exactly n bytes across short reads, a
 * 0-byte read before n is GALE_E_UNEXPECTED_EOF, never a byte past n, zero-length
 * targets never call the reader, other errors pass through, Pending is forwarded only
 * with the waker stored and the next poll resumes at the cursor.
 */
#include <errno.h>
#include <string.h>

#include <gale/duplex.h>
#include <gale/error.h>
#include <gale/mock_io.h>
#include <gale/read_exact.h>

#include "test_support.h"

/* A reader that records the space it is offered and fills one byte per call. */
struct probe_reader {
	size_t offered[8];   /* gale_read_buf_remaining() at each call. */
	uint32_t calls_count; /* poll_read calls. */
};

static int probe_poll_read(void *self, struct gale_cx *cx, struct gale_read_buf *rb)
{
	struct probe_reader *probe = self;
	(void)cx;
	assert_true(probe->calls_count < 8);
	probe->offered[probe->calls_count++] = gale_read_buf_remaining(rb);
	uint8_t byte = (uint8_t)('0' + probe->calls_count);
	gale_read_buf_put(rb, &byte, 1);
	return 0;
}

static const struct gale_async_read_ops probe_read_ops = {
	.abi_version = GALE_ASYNC_IO_ABI_VERSION,
	.name = "probe",
	.poll_read = probe_poll_read,
};

static void reads_exactly_n_across_short_reads(void **state)
{
	(void)state;
	const struct gale_mock_action actions[] = {
		GALE_MOCK_ACTION_READ("he", 2),
		GALE_MOCK_ACTION_READ("l", 1),
		GALE_MOCK_ACTION_READ("lo", 2),
	};
	struct gale_mock_io mock;
	gale_mock_io_init(&mock, actions, 3);
	struct gale_test_wake_log log = {0};
	struct gale_cx cx = {gale_test_waker(&log, 1)};
	char buf[5];
	struct gale_read_exact future;
	gale_read_exact_init(&future, gale_mock_io_reader(&mock), buf, 5);
	assert_int_equal(gale_read_exact_poll(&future, &cx), 0); /* One poll retries them all. */
	assert_int_equal(future.len_filled, 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(gale_mock_io_stats_get(&mock).reads_count, 3);
	assert_int_equal(gale_mock_io_finish(&mock), 0);
	assert_int_equal(log.wakes_total, 0);
}

static void never_reads_past_n(void **state)
{
	(void)state;
	const struct gale_mock_action actions[] = {
		GALE_MOCK_ACTION_READ("abcdefgh", 8),
	};
	struct gale_mock_io mock;
	gale_mock_io_init(&mock, actions, 1);
	struct gale_cx cx = {gale_waker_none()};
	char buf[8] = {0};
	struct gale_read_exact future;
	gale_read_exact_init(&future, gale_mock_io_reader(&mock), buf, 5);
	assert_int_equal(gale_read_exact_poll(&future, &cx), 0);
	assert_memory_equal(buf, "abcde\0\0\0", 8); /* Nothing written past n. */
	/* The 3 bytes after n are still in the reader for the next read_exact. */
	gale_read_exact_init(&future, gale_mock_io_reader(&mock), buf, 3);
	assert_int_equal(gale_read_exact_poll(&future, &cx), 0);
	assert_memory_equal(buf, "fgh", 3);
	assert_int_equal(gale_mock_io_finish(&mock), 0);
}

static void reader_is_offered_only_the_remainder(void **state)
{
	(void)state;
	struct probe_reader probe = {0};
	struct gale_async_read reader = {&probe_read_ops, &probe};
	struct gale_cx cx = {gale_waker_none()};
	char buf[16];
	struct gale_read_exact future;
	gale_read_exact_init(&future, reader, buf, 4);
	assert_int_equal(gale_read_exact_poll(&future, &cx), 0);
	assert_int_equal(probe.calls_count, 4);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(probe.offered[i], 4 - i);
	assert_memory_equal(buf, "1234", 4);
}

static void eof_before_n_is_unexpected_eof(void **state)
{
	(void)state;
	const struct gale_mock_action actions[] = {
		GALE_MOCK_ACTION_READ("ab", 2),
		GALE_MOCK_ACTION_READ_EOF(),
	};
	struct gale_mock_io mock;
	gale_mock_io_init(&mock, actions, 2);
	struct gale_cx cx = {gale_waker_none()};
	char buf[4];
	struct gale_read_exact future;
	gale_read_exact_init(&future, gale_mock_io_reader(&mock), buf, 4);
	assert_int_equal(gale_read_exact_poll(&future, &cx), GALE_E_UNEXPECTED_EOF);
	assert_int_equal(future.len_filled, 2);
	assert_memory_equal(buf, "ab", 2);
	assert_int_equal(gale_mock_io_finish(&mock), 0);

	const struct gale_mock_action eof_only[] = {GALE_MOCK_ACTION_READ_EOF()};
	gale_mock_io_init(&mock, eof_only, 1);
	gale_read_exact_init(&future, gale_mock_io_reader(&mock), buf, 1);
	assert_int_equal(gale_read_exact_poll(&future, &cx), GALE_E_UNEXPECTED_EOF);
	assert_int_equal(future.len_filled, 0);
}

static void zero_length_target_does_not_call_the_reader(void **state)
{
	(void)state;
	struct gale_mock_io mock;
	gale_mock_io_init(&mock, NULL, 0); /* Any read would be a violation. */
	struct gale_cx cx = {gale_waker_none()};
	struct gale_read_exact future;
	gale_read_exact_init(&future, gale_mock_io_reader(&mock), NULL, 0);
	assert_int_equal(gale_read_exact_poll(&future, &cx), 0);
	assert_int_equal(gale_mock_io_stats_get(&mock).reads_count, 0);
	assert_int_equal(gale_mock_io_finish(&mock), 0);
}

static void other_errors_pass_through_unchanged(void **state)
{
	(void)state;
	const struct gale_mock_action actions[] = {
		GALE_MOCK_ACTION_READ("ab", 2),
		GALE_MOCK_ACTION_READ_ERROR(-ECONNRESET),
	};
	struct gale_mock_io mock;
	gale_mock_io_init(&mock, actions, 2);
	struct gale_cx cx = {gale_waker_none()};
	char buf[4];
	struct gale_read_exact future;
	gale_read_exact_init(&future, gale_mock_io_reader(&mock), buf, 4);
	assert_int_equal(gale_read_exact_poll(&future, &cx), -ECONNRESET);
	assert_int_equal(future.len_filled, 2);

	/* The mock's own violation code passes through as well. */
	gale_mock_io_init(&mock, NULL, 0);
	gale_read_exact_init(&future, gale_mock_io_reader(&mock), buf, 4);
	assert_int_equal(gale_read_exact_poll(&future, &cx), GALE_E_MOCK);
}

static void pending_is_forwarded_and_resumes_at_the_cursor(void **state)
{
	(void)state;
	struct gale_duplex duplex;
	assert_int_equal(gale_duplex_init(&duplex, 16, NULL), 0);
	struct gale_test_wake_log log = {0};
	struct gale_cx cx = {gale_test_waker(&log, 2)};
	struct gale_cx cx_writer = {gale_waker_none()};
	char buf[6];
	struct gale_read_exact future;
	gale_read_exact_init(&future, gale_duplex_end_reader(&duplex, 1), buf, 6);
	assert_int_equal(gale_read_exact_poll(&future, &cx), GALE_PENDING);
	assert_int_equal(log.wakes_total, 0);
	size_t n = 0;
	struct gale_async_write writer = gale_duplex_end_writer(&duplex, 0);
	assert_int_equal(gale_async_write_poll(writer, &cx_writer, "ab", 2, &n), 0);
	assert_int_equal(log.wake_counts[2], 1); /* The forwarded Pending had stored the waker. */
	assert_int_equal(gale_read_exact_poll(&future, &cx), GALE_PENDING);
	assert_int_equal(future.len_filled, 2);
	assert_int_equal(gale_async_write_poll(writer, &cx_writer, "cdefgh", 6, &n), 0);
	assert_int_equal(log.wake_counts[2], 2);
	assert_int_equal(gale_read_exact_poll(&future, &cx), 0);
	assert_memory_equal(buf, "abcdef", 6);
	assert_int_equal(gale_duplex_end_buffered_len(&duplex, 0), 2); /* "gh" stays. */
	gale_duplex_deinit(&duplex);
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reads_exactly_n_across_short_reads),
		cmocka_unit_test(never_reads_past_n),
		cmocka_unit_test(reader_is_offered_only_the_remainder),
		cmocka_unit_test(eof_before_n_is_unexpected_eof),
		cmocka_unit_test(zero_length_target_does_not_call_the_reader),
		cmocka_unit_test(other_errors_pass_through_unchanged),
		cmocka_unit_test(pending_is_forwarded_and_resumes_at_the_cursor),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
