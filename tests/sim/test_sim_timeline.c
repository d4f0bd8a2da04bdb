/* SPDX-License-Identifier: MIT */
/*
 * Timelines (`replay --timeline / --html`, `run --timeline-dir`), checked as a user looks
 * at them.
 *
 * Methodology: a deliberately broken scenario (a reader that takes one read of a 200 KB
 * message for the whole message: a short read fails oracle CONTRACT, as kv's planted bug
 * does) is run over seeds 0, 1, 2... under the default profile until one fails with a
 * fault injected on an fd. Its timeline is then:
 *   - written as Chrome trace-event JSON and validated against the format: every event
 *     has name, ph, ts, pid and tid, ph is one the format defines, X events have a dur,
 *     every track an event uses is named by a thread_name metadata event; one poll slice
 *     per task poll, one instant per injected fault (with its step), the failure once,
 *     with the oracle's message and step;
 *   - written as HTML and opened in headless Chromium (--dump-dom, then --screenshot):
 *     the page must load without a script error (it writes "ok" or the error into its
 *     title; console errors are read from Chromium's log too), show the failure message
 *     and draw the expected number of tracks. Without a `chromium` on PATH these checks
 *     are skipped with a message (scripts/deps.sh installs it).
 * Side records (polls, registrations, clears) must change no trace hash: runs with and
 * without kept records give the same hash. The executor's poll observer, which feeds the
 * poll records, is pinned directly. Reproduce a failure with GALE_TEST_SEED unset: the
 * hunt is deterministic.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gale/async_fd.h>
#include <gale/error.h>
#include <gale/rt.h>
#include <gale/scenario.h>
#include <gale/sim_trace.h>

#include "catalog.h"
#include "cli.h"
#include "cli_json.h"
#include "test_support.h"

#define MESSAGE_LEN 200000
#define HUNT_SEEDS_MAX 100
#define RECORDS_MAX (1u << 22)
#define BROWSER_TIMEOUT_S 120

/* ---- The broken scenario --------------------------------------------------------------------- */

struct short_state {
	struct gale_scenario_run *run;
	struct gale_async_fd ends[2]; /* [0] written, [1] read. */
	bool open[2];                 /* Not closed yet. */
	size_t written;               /* Bytes of the message written. */
	uint8_t message[MESSAGE_LEN]; /* What is written. */
	uint8_t received[MESSAGE_LEN]; /* What one read got. */
};

static ssize_t short_write_io(void *data, struct gale_driver *driver, int fd)
{
	struct short_state *st = data;
	return gale_driver_write(driver, fd, st->message + st->written, MESSAGE_LEN - st->written);
}

static ssize_t short_read_io(void *data, struct gale_driver *driver, int fd)
{
	struct short_state *st = data;
	return gale_driver_read(driver, fd, st->received, MESSAGE_LEN);
}

static void short_close(struct short_state *st, int end)
{
	if (st->open[end])
		(void)gale_async_fd_close(&st->ends[end]);
	st->open[end] = false;
}

static int short_writer_poll(void *data, struct gale_cx *cx)
{
	struct short_state *st = data;
	while (st->written < MESSAGE_LEN) {
		ssize_t n = 0;
		int rc = gale_async_fd_poll_io(&st->ends[0], cx, GALE_DIRECTION_WRITE,
					       short_write_io, st, &n);
		if (rc != 0)
			return rc;
		if (n <= 0)
			return n < 0 ? (int)n : -EIO;
		st->written += (size_t)n;
	}
	short_close(st, 0);
	return 0;
}

/* BUG: one read taken for the whole message. */
static int short_reader_poll(void *data, struct gale_cx *cx)
{
	struct short_state *st = data;
	ssize_t n = 0;
	int rc = gale_async_fd_poll_io(&st->ends[1], cx, GALE_DIRECTION_READ, short_read_io, st,
				       &n);
	if (rc != 0)
		return rc;
	if (n != MESSAGE_LEN)
		gale_scenario_fail(st->run, GALE_ORACLE_CONTRACT,
				   "read_exact(%d) on fd %d completed with %zd bytes: a short read "
				   "is not the whole message", MESSAGE_LEN,
				   gale_async_fd_fd(&st->ends[1]), n);
	short_close(st, 1);
	return 0;
}

static int short_setup(struct gale_scenario_run *run, void *state)
{
	struct short_state *st = state;
	st->run = run;
	for (size_t i = 0; i < MESSAGE_LEN; i++)
		st->message[i] = (uint8_t)(i * 7 + 1);
	int fds[2];
	int rc = gale_driver_socketpair(gale_scenario_driver(run), fds);
	if (rc < 0)
		return rc;
	for (int end = 0; end < 2; end++) {
		rc = gale_async_fd_init(&st->ends[end], &run->runtime, fds[end]);
		if (rc < 0) {
			(void)gale_driver_close(gale_scenario_driver(run), fds[end]);
			continue;
		}
		st->open[end] = true;
	}
	if (!st->open[0] || !st->open[1])
		return -ENOMEM;
	rc = gale_scenario_spawn(run, "writer", short_writer_poll, st, false, NULL);
	if (rc == 0)
		rc = gale_scenario_spawn(run, "reader", short_reader_poll, st, false, NULL);
	return rc;
}

static void short_teardown(struct gale_scenario_run *run, void *state)
{
	(void)run;
	short_close(state, 0);
	short_close(state, 1);
}

static const struct gale_scenario short_scenario = {
	.name = "short-read",
	.description = "a reader takes one read of a 200 KB message for the whole message",
	.state_size = sizeof(struct short_state),
	.setup = short_setup,
	.teardown = short_teardown,
};

/* ---- The failure under test ------------------------------------------------------------------ */

struct failure {
	uint64_t seed;
	int status;
	struct gale_run_result result;
	struct gale_trace trace;
};

static bool trace_has_fd_fault(const struct gale_trace *trace)
{
	const struct gale_trace_record *records = gale_trace_records(trace);
	for (size_t i = 0; i < gale_trace_kept_count(trace); i++)
		if (records[i].kind == GALE_TRACE_FAULT && records[i].fd >= 0)
			return true;
	return false;
}

/* The first seed that fails with CONTRACT and a fault on an fd, its trace kept. */
static void failure_find(struct failure *out)
{
	struct gale_run_options options = {.profile = gale_fault_profile_find("default"),
					   .trace_records_max = RECORDS_MAX};
	for (uint64_t seed = 0; seed < HUNT_SEEDS_MAX; seed++) {
		options.seed = seed;
		out->seed = seed;
		out->status = gale_scenario_run(&short_scenario, &options, &out->trace,
						&out->result);
		if (out->status == 1 && out->result.oracle == GALE_ORACLE_CONTRACT &&
		    trace_has_fd_fault(&out->trace))
			return;
		assert_true(out->status == 1 || out->status == 0);
		gale_trace_deinit(&out->trace);
	}
	fail_msg("short-read: no seed below %d failed with a fault on an fd", HUNT_SEEDS_MAX);
}

/* Tracks the timeline must show: the runtime, each task, each fd, faults without an fd. */
static size_t tracks_expected(const struct gale_trace *trace, size_t *fds_out)
{
	int fds[16];
	size_t fds_count = 0;
	bool faults_without_fd = false;
	const struct gale_trace_record *records = gale_trace_records(trace);
	for (size_t i = 0; i < gale_trace_kept_count(trace); i++) {
		const struct gale_trace_record *r = &records[i];
		faults_without_fd = faults_without_fd || (r->kind == GALE_TRACE_FAULT && r->fd < 0);
		if (r->kind != GALE_TRACE_OP || r->fd < 0)
			continue;
		bool seen = false;
		for (size_t k = 0; k < fds_count; k++)
			seen = seen || fds[k] == r->fd;
		if (!seen && fds_count < 16)
			fds[fds_count++] = r->fd;
	}
	*fds_out = fds_count;
	return 1 + 2 + fds_count + (faults_without_fd ? 1 : 0);
}

static char *timeline_text(const struct failure *failure, bool html, size_t *len_out)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	assert_non_null(out);
	struct cli_timeline_run run = {.scenario = short_scenario.name,
				       .command = "test replay --scenario short-read",
				       .status = failure->status, .result = &failure->result};
	assert_int_equal(cli_timeline_write(&failure->trace, &run, html, out), 0);
	assert_int_equal(fclose(out), 0);
	*len_out = len;
	return text;
}

/* ---- The JSON, against the trace-event format ---------------------------------------------- */

struct json_counts {
	size_t polls;     /* X events of category poll. */
	size_t faults;    /* Instants of category fault. */
	size_t failures;  /* The failure event. */
	uint64_t used[64]; /* tids events use. */
	size_t used_count;
	uint64_t named[64]; /* tids a thread_name names. */
	size_t named_count;
};

static bool string_in(const char *value, const char *const *set)
{
	for (; value != NULL && *set != NULL; set++)
		if (strcmp(value, *set) == 0)
			return true;
	return false;
}

static void tid_add(uint64_t *tids, size_t *count, uint64_t tid)
{
	for (size_t i = 0; i < *count; i++)
		if (tids[i] == tid)
			return;
	assert_true(*count < 64);
	tids[(*count)++] = tid;
}

/* One event: the fields the format requires, and what it says about the run. */
static void json_event_check(const struct cli_json *event, const struct failure *failure,
			     struct json_counts *counts)
{
	static const char *const phases[] = {"B", "E", "X", "i", "I", "M", "C", "b", "e", "n",
					     "s", "t", "f", "P", "O", "N", "D", NULL};
	const char *ph = cli_json_string(cli_json_get(event, "ph"));
	uint64_t tid = 0, pid = 0;
	assert_non_null(cli_json_string(cli_json_get(event, "name")));
	assert_true(string_in(ph, phases));
	assert_non_null(cli_json_get(event, "ts"));
	assert_int_equal(cli_json_get(event, "ts")->kind, CLI_JSON_NUMBER);
	assert_true(cli_json_u64(cli_json_get(event, "pid"), &pid));
	assert_true(cli_json_u64(cli_json_get(event, "tid"), &tid));
	const char *name = cli_json_string(cli_json_get(event, "name"));
	const struct cli_json *args = cli_json_get(event, "args");
	if (strcmp(ph, "M") == 0) {
		if (strcmp(name, "thread_name") == 0) {
			assert_non_null(cli_json_string(cli_json_get(args, "name")));
			tid_add(counts->named, &counts->named_count, tid);
		}
		return;
	}
	tid_add(counts->used, &counts->used_count, tid);
	uint64_t step = 0;
	assert_true(cli_json_u64(cli_json_get(args, "step"), &step));
	if (strcmp(ph, "X") == 0) {
		assert_non_null(cli_json_get(event, "dur"));
		assert_int_equal(cli_json_get(event, "dur")->kind, CLI_JSON_NUMBER);
	}
	const char *cat = cli_json_string(cli_json_get(event, "cat"));
	counts->polls += cat != NULL && strcmp(cat, "poll") == 0 && strcmp(ph, "X") == 0;
	if (cat != NULL && strcmp(cat, "fault") == 0) {
		counts->faults++;
		assert_non_null(cli_json_string(cli_json_get(args, "kind")));
		assert_non_null(cli_json_get(args, "fd"));
	}
	if (cat != NULL && strcmp(cat, "failure") == 0) {
		counts->failures++;
		assert_int_equal(step, failure->result.failure_step);
		assert_string_equal(cli_json_string(cli_json_get(args, "message")),
				    failure->result.message);
	}
}

static void test_json_is_trace_event_format(void **state)
{
	(void)state;
	struct failure failure;
	failure_find(&failure);
	size_t len = 0, fds = 0;
	char *text = timeline_text(&failure, false, &len);
	char error[128];
	struct cli_json *root = cli_json_parse(text, len, error, sizeof(error));
	if (root == NULL)
		fail_msg("timeline JSON does not parse: %s", error);
	const struct cli_json *events = cli_json_get(root, "traceEvents");
	assert_non_null(events);
	assert_int_equal(events->kind, CLI_JSON_ARRAY);
	struct json_counts counts = {0};
	for (const struct cli_json *event = events->child; event != NULL; event = event->next)
		json_event_check(event, &failure, &counts);
	for (size_t i = 0; i < counts.used_count; i++) {
		bool named = false;
		for (size_t k = 0; k < counts.named_count; k++)
			named = named || counts.named[k] == counts.used[i];
		assert_true(named);
	}
	size_t faults = 0;
	for (int kind = 0; kind < GALE_FAULT_COUNT; kind++)
		faults += failure.result.sim.faults.injected[kind];
	assert_int_equal(counts.polls, failure.result.polls_count);
	assert_int_equal(counts.faults, faults);
	assert_int_equal(counts.failures, 1);
	assert_int_equal(counts.named_count, tracks_expected(&failure.trace, &fds));
	assert_int_equal(fds, 2);
	cli_json_free(root);
	free(text);
	gale_trace_deinit(&failure.trace);
}

/* ---- The page, in a browser ------------------------------------------------------------------ */

static bool browser_present(void)
{
	return system("command -v chromium >/dev/null 2>&1") == 0;
}

static void file_write(const char *path, const char *text, size_t len)
{
	FILE *out = fopen(path, "w");
	assert_non_null(out);
	assert_int_equal(fwrite(text, 1, len, out), len);
	assert_int_equal(fclose(out), 0);
}

static char *file_slurp(const char *path, size_t *len_out)
{
	FILE *in = fopen(path, "rb");
	assert_non_null(in);
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	char buf[65536];
	for (size_t n; (n = fread(buf, 1, sizeof(buf), in)) > 0;)
		fwrite(buf, 1, n, out);
	fclose(in);
	fclose(out);
	*len_out = len;
	return text;
}

/* Runs headless Chromium on page with what (e.g. "--dump-dom > f"); its exit status. */
static int browser_run(const char *dir, const char *page, const char *what)
{
	char command[2048];
	snprintf(command, sizeof(command),
		 "timeout %d chromium --headless --no-sandbox --disable-gpu --hide-scrollbars "
		 "--no-first-run --user-data-dir=%s/profile --enable-logging=stderr --v=0 "
		 "--window-size=1400,800 %s file://%s 2>>%s/console.txt",
		 BROWSER_TIMEOUT_S, dir, what, page, dir);
	return system(command);
}

static void test_page_loads_in_a_browser(void **state)
{
	(void)state;
	if (!browser_present()) {
		print_message("chromium not found: skipping the browser check of the timeline page "
			      "(scripts/deps.sh installs it)\n");
		skip();
	}
	struct failure failure;
	failure_find(&failure);
	char dir[] = "/tmp/gale-timeline-XXXXXX", page[128], path[160], what[256];
	assert_non_null(mkdtemp(dir));
	snprintf(page, sizeof(page), "%s/page.html", dir);
	size_t len = 0, fds = 0;
	char *html = timeline_text(&failure, true, &len);
	file_write(page, html, len);
	snprintf(what, sizeof(what), "--dump-dom > %s/dom.html", dir);
	assert_int_equal(browser_run(dir, page, what), 0);
	snprintf(path, sizeof(path), "%s/dom.html", dir);
	char *dom = file_slurp(path, &len);
	char title[96], tracks[64];
	size_t expected = tracks_expected(&failure.trace, &fds);
	snprintf(title, sizeof(title), "<title>gale timeline: ok, %zu tracks, ", expected);
	snprintf(tracks, sizeof(tracks), "data-tracks=\"%zu\"", expected);
	if (strstr(dom, title) == NULL || strstr(dom, tracks) == NULL)
		fail_msg("want %s and %s in the page; its title: %.200s", title, tracks,
			 strstr(dom, "<title>") != NULL ? strstr(dom, "<title>") : dom);
	assert_non_null(strstr(dom, "a short read is not the whole message"));
	assert_non_null(strstr(dom, "FAILED: oracle contract"));
	snprintf(path, sizeof(path), "%s/console.txt", dir);
	char *console = file_slurp(path, &len);
	assert_null(strstr(console, "Uncaught"));
	snprintf(what, sizeof(what), "--screenshot=%s/shot.png", dir);
	assert_int_equal(browser_run(dir, page, what), 0);
	snprintf(path, sizeof(path), "%s/shot.png", dir);
	char *png = file_slurp(path, &len);
	assert_true(len > 1000 && memcmp(png, "\x89PNG", 4) == 0);
	free(png);
	free(console);
	free(dom);
	free(html);
	snprintf(what, sizeof(what), "rm -rf %s", dir);
	assert_int_equal(system(what), 0);
	gale_trace_deinit(&failure.trace);
}

/* ---- run --timeline-dir ---------------------------------------------------------------------- */

static void test_campaign_writes_a_timeline_per_failure(void **state)
{
	(void)state;
	struct cli_campaign campaign = {
		.scenarios = {&short_scenario}, .scenarios_count = 1, .seed_first = 0,
		.seeds_count = 3, .profile_name = "none", .jobs = 1, .shard_count = 1,
		.program = "test",
	};
	struct cli_report report;
	assert_int_equal(cli_campaign_execute(&campaign, &report), 0);
	assert_int_equal(report.failures_count, 3); /* The buffer splits 200 KB: every seed. */
	char dir[] = "/tmp/gale-timeline-XXXXXX", path[160], command[200];
	assert_non_null(mkdtemp(dir));
	assert_true(cli_timeline_dir_write(&campaign, &report, dir));
	for (int seed = 0; seed < 3; seed++) {
		for (int html = 0; html < 2; html++) {
			snprintf(path, sizeof(path), "%s/short-read-seed%d.%s", dir, seed,
				 html ? "html" : "json");
			struct stat st;
			assert_int_equal(stat(path, &st), 0);
			assert_true(st.st_size > 1000);
		}
	}
	cli_report_deinit(&report);
	snprintf(command, sizeof(command), "rm -rf %s", dir);
	assert_int_equal(system(command), 0);
}

/* ---- Side records change no hash; the executor's observer ---------------------------------- */

static void test_side_records_change_no_hash(void **state)
{
	(void)state;
	size_t count = 0;
	const struct gale_scenario *const *catalog = gale_catalog_scenarios(&count);
	for (size_t i = 0; i < count; i++) {
		struct gale_run_options options = {.seed = 3,
						   .profile = gale_fault_profile_find("default")};
		struct gale_run_result bare, kept;
		struct gale_trace trace;
		int status = gale_scenario_run(catalog[i], &options, NULL, &bare);
		options.trace_records_max = RECORDS_MAX;
		assert_int_equal(gale_scenario_run(catalog[i], &options, &trace, &kept), status);
		assert_int_equal(bare.trace_hash, kept.trace_hash);
		assert_int_equal(bare.trace_count, kept.trace_count);
		/* Two side records per poll, in step order, none past the last record. */
		size_t polls = 0;
		const struct gale_trace_record *side = gale_trace_side_records(&trace);
		for (size_t k = 0; k < gale_trace_side_count(&trace); k++) {
			polls += side[k].kind == GALE_TRACE_POLL;
			assert_true(side[k].step <= gale_trace_count(&trace));
			assert_true(k == 0 || side[k].step >= side[k - 1].step);
		}
		assert_int_equal(polls, 2 * kept.polls_count);
		gale_trace_deinit(&trace);
	}
}

static void test_side_records_take_no_step(void **state)
{
	(void)state;
	struct gale_trace bare, sided, hash_only;
	gale_trace_init(&bare, NULL, 16);
	gale_trace_init(&sided, NULL, 16);
	gale_trace_init(&hash_only, NULL, 0);
	struct gale_trace_record op = {.time_ns = 5, .kind = GALE_TRACE_OP, .op = 2, .fd = 9,
				       .a = 4, .result = 4};
	struct gale_trace_record poll = {.kind = GALE_TRACE_POLL, .op = GALE_TRACE_POLL_END,
					 .fd = -1, .a = 0x100000003, .result = GALE_PENDING};
	gale_trace_append(&bare, op);
	gale_trace_append(&bare, op);
	gale_trace_append(&sided, op);
	gale_trace_side_append(&sided, poll);
	gale_trace_append(&sided, op);
	gale_trace_side_append(&hash_only, poll);
	assert_int_equal(gale_trace_hash(&sided), gale_trace_hash(&bare));
	assert_int_equal(gale_trace_count(&sided), 2);
	assert_int_equal(gale_trace_records(&sided)[1].step, 1);
	assert_int_equal(gale_trace_side_count(&sided), 1);
	assert_int_equal(gale_trace_side_records(&sided)[0].step, 1); /* Before record 1. */
	assert_int_equal(gale_trace_side_records(&sided)[0].result, GALE_PENDING);
	assert_int_equal(gale_trace_side_count(&hash_only), 0); /* Nothing kept: dropped. */
	gale_trace_name_set(&sided, 0x100000003, "client");
	gale_trace_name_set(&hash_only, 0x100000003, "client");
	assert_string_equal(gale_trace_name_get(&sided, 0x100000003), "client");
	assert_null(gale_trace_name_get(&sided, 0x100000004));
	assert_null(gale_trace_name_get(&hash_only, 0x100000003));
	gale_trace_deinit(&bare);
	gale_trace_deinit(&sided);
	gale_trace_deinit(&hash_only);
}

struct observed {
	uint64_t begins[8]; /* Task ids, in order. */
	uint64_t ends[8];
	int results[8];
	size_t begins_count;
	size_t ends_count;
};

static void observed_begin(void *data, struct gale_task_handle task)
{
	struct observed *seen = data;
	assert_true(seen->begins_count < 8);
	seen->begins[seen->begins_count++] = task.id;
}

static void observed_end(void *data, struct gale_task_handle task, int rc)
{
	struct observed *seen = data;
	assert_true(seen->ends_count < 8);
	seen->results[seen->ends_count] = rc;
	seen->ends[seen->ends_count++] = task.id;
}

/* Pending on its first poll (waking itself), 7 on its second. */
static int twice_poll(void *data, struct gale_cx *cx)
{
	int *polls = data;
	if ((*polls)++ == 0) {
		gale_waker_wake(&cx->waker);
		return GALE_PENDING;
	}
	return 7;
}

static void test_executor_observer_sees_every_poll(void **state)
{
	(void)state;
	struct gale_executor executor;
	assert_int_equal(gale_executor_init(&executor, NULL), 0);
	struct observed seen = {0};
	struct gale_executor_observer observer = {observed_begin, observed_end, &seen};
	gale_executor_observer_set(&executor, &observer);
	int polls = 0, result = 0;
	struct gale_task_handle task;
	assert_int_equal(gale_executor_spawn(&executor, twice_poll, &polls, &task), 0);
	assert_int_equal(gale_executor_run_ready(&executor, 0), 2);
	assert_int_equal(seen.begins_count, 2);
	assert_int_equal(seen.ends_count, 2);
	assert_int_equal(seen.begins[0], task.id);
	assert_int_equal(seen.ends[1], task.id);
	assert_int_equal(seen.results[0], GALE_PENDING);
	assert_int_equal(seen.results[1], 7);
	gale_executor_observer_set(&executor, NULL);
	assert_int_equal(gale_executor_try_join(&executor, task, &result), 0);
	assert_int_equal(result, 7);
	assert_int_equal(gale_executor_deinit(&executor), 0);
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_executor_observer_sees_every_poll),
		cmocka_unit_test(test_side_records_take_no_step),
		cmocka_unit_test(test_side_records_change_no_hash),
		cmocka_unit_test(test_json_is_trace_event_format),
		cmocka_unit_test(test_campaign_writes_a_timeline_per_failure),
		cmocka_unit_test(test_page_loads_in_a_browser),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
