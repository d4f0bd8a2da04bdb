/* SPDX-License-Identifier: MIT */
/*
 * The scenario runner's oracles that look at the whole world: a stall told apart into a
 * lost wakeup or a deadlock, the limits (livelock), stream integrity (the sim's record and
 * observed duplexes, checked byte for byte against a shadow copy), leaks at the end, and
 * guard misuse reported by the reactor. Each failure message names the tasks and the
 * resources involved; scenario.c adds the trace step.
 *
 * Sections: message text; pending tasks; stall and lost wakeup; limits; streams; leaks;
 * misuse; observed duplexes.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gale/duplex.h>
#include <gale/error.h>
#include <gale/scenario.h>
#include <gale/sim.h>

#include "scenario_internal.h"

/* What one failure message can hold (the result's message buffer). */
#define ORACLE_TEXT_MAX 512
/* Pending tasks a stall or limit message names at most. */
#define ORACLE_TASKS_NAMED_MAX 6

/* ---- Message text ---------------------------------------------------------------------------- */

/* A bounded text being appended to; output past the end is dropped, never overflows. */
struct oracle_text {
	char buf[ORACLE_TEXT_MAX];
	size_t len;
};

static void text_add(struct oracle_text *text, const char *format, ...) GALE_PRINTF(2, 3);

static void text_add(struct oracle_text *text, const char *format, ...)
{
	assert(text != NULL && format != NULL);
	assert(text->len < sizeof(text->buf));
	va_list args;
	va_start(args, format);
	int n = vsnprintf(text->buf + text->len, sizeof(text->buf) - text->len, format, args);
	va_end(args);
	if (n > 0)
		text->len += (size_t)n;
	if (text->len >= sizeof(text->buf))
		text->len = sizeof(text->buf) - 1;
}

/* "fd 1048576 socketpair registered" (the sim's own words; the runner's on a real kernel). */
static void fd_text(struct gale_scenario_state *state, int fd, char *buf, size_t len)
{
	assert(state != NULL);
	assert(buf != NULL && len > 0);
	gale__scenario_fd_describe(state, fd, buf, len);
}

/* ---- Pending tasks --------------------------------------------------------------------------- */

struct pending_tasks {
	struct gale_task_handle *handles;
	bool *runnable;
	uint32_t len;
	uint32_t cap;
};

static void pending_add(void *data, struct gale_task_handle handle, bool runnable)
{
	struct pending_tasks *pending = data;
	assert(pending != NULL);
	assert(handle.id != 0);
	if (pending->len == pending->cap)
		return;
	pending->handles[pending->len] = handle;
	pending->runnable[pending->len] = runnable;
	pending->len++;
}

/* Collects the unfinished tasks. false: out of memory (nothing to free then). */
static bool pending_collect(struct gale_scenario_state *state, struct pending_tasks *pending)
{
	assert(state != NULL && state->runtime_ready);
	assert(pending != NULL);
	struct gale_executor *executor = &state->run->runtime.executor;
	uint32_t cap = gale_executor_live_count(executor);
	*pending = (struct pending_tasks){.cap = cap};
	pending->handles = calloc(cap > 0 ? cap : 1, sizeof(*pending->handles));
	pending->runnable = calloc(cap > 0 ? cap : 1, sizeof(*pending->runnable));
	if (pending->handles == NULL || pending->runnable == NULL) {
		free(pending->handles);
		free(pending->runnable);
		return false;
	}
	(void)gale_executor_task_for_each_pending(executor, pending_add, pending);
	return true;
}

static void pending_free(struct pending_tasks *pending)
{
	assert(pending != NULL);
	free(pending->handles);
	free(pending->runnable);
}

/* ---- Stall and lost wakeup ------------------------------------------------------------------- */

static const char *interest_verb(uint32_t interest)
{
	if (interest == GALE_READY_READ)
		return "read";
	if (interest == GALE_READY_WRITE)
		return "write";
	return "read or write";
}

/* Describes the observed duplex holding waker into buf; false when none does. */
static bool duplex_holder_find(struct gale_scenario_state *state, const struct gale_waker *waker,
			       char *buf, size_t len)
{
	assert(state != NULL && waker != NULL);
	for (uint32_t i = 0; i < state->duplexes_len; i++) {
		const struct scenario_duplex *record = state->duplexes[i];
		unsigned end = 0;
		bool writing = false;
		if (record->duplex == NULL ||
		    !gale_duplex_waker_find(record->duplex, waker, &end, &writing))
			continue;
		(void)snprintf(buf, len, "waits to %s end %u of duplex #%u",
			       writing ? "write" : "read", end, record->number);
		return true;
	}
	return false;
}

/* Describes what holds the task's waker into buf ("waits to read fd ..."); false: nothing
 * the runner can see does. */
static bool holder_find(struct gale_scenario_state *state, struct gale_task_handle handle,
			char *buf, size_t len)
{
	struct gale_runtime *runtime = &state->run->runtime;
	assert(buf != NULL && len > 0);
	struct gale_waker waker = gale_executor_waker(&runtime->executor, handle);
	uint64_t token = 0;
	uint32_t interest = 0;
	if (gale_reactor_waker_find(&runtime->reactor, &waker, &token, &interest)) {
		char described[128];
		fd_text(state, gale_reactor_fd(&runtime->reactor, token), described,
			sizeof(described));
		(void)snprintf(buf, len, "waits to %s %s", interest_verb(interest), described);
		return true;
	}
	int64_t deadline_ns = 0;
	if (gale_runtime_timer_holds_waker(runtime, &waker, &deadline_ns)) {
		(void)snprintf(buf, len, "sleeps until %lld ns", (long long)deadline_ns);
		return true;
	}
	struct gale_task_handle joined;
	if (gale_executor_joiner_find(&runtime->executor, &waker, &joined)) {
		char label[96];
		gale__scenario_task_label(state, joined, label, sizeof(label));
		(void)snprintf(buf, len, "joins %s", label);
		return true;
	}
	return duplex_holder_find(state, &waker, buf, len);
}

static void oracle_lost_wakeup(struct gale_scenario_state *state, struct gale_task_handle handle,
			       uint32_t pending_count)
{
	assert(state != NULL);
	assert(handle.id != 0);
	struct oracle_text text = {.len = 0};
	char label[96];
	gale__scenario_task_label(state, handle, label, sizeof(label));
	text_add(&text, "task %s (of %u pending) is pending and no waker the runtime can see "
		 "names it (reactor slots and waiters, timers, joins, observed duplexes): "
		 "nothing can wake it", label, pending_count);
	const struct scenario_task *task = gale__scenario_task_get(state, handle, false);
	for (int i = 0; task != NULL && i < SCENARIO_TASK_FDS_MAX && task->fds[i] >= 0; i++) {
		char described[128];
		fd_text(state, task->fds[i], described, sizeof(described));
		text_add(&text, i == 0 ? "; it last touched %s" : ", then %s", described);
	}
	text_add(&text, ". (If its waker is kept where the runner cannot see, in the scenario's "
		 "own object or a wrapping combinator, this is a deadlock instead.)");
	gale__scenario_failf(state, GALE_ORACLE_LOST_WAKEUP, "%s", text.buf);
}

void gale__scenario_oracle_stall(struct gale_scenario_state *state)
{
	assert(state != NULL && state->runtime_ready);
	struct pending_tasks pending;
	if (!pending_collect(state, &pending)) {
		gale__scenario_failf(state, GALE_ORACLE_STALL, "tasks pending, nothing scheduled "
				     "(the runner ran out of memory naming them)");
		return;
	}
	char holders[ORACLE_TASKS_NAMED_MAX][192];
	for (uint32_t i = 0; i < pending.len; i++) {
		char holder[192];
		if (!holder_find(state, pending.handles[i], holder, sizeof(holder))) {
			oracle_lost_wakeup(state, pending.handles[i], pending.len);
			pending_free(&pending);
			return;
		}
		if (i < ORACLE_TASKS_NAMED_MAX)
			memcpy(holders[i], holder, sizeof(holder));
	}
	struct oracle_text text = {.len = 0};
	text_add(&text, "deadlock: %u task%s pending, each waiting, and nothing scheduled can "
		 "wake any: ", pending.len, pending.len == 1 ? "" : "s");
	for (uint32_t i = 0; i < pending.len && i < ORACLE_TASKS_NAMED_MAX; i++) {
		char label[96];
		gale__scenario_task_label(state, pending.handles[i], label, sizeof(label));
		text_add(&text, "%s%s %s", i == 0 ? "" : "; ", label, holders[i]);
	}
	pending_free(&pending);
	gale__scenario_failf(state, GALE_ORACLE_STALL, "%s", text.buf);
}

/* ---- Limits ---------------------------------------------------------------------------------- */

void gale__scenario_oracle_limit(struct gale_scenario_state *state, const char *what)
{
	assert(state != NULL && what != NULL);
	assert(state->runtime_ready);
	struct oracle_text text = {.len = 0};
	text_add(&text, "livelock: %s", what);
	struct pending_tasks pending;
	if (pending_collect(state, &pending)) {
		text_add(&text, "; unfinished:");
		for (uint32_t i = 0; i < pending.len && i < ORACLE_TASKS_NAMED_MAX; i++) {
			char label[96];
			gale__scenario_task_label(state, pending.handles[i], label, sizeof(label));
			text_add(&text, "%s %s (%s)", i == 0 ? "" : ",", label,
				 pending.runnable[i] ? "runnable" : "waiting");
		}
		pending_free(&pending);
	}
	gale__scenario_failf(state, GALE_ORACLE_LIMIT, "%s", text.buf);
}

/* ---- Streams --------------------------------------------------------------------------------- */

void gale__scenario_oracle_streams(struct gale_scenario_state *state)
{
	assert(state != NULL);
	/* On a real kernel scenario_streams.c checks each read as it happens. */
	if (state->backend != GALE_BACKEND_SIM || state->failed ||
	    gale_sim_check_streams(&state->run->sim, NULL, 0) == 0)
		return;
	char message[320];
	(void)gale_sim_check_streams(&state->run->sim, message, sizeof(message));
	gale__scenario_failf(state, GALE_ORACLE_STREAM, "%s", message);
}

/* ---- Leaks ----------------------------------------------------------------------------------- */

/* Names the leaked fds: what they are and who opened them. */
static void leaks_fds_text(struct gale_scenario_state *state, const struct gale_sim_leaks *leaks,
			   struct oracle_text *text)
{
	assert(state != NULL);
	assert(leaks != NULL && text != NULL);
	for (uint32_t i = 0; i < leaks->fds_len; i++) {
		char described[128];
		fd_text(state, leaks->fds[i], described, sizeof(described));
		text_add(text, "%s%s", i == 0 ? ": " : "; ", described);
		const struct scenario_fd *record = gale__scenario_fd_get(state, leaks->fds[i]);
		if (record == NULL || record->opener == 0)
			continue;
		char label[96];
		gale__scenario_task_label(state, state->tasks[record->opener - 1].handle, label,
					  sizeof(label));
		text_add(text, ", opened by %s", label);
	}
}

/* What a real backend left: the fds opened through the runner's driver and not closed,
 * and the registrations it saw (a kernel fd opened behind its back is not seen). */
static void leaks_real(struct gale_scenario_state *state, struct gale_sim_leaks *leaks)
{
	*leaks = (struct gale_sim_leaks){.registrations_count = state->tokens_len};
	for (uint32_t i = 0; i < state->fds_cap; i++) {
		if (!state->fds[i].open)
			continue;
		leaks->fds_open_count++;
		if (leaks->fds_len < GALE_SIM_LEAKS_FDS_MAX)
			leaks->fds[leaks->fds_len++] = state->fd_base + (int)i;
	}
}

void gale__scenario_oracle_leaks(struct gale_scenario_state *state)
{
	assert(state != NULL && state->runtime_ready);
	if (state->failed)
		return;
	struct gale_runtime *runtime = &state->run->runtime;
	struct gale_sim_leaks leaks;
	if (state->backend == GALE_BACKEND_SIM)
		(void)gale_sim_leaks(&state->run->sim, &leaks);
	else
		leaks_real(state, &leaks);
	uint32_t registrations = gale_reactor_registrations_count(&runtime->reactor);
	uint32_t timers = gale_runtime_timers_count(runtime);
	if (leaks.fds_open_count == 0 && leaks.registrations_count == 0 && registrations == 0 &&
	    timers == 0)
		return;
	struct oracle_text text = {.len = 0};
	text_add(&text, "leak at the end: %u fd%s open, %u reactor registration%s, %u timer%s "
		 "armed", leaks.fds_open_count, leaks.fds_open_count == 1 ? "" : "s",
		 registrations, registrations == 1 ? "" : "s", timers, timers == 1 ? "" : "s");
	leaks_fds_text(state, &leaks, &text);
	if (registrations > leaks.registrations_count)
		text_add(&text, " (a registered fd was closed without deregistering it)");
	if (timers > 0)
		text_add(&text, " (a sleep or timeout dropped without its deinit)");
	gale__scenario_failf(state, GALE_ORACLE_LEAK, "%s", text.buf);
}

/* ---- Misuse ---------------------------------------------------------------------------------- */

void gale__scenario_misuse(void *data, const char *message)
{
	struct gale_scenario_state *state = data;
	assert(state != NULL && message != NULL);
	gale__scenario_failf(state, GALE_ORACLE_READINESS,
			     "%s: a guard stands for one observation of readiness and is consumed "
			     "once (clear_ready, clear_ready_matching, retain_ready or try_io)",
			     message);
}

/* ---- Observed duplexes ----------------------------------------------------------------------- */

/* Appends to the FIFO of bytes written and not yet read. false: out of memory. */
static bool shadow_append(struct scenario_shadow *shadow, const uint8_t *bytes, size_t len)
{
	assert(shadow != NULL && bytes != NULL);
	assert(shadow->head + shadow->len <= shadow->cap);
	if (shadow->head > 0 && len > shadow->cap - shadow->head - shadow->len) {
		memmove(shadow->buf, shadow->buf + shadow->head, shadow->len);
		shadow->head = 0;
	}
	if (len > shadow->cap - shadow->len) {
		size_t cap = shadow->cap == 0 ? 256 : shadow->cap;
		while (cap - shadow->len < len)
			cap *= 2;
		uint8_t *buf = realloc(shadow->buf, cap);
		if (buf == NULL)
			return false;
		shadow->buf = buf;
		shadow->cap = cap;
	}
	memcpy(shadow->buf + shadow->head + shadow->len, bytes, len);
	shadow->len += len;
	return true;
}

static void duplex_on_write(void *data, unsigned end, const void *bytes, size_t len)
{
	struct scenario_duplex *record = data;
	assert(record != NULL && end < 2);
	assert(bytes != NULL && len > 0);
	struct gale_scenario_state *state = record->state;
	gale__scenario_side(state, GALE_TRACE_DUPLEX, GALE_TRACE_DUPLEX_WRITE, (int)record->number,
			    end, (int64_t)len);
	if (state->failed)
		return;
	if (!shadow_append(&record->shadows[end], bytes, len)) {
		gale__scenario_failf(state, GALE_ORACLE_SETUP, "the runner ran out of memory");
		return;
	}
	if (record->expects[end] == NULL)
		return;
	char what[48];
	(void)snprintf(what, sizeof(what), "duplex #%u end %u", record->number, end);
	gale__scenario_expect_check(state, record->expects[end], what, bytes, len);
}

/* Reading end read len bytes that end 1 - reading wrote; compares them with the shadow. */
static void duplex_read_check(struct scenario_duplex *record, unsigned reading,
			      const uint8_t *bytes, size_t len)
{
	struct scenario_shadow *shadow = &record->shadows[1 - reading];
	assert(bytes != NULL && len > 0);
	assert(shadow->head + shadow->len <= shadow->cap);
	if (len > shadow->len) {
		gale__scenario_failf(record->state, GALE_ORACLE_STREAM,
				     "duplex #%u: end %u read %zu bytes, but end %u wrote only %zu "
				     "that were not read yet (bytes delivered twice)",
				     record->number, reading, len, 1 - reading, shadow->len);
		return;
	}
	const uint8_t *expected = shadow->buf + shadow->head;
	for (size_t i = 0; i < len; i++) {
		if (bytes[i] == expected[i])
			continue;
		gale__scenario_failf(record->state, GALE_ORACLE_STREAM,
				     "duplex #%u: byte %llu read by end %u is 0x%02x, but end %u "
				     "wrote 0x%02x there (bytes lost, reordered or corrupted)",
				     record->number, (unsigned long long)(shadow->read_count + i),
				     reading, bytes[i], 1 - reading, expected[i]);
		return;
	}
	shadow->head += len;
	shadow->len -= len;
	shadow->read_count += len;
	if (shadow->len == 0)
		shadow->head = 0;
}

static void duplex_on_read(void *data, unsigned end, const void *bytes, size_t len)
{
	struct scenario_duplex *record = data;
	assert(record != NULL && end < 2);
	gale__scenario_side(record->state, GALE_TRACE_DUPLEX, GALE_TRACE_DUPLEX_READ,
			    (int)record->number, end, (int64_t)len);
	if (record->state->failed)
		return;
	if (len > 0) {
		duplex_read_check(record, end, bytes, len);
		return;
	}
	const struct scenario_shadow *shadow = &record->shadows[1 - end];
	if (shadow->len > 0)
		gale__scenario_failf(record->state, GALE_ORACLE_STREAM,
				     "duplex #%u: end %u read the end of stream, but %zu bytes end "
				     "%u wrote were never delivered: bytes lost",
				     record->number, end, shadow->len, 1 - end);
}

static void duplex_on_deinit(void *data)
{
	struct scenario_duplex *record = data;
	assert(record != NULL && record->duplex != NULL);
	record->duplex = NULL;
}

/* The live record observing duplex, or NULL. */
static struct scenario_duplex *duplex_find(struct gale_scenario_state *state,
					   const struct gale_duplex *duplex)
{
	assert(state != NULL && duplex != NULL);
	for (uint32_t i = 0; i < state->duplexes_len; i++) {
		if (state->duplexes[i]->duplex == duplex)
			return state->duplexes[i];
	}
	return NULL;
}

static int duplex_observe(struct gale_scenario_state *state, struct gale_duplex *duplex,
			  struct scenario_duplex **record_out)
{
	assert(state != NULL && duplex != NULL);
	assert(record_out != NULL);
	if (state->duplexes_len == state->duplexes_cap) {
		uint32_t cap = state->duplexes_cap == 0 ? 4 : state->duplexes_cap * 2;
		struct scenario_duplex **grown = realloc(state->duplexes, cap * sizeof(*grown));
		if (grown == NULL)
			return -ENOMEM;
		state->duplexes = grown;
		state->duplexes_cap = cap;
	}
	struct scenario_duplex *record = calloc(1, sizeof(*record));
	if (record == NULL)
		return -ENOMEM;
	record->state = state;
	record->duplex = duplex;
	record->number = state->duplexes_len + 1;
	record->observer = (struct gale_stream_observer){
		.on_write = duplex_on_write,
		.on_read = duplex_on_read,
		.on_deinit = duplex_on_deinit,
		.data = record,
	};
	state->duplexes[state->duplexes_len++] = record;
	gale_duplex_observer_set(duplex, &record->observer);
	*record_out = record;
	return 0;
}

int gale_scenario_observe_duplex(struct gale_scenario_run *run, struct gale_duplex *duplex)
{
	assert(run != NULL && run->priv_state != NULL);
	assert(duplex != NULL);
	if (duplex_find(run->priv_state, duplex) != NULL)
		return -EEXIST;
	struct scenario_duplex *record;
	return duplex_observe(run->priv_state, duplex, &record);
}

int gale_scenario_stream_expect_duplex(struct gale_scenario_run *run, struct gale_duplex *duplex,
				       unsigned end, const void *bytes, size_t len)
{
	assert(run != NULL && run->priv_state != NULL);
	assert(duplex != NULL);
	if (end > 1)
		return -EINVAL;
	struct scenario_duplex *record = duplex_find(run->priv_state, duplex);
	if (record == NULL) {
		int rc = duplex_observe(run->priv_state, duplex, &record);
		if (rc < 0)
			return rc;
	}
	if (record->expects[end] != NULL)
		return -EEXIST;
	record->expects[end] = gale__scenario_expect_new(bytes, len);
	return record->expects[end] != NULL ? 0 : -ENOMEM;
}

void gale__scenario_duplexes_deinit(struct gale_scenario_state *state)
{
	assert(state != NULL);
	assert(state->duplexes_len <= state->duplexes_cap);
	for (uint32_t i = 0; i < state->duplexes_len; i++) {
		struct scenario_duplex *record = state->duplexes[i];
		for (unsigned e = 0; e < 2; e++) {
			free(record->shadows[e].buf);
			gale__scenario_expect_free(record->expects[e]);
		}
		free(record);
	}
	free(state->duplexes);
	state->duplexes = NULL;
	state->duplexes_len = 0;
	state->duplexes_cap = 0;
}
