/* SPDX-License-Identifier: MIT */
/*
 * split: read and write halves polled by two different tasks. Methodology: two
 * hand-driven "tasks", each with its own waker id in one wake log, over the duplex pipe
 * (one waker per direction) and over a local object with ONE waker slot. Pins: per-
 * direction halves are the object's own reader/writer and wake the right task; on a
 * one-slot object direct use loses a wakeup (the hazard) and SHARED mode does not; a
 * half that completed is not woken again; shutdown of the write half leaves the read
 * half working.
 */
#include <errno.h>
#include <string.h>

#include <gale/duplex.h>
#include <gale/error.h>
#include <gale/split.h>

#include "test_support.h"

enum { TASK_READ = 1, TASK_WRITE = 2 };

/* An object with a single waker slot for both directions (like many simple wrappers). */
struct one_slot {
	size_t readable_len;     /* Bytes a read can take ('r' each). */
	bool writable;           /* Whether a write is accepted. */
	struct gale_waker waker; /* The one slot: the last poller wins. */
};

static int one_slot_poll_read(void *self, struct gale_cx *cx, struct gale_read_buf *rb)
{
	struct one_slot *object = self;
	if (object->readable_len == 0) {
		object->waker = cx->waker;
		return GALE_PENDING;
	}
	size_t n = gale_read_buf_remaining(rb);
	n = n < object->readable_len ? n : object->readable_len;
	memset(gale_read_buf_unfilled(rb), 'r', n);
	gale_read_buf_advance(rb, n);
	object->readable_len -= n;
	return 0;
}

static int one_slot_poll_write(void *self, struct gale_cx *cx, const void *buf, size_t len,
			       size_t *len_written_out)
{
	struct one_slot *object = self;
	(void)buf;
	if (!object->writable) {
		object->waker = cx->waker;
		return GALE_PENDING;
	}
	*len_written_out = len;
	return 0;
}

static int one_slot_poll_flush(void *self, struct gale_cx *cx)
{
	(void)self;
	(void)cx;
	return 0;
}

static const struct gale_async_read_ops one_slot_read_ops = {
	.abi_version = GALE_ASYNC_IO_ABI_VERSION,
	.name = "one_slot",
	.poll_read = one_slot_poll_read,
};

static const struct gale_async_write_ops one_slot_write_ops = {
	.abi_version = GALE_ASYNC_IO_ABI_VERSION,
	.name = "one_slot",
	.poll_write = one_slot_poll_write,
	.poll_flush = one_slot_poll_flush,
	.poll_shutdown = one_slot_poll_flush,
};

/* New data arrives: the object wakes whoever is in its slot. */
static void one_slot_deliver(struct one_slot *object, size_t len)
{
	object->readable_len += len;
	struct gale_waker waker = object->waker;
	object->waker = gale_waker_none();
	gale_waker_wake(&waker);
}

static struct gale_async_stream one_slot_stream(struct one_slot *object)
{
	struct gale_async_stream stream = {{&one_slot_read_ops, object},
					   {&one_slot_write_ops, object}};
	return stream;
}

/* Task R polls a read, task W polls a write, both Pending, then data arrives. */
static void both_pend_then_deliver(struct one_slot *object, struct gale_split *split,
				   struct gale_test_wake_log *log)
{
	struct gale_cx cx_read = {gale_test_waker(log, TASK_READ)};
	struct gale_cx cx_write = {gale_test_waker(log, TASK_WRITE)};
	char buf[4];
	struct gale_read_buf rb;
	gale_read_buf_init(&rb, buf, sizeof(buf));
	size_t n = 0;
	assert_int_equal(gale_async_read_poll(gale_split_read_half(split), &cx_read, &rb),
			 GALE_PENDING);
	assert_int_equal(gale_async_write_poll(gale_split_write_half(split), &cx_write, "w", 1,
					       &n),
			 GALE_PENDING);
	one_slot_deliver(object, 3);
}

static void one_slot_object_loses_a_wakeup_without_fan_out(void **state)
{
	(void)state;
	struct one_slot object = {0};
	struct gale_split split;
	gale_split_init(&split, one_slot_stream(&object), GALE_SPLIT_WAKERS_PER_DIRECTION);
	struct gale_test_wake_log log = {0};
	both_pend_then_deliver(&object, &split, &log);
	/* The write overwrote the read's waker: the reader, which has data now, sleeps. */
	assert_int_equal(log.wake_counts[TASK_READ], 0);
	assert_int_equal(log.wake_counts[TASK_WRITE], 1);
}

static void shared_mode_wakes_both_halves(void **state)
{
	(void)state;
	struct one_slot object = {0};
	struct gale_split split;
	gale_split_init(&split, one_slot_stream(&object), GALE_SPLIT_WAKERS_SHARED);
	struct gale_test_wake_log log = {0};
	both_pend_then_deliver(&object, &split, &log);
	assert_int_equal(log.wake_counts[TASK_READ], 1);
	assert_int_equal(log.wake_counts[TASK_WRITE], 1); /* Spurious, harmless. */

	/* The reader gets its data; once ready it is not woken by later events. */
	struct gale_cx cx_read = {gale_test_waker(&log, TASK_READ)};
	char buf[4];
	struct gale_read_buf rb;
	gale_read_buf_init(&rb, buf, sizeof(buf));
	assert_int_equal(gale_async_read_poll(gale_split_read_half(&split), &cx_read, &rb), 0);
	assert_int_equal(rb.len_filled, 3);
	assert_memory_equal(buf, "rrr", 3);
	struct gale_cx cx_write = {gale_test_waker(&log, TASK_WRITE)};
	size_t n = 0;
	assert_int_equal(gale_async_write_poll(gale_split_write_half(&split), &cx_write, "w", 1,
					       &n),
			 GALE_PENDING);
	object.writable = true;
	one_slot_deliver(&object, 0);
	assert_int_equal(log.wake_counts[TASK_READ], 1);
	assert_int_equal(log.wake_counts[TASK_WRITE], 2);
	assert_int_equal(gale_async_write_poll(gale_split_write_half(&split), &cx_write, "w", 1,
					       &n),
			 0);
	assert_int_equal(n, 1);
	assert_int_equal(gale_async_write_poll_flush(gale_split_write_half(&split), &cx_write), 0);
	assert_false(gale_async_write_is_vectored(gale_split_write_half(&split)));
}

static void duplex_halves_wake_their_own_task(void **state)
{
	(void)state;
	struct gale_duplex duplex;
	assert_int_equal(gale_duplex_init(&duplex, 4, NULL), 0);
	struct gale_split split;
	gale_split_init(&split, gale_duplex_end_stream(&duplex, 0),
			GALE_SPLIT_WAKERS_PER_DIRECTION);
	struct gale_async_read read_half = gale_split_read_half(&split);
	struct gale_async_write write_half = gale_split_write_half(&split);
	/* Borrowed views: the halves are the duplex end's own reader and writer. */
	assert_ptr_equal(read_half.ops, gale_duplex_end_reader(&duplex, 0).ops);
	assert_ptr_equal(write_half.self, gale_duplex_end_writer(&duplex, 0).self);
	assert_true(gale_async_write_is_vectored(write_half));

	struct gale_test_wake_log log = {0};
	struct gale_cx cx_read = {gale_test_waker(&log, TASK_READ)};
	struct gale_cx cx_write = {gale_test_waker(&log, TASK_WRITE)};
	struct gale_cx cx_peer = {gale_waker_none()};
	size_t n = 0;
	assert_int_equal(gale_async_write_poll(write_half, &cx_write, "abcdef", 6, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(gale_async_write_poll(write_half, &cx_write, "ef", 2, &n), GALE_PENDING);
	char buf[8];
	struct gale_read_buf rb;
	gale_read_buf_init(&rb, buf, sizeof(buf));
	assert_int_equal(gale_async_read_poll(read_half, &cx_read, &rb), GALE_PENDING);

	struct gale_async_stream peer = gale_duplex_end_stream(&duplex, 1);
	assert_int_equal(gale_async_write_poll(peer.writer, &cx_peer, "hi", 2, &n), 0);
	assert_int_equal(log.wake_counts[TASK_READ], 1);
	assert_int_equal(log.wake_counts[TASK_WRITE], 0);
	struct gale_read_buf peer_rb;
	gale_read_buf_init(&peer_rb, buf, sizeof(buf));
	assert_int_equal(gale_async_read_poll(peer.reader, &cx_peer, &peer_rb), 0);
	assert_int_equal(peer_rb.len_filled, 4);
	assert_int_equal(log.wake_counts[TASK_READ], 1);
	assert_int_equal(log.wake_counts[TASK_WRITE], 1);

	/* Shutting the write half down leaves the read half working. */
	assert_int_equal(gale_async_write_poll_shutdown(write_half, &cx_write), 0);
	assert_int_equal(gale_async_read_poll(read_half, &cx_read, &rb), 0);
	assert_int_equal(rb.len_filled, 2);
	assert_memory_equal(buf, "hi", 2);
	assert_int_equal(gale_async_write_poll(write_half, &cx_write, "x", 1, &n), -EPIPE);
	gale_duplex_deinit(&duplex);
}

static void shared_mode_over_duplex_forwards_everything(void **state)
{
	(void)state;
	struct gale_duplex duplex;
	assert_int_equal(gale_duplex_init(&duplex, 8, NULL), 0);
	struct gale_split split;
	gale_split_init(&split, gale_duplex_end_stream(&duplex, 0), GALE_SPLIT_WAKERS_SHARED);
	struct gale_async_write write_half = gale_split_write_half(&split);
	assert_true(gale_async_write_is_vectored(write_half));
	struct gale_cx cx = {gale_waker_none()};
	const struct iovec iov[2] = {{.iov_base = "ab", .iov_len = 2},
				     {.iov_base = "cd", .iov_len = 2}};
	size_t n = 0;
	assert_int_equal(gale_async_write_poll_vectored(write_half, &cx, iov, 2, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(gale_async_write_poll_shutdown(write_half, &cx), 0);
	char buf[8];
	struct gale_read_buf rb;
	gale_read_buf_init(&rb, buf, sizeof(buf));
	assert_int_equal(gale_async_read_poll(gale_duplex_end_reader(&duplex, 1), &cx, &rb), 0);
	assert_int_equal(rb.len_filled, 4);
	assert_memory_equal(buf, "abcd", 4);
	gale_duplex_deinit(&duplex);
}

/* Issue 13: a wakers mode outside the enum asserted in gale_split_init (no error to
 * return there): the halves' polls return -EINVAL and never reach the object. */
static void unknown_wakers_mode_is_einval(void **state)
{
	(void)state;
	struct one_slot object = {0};
	struct gale_split split;
	gale_split_init(&split, one_slot_stream(&object), (enum gale_split_wakers)7);
	struct gale_cx cx = {gale_waker_none()};
	char buf[4];
	struct gale_read_buf rb;
	gale_read_buf_init(&rb, buf, sizeof(buf));
	size_t n = 1;
	assert_int_equal(gale_async_read_poll(gale_split_read_half(&split), &cx, &rb), -EINVAL);
	assert_int_equal(gale_async_write_poll(gale_split_write_half(&split), &cx, "w", 1, &n),
			 -EINVAL);
	assert_int_equal(n, 0);
	assert_int_equal(gale_async_write_poll_shutdown(gale_split_write_half(&split), &cx),
			 -EINVAL);
	assert_int_equal(rb.len_filled, 0);
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_slot_object_loses_a_wakeup_without_fan_out),
		cmocka_unit_test(shared_mode_wakes_both_halves),
		cmocka_unit_test(duplex_halves_wake_their_own_task),
		cmocka_unit_test(shared_mode_over_duplex_forwards_everything),
		cmocka_unit_test(unknown_wakers_mode_is_einval),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
