/* SPDX-License-Identifier: MIT */
/* Shared harness support for fuzz/: failure reports, trace switch and dump, wakers, pattern. */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_harness.h"

/* Enough records to see how a short fuzz run got where it failed. */
#define FUZZ_TRACE_RECORDS_MAX (1u << 20)

bool fuzz_trace_is_on(void)
{
	/* Read per run, not cached: no globals, and one getenv is noise next to a run. */
	const char *value = getenv("GALE_FUZZ_TRACE");
	return value != NULL && value[0] != '\0' && strcmp(value, "0") != 0;
}

size_t fuzz_trace_records_max(void)
{
	return fuzz_trace_is_on() ? FUZZ_TRACE_RECORDS_MAX : 0;
}

void fuzz_trace_dump(const struct gale_trace *trace, const char *title)
{
	assert(trace != NULL && title != NULL);
	size_t kept = gale_trace_kept_count(trace);
	fprintf(stderr, "gale-fuzz: trace %s: %llu records (%zu kept%s), hash 0x%016llx\n", title,
		(unsigned long long)gale_trace_count(trace), kept,
		gale_trace_is_truncated(trace) ? ", truncated" : "",
		(unsigned long long)gale_trace_hash(trace));
	const struct gale_trace_record *records = gale_trace_records(trace);
	for (size_t i = 0; i < kept; i++) {
		char line[256];
		gale_trace_record_format(&records[i], line, sizeof(line));
		fprintf(stderr, "  %s\n", line);
	}
}

void fuzz_fail(const struct gale_trace *trace, const char *invariant, const char *format, ...)
{
	assert(invariant != NULL && format != NULL);
	if (trace != NULL && fuzz_trace_is_on())
		fuzz_trace_dump(trace, "before the failure");
	fprintf(stderr, "gale-fuzz: invariant broken: %s: ", invariant);
	va_list args;
	va_start(args, format);
	vfprintf(stderr, format, args);
	va_end(args);
	fputc('\n', stderr);
	fflush(stderr);
	abort();
}

void fuzz_log(bool on, const char *format, ...)
{
	assert(format != NULL);
	if (!on)
		return;
	fputs("gale-fuzz: ", stderr);
	va_list args;
	va_start(args, format);
	vfprintf(stderr, format, args);
	va_end(args);
	fputc('\n', stderr);
}

void fuzz_wake_log_clear(struct fuzz_wake_log *log)
{
	assert(log != NULL);
	log->ids_len = 0;
	log->wakes_count = 0;
}

static void fuzz_wake_cb(void *data, uint64_t id)
{
	struct fuzz_wake_log *log = data;
	assert(log != NULL);
	assert(log->ids_len <= FUZZ_WAKE_IDS_MAX);
	if (log->ids_len < FUZZ_WAKE_IDS_MAX)
		log->ids[log->ids_len++] = id;
	log->wakes_count++;
}

struct gale_waker fuzz_waker(struct fuzz_wake_log *log, uint64_t id)
{
	assert(log != NULL);
	struct gale_waker waker = {fuzz_wake_cb, log, id};
	return waker;
}

uint32_t fuzz_wake_log_count(const struct fuzz_wake_log *log, uint64_t id)
{
	assert(log != NULL);
	uint32_t count = 0;
	for (uint32_t i = 0; i < log->ids_len; i++)
		count += log->ids[i] == id;
	return count;
}

uint8_t fuzz_pattern_byte(uint64_t offset)
{
	/* The high bits of offset fold in so that a block shifted by a multiple of 256 does
	 * not repeat itself: a duplicated or skipped block shows up as a mismatch. */
	return (uint8_t)((offset * 131) ^ (offset >> 8) ^ (offset >> 16) ^ (offset >> 40));
}

void fuzz_pattern_fill(uint8_t *buf, size_t len, uint64_t offset)
{
	assert(buf != NULL || len == 0);
	for (size_t i = 0; i < len; i++)
		buf[i] = fuzz_pattern_byte(offset + i);
}
