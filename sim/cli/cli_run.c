/* SPDX-License-Identifier: MIT */
/*
 * `gale run`: parses the campaign's options, executes it (cli_campaign.c), prints the
 * summary and every failure's replay command, and writes the JSON / JUnit reports.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char run_usage[] =
	"run [--scenario NAME|all] [--seeds A..B | --count N] [--backend B[,B2]]\n"
	"    [--profile none|default|harsh | --swarm] [-j N] [--shard I/N]\n"
	"    [--time-limit SECONDS] [--seed-timeout SECONDS] [--json FILE] [--junit FILE]\n"
	"    [--fault-coverage] [--no-shrink] [--timeline-dir DIR]\n"
	"\n"
	"Runs each scenario under each seed on the chosen backend and checks every oracle.\n"
	"  --scenario NAME   one scenario, or all (default: all); repeatable\n"
	"  --seeds A..B      seeds A to B inclusive (default: --count 100)\n"
	"  --count N         seeds 0 to N-1\n"
	"  --backend B       where the I/O goes (default: sim):\n"
	"                      sim          the deterministic simulator, every fault kind\n"
	"                      epoll        the real kernel over loopback, no faults\n"
	"                      fault-epoll  the fault driver over epoll (faults from the seed)\n"
	"                    B,B2 (e.g. sim,epoll) runs every seed on both and reports a seed\n"
	"                    that passes on one and fails on the other as a divergence.\n"
	"                    Kernel runs replay only approximately and are not shrunk.\n"
	"  --profile P       fault profile (default: default)\n"
	"  --swarm           draw a random fault profile per seed (swarm testing)\n"
	"  -j N              worker processes (default: the number of CPUs)\n"
	"  --shard I/N       run only shard I of N (0-based): the seeds whose offset from the\n"
	"                    first is I modulo N, for splitting across machines\n"
	"  --time-limit S    stop starting new seeds after S seconds of wall time\n"
	"  --seed-timeout S  report a seed that runs S seconds of wall time (per backend) as\n"
	"                    hung, with its replay line, and go on (default: 300)\n"
	"  --no-shrink       do not shrink failures (by default the lowest failing seed of\n"
	"                    each scenario on sim is shrunk: fewer fault kinds, then fewer\n"
	"                    faults, same oracle and task; up to 10 s each)\n"
	"  --json FILE       write a JSON report\n"
	"  --junit FILE      write a JUnit XML report (one test case per scenario)\n"
	"  --timeline-dir DIR  write the timeline of each listed failure on sim (rerun with\n"
	"                    its trace) to DIR/<scenario>-seed<N>.json (Chrome trace-event\n"
	"                    JSON, for https://ui.perfetto.dev) and .html (a page to open)\n"
	"  --fault-coverage  print how often each fault kind was injected, and fail when a\n"
	"                    kind was never injected (no fault exists only on paper)\n"
	"Numbers are decimal (or hex after 0x); --flag=value and -jN work too. Seeds are\n"
	"interleaved across scenarios, so a time limit cuts every scenario about equally;\n"
	"seeds it leaves unrun are reported as skipped, never as passed.\n"
	"Exit status: 0 when every seed that ran passed, 1 when one failed (or diverged, or,\n"
	"with --fault-coverage, a fault kind was never injected), 2 for bad arguments, a\n"
	"report file that cannot be written, or a campaign that could not run.\n";

/* Adds a scenario (or every one, for "all") unless it is in the campaign already. */
static bool run_add_scenario(struct cli_campaign *campaign, const char *name)
{
	size_t count = cli_program.scenarios_count;
	const struct gale_scenario *const *all = cli_program.scenarios;
	const struct gale_scenario *one = strcmp(name, "all") == 0 ? NULL : cli_scenario_find(name);
	if (strcmp(name, "all") != 0 && one == NULL) {
		cli_usage_error("unknown scenario '%.64s' (see gale list)", name);
		return false;
	}
	for (size_t i = 0; i < count; i++) {
		if (one != NULL && all[i] != one)
			continue;
		bool present = false;
		for (size_t k = 0; k < campaign->scenarios_count; k++)
			present = present || campaign->scenarios[k] == all[i];
		if (present)
			continue;
		if (campaign->scenarios_count >= CLI_SCENARIOS_MAX) {
			cli_usage_error("too many scenarios (at most %d)", CLI_SCENARIOS_MAX);
			return false;
		}
		campaign->scenarios[campaign->scenarios_count++] = all[i];
	}
	return true;
}

static bool run_parse_range(const char *flag, const char *text, char separator,
			    uint64_t *first_out, uint64_t *second_out)
{
	const char *mark = separator == '.' ? strstr(text, "..") : strchr(text, separator);
	size_t len = mark != NULL ? (size_t)(mark - text) : 0;
	char first[32];
	if (mark == NULL || len == 0 || len >= sizeof(first)) {
		cli_usage_error("%s wants %s, got '%.64s'", flag,
				separator == '.' ? "A..B" : "I/N", text);
		return false;
	}
	memcpy(first, text, len);
	first[len] = '\0';
	const char *second = separator == '.' ? mark + 2 : mark + 1;
	return cli_parse_u64(flag, first, first_out) && cli_parse_u64(flag, second, second_out);
}

static bool run_parse_seeds(struct cli_campaign *campaign, const char *text)
{
	uint64_t a, b;
	if (!run_parse_range("--seeds", text, '.', &a, &b))
		return false;
	if (b < a) {
		cli_usage_error("--seeds %.64s: the range is empty", text);
		return false;
	}
	if (b - a == UINT64_MAX) {
		cli_usage_error("--seeds %.64s: at most 2^64 - 1 seeds", text);
		return false;
	}
	campaign->seed_first = a;
	campaign->seeds_count = b - a + 1;
	return true;
}

static bool run_parse_shard(struct cli_campaign *campaign, const char *text)
{
	uint64_t index, count;
	if (!run_parse_range("--shard", text, '/', &index, &count))
		return false;
	if (count == 0 || count > UINT32_MAX || index >= count) {
		cli_usage_error("--shard wants I/N with 0 <= I < N <= %u, got '%.64s'", UINT32_MAX,
				text);
		return false;
	}
	campaign->shard_index = (uint32_t)index;
	campaign->shard_count = (uint32_t)count;
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

static const struct cli_option_spec run_options[] = {
	{"--scenario", true}, {"--seeds", true},      {"--count", true},  {"--profile", true},
	{"-j", true},         {"--shard", true},      {"--time-limit", true},
	{"--json", true},     {"--junit", true},      {"--swarm", false},
	{"--seed-timeout", true}, {"--no-shrink", false},
	{"--fault-coverage", false}, {"--backend", true}, {"--timeline-dir", true},
};

/* Applies one option; false (after a one-line error) on a bad value. */
static bool run_apply_option(struct cli_campaign *campaign, const char *flag, const char *value)
{
	uint64_t number = 0;
	if (strcmp(flag, "--no-shrink") == 0) {
		campaign->shrink_s = 0;
		return true;
	}
	if (strcmp(flag, "--swarm") == 0 || strcmp(flag, "--fault-coverage") == 0) {
		*(flag[2] == 's' ? &campaign->swarm : &campaign->fault_coverage) = true;
		return true;
	}
	if (strcmp(flag, "--scenario") == 0)
		return run_add_scenario(campaign, value);
	if (strcmp(flag, "--seeds") == 0)
		return run_parse_seeds(campaign, value);
	if (strcmp(flag, "--profile") == 0)
		return cli_parse_profile(value, &campaign->profile_name);
	if (strcmp(flag, "--backend") == 0)
		return cli_parse_backends(flag, value, campaign);
	if (strcmp(flag, "--shard") == 0)
		return run_parse_shard(campaign, value);
	if (strcmp(flag, "--json") == 0 || strcmp(flag, "--junit") == 0 ||
	    strcmp(flag, "--timeline-dir") == 0) {
		if (value[0] == '\0') {
			cli_usage_error("%s needs a %s name", flag, flag[2] == 't' ? "directory"
										   : "file");
			return false;
		}
		const char **slot = flag[2] == 't' ? &campaign->timeline_dir
				    : strcmp(flag, "--json") == 0 ? &campaign->json_path
								  : &campaign->junit_path;
		*slot = value;
		return true;
	}
	if (strcmp(flag, "--count") == 0) {
		if (!run_parse_bounded(flag, value, 1, UINT64_MAX, &number))
			return false;
		campaign->seed_first = 0;
		campaign->seeds_count = number;
		return true;
	}
	if (strcmp(flag, "-j") == 0) {
		if (!run_parse_bounded(flag, value, 1, CLI_JOBS_MAX, &number))
			return false;
		campaign->jobs = (uint32_t)number;
		return true;
	}
	/* --time-limit or --seed-timeout. */
	if (!run_parse_bounded(flag, value, 1, 1000000, &number))
		return false;
	*(strcmp(flag, "--time-limit") == 0 ? &campaign->time_limit_s
					     : &campaign->seed_timeout_s) = (double)number;
	return true;
}

static void run_defaults(struct cli_campaign *campaign, const char *program)
{
	memset(campaign, 0, sizeof(*campaign));
	campaign->seeds_count = 100;
	campaign->profile_name = "default";
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	campaign->jobs = cpus > 0 ? (uint32_t)(cpus < CLI_JOBS_MAX ? cpus : CLI_JOBS_MAX) : 1;
	campaign->shard_count = 1;
	campaign->seed_timeout_s = 300;
	campaign->shrink_s = 10;
	campaign->program = program;
	campaign->backends[0] = GALE_BACKEND_SIM;
	campaign->backends_count = 1;
}

/* Fills campaign from argv. Returns -1 to go on, or an exit status (help, bad argument). */
static int run_parse(struct cli_campaign *campaign, int argc, char **argv)
{
	bool has_profile = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			printf("usage: %s %s", cli_program.name, run_usage);
			return CLI_EXIT_OK;
		}
		const struct cli_option_spec *spec = NULL;
		const char *value = NULL;
		if (!cli_next_option("run", run_options,
				     sizeof(run_options) / sizeof(run_options[0]),
				     argc, argv, &i, &spec, &value))
			return CLI_EXIT_USAGE;
		/* In either order: a profile given with --swarm would be silently ignored. */
		bool is_profile = strcmp(spec->name, "--profile") == 0;
		bool is_swarm = strcmp(spec->name, "--swarm") == 0;
		if ((is_profile && campaign->swarm) || (has_profile && is_swarm)) {
			cli_usage_error("--profile and --swarm exclude each other");
			return CLI_EXIT_USAGE;
		}
		has_profile = has_profile || is_profile;
		if (!run_apply_option(campaign, spec->name, value))
			return CLI_EXIT_USAGE;
	}
	if (campaign->scenarios_count == 0 && !run_add_scenario(campaign, "all"))
		return CLI_EXIT_USAGE;
	return -1;
}

/* Shrinks the lowest failing seed on sim of each scenario (oracle failures; crashes and
 * hangs are not run again in-process; kernel runs do not replay exactly, so a failure
 * there is listed as it is), each within campaign->shrink_s of wall time. */
static void run_shrink_failures(const struct cli_campaign *campaign, struct cli_report *report)
{
	if (campaign->shrink_s <= 0)
		return;
	bool done[CLI_SCENARIOS_MAX] = {false};
	for (size_t k = 0; k < report->failures_count; k++) {
		struct cli_failure *failure = &report->failures[k];
		if (done[failure->unit.scenario_index] || failure->outcome.status != 1 ||
		    cli_backend_is_kernel(failure->outcome.backend))
			continue;
		done[failure->unit.scenario_index] = true;
		struct cli_shrink *shrink = calloc(1, sizeof(*shrink));
		if (shrink == NULL)
			return;
		int rc = cli_shrink(campaign, failure, campaign->shrink_s, shrink);
		if (rc == 0 && shrink->shrunk)
			failure->shrink = shrink;
		else
			free(shrink);
	}
}

int cli_command_run(const char *program, int argc, char **argv)
{
	struct cli_campaign campaign;
	run_defaults(&campaign, program);
	int exit_status = run_parse(&campaign, argc, argv);
	if (exit_status >= 0)
		return exit_status;
	struct cli_files files;
	if (!cli_files_open(&campaign, &files))
		return CLI_EXIT_USAGE;
	struct cli_report report;
	int rc = cli_campaign_execute(&campaign, &report);
	if (rc < 0) {
		fprintf(stderr, "%s: could not run the campaign: %s\n", cli_program.name,
			strerror(-rc));
		cli_report_deinit(&report);
		cli_files_discard(&campaign, &files);
		return CLI_EXIT_USAGE;
	}
	run_shrink_failures(&campaign, &report);
	exit_status = cli_report_finish(&campaign, &report, &files);
	if (campaign.timeline_dir != NULL &&
	    !cli_timeline_dir_write(&campaign, &report, campaign.timeline_dir))
		exit_status = CLI_EXIT_USAGE;
	cli_report_deinit(&report);
	return exit_status;
}
