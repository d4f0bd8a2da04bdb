/* SPDX-License-Identifier: MIT */
/*
 * The trace of a simulated run (sim/): a running FNV-1a hash over every record, the kept
 * records for dumps and divergence search, and their one-line text form.
 *
 * Sections: hashing, keeping records, side records and task names, queries, formatting.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <gale/error.h>
#include <gale/sim_profile.h>
#include <gale/sim_trace.h>

#define FNV_OFFSET_BASIS UINT64_C(0xCBF29CE484222325)
#define FNV_PRIME UINT64_C(0x100000001B3)
#define RECORDS_CAP_FIRST 64

/* ---- Hashing: field by field, little-endian, so padding and host order never count. ---- */

static uint64_t hash_field(uint64_t hash, uint64_t value, int size)
{
	assert(size == 2 || size == 4 || size == 8);
	for (int i = 0; i < size; i++) {
		hash ^= (value >> (8 * i)) & 0xFF;
		hash *= FNV_PRIME;
	}
	return hash;
}

static uint64_t hash_record(uint64_t hash, const struct gale_trace_record *record)
{
	hash = hash_field(hash, record->step, 8);
	hash = hash_field(hash, (uint64_t)record->time_ns, 8);
	hash = hash_field(hash, record->kind, 2);
	hash = hash_field(hash, record->op, 2);
	hash = hash_field(hash, (uint32_t)record->fd, 4);
	hash = hash_field(hash, record->a, 8);
	return hash_field(hash, (uint64_t)record->result, 8);
}

/* ---- Keeping records ---- */

/* Grows the array geometrically up to records_max. False when the allocator says no. */
static bool records_reserve(struct gale_trace *trace)
{
	assert(trace->priv_records_len < trace->priv_records_max);
	if (trace->priv_records_len < trace->priv_records_cap)
		return true;
	size_t cap = trace->priv_records_cap == 0 ? RECORDS_CAP_FIRST : trace->priv_records_cap * 2;
	if (cap > trace->priv_records_max)
		cap = trace->priv_records_max;
	const struct gale_allocator *allocator = trace->priv_allocator;
	struct gale_trace_record *records =
		allocator->alloc(allocator->data, cap * sizeof(*records));
	if (records == NULL)
		return false;
	if (trace->priv_records != NULL) {
		memcpy(records, trace->priv_records, trace->priv_records_len * sizeof(*records));
		allocator->free(allocator->data, trace->priv_records,
				trace->priv_records_cap * sizeof(*records));
	}
	trace->priv_records = records;
	trace->priv_records_cap = cap;
	assert(trace->priv_records_len < trace->priv_records_cap);
	return true;
}

void gale_trace_init(struct gale_trace *trace, const struct gale_allocator *allocator,
		     size_t records_max)
{
	assert(trace != NULL);
	*trace = (struct gale_trace){0};
	trace->priv_allocator = allocator != NULL ? allocator : gale_allocator_default();
	trace->priv_records_max = records_max;
	trace->priv_hash = FNV_OFFSET_BASIS;
}

void gale_trace_deinit(struct gale_trace *trace)
{
	assert(trace != NULL);
	const struct gale_allocator *allocator = trace->priv_allocator;
	if (trace->priv_records != NULL) {
		assert(allocator != NULL);
		allocator->free(allocator->data, trace->priv_records,
				trace->priv_records_cap * sizeof(*trace->priv_records));
	}
	if (trace->priv_side != NULL)
		allocator->free(allocator->data, trace->priv_side,
				trace->priv_side_cap * sizeof(*trace->priv_side));
	if (trace->priv_names != NULL)
		allocator->free(allocator->data, trace->priv_names,
				trace->priv_names_cap * sizeof(*trace->priv_names));
	*trace = (struct gale_trace){0};
}

/*
 * Kept records must be a prefix of the run (first_divergence compares indexes), so once one
 * record was not kept (allocation failure or records_max reached) no later one is.
 */
void gale_trace_append(struct gale_trace *trace, struct gale_trace_record record)
{
	assert(trace != NULL);
	assert(trace->priv_allocator != NULL); /* Initialised. */
	record.step = trace->priv_count;
	trace->priv_hash = hash_record(trace->priv_hash, &record);
	bool keeping = trace->priv_records_len == trace->priv_count &&
		       trace->priv_records_len < trace->priv_records_max;
	trace->priv_count++;
	if (keeping && records_reserve(trace))
		trace->priv_records[trace->priv_records_len++] = record;
}

/* ---- Side records and task names: kept for timelines, never hashed ---- */

/*
 * Makes room for one more element of size bytes in *array (len used of *cap), growing it
 * geometrically. False when the allocator says no (the array is unchanged).
 */
static bool side_reserve(const struct gale_allocator *allocator, void **array, size_t len,
			 size_t *cap, size_t size)
{
	assert(allocator != NULL && len <= *cap);
	if (len < *cap)
		return true;
	size_t cap_new = *cap == 0 ? RECORDS_CAP_FIRST : *cap * 2;
	void *grown = allocator->alloc(allocator->data, cap_new * size);
	if (grown == NULL)
		return false;
	if (*array != NULL) {
		memcpy(grown, *array, len * size);
		allocator->free(allocator->data, *array, *cap * size);
	}
	*array = grown;
	*cap = cap_new;
	return true;
}

void gale_trace_side_append(struct gale_trace *trace, struct gale_trace_record record)
{
	assert(trace != NULL);
	assert(record.kind >= GALE_TRACE_POLL && record.kind <= GALE_TRACE_DUPLEX);
	bool keeping = trace->priv_records_len == trace->priv_count &&
		       trace->priv_side_len < trace->priv_records_max;
	if (!keeping)
		return;
	void *side = trace->priv_side;
	if (!side_reserve(trace->priv_allocator, &side, trace->priv_side_len,
			  &trace->priv_side_cap, sizeof(record)))
		return;
	trace->priv_side = side;
	record.step = trace->priv_count;
	trace->priv_side[trace->priv_side_len++] = record;
}

const struct gale_trace_record *gale_trace_side_records(const struct gale_trace *trace)
{
	assert(trace != NULL);
	return trace->priv_side;
}

size_t gale_trace_side_count(const struct gale_trace *trace)
{
	assert(trace != NULL);
	return trace->priv_side_len;
}

void gale_trace_name_set(struct gale_trace *trace, uint64_t id, const char *name)
{
	assert(trace != NULL && name != NULL);
	if (trace->priv_records_max == 0)
		return;
	struct gale_trace_name *slot = NULL;
	for (size_t i = 0; i < trace->priv_names_len && slot == NULL; i++)
		if (trace->priv_names[i].id == id)
			slot = &trace->priv_names[i];
	if (slot == NULL) {
		void *names = trace->priv_names;
		if (!side_reserve(trace->priv_allocator, &names, trace->priv_names_len,
				  &trace->priv_names_cap, sizeof(*slot)))
			return;
		trace->priv_names = names;
		slot = &trace->priv_names[trace->priv_names_len++];
	}
	slot->id = id;
	snprintf(slot->name, sizeof(slot->name), "%s", name);
}

const char *gale_trace_name_get(const struct gale_trace *trace, uint64_t id)
{
	assert(trace != NULL);
	for (size_t i = 0; i < trace->priv_names_len; i++)
		if (trace->priv_names[i].id == id)
			return trace->priv_names[i].name;
	return NULL;
}

/* ---- Queries ---- */

uint64_t gale_trace_hash(const struct gale_trace *trace)
{
	assert(trace != NULL);
	return trace->priv_hash;
}

uint64_t gale_trace_count(const struct gale_trace *trace)
{
	assert(trace != NULL);
	return trace->priv_count;
}

const struct gale_trace_record *gale_trace_records(const struct gale_trace *trace)
{
	assert(trace != NULL);
	return trace->priv_records;
}

size_t gale_trace_kept_count(const struct gale_trace *trace)
{
	assert(trace != NULL);
	return trace->priv_records_len;
}

bool gale_trace_is_truncated(const struct gale_trace *trace)
{
	assert(trace != NULL);
	return trace->priv_count > trace->priv_records_len;
}

static bool record_equal(const struct gale_trace_record *x, const struct gale_trace_record *y)
{
	return x->step == y->step && x->time_ns == y->time_ns && x->kind == y->kind &&
	       x->op == y->op && x->fd == y->fd && x->a == y->a && x->result == y->result;
}

size_t gale_trace_first_divergence(const struct gale_trace *a, const struct gale_trace *b)
{
	assert(a != NULL && b != NULL);
	size_t len = a->priv_records_len < b->priv_records_len ? a->priv_records_len
							      : b->priv_records_len;
	for (size_t i = 0; i < len; i++) {
		if (!record_equal(&a->priv_records[i], &b->priv_records[i]))
			return i;
	}
	if (a->priv_records_len != b->priv_records_len)
		return len;
	return SIZE_MAX;
}

/* ---- Formatting ---- */

const char *gale_trace_op_name(enum gale_trace_op op)
{
	return gale_driver_op_name((enum gale_driver_op)op);
}

/* Readiness bits as "READ|WRITE"; "none" for 0; unknown bits as one trailing hex group. */
static void ready_format(uint64_t ready, char *buf, size_t buf_len)
{
	static const char *const names[] = {"READ", "WRITE", "RDHUP", "HUP", "ERROR"};
	const size_t names_count = sizeof(names) / sizeof(names[0]);
	assert(buf_len >= 64);
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < names_count; i++) {
		if ((ready & (UINT64_C(1) << i)) == 0)
			continue;
		used += (size_t)snprintf(buf + used, buf_len - used, "%s%s", used > 0 ? "|" : "",
					 names[i]);
	}
	uint64_t unknown = ready & ~((UINT64_C(1) << names_count) - 1);
	if (unknown != 0)
		snprintf(buf + used, buf_len - used, "%s0x%" PRIx64, used > 0 ? "|" : "", unknown);
	else if (used == 0)
		snprintf(buf, buf_len, "none");
}

/* " -> 17", or " -> -11 EAGAIN" when the result is a negative errno or gale code. */
static void result_format(int64_t result, char *buf, size_t buf_len)
{
	assert(buf != NULL && buf_len > 0);
	if (result < 0 && result >= -4095)
		snprintf(buf, buf_len, " -> %" PRId64 " %s", result, gale_error_name((int)result));
	else
		snprintf(buf, buf_len, " -> %" PRId64, result);
}

/* "#12 t=0.000250ms ": step and virtual time in milliseconds with ns precision. */
static void prefix_format(const struct gale_trace_record *record, char *buf, size_t buf_len)
{
	assert(buf != NULL && buf_len > 0);
	int64_t time_ns = record->time_ns;
	const char *sign = time_ns < 0 ? "-" : "";
	uint64_t magnitude_ns = time_ns < 0 ? (uint64_t)0 - (uint64_t)time_ns : (uint64_t)time_ns;
	snprintf(buf, buf_len, "#%" PRIu64 " t=%s%" PRIu64 ".%06" PRIu64 "ms ", record->step, sign,
		 magnitude_ns / 1000000, magnitude_ns % 1000000);
}

int gale_trace_record_format(const struct gale_trace_record *record, char *buf, size_t buf_len)
{
	assert(record != NULL);
	assert(buf != NULL || buf_len == 0);
	char prefix[64];
	char result[64];
	char ready[96];
	prefix_format(record, prefix, sizeof(prefix));
	result_format(record->result, result, sizeof(result));
	switch (record->kind) {
	case GALE_TRACE_CHOICE:
		return snprintf(buf, buf_len, "%schoice a=%" PRIu64 " -> %" PRId64, prefix,
				record->a, record->result);
	case GALE_TRACE_OP:
		return snprintf(buf, buf_len, "%sop %s fd=%" PRId32 " a=%" PRIu64 "%s", prefix,
				gale_trace_op_name(record->op), record->fd, record->a, result);
	case GALE_TRACE_EVENT:
		ready_format((uint64_t)record->result, ready, sizeof(ready));
		return snprintf(buf, buf_len, "%sevent token=0x%" PRIx64 " ready=%s", prefix,
				record->a, ready);
	case GALE_TRACE_FAULT:
		return snprintf(buf, buf_len, "%sfault %s fd=%" PRId32 " a=%" PRIu64 "%s", prefix,
				gale_fault_kind_name(record->op), record->fd, record->a, result);
	case GALE_TRACE_SCHEDULE:
		return snprintf(buf, buf_len, "%sschedule pick %" PRIu64 " of %" PRId64, prefix,
				record->a, record->result);
	case GALE_TRACE_NOTE:
		return snprintf(buf, buf_len, "%snote %u fd=%" PRId32 " a=%" PRIu64 " -> %" PRId64,
				prefix, (unsigned)record->op, record->fd, record->a,
				record->result);
	case GALE_TRACE_POLL:
		return snprintf(buf, buf_len, "%spoll %s task=0x%" PRIx64 "%s", prefix,
				record->op == GALE_TRACE_POLL_BEGIN ? "begin" : "end", record->a,
				record->op == GALE_TRACE_POLL_BEGIN ? "" : result);
	case GALE_TRACE_REGISTER:
	case GALE_TRACE_CLEAR:
		ready_format((uint64_t)record->result, ready, sizeof(ready));
		return snprintf(buf, buf_len, "%s%s fd=%" PRId32 " token=0x%" PRIx64 "%s%s", prefix,
				record->kind == GALE_TRACE_CLEAR ? "clear" : "register", record->fd,
				record->a, record->kind == GALE_TRACE_CLEAR ? " ready=" : "",
				record->kind == GALE_TRACE_CLEAR ? ready : "");
	case GALE_TRACE_DUPLEX:
		return snprintf(buf, buf_len, "%sduplex %" PRId32 " end %" PRIu64 " %s%s", prefix,
				record->fd, record->a,
				record->op == GALE_TRACE_DUPLEX_READ ? "read" : "write", result);
	default:
		return snprintf(buf, buf_len,
				"%skind=%u op=%u fd=%" PRId32 " a=%" PRIu64 " -> %" PRId64, prefix,
				(unsigned)record->kind, (unsigned)record->op, record->fd, record->a,
				record->result);
	}
}
