/* SPDX-License-Identifier: MIT */
/*
 * Scenario duplex_pump: both directions of an in-memory duplex pipe with a small ring
 * (1..512 bytes per seed) carry a seeded pattern. Per direction a writer task sends it
 * with write_all in chunks of random size (up to twice the ring, so writes are partial
 * and pend on a full ring), then shuts its side down; a reader task takes it with
 * read_exact in chunks of other random sizes, checks every byte, and then expects end
 * of stream. Each end is closed by the last of its two tasks; teardown frees the pipe.
 *
 * What varies per seed: the ring size, both lengths, every chunk size and the task
 * interleaving (the simulator's scheduler). The duplex makes no driver calls, so the
 * driver's faults do not apply (the ring is allocated in setup, where ALLOC_FAIL is off).
 * The read_exact / write_all contracts are checked after every completion (oracle
 * CONTRACT): exact counts, and UnexpectedEof only once the writer really shut down.
 * The pipe is observed by the runner (STREAM oracle), with each end's full pattern
 * declared up front, so a duplicated or skipped chunk fails at the write that made it.
 * Reproduce: gale replay --scenario duplex_pump --seed N --verbose.
 */
#include <assert.h>

#include <gale/duplex.h>
#include <gale/read_exact.h>
#include <gale/write_all.h>

#include "scenarios.h"

#define PUMP_RING_MAX 512
#define PUMP_CHUNK_MAX (2 * PUMP_RING_MAX + 1)
#define PUMP_LEN_MAX (64 * 1024)
/* pump_read_step's "end of stream, as expected" (GALE_PENDING is 1, so not that). */
#define PUMP_STEP_EOF 2

struct pump_state;

/* One direction: end `from` writes, end 1 - from reads. */
struct pump_direction {
	struct pump_state *state;        /* Borrowed. */
	unsigned from;                   /* The writing end. */
	uint64_t pattern_seed;           /* Byte i is pattern byte i of this seed. */
	uint64_t total_len;              /* Bytes to move. */
	uint64_t written;                /* Bytes write_all completed. */
	uint64_t read;                   /* Bytes read_exact completed and verified. */
	bool is_writing;                 /* write holds a chunk. */
	bool is_shut_down;               /* The writer's shutdown completed. */
	bool has_writer_failed;          /* The writer stopped on an error (TASK reports it). */
	bool is_reading;                 /* read holds a chunk. */
	bool has_eof;                    /* The reader saw end of stream after every byte. */
	struct gale_write_all write;     /* The writer's chunk. */
	struct gale_write_shutdown shutdown; /* Its final shutdown. */
	struct gale_read_exact read_exact; /* The reader's chunk. */
	uint8_t out[PUMP_CHUNK_MAX];     /* The chunk being written. */
	uint8_t in[PUMP_CHUNK_MAX];      /* The chunk being read. */
};

struct pump_state {
	struct gale_scenario_run *run;       /* Borrowed. */
	struct gale_duplex duplex;           /* The pipe. */
	bool is_open;                        /* duplex was initialised. */
	size_t ring_len;                     /* Its ring size. */
	uint32_t end_tasks_done[2];          /* Tasks of each end that finished. */
	struct pump_direction directions[2]; /* [e]: written by end e. */
	uint8_t expected[PUMP_LEN_MAX];      /* Scratch: what one end must write, in full. */
};

/* A task of `end` finished: the second one closes the end. */
static void pump_end_release(struct pump_state *state, unsigned end)
{
	assert(end < 2);
	assert(state->end_tasks_done[end] < 2);
	state->end_tasks_done[end]++;
	if (state->end_tasks_done[end] == 2)
		gale_duplex_close_end(&state->duplex, end);
}

/* Drawn as the shortfall from the largest chunk, so that a draw's minimum (a fuzz input
 * run out, a shrunk world) writes everything left in the fewest chunks, not byte by byte. */
static size_t pump_chunk_len(struct pump_direction *direction, uint64_t done)
{
	uint64_t left = direction->total_len - done;
	uint64_t max = direction->state->ring_len * 2 + 1;
	assert(left > 0);
	assert(max <= PUMP_CHUNK_MAX);
	uint64_t largest = left < max ? left : max;
	return (size_t)(largest - gale_scenario_draw(direction->state->run, 0, largest - 1));
}

static int pump_write_step(struct pump_direction *direction, struct gale_cx *cx)
{
	struct pump_state *state = direction->state;
	if (!direction->is_writing) {
		size_t len = pump_chunk_len(direction, direction->written);
		gale_scenario_pattern_fill(direction->pattern_seed, direction->written,
					   direction->out, len);
		gale_write_all_init(&direction->write,
				    gale_duplex_end_writer(&state->duplex, direction->from),
				    direction->out, len);
		direction->is_writing = true;
	}
	int rc = gale_write_all_poll(&direction->write, cx);
	if (rc == GALE_PENDING)
		return rc;
	direction->is_writing = false;
	if (rc == 0 && direction->write.len_written != direction->write.len)
		gale_scenario_fail(state->run, GALE_ORACLE_CONTRACT,
				   "duplex_pump: write_all completed with %zu of %zu bytes",
				   direction->write.len_written, direction->write.len);
	direction->written += direction->write.len_written;
	return rc;
}

static int pump_writer_poll(void *data, struct gale_cx *cx)
{
	struct pump_direction *direction = data;
	struct pump_state *state = direction->state;
	assert(direction->written <= direction->total_len);
	while (direction->written < direction->total_len) {
		int rc = pump_write_step(direction, cx);
		if (rc == GALE_PENDING)
			return rc;
		if (rc != 0) {
			direction->has_writer_failed = true;
			pump_end_release(state, direction->from);
			return rc;
		}
	}
	gale_write_shutdown_init(&direction->shutdown,
				 gale_duplex_end_writer(&state->duplex, direction->from));
	int rc = gale_write_shutdown_poll(&direction->shutdown, cx);
	if (rc == GALE_PENDING)
		return rc; /* Never for a duplex; the next poll restarts the shutdown. */
	direction->is_shut_down = rc == 0;
	pump_end_release(state, direction->from);
	return rc;
}

/* Verifies a completed chunk. */
static void pump_read_verify(struct pump_direction *direction)
{
	struct gale_scenario_run *run = direction->state->run;
	size_t len = direction->read_exact.len;
	if (direction->read_exact.len_filled != len)
		gale_scenario_fail(run, GALE_ORACLE_CONTRACT,
				   "duplex_pump: read_exact completed with %zu of %zu bytes",
				   direction->read_exact.len_filled, len);
	size_t bad = gale_scenario_pattern_mismatch(direction->pattern_seed, direction->read,
						    direction->in,
					  len);
	if (bad != len)
		gale_scenario_fail(run, GALE_ORACLE_CHECK,
				   "duplex_pump: end %u read byte %llu wrong", 1 - direction->from,
				   (unsigned long long)(direction->read + bad));
	direction->read += len;
}

/* One read_exact: a chunk of the pattern, or, once everything arrived, one byte that must
 * meet end of stream. 0 to go on, GALE_PENDING, PUMP_STEP_EOF, or an error. */
static int pump_read_step(struct pump_direction *direction, struct gale_cx *cx)
{
	struct pump_state *state = direction->state;
	bool at_end = direction->read == direction->total_len;
	if (!direction->is_reading) {
		size_t len = at_end ? 1 : pump_chunk_len(direction, direction->read);
		gale_read_exact_init(&direction->read_exact,
				     gale_duplex_end_reader(&state->duplex, 1 - direction->from),
				     direction->in, len);
		direction->is_reading = true;
	}
	int rc = gale_read_exact_poll(&direction->read_exact, cx);
	if (rc == GALE_PENDING)
		return rc;
	direction->is_reading = false;
	bool eof_is_legal = at_end && direction->read_exact.len_filled == 0 &&
			    direction->is_shut_down;
	if (rc == GALE_E_UNEXPECTED_EOF && !eof_is_legal && !direction->has_writer_failed) {
		gale_scenario_fail(state->run, GALE_ORACLE_CONTRACT,
				   "duplex_pump: UnexpectedEof at byte %llu of %llu (writer %s)",
				   (unsigned long long)direction->read,
				   (unsigned long long)direction->total_len,
				   direction->is_shut_down ? "shut down" : "still open");
		return rc;
	}
	if (rc == GALE_E_UNEXPECTED_EOF)
		return PUMP_STEP_EOF;
	if (rc == 0 && at_end) {
		gale_scenario_fail(state->run, GALE_ORACLE_CHECK,
				   "duplex_pump: end %u read past the %llu bytes written",
				   1 - direction->from, (unsigned long long)direction->total_len);
		return GALE_E_LIMIT;
	}
	if (rc == 0)
		pump_read_verify(direction);
	return rc;
}

static int pump_reader_poll(void *data, struct gale_cx *cx)
{
	struct pump_direction *direction = data;
	assert(direction->read <= direction->total_len);
	assert(direction->state != NULL);
	for (;;) {
		int rc = pump_read_step(direction, cx);
		if (rc == GALE_PENDING)
			return rc;
		if (rc == 0)
			continue;
		direction->has_eof = rc == PUMP_STEP_EOF;
		pump_end_release(direction->state, 1 - direction->from);
		return direction->has_eof ? 0 : rc;
	}
}

static int pump_setup(struct gale_scenario_run *run, void *data)
{
	struct pump_state *state = data;
	state->run = run;
	state->ring_len = (size_t)gale_scenario_draw(run, 1, PUMP_RING_MAX);
	uint64_t len_max = state->ring_len * 256;
	len_max = len_max < PUMP_LEN_MAX ? len_max : PUMP_LEN_MAX;
	/* No ALLOC_FAIL during setup: this allocation fails only for real. */
	int rc = gale_duplex_init(&state->duplex, state->ring_len, &run->allocator.base);
	if (rc != 0)
		return rc;
	state->is_open = true;
	for (unsigned from = 0; from < 2; from++) {
		struct pump_direction *direction = &state->directions[from];
		direction->state = state;
		direction->from = from;
		direction->pattern_seed = run->seed ^ (0xD0D0ull << from);
		direction->total_len = gale_scenario_draw(run, 1, len_max);
		/* The STREAM oracle then checks every byte each end writes and reads. */
		gale_scenario_pattern_fill(direction->pattern_seed, 0, state->expected,
				 (size_t)direction->total_len);
		rc = gale_scenario_stream_expect_duplex(run, &state->duplex, from, state->expected,
							(size_t)direction->total_len);
		if (rc != 0)
			return rc;
	}
	/* Spawn order is part of the seed's story: alternate writers and readers. */
	for (unsigned from = 0; from < 2 && rc == 0; from++) {
		struct pump_direction *direction = &state->directions[from];
		rc = gale_scenario_spawn_retry(run, "pump-writer", pump_writer_poll, direction,
					       false, NULL);
		if (rc == 0)
			rc = gale_scenario_spawn_retry(run, "pump-reader", pump_reader_poll,
						       direction, false,
				       NULL);
	}
	return rc;
}

static int pump_check(struct gale_scenario_run *run, void *data)
{
	struct pump_state *state = data;
	assert(state->run == run);
	for (unsigned from = 0; from < 2; from++) {
		const struct pump_direction *direction = &state->directions[from];
		if (direction->written != direction->total_len || !direction->is_shut_down ||
		    direction->read != direction->total_len || !direction->has_eof)
			gale_scenario_fail(run, GALE_ORACLE_CHECK,
					   "duplex_pump: end %u -> %u: wrote %llu, read %llu of "
					   "%llu (shut down %d, end of stream %d)",
					   from, 1 - from, (unsigned long long)direction->written,
					   (unsigned long long)direction->read,
					   (unsigned long long)direction->total_len,
					   direction->is_shut_down, direction->has_eof);
	}
	return 0;
}

static void pump_teardown(struct gale_scenario_run *run, void *data)
{
	struct pump_state *state = data;
	(void)run;
	/* The pipe's memory comes from the run's allocator: free it so LEAK sees real leaks. */
	if (state->is_open)
		gale_duplex_deinit(&state->duplex);
	state->is_open = false;
}

const struct gale_scenario scn_duplex_pump = {
	.name = "duplex_pump",
	.description = "duplex pipe, both ways: write_all / read_exact in random chunk sizes",
	.state_size = sizeof(struct pump_state),
	.setup = pump_setup,
	.check = pump_check,
	.teardown = pump_teardown,
};
