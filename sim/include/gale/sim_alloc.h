/* SPDX-License-Identifier: MIT */
/*
 * A counting, failing allocator for simulated runs: it wraps another allocator, counts
 * every allocation and free (the leak oracle checks live_count == 0 at the end of a run),
 * and makes allocations fail either by ratio (the profile's ALLOC_FAIL knob, drawn from
 * the run's entropy, so a seed replays the same failures) or at exactly the Nth call.
 * Every gale allocation site must handle NULL; this is how that is tested.
 *
 * Thread affinity: one owner; the counters are plain fields, not atomics.
 */
#ifndef GALE_SIM_SIM_ALLOC_H
#define GALE_SIM_SIM_ALLOC_H

#include <stddef.h>
#include <stdint.h>

#include <gale/alloc.h>
#include <gale/common.h>
#include <gale/entropy.h>
#include <gale/sim_profile.h>
#include <gale/sim_trace.h>

GALE_BEGIN_DECLS

struct gale_sim_alloc_stats {
	uint64_t calls_count;     /* alloc calls, failed ones included. */
	uint64_t alloc_count;     /* Successful allocations. */
	uint64_t free_count;      /* Frees. */
	uint64_t failed_count;    /* Allocations made to fail (ratio or fail_at). */
	uint64_t live_count;      /* Allocated and not yet freed. */
	uint64_t live_bytes;      /* Bytes allocated and not yet freed. */
	uint64_t live_bytes_peak; /* The largest live_bytes seen. */
};

struct gale_sim_allocator {
	struct gale_allocator base; /* Hand &base to gale. base.data is this object: no moving. */
	/* Private: do not touch. */
	const struct gale_allocator *priv_inner;     /* Real allocations. Borrowed. */
	const struct gale_fault_profile *priv_profile; /* ALLOC_FAIL ratio, or NULL. Borrowed. */
	struct gale_entropy *priv_entropy;           /* Dice for the ratio. Borrowed. */
	struct gale_trace *priv_trace;               /* Records injected failures, or NULL. */
	uint64_t priv_fail_at;                       /* Call number to fail (1-based); 0: none. */
	struct gale_fault_filter *priv_filter;       /* Withholds chosen failures, or NULL. */
	struct gale_sim_alloc_stats priv_stats;      /* Counters. */
};

/**
 * Initialises a simulated allocator. Nothing is allocated here.
 *
 * @param allocator  caller-allocated; filled in place.
 * @param inner      where real memory comes from; NULL means gale_allocator_default().
 *                   Borrowed until the allocator is no longer used.
 * @param profile    its ALLOC_FAIL ratio fails allocations at random; NULL: never by ratio.
 *                   Borrowed.
 * @param entropy    the run's entropy, drawn once per allocation (only when profile is not
 *                   NULL and its ALLOC_FAIL ratio is not zero). Borrowed; may be NULL when
 *                   profile is NULL.
 * @param trace      when not NULL, each injected failure appends a GALE_TRACE_FAULT record
 *                   (op GALE_FAULT_ALLOC_FAIL, fd -1, a = size, result = call number,
 *                   time_ns 0: an allocator has no clock). Borrowed.
 */
GALE_EXTERN void gale_sim_allocator_init(struct gale_sim_allocator *allocator,
					 const struct gale_allocator *inner,
					 const struct gale_fault_profile *profile,
					 struct gale_entropy *entropy, struct gale_trace *trace);

/**
 * Puts the ratio's failures through filter (sim_profile.h; borrowed while the allocator is
 * used, NULL: none): a failure it withholds is an allocation that succeeds.
 */
GALE_EXTERN void gale_sim_allocator_filter_set(struct gale_sim_allocator *allocator,
					       struct gale_fault_filter *filter);

/**
 * Makes exactly the call with this number fail (1 = the first alloc call since init,
 * counted in calls_count, failed calls included), once; 0 cancels. Replaces an earlier
 * setting. Used to walk every allocation site: fail call 1, then 2, ... until a run
 * completes without reaching fail_at.
 */
GALE_EXTERN void gale_sim_allocator_fail_at_set(struct gale_sim_allocator *allocator,
						uint64_t call_number);

/** The counters since init. */
GALE_EXTERN struct gale_sim_alloc_stats gale_sim_allocator_stats_get(
	const struct gale_sim_allocator *allocator);

/** Allocations not yet freed: the leak oracle expects 0 at the end of a run. */
GALE_EXTERN uint64_t gale_sim_allocator_live_count(const struct gale_sim_allocator *allocator);

GALE_END_DECLS

#endif /* GALE_SIM_SIM_ALLOC_H */
