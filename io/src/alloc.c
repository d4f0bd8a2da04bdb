/* SPDX-License-Identifier: MIT */
/* The default allocator: malloc/free behind struct gale_allocator. */
#include <stdlib.h>

#include <gale/alloc.h>

static void *allocator_default_alloc(void *data, size_t size)
{
	(void)data;
	return malloc(size);
}

static void allocator_default_free(void *data, void *ptr, size_t size)
{
	(void)data;
	(void)size;
	free(ptr);
}

static const struct gale_allocator allocator_default = {
	.alloc = allocator_default_alloc,
	.free = allocator_default_free,
	.data = NULL,
};

const struct gale_allocator *gale_allocator_default(void)
{
	return &allocator_default;
}
