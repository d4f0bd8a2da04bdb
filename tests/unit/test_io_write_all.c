/* SPDX-License-Identifier: MIT */
/*
 * write_all, write_all over iovecs, and the flush/shutdown futures (seeds 000 and 001).
 * Methodology: hand polling with a recording waker over the scripted mock, the duplex
 * pipe and a local recording writer whose per-call limit and vectored support the test
 * chooses. Pins: every byte written across partial writes, resume from the cursor after
 * Pending, a 0-byte write of a non-empty remainder is GALE_E_WRITE_ZERO, empty input makes
 * no call, errors pass through, the caller's iovec array is never modified, at most
 * GALE_WRITE_ALL_IOV_WINDOW iovecs per call, shutdown implies flush and half-closes.
 */
#include <errno.h>
#include <string.h>

#include <gale/duplex.h>
#include <gale/error.h>
#include <gale/mock_io.h>
#include <gale/write_all.h>

#include "test_support.h"

/* A writer that records what it accepts, at most accept_max bytes per call. */
struct record_writer {
	size_t accept_max;     /* Bytes accepted per call; 0 = every write accepts 0 bytes. */
	uint8_t data[256];     /* Everything accepted, in order. */
	size_t len;            /* Bytes in data. */
	uint32_t calls_count;  /* poll_write and poll_writev calls. */
	int iov_counts[16];    /* iov_count of each poll_writev call. */
	size_t offered[16];    /* Bytes offered to each call. */
};

static size_t record_accept(struct record_writer *writer, const void *buf, size_t len)
{
	size_t n = len < writer->accept_max ? len : writer->accept_max;
	assert_true(writer->len + n <= sizeof(writer->data));
	memcpy(writer->data + writer->len, buf, n);
	writer->len += n;
	return n;
}

static int record_poll_write(void *self, struct gale_cx *cx, const void *buf, size_t len,
			     size_t *len_written_out)
{
	struct record_writer *writer = self;
	(void)cx;
	assert_true(writer->calls_count < 16);
	writer->offered[writer->calls_count++] = len;
	*len_written_out = record_accept(writer, buf, len);
	return 0;
}

static int record_poll_writev(void *self, struct gale_cx *cx, const struct iovec *iov,
			      int iov_count, size_t *len_written_out)
{
	struct record_writer *writer = self;
	(void)cx;
	assert_true(writer->calls_count < 16);
	writer->iov_counts[writer->calls_count] = iov_count;
	size_t offered = 0, n = 0;
	for (int i = 0; i < iov_count; i++) {
		offered += iov[i].iov_len;
		size_t room = writer->accept_max - n;
		n += record_accept(writer, iov[i].iov_base, iov[i].iov_len < room ? iov[i].iov_len
										  : room);
	}
	writer->offered[writer->calls_count++] = offered;
	*len_written_out = n;
	return 0;
}

static int record_poll_flush(void *self, struct gale_cx *cx)
{
	(void)self;
	(void)cx;
	return 0;
}

static const struct gale_async_write_ops record_ops = {
	.abi_version = GALE_ASYNC_IO_ABI_VERSION,
	.name = "record",
	.poll_write = record_poll_write,
	.poll_flush = record_poll_flush,
	.poll_shutdown = record_poll_flush,
};

static const struct gale_async_write_ops record_vectored_ops = {
	.abi_version = GALE_ASYNC_IO_ABI_VERSION,
	.name = "record",
	.poll_write = record_poll_write,
	.poll_writev = record_poll_writev,
	.poll_flush = record_poll_flush,
	.poll_shutdown = record_poll_flush,
};

static void writes_every_byte_across_partial_writes(void **state)
{
	(void)state;
	const struct gale_mock_action actions[] = {
		GALE_MOCK_ACTION_EXPECT_WRITE("hello world", 11, 3),
	};
	struct gale_mock_io mock;
	gale_mock_io_init(&mock, actions, 1);
	struct gale_cx cx = {gale_waker_none()};
	struct gale_write_all future;
	gale_write_all_init(&future, gale_mock_io_writer(&mock), "hello world", 11);
	assert_int_equal(gale_write_all_poll(&future, &cx), 0);
	assert_int_equal(future.len_written, 11);
	assert_int_equal(gale_mock_io_stats_get(&mock).writes_count, 4); /* 3+3+3+2. */
	assert_int_equal(gale_mock_io_finish(&mock), 0);
}

static void resumes_from_the_cursor_after_pending(void **state)
{
	(void)state;
	struct gale_duplex duplex;
	assert_int_equal(gale_duplex_init(&duplex, 8, NULL), 0);
	struct gale_test_wake_log log = {0};
	struct gale_cx cx = {gale_test_waker(&log, 5)};
	const char source[] = "0123456789abcdefghij";
	struct gale_write_all future;
	gale_write_all_init(&future, gale_duplex_end_writer(&duplex, 0), source, 20);
	char out[24];
	size_t out_len = 0;
	size_t expected_written[] = {8, 16, 20};
	for (int round = 0; round < 3; round++) {
		int rc = gale_write_all_poll(&future, &cx);
		assert_int_equal(rc, round < 2 ? GALE_PENDING : 0);
		assert_int_equal(future.len_written, expected_written[round]);
		struct gale_read_buf rb = {(uint8_t *)out, sizeof(out), out_len};
		assert_int_equal(gale_async_read_poll(gale_duplex_end_reader(&duplex, 1), &cx, &rb),
				 0);
		out_len = rb.len_filled;
		assert_int_equal(log.wake_counts[5], round < 2 ? round + 1 : 2);
	}
	assert_int_equal(out_len, 20);
	assert_memory_equal(out, source, 20);
	gale_duplex_deinit(&duplex);
}

static void zero_byte_write_is_write_zero(void **state)
{
	(void)state;
	struct record_writer record = {.accept_max = 0};
	struct gale_async_write writer = {&record_ops, &record};
	struct gale_cx cx = {gale_waker_none()};
	struct gale_write_all future;
	gale_write_all_init(&future, writer, "abc", 3);
	assert_int_equal(gale_write_all_poll(&future, &cx), GALE_E_WRITE_ZERO);
	assert_int_equal(future.len_written, 0);
	assert_int_equal(record.calls_count, 1);
}

static void empty_buffer_makes_no_call(void **state)
{
	(void)state;
	struct gale_mock_io mock;
	gale_mock_io_init(&mock, NULL, 0);
	struct gale_cx cx = {gale_waker_none()};
	struct gale_write_all future;
	gale_write_all_init(&future, gale_mock_io_writer(&mock), NULL, 0);
	assert_int_equal(gale_write_all_poll(&future, &cx), 0);
	assert_int_equal(gale_mock_io_stats_get(&mock).writes_count, 0);

	struct gale_write_all_vectored vectored;
	struct iovec empty[2] = {{.iov_base = "", .iov_len = 0}, {.iov_base = "", .iov_len = 0}};
	gale_write_all_vectored_init(&vectored, gale_mock_io_writer(&mock), empty, 2);
	assert_int_equal(gale_write_all_vectored_poll(&vectored, &cx), 0);
	gale_write_all_vectored_init(&vectored, gale_mock_io_writer(&mock), NULL, 0);
	assert_int_equal(gale_write_all_vectored_poll(&vectored, &cx), 0);
	assert_int_equal(gale_mock_io_stats_get(&mock).writes_count, 0);
	assert_int_equal(gale_mock_io_finish(&mock), 0);
}

static void errors_pass_through_unchanged(void **state)
{
	(void)state;
	const struct gale_mock_action actions[] = {
		GALE_MOCK_ACTION_EXPECT_WRITE("ab", 2, 0),
		GALE_MOCK_ACTION_WRITE_ERROR(-ECONNRESET),
	};
	struct gale_mock_io mock;
	gale_mock_io_init(&mock, actions, 2);
	struct gale_cx cx = {gale_waker_none()};
	struct gale_write_all future;
	gale_write_all_init(&future, gale_mock_io_writer(&mock), "abcd", 4);
	assert_int_equal(gale_write_all_poll(&future, &cx), -ECONNRESET);
	assert_int_equal(future.len_written, 2);

	/* A closed duplex peer: -EPIPE, unchanged. */
	struct gale_duplex duplex;
	assert_int_equal(gale_duplex_init(&duplex, 8, NULL), 0);
	gale_duplex_close_end(&duplex, 1);
	gale_write_all_init(&future, gale_duplex_end_writer(&duplex, 0), "abcd", 4);
	assert_int_equal(gale_write_all_poll(&future, &cx), -EPIPE);
	assert_int_equal(future.len_written, 0);
	gale_duplex_deinit(&duplex);
}

static void vectored_default_path_writes_one_buffer_per_call(void **state)
{
	(void)state;
	const struct gale_mock_action actions[] = {
		GALE_MOCK_ACTION_EXPECT_WRITE("abcdef", 6, 0),
	};
	struct gale_mock_io mock;
	gale_mock_io_init(&mock, actions, 1);
	struct gale_cx cx = {gale_waker_none()};
	const struct iovec iov[4] = {
		{.iov_base = "ab", .iov_len = 2},
		{.iov_base = "", .iov_len = 0},
		{.iov_base = "cde", .iov_len = 3},
		{.iov_base = "f", .iov_len = 1},
	};
	struct iovec copy[4];
	memcpy(copy, iov, sizeof(iov));
	struct gale_write_all_vectored future;
	gale_write_all_vectored_init(&future, gale_mock_io_writer(&mock), iov, 4);
	assert_int_equal(gale_write_all_vectored_poll(&future, &cx), 0);
	assert_int_equal(future.len_written, 6);
	/* The mock is not vectored: one call per non-empty buffer. */
	assert_int_equal(gale_mock_io_stats_get(&mock).writes_count, 3);
	assert_memory_equal(copy, iov, sizeof(iov)); /* The caller's array is untouched. */
	assert_int_equal(gale_mock_io_finish(&mock), 0);
}

static void vectored_cursor_advances_across_iovecs(void **state)
{
	(void)state;
	struct gale_duplex duplex;
	assert_int_equal(gale_duplex_init(&duplex, 4, NULL), 0);
	struct gale_test_wake_log log = {0};
	struct gale_cx cx = {gale_test_waker(&log, 6)};
	const struct iovec iov[3] = {
		{.iov_base = "ab", .iov_len = 2},
		{.iov_base = "cde", .iov_len = 3},
		{.iov_base = "fgh", .iov_len = 3},
	};
	struct gale_write_all_vectored future;
	gale_write_all_vectored_init(&future, gale_duplex_end_writer(&duplex, 0), iov, 3);
	assert_int_equal(gale_write_all_vectored_poll(&future, &cx), GALE_PENDING);
	assert_int_equal(future.len_written, 4);
	assert_int_equal(future.iov_index, 1);
	assert_int_equal(future.iov_offset, 2);
	char out[8];
	struct gale_read_buf rb = {(uint8_t *)out, sizeof(out), 0};
	struct gale_async_read reader = gale_duplex_end_reader(&duplex, 1);
	assert_int_equal(gale_async_read_poll(reader, &cx, &rb), 0);
	assert_int_equal(log.wake_counts[6], 1);
	assert_int_equal(gale_write_all_vectored_poll(&future, &cx), 0);
	assert_int_equal(future.len_written, 8);
	assert_int_equal(future.iov_index, 3);
	assert_int_equal(gale_async_read_poll(reader, &cx, &rb), 0);
	assert_int_equal(rb.len_filled, 8);
	assert_memory_equal(out, "abcdefgh", 8);
	gale_duplex_deinit(&duplex);
}

static void vectored_window_is_bounded(void **state)
{
	(void)state;
	enum { COUNT = 40 };
	struct iovec iov[COUNT];
	char bytes[COUNT];
	for (int i = 0; i < COUNT; i++) {
		bytes[i] = (char)('A' + i);
		iov[i].iov_base = &bytes[i];
		iov[i].iov_len = 1;
	}
	struct record_writer record = {.accept_max = 1000};
	struct gale_async_write writer = {&record_vectored_ops, &record};
	struct gale_cx cx = {gale_waker_none()};
	struct gale_write_all_vectored future;
	gale_write_all_vectored_init(&future, writer, iov, COUNT);
	assert_int_equal(gale_write_all_vectored_poll(&future, &cx), 0);
	assert_int_equal(record.calls_count, 3);
	assert_int_equal(record.iov_counts[0], GALE_WRITE_ALL_IOV_WINDOW);
	assert_int_equal(record.iov_counts[1], GALE_WRITE_ALL_IOV_WINDOW);
	assert_int_equal(record.iov_counts[2], COUNT - 2 * GALE_WRITE_ALL_IOV_WINDOW);
	assert_int_equal(record.len, COUNT);
	assert_memory_equal(record.data, bytes, COUNT);

	/* Partial vectored writes: 7 bytes per call over 40 one-byte iovecs. */
	struct record_writer partial = {.accept_max = 7};
	writer.self = &partial;
	gale_write_all_vectored_init(&future, writer, iov, COUNT);
	assert_int_equal(gale_write_all_vectored_poll(&future, &cx), 0);
	assert_int_equal(partial.calls_count, 6); /* 7 * 5 + 5. */
	assert_int_equal(partial.offered[1], GALE_WRITE_ALL_IOV_WINDOW);
	assert_int_equal(partial.offered[5], 5);
	assert_memory_equal(partial.data, bytes, COUNT);
}

static void vectored_zero_write_is_write_zero(void **state)
{
	(void)state;
	struct record_writer record = {.accept_max = 0};
	struct gale_async_write writer = {&record_vectored_ops, &record};
	struct gale_cx cx = {gale_waker_none()};
	const struct iovec iov[1] = {{.iov_base = "x", .iov_len = 1}};
	struct gale_write_all_vectored future;
	gale_write_all_vectored_init(&future, writer, iov, 1);
	assert_int_equal(gale_write_all_vectored_poll(&future, &cx), GALE_E_WRITE_ZERO);
	assert_int_equal(future.len_written, 0);
}

static void flush_and_shutdown_futures(void **state)
{
	(void)state;
	struct gale_duplex duplex;
	assert_int_equal(gale_duplex_init(&duplex, 8, NULL), 0);
	struct gale_cx cx = {gale_waker_none()};
	struct gale_async_write writer = gale_duplex_end_writer(&duplex, 0);
	struct gale_write_all write_all;
	gale_write_all_init(&write_all, writer, "bye", 3);
	assert_int_equal(gale_write_all_poll(&write_all, &cx), 0);
	struct gale_write_flush flush;
	gale_write_flush_init(&flush, writer);
	assert_int_equal(gale_write_flush_poll(&flush, &cx), 0);
	struct gale_write_shutdown shutdown;
	gale_write_shutdown_init(&shutdown, writer);
	assert_int_equal(gale_write_shutdown_poll(&shutdown, &cx), 0);
	/* After shutdown: the peer reads the last bytes then EOF, writes fail. */
	char out[8];
	struct gale_read_buf rb = {(uint8_t *)out, sizeof(out), 0};
	assert_int_equal(gale_async_read_poll(gale_duplex_end_reader(&duplex, 1), &cx, &rb), 0);
	assert_int_equal(rb.len_filled, 3);
	assert_int_equal(gale_async_read_poll(gale_duplex_end_reader(&duplex, 1), &cx, &rb), 0);
	assert_int_equal(rb.len_filled, 3);
	gale_write_all_init(&write_all, writer, "x", 1);
	assert_int_equal(gale_write_all_poll(&write_all, &cx), -EPIPE);
	gale_duplex_deinit(&duplex);
}

/* Issue 13: iov_count < 0 asserted in the vectored init (which cannot fail): the first
 * poll returns -EINVAL and writes nothing. */
static void vectored_negative_count_is_einval(void **state)
{
	(void)state;
	struct gale_mock_io mock;
	gale_mock_io_init(&mock, NULL, 0); /* Any write would be a violation. */
	struct gale_cx cx = {gale_waker_none()};
	struct gale_write_all_vectored future;
	gale_write_all_vectored_init(&future, gale_mock_io_writer(&mock), NULL, -1);
	assert_int_equal(gale_write_all_vectored_poll(&future, &cx), -EINVAL);
	assert_int_equal(future.len_written, 0);
	assert_int_equal(gale_mock_io_finish(&mock), 0);
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(writes_every_byte_across_partial_writes),
		cmocka_unit_test(resumes_from_the_cursor_after_pending),
		cmocka_unit_test(zero_byte_write_is_write_zero),
		cmocka_unit_test(empty_buffer_makes_no_call),
		cmocka_unit_test(errors_pass_through_unchanged),
		cmocka_unit_test(vectored_default_path_writes_one_buffer_per_call),
		cmocka_unit_test(vectored_cursor_advances_across_iovecs),
		cmocka_unit_test(vectored_window_is_bounded),
		cmocka_unit_test(vectored_zero_write_is_write_zero),
		cmocka_unit_test(flush_and_shutdown_futures),
		cmocka_unit_test(vectored_negative_count_is_einval),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
