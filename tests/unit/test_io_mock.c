/* SPDX-License-Identifier: MIT */
/*
 * The scripted mock reader/writer, and read_exact / write_all driven through it.
 * Methodology: hand polling with a recording waker. The composition tests enumerate every
 * way to cut a 6-byte message into consecutive chunks (2^5 = 32 compositions, bit i of
 * the mask = "cut after byte i"), script one READ or EXPECT_WRITE per chunk with a
 * PENDING between chunks, and assert the exact bytes, one GALE_PENDING per cut, one wake
 * per GALE_PENDING, and that the script was consumed exactly. Violation tests pin the
 * exact messages.
 */
#include <errno.h>
#include <string.h>

#include <gale/error.h>
#include <gale/mock_io.h>
#include <gale/read_exact.h>
#include <gale/write_all.h>

#include "test_support.h"

static const char message[] = "abcdef";
enum { MESSAGE_LEN = 6, COMPOSITIONS = 1 << (MESSAGE_LEN - 1), ACTIONS_MAX = 2 * MESSAGE_LEN };

/* Builds the script of one composition; returns the action count and the chunk count. */
static size_t script_build(struct gale_mock_action *actions, unsigned mask,
			   enum gale_mock_action_kind kind, size_t *chunks_out)
{
	size_t count = 0, start = 0, chunks = 0;
	for (size_t i = 0; i < MESSAGE_LEN; i++) {
		bool cut = i == MESSAGE_LEN - 1 || (mask & (1u << i)) != 0;
		if (!cut)
			continue;
		if (chunks > 0)
			actions[count++] = (struct gale_mock_action)GALE_MOCK_ACTION_PENDING();
		actions[count++] = (struct gale_mock_action){
			.kind = kind, .bytes = message + start, .len = i + 1 - start};
		start = i + 1;
		chunks++;
	}
	*chunks_out = chunks;
	return count;
}

static void read_exact_every_composition(void **state)
{
	(void)state;
	for (unsigned mask = 0; mask < COMPOSITIONS; mask++) {
		struct gale_mock_action actions[ACTIONS_MAX];
		size_t chunks = 0;
		size_t count = script_build(actions, mask, GALE_MOCK_READ, &chunks);
		assert_int_equal(chunks, (size_t)__builtin_popcount(mask) + 1);
		struct gale_mock_io mock;
		gale_mock_io_init(&mock, actions, count);
		struct gale_test_wake_log log = {0};
		struct gale_cx cx = {gale_test_waker(&log, 3)};
		char buf[MESSAGE_LEN + 1] = {0};
		struct gale_read_exact future;
		gale_read_exact_init(&future, gale_mock_io_reader(&mock), buf, MESSAGE_LEN);
		size_t pendings = 0;
		int rc;
		while ((rc = gale_read_exact_poll(&future, &cx)) == GALE_PENDING) {
			pendings++;
			assert_int_equal(log.wake_counts[3], pendings); /* Woken before polling. */
			assert_true(future.len_filled < MESSAGE_LEN);
		}
		assert_int_equal(rc, 0);
		assert_int_equal(pendings, chunks - 1);
		assert_int_equal(future.len_filled, MESSAGE_LEN);
		assert_string_equal(buf, message);
		/* One read per chunk plus one per Pending; none past the end. */
		assert_int_equal(gale_mock_io_stats_get(&mock).reads_count, chunks + pendings);
		assert_int_equal(gale_mock_io_finish(&mock), 0);
		assert_null(gale_mock_io_error(&mock));
	}
}

static void write_all_every_composition(void **state)
{
	(void)state;
	for (unsigned mask = 0; mask < COMPOSITIONS; mask++) {
		struct gale_mock_action actions[ACTIONS_MAX];
		size_t chunks = 0;
		size_t count = script_build(actions, mask, GALE_MOCK_EXPECT_WRITE, &chunks);
		struct gale_mock_io mock;
		gale_mock_io_init(&mock, actions, count);
		struct gale_test_wake_log log = {0};
		struct gale_cx cx = {gale_test_waker(&log, 4)};
		struct gale_write_all future;
		gale_write_all_init(&future, gale_mock_io_writer(&mock), message, MESSAGE_LEN);
		size_t pendings = 0;
		int rc;
		while ((rc = gale_write_all_poll(&future, &cx)) == GALE_PENDING) {
			pendings++;
			assert_int_equal(log.wake_counts[4], pendings);
			assert_true(future.len_written < MESSAGE_LEN);
		}
		assert_int_equal(rc, 0);
		assert_int_equal(pendings, chunks - 1);
		assert_int_equal(future.len_written, MESSAGE_LEN);
		/* Each chunk was a partial write of the remainder, resumed from the cursor. */
		assert_int_equal(gale_mock_io_stats_get(&mock).writes_count, chunks + pendings);
		assert_int_equal(gale_mock_io_finish(&mock), 0);
	}
}

static void write_len_max_forces_partial_writes(void **state)
{
	(void)state;
	const struct gale_mock_action actions[] = {
		GALE_MOCK_ACTION_EXPECT_WRITE("abcdefg", 7, 3),
	};
	struct gale_mock_io mock;
	gale_mock_io_init(&mock, actions, 1);
	struct gale_test_wake_log log = {0};
	struct gale_cx cx = {gale_test_waker(&log, 0)};
	struct gale_async_write writer = gale_mock_io_writer(&mock);
	size_t n = 0;
	assert_int_equal(gale_async_write_poll(writer, &cx, "abcdefg", 7, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(gale_async_write_poll(writer, &cx, "defg", 4, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(gale_mock_io_finish(&mock), GALE_E_MOCK);
	assert_string_equal(gale_mock_io_error(&mock), "script not finished: 1 of 1 actions left, "
						       "next is action 0 (EXPECT_WRITE, 1 of 7 "
						       "bytes left)");
}

static void read_takes_what_fits_and_keeps_the_rest(void **state)
{
	(void)state;
	const struct gale_mock_action actions[] = {
		GALE_MOCK_ACTION_READ("abcdef", 6),
		GALE_MOCK_ACTION_READ_EOF(),
	};
	struct gale_mock_io mock;
	gale_mock_io_init(&mock, actions, 2);
	struct gale_cx cx = {gale_waker_none()};
	struct gale_async_read reader = gale_mock_io_reader(&mock);
	char buf[4];
	struct gale_read_buf rb;
	gale_read_buf_init(&rb, buf, 4);
	assert_int_equal(gale_async_read_poll(reader, &cx, &rb), 0);
	assert_int_equal(rb.len_filled, 4);
	assert_memory_equal(buf, "abcd", 4);
	/* A full buffer reads 0 bytes without consuming anything (and is not EOF). */
	assert_int_equal(gale_async_read_poll(reader, &cx, &rb), 0);
	assert_int_equal(rb.len_filled, 4);
	assert_int_equal(gale_mock_io_finish(&mock), GALE_E_MOCK);
	assert_string_equal(gale_mock_io_error(&mock),
			    "script not finished: 2 of 2 actions left, "
			    "next is action 0 (READ, 2 of 6 bytes left)");
}

static void read_rest_then_eof_finishes_clean(void **state)
{
	(void)state;
	const struct gale_mock_action actions[] = {
		GALE_MOCK_ACTION_READ("abcdef", 6),
		GALE_MOCK_ACTION_READ_EOF(),
	};
	struct gale_mock_io mock;
	gale_mock_io_init(&mock, actions, 2);
	struct gale_cx cx = {gale_waker_none()};
	char buf[8];
	struct gale_read_buf rb;
	gale_read_buf_init(&rb, buf, 4);
	assert_int_equal(gale_async_read_poll(gale_mock_io_reader(&mock), &cx, &rb), 0);
	gale_read_buf_init(&rb, buf, 8);
	assert_int_equal(gale_async_read_poll(gale_mock_io_reader(&mock), &cx, &rb), 0);
	assert_int_equal(rb.len_filled, 2);
	assert_memory_equal(buf, "ef", 2);
	rb.len_filled = 0;
	assert_int_equal(gale_async_read_poll(gale_mock_io_reader(&mock), &cx, &rb), 0);
	assert_int_equal(rb.len_filled, 0); /* EOF. */
	assert_int_equal(gale_mock_io_finish(&mock), 0);
	assert_int_equal(gale_mock_io_stats_get(&mock).reads_count, 3);
}

static void wrong_bytes_written(void **state)
{
	(void)state;
	const struct gale_mock_action actions[] = {
		GALE_MOCK_ACTION_EXPECT_WRITE("abcd", 4, 0),
	};
	struct gale_mock_io mock;
	gale_mock_io_init(&mock, actions, 1);
	struct gale_cx cx = {gale_waker_none()};
	struct gale_async_write writer = gale_mock_io_writer(&mock);
	size_t n = 77;
	assert_int_equal(gale_async_write_poll(writer, &cx, "ab", 2, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(gale_async_write_poll(writer, &cx, "x\001", 2, &n), GALE_E_MOCK);
	assert_int_equal(n, 0);
	assert_string_equal(gale_mock_io_error(&mock),
			    "action 0 (EXPECT_WRITE): written byte 2 is 0x78 'x', "
			    "expected 0x63 'c'");
	/* Every later call fails too, and the first message is kept. */
	assert_int_equal(gale_async_write_poll(writer, &cx, "cd", 2, &n), GALE_E_MOCK);
	assert_int_equal(gale_async_write_poll_flush(writer, &cx), GALE_E_MOCK);
	assert_int_equal(gale_mock_io_finish(&mock), GALE_E_MOCK);
	assert_string_equal(gale_mock_io_error(&mock),
			    "action 0 (EXPECT_WRITE): written byte 2 is 0x78 'x', "
			    "expected 0x63 'c'");
}

static void unprintable_bytes_are_shown_in_hex(void **state)
{
	(void)state;
	const struct gale_mock_action actions[] = {
		GALE_MOCK_ACTION_EXPECT_WRITE("\n", 1, 0),
	};
	struct gale_mock_io mock;
	gale_mock_io_init(&mock, actions, 1);
	struct gale_cx cx = {gale_waker_none()};
	size_t n = 0;
	assert_int_equal(gale_async_write_poll(gale_mock_io_writer(&mock), &cx, "\0", 1, &n),
			 GALE_E_MOCK);
	assert_string_equal(gale_mock_io_error(&mock),
			    "action 0 (EXPECT_WRITE): written byte 0 is 0x00, expected 0x0a");
}

static void read_when_write_expected(void **state)
{
	(void)state;
	const struct gale_mock_action actions[] = {
		GALE_MOCK_ACTION_EXPECT_WRITE("abcd", 4, 0),
	};
	struct gale_mock_io mock;
	gale_mock_io_init(&mock, actions, 1);
	struct gale_cx cx = {gale_waker_none()};
	char buf[5];
	struct gale_read_buf rb;
	gale_read_buf_init(&rb, buf, 5);
	assert_int_equal(gale_async_read_poll(gale_mock_io_reader(&mock), &cx, &rb), GALE_E_MOCK);
	assert_int_equal(rb.len_filled, 0);
	assert_string_equal(gale_mock_io_error(&mock),
			    "action 0 (EXPECT_WRITE): unexpected poll_read (5 bytes)");
}

static void write_when_read_expected_and_shutdown_unexpected(void **state)
{
	(void)state;
	const struct gale_mock_action actions[] = {
		GALE_MOCK_ACTION_READ("ab", 2),
	};
	struct gale_mock_io mock;
	gale_mock_io_init(&mock, actions, 1);
	struct gale_cx cx = {gale_waker_none()};
	assert_int_equal(gale_async_write_poll_shutdown(gale_mock_io_writer(&mock), &cx),
			 GALE_E_MOCK);
	assert_string_equal(gale_mock_io_error(&mock),
			    "action 0 (READ): unexpected poll_shutdown (0 bytes)");

	gale_mock_io_init(&mock, actions, 1);
	size_t n = 0;
	assert_int_equal(gale_async_write_poll(gale_mock_io_writer(&mock), &cx, "ab", 2, &n),
			 GALE_E_MOCK);
	assert_string_equal(gale_mock_io_error(&mock),
			    "action 0 (READ): unexpected poll_write (2 bytes)");
}

static void anything_after_the_script_ends(void **state)
{
	(void)state;
	const struct gale_mock_action actions[] = {
		GALE_MOCK_ACTION_EXPECT_WRITE("ab", 2, 0),
	};
	struct gale_mock_io mock;
	gale_mock_io_init(&mock, actions, 1);
	struct gale_cx cx = {gale_waker_none()};
	size_t n = 0;
	assert_int_equal(gale_async_write_poll(gale_mock_io_writer(&mock), &cx, "abc", 3, &n), 0);
	assert_int_equal(n, 2); /* A write longer than the action is partial. */
	assert_int_equal(gale_mock_io_finish(&mock), 0);
	assert_int_equal(gale_async_write_poll(gale_mock_io_writer(&mock), &cx, "c", 1, &n),
			 GALE_E_MOCK);
	assert_string_equal(gale_mock_io_error(&mock),
			    "script ended after 1 actions: unexpected poll_write (1 bytes)");
	assert_int_equal(gale_mock_io_finish(&mock), GALE_E_MOCK);

	/* An empty script: the first read is already a violation. */
	gale_mock_io_init(&mock, NULL, 0);
	char buf[3];
	struct gale_read_buf rb;
	gale_read_buf_init(&rb, buf, 3);
	assert_int_equal(gale_async_read_poll(gale_mock_io_reader(&mock), &cx, &rb), GALE_E_MOCK);
	assert_string_equal(gale_mock_io_error(&mock),
			    "script ended after 0 actions: unexpected poll_read (3 bytes)");
}

static void errors_shutdown_and_flush(void **state)
{
	(void)state;
	const struct gale_mock_action actions[] = {
		GALE_MOCK_ACTION_READ_ERROR(-ECONNRESET),
		GALE_MOCK_ACTION_WRITE_ERROR(-EPIPE),
		GALE_MOCK_ACTION_PENDING(),
		GALE_MOCK_ACTION_EXPECT_SHUTDOWN(),
	};
	struct gale_mock_io mock;
	gale_mock_io_init(&mock, actions, 4);
	struct gale_test_wake_log log = {0};
	struct gale_cx cx = {gale_test_waker(&log, 9)};
	struct gale_async_stream stream = gale_mock_io_stream(&mock);
	char buf[2];
	struct gale_read_buf rb;
	gale_read_buf_init(&rb, buf, 2);
	assert_int_equal(gale_async_read_poll(stream.reader, &cx, &rb), -ECONNRESET);
	size_t n = 0;
	/* Zero-length writes consume nothing. */
	assert_int_equal(gale_async_write_poll(stream.writer, &cx, NULL, 0, &n), 0);
	assert_int_equal(gale_async_write_poll(stream.writer, &cx, "x", 1, &n), -EPIPE);
	/* Flush is not scripted: it completes anywhere and is counted. */
	assert_int_equal(gale_async_write_poll_flush(stream.writer, &cx), 0);
	struct gale_write_shutdown shutdown;
	gale_write_shutdown_init(&shutdown, stream.writer);
	assert_int_equal(gale_write_shutdown_poll(&shutdown, &cx), GALE_PENDING);
	assert_int_equal(log.wake_counts[9], 1); /* PENDING stored the waker and woke it. */
	assert_int_equal(gale_write_shutdown_poll(&shutdown, &cx), 0);
	struct gale_mock_io_stats stats = gale_mock_io_stats_get(&mock);
	assert_int_equal(stats.reads_count, 1);
	assert_int_equal(stats.writes_count, 2);
	assert_int_equal(stats.flushes_count, 1);
	assert_int_equal(stats.shutdowns_count, 2);
	assert_int_equal(stats.pendings_count, 1);
	assert_int_equal(gale_mock_io_finish(&mock), 0);
	assert_false(gale_async_write_is_vectored(stream.writer));
}

static void finish_names_the_next_action(void **state)
{
	(void)state;
	const struct gale_mock_action actions[] = {
		GALE_MOCK_ACTION_PENDING(),
		GALE_MOCK_ACTION_READ_EOF(),
		GALE_MOCK_ACTION_EXPECT_SHUTDOWN(),
	};
	struct gale_mock_io mock;
	gale_mock_io_init(&mock, actions, 3);
	struct gale_cx cx = {gale_waker_none()};
	char buf[1];
	struct gale_read_buf rb;
	gale_read_buf_init(&rb, buf, 1);
	assert_int_equal(gale_async_read_poll(gale_mock_io_reader(&mock), &cx, &rb), GALE_PENDING);
	assert_int_equal(gale_mock_io_finish(&mock), GALE_E_MOCK);
	assert_string_equal(gale_mock_io_error(&mock), "script not finished: 2 of 3 actions left, "
						       "next is action 1 (READ_EOF)");
}

/* Issue 13: a malformed script asserted in gale_mock_io_init. It is a script violation
 * like any other: recorded with the action's index, GALE_E_MOCK from every call. */
static void malformed_script_is_a_violation(void **state)
{
	(void)state;
	static const struct gale_mock_action bad_code[] = {
		GALE_MOCK_ACTION_READ("ok", 2),
		GALE_MOCK_ACTION_READ_ERROR(5),
	};
	struct gale_mock_io mock;
	gale_mock_io_init(&mock, bad_code, 2);
	assert_string_equal(gale_mock_io_error(&mock),
			    "action 1 (READ_ERROR): code 5 is not negative");
	struct gale_cx cx = {gale_waker_none()};
	char buf[2];
	struct gale_read_buf rb;
	gale_read_buf_init(&rb, buf, sizeof(buf));
	assert_int_equal(gale_async_read_poll(gale_mock_io_reader(&mock), &cx, &rb), GALE_E_MOCK);
	assert_int_equal(rb.len_filled, 0);
	assert_int_equal(gale_mock_io_finish(&mock), GALE_E_MOCK);

	static const struct gale_mock_action no_bytes[] = {
		{.kind = GALE_MOCK_EXPECT_WRITE, .bytes = NULL, .len = 3},
	};
	gale_mock_io_init(&mock, no_bytes, 1);
	assert_string_equal(gale_mock_io_error(&mock),
			    "action 0 (EXPECT_WRITE): needs bytes and len > 0 (len 3)");
	static const struct gale_mock_action unknown[] = {
		GALE_MOCK_ACTION_PENDING(),
		{.kind = (enum gale_mock_action_kind)99},
	};
	gale_mock_io_init(&mock, unknown, 2);
	assert_string_equal(gale_mock_io_error(&mock), "action 1: unknown kind 99");
	assert_int_equal(gale_mock_io_finish(&mock), GALE_E_MOCK);
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(read_exact_every_composition),
		cmocka_unit_test(write_all_every_composition),
		cmocka_unit_test(write_len_max_forces_partial_writes),
		cmocka_unit_test(read_takes_what_fits_and_keeps_the_rest),
		cmocka_unit_test(read_rest_then_eof_finishes_clean),
		cmocka_unit_test(wrong_bytes_written),
		cmocka_unit_test(unprintable_bytes_are_shown_in_hex),
		cmocka_unit_test(read_when_write_expected),
		cmocka_unit_test(write_when_read_expected_and_shutdown_unexpected),
		cmocka_unit_test(anything_after_the_script_ends),
		cmocka_unit_test(errors_shutdown_and_flush),
		cmocka_unit_test(finish_names_the_next_action),
		cmocka_unit_test(malformed_script_is_a_violation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
