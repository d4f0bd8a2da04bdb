/* SPDX-License-Identifier: MIT */
/*
 * The `gale` command's shared declarations: options of a campaign, the per-seed record
 * workers send to the parent, and the report writers.
 */
#ifndef GALE_SIM_CLI_CLI_H
#define GALE_SIM_CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <gale/scenario.h>

/* Exit statuses: 0 all passed, 1 a seed failed, 2 bad arguments (or could not run). */
enum {
	CLI_EXIT_OK = 0,
	CLI_EXIT_FAILED = 1,
	CLI_EXIT_USAGE = 2,
};

struct cli_campaign {
	const struct gale_scenario *scenarios[64]; /* What runs (catalog order). */
	size_t scenarios_count;                    /* Entries used. */
	uint64_t seed_first;                       /* First seed. */
	uint64_t seeds_count;                      /* Seeds per scenario. */
	const char *profile_name;                  /* "none", "default", "harsh". */
	bool swarm;                                /* A drawn profile per seed. */
	uint32_t jobs;                             /* Worker processes. */
	uint32_t shard_index;                      /* This shard (0-based). */
	uint32_t shard_count;                      /* Shards in all (1 = no sharding). */
	double time_limit_s;                       /* Wall-clock budget; 0 = none. */
	const char *json_path;                     /* --json FILE or NULL. */
	const char *junit_path;                    /* --junit FILE or NULL. */
	bool fault_coverage;                       /* --fault-coverage: table + gate. */
	const char *program;                       /* argv[0], for replay commands. */
};

/* One unit of work: a scenario under one seed. */
struct cli_unit {
	uint32_t scenario_index; /* Into cli_campaign.scenarios. */
	uint64_t seed;           /* The seed. */
};

/* What a unit produced (sent from a worker to the parent through a pipe). */
struct cli_outcome {
	struct gale_run_result result; /* Oracle verdict, message, hash, stats. */
	int status;                    /* gale_scenario_run()'s return, or -EINTR: crashed. */
	int64_t wall_ns;               /* Wall time of the run. */
};

/* Per-scenario totals for the summary. */
struct cli_totals {
	uint64_t seeds_count;      /* Seeds run. */
	uint64_t failures_count;   /* Seeds that failed. */
	uint64_t faults_count;     /* Faults injected, all kinds. */
	int64_t sim_time_ns;       /* Simulated time, summed. */
	int64_t wall_ns;           /* Wall time, summed over runs. */
	uint64_t faults_by_kind[GALE_FAULT_COUNT]; /* Faults injected, by kind. */
};

/* A failure kept for the report. */
struct cli_failure {
	struct cli_unit unit;     /* Which run. */
	struct cli_outcome outcome; /* What it found. */
};

/* The campaign's results (filled by cli_campaign_execute). */
struct cli_report {
	struct cli_totals totals[64];  /* By scenario index. */
	struct cli_failure *failures;  /* Heap array. */
	size_t failures_count;         /* Entries used. */
	size_t failures_cap;           /* Capacity. */
	uint64_t units_total;          /* Units planned. */
	uint64_t units_done;           /* Units finished. */
	int64_t wall_ns;               /* Whole campaign, wall clock. */
	bool stopped_by_time_limit;    /* The budget ran out first. */
};

/* Monotonic wall clock for reports (the CLI is a front end, not library code). */
int64_t cli_wall_now_ns(void);

/* Runs one unit in this process. */
void cli_unit_run(const struct cli_campaign *campaign, struct cli_unit unit,
		  struct cli_outcome *outcome_out);

/* Runs every unit with campaign->jobs workers. 0, or a negative code (fork/pipe). */
int cli_campaign_execute(const struct cli_campaign *campaign, struct cli_report *report);

void cli_report_deinit(struct cli_report *report);

/* The replay command line for a failure, e.g. "gale replay --scenario x --seed 7 ...". */
void cli_replay_command(const struct cli_campaign *campaign, const struct cli_failure *failure,
			char *buf, size_t buf_len);

/* Writers: the summary table (stdout), JSON and JUnit files. 0 or -errno. */
void cli_report_print(const struct cli_campaign *campaign, const struct cli_report *report,
		      FILE *out);
int cli_report_write_json(const struct cli_campaign *campaign, const struct cli_report *report,
			  const char *path);
int cli_report_write_junit(const struct cli_campaign *campaign,
			   const struct cli_report *report, const char *path);
/*
 * The fault coverage table: per fault kind, how often it was injected over the whole
 * campaign and by how many scenarios. Returns the number of kinds never injected (each is
 * also named on a "never injected" line), so 0 means every fault kind was exercised.
 */
int cli_report_print_fault_coverage(const struct cli_campaign *campaign,
				    const struct cli_report *report, FILE *out);

/* Subcommands. */
int cli_command_run(const char *program, int argc, char **argv);
int cli_command_replay(int argc, char **argv);
int cli_command_list(int argc, char **argv);

/* Argument helpers: print a one-line error and return false on bad input. */
bool cli_parse_u64(const char *flag, const char *text, uint64_t *value_out);
bool cli_parse_profile(const char *text, const char **name_out);
void cli_usage_error(const char *format, ...) GALE_PRINTF(1, 2);

#endif /* GALE_SIM_CLI_CLI_H */
