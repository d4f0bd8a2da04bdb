/* SPDX-License-Identifier: MIT */
/*
 * Scenario async_fd_pair: an AsyncFd producer and consumer over a simulated socketpair.
 *
 * The producer writes a seeded byte pattern in chunks through write-readiness guards and
 * try_io, keeping a cursor across partial writes; the consumer reads through read
 * guards and try_io until it has every byte, checking each one. Faults exercised:
 * WouldBlock while ready, short reads, partial writes, spurious and delayed readiness.
 * The guard protocol is the point: readiness is cleared only by try_io seeing -EAGAIN.
 *
 * A second socketpair runs the readiness rules under races, in rounds: a pinger writes a
 * message (1..HOLD_MESSAGE_MAX bytes) and waits for a one-byte ack; a holder reads the
 * message through one read guard until a read reports -EAGAIN, sends the ack, and only
 * then, after holding the guard 0..HOLD_TURNS_MAX more turns (drawn per round), clears
 * it. While it holds the guard the pinger takes the ack and writes the next message: a
 * newer edge arrives between the observation and the clear. The reactor's tick rule makes
 * that stale clear a no-op; a reactor that cleared anyway would erase the only edge the
 * next message makes, and both tasks would wait forever (oracle STALL).
 */
#include <errno.h>
#include <string.h>

#include <gale/async_fd.h>
#include <gale/driver.h>
#include <gale/entropy.h>
#include <gale/error.h>
#include <gale/time.h>

#include "../catalog.h"
#include "scenarios.h"

struct pair_side {
	struct gale_async_fd async_fd; /* One end of the pair. */
	uint64_t offset;               /* Bytes moved so far (the cursor). */
	uint8_t buf[4096];             /* The chunk being moved. */
	size_t chunk_len;              /* Bytes of buf to move this attempt. */
};

#define HOLD_ROUNDS_MAX 12
#define HOLD_MESSAGE_MAX 512
#define HOLD_TURNS_MAX 3
#define HOLD_DONE 2 /* A step's "finished" (0: go on; GALE_PENDING is 1). */

enum holder_phase {
	HOLDER_OBSERVE = 0, /* Waiting for read readiness (a new guard). */
	HOLDER_READ,        /* Reading the message through the guard, then until -EAGAIN. */
	HOLDER_ACK,         /* -EAGAIN seen, guard held: sending the ack. */
	HOLDER_HOLD,        /* Ack sent, guard still held for holds[round] turns. */
	HOLDER_DONE,        /* Every round done, its end closed. */
};

/* The readiness-race pair: pinger (fd A) and holder (fd B), in lockstep rounds. */
struct hold_pair {
	struct gale_async_fd pinger;       /* End A: writes messages, reads acks. */
	struct gale_async_fd holder;       /* End B: reads messages, writes acks. */
	uint32_t rounds;                   /* Messages to exchange. */
	uint16_t lens[HOLD_ROUNDS_MAX];    /* Message lengths. */
	uint8_t holds[HOLD_ROUNDS_MAX];    /* Turns the holder keeps its guard after the ack. */
	/* The pinger. */
	uint32_t ping_round;               /* Current round. */
	uint64_t ping_base;                /* Pattern offset of the current message. */
	size_t ping_off;                   /* Bytes of it written. */
	bool ping_awaits_ack;              /* Message written: reading the ack. */
	uint8_t ping_buf[HOLD_MESSAGE_MAX]; /* The message. */
	/* The holder. */
	enum holder_phase phase;           /* Where it is. */
	uint32_t hold_round;               /* Current round. */
	uint64_t hold_base;                /* Pattern offset of the current message. */
	size_t got;                        /* Bytes of it read. */
	struct gale_async_fd_guard guard;  /* The read guard held across turns. */
	uint8_t holds_left;                /* Turns still to hold it. */
	bool is_sleeping;                  /* sleep is armed. */
	struct gale_sleep sleep;           /* One turn of holding. */
	uint8_t hold_buf[HOLD_MESSAGE_MAX]; /* What the holder read. */
	uint8_t ack;                       /* The ack byte (round number) being moved. */
};

struct pair_state {
	struct gale_scenario_run *run; /* Borrowed. */
	struct pair_side producer;     /* Writes. */
	struct pair_side consumer;     /* Reads and checks. */
	uint64_t total_len;            /* Bytes to move. */
	uint64_t pattern_seed;         /* Byte i is gale_scenario_pattern_byte(pattern_seed, i). */
	struct hold_pair hold;         /* The readiness-race pair. */
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

/* ---- The readiness-race pair ----------------------------------------------------------- */

struct hold_io {
	uint8_t *buf; /* Borrowed. */
	size_t len;   /* Bytes to move. */
};

static ssize_t hold_write_cb(void *data, struct gale_driver *driver, int fd)
{
	struct hold_io *io = data;
	return gale_driver_write(driver, fd, io->buf, io->len);
}

static ssize_t hold_read_cb(void *data, struct gale_driver *driver, int fd)
{
	struct hold_io *io = data;
	return gale_driver_read(driver, fd, io->buf, io->len);
}

/* One step of the pinger: 0 to go on, GALE_PENDING, HOLD_DONE, or an error. */
static int pinger_step(struct pair_state *state, struct gale_cx *cx)
{
	struct hold_pair *hold = &state->hold;
	uint32_t round = hold->ping_round;
	struct gale_async_fd_guard guard;
	if (!hold->ping_awaits_ack) {
		int rc = gale_async_fd_poll_write_ready(&hold->pinger, cx, &guard);
		if (rc != 0)
			return rc;
		size_t len = hold->lens[round];
		gale_scenario_pattern_fill(state->pattern_seed, hold->ping_base, hold->ping_buf,
					   len);
		struct hold_io io = {hold->ping_buf + hold->ping_off, len - hold->ping_off};
		ssize_t n = gale_async_fd_guard_try_io(&guard, hold_write_cb, &io);
		if (n == -EAGAIN)
			return 0;
		if (n < 0)
			return (int)n;
		hold->ping_off += (size_t)n;
		hold->ping_awaits_ack = hold->ping_off == len;
		return 0;
	}
	int rc = gale_async_fd_poll_read_ready(&hold->pinger, cx, &guard);
	if (rc != 0)
		return rc;
	uint8_t ack = 0;
	struct hold_io io = {&ack, 1};
	ssize_t n = gale_async_fd_guard_try_io(&guard, hold_read_cb, &io);
	if (n == -EAGAIN)
		return 0;
	if (n < 0)
		return (int)n;
	if (n == 0 || ack != (uint8_t)round) {
		gale_scenario_fail(state->run, GALE_ORACLE_CHECK,
				   "async_fd_pair: round %u: %s", round,
				   n == 0 ? "the holder closed before its ack" : "a wrong ack");
		return HOLD_DONE;
	}
	hold->ping_base += hold->lens[round];
	hold->ping_off = 0;
	hold->ping_awaits_ack = false;
	hold->ping_round++;
	return hold->ping_round == hold->rounds ? HOLD_DONE : 0;
}

static int pinger_poll(void *data, struct gale_cx *cx)
{
	struct pair_state *state = data;
	for (;;) {
		int rc = pinger_step(state, cx);
		if (rc == HOLD_DONE)
			return gale_async_fd_close(&state->hold.pinger);
		if (rc != 0)
			return rc;
	}
}

/* HOLDER_READ: reads the rest of the message through the held guard, then one read more,
 * which must report -EAGAIN (the pinger waits for the ack). */
static int holder_read(struct pair_state *state)
{
	struct hold_pair *hold = &state->hold;
	size_t len = hold->lens[hold->hold_round];
	size_t want = hold->got < len ? len - hold->got : 1;
	struct gale_driver *driver = gale_runtime_driver(gale_async_fd_runtime(&hold->holder));
	ssize_t n = gale_driver_read(driver, gale_async_fd_fd(&hold->holder), hold->hold_buf,
				     want);
	if (n == -EAGAIN) {
		if (hold->got < len) {
			gale_async_fd_guard_clear_ready(&hold->guard);
			hold->phase = HOLDER_OBSERVE;
		} else {
			hold->ack = (uint8_t)hold->hold_round;
			hold->phase = HOLDER_ACK; /* The guard stays in hand. */
		}
		return 0;
	}
	if (n <= 0 || hold->got == len) {
		gale_async_fd_guard_retain_ready(&hold->guard);
		hold->phase = HOLDER_DONE;
		if (n < 0)
			return (int)n;
		gale_scenario_fail(state->run, GALE_ORACLE_CHECK,
				   "async_fd_pair: round %u: %s", hold->hold_round,
				   n == 0 ? "end of stream in a message" : "bytes before the ack");
		return HOLD_DONE;
	}
	size_t bad = gale_scenario_pattern_mismatch(state->pattern_seed,
						    hold->hold_base + hold->got, hold->hold_buf,
						    (size_t)n);
	if (bad != (size_t)n)
		gale_scenario_fail(state->run, GALE_ORACLE_CHECK,
				   "async_fd_pair: holder byte %llu differs",
				   (unsigned long long)(hold->hold_base + hold->got + bad));
	hold->got += (size_t)n; /* Readiness retained: the same guard reads on. */
	return 0;
}

/* HOLDER_HOLD: keeps the guard one more turn per holds_left, then clears it (stale when
 * the pinger's next message arrived meanwhile). */
static int holder_hold(struct pair_state *state, struct gale_cx *cx)
{
	struct hold_pair *hold = &state->hold;
	while (hold->holds_left > 0) {
		if (!hold->is_sleeping) {
			gale_sleep_init(&hold->sleep, &state->run->runtime, 1);
			hold->is_sleeping = true;
		}
		int rc = gale_sleep_poll(&hold->sleep, cx);
		if (rc != 0)
			return rc;
		gale_sleep_deinit(&hold->sleep);
		hold->is_sleeping = false;
		hold->holds_left--;
	}
	/* Half the rounds clear through clear_ready_matching: the same tick rule. */
	if ((hold->hold_round & 1u) != 0)
		gale_async_fd_guard_clear_ready_matching(&hold->guard, GALE_READY_READ);
	else
		gale_async_fd_guard_clear_ready(&hold->guard);
	hold->hold_base += hold->lens[hold->hold_round];
	hold->got = 0;
	hold->hold_round++;
	hold->phase = hold->hold_round == hold->rounds ? HOLDER_DONE : HOLDER_OBSERVE;
	return hold->phase == HOLDER_DONE ? HOLD_DONE : 0;
}

static int holder_ack(struct hold_pair *hold, struct gale_cx *cx)
{
	struct gale_async_fd_guard guard;
	int rc = gale_async_fd_poll_write_ready(&hold->holder, cx, &guard);
	if (rc != 0)
		return rc; /* The read guard stays held while the ack waits. */
	struct hold_io io = {&hold->ack, 1};
	ssize_t n = gale_async_fd_guard_try_io(&guard, hold_write_cb, &io);
	if (n == -EAGAIN)
		return 0;
	if (n < 0) {
		gale_async_fd_guard_retain_ready(&hold->guard);
		hold->phase = HOLDER_DONE;
		return (int)n;
	}
	if (n == 1) {
		hold->holds_left = hold->holds[hold->hold_round];
		hold->phase = HOLDER_HOLD;
	}
	return 0;
}

static int holder_step(struct pair_state *state, struct gale_cx *cx)
{
	struct hold_pair *hold = &state->hold;
	switch (hold->phase) {
	case HOLDER_OBSERVE: {
		int rc = gale_async_fd_poll_read_ready(&hold->holder, cx, &hold->guard);
		if (rc == 0)
			hold->phase = HOLDER_READ;
		return rc;
	}
	case HOLDER_READ:
		return holder_read(state);
	case HOLDER_ACK:
		return holder_ack(hold, cx);
	case HOLDER_HOLD:
		return holder_hold(state, cx);
	case HOLDER_DONE:
		break;
	}
	return HOLD_DONE;
}

static int holder_poll(void *data, struct gale_cx *cx)
{
	struct pair_state *state = data;
	for (;;) {
		int rc = holder_step(state, cx);
		if (rc == HOLD_DONE)
			return gale_async_fd_close(&state->hold.holder);
		if (rc != 0)
			return rc;
	}
}

static int hold_setup(struct gale_scenario_run *run, struct pair_state *state)
{
	struct hold_pair *hold = &state->hold;
	hold->rounds = (uint32_t)gale_scenario_draw(run, 1, HOLD_ROUNDS_MAX);
	for (uint32_t i = 0; i < hold->rounds; i++) {
		hold->lens[i] = (uint16_t)gale_scenario_draw(run, 1, HOLD_MESSAGE_MAX);
		hold->holds[i] = (uint8_t)gale_scenario_draw(run, 0, HOLD_TURNS_MAX);
	}
	int fds[2];
	int rc = gale_driver_socketpair(gale_scenario_driver(run), fds);
	if (rc != 0)
		return rc;
	rc = gale_async_fd_init(&hold->pinger, &run->runtime, fds[0]);
	if (rc == 0)
		rc = gale_async_fd_init(&hold->holder, &run->runtime, fds[1]);
	if (rc != 0)
		return rc;
	rc = gale_scenario_spawn(run, "pinger", pinger_poll, state, false, NULL);
	if (rc == 0)
		rc = gale_scenario_spawn(run, "holder", holder_poll, state, false, NULL);
	return rc;
}

/* ---- Setup, check, teardown ------------------------------------------------------------ */

static int pair_setup(struct gale_scenario_run *run, void *data)
{
	struct pair_state *state = data;
	struct gale_entropy *entropy = &run->entropy;
	state->run = run;
	state->total_len = gale_scenario_draw(run, 1, 256 * 1024);
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
	if (rc == 0)
		rc = hold_setup(run, state);
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
	if (state->hold.hold_round != state->hold.rounds)
		gale_scenario_fail(run, GALE_ORACLE_CHECK,
				   "async_fd_pair: the holder finished %u of %u rounds",
				   state->hold.hold_round, state->hold.rounds);
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
	if (state->hold.is_sleeping)
		gale_sleep_deinit(&state->hold.sleep);
	/* A run that stopped while the holder held its guard: hand it back first. */
	if (state->hold.phase >= HOLDER_READ && state->hold.phase <= HOLDER_HOLD)
		gale_async_fd_guard_retain_ready(&state->hold.guard);
	if (gale_async_fd_fd(&state->hold.pinger) >= 0)
		gale_async_fd_close(&state->hold.pinger);
	if (gale_async_fd_fd(&state->hold.holder) >= 0)
		gale_async_fd_close(&state->hold.holder);
}

const struct gale_scenario scn_async_fd_pair = {
	.name = "async_fd_pair",
	.description = "AsyncFd producer/consumer, and guards held across turns, over socketpairs",
	.state_size = sizeof(struct pair_state),
	.setup = pair_setup,
	.check = pair_check,
	.teardown = pair_teardown,
};
