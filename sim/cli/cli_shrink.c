/* SPDX-License-Identifier: MIT */
/*
 * Shrinking a failure: a smaller run that fails the same way (same oracle, same task).
 * First the fewest fault kinds (each kind the run injected is switched off in turn and
 * stays off if the failure survives), then the fewest injected faults (delta debugging
 * over an injection filter: the faults a run decides are numbered, and only a chosen set
 * of numbers is injected), then the smallest world (every gale_scenario_draw() at its
 * minimum: fewest clients, shortest messages). Every candidate is a whole deterministic
 * run, so the result is a replay command like any other. The search runs in a forked
 * child: a candidate that trips an assert costs the shrink, never the campaign. Only
 * failures on sim are shrunk: the search rests on exact replay, which the kernel's
 * timing denies to epoll and fault-epoll.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

struct shrink_search {
	const struct cli_campaign *campaign;
	struct cli_unit unit;
	const struct gale_run_result *original; /* The failure to keep: its oracle and task. */
	uint32_t faults_off;           /* Kinds switched off so far. */
	bool draws_min;                /* Draws at their minimum. */
	int64_t deadline_ns;           /* Wall-clock budget. */
	struct cli_shrink *out;        /* Counts runs. */
};

/* One candidate run; true when it fails the same way. result_out may be NULL. */
static bool shrink_try(struct shrink_search *search, const uint64_t *allowed, size_t count,
		       bool filter, struct gale_run_result *result_out)
{
	struct gale_run_result result;
	struct gale_run_options options = {
		.seed = search->unit.seed,
		.profile = search->campaign->swarm
				   ? NULL
				   : gale_fault_profile_find(search->campaign->profile_name),
		.swarm = search->campaign->swarm,
		.faults_filter = filter,
		.faults_allowed = allowed,
		.faults_allowed_count = count,
		.faults_off = search->faults_off,
		.draws_min = search->draws_min,
		.backend = GALE_BACKEND_SIM,
	};
	search->out->runs++;
	int rc = gale_scenario_run(search->campaign->scenarios[search->unit.scenario_index],
				   &options, NULL, &result);
	if (result_out != NULL)
		*result_out = result;
	return rc == 1 && result.oracle == search->original->oracle &&
	       strcmp(result.task, search->original->task) == 0;
}

/*
 * The search's budget is counted in candidate runs, so the same failure shrinks to the
 * same line on a fast machine and on a loaded one; the wall clock only caps a scenario
 * whose runs are slow (it is the one input that can cut a search short).
 */
static bool shrink_time_left(const struct shrink_search *search)
{
	return search->out->runs < CLI_SHRINK_RUNS_MAX && cli_wall_now_ns() < search->deadline_ns;
}

static uint64_t faults_total(const struct gale_run_result *result)
{
	uint64_t total = 0;
	for (int kind = 0; kind < GALE_FAULT_COUNT; kind++)
		total += result->sim.faults.injected[kind];
	return total;
}

/* Step 1: each kind the run injected, switched off in turn; off stays off if it still fails. */
static void shrink_kinds(struct shrink_search *search, const struct gale_run_result *original)
{
	for (int kind = 0; kind < GALE_FAULT_COUNT && shrink_time_left(search); kind++) {
		if (original->sim.faults.injected[kind] == 0)
			continue;
		uint32_t before = search->faults_off;
		search->faults_off |= UINT32_C(1) << kind;
		if (!shrink_try(search, NULL, 0, false, NULL))
			search->faults_off = before;
	}
}

/* Copies list minus its chunk [from, to) into out; returns the new count. */
static size_t list_without(const uint64_t *list, size_t count, size_t from, size_t to,
			   uint64_t *out)
{
	size_t n = 0;
	for (size_t i = 0; i < count; i++)
		if (i < from || i >= to)
			out[n++] = list[i];
	return n;
}

/* Step 2: delta debugging (ddmin) over the numbers of the faults that may be injected. */
static size_t shrink_faults(struct shrink_search *search, uint64_t *list, size_t count,
			    uint64_t *scratch)
{
	if (shrink_try(search, list, 0, true, NULL))
		return 0; /* It fails without any fault at all. */
	size_t chunks = 2;
	while (count >= 2 && shrink_time_left(search)) {
		size_t size = (count + chunks - 1) / chunks;
		bool reduced = false;
		for (size_t from = 0; from < count && !reduced; from += size) {
			size_t to = from + size < count ? from + size : count;
			if (shrink_try(search, list + from, to - from, true, NULL)) {
				memmove(list, list + from, (to - from) * sizeof(*list));
				count = to - from;
				chunks = 2;
				reduced = true;
			}
		}
		for (size_t from = 0; from < count && !reduced && chunks > 2; from += size) {
			size_t to = from + size < count ? from + size : count;
			size_t n = list_without(list, count, from, to, scratch);
			if (shrink_try(search, scratch, n, true, NULL)) {
				memcpy(list, scratch, n * sizeof(*list));
				count = n;
				chunks = chunks - 1 > 2 ? chunks - 1 : 2;
				reduced = true;
			}
		}
		if (!reduced) {
			if (chunks >= count)
				break;
			chunks = chunks * 2 < count ? chunks * 2 : count;
		}
	}
	return count;
}

/* The whole search, in the child. */
static void shrink_search_run(const struct cli_campaign *campaign,
			      const struct cli_failure *failure, double budget_s,
			      struct cli_shrink *out)
{
	struct shrink_search search = {
		.campaign = campaign,
		.unit = failure->unit,
		.original = &failure->outcome.result,
		.deadline_ns = cli_wall_now_ns() + (int64_t)(budget_s * 1e9),
		.out = out,
	};
	out->faults_before = faults_total(&failure->outcome.result);
	out->trace_before = failure->outcome.result.trace_count;
	shrink_kinds(&search, &failure->outcome.result);
	struct gale_run_result reduced;
	if (!shrink_try(&search, NULL, 0, false, &reduced))
		return; /* Not reproducible in-process: keep the original. */
	uint64_t count = faults_total(&reduced);
	if (count > CLI_SHRINK_FAULTS_MAX)
		count = CLI_SHRINK_FAULTS_MAX; /* Faults past the cap are never injected. */
	uint64_t scratch[CLI_SHRINK_FAULTS_MAX];
	for (uint64_t i = 0; i < count; i++)
		out->allowed[i] = i;
	out->allowed_count = shrink_faults(&search, out->allowed, (size_t)count, scratch);
	out->faults_off = search.faults_off;
	/* Step 3: the smallest world, if it still fails with the faults kept. */
	search.draws_min = true;
	if (!shrink_time_left(&search) ||
	    !shrink_try(&search, out->allowed, out->allowed_count, true, NULL))
		search.draws_min = false;
	out->draws_min = search.draws_min;
	if (!shrink_try(&search, out->allowed, out->allowed_count, true, &out->result))
		return;
	out->faults_after = faults_total(&out->result);
	out->trace_after = out->result.trace_count;
	out->shrunk = true;
}

int cli_shrink(const struct cli_campaign *campaign, const struct cli_failure *failure,
	       double budget_s, struct cli_shrink *out)
{
	memset(out, 0, sizeof(*out));
	/* Crashes and hangs are not run again in-process; kernel runs do not replay exactly. */
	if (failure->outcome.status != 1 || cli_backend_is_kernel(failure->outcome.backend))
		return -EINVAL;
	int64_t start_ns = cli_wall_now_ns();
	pid_t pid;
	int fd;
	int rc = cli_fork_piped(&pid, &fd);
	if (rc != 0)
		return rc;
	if (pid == 0) {
		shrink_search_run(campaign, failure, budget_s, out);
		_exit(cli_write_all(fd, out, sizeof(*out)) ? 0 : 3);
	}
	bool whole = cli_read_all(fd, out, sizeof(*out));
	close(fd);
	int status = 0;
	waitpid(pid, &status, 0);
	if (!whole || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		memset(out, 0, sizeof(*out));
		return -ECHILD; /* A candidate crashed the search: keep the original. */
	}
	out->seconds = (double)(cli_wall_now_ns() - start_ns) / 1e9;
	return 0;
}

void cli_shrink_replay_command(const struct cli_campaign *campaign,
			       const struct cli_failure *failure, const struct cli_shrink *shrink,
			       char *buf, size_t buf_len)
{
	cli_replay_command(campaign, failure, buf, buf_len);
	char *hash = strstr(buf, " --hash ");
	size_t len = hash != NULL ? (size_t)(hash - buf) : strlen(buf);
	int n;
	if (shrink->faults_off != 0) {
		n = snprintf(buf + len, buf_len - len, " --faults-off ");
		len += n > 0 ? (size_t)n : 0;
		const char *sep = "";
		for (int kind = 0; kind < GALE_FAULT_COUNT && len < buf_len; kind++) {
			if (!(shrink->faults_off & (UINT32_C(1) << kind)))
				continue;
			n = snprintf(buf + len, buf_len - len, "%s%s", sep,
				     gale_fault_kind_name(kind));
			len += n > 0 ? (size_t)n : 0;
			sep = ",";
		}
	}
	if (shrink->draws_min && len < buf_len) {
		n = snprintf(buf + len, buf_len - len, " --draws-min");
		len += n > 0 ? (size_t)n : 0;
	}
	n = len < buf_len ? snprintf(buf + len, buf_len - len, " --only-faults ") : 0;
	len += n > 0 ? (size_t)n : 0;
	if (shrink->allowed_count == 0 && len < buf_len) {
		n = snprintf(buf + len, buf_len - len, "none");
		len += n > 0 ? (size_t)n : 0;
	}
	for (size_t i = 0; i < shrink->allowed_count && len < buf_len; i++) {
		n = snprintf(buf + len, buf_len - len, "%s%llu", i ? "," : "",
			     (unsigned long long)shrink->allowed[i]);
		len += n > 0 ? (size_t)n : 0;
	}
	if (len < buf_len)
		snprintf(buf + len, buf_len - len, " --hash 0x%016llx",
			 (unsigned long long)shrink->result.trace_hash);
}
