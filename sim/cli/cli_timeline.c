/* SPDX-License-Identifier: MIT */
/*
 * Timelines: a run's trace as Chrome trace-event JSON (Perfetto, chrome://tracing) and as
 * one self-contained HTML page (cli_timeline_html.c), for `replay --timeline / --html`
 * and `run --timeline-dir`.
 *
 * Both come from one model built here: the trace's records merged, by step, with its side
 * records (task polls, registrations, readiness clears, duplex bytes: sim_trace.h), laid
 * out on tracks: the runtime (waits, scheduling), one per task (each poll a slice named by
 * the task and what it returned), one per fd and per observed duplex end (ops with byte
 * counts and results, readiness events, clears, faults), one for faults without an fd.
 * The clock is virtual time; records at the same virtual instant (a whole turn of the
 * runtime shares one) are spread 1 ns apart so their order shows, and every event keeps
 * its exact virtual time and its trace step in its arguments.
 *
 * Sections: labels, tracks, the model, JSON, a campaign's failures (run --timeline-dir).
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gale/error.h>
#include <gale/sim_profile.h>
#include <gale/sim_trace.h>

#include "cli.h"
#include "cli_timeline.h"

/* ---- Labels: event names, deduplicated (a run says "read(4096) = 4096" many times) ---- */

static uint64_t label_hash(const char *text)
{
	uint64_t hash = UINT64_C(0xCBF29CE484222325);
	for (; *text != '\0'; text++)
		hash = (hash ^ (unsigned char)*text) * UINT64_C(0x100000001B3);
	return hash;
}

/* Doubles the hash table (slots hold label index + 1; 0 is empty). */
static bool labels_rehash(struct tl_labels *labels)
{
	size_t cap = labels->slots_cap == 0 ? 1024 : labels->slots_cap * 2;
	uint32_t *slots = calloc(cap, sizeof(*slots));
	if (slots == NULL)
		return false;
	for (size_t i = 0; i < labels->len; i++) {
		size_t at = label_hash(labels->strings[i]) & (cap - 1);
		while (slots[at] != 0)
			at = (at + 1) & (cap - 1);
		slots[at] = (uint32_t)i + 1;
	}
	free(labels->slots);
	labels->slots = slots;
	labels->slots_cap = cap;
	return true;
}

/* The index of text in the table (added if new); UINT32_MAX when out of memory. */
static uint32_t label_intern(struct tl_labels *labels, const char *text)
{
	if ((labels->len + 1) * 2 > labels->slots_cap && !labels_rehash(labels))
		return UINT32_MAX;
	size_t mask = labels->slots_cap - 1, at = label_hash(text) & mask;
	for (; labels->slots[at] != 0; at = (at + 1) & mask)
		if (strcmp(labels->strings[labels->slots[at] - 1], text) == 0)
			return labels->slots[at] - 1;
	if (labels->len == labels->cap) {
		size_t cap = labels->cap == 0 ? 256 : labels->cap * 2;
		char **grown = realloc(labels->strings, cap * sizeof(*grown));
		if (grown == NULL)
			return UINT32_MAX;
		labels->strings = grown;
		labels->cap = cap;
	}
	char *copy = strdup(text);
	if (copy == NULL)
		return UINT32_MAX;
	labels->strings[labels->len] = copy;
	labels->slots[at] = (uint32_t)labels->len + 1;
	return (uint32_t)labels->len++;
}

/* ---- Tracks ---- */

/* The track of (kind, key), created (named by name_fn) on first sight; NULL: no memory. */
static struct tl_track *track_get(struct tl_model *model, enum tl_track_kind kind,
				  uint64_t key)
{
	for (size_t i = model->tracks_len; i-- > 0;)
		if (model->tracks[i].kind == kind && model->tracks[i].key == key)
			return &model->tracks[i];
	if (model->tracks_len == model->tracks_cap) {
		size_t cap = model->tracks_cap == 0 ? 16 : model->tracks_cap * 2;
		struct tl_track *grown = realloc(model->tracks, cap * sizeof(*grown));
		if (grown == NULL)
			return NULL;
		model->tracks = grown;
		model->tracks_cap = cap;
	}
	struct tl_track *track = &model->tracks[model->tracks_len++];
	*track = (struct tl_track){.kind = kind, .key = key};
	if (kind == TL_TRACK_RUNTIME)
		snprintf(track->name, sizeof(track->name), "runtime (waits, scheduling)");
	else if (kind == TL_TRACK_FAULTS)
		snprintf(track->name, sizeof(track->name), "faults (no fd)");
	else if (kind == TL_TRACK_DUPLEX)
		snprintf(track->name, sizeof(track->name), "duplex #%" PRIu64 " end %" PRIu64,
			 key >> 1, key & 1);
	else if (kind == TL_TRACK_FD)
		snprintf(track->name, sizeof(track->name), "fd %" PRIu64, key);
	else if (gale_trace_name_get(model->trace, key) != NULL)
		snprintf(track->name, sizeof(track->name), "task '%.60s' #%u.%u",
			 gale_trace_name_get(model->trace, key), (unsigned)(key & UINT32_MAX),
			 (unsigned)(key >> 32));
	else
		snprintf(track->name, sizeof(track->name), "task #%u.%u (unnamed)",
			 (unsigned)(key & UINT32_MAX), (unsigned)(key >> 32));
	return track;
}

/* A track's index, or UINT32_MAX when it could not be made. */
static uint32_t track_index(struct tl_model *model, enum tl_track_kind kind, uint64_t key)
{
	struct tl_track *track = track_get(model, kind, key);
	return track != NULL ? (uint32_t)(track - model->tracks) : UINT32_MAX;
}

/* ---- The model ---- */

/* " -11 EAGAIN" style text of a result: the number, and its name when it is an error. */
static void result_text(int64_t result, char *buf, size_t buf_len)
{
	if (result < 0 && result >= -4095)
		snprintf(buf, buf_len, "%" PRId64 " %s", result, gale_error_name((int)result));
	else
		snprintf(buf, buf_len, "%" PRId64, result);
}

static void ready_text(uint64_t bits, char *buf, size_t buf_len)
{
	static const char *const names[] = {"READ", "WRITE", "RDHUP", "HUP", "ERROR"};
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (bits & (UINT64_C(1) << i))
			used += (size_t)snprintf(buf + used, buf_len - used, "%s%s",
						 used > 0 ? "|" : "", names[i]);
	if (used == 0)
		snprintf(buf, buf_len, "none");
}

/* Adds one event spanning [from, to] of the model's clock; false when out of memory. */
static bool event_add(struct tl_model *model, const struct tl_event *event, const char *label)
{
	if (event->track == UINT32_MAX)
		return false;
	if (model->events_len == model->events_cap) {
		size_t cap = model->events_cap == 0 ? 4096 : model->events_cap * 2;
		struct tl_event *grown = realloc(model->events, cap * sizeof(*grown));
		if (grown == NULL)
			return false;
		model->events = grown;
		model->events_cap = cap;
	}
	struct tl_event *added = &model->events[model->events_len];
	*added = *event;
	added->label = label_intern(&model->labels, label);
	if (added->label == UINT32_MAX)
		return false;
	model->events_len++;
	return true;
}

/* An event at the model's current instant (the record just clocked). */
static bool event_now(struct tl_model *model, const struct gale_trace_record *record,
		      uint32_t track, enum tl_event_kind kind, const char *label)
{
	struct tl_event event = {
		.seq0 = model->seq, .seq1 = model->seq, .t0 = model->t, .t1 = model->t,
		.time_ns = record->time_ns, .step = record->step, .track = track,
		.kind = (uint8_t)kind, .a = (int64_t)record->a, .result = record->result,
		.fd = record->fd, .op = record->op,
	};
	return event_add(model, &event, label);
}

/* Moves the clock to record: virtual time, at least 1 ns after the previous item. */
static void clock_advance(struct tl_model *model, const struct gale_trace_record *record)
{
	model->seq++;
	model->t_prev = model->t;
	model->t = record->time_ns > model->t ? record->time_ns : model->t + 1;
}

static enum tl_event_kind op_kind(int64_t result)
{
	if (result == -EAGAIN || result == -EINPROGRESS)
		return TL_EVENT_OP_BLOCKED;
	return result < 0 ? TL_EVENT_OP_ERROR : TL_EVENT_OP;
}

/* Names a new socket's track by where it came from: "fd 1048580 (accepted on 1048576)". */
static bool fd_describe(struct tl_model *model, int fd, const struct gale_trace_record *record)
{
	struct tl_track *track = track_get(model, TL_TRACK_FD, (uint64_t)fd);
	if (track == NULL)
		return false;
	if (strchr(track->name, '(') != NULL)
		return true; /* A reused fd number keeps its first description. */
	if (record->op == GALE_TRACE_OP_ACCEPT)
		snprintf(track->name, sizeof(track->name), "fd %d (accepted on %d)", fd,
			 record->fd);
	else
		snprintf(track->name, sizeof(track->name), "fd %d (socket)", fd);
	return true;
}

/* A driver op: on its fd's track (or the new fd's, for socket), waits on the runtime's. */
static bool model_op(struct tl_model *model, const struct gale_trace_record *record)
{
	char label[160], result[64];
	result_text(record->result, result, sizeof(result));
	const char *name = gale_trace_op_name(record->op);
	if (record->op == GALE_TRACE_OP_WAIT) {
		snprintf(label, sizeof(label), "wait = %s", result);
		struct tl_event event = {
			.seq0 = model->seq - 1, .seq1 = model->seq, .t0 = model->t_prev,
			.t1 = model->t, .time_ns = record->time_ns, .step = record->step,
			.track = track_index(model, TL_TRACK_RUNTIME, 0),
			.kind = TL_EVENT_WAIT, .result = record->result, .fd = -1};
		return event_add(model, &event, label);
	}
	int fd = record->fd;
	if (fd < 0 && record->op == GALE_TRACE_OP_SOCKET && record->result >= 0)
		fd = (int)record->result;
	if ((record->op == GALE_TRACE_OP_SOCKET || record->op == GALE_TRACE_OP_ACCEPT) &&
	    record->result >= 0 && !fd_describe(model, (int)record->result, record))
		return false;
	snprintf(label, sizeof(label), "%s(%" PRIu64 ") = %s", name, record->a, result);
	uint32_t track = fd >= 0 ? track_index(model, TL_TRACK_FD, (uint64_t)fd)
				 : track_index(model, TL_TRACK_RUNTIME, 0);
	return event_now(model, record, track, op_kind(record->result), label);
}

/* The fd registered under token, or -1 (a stale token the sim replayed, say). */
static int token_fd(const struct tl_model *model, uint64_t token)
{
	for (size_t i = model->tokens_len; i-- > 0;)
		if (model->tokens[i].token == token)
			return model->tokens[i].fd;
	return -1;
}

/* A readiness event, a fault, a scheduling pick or a note. */
static bool model_mark(struct tl_model *model, const struct gale_trace_record *record)
{
	char label[160], bits[64];
	int fd = record->fd;
	enum tl_event_kind kind = TL_EVENT_NOTE;
	if (record->kind == GALE_TRACE_EVENT) {
		fd = token_fd(model, record->a);
		ready_text((uint64_t)record->result, bits, sizeof(bits));
		snprintf(label, sizeof(label), fd >= 0 ? "ready %s" : "ready %s (token 0x%" PRIx64
			 " not registered)", bits, record->a);
		kind = TL_EVENT_READY;
	} else if (record->kind == GALE_TRACE_FAULT) {
		snprintf(label, sizeof(label), "fault %s", gale_fault_kind_name(record->op));
		kind = TL_EVENT_FAULT;
	} else if (record->kind == GALE_TRACE_SCHEDULE) {
		snprintf(label, sizeof(label), "schedule: pick %" PRIu64 " of %" PRId64, record->a,
			 record->result);
	} else {
		snprintf(label, sizeof(label), "note %u (%" PRIu64 ") = %" PRId64,
			 (unsigned)record->op, record->a, record->result);
	}
	uint32_t track = fd >= 0 ? track_index(model, TL_TRACK_FD, (uint64_t)fd)
		       : kind == TL_EVENT_FAULT ? track_index(model, TL_TRACK_FAULTS, 0)
						: track_index(model, TL_TRACK_RUNTIME, 0);
	return event_now(model, record, track, kind, label);
}

static bool model_token_add(struct tl_model *model, uint64_t token, int fd)
{
	if (model->tokens_len == model->tokens_cap) {
		size_t cap = model->tokens_cap == 0 ? 64 : model->tokens_cap * 2;
		struct tl_token *grown = realloc(model->tokens, cap * sizeof(*grown));
		if (grown == NULL)
			return false;
		model->tokens = grown;
		model->tokens_cap = cap;
	}
	model->tokens[model->tokens_len++] = (struct tl_token){.token = token, .fd = fd};
	return true;
}

/* A poll's end: the slice from its beginning, named by the task and what it returned. */
static bool model_poll_end(struct tl_model *model, const struct gale_trace_record *record,
			   struct tl_track *task)
{
	char label[200], result[64];
	result_text(record->result, result, sizeof(result));
	char unnamed[32];
	const char *name = gale_trace_name_get(model->trace, task->key);
	if (name == NULL) {
		snprintf(unnamed, sizeof(unnamed), "#%u.%u", (unsigned)(task->key & UINT32_MAX),
			 (unsigned)(task->key >> 32));
		name = unnamed;
	}
	int name_len = (int)strlen(name);
	enum tl_event_kind kind = TL_EVENT_POLL_PENDING;
	if (record->result == GALE_PENDING) {
		snprintf(label, sizeof(label), "%.*s: Pending", name_len, name);
	} else {
		snprintf(label, sizeof(label), "%.*s: Ready(%s)", name_len, name, result);
		kind = record->result == 0 ? TL_EVENT_POLL_READY : TL_EVENT_POLL_ERROR;
	}
	struct tl_event event = {
		.seq0 = task->open ? task->open_seq : model->seq, .seq1 = model->seq,
		.t0 = task->open ? task->open_t : model->t, .t1 = model->t,
		.time_ns = record->time_ns, .step = task->open ? task->open_step : record->step,
		.track = (uint32_t)(task - model->tracks), .kind = (uint8_t)kind,
		.a = (int64_t)record->a, .result = record->result, .fd = -1,
	};
	task->open = false;
	return event_add(model, &event, label);
}

static bool model_side(struct tl_model *model, const struct gale_trace_record *record)
{
	char label[160], bits[64];
	if (record->kind == GALE_TRACE_POLL) {
		struct tl_track *task = track_get(model, TL_TRACK_TASK, record->a);
		if (task == NULL)
			return false;
		if (record->op == GALE_TRACE_POLL_END)
			return model_poll_end(model, record, task);
		task->open = true;
		task->open_seq = model->seq;
		task->open_t = model->t;
		task->open_step = record->step;
		return true;
	}
	if (record->kind == GALE_TRACE_REGISTER)
		return model_token_add(model, record->a, record->fd);
	if (record->kind == GALE_TRACE_CLEAR) {
		ready_text((uint64_t)record->result, bits, sizeof(bits));
		snprintf(label, sizeof(label), "clear %s", bits);
		return event_now(model, record,
				 track_index(model, TL_TRACK_FD, (uint64_t)record->fd),
				 TL_EVENT_CLEAR, label);
	}
	if (record->op == GALE_TRACE_DUPLEX_READ && record->result == 0)
		snprintf(label, sizeof(label), "read: end of stream");
	else
		snprintf(label, sizeof(label), "%s %" PRId64,
			 record->op == GALE_TRACE_DUPLEX_READ ? "read" : "write", record->result);
	uint64_t key = ((uint64_t)(uint32_t)record->fd << 1) | (record->a & 1);
	return event_now(model, record, track_index(model, TL_TRACK_DUPLEX, key),
			 TL_EVENT_DUPLEX, label);
}

/* The oracle's verdict, the last marked event: after the record that preceded it. */
static bool model_failure(struct tl_model *model, const struct cli_timeline_run *run)
{
	char label[160];
	snprintf(label, sizeof(label), "FAILED: oracle %s", gale_oracle_name(run->result->oracle));
	struct gale_trace_record record = {.step = run->result->failure_step,
					   .time_ns = model->t, .fd = -1};
	clock_advance(model, &record);
	model->failure_placed = true;
	return event_now(model, &record, track_index(model, TL_TRACK_RUNTIME, 0),
			 TL_EVENT_FAILURE, label);
}

static bool model_item(struct tl_model *model, const struct cli_timeline_run *run,
		       const struct gale_trace_record *record, bool side)
{
	if (!side && run->status > 0 && !model->failure_placed &&
	    record->step >= run->result->failure_step && !model_failure(model, run))
		return false;
	if (!side && record->kind == GALE_TRACE_CHOICE)
		return true; /* Entropy draws: the text trace has them; a timeline does not. */
	clock_advance(model, record);
	if (side)
		return model_side(model, record);
	if (record->kind == GALE_TRACE_OP)
		return model_op(model, record);
	return model_mark(model, record);
}

/* Track order: the runtime, tasks, fds, duplex ends, faults; first seen first in each. */
static int track_order(const void *a, const void *b)
{
	const struct tl_track *x = *(const struct tl_track *const *)a;
	const struct tl_track *y = *(const struct tl_track *const *)b;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return x < y ? -1 : x > y;
}

static int event_order(const void *a, const void *b)
{
	const struct tl_event *x = a, *y = b;
	if (x->seq0 != y->seq0)
		return x->seq0 < y->seq0 ? -1 : 1;
	return x->seq1 < y->seq1 ? -1 : x->seq1 > y->seq1;
}

/* Sorts tracks into display order (renumbering the events) and events by start. */
static bool model_finish(struct tl_model *model)
{
	size_t count = model->tracks_len;
	struct tl_track **order = malloc((count + 1) * sizeof(*order));
	uint32_t *renumber = malloc((count + 1) * sizeof(*renumber));
	struct tl_track *sorted = malloc((count + 1) * sizeof(*sorted));
	bool ok = order != NULL && renumber != NULL && sorted != NULL;
	for (size_t i = 0; ok && i < count; i++)
		order[i] = &model->tracks[i];
	if (ok && count > 0)
		qsort(order, count, sizeof(*order), track_order);
	for (size_t i = 0; ok && i < count; i++) {
		renumber[order[i] - model->tracks] = (uint32_t)i;
		sorted[i] = *order[i];
	}
	for (size_t i = 0; ok && i < model->events_len; i++)
		model->events[i].track = renumber[model->events[i].track];
	if (ok && count > 0)
		memcpy(model->tracks, sorted, count * sizeof(*sorted));
	if (ok && model->events_len > 0)
		qsort(model->events, model->events_len, sizeof(*model->events), event_order);
	free(order);
	free(renumber);
	free(sorted);
	return ok;
}

int cli_timeline_model_build(const struct gale_trace *trace, const struct cli_timeline_run *run,
			     struct tl_model *model)
{
	*model = (struct tl_model){.trace = trace};
	const struct gale_trace_record *records = gale_trace_records(trace);
	const struct gale_trace_record *side = gale_trace_side_records(trace);
	size_t records_count = gale_trace_kept_count(trace);
	size_t side_count = gale_trace_side_count(trace), s = 0;
	bool ok = track_index(model, TL_TRACK_RUNTIME, 0) != UINT32_MAX;
	for (size_t i = 0; ok && i <= records_count; i++) {
		/* A side record happened just before the record of its step. */
		uint64_t before = i < records_count ? records[i].step : UINT64_MAX;
		for (; ok && s < side_count && side[s].step <= before; s++)
			ok = model_item(model, run, &side[s], true);
		if (ok && i < records_count)
			ok = model_item(model, run, &records[i], false);
	}
	if (ok && run->status > 0 && !model->failure_placed)
		ok = model_failure(model, run);
	ok = ok && model_finish(model);
	if (!ok)
		cli_timeline_model_deinit(model);
	return ok ? 0 : -ENOMEM;
}

void cli_timeline_model_deinit(struct tl_model *model)
{
	for (size_t i = 0; i < model->labels.len; i++)
		free(model->labels.strings[i]);
	free(model->labels.strings);
	free(model->labels.slots);
	free(model->tracks);
	free(model->events);
	free(model->tokens);
	*model = (struct tl_model){0};
}

/* ---- JSON (Chrome trace-event format) ---- */

void cli_timeline_escape(FILE *out, const char *text, bool html)
{
	for (; *text != '\0'; text++) {
		unsigned char c = (unsigned char)*text;
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || (html && (c == '<' || c == '>' || c == '&')))
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
}

/* Nanoseconds as the format's microseconds, exactly: "1234.567". */
static void micros_write(FILE *out, int64_t ns)
{
	const char *sign = ns < 0 ? "-" : "";
	uint64_t magnitude = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
	fprintf(out, "%s%" PRIu64 ".%03" PRIu64, sign, magnitude / 1000, magnitude % 1000);
}

static const char *event_category(enum tl_event_kind kind)
{
	static const char *const names[TL_EVENT_COUNT] = {
		[TL_EVENT_OP] = "op", [TL_EVENT_OP_BLOCKED] = "op", [TL_EVENT_OP_ERROR] = "op",
		[TL_EVENT_READY] = "readiness", [TL_EVENT_CLEAR] = "readiness",
		[TL_EVENT_FAULT] = "fault", [TL_EVENT_POLL_PENDING] = "poll",
		[TL_EVENT_POLL_READY] = "poll", [TL_EVENT_POLL_ERROR] = "poll",
		[TL_EVENT_WAIT] = "wait", [TL_EVENT_NOTE] = "runtime",
		[TL_EVENT_FAILURE] = "failure", [TL_EVENT_DUPLEX] = "duplex",
	};
	return (unsigned)kind < TL_EVENT_COUNT ? names[kind] : "other";
}

bool cli_timeline_kind_is_slice(enum tl_event_kind kind)
{
	return kind == TL_EVENT_OP || kind == TL_EVENT_OP_BLOCKED || kind == TL_EVENT_OP_ERROR ||
	       kind == TL_EVENT_POLL_PENDING || kind == TL_EVENT_POLL_READY ||
	       kind == TL_EVENT_POLL_ERROR || kind == TL_EVENT_WAIT || kind == TL_EVENT_DUPLEX;
}

/* The event's arguments: its step and virtual time always, then what it is about. */
static void json_args(FILE *out, const struct tl_event *event, const struct cli_timeline_run *run)
{
	fprintf(out, "\"args\":{\"step\":%" PRIu64 ",\"t_ns\":%" PRId64, event->step,
		event->time_ns);
	if (event->kind == TL_EVENT_FAULT)
		fprintf(out, ",\"kind\":\"%s\",\"fd\":%d",
			gale_fault_kind_name((enum gale_fault_kind)event->op), event->fd);
	else if (event->kind == TL_EVENT_FAILURE) {
		fprintf(out, ",\"oracle\":\"%s\",\"message\":\"",
			gale_oracle_name(run->result->oracle));
		cli_timeline_escape(out, run->result->message, false);
		fprintf(out, "\",\"replay\":\"");
		cli_timeline_escape(out, run->command, false);
		fputc('"', out);
	} else if (event->kind != TL_EVENT_NOTE && event->kind != TL_EVENT_WAIT) {
		fprintf(out, ",\"a\":%" PRId64 ",\"result\":%" PRId64, event->a, event->result);
	}
	fputc('}', out);
}

static void json_event(FILE *out, const struct tl_model *model, const struct tl_event *event,
		       const struct cli_timeline_run *run)
{
	bool slice = cli_timeline_kind_is_slice(event->kind);
	fprintf(out, ",\n{\"name\":\"");
	cli_timeline_escape(out, model->labels.strings[event->label], false);
	fprintf(out, "\",\"cat\":\"%s\",\"ph\":\"%s\",\"ts\":", event_category(event->kind),
		slice ? "X" : "i");
	micros_write(out, event->t0);
	if (slice) {
		fprintf(out, ",\"dur\":");
		micros_write(out, event->t1 > event->t0 ? event->t1 - event->t0 : 1);
	} else {
		fprintf(out, ",\"s\":\"%s\"", event->kind == TL_EVENT_FAILURE ? "g" : "t");
	}
	fprintf(out, ",\"pid\":1,\"tid\":%u,", event->track + 1);
	json_args(out, event, run);
	fputc('}', out);
}

void cli_timeline_write_json(const struct tl_model *model, const struct cli_timeline_run *run,
			     FILE *out)
{
	fprintf(out, "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"scenario\":\"");
	cli_timeline_escape(out, run->scenario, false);
	fprintf(out, "\",\"verdict\":\"");
	cli_timeline_escape(out, run->status == 0 ? "passed" : run->result->message, false);
	fprintf(out, "\",\"replay\":\"");
	cli_timeline_escape(out, run->command, false);
	fprintf(out, "\",\"trace_hash\":\"0x%016" PRIx64 "\"},\n\"traceEvents\":[\n"
		"{\"name\":\"process_name\",\"ph\":\"M\",\"ts\":0,\"pid\":1,\"tid\":0,"
		"\"args\":{\"name\":\"", run->result->trace_hash);
	cli_timeline_escape(out, run->scenario, false);
	fprintf(out, " (%s)\"}}", run->status == 0 ? "passed" : "FAILED");
	for (size_t i = 0; i < model->tracks_len; i++) {
		fprintf(out, ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"ts\":0,\"pid\":1,"
			"\"tid\":%zu,\"args\":{\"name\":\"", i + 1);
		cli_timeline_escape(out, model->tracks[i].name, false);
		fprintf(out, "\"}},\n{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"ts\":0,"
			"\"pid\":1,\"tid\":%zu,\"args\":{\"sort_index\":%zu}}", i + 1, i);
	}
	for (size_t i = 0; i < model->events_len; i++)
		json_event(out, model, &model->events[i], run);
	fprintf(out, "\n]}\n");
}

int cli_timeline_write(const struct gale_trace *trace, const struct cli_timeline_run *run,
		       bool html, FILE *out)
{
	struct tl_model model;
	int rc = cli_timeline_model_build(trace, run, &model);
	if (rc < 0)
		return rc;
	if (html)
		cli_timeline_write_html(&model, run, out);
	else
		cli_timeline_write_json(&model, run, out);
	cli_timeline_model_deinit(&model);
	return 0;
}

/* ---- A campaign's failures (run --timeline-dir) ---- */

/* Records a timeline keeps (replay's bound: every catalog scenario at default sizes). */
#define TIMELINE_RECORDS_MAX (4u * 1024 * 1024)

/* Writes one file of a failure's timeline; false after a one-line error. */
static bool timeline_file_write(const char *path, const struct gale_trace *trace,
				const struct cli_timeline_run *run, bool html)
{
	FILE *out = cli_file_open(path);
	if (out == NULL)
		return false;
	int rc = cli_timeline_write(trace, run, html, out);
	bool closed = cli_file_close(out, path);
	if (rc < 0)
		fprintf(stderr, "%s: %s: cannot make the timeline: %s\n", cli_program.name, path,
			strerror(-rc));
	return rc == 0 && closed;
}

/* Reruns failure on sim keeping its trace, and writes its two files into dir. */
static bool timeline_failure_write(const struct cli_campaign *campaign,
				   const struct cli_failure *failure, const char *dir)
{
	const struct gale_scenario *scenario = campaign->scenarios[failure->unit.scenario_index];
	struct gale_run_options options = {
		.seed = failure->unit.seed,
		.profile = campaign->swarm ? NULL : gale_fault_profile_find(campaign->profile_name),
		.swarm = campaign->swarm,
		.trace_records_max = TIMELINE_RECORDS_MAX,
	};
	struct gale_trace trace;
	struct gale_run_result result;
	int status = gale_scenario_run(scenario, &options, &trace, &result);
	char command[4096], path[4096];
	cli_replay_command(campaign, failure, command, sizeof(command));
	struct cli_timeline_run run = {.scenario = scenario->name, .command = command,
				       .status = status, .result = &result};
	bool ok = true;
	for (int html = 0; html < 2 && ok; html++) {
		snprintf(path, sizeof(path), "%s/%s-seed%" PRIu64 ".%s", dir, scenario->name,
			 failure->unit.seed, html ? "html" : "json");
		ok = timeline_file_write(path, &trace, &run, html == 1);
	}
	if (ok && result.trace_hash != failure->outcome.result.trace_hash)
		printf("timeline: %s seed %" PRIu64 ": the rerun's trace hash differs from the "
		       "campaign's (0x%016" PRIx64 " vs 0x%016" PRIx64 ")\n", scenario->name,
		       failure->unit.seed, result.trace_hash, failure->outcome.result.trace_hash);
	gale_trace_deinit(&trace);
	return ok;
}

bool cli_timeline_dir_write(const struct cli_campaign *campaign, const struct cli_report *report,
			    const char *dir)
{
	if (report->failures_count == 0)
		return true;
	if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
		fprintf(stderr, "%s: --timeline-dir %s: %s\n", cli_program.name, dir,
			strerror(errno));
		return false;
	}
	size_t written = 0;
	for (size_t i = 0; i < report->failures_count; i++) {
		const struct cli_failure *failure = &report->failures[i];
		const char *name = campaign->scenarios[failure->unit.scenario_index]->name;
		bool crashed = failure->outcome.status != 1;
		if (crashed || cli_backend_is_kernel(failure->outcome.backend)) {
			printf("timeline: %s seed %" PRIu64 ": not written (%s)\n", name,
			       failure->unit.seed,
			       crashed ? "it crashed or hung: replay it to see where"
				       : "a kernel run does not replay exactly");
			continue;
		}
		if (!timeline_failure_write(campaign, failure, dir))
			return false;
		written++;
	}
	printf("timelines of %zu failure%s written to %s/ (.html: open in a browser; .json: "
	       "https://ui.perfetto.dev)\n", written, written == 1 ? "" : "s", dir);
	return true;
}
