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
#include <sys/types.h>

#include <gale/scenario.h>

/* Exit statuses: 0 all passed, 1 a seed failed, 2 bad arguments (or could not run). */
enum {
	CLI_EXIT_OK = 0,
	CLI_EXIT_FAILED = 1,
	CLI_EXIT_USAGE = 2,
};

enum {
	CLI_SCENARIOS_MAX = 64,  /* Scenarios in one campaign. */
	CLI_JOBS_MAX = 256,      /* Worker processes. */
	/*
	 * Failures listed in full per scenario: the lowest seeds, so the list does not depend on
	 * which worker finished first, and memory stays bounded when every seed fails.
	 */
	CLI_FAILURES_LISTED = 20,
	/* Backends one campaign runs each seed on: one, or two to compare (differential). */
	CLI_BACKENDS_MAX = 2,
};

struct cli_campaign {
	const struct gale_scenario *scenarios[CLI_SCENARIOS_MAX]; /* What runs, no repeats. */
	size_t scenarios_count;                    /* Entries used. */
	uint64_t seed_first;                       /* First seed. */
	uint64_t seeds_count;                      /* Seeds per scenario (before sharding). */
	const char *profile_name;                  /* "none", "default", "harsh". */
	bool swarm;                                /* A drawn profile per seed. */
	uint32_t jobs;                             /* Worker processes. */
	uint32_t shard_index;                      /* This shard (0-based). */
	uint32_t shard_count;                      /* Shards in all (1 = no sharding). */
	double time_limit_s;                       /* Wall-clock budget; 0 = none. */
	double seed_timeout_s;                     /* One seed's wall-clock budget; 0 = none. */
	const char *json_path;                     /* --json FILE or NULL. */
	const char *junit_path;                    /* --junit FILE or NULL. */
	const char *timeline_dir;                  /* --timeline-dir DIR or NULL. */
	bool fault_coverage;                       /* --fault-coverage: table + gate. */
	double shrink_s;                           /* Budget per shrink; 0: --no-shrink. */
	const char *program;                       /* argv[0], for replay commands. */
	/*
	 * Where each seed runs (--backend): one backend, or two distinct ones (differential
	 * mode: both run every seed, and a seed that passes on one only is a divergence).
	 * backends_count 0 means {sim}, so a zeroed campaign runs on the simulator.
	 */
	enum gale_backend backends[CLI_BACKENDS_MAX];
	size_t backends_count;                     /* Entries used (0 taken as 1). */
};

/* One unit of work: a scenario under one seed. */
struct cli_unit {
	uint32_t scenario_index; /* Into cli_campaign.scenarios. */
	uint64_t seed;           /* The seed. */
};

/*
 * Where a unit sits in this shard's sequence. Seeds are interleaved across scenarios
 * (round r runs every scenario once under the shard's r-th seed; worker w runs rounds
 * w, w + jobs, ...), so a campaign cut short by its time limit has run every scenario
 * about equally. Nothing is materialised: a worker walks its rounds, so memory is
 * O(jobs) for any seed count.
 */
struct cli_position {
	uint64_t round;          /* The shard's round-th seed. */
	uint32_t scenario_index; /* Which scenario of that round. */
};

/*
 * What a unit produced (sent from a worker to the parent through a pipe, so plain data).
 * In differential mode it is the combined verdict of both backends' runs
 * (cli_outcome_combine).
 */
struct cli_outcome {
	struct gale_run_result result; /* Oracle verdict, message, hash, stats: the failing
					* backend's run (the first backend's when both
					* passed or both failed). */
	int status;                    /* gale_scenario_run()'s return, -EINTR: crashed,
					* -ETIMEDOUT: hung (killed by the watchdog). */
	int64_t wall_ns;               /* Wall time of the unit (every backend's run). */
	enum gale_backend backend;     /* Where result ran; for a crash or hang, the backend
					* that was running. */
	bool divergent;                /* Differential: this backend failed, the other
					* passed. */
	struct gale_fault_stats faults; /* Faults injected by every backend's run. */
	int64_t time_ns;               /* Run time of every backend's run: virtual on sim,
					* the driver's clock on the kernel. */
};

/* Per-scenario totals for the summary. */
struct cli_totals {
	uint64_t seeds_planned;    /* Seeds this shard would run. */
	uint64_t seeds_count;      /* Seeds run. */
	uint64_t failures_count;   /* Seeds that failed. */
	uint64_t divergences_count; /* Of those, seeds that passed on the other backend. */
	uint64_t faults_count;     /* Faults injected, all kinds. */
	int64_t sim_time_ns;       /* Run time (simulated; on the kernel, real), summed. */
	int64_t wall_ns;           /* Wall time, summed over runs. */
	uint64_t faults_by_kind[GALE_FAULT_COUNT]; /* Faults injected, by kind. */
};

struct cli_shrink;

/* A failure kept for the report. */
struct cli_failure {
	struct cli_unit unit;     /* Which run. */
	struct cli_outcome outcome; /* What it found. */
	struct cli_shrink *shrink; /* A smaller reproduction (heap), or NULL. */
};

/* A count that may pass 2^64 (planned units = scenarios x seeds). */
struct cli_count {
	uint64_t high; /* Multiples of 2^64. */
	uint64_t low;  /* The rest. */
};

/* The campaign's results (filled by cli_campaign_execute). */
struct cli_report {
	struct cli_totals totals[CLI_SCENARIOS_MAX]; /* By scenario index. */
	struct cli_failure *failures;  /* Listed failures, by (scenario, seed) once finished. */
	size_t failures_count;         /* Entries used (at most CLI_FAILURES_LISTED each). */
	size_t failures_cap;           /* Capacity. */
	uint64_t units_done;           /* Units finished. */
	int64_t wall_ns;               /* Whole campaign, wall clock. */
	bool stopped_by_time_limit;    /* The budget ran out first. */
	uint64_t shards_missing;       /* merge: shards that never reported. */
};

/* The verdict every report states (summary, JSON, JUnit and the exit status agree). */
struct cli_verdict {
	uint64_t seeds_run;      /* Summed over scenarios. */
	uint64_t seeds_failed;   /* Summed over scenarios. */
	uint64_t seeds_divergent; /* Of those, divergences (differential mode). */
	struct cli_count seeds_planned; /* Summed over scenarios. */
	struct cli_count seeds_skipped; /* Planned and never run (time limit). */
	int kinds_never_injected; /* With --fault-coverage: fault kinds never injected. */
	int exit_status;         /* CLI_EXIT_OK or CLI_EXIT_FAILED. */
};

/* Monotonic wall clock for reports (the CLI is a front end, not library code). */
int64_t cli_wall_now_ns(void);

/* Seeds of campaign this shard runs per scenario. */
uint64_t cli_shard_seeds(const struct cli_campaign *campaign);
/* Worker w's first unit; false when the shard has fewer rounds than w + 1. */
bool cli_position_first(const struct cli_campaign *campaign, uint32_t worker,
			struct cli_position *at_out);
/* The unit the same worker runs after from (the next scenario, or its next round). */
bool cli_position_next(const struct cli_campaign *campaign, struct cli_position from,
		       struct cli_position *to_out);
/* The unit at a (valid) position. */
struct cli_unit cli_position_unit(const struct cli_campaign *campaign, struct cli_position at);

/* Runs one unit in this process on one backend (outcome_out->backend is it). */
void cli_unit_run_on(const struct cli_campaign *campaign, struct cli_unit unit,
		     enum gale_backend backend, struct cli_outcome *outcome_out);
/*
 * The differential verdict of one unit run on two backends (each outcome's backend says
 * which): both passed, first's outcome; both failed, first's, its message saying that it
 * fails on both; exactly one failed, that one's, marked divergent, its message naming the
 * backend that passes and the one that fails ("diverges: passes on sim, fails on epoll:
 * <its message>"). Faults, run time and wall time are summed over both. out may not alias.
 */
void cli_outcome_combine(const struct cli_outcome *first, const struct cli_outcome *second,
			 struct cli_outcome *out);
/* Runs one unit in this process on every backend of the campaign, combined. */
void cli_unit_run(const struct cli_campaign *campaign, struct cli_unit unit,
		  struct cli_outcome *outcome_out);

/* The campaign's backend count: backends_count, or 1 (sim) when it is 0. */
size_t cli_backends_count(const struct cli_campaign *campaign);
/* True when every backend of the campaign is sim (exact replay, shrinking). */
bool cli_backends_sim_only(const struct cli_campaign *campaign);
/* The backends as --backend takes them ("sim", "sim,epoll"). */
const char *cli_backends_format(const struct cli_campaign *campaign, char *buf, size_t buf_len);
/* Every backend name, for messages ("sim, epoll, fault-epoll"). */
const char *cli_backend_names(char *buf, size_t buf_len);
/*
 * Parses a --backend list: one backend name, or two distinct ones separated by a comma.
 * 0 with backends[0..*count_out) set, -EINVAL (empty, an unknown name, more than two) or
 * -EEXIST (the same backend twice); backends untouched on error. Prints nothing.
 */
int cli_backends_parse(const char *text, enum gale_backend backends[CLI_BACKENDS_MAX],
		       size_t *count_out);
/* The --backend list, with a one-line usage error naming the valid backends. */
bool cli_parse_backends(const char *flag, const char *text, struct cli_campaign *campaign);
/* A real backend (the kernel): replays only approximately, so no shrinking, no --hash. */
bool cli_backend_is_kernel(enum gale_backend backend);
/* Writes the nonzero fault kinds of faults ("reset 2, read_short 1"), or "none". */
const char *cli_faults_format(const struct gale_fault_stats *faults, char *buf, size_t buf_len);

/* Runs every unit with campaign->jobs workers. 0, or a negative code (fork/pipe/memory). */
int cli_campaign_execute(const struct cli_campaign *campaign, struct cli_report *report);

void cli_report_deinit(struct cli_report *report);

/* Lists failure if it is among the CLI_FAILURES_LISTED lowest seeds of its scenario. */
int cli_report_keep_failure(struct cli_report *report, const struct cli_failure *failure);
/* Orders the listed failures by (scenario, seed), as every report shows them. */
void cli_report_sort_failures(struct cli_report *report);

/*
 * Reads the JSON reports of a sharded campaign (`run --shard I/N --json`) back into one
 * campaign and report, as if it had run unsharded: totals summed, failures re-listed,
 * shards that are missing counted as skipped seeds. The scenarios must be the program's.
 * 0, or -EINVAL after a one-line error naming the file and what is wrong with it.
 */
int cli_merge_reports(const char *const *paths, size_t count, struct cli_campaign *campaign,
		      struct cli_report *report);

/* Sums the report and decides the exit status (with the fault gate when asked for). */
struct cli_verdict cli_report_verdict(const struct cli_campaign *campaign,
				      const struct cli_report *report);

/* The replay command line for a failure, e.g. "gale replay --scenario x --seed 7 ...". */
void cli_replay_command(const struct cli_campaign *campaign, const struct cli_failure *failure,
			char *buf, size_t buf_len);

/* Writers: the summary table (stdout) and the JSON and JUnit reports. */
void cli_report_print(const struct cli_campaign *campaign, const struct cli_report *report,
		      FILE *out);
/* Write to an open stream; the caller closes it and checks the close (see cli_file_close). */
void cli_report_write_json(const struct cli_campaign *campaign, const struct cli_report *report,
			   FILE *out);
void cli_report_write_junit(const struct cli_campaign *campaign,
			    const struct cli_report *report, FILE *out);
/*
 * The fault coverage table: per fault kind, how often it was injected over the whole
 * campaign and by how many scenarios. Returns the number of kinds never injected (each is
 * also named on a "never injected" line), so 0 means every fault kind was exercised.
 */
int cli_report_print_fault_coverage(const struct cli_campaign *campaign,
				    const struct cli_report *report, FILE *out);
/* Fault kinds injected by no scenario of the campaign; bit k set = kind k never injected. */
int cli_report_never_injected(const struct cli_campaign *campaign,
			      const struct cli_report *report, uint32_t *kinds_out);

/* Every listed failure with its replay command, on stdout. */
void cli_report_print_failures(const struct cli_campaign *campaign,
			       const struct cli_report *report);

/* The report files, opened before the campaign so a bad path costs no run. */
struct cli_files {
	FILE *json;  /* --json, or NULL. */
	FILE *junit; /* --junit, or NULL. */
};
/* Opens campaign's --json / --junit files; false (after a one-line error) if one fails. */
bool cli_files_open(const struct cli_campaign *campaign, struct cli_files *files);
/* Writes and closes them; false (after a one-line error) when one could not be written. */
bool cli_files_write(const struct cli_campaign *campaign, const struct cli_report *report,
		     struct cli_files *files);
/* Closes and removes them: no report was made, so no file may pass for one. */
void cli_files_discard(const struct cli_campaign *campaign, struct cli_files *files);

/*
 * What run and merge end with: the failures with their replay lines, the summary, the
 * fault table when asked for, and the report files written and closed. Returns the exit
 * status: the verdict's, or CLI_EXIT_USAGE when a report file could not be written.
 */
int cli_report_finish(const struct cli_campaign *campaign, const struct cli_report *report,
		      struct cli_files *files);

/* Faults a shrunk run may keep (the search numbers at most this many). */
#define CLI_SHRINK_FAULTS_MAX 512
/* Candidate runs one search may make (its deterministic budget; the wall clock caps it). */
#define CLI_SHRINK_RUNS_MAX 2000

/* A smaller reproduction of a failure (cli_shrink.c). */
struct cli_shrink {
	bool shrunk;                      /* Found, and it fails the same way. */
	uint32_t faults_off;              /* Fault kinds switched off. */
	bool draws_min;                   /* Every draw at its minimum (--draws-min). */
	uint64_t allowed[CLI_SHRINK_FAULTS_MAX]; /* Fault numbers still injected. */
	size_t allowed_count;             /* Entries. */
	uint64_t faults_before;           /* Faults the original run injected. */
	uint64_t faults_after;            /* Faults the shrunk run injected. */
	uint64_t trace_before;            /* Trace records, original run. */
	uint64_t trace_after;             /* Trace records, shrunk run. */
	uint32_t runs;                    /* Candidate runs tried. */
	double seconds;                   /* Wall time of the search. */
	struct gale_run_result result;    /* The shrunk run's verdict and hash. */
};

/*
 * Searches, within budget_s of wall time, for a run of the failure's scenario and seed
 * that fails with the same oracle and the same task while injecting fewer faults: first
 * fault kinds switched off, then delta debugging over the injected faults. Oracle
 * failures on sim only (status 1; -EINVAL otherwise: kernel runs do not replay exactly).
 * 0 (out->shrunk says whether a smaller run was found), or a negative code (the search
 * could not run, or a candidate crashed it).
 */
int cli_shrink(const struct cli_campaign *campaign, const struct cli_failure *failure,
	       double budget_s, struct cli_shrink *out);
/* The replay line of a shrunk failure: --faults-off KINDS --only-faults N,... --hash H. */
void cli_shrink_replay_command(const struct cli_campaign *campaign,
			       const struct cli_failure *failure, const struct cli_shrink *shrink,
			       char *buf, size_t buf_len);

/* Decimal text of a count (buf of at least 40 bytes). */
const char *cli_count_format(struct cli_count count, char *buf, size_t buf_len);
void cli_count_add(struct cli_count *count, uint64_t value);

/*
 * The program gale_main() runs as: its scenarios and its name for messages. Set for the
 * duration of the call (tests that call the parts directly get "gale" and no scenarios).
 */
struct cli_program {
	const char *name;                             /* Basename of argv[0]. */
	const char *argv0;                            /* argv[0], for replay lines. */
	const struct gale_scenario *const *scenarios; /* The table gale_main() was given. */
	size_t scenarios_count;                       /* Entries. */
};
extern struct cli_program cli_program;

/* The program's scenario named name, or NULL. */
const struct gale_scenario *cli_scenario_find(const char *name);

/* Subcommands. */
int cli_command_run(const char *program, int argc, char **argv);
int cli_command_replay(int argc, char **argv);
int cli_command_list(int argc, char **argv);
int cli_command_merge(const char *program, int argc, char **argv);

/*
 * Argument helpers: each prints a one-line error and returns false on bad input.
 * Numbers are decimal, or hexadecimal after 0x; no sign, no spaces ("010" is ten).
 */
bool cli_parse_u64(const char *flag, const char *text, uint64_t *value_out);
bool cli_parse_profile(const char *text, const char **name_out);
void cli_usage_error(const char *format, ...) GALE_PRINTF(1, 2);

/*
 * One option of argv at *i: "--flag value", "--flag=value" or, for one-letter flags,
 * "-jN". Returns the flag (without "=value") in flag_buf and its value in *value_out
 * (NULL for a flag without a value), advancing *i past a separate value. takes_value(flag)
 * says whether a flag wants one. Returns false (after a one-line error) on an unknown flag
 * or a missing value.
 */
struct cli_option_spec {
	const char *name;  /* "--count", "-j". */
	bool takes_value;  /* Wants a value. */
};
bool cli_next_option(const char *command, const struct cli_option_spec *specs, size_t count,
		     int argc, char **argv, int *i, const struct cli_option_spec **spec_out,
		     const char **value_out);

/*
 * The whole file at path (at most max bytes), NUL-terminated, to free; NULL after a
 * one-line error "<program>: <command>: <path>: <reason>".
 */
char *cli_file_read(const char *command, const char *path, size_t max, size_t *len_out);
/*
 * Forks a child with a pipe to the parent: in the parent *pid_out is the child and *fd_out
 * the read end; in the child *pid_out is 0 and *fd_out the write end. stdio is flushed
 * first, so nothing buffered is written twice. 0, or -errno (nothing left open).
 */
int cli_fork_piped(pid_t *pid_out, int *fd_out);
/* Writes / reads exactly len bytes (EINTR retried); false on an error or end of file. */
bool cli_write_all(int fd, const void *buf, size_t len);
bool cli_read_all(int fd, void *buf, size_t len);

/* Writes the kept records of trace, one line each (and a note when it was truncated);
 * replay's --verbose / --trace and the fuzz entry's GALE_FUZZ_TRACE. */
void cli_trace_print(const struct gale_trace *trace, FILE *out);

/* What a timeline shows besides the trace: which run, its verdict, how to replay it. */
struct cli_timeline_run {
	const char *scenario;                 /* The scenario's name. */
	const char *command;                  /* The replay command line. */
	int status;                           /* gale_scenario_run()'s return. */
	const struct gale_run_result *result; /* Its verdict (failure_step places it). */
};

/*
 * Writes the kept records of trace (and its side records) as a timeline: Chrome
 * trace-event JSON (html false: Perfetto, chrome://tracing) or one self-contained HTML
 * page (html true). 0, or -ENOMEM (nothing written). Write errors are the caller's to
 * find when it closes out (cli_file_close).
 */
int cli_timeline_write(const struct gale_trace *trace, const struct cli_timeline_run *run,
		       bool html, FILE *out);

/*
 * run --timeline-dir DIR: reruns each listed failure that replays exactly (an oracle
 * failure on sim) keeping its trace, and writes DIR/<scenario>-seed<N>.json and .html;
 * names on stdout what it wrote and what it could not. false when a file could not be
 * written (after a one-line error).
 */
bool cli_timeline_dir_write(const struct cli_campaign *campaign, const struct cli_report *report,
			    const char *dir);

/* Opens path for writing, with a one-line error naming it; NULL on failure. */
FILE *cli_file_open(const char *path);
/* Flushes and closes out; false (after a one-line error naming path) if anything was lost. */
bool cli_file_close(FILE *out, const char *path);

#endif /* GALE_SIM_CLI_CLI_H */
