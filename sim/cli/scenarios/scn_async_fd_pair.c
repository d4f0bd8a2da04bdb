/* SPDX-License-Identifier: MIT */
/*
 * Scenario async_fd_pair: an AsyncFd producer and consumer over a simulated socketpair.
 *
 * The producer writes a seeded byte pattern in chunks through write-readiness guards and
 * try_io, keeping a cursor across partial writes; the consumer reads through read
 * guards and try_io until it has every byte, checking each one. Faults exercised:
 * WouldBlock while ready, short reads, partial writes, spurious and delayed readiness.
 * The guard protocol is the point: readiness is cleared only by try_io seeing -EAGAIN.
 */
#include <errno.h>
#include <string.h>

#include <gale/async_fd.h>
#include <gale/driver.h>
#include <gale/entropy.h>
#include <gale/error.h>

#include "../catalog.h"
#include "scenarios.h"

struct pair_side {
	struct gale_async_fd async_fd; /* One end of the pair. */
	uint64_t offset;               /* Bytes moved so far (the cursor). */
	uint8_t buf[4096];             /* The chunk being moved. */
	size_t chunk_len;              /* Bytes of buf to move this attempt. */
};

struct pair_state {
	struct gale_scenario_run *run; /* Borrowed. */
	struct pair_side producer;     /* Writes. */
	struct pair_side consumer;     /* Reads and checks. */
	uint64_t total_len;            /* Bytes to move. */
	uint64_t pattern_seed;         /* Byte i is gale_scenario_pattern_byte(pattern_seed, i). */
};

static ssize_t pair_write_cb(void *data, struct gale_driver *driver, int fd)
{
	struct pair_side *side = data;
	return gale_driver_write(driver, fd, side->buf, side->chunk_len);
}

static ssize_t pair_read_cb(void *data, struct gale_driver *driver, int fd)
{
	struct pair_side *side = data;
	return gale_driver_read(driver, fd, side->buf, side->chunk_len);
}

static int producer_poll(void *data, struct gale_cx *cx)
{
	struct pair_state *state = data;
	struct pair_side *side = &state->producer;
	while (side->offset < state->total_len) {
		struct gale_async_fd_guard guard;
		int rc = gale_async_fd_poll_write_ready(&side->async_fd, cx, &guard);
		if (rc != 0)
			return rc;
		uint64_t left = state->total_len - side->offset;
		side->chunk_len = left < sizeof(side->buf) ? (size_t)left : sizeof(side->buf);
		for (size_t i = 0; i < side->chunk_len; i++)
			side->buf[i] = gale_scenario_pattern_byte(state->pattern_seed,
								  side->offset + i);
		ssize_t n = gale_async_fd_guard_try_io(&guard, pair_write_cb, side);
		if (n == -EAGAIN)
			continue;
		if (n < 0)
			return (int)n;
		side->offset += (uint64_t)n; /* Partial writes are normal: the cursor remembers. */
	}
	return gale_async_fd_close(&side->async_fd);
}

static int consumer_poll(void *data, struct gale_cx *cx)
{
	struct pair_state *state = data;
	struct pair_side *side = &state->consumer;
	for (;;) {
		struct gale_async_fd_guard guard;
		int rc = gale_async_fd_poll_read_ready(&side->async_fd, cx, &guard);
		if (rc != 0)
			return rc;
		side->chunk_len = sizeof(side->buf);
		ssize_t n = gale_async_fd_guard_try_io(&guard, pair_read_cb, side);
		if (n == -EAGAIN)
			continue;
		if (n < 0)
			return (int)n;
		if (n == 0)
			break; /* The producer closed: end of stream. */
		for (ssize_t i = 0; i < n; i++) {
			uint64_t at = side->offset + (uint64_t)i;
			if (side->buf[i] != gale_scenario_pattern_byte(state->pattern_seed, at)) {
				gale_scenario_fail(state->run, GALE_ORACLE_CHECK,
						   "async_fd_pair: byte %llu differs",
						   (unsigned long long)at);
				break;
			}
		}
		side->offset += (uint64_t)n;
	}
	return gale_async_fd_close(&side->async_fd);
}

static int pair_setup(struct gale_scenario_run *run, void *data)
{
	struct pair_state *state = data;
	struct gale_entropy *entropy = &run->entropy;
	state->run = run;
	state->total_len = gale_entropy_range(entropy, 1, 256 * 1024);
	state->pattern_seed = gale_entropy_u64(entropy);
	int fds[2];
	int rc = gale_driver_socketpair(gale_runtime_driver(&run->runtime), fds);
	if (rc != 0)
		return rc;
	rc = gale_async_fd_init(&state->producer.async_fd, &run->runtime, fds[0]);
	if (rc == 0)
		rc = gale_async_fd_init(&state->consumer.async_fd, &run->runtime, fds[1]);
	if (rc != 0)
		return rc;
	rc = gale_scenario_spawn(run, "producer", producer_poll, state, false, NULL);
	if (rc == 0)
		rc = gale_scenario_spawn(run, "consumer", consumer_poll, state, false, NULL);
	return rc;
}

static int pair_check(struct gale_scenario_run *run, void *data)
{
	struct pair_state *state = data;
	if (state->consumer.offset != state->total_len)
		gale_scenario_fail(run, GALE_ORACLE_CHECK,
				   "async_fd_pair: consumer got %llu of %llu bytes",
				   (unsigned long long)state->consumer.offset,
				   (unsigned long long)state->total_len);
	return 0;
}

static void pair_teardown(struct gale_scenario_run *run, void *data)
{
	struct pair_state *state = data;
	(void)run;
	/* After a failure the tasks may not have closed their ends; close what is open. */
	if (gale_async_fd_fd(&state->producer.async_fd) >= 0)
		gale_async_fd_close(&state->producer.async_fd);
	if (gale_async_fd_fd(&state->consumer.async_fd) >= 0)
		gale_async_fd_close(&state->consumer.async_fd);
}

const struct gale_scenario scn_async_fd_pair = {
	.name = "async_fd_pair",
	.description = "AsyncFd producer/consumer over a socketpair using ready guards",
	.state_size = sizeof(struct pair_state),
	.setup = pair_setup,
	.check = pair_check,
	.teardown = pair_teardown,
};
