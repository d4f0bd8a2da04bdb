/* SPDX-License-Identifier: MIT */
/*
 * Fault profiles (sim/, shared by the sim driver and the fault driver): the named ratio
 * tables, the swarm draw, and the roll that turns one opportunity into a fault or not.
 */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <gale/sim_profile.h>

#define NS_PER_MS INT64_C(1000000)

/*
 * What the swarm draw relies on, per kind of GALE_FAULT_MAP: both named profiles fire it
 * (1 in N, N >= 1, numerator 1: the interpolation is a plain integer range) and "harsh"
 * at least as often as "default". Its error is a negated code (> 0) or 0.
 */
#define RATIOS_CHECK(name, field, description, one_in_default, one_in_harsh, error, effects) \
	_Static_assert(1 <= (one_in_harsh) && (one_in_harsh) <= (one_in_default) &&         \
			       (one_in_default) <= UINT32_MAX,                               \
		       #name ": 1 <= harsh <= default (1 in N)");                            \
	_Static_assert((error) >= 0, #name ": error is a negated code (> 0) or 0");
GALE_FAULT_MAP(RATIOS_CHECK)
#undef RATIOS_CHECK

/* No faults at all: every ratio is 0/0, which never fires and consumes no entropy. */
static const struct gale_fault_profile profile_none = {
	.name = "none",
};

/* Moderate: most faults once per 50 opportunities, the disruptive ones rarer (the ratios
 * are GALE_FAULT_MAP's default column). */
static const struct gale_fault_profile profile_default = {
	.name = "default",
	.ratios = {
#define RATIO_DEFAULT(name, field, description, one_in_default, one_in_harsh, ...) \
	[GALE_FAULT_##name] = {1, one_in_default},
		GALE_FAULT_MAP(RATIO_DEFAULT)
#undef RATIO_DEFAULT
	},
	.ready_delay_ns_max = 2 * NS_PER_MS,
	.latency_jitter_ns_max = 5 * NS_PER_MS,
	.connect_delay_ns_max = 50 * NS_PER_MS,
	.partition_ns_max = 200 * NS_PER_MS,
};

/* Frequent: short I/O and readiness noise on a good share of calls (the harsh column). */
static const struct gale_fault_profile profile_harsh = {
	.name = "harsh",
	.ratios = {
#define RATIO_HARSH(name, field, description, one_in_default, one_in_harsh, ...) \
	[GALE_FAULT_##name] = {1, one_in_harsh},
		GALE_FAULT_MAP(RATIO_HARSH)
#undef RATIO_HARSH
	},
	.ready_delay_ns_max = 10 * NS_PER_MS,
	.latency_jitter_ns_max = 50 * NS_PER_MS,
	.connect_delay_ns_max = 500 * NS_PER_MS,
	.partition_ns_max = 1000 * NS_PER_MS,
};

static const struct gale_fault_profile *const profiles[] = {
	&profile_none,
	&profile_default,
	&profile_harsh,
};

static const char *const profile_names[] = {"none", "default", "harsh", NULL};

static const char *const fault_kind_names[GALE_FAULT_COUNT] = {
#define GALE_FAULT_NAME(name, field, ...) [GALE_FAULT_##name] = #field,
	GALE_FAULT_MAP(GALE_FAULT_NAME)
#undef GALE_FAULT_NAME
};

static const char *const fault_kind_descriptions[GALE_FAULT_COUNT] = {
#define GALE_FAULT_DESCRIPTION(name, field, description, ...) \
	[GALE_FAULT_##name] = description,
	GALE_FAULT_MAP(GALE_FAULT_DESCRIPTION)
#undef GALE_FAULT_DESCRIPTION
};

const struct gale_fault_profile *gale_fault_profile_find(const char *name)
{
	assert(name != NULL);
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++) {
		if (strcmp(profiles[i]->name, name) == 0)
			return profiles[i];
	}
	return NULL;
}

const char *const *gale_fault_profile_names(void)
{
	return profile_names;
}

/* A duration between the default and the harsh maximum, both included. */
static int64_t swarm_duration(struct gale_entropy *entropy, int64_t low_ns, int64_t high_ns)
{
	assert(low_ns >= 0 && low_ns <= high_ns);
	return (int64_t)gale_entropy_range(entropy, (uint64_t)low_ns, (uint64_t)high_ns);
}

/*
 * Swarm testing (Groce et al.): a coin per kind switches it off, otherwise its frequency is
 * drawn between the default (rarest) and the harsh (most frequent) denominators. Every
 * profile ratio has numerator 1, which keeps the interpolation a plain integer range (both
 * come from GALE_FAULT_MAP, and RATIOS_CHECK above holds every kind to it).
 */
void gale_fault_profile_swarm(struct gale_fault_profile *profile_out,
			      struct gale_entropy *entropy)
{
	assert(profile_out != NULL);
	assert(entropy != NULL);
	const struct gale_fault_profile *low = &profile_default;
	const struct gale_fault_profile *high = &profile_harsh;
	*profile_out = (struct gale_fault_profile){.name = "swarm"};
	for (int kind = 0; kind < GALE_FAULT_COUNT; kind++) {
		if (!gale_entropy_chance(entropy, (struct gale_ratio){1, 2}))
			continue;
		uint64_t denominator = gale_entropy_range(entropy, high->ratios[kind].denominator,
							  low->ratios[kind].denominator);
		profile_out->ratios[kind] = (struct gale_ratio){1, (uint32_t)denominator};
	}
	profile_out->ready_delay_ns_max =
		swarm_duration(entropy, low->ready_delay_ns_max, high->ready_delay_ns_max);
	profile_out->latency_jitter_ns_max =
		swarm_duration(entropy, low->latency_jitter_ns_max, high->latency_jitter_ns_max);
	profile_out->connect_delay_ns_max =
		swarm_duration(entropy, low->connect_delay_ns_max, high->connect_delay_ns_max);
	profile_out->partition_ns_max =
		swarm_duration(entropy, low->partition_ns_max, high->partition_ns_max);
}

const char *gale_fault_kind_name(enum gale_fault_kind kind)
{
	if ((int)kind < 0 || kind >= GALE_FAULT_COUNT)
		return "unknown";
	return fault_kind_names[kind];
}

const char *gale_fault_kind_description(enum gale_fault_kind kind)
{
	if ((int)kind < 0 || kind >= GALE_FAULT_COUNT)
		return "unknown fault kind";
	return fault_kind_descriptions[kind];
}

void gale_fault_profile_fuzz_base(struct gale_fault_profile *profile_out, const char *name)
{
	assert(profile_out != NULL);
	*profile_out = *gale_fault_profile_find("none");
	profile_out->name = name;
	profile_out->ready_delay_ns_max = 100000;
	profile_out->latency_jitter_ns_max = 200000;
	profile_out->connect_delay_ns_max = 500000;
	profile_out->partition_ns_max = 2000000;
}

struct gale_ratio gale_fault_ratio_from_byte(uint8_t byte)
{
	return (struct gale_ratio){byte, byte != 0 ? 512 : 0};
}

bool gale_fault_filter_admit(struct gale_fault_filter *filter)
{
	if (filter == NULL)
		return true;
	uint64_t number = filter->priv_next++;
	while (filter->priv_cursor < filter->count && filter->allowed[filter->priv_cursor] < number)
		filter->priv_cursor++;
	return filter->priv_cursor < filter->count &&
	       filter->allowed[filter->priv_cursor] == number;
}

bool gale_fault_roll(const struct gale_fault_profile *profile, struct gale_entropy *entropy,
		     struct gale_fault_stats *stats, enum gale_fault_kind kind)
{
	assert(profile != NULL && entropy != NULL);
	if ((int)kind < 0 || kind >= GALE_FAULT_COUNT)
		return false; /* No such fault: never injected (and no entropy consumed). */
	if (!gale_entropy_chance(entropy, profile->ratios[kind]))
		return false;
	if (stats != NULL)
		stats->injected[kind]++;
	return true;
}
