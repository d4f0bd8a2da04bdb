/* SPDX-License-Identifier: MIT */
/*
 * The `gale` command: scenario campaigns on the deterministic simulator.
 *
 *   gale run     many seeds of the catalog, in parallel workers, with oracles; a summary,
 *                and a replay command for every failure
 *   gale replay  one seed again, with its trace and a trace-hash confirmation
 *   gale list    scenarios, profiles, fault knobs and oracles
 * Bad arguments, and output that cannot be written, give a one-line error and exit status 2.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gale/sim_profile.h>

#include "catalog.h"
#include "cli.h"

static const char usage_text[] =
	"usage: gale <command> [options]\n"
	"\n"
	"commands:\n"
	"  run      run scenarios over many seeds and check every oracle\n"
	"  replay   rerun one seed, print or write its trace, confirm its trace hash\n"
	"  list     show scenarios, fault profiles, fault knobs and oracles\n"
	"\n"
	"`gale <command> --help` describes each command's options.\n";

static void list_scenarios(void)
{
	size_t count = 0;
	const struct gale_scenario *const *scenarios = gale_catalog_scenarios(&count);
	printf("scenarios:\n");
	for (size_t i = 0; i < count; i++)
		printf("  %-22s %s\n", scenarios[i]->name, scenarios[i]->description);
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
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			printf("usage: gale list\n\nShows the scenarios, fault profiles, fault "
			       "knobs and oracles.\n");
			return CLI_EXIT_OK;
		}
		cli_usage_error("list: unexpected argument '%.64s'", argv[i]);
		return CLI_EXIT_USAGE;
	}
	list_scenarios();
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
		fputs(usage_text, stderr);
		return CLI_EXIT_USAGE;
	}
	const char *command = argv[1];
	if (strcmp(command, "--help") == 0 || strcmp(command, "-h") == 0 ||
	    strcmp(command, "help") == 0) {
		fputs(usage_text, stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(command, "run") == 0)
		return cli_command_run(argv[0], argc - 1, argv + 1);
	if (strcmp(command, "replay") == 0)
		return cli_command_replay(argc - 1, argv + 1);
	if (strcmp(command, "list") == 0)
		return cli_command_list(argc - 1, argv + 1);
	cli_usage_error("unknown command '%.64s'", command);
	return CLI_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	int status = dispatch(argc, argv);
	/* Output that never arrived (a full disk, a closed pipe) is a failure, not a success. */
	errno = 0;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "gale: cannot write to standard output: %s\n",
			errno != 0 ? strerror(errno) : "write error");
		return CLI_EXIT_USAGE;
	}
	return status;
}
