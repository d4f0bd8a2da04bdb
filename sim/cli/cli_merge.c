/* SPDX-License-Identifier: MIT */
/*
 * `merge`: the JSON reports of a sharded campaign (`run --shard I/N --json`, one per
 * machine or job) put back together as one campaign, with the same summary, JSON and
 * JUnit an unsharded run writes: totals summed per scenario, failures re-listed (the
 * lowest seeds of each scenario), and shards that never reported counted as skipped
 * seeds and as a failure of the merge (a lost shard is not a pass).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gale/sim_profile.h>

#include "cli.h"
#include "cli_json.h"

enum { MERGE_FILE_MAX = 256 * 1024 * 1024 }; /* Reports are far smaller. */

static bool merge_error(const char *path, const char *what)
{
	fprintf(stderr, "%s: merge: %.200s: %s\n", cli_program.name, path, what);
	return false;
}

/* A campaign field every shard must agree on. */
static bool same_u64(const char *path, const struct cli_json *root, const char *key,
		     uint64_t *value, bool first)
{
	uint64_t v;
	if (!cli_json_u64(cli_json_get(root, key), &v)) {
		char what[96];
		snprintf(what, sizeof(what), "no \"%s\": not a gale run report", key);
		return merge_error(path, what);
	}
	if (!first && v != *value) {
		char what[160];
		snprintf(what, sizeof(what), "\"%s\" is %" PRIu64 ", the first report's is %" PRIu64
			 ": not shards of one campaign", key, v, *value);
		return merge_error(path, what);
	}
	*value = v;
	return true;
}

static bool merge_profile(const char *path, const struct cli_json *root,
			  struct cli_campaign *campaign, bool first)
{
	const char *name = cli_json_string(cli_json_get(root, "profile"));
	const char *known = NULL;
	for (const char *const *p = gale_fault_profile_names(); name != NULL && *p != NULL; p++)
		known = strcmp(*p, name) == 0 ? *p : known;
	bool swarm = name != NULL && strcmp(name, "swarm") == 0;
	if (known == NULL && !swarm)
		return merge_error(path, "no known \"profile\"");
	if (!first && (swarm != campaign->swarm ||
		       (!swarm && strcmp(known, campaign->profile_name) != 0)))
		return merge_error(path, "another profile than the first report's");
	campaign->swarm = swarm;
	campaign->profile_name = swarm ? "default" : known;
	return true;
}

/* "backend": one name or two ("sim,epoll"); every shard ran the same ones. */
static bool merge_backends(const char *path, const struct cli_json *root,
			  struct cli_campaign *campaign, bool first)
{
	enum gale_backend backends[CLI_BACKENDS_MAX];
	size_t count = 0;
	if (cli_backends_parse(cli_json_string(cli_json_get(root, "backend")), backends,
			       &count) != 0)
		return merge_error(path, "no known \"backend\" (one backend, or two separated "
					 "by a comma)");
	if (!first && (count != campaign->backends_count ||
		       memcmp(backends, campaign->backends, count * sizeof(*backends)) != 0))
		return merge_error(path, "another backend than the first report's: not shards "
					 "of one campaign");
	memcpy(campaign->backends, backends, count * sizeof(*backends));
	campaign->backends_count = count;
	return true;
}

static bool merge_scenario_names(const char *path, const struct cli_json *root,
				 struct cli_campaign *campaign, bool first)
{
	const struct cli_json *list = cli_json_get(root, "scenarios");
	if (list == NULL || list->kind != CLI_JSON_ARRAY)
		return merge_error(path, "no \"scenarios\" list");
	size_t i = 0;
	for (const struct cli_json *s = list->child; s != NULL; s = s->next, i++) {
		const char *name = cli_json_string(cli_json_get(s, "name"));
		const struct gale_scenario *scenario = NULL;
		if (name != NULL)
			scenario = cli_scenario_find(name);
		if (scenario == NULL)
			return merge_error(path, "a scenario this program does not have");
		if (i >= CLI_SCENARIOS_MAX || (!first && (i >= campaign->scenarios_count ||
							  campaign->scenarios[i] != scenario)))
			return merge_error(path, "other scenarios than the first report's");
		campaign->scenarios[i] = scenario;
	}
	if (i == 0 || (!first && i != campaign->scenarios_count))
		return merge_error(path, "other scenarios than the first report's");
	campaign->scenarios_count = i;
	return true;
}

/* Adds one shard's per-scenario totals. */
static bool merge_totals(const char *path, const struct cli_json *root,
			 const struct cli_campaign *campaign, struct cli_report *report)
{
	const struct cli_json *s = cli_json_get(root, "scenarios")->child;
	for (size_t i = 0; i < campaign->scenarios_count; i++, s = s->next) {
		struct cli_totals *t = &report->totals[i];
		uint64_t seeds, failures, divergences, faults;
		int64_t sim_ns, wall_ns;
		const struct cli_json *kinds = cli_json_get(s, "faults_by_kind");
		if (!cli_json_u64(cli_json_get(s, "seeds"), &seeds) ||
		    !cli_json_u64(cli_json_get(s, "failures"), &failures) ||
		    !cli_json_u64(cli_json_get(s, "divergences"), &divergences) ||
		    divergences > failures ||
		    !cli_json_u64(cli_json_get(s, "faults_injected"), &faults) ||
		    !cli_json_i64(cli_json_get(s, "sim_time_ns"), &sim_ns) ||
		    !cli_json_i64(cli_json_get(s, "wall_ns"), &wall_ns) || kinds == NULL ||
		    failures > seeds || seeds > t->seeds_planned - t->seeds_count)
			return merge_error(path,
					   "a scenario's totals are missing or do not add up");
		for (int kind = 0; kind < GALE_FAULT_COUNT; kind++) {
			uint64_t n;
			if (!cli_json_u64(cli_json_get(kinds, gale_fault_kind_name(kind)), &n))
				return merge_error(path, "a fault kind's count is missing");
			t->faults_by_kind[kind] += n;
		}
		t->seeds_count += seeds;
		t->failures_count += failures;
		t->divergences_count += divergences;
		t->faults_count += faults;
		t->sim_time_ns += sim_ns;
		t->wall_ns += wall_ns;
		report->units_done += seeds;
	}
	return true;
}

static bool oracle_find(const char *name, enum gale_oracle *out)
{
	for (int o = 0; name != NULL && o < GALE_ORACLE_COUNT; o++) {
		if (strcmp(gale_oracle_name((enum gale_oracle)o), name) == 0) {
			*out = (enum gale_oracle)o;
			return true;
		}
	}
	return false;
}

/* A failure's "faults": {"kind": count, ...}, the kinds it injected (others are 0). */
static bool merge_faults_taken(const struct cli_json *faults, struct gale_fault_stats *out)
{
	if (faults == NULL || faults->kind != CLI_JSON_OBJECT)
		return false;
	for (const struct cli_json *m = faults->child; m != NULL; m = m->next) {
		int found = -1;
		for (int kind = 0; kind < GALE_FAULT_COUNT; kind++)
			if (strcmp(m->key, gale_fault_kind_name((enum gale_fault_kind)kind)) == 0)
				found = kind;
		if (found < 0 || !cli_json_u64(m, &out->injected[found]))
			return false;
	}
	return true;
}

/*
 * The fields a failure record must have beyond its scenario and hash: seed, status,
 * oracle, backend (one of the campaign's), divergent (only in differential mode) and
 * the faults its run took.
 */
static bool merge_failure_fields(const struct cli_json *f, const struct cli_campaign *campaign,
				 struct cli_failure *failure)
{
	int64_t status = 0;
	enum gale_backend backend = GALE_BACKEND_SIM;
	struct cli_outcome *outcome = &failure->outcome;
	bool ok = cli_json_u64(cli_json_get(f, "seed"), &failure->unit.seed) &&
		  cli_json_i64(cli_json_get(f, "status"), &status) && status != 0 &&
		  status >= INT32_MIN && status <= INT32_MAX &&
		  oracle_find(cli_json_string(cli_json_get(f, "oracle")),
			      &outcome->result.oracle) &&
		  gale_backend_parse(cli_json_string(cli_json_get(f, "backend")), &backend) == 0 &&
		  cli_json_bool(cli_json_get(f, "divergent"), &outcome->divergent) &&
		  merge_faults_taken(cli_json_get(f, "faults"), &outcome->result.sim.faults);
	bool known = false;
	for (size_t k = 0; ok && k < campaign->backends_count; k++)
		known = known || campaign->backends[k] == backend;
	if (!known || (outcome->divergent && campaign->backends_count < 2))
		return false;
	outcome->status = (int)status;
	outcome->backend = backend;
	outcome->result.backend = backend;
	outcome->faults = outcome->result.sim.faults;
	return true;
}

/* Re-lists one shard's listed failures. */
static bool merge_failures(const char *path, const struct cli_json *root,
			   const struct cli_campaign *campaign, struct cli_report *report)
{
	const struct cli_json *list = cli_json_get(root, "failures");
	if (list == NULL || list->kind != CLI_JSON_ARRAY)
		return merge_error(path, "no \"failures\" list");
	for (const struct cli_json *f = list->child; f != NULL; f = f->next) {
		struct cli_failure failure = {0};
		const char *name = cli_json_string(cli_json_get(f, "scenario"));
		const char *hash = cli_json_string(cli_json_get(f, "trace_hash"));
		const char *message = cli_json_string(cli_json_get(f, "message"));
		char *end = NULL;
		bool ok = name != NULL && hash != NULL && message != NULL &&
			  merge_failure_fields(f, campaign, &failure);
		for (size_t i = 0; ok && i < campaign->scenarios_count; i++)
			if (strcmp(campaign->scenarios[i]->name, name) == 0)
				failure.unit.scenario_index = (uint32_t)i + 1;
		if (ok && failure.unit.scenario_index > 0 && strncmp(hash, "0x", 2) == 0)
			failure.outcome.result.trace_hash = strtoull(hash + 2, &end, 16);
		if (end == NULL || *end != '\0' || end == hash + 2)
			return merge_error(path, "a failure without scenario, seed, oracle, "
						 "status, backend, divergent, faults or hash");
		failure.unit.scenario_index--;
		snprintf(failure.outcome.result.message, sizeof(failure.outcome.result.message),
			 "%s", message);
		if (cli_report_keep_failure(report, &failure) != 0)
			return merge_error(path, "out of memory");
	}
	return true;
}

/* "gale-run/2" (/1 had no backends: its shards cannot say where they ran). */
static bool merge_format(const char *path, const char *format)
{
	if (format != NULL && strcmp(format, "gale-run/2") == 0)
		return true;
	if (format != NULL && strcmp(format, "gale-run/1") == 0)
		return merge_error(path, "a gale-run/1 report (from an older gale, without "
					 "backends): run the shard again");
	return merge_error(path, "not a gale run report (\"format\": \"gale-run/2\")");
}

/* Reads one shard: its campaign fields (checked against the first's) and its results. */
static bool merge_one(const char *path, struct cli_campaign *campaign,
		      struct cli_report *report, uint64_t *shard_index_out, bool first)
{
	size_t len = 0;
	char *text = cli_file_read("merge", path, MERGE_FILE_MAX, &len);
	if (text == NULL)
		return false;
	char error[96];
	struct cli_json *root = cli_json_parse(text, len, error, sizeof(error));
	free(text);
	if (root == NULL)
		return merge_error(path, error);
	uint64_t shard_count = campaign->shard_count, shard_index = 0, checked = 0;
	const struct cli_json *format = cli_json_get(root, "format");
	const struct cli_json *coverage = cli_json_get(root, "fault_coverage_checked");
	const struct cli_json *stopped = cli_json_get(root, "stopped_by_time_limit");
	int64_t wall_ns = 0;
	bool ok = merge_format(path, cli_json_string(format));
	ok = ok && merge_profile(path, root, campaign, first) &&
	     merge_backends(path, root, campaign, first) &&
	     same_u64(path, root, "seed_first", &campaign->seed_first, first) &&
	     same_u64(path, root, "seeds_per_scenario", &campaign->seeds_count, first) &&
	     same_u64(path, root, "shard_count", &shard_count, first) &&
	     same_u64(path, root, "shard_index", &shard_index, true) &&
	     merge_scenario_names(path, root, campaign, first);
	if (ok && (shard_count == 0 || shard_count > UINT32_MAX || shard_index >= shard_count))
		ok = merge_error(path, "a shard index out of range");
	if (ok) {
		checked = coverage != NULL && coverage->kind == CLI_JSON_BOOL && coverage->boolean;
		campaign->shard_count = (uint32_t)shard_count;
		campaign->fault_coverage = campaign->fault_coverage || checked;
		report->stopped_by_time_limit = report->stopped_by_time_limit ||
						(stopped != NULL && stopped->boolean);
		if (first)
			for (size_t i = 0; i < campaign->scenarios_count; i++)
				report->totals[i].seeds_planned = campaign->seeds_count;
		ok = merge_totals(path, root, campaign, report) &&
		     merge_failures(path, root, campaign, report);
	}
	bool has_wall = ok && cli_json_i64(cli_json_get(root, "wall_ns"), &wall_ns);
	if (has_wall && wall_ns > report->wall_ns)
		report->wall_ns = wall_ns; /* Shards ran side by side: the longest is the wall. */
	*shard_index_out = shard_index;
	cli_json_free(root);
	return ok;
}

int cli_merge_reports(const char *const *paths, size_t count, struct cli_campaign *campaign,
		      struct cli_report *report)
{
	memset(report, 0, sizeof(*report));
	uint64_t *indexes = calloc(count + 1, sizeof(*indexes));
	bool ok = indexes != NULL || merge_error("-", "out of memory");
	for (size_t k = 0; ok && k < count; k++) {
		ok = merge_one(paths[k], campaign, report, &indexes[k], k == 0);
		for (size_t j = 0; ok && j < k; j++)
			if (indexes[j] == indexes[k])
				ok = merge_error(paths[k], "the same shard as an earlier report");
	}
	if (ok) {
		report->shards_missing = campaign->shard_count - count;
		campaign->shard_index = 0;
		campaign->shard_count = 1; /* The merged campaign is the unsharded one. */
		cli_report_sort_failures(report);
	}
	free(indexes);
	return ok ? 0 : -EINVAL;
}

static const char merge_usage[] =
	"merge [--json FILE] [--junit FILE] REPORT.json...\n"
	"\n"
	"Puts the JSON reports of a sharded campaign (run --shard I/N --json, one per machine\n"
	"or job) back together: one summary, JSON and JUnit, as an unsharded run writes them.\n"
	"Shards that did not report count as skipped seeds and fail the merge.\n"
	"  --json FILE    write the merged JSON report\n"
	"  --junit FILE   write the merged JUnit XML report\n"
	"Exit status: 0 when every seed passed and every shard reported, 1 otherwise, 2 for\n"
	"bad arguments or a report that cannot be read.\n";

int cli_command_merge(const char *program, int argc, char **argv)
{
	static const struct cli_option_spec specs[] = {{"--json", true}, {"--junit", true}};
	struct cli_campaign campaign = {.program = program, .jobs = 1, .shard_count = 1};
	const char **paths = calloc((size_t)argc + 1, sizeof(*paths));
	size_t count = 0;
	int status = paths != NULL ? -1 : CLI_EXIT_USAGE;
	for (int i = 1; status < 0 && i < argc; i++) {
		const struct cli_option_spec *spec = NULL;
		const char *value = NULL;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			printf("usage: %s %s", cli_program.name, merge_usage);
			status = CLI_EXIT_OK;
		} else if (argv[i][0] != '-' || argv[i][1] == '\0') {
			paths[count++] = argv[i];
		} else if (!cli_next_option("merge", specs, 2, argc, argv, &i, &spec, &value) ||
			   value[0] == '\0') {
			if (spec != NULL)
				cli_usage_error("%s needs a file name", spec->name);
			status = CLI_EXIT_USAGE;
		} else {
			bool json = strcmp(spec->name, "--json") == 0;
			*(json ? &campaign.json_path : &campaign.junit_path) = value;
		}
	}
	if (status < 0 && count == 0) {
		cli_usage_error("merge needs at least one report");
		status = CLI_EXIT_USAGE;
	}
	struct cli_files files = {0};
	struct cli_report report = {0};
	if (status < 0 && (!cli_files_open(&campaign, &files) ||
			   cli_merge_reports(paths, count, &campaign, &report) != 0)) {
		cli_files_discard(&campaign, &files);
		status = CLI_EXIT_USAGE;
	}
	if (status < 0)
		status = cli_report_finish(&campaign, &report, &files);
	cli_report_deinit(&report);
	free(paths);
	return status;
}
