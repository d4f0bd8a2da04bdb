/* SPDX-License-Identifier: MIT */
/*
 * `gale run`: parses the campaign's options, executes it (cli_campaign.c), prints the
 * summary and every failure's replay command, and writes the JSON / JUnit reports.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "cli.h"

static const char run_usage[] =
	"usage: gale run [--scenario NAME|all] [--seeds A..B | --count N]\n"
	"                [--profile none|default|harsh | --swarm] [-j N] [--shard I/N]\n"
	"                [--time-limit SECONDS] [--json FILE] [--junit FILE]\n"
	"                [--fault-coverage]\n"
	"\n"
	"Runs each scenario under each seed on the simulator and checks every oracle.\n"
	"  --scenario NAME   one scenario, or all (default: all); repeatable\n"
	"  --seeds A..B      seeds A to B inclusive (default: --count 100)\n"
	"  --count N         seeds 0 to N-1\n"
	"  --profile P       fault profile (default: default)\n"
	"  --swarm           draw a random fault profile per seed (swarm testing)\n"
	"  -j N              worker processes (default: the number of CPUs)\n"
	"  --shard I/N       run only shard I of N (0-based), for splitting across machines\n"
	"  --time-limit S    stop starting new seeds after S seconds of wall time\n"
	"  --json FILE       write a JSON report\n"
	"  --junit FILE      write a JUnit XML report (one test case per scenario)\n"
	"  --fault-coverage  print how often each fault kind was injected, and fail when a\n"
	"                    kind was never injected (no fault exists only on paper)\n"
	"Exit status: 0 when every seed passed, 1 when one failed (or, with\n"
	"--fault-coverage, a fault kind was never injected), 2 for bad arguments.\n";

static bool run_add_scenario(struct cli_campaign *campaign, const char *name)
{
	size_t count = 0;
	const struct gale_scenario *const *all = gale_catalog_scenarios(&count);
	if (strcmp(name, "all") == 0) {
		campaign->scenarios_count = 0;
		for (size_t i = 0; i < count && i < 64; i++)
			campaign->scenarios[campaign->scenarios_count++] = all[i];
		return true;
	}
	const struct gale_scenario *scenario = gale_catalog_find(name);
	if (scenario == NULL) {
		cli_usage_error("unknown scenario '%s' (see gale list)", name);
		return false;
	}
	if (campaign->scenarios_count >= 64) {
		cli_usage_error("too many --scenario options");
		return false;
	}
	campaign->scenarios[campaign->scenarios_count++] = scenario;
	return true;
}

static bool run_parse_seeds(struct cli_campaign *campaign, const char *text)
{
	const char *dots = text != NULL ? strstr(text, "..") : NULL;
	if (dots == NULL) {
		cli_usage_error("--seeds wants A..B, got '%s'", text ? text : "");
		return false;
	}
	char first[32];
	size_t len = (size_t)(dots - text);
	if (len == 0 || len >= sizeof(first)) {
		cli_usage_error("--seeds wants A..B, got '%s'", text);
		return false;
	}
	memcpy(first, text, len);
	first[len] = '\0';
	uint64_t a, b;
	if (!cli_parse_u64("--seeds", first, &a) || !cli_parse_u64("--seeds", dots + 2, &b))
		return false;
	if (b < a || b - a == UINT64_MAX) {
		cli_usage_error("--seeds %s: the range is empty or too large", text);
		return false;
	}
	campaign->seed_first = a;
	campaign->seeds_count = b - a + 1;
	return true;
}

static bool run_parse_shard(struct cli_campaign *campaign, const char *text)
{
	unsigned index = 0, count = 0;
	char extra;
	if (text == NULL || sscanf(text, "%u/%u%c", &index, &count, &extra) != 2 || count == 0 ||
	    index >= count) {
		cli_usage_error("--shard wants I/N with 0 <= I < N, got '%s'", text ? text : "");
		return false;
	}
	campaign->shard_index = index;
	campaign->shard_count = count;
	return true;
}

/* A number in [min, max], with a one-line error otherwise. */
static bool run_parse_bounded(const char *flag, const char *text, uint64_t min, uint64_t max,
			      uint64_t *value_out)
{
	if (!cli_parse_u64(flag, text, value_out))
		return false;
	if (*value_out < min || *value_out > max) {
		cli_usage_error("%s must be between %llu and %llu", flag, (unsigned long long)min,
				(unsigned long long)max);
		return false;
	}
	return true;
}

/* Applies "flag value"; false (after a one-line error) on a bad value or unknown flag. */
static bool run_apply_option(struct cli_campaign *campaign, const char *flag, const char *value)
{
	uint64_t number = 0;
	if (strcmp(flag, "--scenario") == 0)
		return run_add_scenario(campaign, value);
	if (strcmp(flag, "--seeds") == 0)
		return run_parse_seeds(campaign, value);
	if (strcmp(flag, "--profile") == 0)
		return cli_parse_profile(value, &campaign->profile_name);
	if (strcmp(flag, "--shard") == 0)
		return run_parse_shard(campaign, value);
	if (strcmp(flag, "--json") == 0 || strcmp(flag, "--junit") == 0) {
		*(strcmp(flag, "--json") == 0 ? &campaign->json_path : &campaign->junit_path) = value;
		return true;
	}
	if (strcmp(flag, "--count") == 0 && run_parse_bounded(flag, value, 1, UINT64_MAX, &number)) {
		campaign->seed_first = 0;
		campaign->seeds_count = number;
		return true;
	}
	if (strcmp(flag, "-j") == 0 && run_parse_bounded(flag, value, 1, 256, &number)) {
		campaign->jobs = (uint32_t)number;
		return true;
	}
	if (strcmp(flag, "--time-limit") == 0 &&
	    run_parse_bounded(flag, value, 1, 1000000, &number)) {
		campaign->time_limit_s = (double)number;
		return true;
	}
	return false;
}

/* Parses the option at argv[*i], advancing past its value. False on a bad argument. */
static bool run_parse_option(struct cli_campaign *campaign, int argc, char **argv, int *i)
{
	static const char *const value_flags[] = {"--scenario", "--seeds", "--count",
						  "--profile", "-j", "--shard", "--time-limit",
						  "--json", "--junit"};
	const char *flag = argv[*i];
	if (strcmp(flag, "--swarm") == 0) {
		campaign->swarm = true;
		return true;
	}
	if (strcmp(flag, "--fault-coverage") == 0) {
		campaign->fault_coverage = true;
		return true;
	}
	bool known = false;
	for (size_t k = 0; k < sizeof(value_flags) / sizeof(value_flags[0]); k++)
		known = known || strcmp(flag, value_flags[k]) == 0;
	if (!known) {
		cli_usage_error("run: unknown option '%s'", flag);
		return false;
	}
	if (*i + 1 >= argc) {
		cli_usage_error("%s needs a value", flag);
		return false;
	}
	*i += 1;
	return run_apply_option(campaign, flag, argv[*i]);
}

static void run_defaults(struct cli_campaign *campaign, const char *program)
{
	memset(campaign, 0, sizeof(*campaign));
	campaign->seeds_count = 100;
	campaign->profile_name = "default";
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	campaign->jobs = cpus > 0 ? (uint32_t)cpus : 1;
	campaign->shard_count = 1;
	campaign->program = program;
}

static void run_print_failures(const struct cli_campaign *campaign,
			       const struct cli_report *report)
{
	for (size_t i = 0; i < report->failures_count; i++) {
		const struct cli_failure *failure = &report->failures[i];
		char command[512];
		cli_replay_command(campaign, failure, command, sizeof(command));
		printf("FAIL %s seed=%llu oracle=%s: %s\n  replay: %s\n",
		       campaign->scenarios[failure->unit.scenario_index]->name,
		       (unsigned long long)failure->unit.seed,
		       gale_oracle_name(failure->outcome.result.oracle),
		       failure->outcome.result.message, command);
	}
}

int cli_command_run(const char *program, int argc, char **argv)
{
	struct cli_campaign campaign;
	run_defaults(&campaign, program);
	bool has_profile = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(run_usage, stdout);
			return CLI_EXIT_OK;
		}
		/* In either order: a profile given with --swarm would be silently ignored. */
		bool is_profile = strcmp(argv[i], "--profile") == 0;
		bool is_swarm = strcmp(argv[i], "--swarm") == 0;
		if ((is_profile && campaign.swarm) || (has_profile && is_swarm)) {
			cli_usage_error("--profile and --swarm exclude each other");
			return CLI_EXIT_USAGE;
		}
		has_profile = has_profile || is_profile;
		if (!run_parse_option(&campaign, argc, argv, &i))
			return CLI_EXIT_USAGE;
	}
	if (campaign.scenarios_count == 0 && !run_add_scenario(&campaign, "all"))
		return CLI_EXIT_USAGE;
	struct cli_report report;
	int rc = cli_campaign_execute(&campaign, &report);
	if (rc < 0) {
		fprintf(stderr, "gale: could not run the campaign: %s\n", strerror(-rc));
		return CLI_EXIT_USAGE;
	}
	run_print_failures(&campaign, &report);
	cli_report_print(&campaign, &report, stdout);
	int status = report.failures_count == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILED;
	if (campaign.fault_coverage && cli_report_print_fault_coverage(&campaign, &report,
								       stdout) != 0)
		status = CLI_EXIT_FAILED;
	if (campaign.json_path != NULL && cli_report_write_json(&campaign, &report,
								campaign.json_path) != 0)
		status = CLI_EXIT_USAGE;
	if (campaign.junit_path != NULL && cli_report_write_junit(&campaign, &report,
								  campaign.junit_path) != 0)
		status = CLI_EXIT_USAGE;
	cli_report_deinit(&report);
	return status;
}
