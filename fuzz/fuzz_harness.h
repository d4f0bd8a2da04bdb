/* SPDX-License-Identifier: MIT */
/*
 * What every fuzz target shares besides the decoder: the libFuzzer entry point, the
 * failure report that names the broken invariant, the GALE_FUZZ_TRACE switch and trace
 * dump, and a recording waker for hand-driven polls. Harness code only (fuzz/): it may
 * print and abort, which library code never does.
 */
#ifndef GALE_FUZZ_FUZZ_HARNESS_H
#define GALE_FUZZ_FUZZ_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gale/common.h>
#include <gale/sim_trace.h>
#include <gale/task.h>

/* Defined once per target (fuzz_<target>.c); called by libFuzzer or by fuzz_main.c. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Reports a broken invariant and aborts (libFuzzer then saves the input as a crash).
 * Prints the trace first when GALE_FUZZ_TRACE is set and trace kept records (trace may be
 * NULL). The message reads "gale-fuzz: invariant broken: <invariant>: <details>".
 */
_Noreturn void fuzz_fail(const struct gale_trace *trace, const char *invariant,
			 const char *format, ...) GALE_PRINTF(3, 4);

/* Checks an invariant: on failure, fuzz_fail(trace, invariant, format, ...). */
#define FUZZ_CHECK(trace, condition, invariant, ...)                                       \
	do {                                                                               \
		if (!(condition))                                                          \
			fuzz_fail((trace), (invariant), __VA_ARGS__);                      \
	} while (0)

/* True when the environment asks for traces: GALE_FUZZ_TRACE set and not "0". */
bool fuzz_trace_is_on(void);

/* Records a trace keeps when GALE_FUZZ_TRACE is on (0, hash only, when it is off). */
size_t fuzz_trace_records_max(void);

/* Prints every kept record of trace to stderr, one per line, with a header line. */
void fuzz_trace_dump(const struct gale_trace *trace, const char *title);

/* Prints "gale-fuzz: <message>" to stderr when on is true (the harness's op log). */
void fuzz_log(bool on, const char *format, ...) GALE_PRINTF(2, 3);

/* Wakes seen by recording wakers: the ids in order (the first FUZZ_WAKE_IDS_MAX kept). */
#define FUZZ_WAKE_IDS_MAX 64
struct fuzz_wake_log {
	uint64_t ids[FUZZ_WAKE_IDS_MAX]; /* Ids woken, oldest first. */
	uint32_t ids_len;                /* Entries kept in ids. */
	uint64_t wakes_count;            /* Every wake, kept or not. */
};

/* Empties the log. */
void fuzz_wake_log_clear(struct fuzz_wake_log *log);

/* A waker that appends id to log when woken. log is borrowed while the waker may fire. */
struct gale_waker fuzz_waker(struct fuzz_wake_log *log, uint64_t id);

/* How many times id was woken since the last clear (counts kept entries only). */
uint32_t fuzz_wake_log_count(const struct fuzz_wake_log *log, uint64_t id);

/* Fills buf with the stream pattern from stream offset on: every byte depends on its
 * offset, so a lost, duplicated or reordered byte never matches by accident for long. */
void fuzz_pattern_fill(uint8_t *buf, size_t len, uint64_t offset);

/* The pattern byte at stream offset. */
uint8_t fuzz_pattern_byte(uint64_t offset);

#endif /* GALE_FUZZ_FUZZ_HARNESS_H */
