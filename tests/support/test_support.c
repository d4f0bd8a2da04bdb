/* SPDX-License-Identifier: MIT */
/* Shared test helpers: seed selection, counting allocator, recording waker. */
#include <stdlib.h>

#include "test_support.h"

struct gale_test_seeds gale_test_seeds_get(uint64_t count_default)
{
	struct gale_test_seeds seeds = {0, count_default};
	const char *pinned = getenv("GALE_TEST_SEED");
	const char *count = getenv("GALE_TEST_SEEDS");
	if (pinned != NULL && pinned[0] != '\0') {
		seeds.first = strtoull(pinned, NULL, 0);
		seeds.count = 1;
	} else if (count != NULL && count[0] != '\0') {
		seeds.count = strtoull(count, NULL, 0);
	}
	return seeds;
}

static void *test_allocator_alloc(void *data, size_t size)
{
	struct gale_test_allocator *allocator = data;
	allocator->calls_count++;
	if (allocator->fail_at != 0 && allocator->calls_count == allocator->fail_at)
		return NULL;
	void *ptr = malloc(size);
	if (ptr == NULL)
		return NULL;
	allocator->alloc_count++;
	allocator->live_count++;
	allocator->live_bytes += size;
	return ptr;
}

static void test_allocator_free(void *data, void *ptr, size_t size)
{
	struct gale_test_allocator *allocator = data;
	assert_non_null(ptr);
	assert_true(allocator->live_count > 0);
	assert_true(allocator->live_bytes >= size);
	allocator->live_count--;
	allocator->live_bytes -= size;
	free(ptr);
}

void gale_test_allocator_init(struct gale_test_allocator *allocator)
{
	*allocator = (struct gale_test_allocator){0};
	allocator->base.alloc = test_allocator_alloc;
	allocator->base.free = test_allocator_free;
	allocator->base.data = allocator;
}

static void test_wake_log_cb(void *data, uint64_t id)
{
	struct gale_test_wake_log *log = data;
	log->wake_counts[id % 16]++;
	log->wakes_total++;
}

struct gale_waker gale_test_waker(struct gale_test_wake_log *log, uint64_t id)
{
	struct gale_waker waker = {test_wake_log_cb, log, id};
	return waker;
}
