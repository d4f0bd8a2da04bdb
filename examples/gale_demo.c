/* SPDX-License-Identifier: MIT */
/*
 * gale_demo: two tasks talk over a socketpair on the native driver (epoll on Linux).
 *
 * The producer writes numbered messages, pausing on a timer between bursts; the consumer
 * waits for readiness, reads until -EAGAIN and clears readiness only then (the
 * edge-triggered rule). At the end the demo checks that every byte arrived in order and
 * prints what the runtime did. It uses the public API only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <gale/driver_native.h>
#include <gale/error.h>
#include <gale/reactor.h>
#include <gale/rt.h>
#include <gale/time.h>

#define DEMO_MESSAGES 2000
#define DEMO_BURST 100
#define DEMO_PAUSE_NS (1000 * 1000) /* 1 ms between bursts. */

struct demo_producer {
	struct gale_runtime *runtime; /* Borrowed. */
	int fd;                       /* Write end. */
	uint64_t token;               /* Its registration. */
	uint32_t next;                /* Next message number to write. */
	size_t offset;                /* Bytes of the current message already written. */
	struct gale_sleep pause;      /* Timer between bursts. */
	bool pausing;                 /* pause is in use. */
};

struct demo_consumer {
	struct gale_runtime *runtime; /* Borrowed. */
	int fd;                       /* Read end. */
	uint64_t token;               /* Its registration. */
	uint64_t bytes;               /* Bytes received. */
	uint32_t expected;            /* Next message number expected. */
	char line[32];                /* Partial message being assembled. */
	size_t line_len;              /* Its length. */
	uint32_t reads;               /* Successful read calls. */
	uint32_t would_blocks;        /* -EAGAIN seen (readiness cleared). */
};

static void demo_format(uint32_t number, char out[16])
{
	snprintf(out, 16, "msg %08" PRIu32 "\n", number);
}

/* Writes the current message from its cursor; 0 when complete, GALE_PENDING or error. */
static int producer_write_one(struct demo_producer *producer, struct gale_cx *cx)
{
	char message[16];
	demo_format(producer->next, message);
	size_t len = strlen(message);
	while (producer->offset < len) {
		struct gale_ready_event event;
		int rc = gale_reactor_poll_ready(&producer->runtime->reactor, producer->token,
						 GALE_DIRECTION_WRITE, cx, &event);
		if (rc != 0)
			return rc;
		ssize_t n = gale_driver_write(gale_runtime_driver(producer->runtime), producer->fd,
					      message + producer->offset, len - producer->offset);
		if (n == -EAGAIN) {
			gale_reactor_clear_ready(&producer->runtime->reactor, producer->token,
						 event);
			continue;
		}
		if (n < 0)
			return (int)n;
		producer->offset += (size_t)n; /* A short write keeps readiness: no new edge. */
	}
	producer->offset = 0;
	producer->next++;
	return 0;
}

static int producer_poll(void *data, struct gale_cx *cx)
{
	struct demo_producer *producer = data;
	while (producer->next < DEMO_MESSAGES) {
		if (producer->pausing) {
			int rc = gale_sleep_poll(&producer->pause, cx);
			if (rc != 0)
				return rc;
			gale_sleep_deinit(&producer->pause);
			producer->pausing = false;
		}
		int rc = producer_write_one(producer, cx);
		if (rc != 0)
			return rc;
		if (producer->next % DEMO_BURST == 0) {
			gale_sleep_init(&producer->pause, producer->runtime, DEMO_PAUSE_NS);
			producer->pausing = true;
		}
	}
	return 0;
}

/* Checks each complete line against the expected sequence. */
static int consumer_take(struct demo_consumer *consumer, const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (consumer->line_len >= sizeof(consumer->line))
			return -EPROTO;
		consumer->line[consumer->line_len++] = buf[i];
		if (buf[i] != '\n')
			continue;
		char expected[16];
		demo_format(consumer->expected, expected);
		if (consumer->line_len != strlen(expected) ||
		    memcmp(consumer->line, expected, consumer->line_len) != 0)
			return -EPROTO;
		consumer->expected++;
		consumer->line_len = 0;
	}
	consumer->bytes += len;
	return 0;
}

static int consumer_poll(void *data, struct gale_cx *cx)
{
	struct demo_consumer *consumer = data;
	char buf[4096];
	for (;;) {
		struct gale_ready_event event;
		int rc = gale_reactor_poll_ready(&consumer->runtime->reactor, consumer->token,
						 GALE_DIRECTION_READ, cx, &event);
		if (rc != 0)
			return rc;
		ssize_t n = gale_driver_read(gale_runtime_driver(consumer->runtime), consumer->fd,
					     buf, sizeof(buf));
		if (n == -EAGAIN) {
			consumer->would_blocks++;
			gale_reactor_clear_ready(&consumer->runtime->reactor, consumer->token,
						 event);
			continue;
		}
		if (n <= 0)
			return (int)n; /* 0: the producer closed, we are done. */
		consumer->reads++;
		rc = consumer_take(consumer, buf, (size_t)n);
		if (rc != 0)
			return rc;
	}
}

static int demo_fail(const char *what, int rc)
{
	fprintf(stderr, "gale_demo: %s: %s (%s)\n", what, gale_strerror(rc), gale_error_name(rc));
	return 1;
}

static int demo_run(struct gale_runtime *runtime, int fds[2])
{
	struct demo_producer producer = {.runtime = runtime, .fd = fds[1]};
	struct demo_consumer consumer = {.runtime = runtime, .fd = fds[0]};
	int rc = gale_reactor_register(&runtime->reactor, fds[0], GALE_READY_READ, &consumer.token);
	if (rc == 0)
		rc = gale_reactor_register(&runtime->reactor, fds[1], GALE_READY_WRITE,
					   &producer.token);
	if (rc != 0)
		return demo_fail("register", rc);
	int64_t start_ns = gale_runtime_now_ns(runtime);
	struct gale_task_handle producer_task, consumer_task;
	int producer_rc = -1, consumer_rc = -1;
	gale_executor_spawn(&runtime->executor, consumer_poll, &consumer, &consumer_task);
	gale_executor_spawn(&runtime->executor, producer_poll, &producer, &producer_task);
	rc = gale_runtime_block_on(runtime, producer_task, &producer_rc);
	/* Closing the write end makes the consumer read EOF. */
	gale_reactor_deregister(&runtime->reactor, producer.token);
	gale_driver_close(gale_runtime_driver(runtime), fds[1]);
	if (rc == 0)
		rc = gale_runtime_block_on(runtime, consumer_task, &consumer_rc);
	gale_reactor_deregister(&runtime->reactor, consumer.token);
	gale_driver_close(gale_runtime_driver(runtime), fds[0]);
	if (rc != 0)
		return demo_fail("runtime", rc);
	if (producer_rc != 0 || consumer_rc != 0)
		return demo_fail("task", producer_rc != 0 ? producer_rc : consumer_rc);
	if (consumer.expected != DEMO_MESSAGES)
		return demo_fail("message count", -EPROTO);
	struct gale_executor_stats stats = gale_executor_stats_get(&runtime->executor);
	struct gale_reactor_stats reactor_stats = gale_reactor_stats_get(&runtime->reactor);
	printf("gale_demo: %u messages, %" PRIu64 " bytes in order over a socketpair (driver %s)\n",
	       consumer.expected, consumer.bytes, gale_driver_name(gale_runtime_driver(runtime)));
	printf("  %.1f ms, %u reads, %u would-blocks, %" PRIu64 " task polls, %" PRIu64
	       " wakes, %" PRIu64 " reactor events in %" PRIu64 " turns\n",
	       (double)(gale_runtime_now_ns(runtime) - start_ns) / 1e6, consumer.reads,
	       consumer.would_blocks, stats.polls_count, stats.wakes_count,
	       reactor_stats.events_count, reactor_stats.turns_count);
	return 0;
}

int main(void)
{
	struct gale_driver_native driver;
	int rc = gale_driver_native_init(&driver);
	if (rc != 0)
		return demo_fail("driver init", rc);
	struct gale_runtime runtime;
	rc = gale_runtime_init(&runtime, &driver.base, NULL);
	if (rc != 0) {
		gale_driver_deinit(&driver.base);
		return demo_fail("runtime init", rc);
	}
	int fds[2];
	rc = gale_driver_socketpair(&driver.base, fds);
	int status = rc == 0 ? demo_run(&runtime, fds) : demo_fail("socketpair", rc);
	rc = gale_runtime_deinit(&runtime);
	if (rc != 0)
		status = demo_fail("runtime deinit", rc);
	gale_driver_deinit(&driver.base);
	return status;
}
