/* SPDX-License-Identifier: MIT */
/*
 * Campaign reports: the verdict, the summary table, replay commands, JSON and JUnit XML.
 * Every report states the same verdict as the exit status (cli_report_verdict): seeds that
 * never ran (the time limit) are counted as skipped, never as passed, and a failed fault
 * coverage gate is a failure everywhere. Each report names the backend(s), and marks the
 * divergences of a differential campaign; a failure on the kernel lists the faults its run
 * took and replays with --backend (no --hash: the kernel's timing is not the seed's).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

void cli_replay_command(const struct cli_campaign *campaign, const struct cli_failure *failure,
			char *buf, size_t buf_len)
{
	const char *name = campaign->scenarios[failure->unit.scenario_index]->name;
	char profile[64];
	if (campaign->swarm)
		snprintf(profile, sizeof(profile), "--swarm");
	else
		snprintf(profile, sizeof(profile), "--profile %s", campaign->profile_name);
	enum gale_backend backend = failure->outcome.backend;
	if (cli_backend_is_kernel(backend)) {
		/* No --hash: the kernel's timing moves the fault decisions, so it would differ. */
		snprintf(buf, buf_len, "%s replay --scenario %s --seed %" PRIu64 " %s --backend %s",
			 campaign->program, name, failure->unit.seed, profile,
			 gale_backend_name(backend));
		return;
	}
	snprintf(buf, buf_len, "%s replay --scenario %s --seed %" PRIu64 " %s --hash 0x%016" PRIx64,
		 campaign->program, name, failure->unit.seed, profile,
		 failure->outcome.result.trace_hash);
}

int cli_report_never_injected(const struct cli_campaign *campaign,
			      const struct cli_report *report, uint32_t *kinds_out)
{
	_Static_assert(GALE_FAULT_COUNT <= 32, "one bit per fault kind");
	uint32_t kinds = 0;
	int count = 0;
	for (int kind = 0; kind < GALE_FAULT_COUNT; kind++) {
		uint64_t injected = 0;
		for (size_t i = 0; i < campaign->scenarios_count; i++)
			injected += report->totals[i].faults_by_kind[kind];
		if (injected == 0) {
			kinds |= UINT32_C(1) << kind;
			count++;
		}
	}
	if (kinds_out != NULL)
		*kinds_out = kinds;
	return count;
}

struct cli_verdict cli_report_verdict(const struct cli_campaign *campaign,
				      const struct cli_report *report)
{
	struct cli_verdict v = {0};
	for (size_t i = 0; i < campaign->scenarios_count; i++) {
		const struct cli_totals *t = &report->totals[i];
		v.seeds_run += t->seeds_count;
		v.seeds_failed += t->failures_count;
		v.seeds_divergent += t->divergences_count;
		cli_count_add(&v.seeds_planned, t->seeds_planned);
		cli_count_add(&v.seeds_skipped, t->seeds_planned - t->seeds_count);
	}
	if (campaign->fault_coverage)
		v.kinds_never_injected = cli_report_never_injected(campaign, report, NULL);
	v.exit_status = v.seeds_failed == 0 && v.kinds_never_injected == 0 &&
					report->shards_missing == 0
				? CLI_EXIT_OK
				: CLI_EXIT_FAILED;
	return v;
}

static bool count_is_zero(struct cli_count count)
{
	return count.high == 0 && count.low == 0;
}

void cli_report_print(const struct cli_campaign *campaign, const struct cli_report *report,
		      FILE *out)
{
	struct cli_verdict v = cli_report_verdict(campaign, report);
	/* On the kernel the clock is real: its time is not simulated. */
	const char *time_title = cli_backends_sim_only(campaign) ? "sim time (s)" : "run time (s)";
	fprintf(out, "\n%-22s %8s %8s %8s %12s %14s %10s %10s\n", "scenario", "seeds", "failed",
		"skipped", "faults", time_title, "wall (s)", "seeds/s");
	uint64_t faults = 0;
	int64_t sim_time_ns = 0;
	char text[48];
	for (size_t i = 0; i < campaign->scenarios_count; i++) {
		const struct cli_totals *t = &report->totals[i];
		double wall = (double)t->wall_ns / 1e9;
		fprintf(out, "%-22s %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %12" PRIu64
			" %14.3f %10.2f %10.0f\n", campaign->scenarios[i]->name, t->seeds_count,
			t->failures_count, t->seeds_planned - t->seeds_count, t->faults_count,
			(double)t->sim_time_ns / 1e9, wall,
			wall > 0 ? (double)t->seeds_count / wall : 0.0);
		faults += t->faults_count;
		sim_time_ns += t->sim_time_ns;
	}
	double wall = (double)report->wall_ns / 1e9;
	fprintf(out, "%-22s %8" PRIu64 " %8" PRIu64 " %8s %12" PRIu64 " %14.3f %10.2f %10.0f\n",
		"total", v.seeds_run, v.seeds_failed,
		cli_count_format(v.seeds_skipped, text, sizeof(text)), faults,
		(double)sim_time_ns / 1e9, wall, wall > 0 ? (double)v.seeds_run / wall : 0.0);
	char backends[64];
	fprintf(out, "\nbackend: %s%s   profile: %s   jobs: %u   shard: %u/%u%s\n",
		cli_backends_format(campaign, backends, sizeof(backends)),
		cli_backends_count(campaign) > 1 ? " (differential)" : "",
		cli_backends_count(campaign) == 1 && campaign->backends[0] == GALE_BACKEND_EPOLL
			? "none (the plain kernel injects no faults)"
		: campaign->swarm ? "swarm"
				  : campaign->profile_name,
		campaign->jobs, campaign->shard_index, campaign->shard_count,
		report->stopped_by_time_limit ? "   (stopped at the time limit)" : "");
	if (report->shards_missing > 0)
		fprintf(out,
			"%" PRIu64 " shards never reported: their seeds are counted as skipped\n",
			report->shards_missing);
	size_t listed[CLI_SCENARIOS_MAX] = {0};
	for (size_t k = 0; k < report->failures_count; k++)
		listed[report->failures[k].unit.scenario_index]++;
	for (size_t i = 0; i < campaign->scenarios_count; i++)
		if (report->totals[i].failures_count > listed[i])
			fprintf(out, "%s: %" PRIu64 " failures, the %zu lowest seeds listed\n",
				campaign->scenarios[i]->name, report->totals[i].failures_count,
				listed[i]);
	fprintf(out, "%" PRIu64 " passed, %" PRIu64 " failed", v.seeds_run - v.seeds_failed,
		v.seeds_failed);
	if (cli_backends_count(campaign) > 1)
		fprintf(out, " (%" PRIu64 " of them divergent)", v.seeds_divergent);
	if (!count_is_zero(v.seeds_skipped))
		fprintf(out, ", %s skipped", cli_count_format(v.seeds_skipped, text, sizeof(text)));
	fputc('\n', out);
}

/* Writes s as a JSON or XML string body, escaping what each format needs. */
static void escape_write(FILE *out, const char *s, bool xml)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (xml && (c == '<' || c == '>' || c == '&' || c == '"'))
			fprintf(out, "&#%u;", c);
		else if (!xml && (c == '"' || c == '\\'))
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, xml ? "&#%u;" : "\\u%04x", c);
		else
			fputc(c, out);
	}
}

int cli_report_print_fault_coverage(const struct cli_campaign *campaign,
				    const struct cli_report *report, FILE *out)
{
	uint64_t injected[GALE_FAULT_COUNT] = {0};
	size_t scenarios[GALE_FAULT_COUNT] = {0};
	for (size_t i = 0; i < campaign->scenarios_count; i++) {
		for (int kind = 0; kind < GALE_FAULT_COUNT; kind++) {
			injected[kind] += report->totals[i].faults_by_kind[kind];
			scenarios[kind] += report->totals[i].faults_by_kind[kind] > 0;
		}
	}
	fprintf(out, "\nfault coverage (%s):\n%-18s %12s %10s  %s\n",
		campaign->swarm ? "swarm" : campaign->profile_name, "fault kind", "injected",
		"scenarios", "what it does");
	for (int kind = 0; kind < GALE_FAULT_COUNT; kind++)
		fprintf(out, "%-18s %12" PRIu64 " %10zu  %s\n", gale_fault_kind_name(kind),
			injected[kind], scenarios[kind], gale_fault_kind_description(kind));
	uint32_t never = 0;
	int never_injected = cli_report_never_injected(campaign, report, &never);
	for (int kind = 0; kind < GALE_FAULT_COUNT; kind++)
		if (never & (UINT32_C(1) << kind))
			fprintf(out, "never injected: %s (no scenario in this run exercises it)\n",
				gale_fault_kind_name(kind));
	fprintf(out, "fault kinds injected: %d of %d\n", GALE_FAULT_COUNT - never_injected,
		GALE_FAULT_COUNT);
	return never_injected;
}

static void json_faults_by_kind(const uint64_t *faults_by_kind, FILE *out)
{
	fprintf(out, "{");
	for (int kind = 0; kind < GALE_FAULT_COUNT; kind++)
		fprintf(out, "%s\"%s\": %" PRIu64, kind ? ", " : "", gale_fault_kind_name(kind),
			faults_by_kind[kind]);
	fprintf(out, "}");
}

/* {"reset": 2, ...}: the fault kinds a run injected, the others left out. */
static void json_faults_taken(const struct gale_fault_stats *faults, FILE *out)
{
	const char *sep = "";
	fprintf(out, "{");
	for (int kind = 0; kind < GALE_FAULT_COUNT; kind++) {
		if (faults->injected[kind] == 0)
			continue;
		fprintf(out, "%s\"%s\": %" PRIu64, sep, gale_fault_kind_name(kind),
			faults->injected[kind]);
		sep = ", ";
	}
	fprintf(out, "}");
}

static void json_failures(const struct cli_campaign *campaign, const struct cli_report *report,
			  FILE *out)
{
	for (size_t i = 0; i < report->failures_count; i++) {
		const struct cli_failure *f = &report->failures[i];
		char command[4096];
		cli_replay_command(campaign, f, command, sizeof(command));
		fprintf(out, "%s\n    {\"scenario\": \"%s\", \"seed\": %" PRIu64
			", \"oracle\": \"%s\", \"status\": %d, \"backend\": \"%s\", "
			"\"divergent\": %s, \"trace_hash\": \"0x%016" PRIx64 "\", \"faults\": ",
			i ? "," : "", campaign->scenarios[f->unit.scenario_index]->name,
			f->unit.seed, gale_oracle_name(f->outcome.result.oracle), f->outcome.status,
			gale_backend_name(f->outcome.backend),
			f->outcome.divergent ? "true" : "false", f->outcome.result.trace_hash);
		json_faults_taken(&f->outcome.result.sim.faults, out);
		fprintf(out, ", \"message\": \"");
		escape_write(out, f->outcome.result.message, false);
		fprintf(out, "\", \"replay\": \"");
		escape_write(out, command, false);
		fprintf(out, "\"");
		if (f->shrink != NULL && f->shrink->shrunk) {
			cli_shrink_replay_command(campaign, f, f->shrink, command, sizeof(command));
			fprintf(out, ", \"shrunk\": {\"faults_before\": %llu, "
				     "\"faults_after\": %llu, \"trace_before\": %llu, "
				     "\"trace_after\": %llu, \"replay\": \"",
				(unsigned long long)f->shrink->faults_before,
				(unsigned long long)f->shrink->faults_after,
				(unsigned long long)f->shrink->trace_before,
				(unsigned long long)f->shrink->trace_after);
			escape_write(out, command, false);
			fprintf(out, "\"}");
		}
		fprintf(out, "}");
	}
}

static void json_fault_coverage(const struct cli_campaign *campaign,
				const struct cli_report *report, FILE *out)
{
	uint32_t never = 0;
	int count = cli_report_never_injected(campaign, report, &never);
	fprintf(out, "  \"fault_coverage\": {\"kinds_injected\": %d, \"kinds\": %d, "
		     "\"never_injected\": [", GALE_FAULT_COUNT - count, GALE_FAULT_COUNT);
	const char *sep = "";
	for (int kind = 0; kind < GALE_FAULT_COUNT; kind++) {
		if (never & (UINT32_C(1) << kind)) {
			fprintf(out, "%s\"%s\"", sep, gale_fault_kind_name(kind));
			sep = ", ";
		}
	}
	fprintf(out, "]},\n");
}

void cli_report_write_json(const struct cli_campaign *campaign, const struct cli_report *report,
			   FILE *out)
{
	struct cli_verdict v = cli_report_verdict(campaign, report);
	char planned[48], skipped[48], backends[64];
	fprintf(out, "{\n  \"format\": \"gale-run/2\",\n  \"backend\": \"%s\",\n"
		     "  \"profile\": \"%s\",\n"
		     "  \"passed\": %s,\n  \"complete\": %s,\n"
		     "  \"stopped_by_time_limit\": %s,\n  \"seeds_planned\": %s,\n"
		     "  \"seeds_run\": %" PRIu64 ",\n  \"seeds_failed\": %" PRIu64 ",\n"
		     "  \"seeds_skipped\": %s,\n  \"seeds_divergent\": %" PRIu64 ",\n",
		cli_backends_format(campaign, backends, sizeof(backends)),
		campaign->swarm ? "swarm" : campaign->profile_name,
		v.exit_status == CLI_EXIT_OK ? "true" : "false",
		count_is_zero(v.seeds_skipped) ? "true" : "false",
		report->stopped_by_time_limit ? "true" : "false",
		cli_count_format(v.seeds_planned, planned, sizeof(planned)), v.seeds_run,
		v.seeds_failed, cli_count_format(v.seeds_skipped, skipped, sizeof(skipped)),
		v.seeds_divergent);
	/* What `merge` needs to put shards back together. */
	fprintf(out, "  \"seed_first\": %" PRIu64 ",\n  \"seeds_per_scenario\": %" PRIu64 ",\n"
		     "  \"shard_index\": %u,\n  \"shard_count\": %u,\n  \"jobs\": %u,\n"
		     "  \"wall_ns\": %" PRId64 ",\n  \"fault_coverage_checked\": %s,\n"
		     "  \"shards_missing\": %" PRIu64 ",\n",
		campaign->seed_first, campaign->seeds_count, campaign->shard_index,
		campaign->shard_count, campaign->jobs, report->wall_ns,
		campaign->fault_coverage ? "true" : "false", report->shards_missing);
	if (campaign->fault_coverage)
		json_fault_coverage(campaign, report, out);
	fprintf(out, "  \"scenarios\": [");
	for (size_t i = 0; i < campaign->scenarios_count; i++) {
		const struct cli_totals *t = &report->totals[i];
		fprintf(out, "%s\n    {\"name\": \"%s\", \"seeds_planned\": %" PRIu64
			", \"seeds\": %" PRIu64 ", \"skipped\": %" PRIu64 ", \"failures\": %" PRIu64
			", \"divergences\": %" PRIu64 ", \"faults_injected\": %" PRIu64
			", \"sim_time_ns\": %" PRId64 ", \"wall_ns\": %" PRId64
			", \"faults_by_kind\": ",
			i ? "," : "", campaign->scenarios[i]->name, t->seeds_planned,
			t->seeds_count, t->seeds_planned - t->seeds_count, t->failures_count,
			t->divergences_count, t->faults_count, t->sim_time_ns, t->wall_ns);
		json_faults_by_kind(t->faults_by_kind, out);
		fprintf(out, "}");
	}
	fprintf(out, "\n  ],\n  \"failures\": [");
	json_failures(campaign, report, out);
	fprintf(out, "\n  ]\n}\n");
}

/* One scenario's test case: its listed failures, or skipped when no seed of it ran. */
static void junit_scenario(const struct cli_campaign *campaign, const struct cli_report *report,
			   size_t i, FILE *out)
{
	const struct cli_totals *t = &report->totals[i];
	fprintf(out, "    <testcase classname=\"%s.scenario\" name=\"%s\" time=\"%.3f\">\n",
		cli_program.name, campaign->scenarios[i]->name, (double)t->wall_ns / 1e9);
	for (size_t k = 0; k < report->failures_count; k++) {
		const struct cli_failure *f = &report->failures[k];
		if (f->unit.scenario_index != i)
			continue;
		char command[4096];
		cli_replay_command(campaign, f, command, sizeof(command));
		/* A divergence is its own kind of failure: the message already says so. */
		if (f->outcome.divergent)
			fprintf(out, "      <failure type=\"divergence\" message=\"seed %" PRIu64
				" (oracle %s on %s): ", f->unit.seed,
				gale_oracle_name(f->outcome.result.oracle),
				gale_backend_name(f->outcome.backend));
		else
			fprintf(out, "      <failure type=\"%s\" message=\"seed %" PRIu64 ": ",
				gale_oracle_name(f->outcome.result.oracle), f->unit.seed);
		escape_write(out, f->outcome.result.message, true);
		fprintf(out, "\">");
		escape_write(out, command, true);
		fprintf(out, "</failure>\n");
	}
	if (t->seeds_count == 0)
		fprintf(out, "      <skipped message=\"no seed ran: %s\"/>\n",
			report->stopped_by_time_limit ? "the time limit came first"
						      : "the campaign stopped first");
	else
		fprintf(out, "      <system-out>%" PRIu64 " of %" PRIu64 " seeds ran, %" PRIu64
			" failed, %" PRIu64 " skipped</system-out>\n", t->seeds_count,
			t->seeds_planned, t->failures_count, t->seeds_planned - t->seeds_count);
	fprintf(out, "    </testcase>\n");
}

void cli_report_write_junit(const struct cli_campaign *campaign,
			    const struct cli_report *report, FILE *out)
{
	struct cli_verdict v = cli_report_verdict(campaign, report);
	char backends[64];
	size_t failed_cases = v.kinds_never_injected > 0, skipped_cases = 0;
	for (size_t i = 0; i < campaign->scenarios_count; i++) {
		failed_cases += report->totals[i].failures_count > 0;
		skipped_cases += report->totals[i].seeds_count == 0 &&
				 report->totals[i].failures_count == 0;
	}
	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n"
		     "  <testsuite name=\"%s\" tests=\"%zu\" failures=\"%zu\" skipped=\"%zu\" "
		     "time=\"%.3f\">\n    <properties><property name=\"backend\" value=\"%s\"/>"
		     "</properties>\n",
		cli_program.name,
		campaign->scenarios_count + campaign->fault_coverage + (report->shards_missing > 0),
		failed_cases, skipped_cases, (double)report->wall_ns / 1e9,
		cli_backends_format(campaign, backends, sizeof(backends)));
	for (size_t i = 0; i < campaign->scenarios_count; i++)
		junit_scenario(campaign, report, i, out);
	if (campaign->fault_coverage) {
		fprintf(out, "    <testcase classname=\"%s.gate\" name=\"fault_coverage\">\n",
			cli_program.name);
		uint32_t never = 0;
		if (cli_report_never_injected(campaign, report, &never) > 0) {
			fprintf(out, "      <failure type=\"fault_coverage\" message=\"fault kinds "
				     "never injected:");
			for (int kind = 0; kind < GALE_FAULT_COUNT; kind++)
				if (never & (UINT32_C(1) << kind))
					fprintf(out, " %s", gale_fault_kind_name(kind));
			fprintf(out, "\"/>\n");
		}
		fprintf(out, "    </testcase>\n");
	}
	if (report->shards_missing > 0)
		fprintf(out, "    <testcase classname=\"%s.gate\" name=\"shards\">\n"
			     "      <failure type=\"shards\" message=\"%" PRIu64 " shards never "
			     "reported\"/>\n    </testcase>\n",
			cli_program.name, report->shards_missing);
	fprintf(out, "  </testsuite>\n</testsuites>\n");
}

int cli_report_finish(const struct cli_campaign *campaign, const struct cli_report *report,
		      struct cli_files *files)
{
	cli_report_print_failures(campaign, report);
	cli_report_print(campaign, report, stdout);
	if (campaign->fault_coverage)
		cli_report_print_fault_coverage(campaign, report, stdout);
	int status = cli_report_verdict(campaign, report).exit_status;
	return cli_files_write(campaign, report, files) ? status : CLI_EXIT_USAGE;
}

/*
 * A failure on the kernel: the fault decisions its run took, and why it was not shrunk
 * (the search needs exact replay; the kernel's timing is not the seed's).
 */
static void print_kernel_failure(const struct cli_failure *failure)
{
	char faults[512];
	printf("  on %s, faults taken: %s\n"
	       "  not shrunk: kernel runs do not replay exactly; the replay below reruns the "
	       "seed, but a kernel run replays only approximately\n",
	       gale_backend_name(failure->outcome.backend),
	       cli_faults_format(&failure->outcome.result.sim.faults, faults, sizeof(faults)));
}

void cli_report_print_failures(const struct cli_campaign *campaign,
			       const struct cli_report *report)
{
	bool name_backend = !cli_backends_sim_only(campaign) || cli_backends_count(campaign) > 1;
	for (size_t i = 0; i < report->failures_count; i++) {
		const struct cli_failure *failure = &report->failures[i];
		char command[4096], backend[32] = "";
		cli_replay_command(campaign, failure, command, sizeof(command));
		if (name_backend)
			snprintf(backend, sizeof(backend), " backend=%s",
				 gale_backend_name(failure->outcome.backend));
		fprintf(stdout, "FAIL %s seed=%llu oracle=%s%s: %s\n",
			campaign->scenarios[failure->unit.scenario_index]->name,
			(unsigned long long)failure->unit.seed,
			gale_oracle_name(failure->outcome.result.oracle), backend,
			failure->outcome.result.message);
		if (cli_backend_is_kernel(failure->outcome.backend))
			print_kernel_failure(failure);
		fprintf(stdout, "  replay: %s\n", command);
		const struct cli_shrink *shrink = failure->shrink;
		if (shrink == NULL || !shrink->shrunk)
			continue;
		cli_shrink_replay_command(campaign, failure, shrink, command, sizeof(command));
		fprintf(stdout, "  shrunk: %llu faults -> %llu, trace %llu -> %llu records "
				"(%u runs, %.1f s); same oracle and task:\n  replay: %s\n",
			(unsigned long long)shrink->faults_before,
			(unsigned long long)shrink->faults_after,
			(unsigned long long)shrink->trace_before,
			(unsigned long long)shrink->trace_after, shrink->runs, shrink->seconds,
			command);
	}
}

bool cli_files_open(const struct cli_campaign *campaign, struct cli_files *files)
{
	files->json = campaign->json_path != NULL ? cli_file_open(campaign->json_path) : NULL;
	files->junit = campaign->junit_path != NULL ? cli_file_open(campaign->junit_path) : NULL;
	if ((campaign->json_path == NULL || files->json != NULL) &&
	    (campaign->junit_path == NULL || files->junit != NULL))
		return true;
	if (files->json != NULL)
		fclose(files->json);
	if (files->junit != NULL)
		fclose(files->junit);
	return false;
}

/* No report to write (the campaign could not run): no file that could pass for one. */
void cli_files_discard(const struct cli_campaign *campaign, struct cli_files *files)
{
	if (files->json != NULL) {
		fclose(files->json);
		remove(campaign->json_path);
	}
	if (files->junit != NULL) {
		fclose(files->junit);
		remove(campaign->junit_path);
	}
}

/* Writes and closes the report files; false when one could not be written. */
bool cli_files_write(const struct cli_campaign *campaign, const struct cli_report *report,
			    struct cli_files *files)
{
	bool ok = true;
	if (files->json != NULL) {
		cli_report_write_json(campaign, report, files->json);
		ok = cli_file_close(files->json, campaign->json_path) && ok;
	}
	if (files->junit != NULL) {
		cli_report_write_junit(campaign, report, files->junit);
		ok = cli_file_close(files->junit, campaign->junit_path) && ok;
	}
	return ok;
}
