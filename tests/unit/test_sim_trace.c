/* SPDX-License-Identifier: MIT */
/*
 * Traces (sim/src/sim_trace.c): running hash, kept records, divergence, text form.
 *
 * Methodology: records are built by hand, so every expected hash, index and line is exact.
 * The hash is pinned against FNV-1a 64 values computed once by an independent reference
 * (field by field, little-endian), so a change of hash (which would invalidate recorded
 * trace hashes) fails here. Allocation failure uses the counting allocator of
 * test_support.h, which also proves that nothing leaks.
 */
#include <stdint.h>
#include <string.h>

#include <gale/sim_profile.h>
#include <gale/sim_trace.h>

#include "test_support.h"

#define FNV_OFFSET_BASIS UINT64_C(0xCBF29CE484222325)

static struct gale_trace_record record_make(uint16_t kind, uint16_t op, int32_t fd, uint64_t a,
					    int64_t result)
{
	struct gale_trace_record record = {
		.time_ns = 1000, .kind = kind, .op = op, .fd = fd, .a = a, .result = result};
	return record;
}

/* Appends n records whose fields depend on the index (and on salt at index salt_at). */
static void trace_fill(struct gale_trace *trace, int n, int salt_at)
{
	for (int i = 0; i < n; i++) {
		struct gale_trace_record record =
			record_make(GALE_TRACE_OP, GALE_TRACE_OP_READ, i, (uint64_t)i * 10, i);
		if (i == salt_at)
			record.result = -11;
		gale_trace_append(trace, record);
	}
}

static void test_trace_hash_golden(void **state)
{
	(void)state;
	struct gale_trace trace;
	gale_trace_init(&trace, NULL, 0);
	assert_int_equal(gale_trace_hash(&trace), FNV_OFFSET_BASIS);
	struct gale_trace_record first = {.step = 77, .time_ns = 250, .kind = GALE_TRACE_OP,
					  .op = GALE_TRACE_OP_READ, .fd = 1048578, .a = 4096,
					  .result = 17};
	gale_trace_append(&trace, first); /* step 77 is overwritten with 0. */
	assert_int_equal(gale_trace_hash(&trace), UINT64_C(0x54d0e93a92686438));
	struct gale_trace_record second = {.time_ns = 500, .kind = GALE_TRACE_FAULT,
					   .op = GALE_FAULT_READ_SHORT, .fd = -1, .a = 7,
					   .result = -11};
	gale_trace_append(&trace, second);
	assert_int_equal(gale_trace_hash(&trace), UINT64_C(0x33a3b76b6bd161a2));
	assert_int_equal(gale_trace_count(&trace), 2);
	assert_int_equal(gale_trace_kept_count(&trace), 0);
	assert_null(gale_trace_records(&trace));
	gale_trace_deinit(&trace);
}

static void test_trace_equal_runs_equal_hash(void **state)
{
	(void)state;
	struct gale_trace a;
	struct gale_trace b;
	gale_trace_init(&a, NULL, 1000);
	gale_trace_init(&b, NULL, 1000);
	trace_fill(&a, 300, -1);
	trace_fill(&b, 300, -1);
	assert_int_equal(gale_trace_hash(&a), gale_trace_hash(&b));
	assert_int_equal(gale_trace_count(&a), 300);
	assert_int_equal(gale_trace_kept_count(&a), 300);
	assert_false(gale_trace_is_truncated(&a));
	assert_int_equal(gale_trace_first_divergence(&a, &b), SIZE_MAX);
	const struct gale_trace_record *records = gale_trace_records(&a);
	assert_int_equal(records[299].step, 299);
	assert_int_equal(records[299].a, 2990);
	assert_int_equal(records[299].fd, 299);
	gale_trace_deinit(&a);
	gale_trace_deinit(&b);
}

static void test_trace_one_field_differs(void **state)
{
	(void)state;
	struct gale_trace a;
	struct gale_trace b;
	gale_trace_init(&a, NULL, 100);
	gale_trace_init(&b, NULL, 100);
	trace_fill(&a, 20, -1);
	trace_fill(&b, 20, 13);
	assert_true(gale_trace_hash(&a) != gale_trace_hash(&b));
	assert_int_equal(gale_trace_first_divergence(&a, &b), 13);
	assert_int_equal(gale_trace_first_divergence(&b, &a), 13);
	gale_trace_deinit(&a);
	gale_trace_deinit(&b);
}

static void test_trace_prefix(void **state)
{
	(void)state;
	struct gale_trace a;
	struct gale_trace b;
	gale_trace_init(&a, NULL, 100);
	gale_trace_init(&b, NULL, 100);
	trace_fill(&a, 10, -1);
	trace_fill(&b, 7, -1);
	assert_int_equal(gale_trace_first_divergence(&a, &b), 7);
	assert_int_equal(gale_trace_first_divergence(&b, &a), 7);
	assert_true(gale_trace_hash(&a) != gale_trace_hash(&b));
	gale_trace_deinit(&a);
	gale_trace_deinit(&b);
}

/* Beyond records_max, records are hashed but not kept; the hash still covers them all. */
static void test_trace_records_max_truncates(void **state)
{
	(void)state;
	struct gale_trace kept_all;
	struct gale_trace kept_three;
	gale_trace_init(&kept_all, NULL, 100);
	gale_trace_init(&kept_three, NULL, 3);
	trace_fill(&kept_all, 5, -1);
	trace_fill(&kept_three, 5, -1);
	assert_int_equal(gale_trace_kept_count(&kept_three), 3);
	assert_int_equal(gale_trace_count(&kept_three), 5);
	assert_true(gale_trace_is_truncated(&kept_three));
	assert_false(gale_trace_is_truncated(&kept_all));
	assert_int_equal(gale_trace_hash(&kept_three), gale_trace_hash(&kept_all));
	assert_int_equal(gale_trace_records(&kept_three)[2].step, 2);
	assert_int_equal(gale_trace_first_divergence(&kept_all, &kept_three), 3);
	gale_trace_deinit(&kept_all);
	gale_trace_deinit(&kept_three);
}

static void test_trace_alloc_failure_first(void **state)
{
	(void)state;
	struct gale_test_allocator allocator;
	gale_test_allocator_init(&allocator);
	allocator.fail_at = 1;
	struct gale_trace failing;
	struct gale_trace reference;
	gale_trace_init(&failing, &allocator.base, 100);
	gale_trace_init(&reference, NULL, 0);
	trace_fill(&failing, 10, -1);
	trace_fill(&reference, 10, -1);
	assert_int_equal(gale_trace_kept_count(&failing), 0);
	assert_int_equal(gale_trace_count(&failing), 10);
	assert_true(gale_trace_is_truncated(&failing));
	assert_int_equal(gale_trace_hash(&failing), gale_trace_hash(&reference));
	/* After the failure nothing more is kept, so kept records stay a prefix of the run. */
	assert_int_equal(allocator.calls_count, 1);
	gale_trace_deinit(&failing);
	gale_trace_deinit(&reference);
	assert_int_equal(allocator.live_count, 0);
}

/* The first array (64 records) succeeds, growing to 128 fails: 64 kept, prefix intact. */
static void test_trace_alloc_failure_on_growth(void **state)
{
	(void)state;
	struct gale_test_allocator allocator;
	gale_test_allocator_init(&allocator);
	allocator.fail_at = 2;
	struct gale_trace trace;
	gale_trace_init(&trace, &allocator.base, 1000);
	trace_fill(&trace, 100, -1);
	assert_int_equal(gale_trace_kept_count(&trace), 64);
	assert_int_equal(gale_trace_count(&trace), 100);
	assert_true(gale_trace_is_truncated(&trace));
	assert_int_equal(gale_trace_records(&trace)[63].step, 63);
	assert_int_equal(allocator.calls_count, 2);
	assert_int_equal(allocator.live_count, 1);
	gale_trace_deinit(&trace);
	assert_int_equal(allocator.live_count, 0);
	assert_int_equal(allocator.live_bytes, 0);
	/* Idempotent on the zeroed trace deinit leaves. */
	gale_trace_deinit(&trace);
}

/* Growth stays within records_max: 100 kept needs 64 then 100, never 128. */
static void test_trace_growth_capped(void **state)
{
	(void)state;
	struct gale_test_allocator allocator;
	gale_test_allocator_init(&allocator);
	struct gale_trace trace;
	gale_trace_init(&trace, &allocator.base, 100);
	trace_fill(&trace, 150, -1);
	assert_int_equal(gale_trace_kept_count(&trace), 100);
	assert_int_equal(allocator.live_bytes, 100 * sizeof(struct gale_trace_record));
	assert_int_equal(allocator.alloc_count, 2);
	gale_trace_deinit(&trace);
	assert_int_equal(allocator.live_count, 0);
}

static void format_expect(struct gale_trace_record record, const char *expected)
{
	char line[160];
	int len = gale_trace_record_format(&record, line, sizeof(line));
	assert_string_equal(line, expected);
	assert_int_equal(len, (int)strlen(expected));
}

static void test_trace_format_each_kind(void **state)
{
	(void)state;
	struct gale_trace_record record = {.step = 12, .time_ns = 250, .kind = GALE_TRACE_OP,
					   .op = GALE_TRACE_OP_READ, .fd = 1048578, .a = 4096,
					   .result = 17};
	format_expect(record, "#12 t=0.000250ms op read fd=1048578 a=4096 -> 17");
	record.result = -11;
	record.time_ns = 1000250000;
	format_expect(record, "#12 t=1000.250000ms op read fd=1048578 a=4096 -> -11 EAGAIN");
	record = (struct gale_trace_record){.step = 3, .kind = GALE_TRACE_CHOICE, .a = 7,
					    .result = 3};
	format_expect(record, "#3 t=0.000000ms choice a=7 -> 3");
	record = (struct gale_trace_record){.step = 4, .time_ns = 1, .kind = GALE_TRACE_EVENT,
					    .a = UINT64_C(0x100000002), .result = 3};
	format_expect(record, "#4 t=0.000001ms event token=0x100000002 ready=READ|WRITE");
	record.result = 0;
	format_expect(record, "#4 t=0.000001ms event token=0x100000002 ready=none");
	record.result = 0x44;
	format_expect(record, "#4 t=0.000001ms event token=0x100000002 ready=RDHUP|0x40");
	record = (struct gale_trace_record){.step = 5, .kind = GALE_TRACE_FAULT,
					    .op = GALE_FAULT_WRITE_PARTIAL, .fd = 5, .a = 4096,
					    .result = 17};
	format_expect(record, "#5 t=0.000000ms fault write_partial fd=5 a=4096 -> 17");
	record.op = GALE_FAULT_RESET;
	record.result = -104;
	format_expect(record, "#5 t=0.000000ms fault reset fd=5 a=4096 -> -104 ECONNRESET");
	record = (struct gale_trace_record){.step = 6, .kind = GALE_TRACE_SCHEDULE, .a = 2,
					    .result = 5};
	format_expect(record, "#6 t=0.000000ms schedule pick 2 of 5");
	record = (struct gale_trace_record){.step = 7, .kind = GALE_TRACE_NOTE, .op = 9,
					    .fd = -1, .a = 1, .result = 2};
	format_expect(record, "#7 t=0.000000ms note 9 fd=-1 a=1 -> 2");
	record.kind = 99;
	format_expect(record, "#7 t=0.000000ms kind=99 op=9 fd=-1 a=1 -> 2");
}

static void test_trace_format_snprintf_semantics(void **state)
{
	(void)state;
	struct gale_trace_record record = {.step = 6, .kind = GALE_TRACE_SCHEDULE, .a = 2,
					   .result = 5};
	const char *full = "#6 t=0.000000ms schedule pick 2 of 5";
	char small[8];
	assert_int_equal(gale_trace_record_format(&record, small, sizeof(small)),
			 (int)strlen(full));
	assert_string_equal(small, "#6 t=0.");
	assert_int_equal(gale_trace_record_format(&record, NULL, 0), (int)strlen(full));
}

static void test_trace_op_names(void **state)
{
	(void)state;
	assert_string_equal(gale_trace_op_name(GALE_TRACE_OP_FD_REGISTER), "fd_register");
	assert_string_equal(gale_trace_op_name(GALE_TRACE_OP_READ), "read");
	assert_string_equal(gale_trace_op_name(GALE_TRACE_OP_WAIT), "wait");
	assert_string_equal(gale_trace_op_name(GALE_TRACE_OP_FD_NONBLOCKING_SET),
			    "fd_nonblocking_set");
	assert_string_equal(gale_trace_op_name((enum gale_trace_op)0), "unknown");
	assert_string_equal(gale_trace_op_name(GALE_TRACE_OP_COUNT_), "unknown");
	/* Every op in range has a real name. */
	for (int op = GALE_TRACE_OP_FD_REGISTER; op < GALE_TRACE_OP_COUNT_; op++)
		assert_string_not_equal(gale_trace_op_name((enum gale_trace_op)op), "unknown");
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trace_hash_golden),
		cmocka_unit_test(test_trace_equal_runs_equal_hash),
		cmocka_unit_test(test_trace_one_field_differs),
		cmocka_unit_test(test_trace_prefix),
		cmocka_unit_test(test_trace_records_max_truncates),
		cmocka_unit_test(test_trace_alloc_failure_first),
		cmocka_unit_test(test_trace_alloc_failure_on_growth),
		cmocka_unit_test(test_trace_growth_capped),
		cmocka_unit_test(test_trace_format_each_kind),
		cmocka_unit_test(test_trace_format_snprintf_semantics),
		cmocka_unit_test(test_trace_op_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
