/* SPDX-License-Identifier: MIT */
/*
 * The in-memory duplex pipe (seed 003). Methodology: every poll is made by hand with a
 * recording waker (no executor), so each test states the exact byte counts, the exact
 * result codes and exactly which waker fired how often. Covers the bounded ring
 * (partial writes, Pending when full/empty, wake on progress, no redundant wakes), every
 * close order, shutdown half-close, zero-length operations, wrap-around against a
 * reference model, vectored writes and the allocation paths (counting allocator).
 */
#include <errno.h>
#include <string.h>

#include <gale/duplex.h>
#include <gale/error.h>
#include <gale/read_exact.h>
#include <gale/rt.h>
#include <gale/write_all.h>

#include "test_support.h"

/* A hand-driven task: its own wake log and cx. */
struct task {
	struct gale_test_wake_log log; /* Wakes of this task. */
	struct gale_cx cx;             /* Carries a waker that records into log. */
};

static void task_init(struct task *task, uint64_t id)
{
	memset(&task->log, 0, sizeof(task->log));
	task->cx.waker = gale_test_waker(&task->log, id);
}

/* One poll_write through the wrapper; returns rc and stores n. */
static int write_once(struct gale_duplex *duplex, unsigned end, struct task *task,
		      const char *bytes, size_t len, size_t *n_out)
{
	return gale_async_write_poll(gale_duplex_end_writer(duplex, end), &task->cx, bytes, len,
				     n_out);
}

/* One poll_read of at most cap bytes into out; returns rc and stores n. */
static int read_once(struct gale_duplex *duplex, unsigned end, struct task *task, void *out,
		     size_t cap, size_t *n_out)
{
	struct gale_read_buf rb;
	gale_read_buf_init(&rb, out, cap);
	int rc = gale_async_read_poll(gale_duplex_end_reader(duplex, end), &task->cx, &rb);
	*n_out = rb.len_filled;
	return rc;
}

static void ping_pong(void **state)
{
	(void)state;
	struct gale_duplex duplex;
	assert_int_equal(gale_duplex_init(&duplex, 64, NULL), 0);
	struct task task;
	task_init(&task, 1);
	struct gale_async_stream client = gale_duplex_end_stream(&duplex, 0);
	struct gale_async_stream server = gale_duplex_end_stream(&duplex, 1);
	char buf[4] = {0};

	struct gale_write_all write_all;
	gale_write_all_init(&write_all, client.writer, "ping", 4);
	assert_int_equal(gale_write_all_poll(&write_all, &task.cx), 0);
	struct gale_read_exact read_exact;
	gale_read_exact_init(&read_exact, server.reader, buf, 4);
	assert_int_equal(gale_read_exact_poll(&read_exact, &task.cx), 0);
	assert_memory_equal(buf, "ping", 4);

	gale_write_all_init(&write_all, server.writer, "pong", 4);
	assert_int_equal(gale_write_all_poll(&write_all, &task.cx), 0);
	gale_read_exact_init(&read_exact, client.reader, buf, 4);
	assert_int_equal(gale_read_exact_poll(&read_exact, &task.cx), 0);
	assert_memory_equal(buf, "pong", 4);
	assert_int_equal(task.log.wakes_total, 0);
	gale_duplex_deinit(&duplex);
}

static void partial_writes_at_capacity(void **state)
{
	(void)state;
	struct gale_duplex duplex;
	assert_int_equal(gale_duplex_init(&duplex, 8, NULL), 0);
	struct task writer, reader;
	task_init(&writer, 1);
	task_init(&reader, 2);
	size_t n = 99;
	assert_int_equal(write_once(&duplex, 0, &writer, "abcde", 5, &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(write_once(&duplex, 0, &writer, "fghij", 5, &n), 0);
	assert_int_equal(n, 3); /* Only 3 bytes of space were left. */
	assert_int_equal(gale_duplex_end_buffered_len(&duplex, 0), 8);
	assert_int_equal(write_once(&duplex, 0, &writer, "ij", 2, &n), GALE_PENDING);
	assert_int_equal(n, 0);
	assert_int_equal(writer.log.wakes_total, 0);

	char out[8];
	assert_int_equal(read_once(&duplex, 1, &reader, out, 4, &n), 0);
	assert_int_equal(n, 4);
	assert_memory_equal(out, "abcd", 4);
	assert_int_equal(writer.log.wake_counts[1], 1); /* The stored writer waker fired. */
	assert_int_equal(writer.log.wakes_total, 1);
	assert_int_equal(reader.log.wakes_total, 0);

	assert_int_equal(write_once(&duplex, 0, &writer, "ijklm", 5, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(read_once(&duplex, 1, &reader, out, 8, &n), 0);
	assert_int_equal(n, 8);
	assert_memory_equal(out, "efghijkl", 8);
	/* A read that frees space with no writer waiting wakes nobody. */
	assert_int_equal(writer.log.wakes_total, 1);
	gale_duplex_deinit(&duplex);
}

static void reader_pending_when_empty_and_woken_once(void **state)
{
	(void)state;
	struct gale_duplex duplex;
	assert_int_equal(gale_duplex_init(&duplex, 16, NULL), 0);
	struct task writer, reader;
	task_init(&writer, 3);
	task_init(&reader, 4);
	char out[16];
	size_t n = 99;
	assert_int_equal(read_once(&duplex, 1, &reader, out, sizeof(out), &n), GALE_PENDING);
	assert_int_equal(n, 0);
	assert_int_equal(write_once(&duplex, 0, &writer, "x", 1, &n), 0);
	assert_int_equal(reader.log.wake_counts[4], 1);
	/* The slot was cleared by the wake: more bytes wake nobody until the next Pending. */
	assert_int_equal(write_once(&duplex, 0, &writer, "yz", 2, &n), 0);
	assert_int_equal(reader.log.wakes_total, 1);
	assert_int_equal(read_once(&duplex, 1, &reader, out, sizeof(out), &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "xyz", 3);
	/* The reverse direction is independent: end 0 has nothing to read. */
	assert_int_equal(read_once(&duplex, 0, &writer, out, sizeof(out), &n), GALE_PENDING);
	assert_int_equal(writer.log.wakes_total, 0);
	gale_duplex_deinit(&duplex);
}

/* After end `closed` closed: the peer reads the rest then EOF, its writes fail. */
static void check_peer_after_close(struct gale_duplex *duplex, unsigned closed)
{
	unsigned peer = 1 - closed;
	struct task task;
	task_init(&task, 5);
	char out[8];
	size_t n = 99;
	assert_int_equal(read_once(duplex, peer, &task, out, 2, &n), 0);
	assert_int_equal(n, 2);
	assert_memory_equal(out, closed == 0 ? "ab" : "xy", 2);
	assert_int_equal(read_once(duplex, peer, &task, out, sizeof(out), &n), 0);
	assert_int_equal(n, 1);
	assert_memory_equal(out, closed == 0 ? "c" : "z", 1);
	for (int i = 0; i < 2; i++) { /* EOF is sticky. */
		assert_int_equal(read_once(duplex, peer, &task, out, sizeof(out), &n), 0);
		assert_int_equal(n, 0);
	}
	assert_int_equal(write_once(duplex, peer, &task, "q", 1, &n), -EPIPE);
	assert_int_equal(n, 0);
	/* The closed end itself is unusable. */
	assert_int_equal(read_once(duplex, closed, &task, out, sizeof(out), &n), GALE_E_CLOSED);
	assert_int_equal(write_once(duplex, closed, &task, "q", 1, &n), GALE_E_CLOSED);
	assert_int_equal(gale_async_write_poll_flush(gale_duplex_end_writer(duplex, closed),
						     &task.cx),
			 GALE_E_CLOSED);
	assert_int_equal(task.log.wakes_total, 0);
}

static void close_in_either_order(void **state)
{
	(void)state;
	for (unsigned first = 0; first < 2; first++) {
		struct gale_duplex duplex;
		assert_int_equal(gale_duplex_init(&duplex, 8, NULL), 0);
		struct task task;
		task_init(&task, 6);
		size_t n = 0;
		assert_int_equal(write_once(&duplex, 0, &task, "abc", 3, &n), 0);
		assert_int_equal(write_once(&duplex, 1, &task, "xyz", 3, &n), 0);
		gale_duplex_close_end(&duplex, first);
		/* What the closing end had not read is discarded. */
		assert_int_equal(gale_duplex_end_buffered_len(&duplex, 1 - first), 0);
		assert_int_equal(gale_duplex_end_buffered_len(&duplex, first), 3);
		check_peer_after_close(&duplex, first);
		gale_duplex_close_end(&duplex, 1 - first);
		gale_duplex_deinit(&duplex);
	}
}

static void close_wakes_pending_writer_with_epipe(void **state)
{
	(void)state;
	struct gale_duplex duplex;
	assert_int_equal(gale_duplex_init(&duplex, 4, NULL), 0);
	struct task writer;
	task_init(&writer, 7);
	size_t n = 0;
	assert_int_equal(write_once(&duplex, 1, &writer, "abcdef", 6, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(write_once(&duplex, 1, &writer, "ef", 2, &n), GALE_PENDING);
	gale_duplex_close_end(&duplex, 0);
	assert_int_equal(writer.log.wake_counts[7], 1); /* Woken at once by the close. */
	assert_int_equal(write_once(&duplex, 1, &writer, "ef", 2, &n), -EPIPE);
	assert_int_equal(n, 0);
	/* Zero-length writes on a broken pipe fail too (checked before the length). */
	assert_int_equal(write_once(&duplex, 1, &writer, "", 0, &n), -EPIPE);
	gale_duplex_deinit(&duplex);
}

static void close_wakes_pending_reader_with_eof(void **state)
{
	(void)state;
	struct gale_duplex duplex;
	assert_int_equal(gale_duplex_init(&duplex, 8, NULL), 0);
	struct task reader, writer;
	task_init(&reader, 8);
	task_init(&writer, 9);
	char out[8];
	size_t n = 99;
	assert_int_equal(read_once(&duplex, 0, &reader, out, sizeof(out), &n), GALE_PENDING);
	gale_duplex_close_end(&duplex, 1);
	assert_int_equal(reader.log.wake_counts[8], 1);
	assert_int_equal(read_once(&duplex, 0, &reader, out, sizeof(out), &n), 0);
	assert_int_equal(n, 0); /* EOF: nothing was buffered. */
	gale_duplex_deinit(&duplex);

	/* With buffered data the woken reader gets the data first, then EOF. */
	assert_int_equal(gale_duplex_init(&duplex, 8, NULL), 0);
	assert_int_equal(read_once(&duplex, 0, &reader, out, sizeof(out), &n), GALE_PENDING);
	assert_int_equal(write_once(&duplex, 1, &writer, "hello", 5, &n), 0);
	assert_int_equal(reader.log.wake_counts[8], 2);
	gale_duplex_close_end(&duplex, 1);
	/* The slot was emptied by the write's wake: the close has nobody to wake. */
	assert_int_equal(reader.log.wake_counts[8], 2);
	assert_int_equal(read_once(&duplex, 0, &reader, out, sizeof(out), &n), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(out, "hello", 5);
	assert_int_equal(read_once(&duplex, 0, &reader, out, sizeof(out), &n), 0);
	assert_int_equal(n, 0);
	gale_duplex_deinit(&duplex);
}

static void shutdown_half_closes_one_direction(void **state)
{
	(void)state;
	struct gale_duplex duplex;
	assert_int_equal(gale_duplex_init(&duplex, 8, NULL), 0);
	struct task a, b;
	task_init(&a, 10);
	task_init(&b, 11);
	char out[8];
	size_t n = 0;
	assert_int_equal(write_once(&duplex, 0, &a, "abc", 3, &n), 0);
	struct gale_async_write a_writer = gale_duplex_end_writer(&duplex, 0);
	assert_int_equal(gale_async_write_poll_shutdown(a_writer, &a.cx), 0);
	assert_int_equal(gale_async_write_poll_shutdown(a_writer, &a.cx), 0); /* Idempotent. */
	assert_int_equal(write_once(&duplex, 0, &a, "d", 1, &n), -EPIPE);
	/* The peer reads the rest, then EOF. */
	assert_int_equal(read_once(&duplex, 1, &b, out, sizeof(out), &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "abc", 3);
	assert_int_equal(read_once(&duplex, 1, &b, out, sizeof(out), &n), 0);
	assert_int_equal(n, 0);
	/* The other direction keeps working both ways round. */
	assert_int_equal(write_once(&duplex, 1, &b, "xyz", 3, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(read_once(&duplex, 0, &a, out, sizeof(out), &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "xyz", 3);
	assert_int_equal(gale_async_write_poll_flush(a_writer, &a.cx), 0);
	gale_duplex_deinit(&duplex);
}

static void shutdown_wakes_pending_peer_reader(void **state)
{
	(void)state;
	struct gale_duplex duplex;
	assert_int_equal(gale_duplex_init(&duplex, 8, NULL), 0);
	struct task a, b;
	task_init(&a, 12);
	task_init(&b, 13);
	char out[4];
	size_t n = 99;
	assert_int_equal(read_once(&duplex, 1, &b, out, sizeof(out), &n), GALE_PENDING);
	assert_int_equal(gale_async_write_poll_shutdown(gale_duplex_end_writer(&duplex, 0),
							&a.cx),
			 0);
	assert_int_equal(b.log.wake_counts[13], 1);
	assert_int_equal(read_once(&duplex, 1, &b, out, sizeof(out), &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(a.log.wakes_total, 0);
	gale_duplex_deinit(&duplex);
}

static void zero_size_is_einval(void **state)
{
	(void)state;
	struct gale_duplex duplex;
	memset(&duplex, 0x5A, sizeof(duplex));
	assert_int_equal(gale_duplex_init(&duplex, 0, NULL), -EINVAL);
	gale_duplex_deinit(&duplex); /* Zeroed by the failed init: a no-op. */
	assert_int_equal(gale_duplex_init(&duplex, SIZE_MAX, NULL), -ENOMEM);
	gale_duplex_deinit(&duplex);
}

static void zero_length_operations_complete_at_once(void **state)
{
	(void)state;
	struct gale_duplex duplex;
	assert_int_equal(gale_duplex_init(&duplex, 2, NULL), 0);
	struct task task;
	task_init(&task, 14);
	size_t n = 99;
	char out[1];
	/* Empty pipe: a zero-length read is ready, not Pending, and is not EOF either. */
	assert_int_equal(read_once(&duplex, 1, &task, out, 0, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(write_once(&duplex, 0, &task, "ab", 2, &n), 0);
	assert_int_equal(n, 2);
	/* Full pipe: a zero-length write is ready with 0, not Pending. */
	assert_int_equal(write_once(&duplex, 0, &task, NULL, 0, &n), 0);
	assert_int_equal(n, 0);
	/* Nothing was stored: a read that frees space wakes nobody. */
	assert_int_equal(read_once(&duplex, 1, &task, out, 1, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(task.log.wakes_total, 0);
	gale_duplex_deinit(&duplex);
}

/* A deterministic LCG for the reference-model test (no global state). */
static uint32_t lcg_next(uint32_t *lcg)
{
	*lcg = *lcg * 1664525u + 1013904223u;
	return *lcg >> 8;
}

static void ring_matches_reference_model(void **state)
{
	(void)state;
	enum { CAP = 13, TOTAL = 20000 };
	struct gale_duplex duplex;
	assert_int_equal(gale_duplex_init(&duplex, CAP, NULL), 0);
	struct task task;
	task_init(&task, 15);
	uint8_t src[32], out[32];
	uint32_t lcg = 12345;
	uint64_t written = 0, read_total = 0;
	while (read_total < TOTAL) {
		size_t len = lcg_next(&lcg) % 20;
		for (size_t i = 0; i < len; i++)
			src[i] = (uint8_t)(written + i);
		size_t n = 0;
		int rc = gale_async_write_poll(gale_duplex_end_writer(&duplex, 0), &task.cx, src,
					       len, &n);
		size_t space = CAP - gale_duplex_end_buffered_len(&duplex, 0);
		assert_true(rc == 0 || (rc == GALE_PENDING && space == 0 && len > 0));
		written += n;
		rc = read_once(&duplex, 1, &task, out, lcg_next(&lcg) % 20, &n);
		assert_true(rc == 0 || rc == GALE_PENDING);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(out[i], (uint8_t)(read_total + i));
		read_total += n;
		assert_int_equal(written - read_total, gale_duplex_end_buffered_len(&duplex, 0));
	}
	gale_duplex_deinit(&duplex);
}

static void vectored_write_fills_across_iovecs(void **state)
{
	(void)state;
	struct gale_duplex duplex;
	assert_int_equal(gale_duplex_init(&duplex, 6, NULL), 0);
	struct task task;
	task_init(&task, 0);
	struct gale_async_write writer = gale_duplex_end_writer(&duplex, 0);
	assert_true(gale_async_write_is_vectored(writer));
	struct iovec iov[3] = {
		{.iov_base = "ab", .iov_len = 2},
		{.iov_base = NULL, .iov_len = 0},
		{.iov_base = "cdefg", .iov_len = 5},
	};
	size_t n = 0;
	assert_int_equal(gale_async_write_poll_vectored(writer, &task.cx, iov, 3, &n), 0);
	assert_int_equal(n, 6);
	assert_int_equal(gale_async_write_poll_vectored(writer, &task.cx, iov, 3, &n),
			 GALE_PENDING);
	char out[8];
	assert_int_equal(read_once(&duplex, 1, &task, out, sizeof(out), &n), 0);
	assert_int_equal(n, 6);
	assert_memory_equal(out, "abcdef", 6);
	assert_int_equal(task.log.wake_counts[0], 1);
	assert_int_equal(gale_async_write_poll_vectored(writer, &task.cx, iov, 0, &n), 0);
	assert_int_equal(n, 0);
	gale_duplex_deinit(&duplex);
}

static void allocation_once_and_failure(void **state)
{
	(void)state;
	struct gale_test_allocator allocator;
	gale_test_allocator_init(&allocator);
	allocator.fail_at = 1;
	struct gale_duplex duplex;
	assert_int_equal(gale_duplex_init(&duplex, 32, &allocator.base), -ENOMEM);
	assert_int_equal(allocator.live_count, 0);
	gale_duplex_deinit(&duplex);

	gale_test_allocator_init(&allocator);
	assert_int_equal(gale_duplex_init(&duplex, 32, &allocator.base), 0);
	assert_int_equal(allocator.alloc_count, 1);
	assert_int_equal(allocator.live_bytes, 64); /* Both directions, one allocation. */
	struct task task;
	task_init(&task, 1);
	size_t n = 0;
	char out[32];
	for (int i = 0; i < 100; i++) {
		assert_int_equal(write_once(&duplex, 0, &task, "0123456789", 10, &n), 0);
		assert_int_equal(read_once(&duplex, 1, &task, out, sizeof(out), &n), 0);
		assert_int_equal(n, 10);
	}
	assert_int_equal(allocator.calls_count, 1); /* Polling never allocated. */
	gale_duplex_close_end(&duplex, 0);
	gale_duplex_deinit(&duplex);
	assert_int_equal(allocator.live_count, 0);
	assert_int_equal(allocator.live_bytes, 0);
}

/* An observer that counts its on_deinit calls. */
static void observer_on_bytes(void *data, unsigned end, const void *bytes, size_t len)
{
	(void)data;
	(void)end;
	(void)bytes;
	(void)len;
}

static void observer_on_deinit(void *data)
{
	(*(int *)data)++;
}

/* Issue 13: deinit poisoned the duplex (debug builds) after clearing priv_memory, so a
 * second deinit read poison as "still initialised" and called the poisoned observer
 * pointer (SEGV). Every other deinit is idempotent; this one must be too. */
static void deinit_twice_is_a_noop(void **state)
{
	(void)state;
	struct gale_test_allocator allocator;
	gale_test_allocator_init(&allocator);
	struct gale_duplex duplex;
	assert_int_equal(gale_duplex_init(&duplex, 32, &allocator.base), 0);
	int deinits = 0;
	const struct gale_stream_observer observer = {.on_write = observer_on_bytes,
						      .on_read = observer_on_bytes,
						      .on_deinit = observer_on_deinit,
						      .data = &deinits};
	gale_duplex_observer_set(&duplex, &observer);
	gale_duplex_deinit(&duplex);
	gale_duplex_deinit(&duplex);
	assert_int_equal(deinits, 1);
	assert_int_equal(allocator.live_count, 0);
	/* Without an observer too (the poisoned pointer was the observer's either way). */
	assert_int_equal(gale_duplex_init(&duplex, 32, &allocator.base), 0);
	gale_duplex_deinit(&duplex);
	gale_duplex_deinit(&duplex);
	assert_int_equal(allocator.live_count, 0);
}

static int write_all_task(void *data, struct gale_cx *cx)
{
	return gale_write_all_poll(data, cx);
}

static int read_exact_task(void *data, struct gale_cx *cx)
{
	return gale_read_exact_poll(data, cx);
}

/* Two executor tasks move 1 MiB through a 61-byte ring: only wakes make them progress. */
static void tasks_on_the_executor_move_a_mebibyte(void **state)
{
	(void)state;
	enum { TOTAL = 1 << 20, CAP = 61 };
	uint8_t *source = test_malloc(TOTAL);
	uint8_t *sink = test_calloc(1, TOTAL);
	for (size_t i = 0; i < TOTAL; i++)
		source[i] = (uint8_t)(i * 131 + (i >> 11));
	struct gale_duplex duplex;
	assert_int_equal(gale_duplex_init(&duplex, CAP, NULL), 0);
	struct gale_executor executor;
	assert_int_equal(gale_executor_init(&executor, NULL), 0);
	struct gale_write_all writing;
	gale_write_all_init(&writing, gale_duplex_end_writer(&duplex, 0), source, TOTAL);
	struct gale_read_exact reading;
	gale_read_exact_init(&reading, gale_duplex_end_reader(&duplex, 1), sink, TOTAL);
	struct gale_task_handle writer, reader;
	assert_int_equal(gale_executor_spawn(&executor, write_all_task, &writing, &writer), 0);
	assert_int_equal(gale_executor_spawn(&executor, read_exact_task, &reading, &reader), 0);
	uint32_t polls = gale_executor_run_ready(&executor, 0);
	/* Each round trip moves at most CAP bytes, so the tasks alternated thousands of times. */
	assert_true(polls >= 2 * (TOTAL / CAP));
	int result = 1;
	assert_int_equal(gale_executor_try_join(&executor, writer, &result), 0);
	assert_int_equal(result, 0);
	assert_int_equal(gale_executor_try_join(&executor, reader, &result), 0);
	assert_int_equal(result, 0);
	assert_memory_equal(sink, source, TOTAL);
	assert_int_equal(gale_executor_deinit(&executor), 0);
	gale_duplex_deinit(&duplex);
	test_free(source);
	test_free(sink);
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ping_pong),
		cmocka_unit_test(partial_writes_at_capacity),
		cmocka_unit_test(reader_pending_when_empty_and_woken_once),
		cmocka_unit_test(close_in_either_order),
		cmocka_unit_test(close_wakes_pending_writer_with_epipe),
		cmocka_unit_test(close_wakes_pending_reader_with_eof),
		cmocka_unit_test(shutdown_half_closes_one_direction),
		cmocka_unit_test(shutdown_wakes_pending_peer_reader),
		cmocka_unit_test(zero_size_is_einval),
		cmocka_unit_test(zero_length_operations_complete_at_once),
		cmocka_unit_test(ring_matches_reference_model),
		cmocka_unit_test(vectored_write_fills_across_iovecs),
		cmocka_unit_test(allocation_once_and_failure),
		cmocka_unit_test(deinit_twice_is_a_noop),
		cmocka_unit_test(tasks_on_the_executor_move_a_mebibyte),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
