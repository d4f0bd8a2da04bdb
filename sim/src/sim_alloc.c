/* SPDX-License-Identifier: MIT */
/*
 * The simulated allocator (sim/): counts allocations for the leak oracle and fails chosen
 * ones, by the profile's ALLOC_FAIL ratio or at exactly the Nth call.
 */
#include <assert.h>
#include <stdbool.h>

#include <gale/sim_alloc.h>

/* Decides whether this call (already counted) fails, and records the failure. */
static bool sim_alloc_should_fail(struct gale_sim_allocator *allocator, size_t size)
{
	uint64_t call_number = allocator->priv_stats.calls_count;
	assert(call_number > 0);
	bool fail = call_number == allocator->priv_fail_at;
	if (!fail && allocator->priv_profile != NULL)
		fail = gale_fault_roll(allocator->priv_profile, allocator->priv_entropy, NULL,
				       GALE_FAULT_ALLOC_FAIL) &&
		       gale_fault_filter_admit(allocator->priv_filter);
	if (!fail)
		return false;
	allocator->priv_stats.failed_count++;
	if (allocator->priv_trace != NULL) {
		struct gale_trace_record record = {
			.kind = GALE_TRACE_FAULT,
			.op = GALE_FAULT_ALLOC_FAIL,
			.fd = -1,
			.a = size,
			.result = (int64_t)call_number,
		};
		gale_trace_append(allocator->priv_trace, record);
	}
	return true;
}

static void *sim_alloc_alloc(void *data, size_t size)
{
	struct gale_sim_allocator *allocator = data;
	assert(allocator != NULL && allocator->priv_inner != NULL);
	assert(size > 0);
	struct gale_sim_alloc_stats *stats = &allocator->priv_stats;
	stats->calls_count++;
	if (sim_alloc_should_fail(allocator, size))
		return NULL;
	void *ptr = allocator->priv_inner->alloc(allocator->priv_inner->data, size);
	if (ptr == NULL)
		return NULL;
	stats->alloc_count++;
	stats->live_count++;
	stats->live_bytes += size;
	if (stats->live_bytes > stats->live_bytes_peak)
		stats->live_bytes_peak = stats->live_bytes;
	return ptr;
}

static void sim_alloc_free(void *data, void *ptr, size_t size)
{
	struct gale_sim_allocator *allocator = data;
	assert(allocator != NULL && ptr != NULL);
	struct gale_sim_alloc_stats *stats = &allocator->priv_stats;
	/* A free without a matching allocation (or with another size) is a caller bug. */
	assert(stats->live_count > 0);
	assert(stats->live_bytes >= size);
	stats->free_count++;
	stats->live_count--;
	stats->live_bytes -= size;
	allocator->priv_inner->free(allocator->priv_inner->data, ptr, size);
}

void gale_sim_allocator_init(struct gale_sim_allocator *allocator,
			     const struct gale_allocator *inner,
			     const struct gale_fault_profile *profile, struct gale_entropy *entropy,
			     struct gale_trace *trace)
{
	assert(allocator != NULL);
	assert(profile == NULL || entropy != NULL);
	*allocator = (struct gale_sim_allocator){0};
	allocator->base.alloc = sim_alloc_alloc;
	allocator->base.free = sim_alloc_free;
	allocator->base.data = allocator;
	allocator->priv_inner = inner != NULL ? inner : gale_allocator_default();
	allocator->priv_profile = profile;
	allocator->priv_entropy = entropy;
	allocator->priv_trace = trace;
}

void gale_sim_allocator_filter_set(struct gale_sim_allocator *allocator,
				   struct gale_fault_filter *filter)
{
	assert(allocator != NULL);
	allocator->priv_filter = filter;
}

void gale_sim_allocator_fail_at_set(struct gale_sim_allocator *allocator, uint64_t call_number)
{
	assert(allocator != NULL);
	assert(allocator->base.data == allocator);
	allocator->priv_fail_at = call_number;
}

struct gale_sim_alloc_stats gale_sim_allocator_stats_get(const struct gale_sim_allocator *allocator)
{
	assert(allocator != NULL);
	assert(allocator->base.data == allocator);
	return allocator->priv_stats;
}

uint64_t gale_sim_allocator_live_count(const struct gale_sim_allocator *allocator)
{
	assert(allocator != NULL);
	assert(allocator->base.data == allocator);
	return allocator->priv_stats.live_count;
}
