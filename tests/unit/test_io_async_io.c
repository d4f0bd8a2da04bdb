/* SPDX-License-Identifier: MIT */
/*
 * The reader/writer wrappers and the read buffer (async_io.h). Methodology: tiny local
 * readers and writers with recorded calls, polled by hand. Pins: the read buffer
 * helpers, the default vectored write (first non-empty buffer, or a zero-length write
 * when all are empty), is_vectored, len_written_out is 0 on Pending and on errors, and
 * results pass through the wrappers unchanged.
 */
#include <errno.h>
#include <string.h>

#include <gale/async_io.h>
#include <gale/error.h>

#include "test_support.h"

/* A writer that records each call; result chosen by the test. */
struct scripted_writer {
	int rc;                   /* What every call returns. */
	size_t accept_len;        /* n on success (clamped to len). */
	const void *last_buf;     /* buf of the last poll_write. */
	size_t last_len;          /* len of the last poll_write. */
	uint32_t writes_count;    /* poll_write calls. */
	uint32_t flushes_count;   /* poll_flush calls. */
	uint32_t shutdowns_count; /* poll_shutdown calls. */
};

static int scripted_poll_write(void *self, struct gale_cx *cx, const void *buf, size_t len,
			       size_t *len_written_out)
{
	struct scripted_writer *writer = self;
	writer->writes_count++;
	writer->last_buf = buf;
	writer->last_len = len;
	if (writer->rc == GALE_PENDING)
		gale_waker_wake(&cx->waker); /* Arrange a wake (here: at once). */
	/* Garbage on non-ready results: the wrapper must report 0 anyway. */
	*len_written_out = writer->rc == 0 ? (len < writer->accept_len ? len : writer->accept_len)
					   : 12345;
	return writer->rc;
}

static int scripted_poll_flush(void *self, struct gale_cx *cx)
{
	struct scripted_writer *writer = self;
	(void)cx;
	writer->flushes_count++;
	return writer->rc;
}

static int scripted_poll_shutdown(void *self, struct gale_cx *cx)
{
	struct scripted_writer *writer = self;
	(void)cx;
	writer->shutdowns_count++;
	return writer->rc;
}

static const struct gale_async_write_ops scripted_ops = {
	.abi_version = GALE_ASYNC_IO_ABI_VERSION,
	.name = "scripted",
	.poll_write = scripted_poll_write,
	.poll_flush = scripted_poll_flush,
	.poll_shutdown = scripted_poll_shutdown,
};

static int eof_poll_read(void *self, struct gale_cx *cx, struct gale_read_buf *rb)
{
	(void)self;
	(void)cx;
	(void)rb;
	return 0;
}

static const struct gale_async_read_ops eof_ops = {
	.abi_version = GALE_ASYNC_IO_ABI_VERSION,
	.name = "eof",
	.poll_read = eof_poll_read,
};

static void read_buf_helpers(void **state)
{
	(void)state;
	uint8_t storage[8] = {0};
	struct gale_read_buf rb;
	gale_read_buf_init(&rb, storage, sizeof(storage));
	assert_int_equal(rb.len_filled, 0);
	assert_int_equal(gale_read_buf_remaining(&rb), 8);
	assert_false(gale_read_buf_is_full(&rb));
	gale_read_buf_put(&rb, "abc", 3);
	assert_ptr_equal(gale_read_buf_unfilled(&rb), storage + 3);
	memcpy(gale_read_buf_unfilled(&rb), "defgh", 5);
	gale_read_buf_advance(&rb, 5);
	assert_true(gale_read_buf_is_full(&rb));
	assert_int_equal(gale_read_buf_remaining(&rb), 0);
	gale_read_buf_put(&rb, NULL, 0);
	assert_memory_equal(storage, "abcdefgh", 8);
}

static void read_wrapper_passes_results_through(void **state)
{
	(void)state;
	struct gale_async_read reader = {&eof_ops, NULL};
	struct gale_cx cx = {gale_waker_none()};
	uint8_t storage[4];
	struct gale_read_buf rb;
	gale_read_buf_init(&rb, storage, sizeof(storage));
	assert_int_equal(gale_async_read_poll(reader, &cx, &rb), 0);
	assert_int_equal(rb.len_filled, 0); /* Nothing added to a non-full buffer: EOF. */
}

static void write_wrapper_reports_zero_unless_ready(void **state)
{
	(void)state;
	struct scripted_writer scripted = {.rc = 0, .accept_len = 2};
	struct gale_async_write writer = {&scripted_ops, &scripted};
	struct gale_test_wake_log log = {0};
	struct gale_cx cx = {gale_test_waker(&log, 7)};
	size_t n = 99;
	assert_int_equal(gale_async_write_poll(writer, &cx, "abc", 3, &n), 0);
	assert_int_equal(n, 2);
	scripted.rc = GALE_PENDING;
	assert_int_equal(gale_async_write_poll(writer, &cx, "abc", 3, &n), GALE_PENDING);
	assert_int_equal(n, 0);
	assert_int_equal(log.wake_counts[7], 1);
	scripted.rc = -ECONNRESET;
	assert_int_equal(gale_async_write_poll(writer, &cx, "abc", 3, &n), -ECONNRESET);
	assert_int_equal(n, 0);
	assert_int_equal(gale_async_write_poll_flush(writer, &cx), -ECONNRESET);
	assert_int_equal(gale_async_write_poll_shutdown(writer, &cx), -ECONNRESET);
	scripted.rc = 0;
	assert_int_equal(gale_async_write_poll_flush(writer, &cx), 0);
	assert_int_equal(gale_async_write_poll_shutdown(writer, &cx), 0);
	assert_int_equal(scripted.flushes_count, 2);
	assert_int_equal(scripted.shutdowns_count, 2);
}

static void default_vectored_write_takes_the_first_non_empty_buffer(void **state)
{
	(void)state;
	struct scripted_writer scripted = {.rc = 0, .accept_len = 100};
	struct gale_async_write writer = {&scripted_ops, &scripted};
	struct gale_cx cx = {gale_waker_none()};
	assert_false(gale_async_write_is_vectored(writer));
	char second[] = "xyz";
	const struct iovec iov[3] = {
		{.iov_base = "", .iov_len = 0},
		{.iov_base = second, .iov_len = 3},
		{.iov_base = "later", .iov_len = 5},
	};
	size_t n = 0;
	assert_int_equal(gale_async_write_poll_vectored(writer, &cx, iov, 3, &n), 0);
	assert_int_equal(n, 3);
	assert_ptr_equal(scripted.last_buf, second);
	assert_int_equal(scripted.last_len, 3);
	assert_int_equal(scripted.writes_count, 1);
	/* All empty (or none): one zero-length write, as Tokio's default does. */
	assert_int_equal(gale_async_write_poll_vectored(writer, &cx, iov, 1, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(scripted.last_len, 0);
	assert_int_equal(gale_async_write_poll_vectored(writer, &cx, NULL, 0, &n), 0);
	assert_int_equal(scripted.writes_count, 3);
}

/* Issue 13: an iov_count outside [0, GALE_ASYNC_IO_IOV_MAX] asserted; the header calls it
 * a value: -EINVAL, with the writer never called. */
static void vectored_count_out_of_range_is_einval(void **state)
{
	(void)state;
	struct scripted_writer scripted = {.rc = 0, .accept_len = 100};
	struct gale_async_write writer = {&scripted_ops, &scripted};
	struct gale_cx cx = {gale_waker_none()};
	struct iovec iov = {.iov_base = "abc", .iov_len = 3};
	size_t n = 7;
	assert_int_equal(gale_async_write_poll_vectored(writer, &cx, &iov, -1, &n), -EINVAL);
	assert_int_equal(n, 0);
	assert_int_equal(gale_async_write_poll_vectored(writer, &cx, &iov,
							GALE_ASYNC_IO_IOV_MAX + 1, &n),
			 -EINVAL);
	assert_int_equal(scripted.writes_count, 0);
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(read_buf_helpers),
		cmocka_unit_test(read_wrapper_passes_results_through),
		cmocka_unit_test(write_wrapper_reports_zero_unless_ready),
		cmocka_unit_test(default_vectored_write_takes_the_first_non_empty_buffer),
		cmocka_unit_test(vectored_count_out_of_range_is_einval),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
