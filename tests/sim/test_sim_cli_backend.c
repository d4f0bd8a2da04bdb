/* SPDX-License-Identifier: MIT */
/*
 * `gale run --backend` (sim/cli/): backend lists parse (one backend, or two distinct ones
 * for differential mode; anything else is refused), the differential verdict (both pass,
 * both fail, a divergence either way) from fabricated outcomes, reports that name the
 * backends and mark divergences, the JSON round trip through merge (each failure's
 * backend, divergence and faults), and kernel failures never shrunk. These need no
 * kernel backend. Then, once the runner has the kernel backends (the tests skip until it
 * does): a short campaign of a catalog scenario on epoll, a differential one, divergences
 * and a crash attributed to the right backend, and a replay on epoll with its note.
 * Loopback only; every test takes well under a few seconds.
 */
#define _GNU_SOURCE /* open_memstream. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gale/scenario.h>

#include "catalog.h"
#include "cli.h"
#include "cli_json.h"
#include "test_support.h"

static void catalog_program(void)
{
	size_t count = 0;
	const struct gale_scenario *const *all = gale_catalog_scenarios(&count);
	cli_program = (struct cli_program){"gale", "gale", all, count};
}

static void campaign_init(struct cli_campaign *campaign, const char *const *names,
			  size_t count, uint64_t seeds)
{
	memset(campaign, 0, sizeof(*campaign));
	for (size_t i = 0; i < count; i++) {
		campaign->scenarios[i] = gale_catalog_find(names[i]);
		assert_non_null(campaign->scenarios[i]);
	}
	campaign->scenarios_count = count;
	campaign->seeds_count = seeds;
	campaign->profile_name = "default";
	campaign->jobs = 2;
	campaign->shard_count = 1;
	campaign->program = "gale";
	campaign->seed_timeout_s = 60;
}

static char *text_of(void (*write)(const struct cli_campaign *, const struct cli_report *,
				   FILE *),
		     const struct cli_campaign *campaign, const struct cli_report *report)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	assert_non_null(out);
	write(campaign, report, out);
	assert_int_equal(fclose(out), 0);
	return text;
}

/* What cli_report_print_failures() writes to stdout, to free. */
static char *failures_text(const struct cli_campaign *campaign, const struct cli_report *report)
{
	fflush(stdout);
	int saved = dup(STDOUT_FILENO);
	FILE *capture = tmpfile();
	assert_non_null(capture);
	dup2(fileno(capture), STDOUT_FILENO);
	cli_report_print_failures(campaign, report);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	long size = ftell(capture);
	rewind(capture);
	char *text = calloc(1, (size_t)size + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)size, capture), (size_t)size);
	fclose(capture);
	return text;
}

static void test_backend_lists_parse(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		size_t count;
		enum gale_backend first, second;
	} good[] = {
		{"sim", 1, GALE_BACKEND_SIM, GALE_BACKEND_SIM},
		{"epoll", 1, GALE_BACKEND_EPOLL, GALE_BACKEND_SIM},
		{"fault-epoll", 1, GALE_BACKEND_FAULT_EPOLL, GALE_BACKEND_SIM},
		{"sim,epoll", 2, GALE_BACKEND_SIM, GALE_BACKEND_EPOLL},
		{"epoll,sim", 2, GALE_BACKEND_EPOLL, GALE_BACKEND_SIM},
		{"fault-epoll,sim", 2, GALE_BACKEND_FAULT_EPOLL, GALE_BACKEND_SIM},
	};
	for (size_t k = 0; k < sizeof(good) / sizeof(good[0]); k++) {
		enum gale_backend backends[CLI_BACKENDS_MAX] = {GALE_BACKEND_SIM, GALE_BACKEND_SIM};
		size_t count = 0;
		assert_int_equal(cli_backends_parse(good[k].text, backends, &count), 0);
		assert_int_equal(count, good[k].count);
		assert_int_equal(backends[0], good[k].first);
		if (count == 2)
			assert_int_equal(backends[1], good[k].second);
		struct cli_campaign campaign = {0};
		assert_true(cli_parse_backends("--backend", good[k].text, &campaign));
		char text[64];
		assert_string_equal(cli_backends_format(&campaign, text, sizeof(text)),
				    good[k].text);
	}
	static const char *const same[] = {"sim,sim", "epoll,epoll", "fault-epoll,fault-epoll"};
	for (size_t k = 0; k < 3; k++) {
		size_t count = 7;
		enum gale_backend backends[CLI_BACKENDS_MAX] = {GALE_BACKEND_COUNT,
								GALE_BACKEND_COUNT};
		assert_int_equal(cli_backends_parse(same[k], backends, &count), -EEXIST);
		assert_int_equal(count, 7); /* Untouched. */
		assert_int_equal(backends[0], GALE_BACKEND_COUNT);
	}
	static const char *const bad[] = {"", ",", "sim,", ",sim", "Sim", "sim ,epoll", " sim",
					  "sim,epoll,fault-epoll", "kqueue", "fault_epoll",
					  "sim;epoll", "sim,,epoll", "epoll,"};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		size_t count = 7;
		enum gale_backend backends[CLI_BACKENDS_MAX] = {GALE_BACKEND_COUNT,
								GALE_BACKEND_COUNT};
		if (cli_backends_parse(bad[k], backends, &count) != -EINVAL)
			fail_msg("'%s' was not refused", bad[k]);
		assert_int_equal(count, 7);
		assert_int_equal(backends[0], GALE_BACKEND_COUNT);
	}
	size_t count = 0;
	enum gale_backend backends[CLI_BACKENDS_MAX];
	assert_int_equal(cli_backends_parse(NULL, backends, &count), -EINVAL);
	/* A zeroed campaign runs on sim alone. */
	struct cli_campaign zeroed = {0};
	char text[64];
	assert_int_equal(cli_backends_count(&zeroed), 1);
	assert_true(cli_backends_sim_only(&zeroed));
	assert_string_equal(cli_backends_format(&zeroed, text, sizeof(text)), "sim");
	assert_string_equal(cli_backend_names(text, sizeof(text)), "sim, epoll, fault-epoll");
}

/* An outcome as cli_unit_run_on() would leave it. */
static struct cli_outcome fabricated(enum gale_backend backend, int status,
				     enum gale_oracle oracle, const char *message,
				     uint64_t resets, int64_t time_ns)
{
	struct cli_outcome outcome = {.status = status, .backend = backend, .wall_ns = 1000,
				      .time_ns = time_ns};
	outcome.result.oracle = oracle;
	outcome.result.backend = backend;
	outcome.result.trace_hash = 0x1000u + (uint64_t)backend;
	outcome.result.sim.faults.injected[GALE_FAULT_RESET] = resets;
	outcome.faults = outcome.result.sim.faults;
	snprintf(outcome.result.message, sizeof(outcome.result.message), "%s", message);
	return outcome;
}

static void test_differential_verdict(void **state)
{
	(void)state;
	struct cli_outcome sim_pass = fabricated(GALE_BACKEND_SIM, 0, GALE_ORACLE_NONE, "", 3, 7);
	struct cli_outcome epoll_pass = fabricated(GALE_BACKEND_EPOLL, 0, GALE_ORACLE_NONE, "", 0,
						   5);
	struct cli_outcome sim_fail = fabricated(GALE_BACKEND_SIM, 1, GALE_ORACLE_CHECK,
						 "sum is 4, want 5 (step 12)", 2, 9);
	struct cli_outcome epoll_fail = fabricated(GALE_BACKEND_EPOLL, 1, GALE_ORACLE_STALL,
						   "'client' waits on fd 5 (step 30)", 0, 11);
	struct cli_outcome out;

	cli_outcome_combine(&sim_pass, &epoll_pass, &out);
	assert_int_equal(out.status, 0);
	assert_false(out.divergent);
	assert_int_equal(out.backend, GALE_BACKEND_SIM);
	assert_int_equal(out.faults.injected[GALE_FAULT_RESET], 3);
	assert_int_equal(out.time_ns, 12);
	assert_int_equal(out.wall_ns, 2000);
	assert_string_equal(out.result.message, "");

	cli_outcome_combine(&sim_pass, &epoll_fail, &out);
	assert_int_equal(out.status, 1);
	assert_true(out.divergent);
	assert_int_equal(out.backend, GALE_BACKEND_EPOLL);
	assert_int_equal(out.result.oracle, GALE_ORACLE_STALL);
	assert_int_equal(out.result.trace_hash, epoll_fail.result.trace_hash);
	assert_string_equal(out.result.message, "diverges: passes on sim, fails on epoll: "
						"'client' waits on fd 5 (step 30)");
	assert_int_equal(out.faults.injected[GALE_FAULT_RESET], 3); /* Both runs' faults. */
	assert_int_equal(out.result.sim.faults.injected[GALE_FAULT_RESET], 0); /* epoll's. */

	cli_outcome_combine(&sim_fail, &epoll_pass, &out);
	assert_true(out.divergent);
	assert_int_equal(out.backend, GALE_BACKEND_SIM);
	assert_int_equal(out.result.oracle, GALE_ORACLE_CHECK);
	assert_string_equal(out.result.message, "diverges: passes on epoll, fails on sim: "
						"sum is 4, want 5 (step 12)");

	/* Both fail: a plain failure, the first backend's, saying it fails on both. */
	cli_outcome_combine(&sim_fail, &epoll_fail, &out);
	assert_int_equal(out.status, 1);
	assert_false(out.divergent);
	assert_int_equal(out.backend, GALE_BACKEND_SIM);
	assert_int_equal(out.result.oracle, GALE_ORACLE_CHECK);
	assert_string_equal(out.result.message, "fails on both sim and epoll (on epoll: oracle "
						"stall): sum is 4, want 5 (step 12)");
	struct cli_outcome epoll_check = epoll_fail;
	epoll_check.result.oracle = GALE_ORACLE_CHECK;
	cli_outcome_combine(&epoll_check, &sim_fail, &out); /* The order given is kept. */
	assert_int_equal(out.backend, GALE_BACKEND_EPOLL);
	assert_string_equal(out.result.message, "fails on both epoll and sim: 'client' waits "
						"on fd 5 (step 30)");

	/* A run that could not happen is a failure too. */
	struct cli_outcome no_run = fabricated(GALE_BACKEND_FAULT_EPOLL, -EMFILE, GALE_ORACLE_NONE,
					       "could not run on fault-epoll: Too many open files",
					       0, 0);
	cli_outcome_combine(&sim_pass, &no_run, &out);
	assert_true(out.divergent);
	assert_int_equal(out.status, -EMFILE);
	assert_int_equal(out.backend, GALE_BACKEND_FAULT_EPOLL);
	assert_non_null(strstr(out.result.message, "diverges: passes on sim, fails on "
						   "fault-epoll: could not run"));

	/* The longest message still fits, cut with "...". */
	struct cli_outcome long_fail = epoll_fail;
	memset(long_fail.result.message, 'x', sizeof(long_fail.result.message) - 1);
	long_fail.result.message[sizeof(long_fail.result.message) - 1] = '\0';
	cli_outcome_combine(&sim_pass, &long_fail, &out);
	size_t len = strlen(out.result.message);
	assert_int_equal(len, sizeof(out.result.message) - 1);
	assert_string_equal(out.result.message + len - 3, "...");
	assert_int_equal(strncmp(out.result.message, "diverges: passes on sim, fails on epoll: x",
				 42), 0);
}

/* A differential campaign's report, fabricated: one divergence, one failure on both. */
static void fabricated_report(struct cli_campaign *campaign, struct cli_report *report,
			      enum gale_backend second)
{
	static const char *const names[] = {"tcp_echo", "rpc"};
	campaign_init(campaign, names, 2, 10);
	campaign->backends[0] = GALE_BACKEND_SIM;
	campaign->backends[1] = second;
	campaign->backends_count = 2;
	memset(report, 0, sizeof(*report));
	for (size_t i = 0; i < 2; i++) {
		report->totals[i].seeds_planned = 10;
		report->totals[i].seeds_count = 10;
		report->totals[i].faults_by_kind[GALE_FAULT_RESET] = 4;
		report->totals[i].faults_count = 4;
		report->totals[i].sim_time_ns = 1000;
		report->totals[i].wall_ns = 2000;
	}
	report->units_done = 20;
	report->wall_ns = 3000;
	struct cli_outcome pass = fabricated(GALE_BACKEND_SIM, 0, GALE_ORACLE_NONE, "", 0, 0);
	struct cli_outcome kernel = fabricated(second, 1, GALE_ORACLE_STALL,
					       "'client' waits on fd 5 \"quoted\" (step 30)", 2, 0);
	kernel.result.sim.faults.injected[GALE_FAULT_READ_SHORT] = 1;
	struct cli_failure divergence = {.unit = {0, 3}};
	cli_outcome_combine(&pass, &kernel, &divergence.outcome);
	struct cli_outcome sim_fail = fabricated(GALE_BACKEND_SIM, 1, GALE_ORACLE_CHECK,
						 "sum is 4 (step 12)", 1, 0);
	struct cli_failure both = {.unit = {1, 8}};
	cli_outcome_combine(&sim_fail, &kernel, &both.outcome);
	assert_int_equal(cli_report_keep_failure(report, &divergence), 0);
	assert_int_equal(cli_report_keep_failure(report, &both), 0);
	report->totals[0].failures_count = 1;
	report->totals[0].divergences_count = 1;
	report->totals[1].failures_count = 1;
}

static void test_reports_name_backends_and_mark_divergences(void **state)
{
	(void)state;
	catalog_program();
	struct cli_campaign campaign;
	struct cli_report report;
	fabricated_report(&campaign, &report, GALE_BACKEND_FAULT_EPOLL);
	char *summary = text_of(cli_report_print, &campaign, &report);
	assert_non_null(strstr(summary, "\nbackend: sim,fault-epoll (differential)   profile: "));
	assert_non_null(strstr(summary, "\n18 passed, 2 failed (1 of them divergent)\n"));
	assert_non_null(strstr(summary, "run time (s)"));
	char *failures = failures_text(&campaign, &report);
	assert_non_null(strstr(failures, "FAIL tcp_echo seed=3 oracle=stall backend=fault-epoll: "
					 "diverges: passes on sim, fails on fault-epoll: "));
	assert_non_null(strstr(failures, "  on fault-epoll, faults taken: read_short 1, reset 2\n"
					 "  not shrunk: kernel runs do not replay exactly"));
	assert_non_null(strstr(failures, "replays only approximately"));
	assert_non_null(strstr(failures, "  replay: gale replay --scenario tcp_echo --seed 3 "
					 "--profile default --backend fault-epoll\n"));
	/* Failing on both, sim's result: an exact replay, no --backend. */
	assert_non_null(strstr(failures, "FAIL rpc seed=8 oracle=check backend=sim: fails on "
					 "both sim and fault-epoll (on fault-epoll: oracle "
					 "stall): sum is 4 (step 12)\n  replay: gale replay "
					 "--scenario rpc --seed 8 --profile default --hash 0x"));
	char *json = text_of(cli_report_write_json, &campaign, &report);
	assert_non_null(strstr(json, "\"format\": \"gale-run/2\",\n  \"backend\": "
				     "\"sim,fault-epoll\",\n"));
	assert_non_null(strstr(json, "\"seeds_divergent\": 1"));
	assert_non_null(strstr(json, "\"backend\": \"fault-epoll\", \"divergent\": true, "));
	assert_non_null(strstr(json, "\"faults\": {\"read_short\": 1, \"reset\": 2}"));
	assert_non_null(strstr(json, "\"backend\": \"sim\", \"divergent\": false, "));
	char *junit = text_of(cli_report_write_junit, &campaign, &report);
	assert_non_null(strstr(junit, "<property name=\"backend\" value=\"sim,fault-epoll\"/>"));
	assert_non_null(strstr(junit, "<failure type=\"divergence\" message=\"seed 3 (oracle "
				      "stall on fault-epoll): diverges: passes on sim, fails on "
				      "fault-epoll: "));
	assert_non_null(strstr(junit, "<failure type=\"check\" message=\"seed 8: fails on both"));
	assert_non_null(strstr(junit, "tests=\"2\" failures=\"2\""));
	free(summary);
	free(failures);
	free(json);
	free(junit);
	cli_report_deinit(&report);

	/* One backend, sim: the summary and failure lines are as they always were. */
	static const char *const names[] = {"rpc"};
	campaign_init(&campaign, names, 1, 2);
	memset(&report, 0, sizeof(report));
	report.totals[0].seeds_planned = 2;
	report.totals[0].seeds_count = 2;
	report.totals[0].failures_count = 1;
	struct cli_failure plain = {.unit = {0, 1}};
	plain.outcome = fabricated(GALE_BACKEND_SIM, 1, GALE_ORACLE_CHECK, "bad (step 2)", 0, 0);
	assert_int_equal(cli_report_keep_failure(&report, &plain), 0);
	summary = text_of(cli_report_print, &campaign, &report);
	assert_non_null(strstr(summary, "sim time (s)"));
	assert_non_null(strstr(summary, "\nbackend: sim   profile: default"));
	assert_non_null(strstr(summary, "\n1 passed, 1 failed\n"));
	failures = failures_text(&campaign, &report);
	assert_non_null(strstr(failures, "FAIL rpc seed=1 oracle=check: bad (step 2)\n  replay: "
					 "gale replay --scenario rpc --seed 1 --profile default "
					 "--hash 0x"));
	free(summary);
	free(failures);
	cli_report_deinit(&report);
	cli_program = (struct cli_program){.name = "gale", .argv0 = "gale"};
}

/* Blanks what a merge changes: wall times and jobs. */
static void json_normalize(char *json)
{
	static const char *const keys[] = {"\"wall_ns\": ", "\"jobs\": "};
	for (size_t k = 0; k < 2; k++) {
		for (char *p = strstr(json, keys[k]); p != NULL; p = strstr(p + 1, keys[k])) {
			char *number = p + strlen(keys[k]), *end = number;
			while (*end >= '0' && *end <= '9')
				end++;
			*number = '0';
			memmove(number + 1, end, strlen(end) + 1);
		}
	}
}

static void file_write(const char *path, const char *text)
{
	FILE *out = fopen(path, "w");
	assert_non_null(out);
	assert_int_equal(fputs(text, out) >= 0, 1);
	assert_int_equal(fclose(out), 0);
}

/* text with its first from replaced by to, written to path. */
static void file_write_edited(const char *path, const char *text, const char *from,
			      const char *to)
{
	const char *at = strstr(text, from);
	assert_non_null(at);
	size_t head = (size_t)(at - text);
	char *edited = malloc(strlen(text) + strlen(to) + 1);
	assert_non_null(edited);
	memcpy(edited, text, head);
	strcpy(edited + head, to);
	strcat(edited, at + strlen(from));
	file_write(path, edited);
	free(edited);
}

static void expect_merge_refused(const char *path, const char *text, const char *from,
				 const char *to)
{
	file_write_edited(path, text, from, to);
	const char *paths[] = {path};
	struct cli_campaign merged = {.program = "gale", .jobs = 1, .shard_count = 1};
	struct cli_report report;
	if (cli_merge_reports(paths, 1, &merged, &report) != -EINVAL)
		fail_msg("merge took a report with '%s' in place of '%s'", to, from);
	cli_report_deinit(&report);
}

static void test_json_round_trip_through_merge(void **state)
{
	(void)state;
	catalog_program();
	struct cli_campaign campaign;
	struct cli_report report;
	fabricated_report(&campaign, &report, GALE_BACKEND_EPOLL);
	char *json = text_of(cli_report_write_json, &campaign, &report);
	cli_report_deinit(&report);
	char path[64], other[64];
	snprintf(path, sizeof(path), "/tmp/gale-backend-test-%d.json", (int)getpid());
	snprintf(other, sizeof(other), "/tmp/gale-backend-test-%d-b.json", (int)getpid());
	file_write(path, json);

	const char *paths[] = {path};
	struct cli_campaign merged = {.program = "gale", .jobs = 1, .shard_count = 1};
	assert_int_equal(cli_merge_reports(paths, 1, &merged, &report), 0);
	assert_int_equal(merged.backends_count, 2);
	assert_int_equal(merged.backends[0], GALE_BACKEND_SIM);
	assert_int_equal(merged.backends[1], GALE_BACKEND_EPOLL);
	assert_int_equal(report.failures_count, 2);
	const struct cli_outcome *divergence = &report.failures[0].outcome;
	assert_int_equal(divergence->backend, GALE_BACKEND_EPOLL);
	assert_true(divergence->divergent);
	assert_int_equal(divergence->result.sim.faults.injected[GALE_FAULT_RESET], 2);
	assert_int_equal(divergence->result.sim.faults.injected[GALE_FAULT_READ_SHORT], 1);
	assert_non_null(strstr(divergence->result.message, "diverges: passes on sim, fails on "
							   "epoll: 'client' waits on fd 5 "
							   "\"quoted\" (step 30)"));
	assert_int_equal(report.failures[1].outcome.backend, GALE_BACKEND_SIM);
	assert_false(report.failures[1].outcome.divergent);
	assert_int_equal(report.totals[0].divergences_count, 1);
	assert_int_equal(cli_report_verdict(&merged, &report).seeds_divergent, 1);
	char *again = text_of(cli_report_write_json, &merged, &report);
	cli_report_deinit(&report);
	json_normalize(json);
	json_normalize(again);
	assert_string_equal(again, json);
	free(again);

	/* Shards of other backends are not one campaign: 0/2 on sim,epoll, 1/2 on sim. */
	file_write_edited(other, json, "\"shard_count\": 1", "\"shard_count\": 2");
	free(json);
	fabricated_report(&campaign, &report, GALE_BACKEND_EPOLL);
	campaign.shard_count = 2;
	campaign.shard_index = 1;
	campaign.backends_count = 1;
	json = text_of(cli_report_write_json, &campaign, &report);
	cli_report_deinit(&report);
	file_write(path, json);
	free(json);
	const char *shards[] = {other, path};
	assert_int_equal(cli_merge_reports(shards, 2, &merged, &report), -EINVAL);
	cli_report_deinit(&report);

	/* Reports a strict reader must refuse. */
	fabricated_report(&campaign, &report, GALE_BACKEND_EPOLL);
	json = text_of(cli_report_write_json, &campaign, &report);
	cli_report_deinit(&report);
	static const char *const edits[][2] = {
		{"\"gale-run/2\"", "\"gale-run/1\""},
		{"\"backend\": \"sim,epoll\"", "\"backend\": \"sim,sim\""},
		{"\"backend\": \"sim,epoll\"", "\"backend\": \"kqueue\""},
		{"\"backend\": \"epoll\", \"divergent\": true", "\"backend\": \"fault-epoll\", "
							       "\"divergent\": true"},
		{"\"divergent\": true", "\"divergent\": 1"},
		{"\"divergent\": true, ", ""},
		{"\"faults\": {\"read_short\": 1", "\"faults\": {\"read_long\": 1"},
		{"\"faults\": {\"read_short\": 1", "\"faults\": {\"read_short\": -1"},
		{"\"divergences\": 1", "\"divergences\": 2"},
		{"\"divergences\": 0, ", ""},
	};
	for (size_t k = 0; k < sizeof(edits) / sizeof(edits[0]); k++)
		expect_merge_refused(path, json, edits[k][0], edits[k][1]);
	/* A divergence in a report of one backend cannot be. */
	expect_merge_refused(path, json, "\"backend\": \"sim,epoll\"", "\"backend\": \"epoll\"");
	free(json);
	remove(path);
	remove(other);
	cli_program = (struct cli_program){.name = "gale", .argv0 = "gale"};
}

/* Shrinking rests on exact replay: a failure on a kernel backend is refused. */
static void test_kernel_failures_are_not_shrunk(void **state)
{
	(void)state;
	static const char *const names[] = {"tcp_echo"};
	struct cli_campaign campaign;
	campaign_init(&campaign, names, 1, 1);
	for (int backend = GALE_BACKEND_EPOLL; backend < GALE_BACKEND_COUNT; backend++) {
		struct cli_failure failure = {.unit = {0, 1}};
		failure.outcome = fabricated((enum gale_backend)backend, 1, GALE_ORACLE_STALL,
					     "stall (step 3)", 1, 0);
		struct cli_shrink *shrink = calloc(1, sizeof(*shrink));
		assert_non_null(shrink);
		assert_int_equal(cli_shrink(&campaign, &failure, 1, shrink), -EINVAL);
		assert_false(shrink->shrunk);
		free(shrink);
		assert_true(cli_backend_is_kernel((enum gale_backend)backend));
	}
	assert_false(cli_backend_is_kernel(GALE_BACKEND_SIM));
}

/* ---- With the kernel backends in the runner ------------------------------------------ */

static int idle_setup(struct gale_scenario_run *run, void *state)
{
	(void)run;
	(void)state;
	return 0;
}

static const struct gale_scenario idle_scenario = {
	.name = "idle", .description = "nothing to do", .setup = idle_setup};

/* The runner runs scenarios on epoll (until it does, the kernel tests skip). */
static bool runner_has_kernel_backends(void)
{
	struct gale_run_options options = {.seed = 1, .backend = GALE_BACKEND_EPOLL};
	struct gale_run_result result;
	int rc = gale_scenario_run(&idle_scenario, &options, NULL, &result);
	return rc == 0 && result.backend == GALE_BACKEND_EPOLL;
}

static void test_campaign_on_epoll_passes(void **state)
{
	(void)state;
	if (!runner_has_kernel_backends())
		skip();
	static const char *const names[] = {"tcp_echo"};
	struct cli_campaign campaign;
	campaign_init(&campaign, names, 1, 4);
	campaign.backends[0] = GALE_BACKEND_EPOLL;
	campaign.backends_count = 1;
	struct cli_report report;
	assert_int_equal(cli_campaign_execute(&campaign, &report), 0);
	for (size_t k = 0; k < report.failures_count; k++)
		print_message("seed %llu on %s: %s\n",
			      (unsigned long long)report.failures[k].unit.seed,
			      gale_backend_name(report.failures[k].outcome.backend),
			      report.failures[k].outcome.result.message);
	assert_int_equal(report.totals[0].seeds_count, 4);
	assert_int_equal(report.failures_count, 0);
	struct cli_verdict v = cli_report_verdict(&campaign, &report);
	assert_int_equal(v.exit_status, CLI_EXIT_OK);
	char *summary = text_of(cli_report_print, &campaign, &report);
	assert_non_null(strstr(summary, "\nbackend: epoll   profile: none (the plain kernel "
					"injects no faults)"));
	assert_non_null(strstr(summary, "\n4 passed, 0 failed\n"));
	assert_int_equal(report.totals[0].faults_count, 0); /* No faults on plain epoll. */
	free(summary);
	cli_report_deinit(&report);

	/* Differential, sim then epoll: the catalog agrees with the kernel. */
	campaign.backends[0] = GALE_BACKEND_SIM;
	campaign.backends[1] = GALE_BACKEND_EPOLL;
	campaign.backends_count = 2;
	campaign.seeds_count = 3;
	assert_int_equal(cli_campaign_execute(&campaign, &report), 0);
	for (size_t k = 0; k < report.failures_count; k++)
		print_message("seed %llu: %s\n", (unsigned long long)report.failures[k].unit.seed,
			      report.failures[k].outcome.result.message);
	assert_int_equal(report.totals[0].seeds_count, 3);
	assert_int_equal(report.failures_count, 0);
	assert_int_equal(report.totals[0].divergences_count, 0);
	cli_report_deinit(&report);
	/* One unit in-process: both runs, sim's outcome, both runs' time. */
	struct cli_outcome outcome, on_epoll;
	cli_unit_run(&campaign, (struct cli_unit){0, 1}, &outcome);
	assert_int_equal(outcome.status, 0);
	assert_int_equal(outcome.backend, GALE_BACKEND_SIM);
	assert_false(outcome.divergent);
	cli_unit_run_on(&campaign, (struct cli_unit){0, 1}, GALE_BACKEND_EPOLL, &on_epoll);
	assert_int_equal(on_epoll.status, 0);
	assert_int_equal(on_epoll.backend, GALE_BACKEND_EPOLL);
	assert_int_equal(on_epoll.result.backend, GALE_BACKEND_EPOLL);
	assert_true(outcome.time_ns > outcome.result.sim.time_ns); /* sim's, plus epoll's. */
}

/* Fails its check on the kernel only; aborts on the kernel for seed 2. */
static int kernel_only_setup(struct gale_scenario_run *run, void *state)
{
	(void)state;
	if (gale_scenario_backend(run) == GALE_BACKEND_SIM)
		return 0;
	if (run->seed == 2)
		abort();
	gale_scenario_fail(run, GALE_ORACLE_CHECK, "only the kernel says no");
	return 0;
}

static const struct gale_scenario kernel_only_scenario = {
	.name = "kernel_only", .description = "fails on the kernel",
	.setup = kernel_only_setup};

/* Fails on every backend (odd seeds). */
static int odd_setup(struct gale_scenario_run *run, void *state)
{
	(void)state;
	if (run->seed % 2 == 1)
		gale_scenario_fail(run, GALE_ORACLE_CHECK, "odd seed");
	return 0;
}

static const struct gale_scenario odd_scenario = {
	.name = "odd", .description = "fails on odd seeds", .setup = odd_setup};

static void test_differential_campaign_verdicts(void **state)
{
	(void)state;
	if (!runner_has_kernel_backends())
		skip();
	struct cli_campaign campaign;
	campaign_init(&campaign, NULL, 0, 4);
	campaign.scenarios[0] = &kernel_only_scenario;
	campaign.scenarios[1] = &odd_scenario;
	campaign.scenarios_count = 2;
	campaign.backends[0] = GALE_BACKEND_SIM;
	campaign.backends[1] = GALE_BACKEND_EPOLL;
	campaign.backends_count = 2;
	struct cli_report report;
	assert_int_equal(cli_campaign_execute(&campaign, &report), 0);
	assert_int_equal(report.totals[0].seeds_count, 4);
	assert_int_equal(report.totals[0].failures_count, 4);
	assert_int_equal(report.totals[0].divergences_count, 3); /* Seed 2 crashed instead. */
	assert_int_equal(report.totals[1].failures_count, 2);
	assert_int_equal(report.totals[1].divergences_count, 0);
	assert_int_equal(report.failures_count, 6);
	for (size_t k = 0; k < 4; k++) {
		const struct cli_failure *f = &report.failures[k];
		assert_int_equal(f->unit.seed, k);
		assert_int_equal(f->outcome.backend, GALE_BACKEND_EPOLL);
		if (k == 2) {
			assert_int_equal(f->outcome.status, -EINTR);
			assert_false(f->outcome.divergent);
			assert_non_null(strstr(f->outcome.result.message, "crashed on epoll: "));
			continue;
		}
		assert_true(f->outcome.divergent);
		assert_non_null(strstr(f->outcome.result.message,
				       "diverges: passes on sim, fails on epoll: only the kernel "
				       "says no"));
	}
	for (size_t k = 4; k < 6; k++) {
		const struct cli_failure *f = &report.failures[k];
		assert_int_equal(f->unit.seed % 2, 1);
		assert_false(f->outcome.divergent);
		assert_int_equal(f->outcome.backend, GALE_BACKEND_SIM);
		assert_non_null(strstr(f->outcome.result.message,
				       "fails on both sim and epoll: odd seed"));
	}
	struct cli_verdict v = cli_report_verdict(&campaign, &report);
	assert_int_equal(v.exit_status, CLI_EXIT_FAILED);
	assert_int_equal(v.seeds_divergent, 3);
	cli_report_deinit(&report);
}

/* Runs `replay args...` in-process; returns its exit status and its stdout in *out. */
static int replay_in_process(char **args, int argc, char **out)
{
	fflush(stdout);
	int saved = dup(STDOUT_FILENO);
	FILE *capture = tmpfile();
	assert_non_null(capture);
	dup2(fileno(capture), STDOUT_FILENO);
	int status = cli_command_replay(argc, args);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	long size = ftell(capture);
	rewind(capture);
	*out = calloc(1, (size_t)size + 1);
	assert_non_null(*out);
	assert_int_equal(fread(*out, 1, (size_t)size, capture), (size_t)size);
	fclose(capture);
	return status;
}

static void test_replay_on_epoll_says_it_is_approximate(void **state)
{
	(void)state;
	if (!runner_has_kernel_backends())
		skip();
	catalog_program();
	char *args[] = {"replay", "--scenario", "tcp_echo", "--seed", "1", "--backend", "epoll"};
	char *out = NULL;
	int status = replay_in_process(args, 7, &out);
	if (status != CLI_EXIT_OK || strstr(out, "scenario tcp_echo seed 1 profile default "
						 "backend epoll: passed\n") == NULL ||
	    strstr(out, "faults taken: none\nnote: a kernel run replays only approximately") ==
		    NULL)
		fail_msg("exit %d:\n%s", status, out);
	free(out);
	/* The sim replay prints no note. */
	char *sim[] = {"replay", "--scenario", "tcp_echo", "--seed", "1", "--backend=sim"};
	assert_int_equal(replay_in_process(sim, 6, &out), CLI_EXIT_OK);
	assert_null(strstr(out, "approximately"));
	assert_non_null(strstr(out, "simulated time"));
	free(out);
	cli_program = (struct cli_program){.name = "gale", .argv0 = "gale"};
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backend_lists_parse),
		cmocka_unit_test(test_differential_verdict),
		cmocka_unit_test(test_reports_name_backends_and_mark_divergences),
		cmocka_unit_test(test_json_round_trip_through_merge),
		cmocka_unit_test(test_kernel_failures_are_not_shrunk),
		cmocka_unit_test(test_campaign_on_epoll_passes),
		cmocka_unit_test(test_differential_campaign_verdicts),
		cmocka_unit_test(test_replay_on_epoll_says_it_is_approximate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
