/* SPDX-License-Identifier: MIT */
/*
 * The allocator every gale object allocates through. A runtime (or a reactor, an executor)
 * holds one; the default wraps malloc/free. The simulator supplies its own to count
 * allocations and to fail chosen ones, so every allocation site must handle NULL.
 */
#ifndef GALE_IO_ALLOC_H
#define GALE_IO_ALLOC_H

#include <stddef.h>

#include <gale/common.h>

GALE_BEGIN_DECLS

struct gale_allocator {
	/* Returns size bytes aligned for any object, or NULL. size is never 0. REQUIRED. */
	void *(*alloc)(void *data, size_t size);
	/* Releases ptr, which came from alloc with this exact size. ptr is never NULL. REQUIRED. */
	void (*free)(void *data, void *ptr, size_t size);
	void *data; /* Passed back to both functions. Borrowed. */
};

/** The malloc/free allocator. Returns a pointer to a static, immutable object. */
GALE_EXTERN const struct gale_allocator *gale_allocator_default(void);

GALE_END_DECLS

#endif /* GALE_IO_ALLOC_H */
