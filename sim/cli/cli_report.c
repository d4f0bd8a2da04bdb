/* SPDX-License-Identifier: MIT */
/* Campaign reports: the summary table, replay commands, JSON and JUnit XML files. */
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
	snprintf(buf, buf_len, "%s replay --scenario %s --seed %" PRIu64 " %s --hash 0x%016" PRIx64,
		 campaign->program, name, failure->unit.seed, profile,
		 failure->outcome.result.trace_hash);
}

void cli_report_print(const struct cli_campaign *campaign, const struct cli_report *report,
		      FILE *out)
{
	fprintf(out, "\n%-22s %8s %8s %12s %14s %10s %10s\n", "scenario", "seeds", "failed",
		"faults", "sim time (s)", "wall (s)", "seeds/s");
	struct cli_totals sum = {0};
	for (size_t i = 0; i < campaign->scenarios_count; i++) {
		const struct cli_totals *t = &report->totals[i];
		double wall = (double)t->wall_ns / 1e9;
		fprintf(out, "%-22s %8" PRIu64 " %8" PRIu64 " %12" PRIu64 " %14.3f %10.2f %10.0f\n",
			campaign->scenarios[i]->name, t->seeds_count, t->failures_count,
			t->faults_count, (double)t->sim_time_ns / 1e9, wall,
			wall > 0 ? (double)t->seeds_count / wall : 0.0);
		sum.seeds_count += t->seeds_count;
		sum.failures_count += t->failures_count;
		sum.faults_count += t->faults_count;
		sum.sim_time_ns += t->sim_time_ns;
	}
	double wall = (double)report->wall_ns / 1e9;
	fprintf(out, "%-22s %8" PRIu64 " %8" PRIu64 " %12" PRIu64 " %14.3f %10.2f %10.0f\n",
		"total", sum.seeds_count, sum.failures_count, sum.faults_count,
		(double)sum.sim_time_ns / 1e9, wall,
		wall > 0 ? (double)sum.seeds_count / wall : 0.0);
	fprintf(out, "\nprofile: %s   jobs: %u   shard: %u/%u%s\n",
		campaign->swarm ? "swarm" : campaign->profile_name, campaign->jobs,
		campaign->shard_index, campaign->shard_count,
		report->stopped_by_time_limit ? "   (stopped at the time limit)" : "");
	fprintf(out, "%" PRIu64 " passed, %" PRIu64 " failed\n",
		sum.seeds_count - sum.failures_count, sum.failures_count);
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
	int never_injected = 0;
	for (int kind = 0; kind < GALE_FAULT_COUNT; kind++) {
		if (injected[kind] != 0)
			continue;
		never_injected++;
		fprintf(out, "never injected: %s (no scenario in this run exercises it)\n",
			gale_fault_kind_name(kind));
	}
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

static void json_failures(const struct cli_campaign *campaign, const struct cli_report *report,
			  FILE *out)
{
	for (size_t i = 0; i < report->failures_count; i++) {
		const struct cli_failure *f = &report->failures[i];
		char command[512];
		cli_replay_command(campaign, f, command, sizeof(command));
		fprintf(out, "%s\n    {\"scenario\": \"%s\", \"seed\": %" PRIu64
			", \"oracle\": \"%s\", \"trace_hash\": \"0x%016" PRIx64 "\", \"message\": \"",
			i ? "," : "", campaign->scenarios[f->unit.scenario_index]->name,
			f->unit.seed, gale_oracle_name(f->outcome.result.oracle),
			f->outcome.result.trace_hash);
		escape_write(out, f->outcome.result.message, false);
		fprintf(out, "\", \"replay\": \"");
		escape_write(out, command, false);
		fprintf(out, "\"}");
	}
}

int cli_report_write_json(const struct cli_campaign *campaign, const struct cli_report *report,
			  const char *path)
{
	FILE *out = fopen(path, "w");
	if (out == NULL) {
		fprintf(stderr, "gale: cannot write %s: %s\n", path, strerror(errno));
		return -errno;
	}
	fprintf(out, "{\n  \"profile\": \"%s\",\n  \"passed\": %s,\n  \"scenarios\": [",
		campaign->swarm ? "swarm" : campaign->profile_name,
		report->failures_count == 0 ? "true" : "false");
	for (size_t i = 0; i < campaign->scenarios_count; i++) {
		const struct cli_totals *t = &report->totals[i];
		fprintf(out, "%s\n    {\"name\": \"%s\", \"seeds\": %" PRIu64 ", \"failures\": %" PRIu64
			", \"faults_injected\": %" PRIu64 ", \"sim_time_ns\": %" PRId64
			", \"wall_ns\": %" PRId64 ", \"faults_by_kind\": ",
			i ? "," : "", campaign->scenarios[i]->name, t->seeds_count, t->failures_count,
			t->faults_count, t->sim_time_ns, t->wall_ns);
		json_faults_by_kind(t->faults_by_kind, out);
		fprintf(out, "}");
	}
	fprintf(out, "\n  ],\n  \"failures\": [");
	json_failures(campaign, report, out);
	fprintf(out, "\n  ]\n}\n");
	return fclose(out) == 0 ? 0 : -EIO;
}

int cli_report_write_junit(const struct cli_campaign *campaign,
			   const struct cli_report *report, const char *path)
{
	FILE *out = fopen(path, "w");
	if (out == NULL) {
		fprintf(stderr, "gale: cannot write %s: %s\n", path, strerror(errno));
		return -errno;
	}
	size_t failed_cases = 0;
	for (size_t i = 0; i < campaign->scenarios_count; i++)
		failed_cases += report->totals[i].failures_count > 0;
	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n"
		     "  <testsuite name=\"gale\" tests=\"%zu\" failures=\"%zu\" time=\"%.3f\">\n",
		campaign->scenarios_count, failed_cases, (double)report->wall_ns / 1e9);
	for (size_t i = 0; i < campaign->scenarios_count; i++) {
		const struct cli_totals *t = &report->totals[i];
		fprintf(out, "    <testcase classname=\"gale.scenario\" name=\"%s\" time=\"%.3f\">\n",
			campaign->scenarios[i]->name, (double)t->wall_ns / 1e9);
		for (size_t k = 0; k < report->failures_count; k++) {
			const struct cli_failure *f = &report->failures[k];
			if (f->unit.scenario_index != i)
				continue;
			char command[512];
			cli_replay_command(campaign, f, command, sizeof(command));
			fprintf(out, "      <failure type=\"%s\" message=\"seed %" PRIu64 ": ",
				gale_oracle_name(f->outcome.result.oracle), f->unit.seed);
			escape_write(out, f->outcome.result.message, true);
			fprintf(out, "\">");
			escape_write(out, command, true);
			fprintf(out, "</failure>\n");
		}
		fprintf(out, "    </testcase>\n");
	}
	fprintf(out, "  </testsuite>\n</testsuites>\n");
	return fclose(out) == 0 ? 0 : -EIO;
}
