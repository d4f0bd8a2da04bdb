/* SPDX-License-Identifier: MIT */
/*
 * `gale replay`: reruns one (scenario, seed, profile), prints the verdict and the trace
 * hash, writes the trace as text (--trace FILE, or stdout with --verbose) or as a timeline
 * (--timeline FILE.json for Perfetto, --html FILE.html for a browser), and with --hash
 * confirms that the run reproduced the hash a campaign reported. On sim a replay
 * is exact; on a kernel backend (--backend epoll, fault-epoll) it reruns the seed, but
 * the kernel's timing is not the seed's, so it reproduces only approximately.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gale/gale_fuzz.h>
#include <gale/sim_trace.h>

#include "cli.h"

/* Records kept for the dump: enough for every catalog scenario at default sizes. */
#define REPLAY_RECORDS_MAX (4u * 1024 * 1024)

/* Fuzz inputs are small (libFuzzer's -max_len); this bounds a wrong file. */
#define REPLAY_INPUT_MAX (64u * 1024 * 1024)

static const char replay_usage[] =
	"replay --scenario NAME --seed N [--profile P | --swarm] [--backend B]\n"
	"       [--trace FILE] [--verbose] [--timeline FILE] [--html FILE] [--hash 0xHASH]\n"
	"replay --input FILE [--trace FILE] [--verbose] [--timeline FILE] [--html FILE]\n"
	"       [--hash 0xHASH]\n"
	"\n"
	"Reruns one seed (exactly, on sim) and prints its verdict and trace hash.\n"
	"  --input FILE   run a fuzz input instead (a crash GALE_FUZZ_TARGET saved): it picks\n"
	"                 the scenario and profile, and is the run's entropy\n"
	"  --backend B    where the I/O goes: sim (default, exact), epoll or fault-epoll\n"
	"                 (the kernel: replays only approximately, no --shrink)\n"
	"  --trace FILE   write the whole trace as text to FILE\n"
	"  --verbose      print the trace to stdout\n"
	"  --timeline FILE  write the run as a timeline in Chrome trace-event JSON (open it\n"
	"                 in https://ui.perfetto.dev or chrome://tracing): a track per task\n"
	"                 (its polls), per fd and duplex end (ops, readiness, clears),\n"
	"                 faults and the failure marked; virtual time, trace steps in args\n"
	"  --html FILE    the same timeline as one self-contained page for any browser\n"
	"  --hash H       confirm the run reproduced trace hash H (exit 1 if not)\n"
	"  --faults-off K,K...    switch these fault kinds off (a shrunk failure's line)\n"
	"  --only-faults N,N...   inject only the faults with these numbers, in the order\n"
	"                         the run decides them (none: no fault); others are withheld\n"
	"  --draws-min    every gale_scenario_draw() at its minimum (a shrunk line's)\n"
	"  --shrink       when the seed fails, search for a smaller run that fails the same\n"
	"                 way (fewer fault kinds, then fewer faults, then the smallest\n"
	"                 world) and print its line\n";

struct replay_options {
	const struct gale_scenario *scenario; /* --scenario. */
	uint64_t seed;                        /* --seed. */
	bool has_seed;                        /* --seed given. */
	const char *profile_name;             /* --profile (default "default"). */
	bool has_profile;                     /* --profile given. */
	bool swarm;                           /* --swarm. */
	const char *trace_path;               /* --trace or NULL. */
	const char *timeline_path;            /* --timeline or NULL. */
	const char *html_path;                /* --html or NULL. */
	const char *faults_off_text;          /* --faults-off as given, for the replay line. */
	const char *only_text;                /* --only-faults as given, likewise. */
	bool verbose;                         /* --verbose. */
	uint64_t hash;                        /* --hash. */
	bool has_hash;                        /* --hash given. */
	const char *input_path;               /* --input or NULL. */
	uint32_t faults_off;                  /* --faults-off: kinds switched off. */
	bool has_only;                        /* --only-faults given. */
	uint64_t only[CLI_SHRINK_FAULTS_MAX];  /* --only-faults, ascending. */
	size_t only_count;                    /* Entries. */
	bool shrink;                          /* --shrink. */
	bool draws_min;                       /* --draws-min. */
	enum gale_backend backend;            /* --backend (default sim). */
	bool has_backend;                     /* --backend given. */
};

static const struct cli_option_spec replay_options[] = {
	{"--scenario", true}, {"--seed", true},  {"--profile", true}, {"--trace", true},
	{"--hash", true},     {"--swarm", false}, {"--verbose", false}, {"--input", true},
	{"--faults-off", true}, {"--only-faults", true}, {"--shrink", false},
	{"--draws-min", false}, {"--backend", true}, {"--timeline", true}, {"--html", true},
};

/* --faults-off KIND,KIND...: fault kind names. */
static bool replay_parse_kinds(const char *text, uint32_t *kinds_out)
{
	*kinds_out = 0;
	for (const char *at = text;;) {
		size_t len = strcspn(at, ",");
		int found = -1;
		for (int kind = 0; kind < GALE_FAULT_COUNT; kind++) {
			const char *name = gale_fault_kind_name(kind);
			if (strlen(name) == len && strncmp(name, at, len) == 0)
				found = kind;
		}
		if (found < 0) {
			cli_usage_error("--faults-off: '%.*s' is not a fault kind (see list)",
					(int)(len < 64 ? len : 64), at);
			return false;
		}
		*kinds_out |= UINT32_C(1) << found;
		if (at[len] == '\0')
			return true;
		at += len + 1;
	}
}

static int u64_compare(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* --only-faults N,N... (or "none"): the fault numbers injected, sorted. */
static bool replay_parse_only(struct replay_options *options, const char *text)
{
	options->has_only = true;
	options->only_count = 0;
	if (strcmp(text, "none") == 0)
		return true;
	for (const char *at = text;;) {
		size_t len = strcspn(at, ",");
		char number[24];
		if (len == 0 || len >= sizeof(number) ||
		    options->only_count == CLI_SHRINK_FAULTS_MAX) {
			cli_usage_error("--only-faults wants N,N,... (at most %d) or none",
					CLI_SHRINK_FAULTS_MAX);
			return false;
		}
		memcpy(number, at, len);
		number[len] = '\0';
		if (!cli_parse_u64("--only-faults", number, &options->only[options->only_count]))
			return false;
		options->only_count++;
		if (at[len] == '\0')
			break;
		at += len + 1;
	}
	qsort(options->only, options->only_count, sizeof(options->only[0]), u64_compare);
	return true;
}

/* --backend NAME: one backend (a replay reruns one run, not a comparison). */
static bool replay_parse_backend(struct replay_options *options, const char *text)
{
	enum gale_backend backends[CLI_BACKENDS_MAX];
	size_t count = 0;
	char names[64];
	if (cli_backends_parse(text, backends, &count) == 0 && count == 1) {
		options->backend = backends[0];
		options->has_backend = true;
		return true;
	}
	if (count > 1 || strchr(text, ',') != NULL)
		cli_usage_error("--backend: replay reruns one backend, got '%.64s' (run the seed "
				"on each)", text);
	else
		cli_usage_error("--backend '%.64s': want one of %s", text,
				cli_backend_names(names, sizeof(names)));
	return false;
}

static bool replay_apply(struct replay_options *options, const char *flag, const char *value)
{
	if (strcmp(flag, "--swarm") == 0 || strcmp(flag, "--verbose") == 0 ||
	    strcmp(flag, "--shrink") == 0) {
		bool *set = flag[3] == 'h' ? &options->shrink
			    : flag[2] == 's' ? &options->swarm : &options->verbose;
		*set = true;
		return true;
	}
	if (strcmp(flag, "--draws-min") == 0) {
		options->draws_min = true;
		return true;
	}
	if (strcmp(flag, "--backend") == 0)
		return replay_parse_backend(options, value);
	if (strcmp(flag, "--faults-off") == 0) {
		options->faults_off_text = value;
		return replay_parse_kinds(value, &options->faults_off);
	}
	if (strcmp(flag, "--only-faults") == 0) {
		options->only_text = value;
		return replay_parse_only(options, value);
	}
	if (strcmp(flag, "--timeline") == 0 || strcmp(flag, "--html") == 0) {
		*(flag[2] == 't' ? &options->timeline_path : &options->html_path) = value;
		if (value[0] == '\0')
			cli_usage_error("%s needs a file name", flag);
		return value[0] != '\0';
	}
	if (strcmp(flag, "--scenario") == 0) {
		options->scenario = cli_scenario_find(value);
		if (options->scenario == NULL)
			cli_usage_error("unknown scenario '%.64s' (see gale list)", value);
		return options->scenario != NULL;
	}
	if (strcmp(flag, "--seed") == 0)
		return options->has_seed = cli_parse_u64(flag, value, &options->seed);
	if (strcmp(flag, "--profile") == 0)
		return options->has_profile = cli_parse_profile(value, &options->profile_name);
	if (strcmp(flag, "--trace") == 0 || strcmp(flag, "--input") == 0) {
		*(flag[2] == 't' ? &options->trace_path : &options->input_path) = value;
		if (value[0] == '\0')
			cli_usage_error("%s needs a file name", flag);
		return value[0] != '\0';
	}
	return options->has_hash = cli_parse_u64(flag, value, &options->hash); /* --hash */
}

/* Returns -1 to continue, or an exit status (help, or a usage error). */
static int replay_parse(struct replay_options *options, int argc, char **argv)
{
	*options = (struct replay_options){.profile_name = "default"};
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			printf("usage: %s %s", cli_program.name, replay_usage);
			return CLI_EXIT_OK;
		}
		const struct cli_option_spec *spec = NULL;
		const char *value = NULL;
		if (!cli_next_option("replay", replay_options,
				     sizeof(replay_options) / sizeof(replay_options[0]), argc, argv,
				     &i, &spec, &value) ||
		    !replay_apply(options, spec->name, value))
			return CLI_EXIT_USAGE;
	}
	if (options->input_path != NULL) {
		if (options->has_seed || options->has_profile || options->swarm ||
		    options->faults_off != 0 || options->has_only || options->shrink ||
		    options->draws_min || options->has_backend) {
			cli_usage_error("--input picks the profile and is the entropy: no --seed, "
					"--profile, --swarm, --faults-off, --only-faults, "
					"--shrink or --backend with it");
			return CLI_EXIT_USAGE;
		}
		return -1;
	}
	if (options->scenario == NULL || !options->has_seed) {
		cli_usage_error("replay needs --scenario NAME and --seed N (or --input FILE)");
		return CLI_EXIT_USAGE;
	}
	if (options->swarm && options->has_profile) {
		cli_usage_error("--profile and --swarm exclude each other");
		return CLI_EXIT_USAGE;
	}
	if (options->shrink && cli_backend_is_kernel(options->backend)) {
		cli_usage_error("--shrink needs --backend sim: kernel runs do not replay exactly");
		return CLI_EXIT_USAGE;
	}
	return -1;
}

static void replay_print(const struct replay_options *options, int status,
			 const struct gale_run_result *result)
{
	const char *profile = result->profile.name != NULL ? result->profile.name : "?";
	bool kernel = cli_backend_is_kernel(options->backend);
	char backend[32] = "";
	if (kernel)
		snprintf(backend, sizeof(backend), " backend %s",
			 gale_backend_name(options->backend));
	if (options->input_path != NULL)
		printf("scenario %s input %s profile %s: ", options->scenario->name,
		       options->input_path, profile);
	else
		printf("scenario %s seed %" PRIu64 " profile %s%s: ", options->scenario->name,
		       options->seed, options->swarm ? "swarm" : options->profile_name, backend);
	printf("%s\n", status == 0 ? "passed" : status > 0 ? "FAILED" : "could not run");
	if (status > 0)
		printf("oracle %s: %s\n", gale_oracle_name(result->oracle), result->message);
	printf("trace hash 0x%016" PRIx64 " (%" PRIu64 " records), %s time %.6f s, "
	       "%" PRIu64 " driver ops, %" PRIu64 " task polls\n",
	       result->trace_hash, result->trace_count, kernel ? "run" : "simulated",
	       (double)result->sim.time_ns / 1e9, result->sim.ops_count, result->polls_count);
	if (!kernel)
		return;
	char faults[512];
	printf("faults taken: %s\nnote: a kernel run replays only approximately (the kernel's "
	       "timing is not the seed's; the trace hash covers only the fault decisions)\n",
	       cli_faults_format(&result->sim.faults, faults, sizeof(faults)));
}

/* The input's scenario and options, as the fuzz target decoded them. */
static bool replay_decode(struct replay_options *options, const char *bytes, size_t len,
			  struct gale_fuzz_case *input)
{
	gale_fuzz_decode((const uint8_t *)bytes, len, cli_program.scenarios,
			 cli_program.scenarios_count, input);
	if (options->scenario != NULL && options->scenario != input->scenario) {
		cli_usage_error("%.64s picks scenario %s, not %s", options->input_path,
				input->scenario->name, options->scenario->name);
		return false;
	}
	options->scenario = input->scenario;
	return true;
}

/* --shrink: the search of `run`, on this one failure; prints the smaller run's line. */
static void replay_shrink(const struct replay_options *options,
			  const struct gale_run_result *result)
{
	struct cli_campaign campaign = {
		.scenarios = {options->scenario}, .scenarios_count = 1,
		.profile_name = options->profile_name, .swarm = options->swarm,
		.program = cli_program.argv0, .jobs = 1, .shard_count = 1,
	};
	struct cli_failure failure = {.unit = {0, options->seed}};
	failure.outcome.status = 1;
	failure.outcome.result = *result;
	struct cli_shrink *shrink = calloc(1, sizeof(*shrink));
	if (shrink == NULL || cli_shrink(&campaign, &failure, 10, shrink) != 0 ||
	    !shrink->shrunk) {
		printf("shrink: no smaller run fails the same way\n");
		free(shrink);
		return;
	}
	char command[4096];
	cli_shrink_replay_command(&campaign, &failure, shrink, command, sizeof(command));
	printf("shrunk: %llu faults -> %llu, trace %llu -> %llu records (%u runs, %.1f s); "
	       "same oracle and task:\n  replay: %s\n",
	       (unsigned long long)shrink->faults_before, (unsigned long long)shrink->faults_after,
	       (unsigned long long)shrink->trace_before, (unsigned long long)shrink->trace_after,
	       shrink->runs, shrink->seconds, command);
	free(shrink);
}

/* The files a replay writes, opened before the run so a bad path costs no run. */
struct replay_files {
	FILE *trace;    /* --trace, or NULL. */
	FILE *timeline; /* --timeline, or NULL. */
	FILE *html;     /* --html, or NULL. */
};

static void replay_files_discard(struct replay_files *files)
{
	FILE *all[] = {files->trace, files->timeline, files->html};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (all[i] != NULL)
			fclose(all[i]);
	*files = (struct replay_files){0};
}

static bool replay_files_open(const struct replay_options *options, struct replay_files *files)
{
	*files = (struct replay_files){0};
	const char *paths[] = {options->trace_path, options->timeline_path, options->html_path};
	FILE **slots[] = {&files->trace, &files->timeline, &files->html};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		if (paths[i] == NULL)
			continue;
		*slots[i] = cli_file_open(paths[i]);
		if (*slots[i] == NULL) {
			replay_files_discard(files);
			return false;
		}
	}
	return true;
}

/* The command that replays this run, as the timeline shows it (the run's own hash). */
static void replay_command(const struct replay_options *options,
			   const struct gale_run_result *result, char *buf, size_t buf_len)
{
	int n;
	if (options->input_path != NULL)
		n = snprintf(buf, buf_len, "%s replay --input %s", cli_program.argv0,
			     options->input_path);
	else
		n = snprintf(buf, buf_len, "%s replay --scenario %s --seed %" PRIu64 " %s%s",
			     cli_program.argv0, options->scenario->name, options->seed,
			     options->swarm ? "--swarm" : "--profile ",
			     options->swarm ? "" : options->profile_name);
	size_t len = n > 0 ? (size_t)n : 0;
	const char *extra[][2] = {
		{" --backend ", options->has_backend ? gale_backend_name(options->backend) : NULL},
		{" --faults-off ", options->faults_off != 0 ? options->faults_off_text : NULL},
		{" --only-faults ", options->has_only ? options->only_text : NULL},
		{" --draws-min", options->draws_min ? "" : NULL},
	};
	for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]) && len < buf_len; i++) {
		if (extra[i][1] == NULL)
			continue;
		n = snprintf(buf + len, buf_len - len, "%s%s", extra[i][0], extra[i][1]);
		len += n > 0 ? (size_t)n : 0;
	}
	if (len < buf_len && !cli_backend_is_kernel(options->backend))
		snprintf(buf + len, buf_len - len, " --hash 0x%016" PRIx64, result->trace_hash);
}

/* Writes the timeline files asked for; false when one could not be written. */
static bool replay_timelines(const struct replay_options *options, struct replay_files *files,
			     const struct gale_trace *trace, int status,
			     const struct gale_run_result *result)
{
	char command[4096];
	replay_command(options, result, command, sizeof(command));
	struct cli_timeline_run run = {.scenario = options->scenario->name, .command = command,
				       .status = status, .result = result};
	FILE *outs[] = {files->timeline, files->html};
	const char *paths[] = {options->timeline_path, options->html_path};
	bool ok = true;
	for (int i = 0; i < 2; i++) {
		if (outs[i] == NULL)
			continue;
		int rc = cli_timeline_write(trace, &run, i == 1, outs[i]);
		if (rc < 0)
			fprintf(stderr, "%s: cannot make the timeline: %s\n", cli_program.name,
				strerror(-rc));
		bool closed = cli_file_close(outs[i], paths[i]);
		if (rc == 0 && closed)
			printf("timeline written to %s\n", paths[i]);
		ok = ok && rc == 0 && closed;
	}
	files->timeline = files->html = NULL;
	if (gale_trace_is_truncated(trace))
		printf("note: the trace was cut after %zu records: the timeline ends there\n",
		       gale_trace_kept_count(trace));
	return ok;
}

/* The run's options from the command line, or from the fuzz input (false: bad input). */
static bool replay_run_options(struct replay_options *options, struct gale_fuzz_case *input,
			       char **bytes_out)
{
	*bytes_out = NULL;
	if (options->input_path == NULL) {
		input->options = (struct gale_run_options){
			.seed = options->seed,
			.profile = options->swarm ? NULL
						  : gale_fault_profile_find(options->profile_name),
			.swarm = options->swarm,
			.faults_off = options->faults_off,
			.draws_min = options->draws_min,
			.faults_filter = options->has_only,
			.faults_allowed = options->only,
			.faults_allowed_count = options->only_count,
			.backend = options->backend,
		};
		return true;
	}
	size_t len = 0;
	*bytes_out = cli_file_read("replay", options->input_path, REPLAY_INPUT_MAX, &len);
	if (*bytes_out != NULL && replay_decode(options, *bytes_out, len, input))
		return true;
	free(*bytes_out);
	*bytes_out = NULL;
	return false;
}

int cli_command_replay(int argc, char **argv)
{
	struct replay_options options;
	int exit_status = replay_parse(&options, argc, argv);
	if (exit_status >= 0)
		return exit_status;
	struct replay_files files;
	if (!replay_files_open(&options, &files))
		return CLI_EXIT_USAGE;
	bool keep = files.trace != NULL || files.timeline != NULL || files.html != NULL ||
		    options.verbose;
	struct gale_fuzz_case input;
	char *bytes = NULL;
	if (!replay_run_options(&options, &input, &bytes)) {
		replay_files_discard(&files);
		return CLI_EXIT_USAGE;
	}
	input.options.trace_records_max = keep ? REPLAY_RECORDS_MAX : 0;
	struct gale_trace trace = {0};
	struct gale_run_result result;
	int status = gale_scenario_run(options.scenario, &input.options, keep ? &trace : NULL,
				       &result);
	free(bytes);
	if (options.verbose)
		cli_trace_print(&trace, stdout);
	replay_print(&options, status, &result);
	exit_status = status == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILED;
	if (files.trace != NULL) {
		cli_trace_print(&trace, files.trace);
		if (!cli_file_close(files.trace, options.trace_path))
			exit_status = CLI_EXIT_USAGE;
		else
			printf("trace written to %s\n", options.trace_path);
		files.trace = NULL;
	}
	if (!replay_timelines(&options, &files, &trace, status, &result))
		exit_status = CLI_EXIT_USAGE;
	if (options.has_hash) {
		bool same = options.hash == result.trace_hash;
		printf("trace hash %s the reported 0x%016" PRIx64 "\n",
		       same ? "matches" : "DIFFERS FROM", options.hash);
		if (!same)
			exit_status = CLI_EXIT_FAILED;
	}
	gale_trace_deinit(&trace);
	if (options.shrink && status == 1)
		replay_shrink(&options, &result);
	return exit_status;
}
