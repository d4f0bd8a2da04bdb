/* SPDX-License-Identifier: MIT */
/*
 * fuzz_fault_epoll: the production backend under injected faults. A real AF_UNIX socketpair
 * through the epoll driver wrapped in the fault driver; a writer task runs write_all
 * (plain or vectored) over 1..4 chunks and may shut down, a reader task runs read_exact over
 * 1..4 chunks of the same total and then expects EOF; both run on the runtime.
 *
 * Methodology. Input layout:
 *   8 bytes   fault ratios (fuzz_input_profile): spurious, stale, delayed readiness,
 *             read/write WouldBlock, short reads, partial writes, resets;
 *   1 byte    flags: 1 vectored writes, 2 small socket buffers (4 KiB: many WouldBlocks
 *             from the kernel itself), 4 shut down and expect EOF;
 *   2 bytes   total length (0..32 KiB); then the chunk counts and lengths;
 *   2 x 2     planned failures: "the Nth read/write answers -EAGAIN" (0: none);
 *   the rest  the fault driver's entropy (bytes mode), also used to pick which runnable
 *             task runs next (the scheduling hook).
 * The loop turns the runtime with timeout 0 under a budget: on a socketpair every event is
 * synchronous and the fault driver re-arms what it swallows, so a run that needs to block
 * has lost a wakeup.
 * Invariants (an abort names the one broken):
 *   "bytes"   every byte delivered, in order (a prefix of the stream after a reset);
 *   "result"  a task failed although no reset was injected, or with an error a reset
 *             cannot explain;
 *   "eof"     after the writer's shutdown the reader did not see EOF exactly at the end;
 *   "hang"    no completion within the budget (lost readiness or wakeup);
 *   "stall"   the runtime reported GALE_E_STALL;
 *   "leak"    runtime deinit refused (registrations, tasks or timers left).
 * Replay: fuzz_fault_epoll FILE; GALE_FUZZ_TRACE=1 prints the op log and every injected
 * fault (the fault driver's trace).
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <gale/driver_epoll.h>
#include <gale/entropy.h>
#include <gale/error.h>
#include <gale/read_exact.h>
#include <gale/rt.h>
#include <gale/sim_fault.h>
#include <gale/write_all.h>

#include "fuzz_fd_stream.h"
#include "fuzz_harness.h"
#include "fuzz_input.h"

#define LEN_MAX 32768
#define CHUNKS_MAX 4
#define SMALL_BUF 4096

static const enum gale_fault_kind fault_kinds[] = {
	GALE_FAULT_READY_SPURIOUS,    GALE_FAULT_READY_STALE,      GALE_FAULT_READY_DELAY,
	GALE_FAULT_READ_WOULD_BLOCK,  GALE_FAULT_WRITE_WOULD_BLOCK, GALE_FAULT_READ_SHORT,
	GALE_FAULT_WRITE_PARTIAL,     GALE_FAULT_RESET,
};

struct writer_task {
	struct fuzz_fd_stream *stream;         /* Writes here. */
	const uint8_t *bytes;                  /* The stream's bytes. */
	const size_t *lens;                    /* Chunk lengths. */
	size_t count;                          /* Chunks. */
	size_t index;                          /* The chunk being written. */
	uint64_t offset;                       /* Bytes of finished chunks. */
	bool vectored;                         /* write_all_vectored, 2 iovecs per chunk. */
	bool shutdown;                         /* Shut down after the last chunk. */
	bool started;                          /* The current future was initialised. */
	struct iovec iov[2];                   /* Vectored: the chunk's halves. */
	struct gale_write_all plain;           /* Current future (plain). */
	struct gale_write_all_vectored vector; /* Current future (vectored). */
	struct gale_write_shutdown shut;       /* The final shutdown. */
	uint64_t accepted;                     /* Bytes accepted, set when the task ends. */
};

struct reader_task {
	struct fuzz_fd_stream *stream; /* Reads here. */
	uint8_t *bytes;                /* Where the stream lands. */
	const size_t *lens;            /* Chunk lengths. */
	size_t count;                  /* Chunks. */
	size_t index;                  /* The chunk being read. */
	uint64_t offset;               /* Bytes of finished chunks. */
	bool expect_eof;               /* Read one more byte: it must be EOF. */
	bool started;                  /* The current future was initialised. */
	struct gale_read_exact future; /* Current future. */
	uint8_t eof_byte;              /* Target of the EOF read. */
	uint64_t filled;               /* Bytes delivered, set when the task ends. */
	bool eof_seen;                 /* The EOF read ended with UNEXPECTED_EOF and 0 bytes. */
};

struct run {
	struct gale_driver_epoll epoll;    /* The real driver. */
	struct gale_fault_driver fault;    /* Wrapping it. */
	struct gale_fault_profile profile; /* From the input. */
	struct gale_entropy entropy;       /* The input's tail. */
	struct gale_trace trace;           /* Injected faults (records kept when tracing). */
	struct gale_runtime runtime;       /* Over the fault driver. */
	struct fuzz_fd_stream streams[2];  /* [0] writes, [1] reads. */
	struct writer_task writer;         /* Task data. */
	struct reader_task reader;         /* Task data. */
	size_t len;                        /* Stream length. */
	size_t write_lens[CHUNKS_MAX];     /* Writer chunks. */
	size_t read_lens[CHUNKS_MAX];      /* Reader chunks. */
	uint8_t sent[LEN_MAX];             /* The stream. */
	uint8_t received[LEN_MAX];         /* What arrived. */
	bool log;                          /* GALE_FUZZ_TRACE. */
};

static int writer_chunk_poll(struct writer_task *task, struct gale_cx *cx)
{
	size_t len = task->lens[task->index];
	const uint8_t *at = task->bytes + task->offset;
	struct gale_async_write writer = fuzz_fd_stream_writer(task->stream);
	if (!task->started) {
		task->started = true;
		task->iov[0] = (struct iovec){(void *)at, len / 2};
		task->iov[1] = (struct iovec){(void *)(at + len / 2), len - len / 2};
		if (task->vectored)
			gale_write_all_vectored_init(&task->vector, writer, task->iov, 2);
		else
			gale_write_all_init(&task->plain, writer, at, len);
	}
	int rc = task->vectored ? gale_write_all_vectored_poll(&task->vector, cx)
				: gale_write_all_poll(&task->plain, cx);
	uint64_t written = task->vectored ? task->vector.len_written : task->plain.len_written;
	if (rc != GALE_PENDING)
		task->accepted = task->offset + written;
	return rc;
}

static int writer_poll(void *data, struct gale_cx *cx)
{
	struct writer_task *task = data;
	assert(task != NULL && cx != NULL);
	while (task->index < task->count) {
		int rc = writer_chunk_poll(task, cx);
		if (rc != 0)
			return rc;
		task->offset += task->lens[task->index];
		task->index++;
		task->started = false;
	}
	if (!task->shutdown)
		return 0;
	if (!task->started) {
		task->started = true;
		gale_write_shutdown_init(&task->shut, fuzz_fd_stream_writer(task->stream));
	}
	return gale_write_shutdown_poll(&task->shut, cx);
}

static int reader_poll(void *data, struct gale_cx *cx)
{
	struct reader_task *task = data;
	assert(task != NULL && cx != NULL);
	while (task->index < task->count || (task->expect_eof && task->index == task->count)) {
		bool is_eof = task->index == task->count;
		if (!task->started) {
			task->started = true;
			gale_read_exact_init(&task->future, fuzz_fd_stream_reader(task->stream),
					     is_eof ? &task->eof_byte : task->bytes + task->offset,
					     is_eof ? 1 : task->lens[task->index]);
		}
		int rc = gale_read_exact_poll(&task->future, cx);
		if (rc == GALE_PENDING)
			return rc;
		task->filled = task->offset + (is_eof ? 0 : task->future.len_filled);
		if (is_eof) {
			task->eof_seen = rc == GALE_E_UNEXPECTED_EOF &&
					 task->future.len_filled == 0;
			/* A byte past the end is reported as GALE_E_LIMIT: more than was sent. */
			return task->eof_seen ? 0 : rc == 0 ? GALE_E_LIMIT : rc;
		}
		if (rc != 0)
			return rc;
		task->offset += task->lens[task->index];
		task->index++;
		task->started = false;
	}
	return 0;
}

/* The scheduling hook: which runnable task goes next, drawn from the fault entropy. */
static uint32_t schedule_pick(void *data, uint32_t runnable_count)
{
	struct gale_entropy *entropy = data;
	return (uint32_t)gale_entropy_range(entropy, 0, runnable_count - 1);
}

static size_t chunks_decode(struct fuzz_input *input, size_t len, size_t *lens)
{
	size_t count = (size_t)fuzz_input_range(input, 1, CHUNKS_MAX);
	size_t at = 0;
	for (size_t i = 0; i < count; i++) {
		lens[i] = i + 1 == count ? len - at : (size_t)fuzz_input_range(input, 0, len - at);
		at += lens[i];
	}
	return count;
}

/* Up to two planned failures: "the nth read / write / writev answers -EAGAIN". */
struct plan {
	enum gale_trace_op ops[2]; /* The op of each entry. */
	uint64_t nths[2];          /* Its call number; 0: no entry. */
};

static void plan_decode(struct plan *plan, struct fuzz_input *input)
{
	static const enum gale_trace_op ops[] = {GALE_TRACE_OP_READ, GALE_TRACE_OP_WRITE,
						 GALE_TRACE_OP_WRITEV, GALE_TRACE_OP_READ};
	for (int i = 0; i < 2; i++) {
		plan->ops[i] = ops[fuzz_input_u8(input) & 3u];
		plan->nths[i] = fuzz_input_u8(input);
	}
}

static void plan_apply(struct run *run, const struct plan *plan)
{
	for (int i = 0; i < 2; i++) {
		if (plan->nths[i] == 0)
			continue;
		int rc = gale_fault_driver_plan_add(&run->fault, plan->ops[i], plan->nths[i],
						    -EAGAIN, false);
		FUZZ_CHECK(NULL, rc == 0, "setup", "plan_add -> %s", gale_error_name(rc));
	}
}

/* Drivers, runtime, socketpair, streams. */
static void run_setup(struct run *run, struct fuzz_input *input, uint8_t flags)
{
	int rc = gale_driver_epoll_init(&run->epoll);
	FUZZ_CHECK(NULL, rc == 0, "setup", "epoll init -> %s", gale_error_name(rc));
	struct plan plan;
	plan_decode(&plan, input);
	size_t rest_len;
	const uint8_t *rest = fuzz_input_rest(input, &rest_len);
	gale_entropy_init_bytes(&run->entropy, rest, rest_len);
	gale_trace_init(&run->trace, NULL, fuzz_trace_records_max());
	rc = gale_fault_driver_init(&run->fault, &run->epoll.base, &run->profile, &run->entropy,
				    &run->trace);
	FUZZ_CHECK(NULL, rc == 0, "setup", "fault driver init -> %s", gale_error_name(rc));
	plan_apply(run, &plan);
	struct gale_runtime_options options = gale_runtime_options_default();
	options.registrations_max = 4;
	options.events_cap = 8;
	rc = gale_runtime_init(&run->runtime, &run->fault.base, &options);
	FUZZ_CHECK(NULL, rc == 0, "setup", "runtime init -> %s", gale_error_name(rc));
	gale_executor_schedule_set(&run->runtime.executor, schedule_pick, &run->entropy);
	int fds[2];
	rc = gale_driver_socketpair(&run->fault.base, fds);
	FUZZ_CHECK(NULL, rc == 0, "setup", "socketpair -> %s", gale_error_name(rc));
	if ((flags & 2u) != 0) {
		struct gale_driver *inner = &run->epoll.base;
		(void)gale_driver_sockopt_set(inner, fds[0], GALE_SOCKOPT_SNDBUF, SMALL_BUF);
		(void)gale_driver_sockopt_set(inner, fds[1], GALE_SOCKOPT_RCVBUF, SMALL_BUF);
	}
	for (int i = 0; i < 2; i++) {
		rc = fuzz_fd_stream_init(&run->streams[i], &run->runtime, fds[i]);
		FUZZ_CHECK(NULL, rc == 0, "setup", "AsyncFd init -> %s", gale_error_name(rc));
	}
}

static void run_teardown(struct run *run)
{
	for (int i = 0; i < 2; i++) {
		int rc = fuzz_fd_stream_close(&run->streams[i]);
		FUZZ_CHECK(&run->trace, rc == 0, "leak", "close -> %s", gale_error_name(rc));
	}
	int rc = gale_runtime_deinit(&run->runtime);
	FUZZ_CHECK(&run->trace, rc == 0, "leak", "runtime deinit -> %s", gale_error_name(rc));
	if (run->log)
		fuzz_trace_dump(&run->trace, "fault driver");
	gale_driver_deinit(&run->fault.base);
	gale_driver_epoll_deinit(&run->epoll);
	gale_trace_deinit(&run->trace);
}

/* Turns the runtime (timeout 0) until both tasks finished; aborts on a hang or a stall. */
static void run_loop(struct run *run, struct gale_task_handle tasks[2], size_t input_len)
{
	struct gale_executor *executor = &run->runtime.executor;
	uint64_t budget = 10000 + 16 * (uint64_t)input_len;
	for (uint64_t turn = 0;; turn++) {
		if (gale_executor_is_finished(executor, tasks[0]) &&
		    gale_executor_is_finished(executor, tasks[1]))
			return;
		FUZZ_CHECK(&run->trace, turn < budget, "hang",
			   "no completion after %llu turns: %llu of %zu bytes written, %llu read",
			   (unsigned long long)turn, (unsigned long long)run->writer.accepted,
			   run->len, (unsigned long long)run->reader.offset);
		int rc = gale_runtime_turn(&run->runtime, 0);
		FUZZ_CHECK(&run->trace, rc != GALE_E_STALL, "stall", "runtime stalled at turn %llu",
			   (unsigned long long)turn);
		FUZZ_CHECK(&run->trace, rc == 0, "result", "runtime turn -> %s",
			   gale_error_name(rc));
	}
}

static void outcome_check(struct run *run, int writer_rc, int reader_rc)
{
	const struct gale_trace *trace = &run->trace;
	bool reset = gale_fault_driver_stats_get(&run->fault).injected[GALE_FAULT_RESET] > 0;
	fuzz_log(run->log, "writer -> %s (%llu accepted), reader -> %s (%llu filled), reset %d",
		 gale_error_name(writer_rc), (unsigned long long)run->writer.accepted,
		 gale_error_name(reader_rc), (unsigned long long)run->reader.filled, reset);
	FUZZ_CHECK(trace, memcmp(run->sent, run->received, run->reader.filled) == 0, "bytes",
		   "the %llu bytes read differ from the bytes sent",
		   (unsigned long long)run->reader.filled);
	FUZZ_CHECK(trace, run->reader.filled <= run->writer.accepted, "bytes",
		   "read %llu bytes, only %llu were written",
		   (unsigned long long)run->reader.filled,
		   (unsigned long long)run->writer.accepted);
	if (!reset) {
		FUZZ_CHECK(trace, writer_rc == 0 && reader_rc == 0, "result",
			   "writer -> %s, reader -> %s without a reset", gale_error_name(writer_rc),
			   gale_error_name(reader_rc));
		FUZZ_CHECK(trace, run->reader.filled == run->len, "bytes",
			   "%llu of %zu bytes delivered", (unsigned long long)run->reader.filled,
			   run->len);
		FUZZ_CHECK(trace, !run->reader.expect_eof || run->reader.eof_seen, "eof",
			   "no EOF after the writer's shutdown");
		return;
	}
	FUZZ_CHECK(trace, writer_rc == 0 || writer_rc == -ECONNRESET || writer_rc == -EPIPE,
		   "result", "writer -> %s after a reset", gale_error_name(writer_rc));
	FUZZ_CHECK(trace, reader_rc == 0 || reader_rc == -ECONNRESET ||
		   reader_rc == GALE_E_UNEXPECTED_EOF, "result", "reader -> %s after a reset",
		   gale_error_name(reader_rc));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run *run = calloc(1, sizeof(*run));
	FUZZ_CHECK(NULL, run != NULL, "setup", "out of memory");
	struct fuzz_input input;
	fuzz_input_init(&input, data, size);
	fuzz_input_profile(&input, fault_kinds, sizeof(fault_kinds) / sizeof(fault_kinds[0]),
			   "fuzz", &run->profile);
	uint8_t flags = fuzz_input_u8(&input);
	run->len = (size_t)fuzz_input_range(&input, 0, LEN_MAX);
	run->log = fuzz_trace_is_on();
	fuzz_pattern_fill(run->sent, run->len, 0);
	run->writer = (struct writer_task){.stream = &run->streams[0], .bytes = run->sent,
					   .lens = run->write_lens, .vectored = (flags & 1u) != 0,
					   .shutdown = (flags & 4u) != 0};
	run->writer.count = chunks_decode(&input, run->len, run->write_lens);
	run->reader = (struct reader_task){.stream = &run->streams[1], .bytes = run->received,
					   .lens = run->read_lens, .expect_eof = (flags & 4u) != 0};
	run->reader.count = chunks_decode(&input, run->len, run->read_lens);
	fuzz_log(run->log, "%zu bytes in %zu writes, %zu reads, flags 0x%x", run->len,
		 run->writer.count, run->reader.count, flags);
	run_setup(run, &input, flags);
	struct gale_task_handle tasks[2];
	int rc = gale_executor_spawn(&run->runtime.executor, writer_poll, &run->writer, &tasks[0]);
	rc |= gale_executor_spawn(&run->runtime.executor, reader_poll, &run->reader, &tasks[1]);
	FUZZ_CHECK(NULL, rc == 0, "setup", "spawn failed");
	run_loop(run, tasks, size);
	int results[2];
	for (int i = 0; i < 2; i++)
		(void)gale_executor_try_join(&run->runtime.executor, tasks[i], &results[i]);
	outcome_check(run, results[0], results[1]);
	run_teardown(run);
	free(run);
	return 0;
}
