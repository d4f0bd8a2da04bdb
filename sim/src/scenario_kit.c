/* SPDX-License-Identifier: MIT */
/* The scenario kit (<gale/scenario_kit.h>): draws, spawns, signals, barriers, the fault rule. */
#include <assert.h>
#include <errno.h>

#include <gale/error.h>
#include <gale/scenario_kit.h>
#include <gale/sim.h>
#include <gale/sim_alloc.h>

#include "scenario_internal.h"

/* Enough tries that ALLOC_FAIL at any legal ratio below 1/2 never exhausts them. */
#define SPAWN_TRIES_MAX 64

#define KIND(k) (UINT32_C(1) << (k))

uint64_t gale_scenario_draw(struct gale_scenario_run *run, uint64_t min, uint64_t max)
{
	assert(run != NULL && min <= max);
	if (run->priv_state != NULL && run->priv_state->options->draws_min)
		return min; /* Shrinking: the smallest world the scenario allows. */
	return gale_entropy_size(&run->entropy, min, max);
}

uint64_t gale_scenario_faults(const struct gale_scenario_run *run, enum gale_fault_kind kind)
{
	assert(run != NULL);
	if ((unsigned)kind >= GALE_FAULT_COUNT)
		return 0;
	return gale_scenario_stats(run).faults.injected[kind];
}

int gale_scenario_spawn_retry(struct gale_scenario_run *run, const char *name,
			      gale_poll_fn *poll, void *data, bool expect_error,
			      struct gale_task_handle *handle_out)
{
	int rc = -ENOMEM;
	for (int attempt = 0; attempt < SPAWN_TRIES_MAX && rc == -ENOMEM; attempt++)
		rc = gale_scenario_spawn(run, name, poll, data, expect_error, handle_out);
	return rc;
}

bool gale_scenario_error_is_broken(int rc)
{
	return rc == -ECONNRESET || rc == -EPIPE || rc == -ENOTCONN || rc == GALE_E_UNEXPECTED_EOF;
}

/* What each kind can cause, GALE_FAULT_MAP's last two columns. */
static const struct fault_causes {
	int error;        /* The code the failing call returns, negated (> 0), or 0. */
	uint32_t effects; /* GALE_FAULT_EFFECT_* bits. */
} fault_causes[GALE_FAULT_COUNT] = {
#define FAULT_CAUSES(name, field, description, one_in_default, one_in_harsh, error, effects) \
	[GALE_FAULT_##name] = {error, effects},
	GALE_FAULT_MAP(FAULT_CAUSES)
#undef FAULT_CAUSES
};

_Static_assert(GALE_FAULT_COUNT <= 32, "gale_scenario_fault_causes: one bit per fault kind");

/* The effect an error code is (at most one), as enum gale_fault_effect's bits list them. */
static uint32_t error_effect(int rc)
{
	if (gale_scenario_error_is_broken(rc))
		return GALE_FAULT_EFFECT_BROKEN;
	switch (rc) {
	case -ECONNREFUSED:
		return GALE_FAULT_EFFECT_REFUSED;
	case GALE_E_TIMED_OUT:
	case -ETIMEDOUT:
		return GALE_FAULT_EFFECT_TIMEOUT;
	default:
		return 0;
	}
}

uint32_t gale_scenario_fault_causes(int rc)
{
	int code = rc == -ENFILE ? -EMFILE : rc; /* The system's file table full: as EMFILE. */
	uint32_t effect = error_effect(rc);
	uint32_t causes = 0;
	for (int kind = 0; kind < GALE_FAULT_COUNT; kind++) {
		const struct fault_causes *can = &fault_causes[kind];
		if ((can->error != 0 && code == -can->error) || (can->effects & effect) != 0)
			causes |= KIND(kind);
	}
	return causes;
}

bool gale_scenario_error_explained(const struct gale_scenario_run *run, int rc)
{
	uint32_t causes = rc < 0 ? gale_scenario_fault_causes(rc) : 0;
	for (int kind = 0; kind < GALE_FAULT_COUNT; kind++)
		if ((causes & KIND(kind)) &&
		    gale_scenario_faults(run, (enum gale_fault_kind)kind) > 0)
			return true;
	return false;
}

int gale_scenario_survive(struct gale_scenario_run *run, int rc, const char *what)
{
	if (rc >= 0 || rc == GALE_PENDING)
		return rc;
	if (gale_scenario_error_explained(run, rc))
		return 0;
	gale_scenario_fail(run, GALE_ORACLE_CHECK, "%s: %s (%s), and no injected fault explains it",
			   what != NULL ? what : "a task", gale_error_name(rc), gale_strerror(rc));
	return rc;
}

void gale_scenario_signal_wait(struct gale_scenario_signal *signal, const struct gale_cx *cx)
{
	signal->waker = cx->waker;
}

void gale_scenario_signal_wake(struct gale_scenario_signal *signal)
{
	struct gale_waker waker = signal->waker;
	signal->waker = (struct gale_waker){0}; /* Consumed: the waiter stores it again. */
	gale_waker_wake(&waker);
}

int gale_scenario_barrier_init(struct gale_scenario_barrier *barrier, uint32_t parties)
{
	if (parties == 0 || parties > GALE_SCENARIO_BARRIER_MAX)
		return -EINVAL;
	*barrier = (struct gale_scenario_barrier){.parties = parties};
	return 0;
}

int gale_scenario_barrier_poll(struct gale_scenario_barrier *barrier, uint32_t *ticket,
			       const struct gale_cx *cx)
{
	if (*ticket == 0) {
		if (barrier->arrived >= barrier->parties)
			return -EINVAL;
		*ticket = ++barrier->arrived; /* 1-based: 0 means "not arrived yet". */
		if (barrier->arrived == barrier->parties) {
			for (uint32_t k = 0; k < barrier->parties; k++) {
				gale_waker_wake(&barrier->wakers[k]);
				barrier->wakers[k] = (struct gale_waker){0};
			}
			return 0;
		}
	}
	if (barrier->arrived == barrier->parties)
		return 0;
	barrier->wakers[*ticket - 1] = cx->waker;
	return GALE_PENDING;
}

GALE_NO_FUZZ_COVERAGE
uint8_t gale_scenario_pattern_byte(uint64_t seed, uint64_t i)
{
	uint64_t x = seed ^ (i * 0x9E3779B97F4A7C15ull);
	x ^= x >> 29;
	x *= 0xBF58476D1CE4E5B9ull;
	return (uint8_t)(x >> 56);
}

GALE_NO_FUZZ_COVERAGE
void gale_scenario_pattern_fill(uint64_t seed, uint64_t offset, uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = gale_scenario_pattern_byte(seed, offset + i);
}

GALE_NO_FUZZ_COVERAGE
size_t gale_scenario_pattern_mismatch(uint64_t seed, uint64_t offset, const uint8_t *buf,
				      size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != gale_scenario_pattern_byte(seed, offset + i))
			return i;
	return len;
}
