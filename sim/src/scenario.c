/* SPDX-License-Identifier: MIT */
/*
 * The scenario runner (scenario.h): builds one simulated world per run (entropy, profile,
 * trace, counting allocator, sim driver, runtime over a watching pass-through driver), runs
 * the scenario's tasks to the end, and checks the oracles in a fixed order.
 *
 * Sections: names; the arena under run->allocator; failures; the task registry; the public
 * task API; building the world; the loop; the end of a run; the determinism self-check.
 */
#include <assert.h>
#include <errno.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gale/error.h>
#include <gale/scenario.h>

#include "scenario_internal.h"

/* Defaults of struct gale_run_options. */
#define RUN_STEPS_MAX_DEFAULT UINT64_C(10000000)
#define RUN_TIME_LIMIT_NS_DEFAULT (INT64_C(3600) * 1000000000)
/* On a real backend time is wall time: a minute is far beyond any catalog run. */
#define RUN_TIME_LIMIT_REAL_NS_DEFAULT (INT64_C(60) * 1000000000)
#define RUN_IDLE_LIMIT_NS_DEFAULT (INT64_C(5) * 1000000000)
/* A real backend's turns wait at most this long, so idleness is measured as it grows. */
#define RUN_IDLE_SLICE_NS (INT64_C(50) * 1000000)
/*
 * On a kernel a partition is withheld readiness in real time: the profiles' durations
 * (up to a second, free in virtual time) would make a campaign crawl. A few ms exercise
 * the same path: -EAGAIN, then an event at the heal.
 */
#define RUN_KERNEL_PARTITION_NS_MAX (INT64_C(2) * 1000000)
/* Records the determinism self-check keeps when the options say 0. */
#define DETERMINISM_RECORDS_DEFAULT ((size_t)1 << 20)

/* ---- Names ----------------------------------------------------------------------------------- */

static const char *const oracle_names[GALE_ORACLE_COUNT] = {
#define ORACLE_NAME(name, field, description) [GALE_ORACLE_##name] = #field,
	GALE_ORACLE_MAP(ORACLE_NAME)
#undef ORACLE_NAME
};

static const char *const oracle_descriptions[GALE_ORACLE_COUNT] = {
#define ORACLE_DESCRIPTION(name, field, description) [GALE_ORACLE_##name] = description,
	GALE_ORACLE_MAP(ORACLE_DESCRIPTION)
#undef ORACLE_DESCRIPTION
};

const char *gale_oracle_name(enum gale_oracle oracle)
{
	if ((unsigned)oracle >= GALE_ORACLE_COUNT)
		return "unknown";
	return oracle_names[oracle];
}

const char *gale_oracle_description(enum gale_oracle oracle)
{
	if ((unsigned)oracle >= GALE_ORACLE_COUNT)
		return "unknown oracle";
	return oracle_descriptions[oracle];
}

static const char *const backend_names[GALE_BACKEND_COUNT] = {
	[GALE_BACKEND_SIM] = "sim",
	[GALE_BACKEND_EPOLL] = "epoll",
	[GALE_BACKEND_FAULT_EPOLL] = "fault-epoll",
};

const char *gale_backend_name(enum gale_backend backend)
{
	if ((unsigned)backend >= GALE_BACKEND_COUNT)
		return "unknown";
	return backend_names[backend];
}

int gale_backend_parse(const char *text, enum gale_backend *backend_out)
{
	assert(backend_out != NULL);
	for (int i = 0; text != NULL && i < GALE_BACKEND_COUNT; i++) {
		if (strcmp(text, backend_names[i]) == 0) {
			*backend_out = (enum gale_backend)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- The arena under run->allocator ---------------------------------------------------------- */

/* The header of every block handed out; padded so the payload keeps max_align_t alignment. */
struct scenario_block {
	struct scenario_block *prev;
	struct scenario_block *next;
};

#define BLOCK_HEADER_SIZE                                                                   \
	((sizeof(struct scenario_block) + alignof(max_align_t) - 1) / alignof(max_align_t) *   \
	 alignof(max_align_t))

static void *arena_alloc(void *data, size_t size)
{
	struct scenario_arena *arena = data;
	assert(arena != NULL);
	assert(size > 0);
	if (size > SIZE_MAX - BLOCK_HEADER_SIZE)
		return NULL;
	struct scenario_block *block = malloc(BLOCK_HEADER_SIZE + size);
	if (block == NULL)
		return NULL;
	block->prev = NULL;
	block->next = arena->blocks;
	if (arena->blocks != NULL)
		arena->blocks->prev = block;
	arena->blocks = block;
	return (unsigned char *)block + BLOCK_HEADER_SIZE;
}

static void arena_free(void *data, void *ptr, size_t size)
{
	struct scenario_arena *arena = data;
	assert(arena != NULL && ptr != NULL);
	(void)size;
	struct scenario_block *block =
		(struct scenario_block *)(void *)((unsigned char *)ptr - BLOCK_HEADER_SIZE);
	if (block->prev != NULL)
		block->prev->next = block->next;
	else
		arena->blocks = block->next;
	if (block->next != NULL)
		block->next->prev = block->prev;
	free(block);
}

static void arena_init(struct scenario_arena *arena)
{
	assert(arena != NULL);
	arena->blocks = NULL;
	arena->base = (struct gale_allocator){arena_alloc, arena_free, arena};
}

/* Frees what the scenario leaked, after the leak oracle counted it. */
static void arena_free_all(struct scenario_arena *arena)
{
	assert(arena != NULL);
	while (arena->blocks != NULL) {
		struct scenario_block *next = arena->blocks->next;
		free(arena->blocks);
		arena->blocks = next;
	}
}

/* ---- Failures -------------------------------------------------------------------------------- */

void gale__scenario_failv(struct gale_scenario_state *state, enum gale_oracle oracle,
			  const char *format, va_list args)
{
	assert(state != NULL && format != NULL);
	assert(oracle > GALE_ORACLE_NONE && oracle < GALE_ORACLE_COUNT);
	if (state->failed)
		return;
	state->failed = true;
	struct gale_scenario_run *run = state->run;
	struct gale_run_result *result = run->priv_result;
	char task[112] = "";
	result->task[0] = '\0';
	if (state->runtime_ready) {
		struct gale_task_handle current = gale_executor_current(&run->runtime.executor);
		if (current.id != 0) {
			gale__scenario_task_label(state, current, result->task,
						  sizeof(result->task));
			(void)snprintf(task, sizeof(task), ", in task %s", result->task);
		}
	}
	uint64_t step = gale_trace_count(&run->trace);
	char suffix[160];
	int suffix_len = snprintf(suffix, sizeof(suffix), "%s (step %llu)", task,
				  (unsigned long long)step);
	assert(suffix_len > 0 && (size_t)suffix_len < sizeof(suffix));
	/* The body is cut short if need be, never the suffix: it is what replays point at. */
	(void)vsnprintf(result->message, sizeof(result->message) - (size_t)suffix_len, format,
			args);
	strcat(result->message, suffix);
	result->oracle = oracle;
	result->failure_step = step;
}

void gale__scenario_failf(struct gale_scenario_state *state, enum gale_oracle oracle,
			  const char *format, ...)
{
	va_list args;
	va_start(args, format);
	gale__scenario_failv(state, oracle, format, args);
	va_end(args);
}

void gale_scenario_fail(struct gale_scenario_run *run, enum gale_oracle oracle,
			const char *format, ...)
{
	assert(run != NULL && run->priv_state != NULL);
	assert(format != NULL);
	va_list args;
	va_start(args, format);
	gale__scenario_failv(run->priv_state, oracle, format, args);
	va_end(args);
}

bool gale_scenario_has_failed(const struct gale_scenario_run *run)
{
	assert(run != NULL && run->priv_state != NULL);
	return run->priv_state->failed;
}

/* ---- The task registry ----------------------------------------------------------------------- */

static uint32_t handle_slot(struct gale_task_handle handle)
{
	return (uint32_t)(handle.id & UINT32_MAX);
}

/* Makes room for one more record and for slot in the slot map. false: out of memory. */
static bool tasks_reserve(struct gale_scenario_state *state, uint32_t slot)
{
	assert(state != NULL);
	assert(state->tasks_len <= state->tasks_cap);
	if (state->tasks_len == state->tasks_cap) {
		uint32_t cap = state->tasks_cap == 0 ? 16 : state->tasks_cap * 2;
		struct scenario_task *tasks = realloc(state->tasks, cap * sizeof(*tasks));
		if (tasks == NULL)
			return false;
		state->tasks = tasks;
		state->tasks_cap = cap;
	}
	if (slot >= state->slot_map_cap) {
		uint32_t cap = state->slot_map_cap == 0 ? 16 : state->slot_map_cap;
		while (cap <= slot)
			cap *= 2;
		uint32_t *map = realloc(state->slot_map, cap * sizeof(*map));
		if (map == NULL)
			return false;
		memset(map + state->slot_map_cap, 0, (cap - state->slot_map_cap) * sizeof(*map));
		state->slot_map = map;
		state->slot_map_cap = cap;
	}
	return true;
}

struct scenario_task *gale__scenario_task_get(struct gale_scenario_state *state,
					      struct gale_task_handle handle, bool create)
{
	assert(state != NULL);
	assert(handle.id != 0);
	uint32_t slot = handle_slot(handle);
	if (slot < state->slot_map_cap && state->slot_map[slot] != 0) {
		struct scenario_task *task = &state->tasks[state->slot_map[slot] - 1];
		if (task->handle.id == handle.id)
			return task;
		/* The slot was reused by a later task: an older record may still match (its
		 * result stays queryable), so search the records, newest first. */
		for (uint32_t i = state->tasks_len; i > 0; i--) {
			if (state->tasks[i - 1].handle.id == handle.id)
				return &state->tasks[i - 1];
		}
	}
	if (!create || !tasks_reserve(state, slot))
		return NULL;
	struct scenario_task *task = &state->tasks[state->tasks_len++];
	*task = (struct scenario_task){.handle = handle};
	for (int i = 0; i < SCENARIO_TASK_FDS_MAX; i++)
		task->fds[i] = -1;
	state->slot_map[slot] = state->tasks_len;
	return task;
}

struct scenario_task *gale__scenario_task_current(struct gale_scenario_state *state)
{
	assert(state != NULL);
	assert(state->runtime_ready);
	struct gale_task_handle current = gale_executor_current(&state->run->runtime.executor);
	if (current.id == 0)
		return NULL;
	return gale__scenario_task_get(state, current, true);
}

void gale__scenario_task_label(struct gale_scenario_state *state, struct gale_task_handle handle,
			       char *buf, size_t len)
{
	assert(state != NULL);
	assert(buf != NULL && len > 0);
	const struct scenario_task *task = gale__scenario_task_get(state, handle, false);
	if (task != NULL && task->name != NULL)
		(void)snprintf(buf, len, "'%s'", task->name);
	else
		(void)snprintf(buf, len, "#%u.%u (unnamed)", handle_slot(handle),
			       (unsigned)(handle.id >> 32));
}

/* ---- The public task API --------------------------------------------------------------------- */

int gale_scenario_spawn(struct gale_scenario_run *run, const char *name, gale_poll_fn *poll,
			void *data, bool expect_error, struct gale_task_handle *handle_out)
{
	assert(run != NULL && run->priv_state != NULL);
	assert(name != NULL && poll != NULL);
	struct gale_scenario_state *state = run->priv_state;
	struct gale_task_handle handle;
	int rc = gale_executor_spawn(&run->runtime.executor, poll, data, &handle);
	if (rc < 0)
		return rc;
	struct scenario_task *task = gale__scenario_task_get(state, handle, true);
	if (task == NULL) {
		/* Never polled: cancelled and freed at once, as if the spawn had failed. */
		int result;
		(void)gale_executor_abort(&run->runtime.executor, handle);
		(void)gale_executor_try_join(&run->runtime.executor, handle, &result);
		return -ENOMEM;
	}
	task->name = name;
	task->expect_error = expect_error;
	gale_trace_name_set(&run->trace, handle.id, name);
	if (handle_out != NULL)
		*handle_out = handle;
	return 0;
}

int gale_scenario_task_result(const struct gale_scenario_run *run, struct gale_task_handle handle,
			      int *result_out)
{
	assert(run != NULL && run->priv_state != NULL);
	assert(result_out != NULL);
	if (handle.id == 0)
		return -ESRCH;
	const struct scenario_task *task = gale__scenario_task_get(run->priv_state, handle, false);
	if (task == NULL || task->name == NULL)
		return -ESRCH;
	if (!task->joined)
		return -EAGAIN;
	*result_out = task->result;
	return 0;
}

enum gale_backend gale_scenario_backend(const struct gale_scenario_run *run)
{
	assert(run != NULL && run->priv_state != NULL);
	return run->priv_state->backend;
}

struct gale_sim_stats gale_scenario_stats(const struct gale_scenario_run *run)
{
	assert(run != NULL && run->priv_state != NULL);
	const struct gale_scenario_state *state = run->priv_state;
	struct gale_sim_stats stats = {0};
	if (state->backend == GALE_BACKEND_SIM) {
		stats = gale_sim_stats_get(&run->sim);
	} else {
		stats.time_ns = gale_driver_now_ns(state->inner) - state->time_start_ns;
		stats.ops_count = state->ops_count;
		stats.connections_count = state->connections_count;
		stats.connects_refused_count = state->connects_refused_count;
		for (uint32_t i = 0; i < state->fds_cap; i++)
			stats.fds_open_count += state->fds[i].open;
		stats.registrations_count = state->tokens_len;
		if (state->fault_ready)
			stats.faults = gale_fault_driver_stats_get(&state->fault);
		for (int kind = 0; kind < GALE_FAULT_COUNT; kind++)
			stats.faults.injected[kind] += state->resolver_faults.injected[kind];
	}
	/* The driver counts its faults; allocation faults are the allocator's (sim_alloc.h). */
	stats.faults.injected[GALE_FAULT_ALLOC_FAIL] +=
		gale_sim_allocator_stats_get(&run->allocator).failed_count;
	return stats;
}

int gale_scenario_host_add(struct gale_scenario_run *run, const char *ip)
{
	assert(run != NULL && run->priv_state != NULL);
	struct gale_scenario_state *state = run->priv_state;
	if (ip == NULL)
		return -EINVAL;
	if (state->backend != GALE_BACKEND_SIM)
		return gale__scenario_addr_host_add(&state->addrs, ip);
	int rc = gale_sim_host_add(&run->sim, ip, NULL);
	return rc == -EEXIST ? 0 : rc;
}

struct gale_driver *gale_scenario_driver(struct gale_scenario_run *run)
{
	assert(run != NULL && run->priv_state != NULL);
	assert(run->priv_state->driver.base.ops != NULL);
	return &run->priv_state->driver.base;
}

/* Joins one finished named task and applies the TASK oracle to its result. */
static void task_join(struct gale_scenario_state *state, uint32_t index)
{
	struct gale_executor *executor = &state->run->runtime.executor;
	struct scenario_task *task = &state->tasks[index];
	assert(task->name != NULL && !task->joined);
	int result = 0;
	int rc = gale_executor_try_join(executor, task->handle, &result);
	if (rc == -EAGAIN)
		return;
	task->joined = true;
	/* -ESRCH: the scenario joined or detached it itself; its result is gone. */
	task->result = rc == 0 ? result : rc;
	if (rc != 0 || result == 0 || task->expect_error)
		return;
	gale__scenario_failf(state, GALE_ORACLE_TASK, "task '%s' finished with %d %s (%s)",
			     task->name, result, gale_error_name(result), gale_strerror(result));
}

/* Joins the named tasks that finished since the last scan (all of them when forced). */
static void tasks_join_finished(struct gale_scenario_state *state, bool force)
{
	assert(state != NULL && state->runtime_ready);
	struct gale_executor *executor = &state->run->runtime.executor;
	struct gale_executor_stats stats = gale_executor_stats_get(executor);
	uint64_t finished = stats.spawns_count - gale_executor_live_count(executor);
	if (!force && finished == state->finished_seen)
		return;
	state->finished_seen = finished;
	for (uint32_t i = 0; i < state->tasks_len; i++) {
		if (state->tasks[i].name != NULL && !state->tasks[i].joined)
			task_join(state, i);
	}
}

/* ---- Building the world ---------------------------------------------------------------------- */

struct scenario_world {
	struct gale_scenario_run run;
	struct gale_scenario_state state;
	void *scenario_state; /* state_size zeroed bytes for the scenario, or NULL. */
};

static void world_profile_choose(struct scenario_world *world,
				 const struct gale_run_options *options)
{
	struct gale_scenario_run *run = &world->run;
	assert(options != NULL);
	if (options->backend == GALE_BACKEND_EPOLL) {
		/* The plain kernel: no driver faults, and no allocation faults either. */
		run->profile = *gale_fault_profile_find("none");
		return;
	}
	if (options->swarm) {
		gale_fault_profile_swarm(&run->profile, &run->entropy);
	} else {
		const struct gale_fault_profile *profile = options->profile;
		if (profile == NULL)
			profile = gale_fault_profile_find("none");
		assert(profile != NULL);
		run->profile = *profile;
	}
	/* Shrinking switches kinds off after the choice, so a swarm draw spends the same. */
	for (int kind = 0; kind < GALE_FAULT_COUNT; kind++)
		if (options->faults_off & (UINT32_C(1) << kind))
			run->profile.ratios[kind] = (struct gale_ratio){0, 0};
	/* Linux's short-I/O world (scenario.h): a short count is never made up. */
	if (world->state.short_io_linux) {
		run->profile.ratios[GALE_FAULT_READ_SHORT] = (struct gale_ratio){0, 0};
		run->profile.ratios[GALE_FAULT_WRITE_PARTIAL] = (struct gale_ratio){0, 0};
	}
}

/* The sim's options: the scenario's shape, the run's entropy, profile and trace. */
static struct gale_sim_options world_sim_options(struct scenario_world *world)
{
	struct gale_scenario_run *run = &world->run;
	const struct gale_scenario *scenario = run->scenario;
	struct gale_sim_options options = gale_sim_options_default();
	if (scenario->sim_options != NULL)
		options = *scenario->sim_options;
	options.seed = run->seed;
	options.profile = &run->profile;
	options.entropy = &run->entropy;
	options.trace = &run->trace;
	options.short_io_proves = world->state.short_io_linux;
	if (world->state.options->faults_filter)
		options.fault_filter = &world->state.fault_filter;
	return options;
}

/* Everything but the sim and the runtime: nothing here can fail. */
static void world_init_sources(struct scenario_world *world, const struct gale_scenario *scenario,
			       const struct gale_run_options *options,
			       struct gale_run_result *result)
{
	struct gale_scenario_run *run = &world->run;
	struct gale_scenario_state *state = &world->state;
	run->scenario = scenario;
	run->priv_result = result;
	run->priv_state = state;
	state->run = run;
	state->options = options;
	state->backend = options->backend;
	if (options->fuzz_bytes != NULL) {
		gale_entropy_init_bytes(&run->entropy, options->fuzz_bytes, options->fuzz_len);
		run->seed = 0;
	} else {
		gale_entropy_init_seed(&run->entropy, options->seed);
		run->seed = options->seed;
	}
	state->short_io_linux = gale__scenario_short_io_linux(options);
	world_profile_choose(world, options);
	gale_trace_init(&run->trace, NULL, options->trace_records_max);
	/* Allocation faults wait for setup to finish: see the file comment of scenario.h. */
	state->alloc_profile = run->profile;
	state->alloc_profile.ratios[GALE_FAULT_ALLOC_FAIL] = (struct gale_ratio){0, 0};
	arena_init(&state->arena);
	gale_sim_allocator_init(&run->allocator, &state->arena.base, &state->alloc_profile,
				&run->entropy, &run->trace);
	if (options->faults_filter) {
		state->fault_filter = (struct gale_fault_filter){
			.allowed = options->faults_allowed, .count = options->faults_allowed_count};
		gale_sim_allocator_filter_set(&run->allocator, &state->fault_filter);
	}
	state->reactor_observer = (struct gale_reactor_observer){
		.ready_cleared = gale__scenario_ready_cleared,
		.misuse = gale__scenario_misuse,
		.data = state,
	};
}

void gale__scenario_side(struct gale_scenario_state *state, enum gale_trace_kind kind,
			 uint16_t op, int fd, uint64_t a, int64_t result)
{
	assert(state != NULL && state->run != NULL);
	struct gale_trace_record record = {
		.time_ns = gale_driver_now_ns(state->inner), /* The records' clock. */
		.kind = (uint16_t)kind, .op = op, .fd = fd, .a = a, .result = result};
	gale_trace_side_append(&state->run->trace, record);
}

/* The executor's observer: each task poll's two edges, as side records for timelines. */
static void world_poll_begin(void *data, struct gale_task_handle task)
{
	gale__scenario_side(data, GALE_TRACE_POLL, GALE_TRACE_POLL_BEGIN, -1, task.id, 0);
}

static void world_poll_end(void *data, struct gale_task_handle task, int rc)
{
	gale__scenario_side(data, GALE_TRACE_POLL, GALE_TRACE_POLL_END, -1, task.id, rc);
}

/* The scheduling hook on a real backend: the sim's rule (gale_sim_schedule) from the run's
 * entropy, so the order tasks are polled in is still the seed's. */
static uint32_t world_schedule_real(void *data, uint32_t runnable_count)
{
	struct gale_scenario_run *run = data;
	assert(runnable_count > 0);
	if (runnable_count > 1 && gale_entropy_chance(&run->entropy, (struct gale_ratio){1, 4}))
		return (uint32_t)gale_entropy_range(&run->entropy, 0, runnable_count - 1);
	return 0;
}

/* The backend's driver: the sim, epoll, or the fault driver over epoll. */
static int world_backend_init(struct scenario_world *world)
{
	struct gale_scenario_run *run = &world->run;
	struct gale_scenario_state *state = &world->state;
	if (state->backend == GALE_BACKEND_SIM) {
		struct gale_sim_options sim_options = world_sim_options(world);
		int rc = gale_sim_init(&run->sim, &sim_options);
		if (rc < 0)
			return rc;
		state->inner = &run->sim.base;
		state->fd_base = GALE_SIM_FD_BASE;
		return 0;
	}
	int rc = gale_driver_epoll_init(&state->kernel);
	if (rc < 0)
		return rc;
	state->kernel_ready = true;
	state->inner = &state->kernel.base;
	if (state->backend == GALE_BACKEND_FAULT_EPOLL) {
		state->kernel_profile = run->profile;
		if (state->kernel_profile.partition_ns_max > RUN_KERNEL_PARTITION_NS_MAX)
			state->kernel_profile.partition_ns_max = RUN_KERNEL_PARTITION_NS_MAX;
		rc = gale_fault_driver_init(&state->fault, &state->kernel.base,
					    &state->kernel_profile, &run->entropy, &run->trace);
		if (rc < 0)
			return rc;
		state->fault_ready = true;
		state->inner = &state->fault.base;
	}
	return 0;
}

static int world_init(struct scenario_world *world, const struct gale_scenario *scenario,
		      const struct gale_run_options *options, struct gale_run_result *result)
{
	assert(world != NULL && scenario != NULL);
	assert(options != NULL && result != NULL);
	world_init_sources(world, scenario, options, result);
	struct gale_scenario_run *run = &world->run;
	struct gale_scenario_state *state = &world->state;
	int rc = world_backend_init(world);
	if (rc < 0)
		return rc;
	state->time_start_ns = gale_driver_now_ns(state->inner);
	gale__scenario_driver_init(state);
	struct gale_runtime_options runtime_options = gale_runtime_options_default();
	runtime_options.allocator = &run->allocator.base;
	rc = gale_runtime_init(&run->runtime, &state->driver.base, &runtime_options);
	if (rc < 0)
		return rc;
	state->runtime_ready = true;
	gale__scenario_resolver_init(state);
	if (state->backend == GALE_BACKEND_SIM)
		gale_executor_schedule_set(&run->runtime.executor, gale_sim_schedule, &run->sim);
	else
		gale_executor_schedule_set(&run->runtime.executor, world_schedule_real, run);
	gale_reactor_observer_set(&run->runtime.reactor, &state->reactor_observer);
	state->executor_observer = (struct gale_executor_observer){
		.poll_begin = world_poll_begin, .poll_end = world_poll_end, .data = state};
	gale_executor_observer_set(&run->runtime.executor, &state->executor_observer);
	if (scenario->state_size > 0) {
		world->scenario_state = calloc(1, scenario->state_size);
		if (world->scenario_state == NULL)
			return -ENOMEM;
	}
	return 0;
}

/* ---- The loop -------------------------------------------------------------------------------- */

static void run_setup(struct scenario_world *world)
{
	struct gale_scenario_run *run = &world->run;
	struct gale_scenario_state *state = &world->state;
	assert(run->scenario->setup != NULL);
	assert(state->runtime_ready);
	int rc = run->scenario->setup(run, world->scenario_state);
	if (rc < 0)
		gale__scenario_failf(state, GALE_ORACLE_SETUP, "setup of '%s' failed: %d %s (%s)",
				     run->scenario->name, rc, gale_error_name(rc),
				     gale_strerror(rc));
	state->alloc_profile.ratios[GALE_FAULT_ALLOC_FAIL] =
		run->profile.ratios[GALE_FAULT_ALLOC_FAIL];
}

/* true when a limit was passed (and reported). */
static bool run_limits_check(struct gale_scenario_state *state, uint64_t steps_max,
			     int64_t limit_ns, int64_t time_end_ns)
{
	struct gale_scenario_run *run = state->run;
	assert(steps_max > 0);
	struct gale_sim_stats sim = gale_scenario_stats(run);
	uint64_t steps = gale_executor_stats_get(&run->runtime.executor).polls_count +
			 sim.ops_count;
	char what[160];
	if (steps > steps_max) {
		(void)snprintf(what, sizeof(what),
			       "%llu steps (task polls + driver ops) passed steps_max %llu",
			       (unsigned long long)steps, (unsigned long long)steps_max);
	} else if (sim.time_ns > time_end_ns) {
		(void)snprintf(what, sizeof(what),
			       "%s time %lld ns passed the limit (%lld ns after the start)",
			       state->backend == GALE_BACKEND_SIM ? "virtual" : "wall",
			       (long long)sim.time_ns, (long long)limit_ns);
	} else {
		return false;
	}
	gale__scenario_oracle_limit(state, what);
	return true;
}

/* Task polls and wakes so far: what moves when anything at all happens. */
static uint64_t run_activity(struct gale_scenario_state *state)
{
	struct gale_executor_stats stats = gale_executor_stats_get(&state->run->runtime.executor);
	return stats.polls_count + stats.wakes_count;
}

/*
 * A real kernel never says "nothing can happen": the runner calls it a stall when the
 * runtime stayed idle (no task polled or woken) with no timer armed for the idle limit.
 * Returns true when that limit was reached. *idle_since_ns is when idleness began (-1: not
 * idle). A turn that woke a task is never idle, however long the process was descheduled.
 */
static bool run_idle_check(struct gale_scenario_state *state, uint64_t activity_before,
			   int64_t *idle_since_ns)
{
	struct gale_runtime *runtime = &state->run->runtime;
	int64_t limit_ns = state->options->idle_limit_ns > 0 ? state->options->idle_limit_ns
							      : RUN_IDLE_LIMIT_NS_DEFAULT;
	if (run_activity(state) != activity_before || gale_runtime_timers_count(runtime) > 0) {
		*idle_since_ns = -1;
		return false;
	}
	int64_t now_ns = gale_driver_now_ns(state->inner);
	if (*idle_since_ns < 0)
		*idle_since_ns = now_ns;
	return now_ns - *idle_since_ns >= limit_ns;
}

static void run_loop(struct scenario_world *world)
{
	struct gale_scenario_run *run = &world->run;
	struct gale_scenario_state *state = &world->state;
	const struct gale_run_options *options = state->options;
	bool real = gale__scenario_is_real(state);
	uint64_t steps_max = options->steps_max != 0 ? options->steps_max : RUN_STEPS_MAX_DEFAULT;
	int64_t limit_ns = options->time_limit_ns > 0 ? options->time_limit_ns
			   : real			 ? RUN_TIME_LIMIT_REAL_NS_DEFAULT
							 : RUN_TIME_LIMIT_NS_DEFAULT;
	int64_t start_ns = gale_scenario_stats(run).time_ns;
	int64_t end_ns = start_ns > INT64_MAX - limit_ns ? INT64_MAX : start_ns + limit_ns;
	int64_t idle_since_ns = -1;
	while (!state->failed && gale_executor_live_count(&run->runtime.executor) > 0) {
		uint64_t activity_before = real ? run_activity(state) : 0;
		int rc = gale_runtime_turn(&run->runtime, real ? RUN_IDLE_SLICE_NS : -1);
		gale__scenario_oracle_streams(state);
		tasks_join_finished(state, false);
		if (state->failed)
			break;
		if (rc == 0 && real && run_idle_check(state, activity_before, &idle_since_ns))
			rc = GALE_E_STALL;
		if (rc == GALE_E_STALL) {
			gale__scenario_oracle_stall(state);
			break;
		}
		if (rc < 0) {
			gale__scenario_failf(state, GALE_ORACLE_STALL,
					     "the runtime stopped: its wait failed with %d %s", rc,
					     gale_error_name(rc));
			break;
		}
		if (run_limits_check(state, steps_max, limit_ns, end_ns))
			break;
	}
}

/* ---- The end of a run ------------------------------------------------------------------------ */

/* The oracles after the loop, in order, and the scenario's own hooks. */
static void run_finish(struct scenario_world *world)
{
	struct gale_scenario_run *run = &world->run;
	struct gale_scenario_state *state = &world->state;
	const struct gale_scenario *scenario = run->scenario;
	assert(state->runtime_ready);
	gale__scenario_oracle_streams(state);
	/* After a failure tasks may be left: cancelled first, so nothing polls them again. */
	(void)gale_executor_abort_all(&run->runtime.executor);
	tasks_join_finished(state, true);
	if (!state->failed && scenario->check != NULL) {
		int rc = scenario->check(run, world->scenario_state);
		if (rc < 0)
			gale__scenario_failf(state, GALE_ORACLE_CHECK,
					     "check of '%s' returned %d %s (%s)", scenario->name,
					     rc, gale_error_name(rc), gale_strerror(rc));
	}
	if (scenario->teardown != NULL)
		scenario->teardown(run, world->scenario_state);
	gale__scenario_oracle_leaks(state);
	/* The world as the scenario left it, before the runner closes what leaked. */
	run->priv_result->sim = gale_scenario_stats(run);
}

/* Releases the runtime whatever the scenario left, then reports leaked allocations. */
static void world_runtime_release(struct scenario_world *world)
{
	struct gale_scenario_run *run = &world->run;
	struct gale_scenario_state *state = &world->state;
	if (state->runtime_ready) {
		run->priv_result->polls_count =
			gale_executor_stats_get(&run->runtime.executor).polls_count;
		(void)gale_executor_abort_all(&run->runtime.executor);
		(void)gale_runtime_timers_cancel_all(&run->runtime);
		gale__scenario_driver_force_close(state);
		gale_reactor_observer_set(&run->runtime.reactor, NULL);
		gale__scenario_resolver_deinit(state);
		int rc = gale_runtime_deinit(&run->runtime);
		assert(rc == 0);
		(void)rc;
		state->runtime_ready = false;
	}
	struct gale_sim_alloc_stats stats = gale_sim_allocator_stats_get(&run->allocator);
	if (stats.live_count > 0)
		gale__scenario_failf(state, GALE_ORACLE_LEAK,
				     "leak at the end: %llu allocation%s (%llu bytes) through "
				     "run->allocator never freed",
				     (unsigned long long)stats.live_count,
				     stats.live_count == 1 ? "" : "s",
				     (unsigned long long)stats.live_bytes);
}

static void world_release(struct scenario_world *world, struct gale_trace *trace_out)
{
	struct gale_scenario_run *run = &world->run;
	struct gale_scenario_state *state = &world->state;
	struct gale_run_result *result = run->priv_result;
	world_runtime_release(world);
	gale__scenario_duplexes_deinit(state);
	gale__scenario_driver_deinit(state);
	arena_free_all(&state->arena);
	gale__scenario_streams_deinit(state);
	gale__scenario_addr_deinit(&state->addrs);
	result->trace_hash = gale_trace_hash(&run->trace);
	result->trace_count = gale_trace_count(&run->trace);
	result->profile = run->profile;
	result->backend = state->backend;
	if (run->sim.base.ops != NULL && gale_sim_deinit(&run->sim) != 0)
		gale_driver_deinit(&run->sim.base);
	if (state->fault_ready)
		gale_fault_driver_deinit(&state->fault);
	if (state->kernel_ready)
		gale_driver_epoll_deinit(&state->kernel);
	if (trace_out != NULL)
		*trace_out = run->trace;
	else
		gale_trace_deinit(&run->trace);
	free(state->tasks);
	free(state->slot_map);
	free(world->scenario_state);
}

int gale_scenario_run(const struct gale_scenario *scenario, const struct gale_run_options *options,
		      struct gale_trace *trace_out, struct gale_run_result *result_out)
{
	assert(scenario != NULL && scenario->setup != NULL);
	assert(result_out != NULL);
	static const struct gale_run_options options_default = {0};
	*result_out = (struct gale_run_result){.oracle = GALE_ORACLE_NONE};
	if (trace_out != NULL)
		*trace_out = (struct gale_trace){0};
	if (options == NULL)
		options = &options_default;
	if ((unsigned)options->backend >= GALE_BACKEND_COUNT) {
		(void)snprintf(result_out->message, sizeof(result_out->message),
			       "the run of '%s' could not start: backend %d is no backend",
			       scenario->name, (int)options->backend);
		return -EINVAL;
	}
	struct scenario_world *world = calloc(1, sizeof(*world));
	if (world == NULL)
		return -ENOMEM;
	int rc = world_init(world, scenario, options, result_out);
	if (rc < 0) {
		world_release(world, NULL);
		free(world);
		*result_out = (struct gale_run_result){.oracle = GALE_ORACLE_NONE};
		(void)snprintf(result_out->message, sizeof(result_out->message),
			       "the run of '%s' could not start: %d %s", scenario->name, rc,
			       gale_error_name(rc));
		return rc;
	}
	run_setup(world);
	if (!world->state.failed)
		run_loop(world);
	run_finish(world);
	world_release(world, trace_out);
	bool failed = world->state.failed;
	free(world);
	return failed ? 1 : 0;
}

/* ---- The determinism self-check -------------------------------------------------------------- */

/* Formats record index of trace, or "(no record)" past its end. */
static void determinism_record_text(const struct gale_trace *trace, size_t index, char *buf,
				    size_t len)
{
	assert(trace != NULL && buf != NULL);
	assert(len > 0);
	if (index < gale_trace_kept_count(trace))
		(void)gale_trace_record_format(&gale_trace_records(trace)[index], buf, len);
	else
		(void)snprintf(buf, len, "(no record: the trace ends)");
}

static int determinism_compare(const struct gale_trace *a, const struct gale_run_result *ra,
			       const struct gale_trace *b, const struct gale_run_result *rb,
			       char *message, size_t len)
{
	assert(a != NULL && b != NULL);
	assert(ra != NULL && rb != NULL);
	size_t index = gale_trace_first_divergence(a, b);
	if (index != SIZE_MAX) {
		char first[160];
		char second[160];
		determinism_record_text(a, index, first, sizeof(first));
		determinism_record_text(b, index, second, sizeof(second));
		(void)snprintf(message, len, "nondeterministic: the runs diverge at record %zu: "
			       "first run '%s', second run '%s'", index, first, second);
		return 1;
	}
	if (ra->trace_hash != rb->trace_hash || ra->trace_count != rb->trace_count) {
		(void)snprintf(message, len, "nondeterministic: trace hashes differ (%016llx, "
			       "%016llx) after %zu identical kept records: keep more records",
			       (unsigned long long)ra->trace_hash,
			       (unsigned long long)rb->trace_hash, gale_trace_kept_count(a));
		return 1;
	}
	if (ra->oracle != rb->oracle || strcmp(ra->message, rb->message) != 0) {
		(void)snprintf(message, len, "nondeterministic outcome over identical traces: "
			       "'%s: %s' then '%s: %s'", gale_oracle_name(ra->oracle), ra->message,
			       gale_oracle_name(rb->oracle), rb->message);
		return 1;
	}
	(void)snprintf(message, len, "deterministic: %llu records, hash %016llx, outcome %s",
		       (unsigned long long)ra->trace_count, (unsigned long long)ra->trace_hash,
		       gale_oracle_name(ra->oracle));
	return 0;
}

int gale_scenario_check_determinism(const struct gale_scenario *scenario,
				    const struct gale_run_options *options, char *message,
				    size_t len)
{
	assert(scenario != NULL);
	assert(message != NULL || len == 0);
	struct gale_run_options twice = options != NULL ? *options : (struct gale_run_options){0};
	if (twice.trace_records_max == 0)
		twice.trace_records_max = DETERMINISM_RECORDS_DEFAULT;
	struct gale_run_result *results = calloc(2, sizeof(*results));
	if (results == NULL)
		return -ENOMEM;
	struct gale_trace traces[2];
	int rc = gale_scenario_run(scenario, &twice, &traces[0], &results[0]);
	int last = 0; /* The run that returned rc. */
	if (rc >= 0) {
		last = 1;
		rc = gale_scenario_run(scenario, &twice, &traces[1], &results[1]);
		if (rc >= 0)
			rc = determinism_compare(&traces[0], &results[0], &traces[1], &results[1],
						 message, len);
		gale_trace_deinit(&traces[1]);
	}
	if (rc < 0 && len > 0)
		(void)snprintf(message, len, "%s", results[last].message);
	gale_trace_deinit(&traces[0]);
	free(results);
	return rc;
}
