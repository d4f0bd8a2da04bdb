/* SPDX-License-Identifier: MIT */
/* Private declarations shared by io/ sources only (gale__ symbols). Never installed. */
#ifndef GALE_IO_SRC_IO_INTERNAL_H
#define GALE_IO_SRC_IO_INTERNAL_H

#include <assert.h>
#include <stddef.h>
#include <string.h>

#include <gale/alloc.h>

/* Allocation through a gale_allocator; NULL allocator means the default. */
static inline const struct gale_allocator *gale__allocator_or_default(
	const struct gale_allocator *allocator)
{
	return allocator != NULL ? allocator : gale_allocator_default();
}

static inline void *gale__alloc(const struct gale_allocator *allocator, size_t size)
{
	assert(allocator != NULL);
	assert(size > 0);
	return allocator->alloc(allocator->data, size);
}

static inline void gale__free(const struct gale_allocator *allocator, void *ptr, size_t size)
{
	assert(allocator != NULL);
	if (ptr != NULL)
		allocator->free(allocator->data, ptr, size);
}

/* Debug builds poison deinit'd objects so use-after-deinit fails loudly (libuv). */
#ifndef NDEBUG
#define GALE__POISON(object) memset((object), 0xA5, sizeof(*(object)))
#else
#define GALE__POISON(object) ((void)0)
#endif /* NDEBUG */

#endif /* GALE_IO_SRC_IO_INTERNAL_H */
