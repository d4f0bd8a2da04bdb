/* SPDX-License-Identifier: MIT */
/*
 * copy and copy_bidirectional. Methodology: hand polling with recording wakers over the
 * scripted mock (exact write splits and flush counts) and over duplex pairs standing in
 * for a client, a proxy and a server. Pins: exact byte counts, flush when the reader
 * stalls with unflushed bytes, write-out then flush on EOF, GALE_E_WRITE_ZERO, errors pass
 * through, half-close propagation (EOF on one side shuts the other side's writer down
 * while the reverse direction keeps running), completion only when both directions end.
 */
#include <errno.h>
#include <string.h>

#include <gale/copy.h>
#include <gale/duplex.h>
#include <gale/error.h>
#include <gale/mock_io.h>
#include <gale/write_all.h>

#include "test_support.h"

/* Writes bytes at end of duplex, all of them (the ring must have room). */
static void put(struct gale_duplex *duplex, unsigned end, const char *bytes)
{
	struct gale_cx cx = {gale_waker_none()};
	struct gale_write_all future;
	gale_write_all_init(&future, gale_duplex_end_writer(duplex, end), bytes, strlen(bytes));
	assert_int_equal(gale_write_all_poll(&future, &cx), 0);
}

/* Reads what is buffered at end of duplex into out (NUL-terminated); returns poll rc. */
static int take(struct gale_duplex *duplex, unsigned end, char *out, size_t cap)
{
	struct gale_cx cx = {gale_waker_none()};
	struct gale_read_buf rb = {(uint8_t *)out, cap - 1, 0};
	int rc = gale_async_read_poll(gale_duplex_end_reader(duplex, end), &cx, &rb);
	out[rb.len_filled] = '\0';
	return rc;
}

static void copy_flushes_when_the_reader_stalls(void **state)
{
	(void)state;
	const struct gale_mock_action reads[] = {
		GALE_MOCK_ACTION_READ("hello ", 6),
		GALE_MOCK_ACTION_PENDING(),
		GALE_MOCK_ACTION_READ("world", 5),
		GALE_MOCK_ACTION_READ_EOF(),
	};
	const struct gale_mock_action writes[] = {
		GALE_MOCK_ACTION_EXPECT_WRITE("hello world", 11, 4),
	};
	struct gale_mock_io source, sink;
	gale_mock_io_init(&source, reads, 4);
	gale_mock_io_init(&sink, writes, 1);
	struct gale_test_wake_log log = {0};
	struct gale_cx cx = {gale_test_waker(&log, 1)};
	uint8_t buf[8];
	struct gale_copy future;
	gale_copy_init(&future, gale_mock_io_reader(&source), gale_mock_io_writer(&sink), buf,
		       sizeof(buf));
	assert_int_equal(gale_copy_poll(&future, &cx), GALE_PENDING);
	assert_int_equal(future.len_copied, 6);
	assert_int_equal(log.wake_counts[1], 1);
	assert_int_equal(gale_mock_io_stats_get(&sink).flushes_count, 1); /* Reader stalled. */
	assert_int_equal(gale_copy_poll(&future, &cx), 0);
	assert_int_equal(future.len_copied, 11);
	assert_int_equal(gale_mock_io_stats_get(&sink).flushes_count, 2); /* Flush at EOF. */
	assert_int_equal(gale_mock_io_stats_get(&sink).writes_count, 4);  /* 4+2, 4+1. */
	assert_int_equal(gale_mock_io_stats_get(&sink).shutdowns_count, 0);
	assert_int_equal(gale_mock_io_finish(&source), 0);
	assert_int_equal(gale_mock_io_finish(&sink), 0);
}

static void copy_flushes_once_until_more_is_written(void **state)
{
	(void)state;
	const struct gale_mock_action reads[] = {
		GALE_MOCK_ACTION_READ("ab", 2),
		GALE_MOCK_ACTION_PENDING(),
		GALE_MOCK_ACTION_PENDING(),
		GALE_MOCK_ACTION_READ_EOF(),
	};
	const struct gale_mock_action writes[] = {GALE_MOCK_ACTION_EXPECT_WRITE("ab", 2, 0)};
	struct gale_mock_io source, sink;
	gale_mock_io_init(&source, reads, 4);
	gale_mock_io_init(&sink, writes, 1);
	struct gale_cx cx = {gale_waker_none()};
	uint8_t buf[4];
	struct gale_copy future;
	gale_copy_init(&future, gale_mock_io_reader(&source), gale_mock_io_writer(&sink), buf,
		       sizeof(buf));
	assert_int_equal(gale_copy_poll(&future, &cx), GALE_PENDING);
	assert_int_equal(gale_mock_io_stats_get(&sink).flushes_count, 1);
	/* Stalled again with nothing new written: no second flush. */
	assert_int_equal(gale_copy_poll(&future, &cx), GALE_PENDING);
	assert_int_equal(gale_mock_io_stats_get(&sink).flushes_count, 1);
	assert_int_equal(gale_copy_poll(&future, &cx), 0);
	assert_int_equal(gale_mock_io_stats_get(&sink).flushes_count, 2);
	assert_int_equal(future.len_copied, 2);
	assert_int_equal(gale_mock_io_finish(&source), 0);
	assert_int_equal(gale_mock_io_finish(&sink), 0);
}

static void copy_between_duplex_pairs(void **state)
{
	(void)state;
	struct gale_duplex src, dst;
	assert_int_equal(gale_duplex_init(&src, 16, NULL), 0);
	assert_int_equal(gale_duplex_init(&dst, 4, NULL), 0); /* Small: the writer stalls. */
	struct gale_test_wake_log log = {0};
	struct gale_cx cx = {gale_test_waker(&log, 2)};
	uint8_t buf[8];
	struct gale_copy future;
	gale_copy_init(&future, gale_duplex_end_reader(&src, 1), gale_duplex_end_writer(&dst, 0),
		       buf, sizeof(buf));
	put(&src, 0, "0123456789");
	char got[32] = {0}, out[16];
	size_t got_len = 0;
	int rc;
	while ((rc = gale_copy_poll(&future, &cx)) == GALE_PENDING) {
		uint32_t wakes = log.wakes_total;
		assert_int_equal(take(&dst, 1, out, sizeof(out)), 0);
		memcpy(got + got_len, out, strlen(out));
		got_len += strlen(out);
		if (got_len == 10 && log.wakes_total == wakes)
			gale_duplex_close_end(&src, 0); /* Source done: EOF after the bytes. */
		assert_true(log.wakes_total > wakes); /* Every Pending was woken. */
	}
	assert_int_equal(rc, 0);
	assert_int_equal(future.len_copied, 10);
	assert_int_equal(got_len, 10);
	assert_memory_equal(got, "0123456789", 10);
	/* copy does not shut the writer down: dst is still open. */
	assert_int_equal(take(&dst, 1, out, sizeof(out)), GALE_PENDING);
	gale_duplex_deinit(&src);
	gale_duplex_deinit(&dst);
}

static void copy_errors(void **state)
{
	(void)state;
	struct gale_cx cx = {gale_waker_none()};
	uint8_t buf[8];
	struct gale_copy future;
	const struct gale_mock_action reset[] = {GALE_MOCK_ACTION_READ_ERROR(-ECONNRESET)};
	struct gale_mock_io source, sink;
	gale_mock_io_init(&source, reset, 1);
	gale_mock_io_init(&sink, NULL, 0);
	gale_copy_init(&future, gale_mock_io_reader(&source), gale_mock_io_writer(&sink), buf,
		       sizeof(buf));
	assert_int_equal(gale_copy_poll(&future, &cx), -ECONNRESET);

	/* A closed destination: -EPIPE after the bytes were read. */
	const struct gale_mock_action data[] = {GALE_MOCK_ACTION_READ("abc", 3)};
	gale_mock_io_init(&source, data, 1);
	struct gale_duplex dst;
	assert_int_equal(gale_duplex_init(&dst, 8, NULL), 0);
	gale_duplex_close_end(&dst, 1);
	gale_copy_init(&future, gale_mock_io_reader(&source), gale_duplex_end_writer(&dst, 0),
		       buf, sizeof(buf));
	assert_int_equal(gale_copy_poll(&future, &cx), -EPIPE);
	assert_int_equal(future.len_copied, 0);
	gale_duplex_deinit(&dst);

	/* A writer that accepts nothing: GALE_E_WRITE_ZERO. */
	const struct gale_mock_action wrong[] = {GALE_MOCK_ACTION_READ("abc", 3)};
	const struct gale_mock_action violation[] = {GALE_MOCK_ACTION_EXPECT_WRITE("x", 1, 0)};
	gale_mock_io_init(&source, wrong, 1);
	gale_mock_io_init(&sink, violation, 1);
	gale_copy_init(&future, gale_mock_io_reader(&source), gale_mock_io_writer(&sink), buf,
		       sizeof(buf));
	assert_int_equal(gale_copy_poll(&future, &cx), GALE_E_MOCK);
}

/* The sink never accepts a byte (a writer that returns 0: WriteZero). */
static int zero_poll_write(void *self, struct gale_cx *cx, const void *buf, size_t len,
			   size_t *len_written_out)
{
	(void)self;
	(void)cx;
	(void)buf;
	(void)len;
	*len_written_out = 0;
	return 0;
}

static int zero_poll_flush(void *self, struct gale_cx *cx)
{
	(void)self;
	(void)cx;
	return 0;
}

static const struct gale_async_write_ops zero_ops = {
	.abi_version = GALE_ASYNC_IO_ABI_VERSION,
	.name = "zero",
	.poll_write = zero_poll_write,
	.poll_flush = zero_poll_flush,
	.poll_shutdown = zero_poll_flush,
};

static void copy_write_zero(void **state)
{
	(void)state;
	const struct gale_mock_action data[] = {GALE_MOCK_ACTION_READ("abc", 3)};
	struct gale_mock_io source;
	gale_mock_io_init(&source, data, 1);
	struct gale_async_write zero = {&zero_ops, NULL};
	struct gale_cx cx = {gale_waker_none()};
	uint8_t buf[8];
	struct gale_copy future;
	gale_copy_init(&future, gale_mock_io_reader(&source), zero, buf, sizeof(buf));
	assert_int_equal(gale_copy_poll(&future, &cx), GALE_E_WRITE_ZERO);
	assert_int_equal(future.len_copied, 0);
}

/*
 * client (x end 0) <-> proxy a = x end 1 ... proxy b = y end 0 <-> server (y end 1).
 * The client sends "request" and shuts down; the server answers "response!" after
 * seeing EOF, then "more" and shuts down.
 */
static void copy_bidirectional_propagates_half_close(void **state)
{
	(void)state;
	struct gale_duplex x, y;
	assert_int_equal(gale_duplex_init(&x, 64, NULL), 0);
	assert_int_equal(gale_duplex_init(&y, 64, NULL), 0);
	struct gale_test_wake_log log = {0};
	struct gale_cx cx = {gale_test_waker(&log, 3)};
	struct gale_cx cx_none = {gale_waker_none()};
	uint8_t buf_ab[5], buf_ba[5];
	struct gale_copy_bidirectional future;
	gale_copy_bidirectional_init(&future, gale_duplex_end_stream(&x, 1),
				     gale_duplex_end_stream(&y, 0), buf_ab, sizeof(buf_ab), buf_ba,
				     sizeof(buf_ba));
	put(&x, 0, "request");
	assert_int_equal(gale_async_write_poll_shutdown(gale_duplex_end_writer(&x, 0), &cx_none),
			 0);
	assert_int_equal(gale_copy_bidirectional_poll(&future, &cx), GALE_PENDING);
	assert_int_equal(future.a_to_b.len_copied, 7);
	char out[32];
	assert_int_equal(take(&y, 1, out, sizeof(out)), 0);
	assert_string_equal(out, "request");
	assert_int_equal(take(&y, 1, out, sizeof(out)), 0);
	assert_string_equal(out, ""); /* EOF: the client's half-close reached the server. */

	uint32_t wakes = log.wakes_total;
	put(&y, 1, "response!");
	assert_int_equal(log.wakes_total, wakes + 1); /* b -> a was pending on y's reader. */
	assert_int_equal(gale_copy_bidirectional_poll(&future, &cx), GALE_PENDING);
	assert_int_equal(take(&x, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "response!");
	put(&y, 1, "more");
	assert_int_equal(gale_async_write_poll_shutdown(gale_duplex_end_writer(&y, 1), &cx_none),
			 0);
	assert_int_equal(gale_copy_bidirectional_poll(&future, &cx), 0);
	assert_int_equal(future.a_to_b.len_copied, 7);
	assert_int_equal(future.b_to_a.len_copied, 13);
	assert_int_equal(take(&x, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "more");
	assert_int_equal(take(&x, 0, out, sizeof(out)), 0);
	assert_string_equal(out, ""); /* The server's EOF reached the client. */
	gale_duplex_deinit(&x);
	gale_duplex_deinit(&y);
}

static void copy_bidirectional_error_completes(void **state)
{
	(void)state;
	struct gale_duplex x, y;
	assert_int_equal(gale_duplex_init(&x, 16, NULL), 0);
	assert_int_equal(gale_duplex_init(&y, 16, NULL), 0);
	struct gale_cx cx = {gale_waker_none()};
	uint8_t buf_ab[8], buf_ba[8];
	struct gale_copy_bidirectional future;
	gale_copy_bidirectional_init(&future, gale_duplex_end_stream(&x, 1),
				     gale_duplex_end_stream(&y, 0), buf_ab, sizeof(buf_ab), buf_ba,
				     sizeof(buf_ba));
	assert_int_equal(gale_copy_bidirectional_poll(&future, &cx), GALE_PENDING);
	gale_duplex_close_end(&y, 1); /* The server goes away. */
	put(&x, 0, "late");
	assert_int_equal(gale_copy_bidirectional_poll(&future, &cx), -EPIPE);
	assert_int_equal(future.a_to_b.len_copied, 0);
	gale_duplex_deinit(&x);
	gale_duplex_deinit(&y);
}

static void copy_bidirectional_with_mocks_shuts_both_down(void **state)
{
	(void)state;
	const struct gale_mock_action a_script[] = {
		GALE_MOCK_ACTION_READ("ping", 4),
		GALE_MOCK_ACTION_READ_EOF(),
		GALE_MOCK_ACTION_EXPECT_WRITE("pong", 4, 0),
		GALE_MOCK_ACTION_EXPECT_SHUTDOWN(),
	};
	const struct gale_mock_action b_script[] = {
		GALE_MOCK_ACTION_EXPECT_WRITE("ping", 4, 0),
		GALE_MOCK_ACTION_EXPECT_SHUTDOWN(),
		GALE_MOCK_ACTION_READ("pong", 4),
		GALE_MOCK_ACTION_READ_EOF(),
	};
	struct gale_mock_io a, b;
	gale_mock_io_init(&a, a_script, 4);
	gale_mock_io_init(&b, b_script, 4);
	struct gale_cx cx = {gale_waker_none()};
	uint8_t buf_ab[16], buf_ba[16];
	struct gale_copy_bidirectional future;
	gale_copy_bidirectional_init(&future, gale_mock_io_stream(&a), gale_mock_io_stream(&b),
				     buf_ab, sizeof(buf_ab), buf_ba, sizeof(buf_ba));
	assert_int_equal(gale_copy_bidirectional_poll(&future, &cx), 0);
	assert_int_equal(future.a_to_b.len_copied, 4);
	assert_int_equal(future.b_to_a.len_copied, 4);
	assert_int_equal(gale_mock_io_finish(&a), 0);
	assert_int_equal(gale_mock_io_finish(&b), 0);
}

/* Issue 13: cap == 0 and one buffer for both directions asserted in the inits, which
 * cannot fail: the value is kept and the first poll returns -EINVAL, reading nothing. */
static void copy_bad_values_are_einval_at_the_first_poll(void **state)
{
	(void)state;
	struct gale_mock_io a, b;
	gale_mock_io_init(&a, NULL, 0); /* Any read or write would be a violation. */
	gale_mock_io_init(&b, NULL, 0);
	struct gale_cx cx = {gale_waker_none()};
	uint8_t buf[16];
	struct gale_copy copy;
	gale_copy_init(&copy, gale_mock_io_reader(&a), gale_mock_io_writer(&b), buf, 0);
	assert_int_equal(gale_copy_poll(&copy, &cx), -EINVAL);
	struct gale_copy_bidirectional both;
	gale_copy_bidirectional_init(&both, gale_mock_io_stream(&a), gale_mock_io_stream(&b), buf,
				     sizeof(buf), buf, sizeof(buf));
	assert_int_equal(gale_copy_bidirectional_poll(&both, &cx), -EINVAL);
	gale_copy_bidirectional_init(&both, gale_mock_io_stream(&a), gale_mock_io_stream(&b), buf,
				     0, buf + 8, 8);
	assert_int_equal(gale_copy_bidirectional_poll(&both, &cx), -EINVAL);
	assert_int_equal(gale_mock_io_finish(&a), 0);
	assert_int_equal(gale_mock_io_finish(&b), 0);
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(copy_flushes_when_the_reader_stalls),
		cmocka_unit_test(copy_flushes_once_until_more_is_written),
		cmocka_unit_test(copy_between_duplex_pairs),
		cmocka_unit_test(copy_errors),
		cmocka_unit_test(copy_write_zero),
		cmocka_unit_test(copy_bidirectional_propagates_half_close),
		cmocka_unit_test(copy_bidirectional_error_completes),
		cmocka_unit_test(copy_bidirectional_with_mocks_shuts_both_down),
		cmocka_unit_test(copy_bad_values_are_einval_at_the_first_poll),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
