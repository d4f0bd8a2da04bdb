/* SPDX-License-Identifier: MIT */
/*
 * gale_main(): a program's scenarios as a full `gale` command (<gale/gale_main.h>).
 *
 *   run     many seeds of the scenarios, in parallel workers, with oracles; a summary,
 *           and a replay command for every failure
 *   replay  one seed again, with its trace and a trace-hash confirmation
 *   list    scenarios, backends, profiles, fault knobs and oracles
 *   merge   the JSON reports of a sharded campaign as one report
 * Bad arguments, and output that cannot be written, give a one-line error and exit status 2.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gale/gale_main.h>
#include <gale/sim_profile.h>

#include "cli.h"

static const char usage_text[] =
	"<command> [options]\n"
	"\n"
	"commands:\n"
	"  run      run scenarios over many seeds and check every oracle\n"
	"  replay   rerun one seed, print or write its trace, confirm its trace hash\n"
	"  list     show scenarios, backends, fault profiles, fault knobs and oracles\n"
	"  merge    combine the JSON reports of a sharded campaign into one report\n"
	"\n"
	"`<command> --help` describes each command's options.\n";

static void list_scenarios(void)
{
	printf("scenarios:\n");
	for (size_t i = 0; i < cli_program.scenarios_count; i++) {
		const struct gale_scenario *scenario = cli_program.scenarios[i];
		printf("  %-22s %s\n", scenario->name,
		       scenario->description != NULL ? scenario->description : "");
	}
}

/* What each backend is, for choosing one (the names come from the library). */
static const char *const backend_descriptions[GALE_BACKEND_COUNT] = {
	[GALE_BACKEND_SIM] = "the deterministic simulator: every fault kind, exact replay "
			     "(default)",
	[GALE_BACKEND_EPOLL] = "the real kernel over loopback: no faults, not replayable",
	[GALE_BACKEND_FAULT_EPOLL] = "the fault driver over epoll: faults from the seed, "
				     "replays only approximately",
};

static void list_backends(void)
{
	printf("\nbackends (run --backend NAME, or A,B to run every seed on both and report "
	       "divergences):\n");
	for (int k = 0; k < GALE_BACKEND_COUNT; k++)
		printf("  %-12s %s\n", gale_backend_name((enum gale_backend)k),
		       backend_descriptions[k]);
}

static void list_profiles(void)
{
	printf("\nprofiles (--profile NAME, or --swarm for one drawn per seed):\n");
	for (const char *const *name = gale_fault_profile_names(); *name != NULL; name++) {
		const struct gale_fault_profile *profile = gale_fault_profile_find(*name);
		int on = 0;
		for (int kind = 0; kind < GALE_FAULT_COUNT; kind++)
			on += profile->ratios[kind].numerator != 0;
		printf("  %-10s %d of %d fault kinds on\n", *name, on, GALE_FAULT_COUNT);
	}
	printf("  %-10s a random profile per seed: some kinds off, others up (swarm testing)\n",
	       "swarm");
}

static void list_faults(void)
{
	const struct gale_fault_profile *byname[3] = {gale_fault_profile_find("none"),
						      gale_fault_profile_find("default"),
						      gale_fault_profile_find("harsh")};
	printf("\nfault knobs (chance per opportunity: none / default / harsh):\n");
	for (int kind = 0; kind < GALE_FAULT_COUNT; kind++) {
		printf("  %-18s", gale_fault_kind_name((enum gale_fault_kind)kind));
		for (int p = 0; p < 3; p++) {
			struct gale_ratio r = byname[p]->ratios[kind];
			if (r.numerator == 0)
				printf(" %7s", "0");
			else
				printf(" %3u/%-3u", r.numerator, r.denominator);
		}
		printf("  %s\n", gale_fault_kind_description((enum gale_fault_kind)kind));
	}
}

int cli_command_list(int argc, char **argv)
{
	bool names_only = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			printf("usage: %s list [--names]\n\nShows the scenarios, the backends "
			       "(where run --backend sends the I/O: the\nsimulator or the kernel), "
			       "fault profiles, fault knobs and oracles.\n  --names   only the "
			       "scenario names, one per line (for scripts and test discovery)\n",
			       cli_program.name);
			return CLI_EXIT_OK;
		}
		if (strcmp(argv[i], "--names") == 0) {
			names_only = true;
			continue;
		}
		cli_usage_error(argv[i][0] == '-' ? "list: unknown option '%.64s'"
						  : "list: unexpected argument '%.64s'", argv[i]);
		return CLI_EXIT_USAGE;
	}
	if (names_only) {
		for (size_t i = 0; i < cli_program.scenarios_count; i++)
			printf("%s\n", cli_program.scenarios[i]->name);
		return CLI_EXIT_OK;
	}
	list_scenarios();
	list_backends();
	list_profiles();
	list_faults();
	printf("\noracles (on in every run):\n");
	for (int oracle = 1; oracle < GALE_ORACLE_COUNT; oracle++)
		printf("  %-12s %s\n", gale_oracle_name((enum gale_oracle)oracle),
		       gale_oracle_description((enum gale_oracle)oracle));
	return CLI_EXIT_OK;
}

static int dispatch(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s %s", cli_program.name, usage_text);
		return CLI_EXIT_USAGE;
	}
	const char *command = argv[1];
	if (strcmp(command, "--help") == 0 || strcmp(command, "-h") == 0 ||
	    strcmp(command, "help") == 0) {
		printf("usage: %s %s", cli_program.name, usage_text);
		return CLI_EXIT_OK;
	}
	if (strcmp(command, "run") == 0)
		return cli_command_run(argv[0], argc - 1, argv + 1);
	if (strcmp(command, "replay") == 0)
		return cli_command_replay(argc - 1, argv + 1);
	if (strcmp(command, "list") == 0)
		return cli_command_list(argc - 1, argv + 1);
	if (strcmp(command, "merge") == 0)
		return cli_command_merge(argv[0], argc - 1, argv + 1);
	cli_usage_error("unknown command '%.64s'", command);
	return CLI_EXIT_USAGE;
}

/* A name run and replay can take: non-empty, [a-z0-9_-], not "all". */
static bool name_is_valid(const char *name)
{
	if (name == NULL || name[0] == '\0' || strcmp(name, "all") == 0)
		return false;
	for (const char *p = name; *p != '\0'; p++) {
		bool ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
			  *p == '-';
		if (!ok)
			return false;
	}
	return true;
}

/* The program's own bug, caught before any seed runs: one line naming the scenario. */
static bool table_is_valid(const struct gale_scenario *const *scenarios, size_t count)
{
	if (scenarios == NULL || count == 0 || count > GALE_MAIN_SCENARIOS_MAX) {
		fprintf(stderr, "%s: gale_main needs 1 to %d scenarios, got %zu\n",
			cli_program.name, GALE_MAIN_SCENARIOS_MAX, scenarios == NULL ? 0 : count);
		return false;
	}
	for (size_t i = 0; i < count; i++) {
		const struct gale_scenario *s = scenarios[i];
		const char *problem = NULL;
		if (s == NULL)
			problem = "is NULL";
		else if (!name_is_valid(s->name))
			problem = "has a name that is empty, \"all\" or not [a-z0-9_-]";
		else if (s->setup == NULL)
			problem = "has no setup function";
		for (size_t k = 0; problem == NULL && k < i; k++)
			if (scenarios[k] != NULL && strcmp(scenarios[k]->name, s->name) == 0)
				problem = "has the same name as an earlier one";
		if (problem != NULL) {
			fprintf(stderr, "%s: gale_main: scenario %zu ('%.64s') %s\n",
				cli_program.name, i,
				s != NULL && s->name != NULL ? s->name : "", problem);
			return false;
		}
	}
	return true;
}

int gale_main(int argc, char **argv, const struct gale_scenario *const *scenarios, size_t count)
{
	const char *program = argc > 0 && argv[0] != NULL && argv[0][0] != '\0' ? argv[0] : "gale";
	const char *slash = strrchr(program, '/');
	cli_program = (struct cli_program){
		.name = slash != NULL && slash[1] != '\0' ? slash + 1 : program, .argv0 = program};
	if (!table_is_valid(scenarios, count))
		return CLI_EXIT_USAGE;
	cli_program.scenarios = scenarios;
	cli_program.scenarios_count = count;
	int status = dispatch(argc, argv);
	/* Output that never arrived (a full disk, a closed pipe) is a failure, not a success. */
	errno = 0;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "%s: cannot write to standard output: %s\n", cli_program.name,
			errno != 0 ? strerror(errno) : "write error");
		return CLI_EXIT_USAGE;
	}
	return status;
}
