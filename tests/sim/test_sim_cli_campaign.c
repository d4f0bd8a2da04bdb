/* SPDX-License-Identifier: MIT */
/*
 * The `gale run` campaign runner and its reports (sim/cli/): the unit sequence streams
 * any seed count without overflow, every (scenario, seed) runs exactly once across
 * workers and shards, failures and crashes are counted and the listed ones bounded, a
 * campaign cut short reports unrun seeds as skipped, and every report (summary, JSON,
 * JUnit) states the same verdict as the exit status. Each test pins a bug of issue 13.
 */
#define _GNU_SOURCE /* open_memstream. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gale/gale_fuzz.h>
#include <gale/scenario_kit.h>
#include <gale/scenario_net.h>
#include <gale/write_all.h>

#include "catalog.h"
#include "cli.h"
#include "cli_json.h"
#include "test_support.h"

static void campaign_init(struct cli_campaign *campaign, size_t scenarios, uint64_t seeds)
{
	memset(campaign, 0, sizeof(*campaign));
	size_t count = 0;
	const struct gale_scenario *const *all = gale_catalog_scenarios(&count);
	assert_true(scenarios <= count);
	for (size_t i = 0; i < scenarios; i++)
		campaign->scenarios[i] = all[i];
	campaign->scenarios_count = scenarios;
	campaign->seeds_count = seeds;
	campaign->profile_name = "none";
	campaign->jobs = 1;
	campaign->shard_count = 1;
	campaign->program = "gale";
}

/* Walks every worker's units of one shard, marking seen[scenario * seeds + offset]. */
static void walk_shard(const struct cli_campaign *campaign, unsigned char *seen)
{
	for (uint32_t w = 0; w < campaign->jobs; w++) {
		struct cli_position at;
		if (!cli_position_first(campaign, w, &at))
			continue;
		do {
			struct cli_unit unit = cli_position_unit(campaign, at);
			uint64_t offset = unit.seed - campaign->seed_first;
			assert_true(offset < campaign->seeds_count);
			seen[unit.scenario_index * campaign->seeds_count + offset]++;
		} while (cli_position_next(campaign, at, &at));
	}
}

static void test_units_cover_every_scenario_and_seed_once(void **state)
{
	(void)state;
	static const uint32_t jobs[] = {1, 2, 3, 7};
	static const uint32_t shards[] = {1, 2, 5};
	for (size_t j = 0; j < 4; j++) {
		for (size_t s = 0; s < 3; s++) {
			struct cli_campaign campaign;
			campaign_init(&campaign, 3, 11);
			campaign.seed_first = 100;
			campaign.jobs = jobs[j];
			unsigned char seen[3 * 11] = {0};
			for (uint32_t shard = 0; shard < shards[s]; shard++) {
				campaign.shard_count = shards[s];
				campaign.shard_index = shard;
				walk_shard(&campaign, seen);
			}
			for (size_t k = 0; k < sizeof(seen); k++)
				assert_int_equal(seen[k], 1);
		}
	}
}

/* Rounds interleave scenarios: a worker runs every scenario under a seed before the next. */
static void test_units_interleave_scenarios_round_by_round(void **state)
{
	(void)state;
	struct cli_campaign campaign;
	campaign_init(&campaign, 3, 10);
	campaign.jobs = 2;
	struct cli_position at;
	assert_true(cli_position_first(&campaign, 1, &at));
	uint64_t expected_seed[] = {1, 1, 1, 3, 3, 3, 5};
	for (size_t k = 0; k < 7; k++) {
		struct cli_unit unit = cli_position_unit(&campaign, at);
		assert_int_equal(unit.seed, expected_seed[k]);
		assert_int_equal(unit.scenario_index, k % 3);
		assert_true(cli_position_next(&campaign, at, &at));
	}
}

/* The seed counts that overflowed the old plan (scenarios x seeds past 2^64). */
static void test_units_near_the_end_of_the_seed_space(void **state)
{
	(void)state;
	struct cli_campaign campaign;
	campaign_init(&campaign, 6, UINT64_MAX);
	campaign.jobs = 256;
	campaign.shard_count = 3;
	campaign.shard_index = 2;
	uint64_t rounds = cli_shard_seeds(&campaign);
	assert_int_equal(rounds, UINT64_MAX / 3);
	struct cli_position last = {rounds - 1, 5}, next;
	assert_false(cli_position_next(&campaign, last, &next));
	struct cli_position near = {rounds - 256, 5};
	assert_false(cli_position_next(&campaign, near, &next));
	struct cli_position before = {rounds - 257, 5};
	assert_true(cli_position_next(&campaign, before, &next));
	assert_int_equal(next.round, rounds - 1);
	struct cli_unit unit = cli_position_unit(&campaign, next);
	assert_int_equal(unit.seed, UINT64_MAX - 1); /* Offsets 2, 5, ... UINT64_MAX - 1. */
	assert_false(cli_position_first(&campaign, 0, &next) && rounds == 0);
}

static void test_counts_past_two_to_the_64(void **state)
{
	(void)state;
	char text[48];
	struct cli_count count = {0, 0};
	assert_string_equal(cli_count_format(count, text, sizeof(text)), "0");
	cli_count_add(&count, UINT64_MAX);
	assert_string_equal(cli_count_format(count, text, sizeof(text)), "18446744073709551615");
	cli_count_add(&count, 1);
	assert_string_equal(cli_count_format(count, text, sizeof(text)), "18446744073709551616");
	for (int k = 0; k < 4; k++)
		cli_count_add(&count, UINT64_MAX);
	/* 2^64 + 4 (2^64 - 1) = 5 * 2^64 - 4. */
	assert_string_equal(cli_count_format(count, text, sizeof(text)), "92233720368547758076");
}

/* A scenario whose verdict depends on the seed: odd seeds fail its check. */
static int odd_setup(struct gale_scenario_run *run, void *state)
{
	(void)state;
	return run->seed % 2 == 1 ? -EIO : 0;
}

static const struct gale_scenario odd_scenario = {
	.name = "odd_fails", .description = "fails on odd seeds", .setup = odd_setup};

/* A scenario that crashes its worker on seed 3 and passes otherwise. */
static int crash_setup(struct gale_scenario_run *run, void *state)
{
	(void)state;
	if (run->seed == 3)
		abort();
	return 0;
}

static const struct gale_scenario crash_scenario = {
	.name = "crash_on_3", .description = "aborts on seed 3", .setup = crash_setup};

/* A scenario that never returns on seed 2 (a loop no simulated budget sees). */
static int hang_setup(struct gale_scenario_run *run, void *state)
{
	(void)state;
	while (run->seed == 2) {
		struct timespec nap = {1, 0};
		nanosleep(&nap, NULL);
	}
	return 0;
}

static const struct gale_scenario hang_scenario = {
	.name = "hang_on_2", .description = "never returns on seed 2", .setup = hang_setup};

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

static size_t occurrences(const char *text, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(text, needle); p != NULL; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void test_failures_counted_and_lowest_seeds_listed(void **state)
{
	(void)state;
	struct cli_campaign campaign;
	campaign_init(&campaign, 1, 100);
	campaign.scenarios[0] = &odd_scenario;
	campaign.scenarios[1] = &crash_scenario;
	campaign.scenarios_count = 2;
	campaign.jobs = 3;
	struct cli_report report;
	assert_int_equal(cli_campaign_execute(&campaign, &report), 0);
	assert_int_equal(report.units_done, 200);
	assert_int_equal(report.totals[0].failures_count, 50);
	assert_int_equal(report.totals[1].failures_count, 1);
	assert_int_equal(report.totals[1].seeds_count, 100); /* The crash cost one seed. */
	/* 20 listed for odd_fails (seeds 1, 3, ..., 39, in order), then the crash. */
	assert_int_equal(report.failures_count, CLI_FAILURES_LISTED + 1);
	for (size_t k = 0; k < CLI_FAILURES_LISTED; k++) {
		assert_int_equal(report.failures[k].unit.scenario_index, 0);
		assert_int_equal(report.failures[k].unit.seed, 2 * k + 1);
	}
	const struct cli_failure *crash = &report.failures[CLI_FAILURES_LISTED];
	assert_int_equal(crash->unit.seed, 3);
	assert_non_null(strstr(crash->outcome.result.message, "crashed: signal"));

	struct cli_verdict v = cli_report_verdict(&campaign, &report);
	assert_int_equal(v.exit_status, CLI_EXIT_FAILED);
	assert_int_equal(v.seeds_failed, 51);
	char *summary = text_of(cli_report_print, &campaign, &report);
	assert_non_null(strstr(summary, "\n149 passed, 51 failed\n"));
	assert_non_null(strstr(summary, "odd_fails: 50 failures, the 20 lowest seeds listed"));
	char *json = text_of(cli_report_write_json, &campaign, &report);
	assert_non_null(strstr(json, "\"passed\": false"));
	assert_non_null(strstr(json, "\"seeds_failed\": 51"));
	char *junit = text_of(cli_report_write_junit, &campaign, &report);
	assert_non_null(strstr(junit, "tests=\"2\" failures=\"2\" skipped=\"0\""));
	assert_int_equal(occurrences(junit, "<failure "), CLI_FAILURES_LISTED + 1);
	free(summary);
	free(json);
	free(junit);
	cli_report_deinit(&report);
}

/* The watchdog: a hung seed is killed, reported with its replay line, and the rest run. */
static void test_hung_seed_reported_and_campaign_goes_on(void **state)
{
	(void)state;
	struct cli_campaign campaign;
	campaign_init(&campaign, 1, 6);
	campaign.scenarios[0] = &hang_scenario;
	campaign.jobs = 2;
	campaign.seed_timeout_s = 1;
	struct cli_report report;
	assert_int_equal(cli_campaign_execute(&campaign, &report), 0);
	assert_int_equal(report.totals[0].seeds_count, 6);
	assert_int_equal(report.totals[0].failures_count, 1);
	assert_int_equal(report.failures_count, 1);
	const struct cli_failure *hung = &report.failures[0];
	assert_int_equal(hung->unit.seed, 2);
	assert_int_equal(hung->outcome.status, -ETIMEDOUT);
	assert_non_null(strstr(hung->outcome.result.message, "hung: no result after 1 s"));
	char line[512];
	cli_replay_command(&campaign, hung, line, sizeof(line));
	assert_non_null(strstr(line, "gale replay --scenario hang_on_2 --seed 2 "));
	cli_report_deinit(&report);
}

/* Each unit of this scenario takes at least 2 ms of wall time. */
static int slow_setup(struct gale_scenario_run *run, void *state)
{
	(void)run;
	(void)state;
	struct timespec nap = {0, 2000000};
	nanosleep(&nap, NULL);
	return 0;
}

static const struct gale_scenario slow_a = {.name = "slow_a", .description = "2 ms",
					    .setup = slow_setup};
static const struct gale_scenario slow_b = {.name = "slow_b", .description = "2 ms",
					    .setup = slow_setup};
static const struct gale_scenario slow_c = {.name = "slow_c", .description = "2 ms",
					    .setup = slow_setup};

/*
 * A campaign stopped by its time limit: far more seeds planned than 50 ms can run. Whatever
 * the machine's speed, unrun seeds are skipped (never passed), scenarios advanced round
 * by round (none is more than `jobs` seeds behind another), and the reports agree.
 */
static void test_time_limit_reports_unrun_seeds_as_skipped(void **state)
{
	(void)state;
	struct cli_campaign campaign;
	campaign_init(&campaign, 1, 1000000000000ull);
	campaign.scenarios[0] = &slow_a;
	campaign.scenarios[1] = &slow_b;
	campaign.scenarios[2] = &slow_c;
	campaign.scenarios_count = 3;
	campaign.jobs = 2;
	campaign.time_limit_s = 0.05;
	struct cli_report report;
	assert_int_equal(cli_campaign_execute(&campaign, &report), 0);
	assert_true(report.stopped_by_time_limit);
	uint64_t least = UINT64_MAX, most = 0;
	for (size_t i = 0; i < 3; i++) {
		const struct cli_totals *t = &report.totals[i];
		assert_int_equal(t->seeds_planned, 1000000000000ull);
		least = t->seeds_count < least ? t->seeds_count : least;
		most = t->seeds_count > most ? t->seeds_count : most;
	}
	assert_true(most - least <= campaign.jobs);
	struct cli_verdict v = cli_report_verdict(&campaign, &report);
	assert_int_equal(v.exit_status, CLI_EXIT_OK);
	assert_int_equal(v.seeds_skipped.low, 3000000000000ull - v.seeds_run);
	char *summary = text_of(cli_report_print, &campaign, &report);
	char line[96];
	snprintf(line, sizeof(line), "\n%llu passed, 0 failed, %llu skipped\n",
		 (unsigned long long)v.seeds_run, (unsigned long long)v.seeds_skipped.low);
	assert_non_null(strstr(summary, line));
	char *json = text_of(cli_report_write_json, &campaign, &report);
	assert_non_null(strstr(json, "\"complete\": false"));
	assert_non_null(strstr(json, "\"stopped_by_time_limit\": true"));
	free(summary);
	free(json);

	/* A scenario that never got a seed is a skipped test case, not a passing one. */
	report.totals[2].seeds_count = 0;
	size_t never_ran = 0; /* On a busy machine, the others may not have run either. */
	for (size_t i = 0; i < 3; i++)
		never_ran += report.totals[i].seeds_count == 0;
	char *junit = text_of(cli_report_write_junit, &campaign, &report);
	snprintf(line, sizeof(line), "skipped=\"%zu\"", never_ran);
	assert_non_null(strstr(junit, line));
	const char *c = strstr(junit, "name=\"slow_c\"");
	assert_non_null(c);
	assert_non_null(strstr(c, "<skipped message=\"no seed ran: the time limit came first\""));
	free(junit);
	cli_report_deinit(&report);
}

/* --fault-coverage failing: exit 1, and JSON and JUnit say it failed too. */
static void test_fault_gate_failure_is_in_every_report(void **state)
{
	(void)state;
	struct cli_campaign campaign;
	campaign_init(&campaign, 1, 2);
	campaign.scenarios[0] = gale_catalog_find("duplex_pump"); /* Injects no driver fault. */
	campaign.profile_name = "default";
	campaign.fault_coverage = true;
	struct cli_report report;
	assert_int_equal(cli_campaign_execute(&campaign, &report), 0);
	assert_int_equal(report.failures_count, 0);
	struct cli_verdict v = cli_report_verdict(&campaign, &report);
	assert_true(v.kinds_never_injected > 0);
	assert_int_equal(v.exit_status, CLI_EXIT_FAILED);
	char *json = text_of(cli_report_write_json, &campaign, &report);
	assert_non_null(strstr(json, "\"passed\": false"));
	assert_non_null(strstr(json, "\"never_injected\": [\"ready_spurious\""));
	char *junit = text_of(cli_report_write_junit, &campaign, &report);
	assert_non_null(strstr(junit, "tests=\"2\" failures=\"1\""));
	assert_non_null(strstr(junit, "<failure type=\"fault_coverage\""));
	free(json);
	free(junit);
	cli_report_deinit(&report);
}

/* Blanks what differs between a sharded and an unsharded run: wall times, shards, jobs. */
static void json_normalize(char *json)
{
	static const char *const keys[] = {"\"wall_ns\": ", "\"jobs\": ", "\"shard_count\": "};
	for (size_t k = 0; k < 3; k++) {
		for (char *p = strstr(json, keys[k]); p != NULL; p = strstr(p + 1, keys[k])) {
			char *number = p + strlen(keys[k]), *end = number;
			while (*end >= '0' && *end <= '9')
				end++;
			*number = '0'; /* The number becomes "0", whatever its length. */
			memmove(number + 1, end, strlen(end) + 1);
		}
	}
}

static char *json_file_of(const struct cli_campaign *campaign, const struct cli_report *report,
			  const char *path)
{
	FILE *out = fopen(path, "w");
	assert_non_null(out);
	cli_report_write_json(campaign, report, out);
	assert_int_equal(fclose(out), 0);
	return text_of(cli_report_write_json, campaign, report);
}

/* merge of the shards 0/4 .. 3/4 writes the JSON of the unsharded run, failures included. */
static void test_merge_of_shards_equals_the_unsharded_run(void **state)
{
	(void)state;
	static const struct gale_scenario *const table[] = {&odd_scenario, &crash_scenario};
	cli_program = (struct cli_program){"gale", "gale", table, 2};
	struct cli_campaign campaign;
	campaign_init(&campaign, 1, 101);
	campaign.scenarios[0] = &odd_scenario;
	campaign.scenarios[1] = &crash_scenario;
	campaign.scenarios_count = 2;
	campaign.seed_first = 7;
	campaign.jobs = 2;
	struct cli_report report;
	assert_int_equal(cli_campaign_execute(&campaign, &report), 0);
	char *whole = json_file_of(&campaign, &report, "/tmp/gale-merge-test-whole.json");
	cli_report_deinit(&report);
	char paths[4][64];
	const char *path_list[4];
	for (uint32_t shard = 0; shard < 4; shard++) {
		campaign.shard_index = shard;
		campaign.shard_count = 4;
		assert_int_equal(cli_campaign_execute(&campaign, &report), 0);
		snprintf(paths[shard], sizeof(paths[shard]), "/tmp/gale-merge-test-%u.json", shard);
		path_list[3 - shard] = paths[shard]; /* Any order. */
		free(json_file_of(&campaign, &report, paths[shard]));
		cli_report_deinit(&report);
	}
	struct cli_campaign merged = {.program = "gale", .jobs = 1, .shard_count = 1};
	assert_int_equal(cli_merge_reports(path_list, 4, &merged, &report), 0);
	assert_int_equal(report.shards_missing, 0);
	char *joined = text_of(cli_report_write_json, &merged, &report);
	json_normalize(whole);
	json_normalize(joined);
	assert_string_equal(joined, whole);
	assert_non_null(strstr(joined, "\"seeds_failed\": 51")); /* Odd seeds 7 .. 107. */
	cli_report_deinit(&report);

	/* A shard missing: its seeds are skipped and the merge fails; a shard twice: refused. */
	assert_int_equal(cli_merge_reports(path_list, 3, &merged, &report), 0);
	assert_int_equal(report.shards_missing, 1);
	assert_int_equal(cli_report_verdict(&merged, &report).exit_status, CLI_EXIT_FAILED);
	cli_report_deinit(&report);
	const char *twice[] = {paths[0], paths[1], paths[0]};
	assert_int_equal(cli_merge_reports(twice, 3, &merged, &report), -EINVAL);
	cli_report_deinit(&report);
	for (int k = 0; k < 4; k++)
		remove(paths[k]);
	remove("/tmp/gale-merge-test-whole.json");
	free(whole);
	free(joined);
	cli_program = (struct cli_program){.name = "gale", .argv0 = "gale"};
}

/* The JSON reader refuses every truncation of a real report, and every byte flipped. */
static void test_json_reader_refuses_broken_reports(void **state)
{
	(void)state;
	struct cli_campaign campaign;
	campaign_init(&campaign, 2, 3);
	struct cli_report report;
	assert_int_equal(cli_campaign_execute(&campaign, &report), 0);
	char *json = text_of(cli_report_write_json, &campaign, &report);
	cli_report_deinit(&report);
	size_t len = strlen(json);
	char error[96];
	struct cli_json *root = cli_json_parse(json, len, error, sizeof(error));
	assert_non_null(root);
	uint64_t seeds = 0;
	assert_true(cli_json_u64(cli_json_get(root, "seeds_run"), &seeds));
	assert_int_equal(seeds, 6);
	cli_json_free(root);
	for (size_t cut = 0; cut + 1 < len; cut++) { /* len - 1 drops only the final newline. */
		root = cli_json_parse(json, cut, error, sizeof(error));
		if (root != NULL)
			fail_msg("a report cut at byte %zu of %zu parsed", cut, len);
		assert_non_null(strstr(error, " at byte "));
	}
	/* Flipped bytes: parsed or refused, never a crash. */
	for (size_t at = 0; at < len; at += 7) {
		char saved = json[at];
		json[at] = (char)(json[at] ^ 0x5a);
		cli_json_free(cli_json_parse(json, len, error, sizeof(error)));
		json[at] = saved;
	}
	free(json);
	static const char *const bad[] = {"", "{", "[1,]", "{\"a\" 1}", "01", "\"\\x\"", "nul",
					  ("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1"
					  "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"),
					  "\"\x01\"", "{} {}", "-", "1e", "1.", "1.e5", "1e+",
					  "+1"};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		if (cli_json_parse(bad[k], strlen(bad[k]), error, sizeof(error)) != NULL)
			fail_msg("'%s' parsed", bad[k]);
	static const char good[] = " [1.5e-3, 2E+7, -0, 0.25, \"\\u00e9\\n\", {}, [], null, true] ";
	root = cli_json_parse(good, strlen(good), error, sizeof(error));
	assert_non_null(root);
	assert_string_equal(root->child->next->next->next->next->string, "\xc3\xa9\n");
	cli_json_free(root);
}

/* A scenario whose verdict comes from its entropy: fails when the first draw is 3. */
static int draw_setup(struct gale_scenario_run *run, void *state)
{
	(void)state;
	uint64_t draw = gale_entropy_range(gale_sim_entropy(&run->sim), 0, 7);
	if (draw == 3)
		gale_scenario_fail(run, GALE_ORACLE_CHECK, "drew %llu", (unsigned long long)draw);
	return 0;
}

static const struct gale_scenario draw_scenario = {
	.name = "draw", .description = "fails when it draws 3", .setup = draw_setup};

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
	assert_int_equal(fread(*out, 1, (size_t)size, capture), (size_t)size);
	fclose(capture);
	return status;
}

/*
 * A fuzz input replays through `replay --input` exactly as the fuzz target ran it (one
 * decoder): same scenario, verdict, message and trace hash; and the fuzz entry aborts on
 * the failing input with the oracle's message, so libFuzzer keeps it.
 */
static void test_fuzz_input_replays_like_the_fuzz_target(void **state)
{
	(void)state;
	static const struct gale_scenario *const table[] = {&odd_scenario, &draw_scenario};
	cli_program = (struct cli_program){"gale", "gale", table, 2};
	uint8_t input[3] = {1, 0, 0}; /* Scenario 1 (draw), profile none, one entropy byte. */
	struct gale_run_result result = {0};
	int rc = 0;
	for (int b = 0; b < 256 && rc == 0; b++) {
		input[2] = (uint8_t)b;
		struct gale_fuzz_case fuzz_case;
		assert_int_equal(gale_fuzz_decode(input, sizeof(input), table, 2, &fuzz_case), 0);
		assert_ptr_equal(fuzz_case.scenario, &draw_scenario);
		rc = gale_scenario_run(fuzz_case.scenario, &fuzz_case.options, NULL, &result);
	}
	assert_int_equal(rc, 1); /* Some byte draws 3. */
	const char *path = "/tmp/gale-fuzz-input-test";
	FILE *file = fopen(path, "wb");
	assert_non_null(file);
	assert_int_equal(fwrite(input, 1, sizeof(input), file), sizeof(input));
	assert_int_equal(fclose(file), 0);

	char hash[40];
	snprintf(hash, sizeof(hash), "0x%016llx", (unsigned long long)result.trace_hash);
	char *args[] = {"replay", "--input", (char *)path, "--hash", hash};
	char *out = NULL;
	assert_int_equal(replay_in_process(args, 5, &out), CLI_EXIT_FAILED);
	assert_non_null(strstr(out, "scenario draw input /tmp/gale-fuzz-input-test profile none: "
				    "FAILED\noracle check: drew 3 (step 0)\n"));
	assert_non_null(strstr(out, "trace hash matches the reported"));
	free(out);
	char *wrong[] = {"replay", "--input", (char *)path, "--scenario", "odd_fails"};
	assert_int_equal(replay_in_process(wrong, 5, &out), CLI_EXIT_USAGE);
	free(out);
	char *mixed[] = {"replay", "--input", (char *)path, "--seed", "3"};
	assert_int_equal(replay_in_process(mixed, 5, &out), CLI_EXIT_USAGE);
	free(out);

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, STDERR_FILENO);
		gale_fuzz_scenarios(input, sizeof(input), table, 2);
		_exit(0); /* Not reached: the failing input aborts. */
	}
	int wait_status = 0;
	assert_int_equal(waitpid(pid, &wait_status, 0), pid);
	assert_true(WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGABRT);
	input[2] = 0;
	remove(path);
	cli_program = (struct cli_program){.name = "gale", .argv0 = "gale"};
}

/* A planted bug to shrink: the server takes ONE read as the whole 200-byte message. */
#define TORN_LEN 200

struct torn {
	struct gale_tcp_listener listener;
	struct gale_socket_addr server;
	struct gale_tcp_connect connect;
	struct gale_socket_addr local;
	struct gale_tcp_stream client, accepted;
	struct gale_write_all write;
	uint8_t out[TORN_LEN], in[TORN_LEN];
	bool accepted_yet, connected_yet;
	struct gale_scenario_run *run;
};

static int torn_server_poll(void *data, struct gale_cx *cx)
{
	struct torn *t = data;
	if (!t->accepted_yet) {
		int rc = gale_tcp_listener_poll_accept(&t->listener, cx, &t->accepted, NULL);
		if (rc != 0)
			return gale_scenario_survive(t->run, rc, "accepting");
		t->accepted_yet = true;
	}
	struct gale_read_buf rb;
	gale_read_buf_init(&rb, t->in, sizeof(t->in));
	int rc = gale_tcp_stream_poll_read(&t->accepted, cx, &rb);
	if (rc != 0)
		return gale_scenario_survive(t->run, rc, "reading the message");
	if (rb.len_filled != TORN_LEN) /* The bug: TCP owes no message boundaries. */
		gale_scenario_fail(t->run, GALE_ORACLE_CHECK, "torn message: %zu of %d bytes",
				   rb.len_filled, TORN_LEN);
	return 0;
}

static int torn_client_poll(void *data, struct gale_cx *cx)
{
	struct torn *t = data;
	if (!t->connected_yet) {
		int rc = gale_tcp_connect_poll(&t->connect, cx, &t->client);
		if (rc != 0)
			return gale_scenario_survive(t->run, rc, "connecting");
		gale_write_all_init(&t->write, gale_tcp_stream_writer(&t->client), t->out,
				    TORN_LEN);
		t->connected_yet = true;
	}
	return gale_scenario_survive(t->run, gale_write_all_poll(&t->write, cx), "writing");
}

static int torn_setup(struct gale_scenario_run *run, void *data)
{
	struct torn *t = data;
	t->run = run;
	gale_scenario_pattern_fill(run->seed, 0, t->out, TORN_LEN);
	int rc = gale_scenario_listen(run, "10.0.0.1", 7000, 0, &t->listener, &t->server);
	if (rc == 0)
		rc = gale_scenario_connect_init(run, &t->connect, "10.0.0.2", &t->server,
						&t->local);
	if (rc == 0)
		rc = gale_scenario_spawn_retry(run, "torn-server", torn_server_poll, t, false,
					       NULL);
	return rc != 0 ? rc
		       : gale_scenario_spawn_retry(run, "torn-client", torn_client_poll, t, false,
						   NULL);
}

static void torn_teardown(struct gale_scenario_run *run, void *data)
{
	(void)run;
	struct torn *t = data;
	gale_tcp_connect_deinit(&t->connect);
	gale_tcp_stream_close(&t->client);
	gale_tcp_stream_close(&t->accepted);
	gale_tcp_listener_close(&t->listener);
}

static const struct gale_scenario torn_scenario = {
	.name = "torn", .description = "one read taken as a whole message",
	.state_size = sizeof(struct torn), .setup = torn_setup, .teardown = torn_teardown};

/*
 * The injection filter withholds faults without moving the entropy: admitting every fault
 * a run decides gives the very same run (same hash) as no filter, and admitting none
 * gives a run with no fault at all.
 */
static void test_fault_filter_admitting_all_is_the_same_run(void **state)
{
	(void)state;
	uint64_t all[CLI_SHRINK_FAULTS_MAX];
	for (uint64_t i = 0; i < CLI_SHRINK_FAULTS_MAX; i++)
		all[i] = i;
	for (uint64_t seed = 0; seed < 8; seed++) {
		struct gale_run_options options = {.seed = seed,
						   .profile = gale_fault_profile_find("harsh")};
		struct gale_run_result plain, filtered, none;
		gale_scenario_run(&torn_scenario, &options, NULL, &plain);
		uint64_t injected = 0;
		for (int kind = 0; kind < GALE_FAULT_COUNT; kind++)
			injected += plain.sim.faults.injected[kind];
		assert_true(injected < CLI_SHRINK_FAULTS_MAX);
		options.faults_filter = true;
		options.faults_allowed = all;
		options.faults_allowed_count = (size_t)injected;
		gale_scenario_run(&torn_scenario, &options, NULL, &filtered);
		assert_int_equal(filtered.trace_hash, plain.trace_hash);
		options.faults_allowed_count = 0;
		gale_scenario_run(&torn_scenario, &options, NULL, &none);
		for (int kind = 0; kind < GALE_FAULT_COUNT; kind++)
			assert_int_equal(none.sim.faults.injected[kind], 0);
	}
}

/*
 * Shrinking: the first failing seed under "harsh" shrinks to a run with few faults that
 * fails with the same oracle and task, and its replay (faults_off + the kept fault
 * numbers) reproduces the shrunk run's hash.
 */
static void test_shrink_keeps_the_failure_with_fewer_faults(void **state)
{
	(void)state;
	struct cli_campaign campaign;
	campaign_init(&campaign, 1, 40);
	campaign.scenarios[0] = &torn_scenario;
	campaign.profile_name = "harsh";
	struct cli_report report;
	assert_int_equal(cli_campaign_execute(&campaign, &report), 0);
	assert_true(report.failures_count > 0);
	const struct cli_failure *failure = &report.failures[0];
	struct cli_shrink *shrink = calloc(1, sizeof(*shrink));
	assert_non_null(shrink);
	assert_int_equal(cli_shrink(&campaign, failure, 10, shrink), 0);
	assert_true(shrink->shrunk);
	print_message("shrink: seed %llu, %llu faults -> %llu, trace %llu -> %llu, %u runs, "
		      "%.2f s\n", (unsigned long long)failure->unit.seed,
		      (unsigned long long)shrink->faults_before,
		      (unsigned long long)shrink->faults_after,
		      (unsigned long long)shrink->trace_before,
		      (unsigned long long)shrink->trace_after, shrink->runs, shrink->seconds);
	assert_true(shrink->faults_after <= 5 && shrink->faults_after <= shrink->faults_before);
	assert_int_equal(shrink->result.oracle, failure->outcome.result.oracle);
	assert_non_null(strstr(shrink->result.message, "in task 'torn-server'"));
	assert_non_null(strstr(failure->outcome.result.message, "in task 'torn-server'"));
	assert_string_equal(failure->outcome.result.task, "'torn-server'");
	assert_string_equal(shrink->result.task, "'torn-server'");
	struct gale_run_options options = {
		.seed = failure->unit.seed, .profile = gale_fault_profile_find("harsh"),
		.faults_off = shrink->faults_off, .faults_filter = true,
		.faults_allowed = shrink->allowed, .faults_allowed_count = shrink->allowed_count};
	struct gale_run_result again;
	assert_int_equal(gale_scenario_run(&torn_scenario, &options, NULL, &again), 1);
	assert_int_equal(again.trace_hash, shrink->result.trace_hash);
	char line[4096];
	cli_shrink_replay_command(&campaign, failure, shrink, line, sizeof(line));
	assert_non_null(strstr(line, " --only-faults "));
	free(shrink);
	cli_report_deinit(&report);
}

static void test_numbers_are_decimal_or_hex_only(void **state)
{
	(void)state;
	uint64_t value = 0;
	assert_true(cli_parse_u64("--seed", "010", &value));
	assert_int_equal(value, 10);
	assert_true(cli_parse_u64("--seed", "08", &value));
	assert_int_equal(value, 8);
	assert_true(cli_parse_u64("--hash", "0xfF", &value));
	assert_int_equal(value, 255);
	assert_true(cli_parse_u64("--seed", "18446744073709551615", &value));
	assert_int_equal(value, UINT64_MAX);
	static const char *const bad[] = {"", " -1", "-1", "+1", " 1", "1 ", "1e3", "0x",
					  "0x-1", "18446744073709551616", "0x10000000000000000",
					  "abc", "1.5", "\t2"};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		value = 77;
		if (cli_parse_u64("--seed", bad[k], &value))
			fail_msg("'%s' was accepted as %llu", bad[k], (unsigned long long)value);
		assert_int_equal(value, 77);
	}
}

static void test_options_take_attached_values(void **state)
{
	(void)state;
	static const struct cli_option_spec specs[] = {{"-j", true}, {"--count", true},
						       {"--swarm", false}};
	char *argv[] = {"run", "-j2", "--count=5", "--swarm", "-j", "3", "--swarm=1", "--nope",
			"-x4", "-j"};
	int argc = 10;
	const struct cli_option_spec *spec = NULL;
	const char *value = NULL;
	int i = 1;
	assert_true(cli_next_option("run", specs, 3, argc, argv, &i, &spec, &value));
	assert_string_equal(spec->name, "-j");
	assert_string_equal(value, "2");
	i++;
	assert_true(cli_next_option("run", specs, 3, argc, argv, &i, &spec, &value));
	assert_string_equal(value, "5");
	i++;
	assert_true(cli_next_option("run", specs, 3, argc, argv, &i, &spec, &value));
	assert_null(value);
	i++;
	assert_true(cli_next_option("run", specs, 3, argc, argv, &i, &spec, &value));
	assert_string_equal(value, "3");
	assert_int_equal(i, 5);
	for (i = 6; i < argc; i++) /* --swarm=1, --nope, -x4, and -j with no value left. */
		assert_false(cli_next_option("run", specs, 3, argc, argv, &i, &spec, &value));
}

int gale_test_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_units_cover_every_scenario_and_seed_once),
		cmocka_unit_test(test_units_interleave_scenarios_round_by_round),
		cmocka_unit_test(test_units_near_the_end_of_the_seed_space),
		cmocka_unit_test(test_counts_past_two_to_the_64),
		cmocka_unit_test(test_failures_counted_and_lowest_seeds_listed),
		cmocka_unit_test(test_time_limit_reports_unrun_seeds_as_skipped),
		cmocka_unit_test(test_hung_seed_reported_and_campaign_goes_on),
		cmocka_unit_test(test_fault_gate_failure_is_in_every_report),
		cmocka_unit_test(test_merge_of_shards_equals_the_unsharded_run),
		cmocka_unit_test(test_json_reader_refuses_broken_reports),
		cmocka_unit_test(test_fuzz_input_replays_like_the_fuzz_target),
		cmocka_unit_test(test_shrink_keeps_the_failure_with_fewer_faults),
		cmocka_unit_test(test_fault_filter_admitting_all_is_the_same_run),
		cmocka_unit_test(test_numbers_are_decimal_or_hex_only),
		cmocka_unit_test(test_options_take_attached_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
