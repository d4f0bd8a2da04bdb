/* SPDX-License-Identifier: MIT */
/*
 * The contract checks that survive NDEBUG (error.h): this file and the gale_io it links are
 * compiled with NDEBUG (gale_io_ndebug), as a release build compiles them. Each test is a
 * death test: a reader, writer or driver that breaks its contract must abort with
 * "gale: contract broken: ..." even here. While these checks were assert()s, every run
 * below returned normally: a read_exact "succeeded" with the caller's buffer never written,
 * a count past the buffer went unnoticed. A well-behaved reader is run too, to show the
 * checks pass what is legal.
 */
#ifndef NDEBUG
#error "test_io_contract tests what survives a release build: compile it with NDEBUG"
#endif

#include <errno.h>
#include <string.h>

#include <gale/async_io.h>
#include <gale/driver.h>
#include <gale/error.h>
#include <gale/read_exact.h>

#include "test_support.h"

/* ---- Broken readers and writers ------------------------------------------------------ */

enum reader_bug {
	READER_OVER_REPORTS,   /* len_filled set past cap. */
	READER_SWAPS_BUFFER,   /* Fills a buffer of its own and points rb at it. */
	READER_PENDING_FILLS,  /* Adds bytes, then returns GALE_PENDING. */
	READER_BAD_RESULT,     /* Returns 7: neither ready, pending nor an error. */
	READER_KEEPS_CONTRACT, /* The control: one byte, 0. */
};

static uint8_t reader_own_buf[64]; /* Where READER_SWAPS_BUFFER puts its bytes. */

static int buggy_poll_read(void *self, struct gale_cx *cx, struct gale_read_buf *rb)
{
	(void)cx;
	switch (*(const enum reader_bug *)self) {
	case READER_OVER_REPORTS:
		rb->len_filled = rb->cap + 5;
		return 0;
	case READER_SWAPS_BUFFER:
		memset(reader_own_buf, 'x', sizeof(reader_own_buf));
		rb->buf = reader_own_buf;
		rb->len_filled = rb->cap;
		return 0;
	case READER_PENDING_FILLS:
		rb->buf[rb->len_filled] = 'p';
		rb->len_filled++;
		return GALE_PENDING;
	case READER_BAD_RESULT:
		return 7;
	case READER_KEEPS_CONTRACT:
		rb->buf[rb->len_filled] = 'k';
		rb->len_filled++;
		return 0;
	}
	return -EINVAL;
}

static const struct gale_async_read_ops buggy_read_ops = {
	.abi_version = GALE_ASYNC_IO_ABI_VERSION,
	.name = "buggy",
	.poll_read = buggy_poll_read,
};

/* One read of 8 bytes through the wrapper, by a reader with the given bug. */
static int read_with(enum reader_bug bug, uint8_t *buf)
{
	struct gale_async_read reader = {&buggy_read_ops, &bug};
	struct gale_cx cx = {gale_waker_none()};
	struct gale_read_buf rb;
	gale_read_buf_init(&rb, buf, 8);
	return gale_async_read_poll(reader, &cx, &rb);
}

static void read_with_bug(void *data)
{
	uint8_t buf[8] = {0};
	(void)read_with(*(const enum reader_bug *)data, buf);
}

static void reader_over_reporting_aborts(void **state)
{
	(void)state;
	enum reader_bug bug = READER_OVER_REPORTS;
	gale_test_expect_abort(read_with_bug, &bug,
			       "gale: contract broken: reader 'buggy' moved len_filled from 0 "
			       "to 13 with cap 8");
}

/* The reader fills its own buffer: read_exact would complete with the caller's bytes
 * never written. The wrapper sees rb->buf change and stops it. */
static void read_exact_with_swapping_reader(void *data)
{
	(void)data;
	enum reader_bug bug = READER_SWAPS_BUFFER;
	struct gale_async_read reader = {&buggy_read_ops, &bug};
	struct gale_cx cx = {gale_waker_none()};
	uint8_t buf[4] = {0};
	struct gale_read_exact read_exact;
	gale_read_exact_init(&read_exact, reader, buf, sizeof(buf));
	(void)gale_read_exact_poll(&read_exact, &cx);
}

static void reader_swapping_buffer_aborts(void **state)
{
	(void)state;
	gale_test_expect_abort(read_exact_with_swapping_reader, NULL,
			       "replaced the caller's read buffer");
}

static void reader_filling_on_pending_aborts(void **state)
{
	(void)state;
	enum reader_bug bug = READER_PENDING_FILLS;
	gale_test_expect_abort(read_with_bug, &bug,
			       "reader 'buggy' filled 1 bytes and returned GALE_PENDING (1)");
}

static void reader_bad_result_aborts(void **state)
{
	(void)state;
	enum reader_bug bug = READER_BAD_RESULT;
	gale_test_expect_abort(read_with_bug, &bug, "reader 'buggy' returned 7 from poll_read");
}

static void reader_keeping_contract_passes(void **state)
{
	(void)state;
	uint8_t buf[8] = {0};
	assert_int_equal(read_with(READER_KEEPS_CONTRACT, buf), 0);
	assert_int_equal(buf[0], 'k');
}

static void read_buf_put_past_cap(void *data)
{
	(void)data;
	uint8_t buf[4];
	struct gale_read_buf rb;
	gale_read_buf_init(&rb, buf, sizeof(buf));
	gale_read_buf_put(&rb, "12345", 5);
}

static void read_buf_put_past_cap_aborts(void **state)
{
	(void)state;
	gale_test_expect_abort(read_buf_put_past_cap, NULL,
			       "read buffer put of 5 bytes with 0 of 4 bytes filled");
}

static int over_poll_write(void *self, struct gale_cx *cx, const void *buf, size_t len,
			   size_t *len_written_out)
{
	(void)self;
	(void)cx;
	(void)buf;
	*len_written_out = len + 1;
	return 0;
}

static int ready_poll(void *self, struct gale_cx *cx)
{
	(void)self;
	(void)cx;
	return 0;
}

static const struct gale_async_write_ops over_write_ops = {
	.abi_version = GALE_ASYNC_IO_ABI_VERSION,
	.name = "over",
	.poll_write = over_poll_write,
	.poll_flush = ready_poll,
	.poll_shutdown = ready_poll,
};

static void write_with_over_reporting_writer(void *data)
{
	(void)data;
	struct gale_async_write writer = {&over_write_ops, NULL};
	struct gale_cx cx = {gale_waker_none()};
	size_t n = 0;
	(void)gale_async_write_poll(writer, &cx, "ping", 4, &n);
}

static void writer_over_reporting_aborts(void **state)
{
	(void)state;
	gale_test_expect_abort(write_with_over_reporting_writer, NULL,
			       "writer 'over' returned 0 with 5 of 4 bytes written");
}

/* ---- A broken driver ----------------------------------------------------------------- */

static ssize_t liar_read(struct gale_driver *driver, int fd, void *buf, size_t len)
{
	(void)driver;
	(void)fd;
	(void)buf;
	return (ssize_t)len + 1;
}

static int liar_wait(struct gale_driver *driver, struct gale_event *events, int events_cap,
		     int64_t timeout_ns)
{
	(void)driver;
	(void)events;
	(void)timeout_ns;
	return events_cap + 1;
}

/* Only the ops these tests call: the wrappers reach nothing else. */
static const struct gale_driver_ops liar_ops = {
	.abi_version = GALE_DRIVER_ABI_VERSION,
	.name = "liar",
	.read = liar_read,
	.wait = liar_wait,
};

static void driver_read_past_len(void *data)
{
	(void)data;
	struct gale_driver driver = {&liar_ops};
	char buf[4];
	(void)gale_driver_read(&driver, 3, buf, sizeof(buf));
}

static void driver_wait_past_cap(void *data)
{
	(void)data;
	struct gale_driver driver = {&liar_ops};
	struct gale_event events[2];
	(void)gale_driver_wait(&driver, events, 2, 0);
}

static void driver_counts_past_the_buffer_abort(void **state)
{
	(void)state;
	gale_test_expect_abort(driver_read_past_len, NULL,
			       "driver 'liar' read returned 5 for 4 bytes");
	gale_test_expect_abort(driver_wait_past_cap, NULL,
			       "driver 'liar' wait returned 3 events for 2 slots");
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reader_over_reporting_aborts),
		cmocka_unit_test(reader_swapping_buffer_aborts),
		cmocka_unit_test(reader_filling_on_pending_aborts),
		cmocka_unit_test(reader_bad_result_aborts),
		cmocka_unit_test(reader_keeping_contract_passes),
		cmocka_unit_test(read_buf_put_past_cap_aborts),
		cmocka_unit_test(writer_over_reporting_aborts),
		cmocka_unit_test(driver_counts_past_the_buffer_abort),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
