/* SPDX-License-Identifier: MIT */
/*
 * Campaign execution: units (scenario x seed) spread over forked worker processes.
 *
 * Why processes: a seed that trips an assert (a programmer error gale asserts on, such as
 * a ready guard consumed twice) must cost one failure, not the campaign. The units
 * form rounds (struct cli_position: round r runs every scenario under the shard's r-th
 * seed) that are never materialised: worker w runs rounds w, w + jobs, w + 2 jobs, ...
 * and, per unit, writes a
 * START record then an OUTCOME record to its pipe (each record is written whole: it is
 * smaller than PIPE_BUF). When a worker dies, the unit it had started is reported as
 * crashed (the worker's stderr, with the assert message, is left on the terminal) and a
 * new worker resumes after it. Listed failures are the lowest seeds of each scenario,
 * sorted, so reports do not depend on timing. In differential mode a worker runs each
 * unit on both backends (a START record before each run, so a crash names its backend)
 * and sends one combined OUTCOME (cli_outcome_combine).
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
	struct cli_position at;     /* Which unit. */
	enum gale_backend backend;  /* RECORD_START: the backend starting (one START per
				     * backend run, so a crash names it). */
	struct cli_outcome outcome; /* For RECORD_OUTCOME. */
};

_Static_assert(sizeof(struct cli_record) <= PIPE_BUF, "records must be written atomically");

struct cli_worker {
	pid_t pid;                /* 0 when not running. */
	int fd;                   /* Read end of its pipe, or -1. */
	struct cli_position next; /* Next unit it will start (resume point). */
	bool has_next;            /* next is inside the shard. */
	bool busy;                /* started holds a unit started and not finished. */
	bool heard;               /* It sent a record since it was spawned. */
	struct cli_position started;
	enum gale_backend started_backend; /* The backend the started unit runs on now. */
	int64_t started_ns;       /* When that backend's run began (wall clock). */
	bool hung;                /* Killed by the watchdog: the started unit overran. */
};

uint64_t cli_shard_seeds(const struct cli_campaign *campaign)
{
	uint64_t n = campaign->shard_count;
	return campaign->seeds_count / n + (campaign->shard_index < campaign->seeds_count % n);
}

bool cli_position_first(const struct cli_campaign *campaign, uint32_t worker,
			struct cli_position *at_out)
{
	*at_out = (struct cli_position){.round = worker, .scenario_index = 0};
	return worker < cli_shard_seeds(campaign);
}

bool cli_position_next(const struct cli_campaign *campaign, struct cli_position from,
		       struct cli_position *to_out)
{
	if (from.scenario_index + 1 < campaign->scenarios_count) {
		*to_out = (struct cli_position){from.round, from.scenario_index + 1};
		return true;
	}
	uint64_t limit = cli_shard_seeds(campaign);
	if (from.round >= limit || campaign->jobs >= limit - from.round)
		return false;
	*to_out = (struct cli_position){from.round + campaign->jobs, 0};
	return true;
}

struct cli_unit cli_position_unit(const struct cli_campaign *campaign, struct cli_position at)
{
	/* round < shard seeds, so the offset is below seeds_count: no overflow. */
	uint64_t offset = campaign->shard_index + at.round * campaign->shard_count;
	return (struct cli_unit){.scenario_index = at.scenario_index,
				 .seed = campaign->seed_first + offset};
}

void cli_unit_run_on(const struct cli_campaign *campaign, struct cli_unit unit,
		     enum gale_backend backend, struct cli_outcome *outcome_out)
{
	struct gale_run_options options = {
		.seed = unit.seed,
		.profile = campaign->swarm ? NULL : gale_fault_profile_find(campaign->profile_name),
		.swarm = campaign->swarm,
		.backend = backend,
	};
	int64_t start_ns = cli_wall_now_ns();
	memset(outcome_out, 0, sizeof(*outcome_out));
	outcome_out->status = gale_scenario_run(campaign->scenarios[unit.scenario_index], &options,
						NULL, &outcome_out->result);
	outcome_out->wall_ns = cli_wall_now_ns() - start_ns;
	outcome_out->backend = backend;
	outcome_out->faults = outcome_out->result.sim.faults;
	outcome_out->time_ns = outcome_out->result.sim.time_ns;
	/* A run that could not happen may leave no message: the report must still say why. */
	if (outcome_out->status < 0 && outcome_out->result.message[0] == '\0')
		snprintf(outcome_out->result.message, sizeof(outcome_out->result.message),
			 "could not run on %s: %s", gale_backend_name(backend),
			 strerror(-outcome_out->status));
}

/* Puts prefix before out's message; a message cut short ends with "...". */
static void message_prefix(struct cli_outcome *out, const char *prefix)
{
	char original[sizeof(out->result.message)];
	memcpy(original, out->result.message, sizeof(original));
	int n = snprintf(out->result.message, sizeof(out->result.message), "%s%s", prefix,
			 original);
	if (n >= (int)sizeof(out->result.message))
		memcpy(out->result.message + sizeof(out->result.message) - 4, "...", 4);
}

void cli_outcome_combine(const struct cli_outcome *first, const struct cli_outcome *second,
			 struct cli_outcome *out)
{
	bool first_fails = first->status != 0, second_fails = second->status != 0;
	*out = !first_fails && second_fails ? *second : *first;
	out->divergent = first_fails != second_fails;
	out->wall_ns = first->wall_ns + second->wall_ns;
	out->time_ns = first->time_ns + second->time_ns;
	for (int kind = 0; kind < GALE_FAULT_COUNT; kind++)
		out->faults.injected[kind] = first->faults.injected[kind] +
					     second->faults.injected[kind];
	if (!first_fails && !second_fails)
		return;
	const char *a = gale_backend_name(first->backend), *b = gale_backend_name(second->backend);
	char prefix[160];
	if (out->divergent)
		snprintf(prefix, sizeof(prefix), "diverges: passes on %s, fails on %s: ",
			 first_fails ? b : a, first_fails ? a : b);
	else if (first->status == 1 && second->status == 1 &&
		 first->result.oracle != second->result.oracle)
		snprintf(prefix, sizeof(prefix), "fails on both %s and %s (on %s: oracle %s): ",
			 a, b, b, gale_oracle_name(second->result.oracle));
	else
		snprintf(prefix, sizeof(prefix), "fails on both %s and %s: ", a, b);
	message_prefix(out, prefix);
}

void cli_unit_run(const struct cli_campaign *campaign, struct cli_unit unit,
		  struct cli_outcome *outcome_out)
{
	cli_unit_run_on(campaign, unit, campaign->backends[0], outcome_out);
	if (cli_backends_count(campaign) < 2)
		return;
	struct cli_outcome first = *outcome_out, second;
	cli_unit_run_on(campaign, unit, campaign->backends[1], &second);
	cli_outcome_combine(&first, &second, outcome_out);
}

static void worker_write(int fd, const struct cli_record *record)
{
	if (!cli_write_all(fd, record, sizeof(*record)))
		_exit(3); /* The parent is gone: nobody to report to. */
}

/* The worker process body: runs its rounds from first on, each unit on every backend. */
static void worker_main(const struct cli_campaign *campaign, struct cli_position first, int fd)
{
	struct cli_position at = first;
	do {
		struct cli_unit unit = cli_position_unit(campaign, at);
		struct cli_outcome outcomes[CLI_BACKENDS_MAX];
		size_t count = cli_backends_count(campaign);
		for (size_t k = 0; k < count; k++) {
			struct cli_record start = {.kind = RECORD_START, .at = at,
						   .backend = campaign->backends[k]};
			worker_write(fd, &start);
			cli_unit_run_on(campaign, unit, campaign->backends[k], &outcomes[k]);
		}
		struct cli_record record = {.kind = RECORD_OUTCOME, .at = at,
					    .outcome = outcomes[0]};
		if (count == 2)
			cli_outcome_combine(&outcomes[0], &outcomes[1], &record.outcome);
		worker_write(fd, &record);
	} while (cli_position_next(campaign, at, &at));
	_exit(0);
}

static int worker_spawn(const struct cli_campaign *campaign, struct cli_worker *worker)
{
	pid_t pid;
	int fd;
	int rc = cli_fork_piped(&pid, &fd);
	if (rc != 0)
		return rc;
	if (pid == 0)
		worker_main(campaign, worker->next, fd);
	worker->pid = pid;
	worker->fd = fd;
	worker->busy = false;
	worker->heard = false;
	worker->hung = false;
	return 0;
}

/* Keeps failure among the CLI_FAILURES_LISTED lowest seeds of its scenario. */
int cli_report_keep_failure(struct cli_report *report, const struct cli_failure *failure)
{
	size_t same = 0, highest = SIZE_MAX;
	for (size_t k = 0; k < report->failures_count; k++) {
		const struct cli_failure *kept = &report->failures[k];
		if (kept->unit.scenario_index != failure->unit.scenario_index)
			continue;
		same++;
		if (highest == SIZE_MAX || kept->unit.seed > report->failures[highest].unit.seed)
			highest = k;
	}
	if (same >= CLI_FAILURES_LISTED) {
		if (failure->unit.seed < report->failures[highest].unit.seed)
			report->failures[highest] = *failure;
		return 0;
	}
	if (report->failures_count == report->failures_cap) {
		size_t cap = report->failures_cap ? report->failures_cap * 2 : 16;
		struct cli_failure *grown = realloc(report->failures, cap * sizeof(*grown));
		if (grown == NULL)
			return -ENOMEM;
		report->failures = grown;
		report->failures_cap = cap;
	}
	report->failures[report->failures_count++] = *failure;
	return 0;
}

/* Adds one finished unit to the report. */
static int report_add(const struct cli_campaign *campaign, struct cli_report *report,
		      struct cli_position at, const struct cli_outcome *outcome)
{
	struct cli_unit unit = cli_position_unit(campaign, at);
	struct cli_totals *totals = &report->totals[unit.scenario_index];
	totals->seeds_count++;
	totals->sim_time_ns += outcome->time_ns;
	totals->wall_ns += outcome->wall_ns;
	for (int kind = 0; kind < GALE_FAULT_COUNT; kind++) {
		totals->faults_by_kind[kind] += outcome->faults.injected[kind];
		totals->faults_count += outcome->faults.injected[kind];
	}
	report->units_done++;
	if (outcome->status == 0)
		return 0;
	totals->failures_count++;
	totals->divergences_count += outcome->divergent;
	struct cli_failure failure = {.unit = unit, .outcome = *outcome};
	return cli_report_keep_failure(report, &failure);
}

/* A worker died with a unit started: that unit crashed, or hung and was killed. */
static int report_crash(const struct cli_campaign *campaign, struct cli_report *report,
			const struct cli_worker *worker, int wait_status)
{
	struct cli_outcome outcome = {.status = worker->hung ? -ETIMEDOUT : -EINTR,
				      .backend = worker->started_backend};
	outcome.result.oracle = GALE_ORACLE_NONE;
	outcome.result.backend = worker->started_backend;
	/* Which backend, when the campaign has a choice: the crash may be the kernel's. */
	char where[32] = "";
	if (!cli_backends_sim_only(campaign) || cli_backends_count(campaign) > 1)
		snprintf(where, sizeof(where), " on %s",
			 gale_backend_name(worker->started_backend));
	if (worker->hung)
		snprintf(outcome.result.message, sizeof(outcome.result.message),
			 "hung%s: no result after %.0f s of wall time (the watchdog killed it); "
			 "replay it to see where it loops", where, campaign->seed_timeout_s);
	else if (WIFSIGNALED(wait_status))
		snprintf(outcome.result.message, sizeof(outcome.result.message),
			 "crashed%s: signal %d (%s); the assert or sanitizer message is above",
			 where, WTERMSIG(wait_status), strsignal(WTERMSIG(wait_status)));
	else
		snprintf(outcome.result.message, sizeof(outcome.result.message),
			 "crashed%s: worker exited with status %d mid-run", where,
			 WEXITSTATUS(wait_status));
	return report_add(campaign, report, worker->started, &outcome);
}

struct progress {
	int64_t start_ns;      /* Campaign start. */
	int64_t last_ns;       /* Last line printed; INT64_MAX once the final one was. */
	bool tty;              /* stderr is a terminal: one redrawn line. */
	double units_planned;  /* For the bar (exact counts are in the report). */
	char planned_text[48]; /* Planned units, exact. */
};

static void progress_show(const struct cli_report *report, struct progress *progress,
			  bool done)
{
	int64_t now = cli_wall_now_ns();
	if (progress->last_ns == INT64_MAX) /* The final line was printed already. */
		return;
	if (!done && now - progress->last_ns < (progress->tty ? 100000000 : 5000000000LL))
		return;
	progress->last_ns = done ? INT64_MAX : now;
	double seconds = (double)(now - progress->start_ns) / 1e9;
	double rate = seconds > 0 ? (double)report->units_done / seconds : 0;
	if (progress->tty) {
		int width = 30;
		double part = progress->units_planned > 0
				      ? (double)report->units_done / progress->units_planned : 1;
		int filled = (int)(width * (part > 1 ? 1 : part));
		fprintf(stderr, "\r[%.*s%*s] %llu/%s seeds  %zu failed  %.0f seeds/s ", filled,
			"##############################", width - filled, "",
			(unsigned long long)report->units_done, progress->planned_text,
			report->failures_count, rate);
		if (done)
			fputc('\n', stderr);
	} else {
		fprintf(stderr, "%s: %llu/%s seeds, %zu failed, %.0f seeds/s\n", cli_program.name,
			(unsigned long long)report->units_done, progress->planned_text,
			report->failures_count, rate);
	}
}

/* Reads one record from a worker; false at end of stream. */
static bool worker_read(struct cli_worker *worker, struct cli_record *record)
{
	return cli_read_all(worker->fd, record, sizeof(*record));
}

/*
 * A worker's pipe reached its end: reap it; if it died mid-unit, report that unit as
 * crashed; if it died before finishing its share, a new worker resumes where it stopped.
 */
static int worker_finish(const struct cli_campaign *campaign, struct cli_report *report,
			 struct cli_worker *worker)
{
	int status = 0;
	close(worker->fd);
	worker->fd = -1;
	waitpid(worker->pid, &status, 0);
	worker->pid = 0;
	int rc = 0;
	if (worker->busy) {
		rc = report_crash(campaign, report, worker, status);
		worker->busy = false;
		worker->has_next = cli_position_next(campaign, worker->started, &worker->next);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		worker->has_next = false; /* Finished its share. */
	} else if (!worker->heard) {
		return -ECHILD; /* Died before its first unit: respawning would loop. */
	}
	if (rc == 0 && worker->has_next)
		rc = worker_spawn(campaign, worker);
	return rc;
}

static int worker_service(const struct cli_campaign *campaign, struct cli_report *report,
			  struct cli_worker *worker)
{
	struct cli_record record;
	if (!worker_read(worker, &record))
		return worker_finish(campaign, report, worker);
	worker->heard = true;
	if (record.kind == RECORD_START) {
		worker->busy = true;
		worker->started = record.at;
		worker->started_backend = record.backend;
		worker->started_ns = cli_wall_now_ns(); /* Each backend's run has the budget. */
		return 0;
	}
	worker->busy = false;
	worker->has_next = cli_position_next(campaign, record.at, &worker->next);
	return report_add(campaign, report, record.at, &record.outcome);
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

/*
 * The last resort against a seed that never returns (a loop no simulated budget
 * catches): kill its worker; worker_finish() reports the seed as hung, with its replay
 * line, and a new worker resumes after it.
 */
static void watchdog_check(const struct cli_campaign *campaign, struct cli_worker *workers)
{
	int64_t now = cli_wall_now_ns();
	for (uint32_t w = 0; w < campaign->jobs; w++) {
		struct cli_worker *worker = &workers[w];
		if (worker->pid == 0 || !worker->busy || worker->hung ||
		    (double)(now - worker->started_ns) / 1e9 <= campaign->seed_timeout_s)
			continue;
		worker->hung = true;
		kill(worker->pid, SIGKILL); /* Its pipe ends: worker_finish() takes over. */
	}
}

static bool time_is_up(const struct cli_campaign *campaign, int64_t start_ns)
{
	return campaign->time_limit_s > 0 &&
	       (double)(cli_wall_now_ns() - start_ns) / 1e9 > campaign->time_limit_s;
}

static int campaign_gather(const struct cli_campaign *campaign, struct cli_report *report,
			   struct cli_worker *workers, struct progress *progress)
{
	struct pollfd fds[CLI_JOBS_MAX];
	uint32_t owner[CLI_JOBS_MAX];
	for (;;) {
		nfds_t count = 0;
		for (uint32_t w = 0; w < campaign->jobs; w++) {
			if (workers[w].pid == 0)
				continue;
			owner[count] = w;
			fds[count++] = (struct pollfd){.fd = workers[w].fd, .events = POLLIN};
		}
		if (count == 0)
			break;
		if (time_is_up(campaign, progress->start_ns)) {
			workers_kill(workers, campaign->jobs);
			report->stopped_by_time_limit = true;
			break;
		}
		if (poll(fds, count, 100) < 0 && errno != EINTR)
			return -errno;
		for (nfds_t k = 0; k < count; k++) {
			if ((fds[k].revents & (POLLIN | POLLHUP | POLLERR)) == 0)
				continue;
			int rc = worker_service(campaign, report, &workers[owner[k]]);
			if (rc < 0)
				return rc;
		}
		if (campaign->seed_timeout_s > 0)
			watchdog_check(campaign, workers);
		progress_show(report, progress, false);
	}
	return 0;
}

static int failure_compare(const void *a, const void *b)
{
	const struct cli_failure *x = a, *y = b;
	if (x->unit.scenario_index != y->unit.scenario_index)
		return x->unit.scenario_index < y->unit.scenario_index ? -1 : 1;
	return x->unit.seed < y->unit.seed ? -1 : x->unit.seed > y->unit.seed;
}

void cli_report_sort_failures(struct cli_report *report)
{
	/* qsort's array must not be NULL even for 0 elements (UBSan aborts on it). */
	if (report->failures_count > 0)
		qsort(report->failures, report->failures_count, sizeof(*report->failures),
		      failure_compare);
}

static void progress_init(const struct cli_campaign *campaign, struct progress *progress)
{
	struct cli_count planned = {0, 0};
	for (size_t i = 0; i < campaign->scenarios_count; i++)
		cli_count_add(&planned, cli_shard_seeds(campaign));
	*progress = (struct progress){
		.start_ns = cli_wall_now_ns(),
		.tty = isatty(STDERR_FILENO),
		.units_planned = (double)planned.high * 18446744073709551616.0 +
				 (double)planned.low,
	};
	progress->last_ns = progress->start_ns;
	cli_count_format(planned, progress->planned_text, sizeof(progress->planned_text));
}

/* One backend, or two distinct ones, each a real backend value. */
static bool backends_are_valid(const struct cli_campaign *campaign)
{
	size_t count = cli_backends_count(campaign);
	for (size_t k = 0; k < count; k++)
		if ((unsigned)campaign->backends[k] >= GALE_BACKEND_COUNT)
			return false;
	return count <= CLI_BACKENDS_MAX &&
	       (count < 2 || campaign->backends[0] != campaign->backends[1]);
}

int cli_campaign_execute(const struct cli_campaign *campaign, struct cli_report *report)
{
	memset(report, 0, sizeof(*report));
	if (campaign->scenarios_count == 0 || campaign->scenarios_count > CLI_SCENARIOS_MAX ||
	    campaign->jobs == 0 || campaign->jobs > CLI_JOBS_MAX || campaign->shard_count == 0 ||
	    campaign->shard_index >= campaign->shard_count || !backends_are_valid(campaign))
		return -EINVAL;
	for (size_t i = 0; i < campaign->scenarios_count; i++)
		report->totals[i].seeds_planned = cli_shard_seeds(campaign);
	struct progress progress;
	progress_init(campaign, &progress);
	struct cli_worker workers[CLI_JOBS_MAX];
	int rc = 0;
	for (uint32_t w = 0; w < campaign->jobs; w++) {
		workers[w] = (struct cli_worker){.fd = -1};
		workers[w].has_next = cli_position_first(campaign, w, &workers[w].next);
		if (workers[w].has_next && rc == 0)
			rc = worker_spawn(campaign, &workers[w]);
	}
	if (rc == 0)
		rc = campaign_gather(campaign, report, workers, &progress);
	workers_kill(workers, campaign->jobs);
	progress_show(report, &progress, true);
	report->wall_ns = cli_wall_now_ns() - progress.start_ns;
	cli_report_sort_failures(report);
	return rc;
}

void cli_report_deinit(struct cli_report *report)
{
	for (size_t i = 0; i < report->failures_count; i++)
		free(report->failures[i].shrink);
	free(report->failures);
	memset(report, 0, sizeof(*report));
}
