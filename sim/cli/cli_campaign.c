/* SPDX-License-Identifier: MIT */
/*
 * Campaign execution: units (scenario x seed) spread over forked worker processes.
 *
 * Why processes: a seed that trips an assert (a programmer error gale asserts on, such as
 * a ready guard consumed twice) must cost one failure, not the campaign. Each worker
 * takes every jobs-th unit of the plan and, per unit, writes a START record then an
 * OUTCOME record to its pipe (each record is written whole: it is smaller than PIPE_BUF).
 * When a worker dies, the unit it had started is reported as crashed (the worker's
 * stderr, with the assert message, is left on the terminal) and a new worker resumes
 * after it. Results are gathered in unit order, so reports do not depend on timing.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

enum { RECORD_START = 1, RECORD_OUTCOME = 2 };

struct cli_record {
	uint32_t kind;              /* RECORD_START or RECORD_OUTCOME. */
	uint32_t plan_index;        /* Which unit of the plan. */
	struct cli_outcome outcome; /* For RECORD_OUTCOME. */
};

_Static_assert(sizeof(struct cli_record) <= PIPE_BUF, "records must be written atomically");

struct cli_worker {
	pid_t pid;            /* 0 when not running. */
	int fd;               /* Read end of its pipe, or -1. */
	uint32_t slot;        /* Takes plan indexes slot, slot + jobs, ... */
	uint64_t next;        /* Next plan index it will start (resume point). */
	int64_t started;      /* Plan index started and not finished, or -1. */
};

struct cli_plan {
	struct cli_unit *units; /* After sharding. */
	uint64_t count;         /* Entries. */
};

void cli_unit_run(const struct cli_campaign *campaign, struct cli_unit unit,
		  struct cli_outcome *outcome_out)
{
	struct gale_run_options options = {
		.seed = unit.seed,
		.profile = campaign->swarm ? NULL : gale_fault_profile_find(campaign->profile_name),
		.swarm = campaign->swarm,
	};
	int64_t start_ns = cli_wall_now_ns();
	memset(outcome_out, 0, sizeof(*outcome_out));
	outcome_out->status = gale_scenario_run(campaign->scenarios[unit.scenario_index], &options,
						NULL, &outcome_out->result);
	outcome_out->wall_ns = cli_wall_now_ns() - start_ns;
}

static int plan_make(const struct cli_campaign *campaign, struct cli_plan *plan)
{
	uint64_t total = campaign->scenarios_count * campaign->seeds_count;
	uint64_t mine = total / campaign->shard_count + 1;
	plan->units = calloc(mine, sizeof(*plan->units));
	plan->count = 0;
	if (plan->units == NULL)
		return -ENOMEM;
	for (uint64_t u = 0; u < total; u++) {
		if (u % campaign->shard_count != campaign->shard_index)
			continue;
		plan->units[plan->count].scenario_index = (uint32_t)(u / campaign->seeds_count);
		plan->units[plan->count].seed = campaign->seed_first + u % campaign->seeds_count;
		plan->count++;
	}
	return 0;
}

static void worker_write(int fd, const struct cli_record *record)
{
	const char *bytes = (const char *)record;
	size_t done = 0;
	while (done < sizeof(*record)) {
		ssize_t n = write(fd, bytes + done, sizeof(*record) - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(3); /* The parent is gone: nobody to report to. */
		done += (size_t)n;
	}
}

/* The worker process body: runs its share of the plan from index first on. */
static void worker_main(const struct cli_campaign *campaign, const struct cli_plan *plan,
			uint64_t first, int fd)
{
	for (uint64_t k = first; k < plan->count; k += campaign->jobs) {
		struct cli_record record = {.kind = RECORD_START, .plan_index = (uint32_t)k};
		worker_write(fd, &record);
		record.kind = RECORD_OUTCOME;
		cli_unit_run(campaign, plan->units[k], &record.outcome);
		worker_write(fd, &record);
	}
	_exit(0);
}

static int worker_spawn(const struct cli_campaign *campaign, const struct cli_plan *plan,
			struct cli_worker *worker)
{
	int fds[2];
	if (pipe(fds) != 0)
		return -errno;
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		int rc = -errno;
		close(fds[0]);
		close(fds[1]);
		return rc;
	}
	if (pid == 0) {
		close(fds[0]);
		worker_main(campaign, plan, worker->next, fds[1]);
	}
	close(fds[1]);
	worker->pid = pid;
	worker->fd = fds[0];
	worker->started = -1;
	return 0;
}

/* Adds one finished unit to the report. */
static int report_add(const struct cli_plan *plan, struct cli_report *report, uint32_t index,
		      const struct cli_outcome *outcome)
{
	struct cli_unit unit = plan->units[index];
	struct cli_totals *totals = &report->totals[unit.scenario_index];
	totals->seeds_count++;
	totals->sim_time_ns += outcome->result.sim.time_ns;
	totals->wall_ns += outcome->wall_ns;
	for (int kind = 0; kind < GALE_FAULT_COUNT; kind++) {
		totals->faults_by_kind[kind] += outcome->result.sim.faults.injected[kind];
		totals->faults_count += outcome->result.sim.faults.injected[kind];
	}
	report->units_done++;
	if (outcome->status == 0)
		return 0;
	totals->failures_count++;
	if (report->failures_count == report->failures_cap) {
		size_t cap = report->failures_cap ? report->failures_cap * 2 : 16;
		struct cli_failure *grown = realloc(report->failures, cap * sizeof(*grown));
		if (grown == NULL)
			return -ENOMEM;
		report->failures = grown;
		report->failures_cap = cap;
	}
	report->failures[report->failures_count].unit = unit;
	report->failures[report->failures_count].outcome = *outcome;
	report->failures_count++;
	return 0;
}

/* A worker died with a unit started: that unit crashed. */
static int report_crash(const struct cli_plan *plan, struct cli_report *report,
			uint32_t index, int wait_status)
{
	struct cli_outcome outcome = {.status = -EINTR};
	outcome.result.oracle = GALE_ORACLE_NONE;
	if (WIFSIGNALED(wait_status))
		snprintf(outcome.result.message, sizeof(outcome.result.message),
			 "crashed: signal %d (%s); the assert or sanitizer message is above",
			 WTERMSIG(wait_status), strsignal(WTERMSIG(wait_status)));
	else
		snprintf(outcome.result.message, sizeof(outcome.result.message),
			 "crashed: worker exited with status %d mid-run",
			 WEXITSTATUS(wait_status));
	return report_add(plan, report, index, &outcome);
}

static void progress_show(const struct cli_report *report, int64_t start_ns, bool tty,
			  int64_t *last_ns)
{
	int64_t now = cli_wall_now_ns();
	bool done = report->units_done == report->units_total;
	if (*last_ns == INT64_MAX) /* The final line was printed already. */
		return;
	if (!done && now - *last_ns < (tty ? 100000000 : 5000000000LL))
		return;
	*last_ns = done ? INT64_MAX : now;
	double seconds = (double)(now - start_ns) / 1e9;
	double rate = seconds > 0 ? (double)report->units_done / seconds : 0;
	if (tty) {
		int width = 30;
		int filled = report->units_total ? (int)(width * report->units_done /
							 report->units_total) : width;
		fprintf(stderr, "\r[%.*s%*s] %llu/%llu seeds  %zu failed  %.0f seeds/s ", filled,
			"##############################", width - filled, "",
			(unsigned long long)report->units_done,
			(unsigned long long)report->units_total, report->failures_count, rate);
		if (done)
			fputc('\n', stderr);
	} else {
		fprintf(stderr, "gale: %llu/%llu seeds, %zu failed, %.0f seeds/s\n",
			(unsigned long long)report->units_done,
			(unsigned long long)report->units_total, report->failures_count, rate);
	}
}

/* Reads one record from a worker; false at end of stream. */
static bool worker_read(struct cli_worker *worker, struct cli_record *record)
{
	char *bytes = (char *)record;
	size_t done = 0;
	while (done < sizeof(*record)) {
		ssize_t n = read(worker->fd, bytes + done, sizeof(*record) - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		done += (size_t)n;
	}
	return true;
}

/* A worker's pipe reached its end: reap it, report a crash, resume after the crashed unit. */
static int worker_finish(const struct cli_campaign *campaign, const struct cli_plan *plan,
			 struct cli_report *report, struct cli_worker *worker)
{
	int status = 0;
	close(worker->fd);
	worker->fd = -1;
	waitpid(worker->pid, &status, 0);
	worker->pid = 0;
	int rc = 0;
	if (worker->started >= 0) {
		rc = report_crash(plan, report, (uint32_t)worker->started, status);
		worker->next = (uint64_t)worker->started + campaign->jobs;
	}
	if (rc == 0 && worker->next < plan->count && worker->started >= 0)
		rc = worker_spawn(campaign, plan, worker);
	return rc;
}

static int worker_service(const struct cli_campaign *campaign, const struct cli_plan *plan,
			  struct cli_report *report, struct cli_worker *worker)
{
	struct cli_record record;
	if (!worker_read(worker, &record))
		return worker_finish(campaign, plan, report, worker);
	if (record.kind == RECORD_START) {
		worker->started = record.plan_index;
		return 0;
	}
	worker->started = -1;
	worker->next = (uint64_t)record.plan_index + campaign->jobs;
	return report_add(plan, report, record.plan_index, &record.outcome);
}

static void workers_kill(struct cli_worker *workers, uint32_t jobs)
{
	for (uint32_t w = 0; w < jobs; w++) {
		if (workers[w].pid == 0)
			continue;
		kill(workers[w].pid, SIGKILL);
		waitpid(workers[w].pid, NULL, 0);
		close(workers[w].fd);
		workers[w].pid = 0;
	}
}

static int campaign_gather(const struct cli_campaign *campaign, const struct cli_plan *plan,
			   struct cli_report *report, struct cli_worker *workers)
{
	int64_t start_ns = cli_wall_now_ns(), last_ns = start_ns;
	bool tty = isatty(STDERR_FILENO);
	struct pollfd fds[256];
	for (;;) {
		nfds_t count = 0;
		for (uint32_t w = 0; w < campaign->jobs; w++)
			if (workers[w].pid != 0)
				fds[count++] = (struct pollfd){.fd = workers[w].fd, .events = POLLIN};
		if (count == 0)
			break;
		if (campaign->time_limit_s > 0 &&
		    (double)(cli_wall_now_ns() - start_ns) / 1e9 > campaign->time_limit_s) {
			workers_kill(workers, campaign->jobs);
			report->stopped_by_time_limit = true;
			break;
		}
		if (poll(fds, count, 100) < 0 && errno != EINTR)
			return -errno;
		for (uint32_t w = 0; w < campaign->jobs; w++) {
			struct pollfd probe = {.fd = workers[w].fd, .events = POLLIN};
			if (workers[w].pid == 0 || poll(&probe, 1, 0) <= 0)
				continue;
			int rc = worker_service(campaign, plan, report, &workers[w]);
			if (rc < 0)
				return rc;
		}
		progress_show(report, start_ns, tty, &last_ns);
	}
	if (tty && report->units_done != report->units_total)
		fputc('\n', stderr);
	return 0;
}

static int failure_compare(const void *a, const void *b)
{
	const struct cli_failure *x = a, *y = b;
	if (x->unit.scenario_index != y->unit.scenario_index)
		return x->unit.scenario_index < y->unit.scenario_index ? -1 : 1;
	return x->unit.seed < y->unit.seed ? -1 : x->unit.seed > y->unit.seed;
}

int cli_campaign_execute(const struct cli_campaign *campaign, struct cli_report *report)
{
	memset(report, 0, sizeof(*report));
	struct cli_plan plan;
	int rc = plan_make(campaign, &plan);
	if (rc != 0)
		return rc;
	report->units_total = plan.count;
	int64_t start_ns = cli_wall_now_ns();
	struct cli_worker workers[256];
	uint32_t jobs = campaign->jobs;
	for (uint32_t w = 0; w < jobs; w++) {
		workers[w] = (struct cli_worker){.fd = -1, .slot = w, .next = w, .started = -1};
		if (workers[w].next < plan.count && rc == 0)
			rc = worker_spawn(campaign, &plan, &workers[w]);
	}
	if (rc == 0)
		rc = campaign_gather(campaign, &plan, report, workers);
	workers_kill(workers, jobs);
	report->wall_ns = cli_wall_now_ns() - start_ns;
	/* qsort's array must not be NULL even for 0 elements (UBSan aborts on it). */
	if (report->failures_count > 0)
		qsort(report->failures, report->failures_count, sizeof(*report->failures),
		      failure_compare);
	free(plan.units);
	return rc;
}

void cli_report_deinit(struct cli_report *report)
{
	free(report->failures);
	memset(report, 0, sizeof(*report));
}
