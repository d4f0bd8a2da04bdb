/* SPDX-License-Identifier: MIT */
/*
 * The native driver on Linux: epoll. Built where GALE_DRIVER_NATIVE is "epoll"; another
 * platform's native driver is a sibling file, driver_native_<name>.c.
 */
#include <assert.h>
#include <stddef.h>

#include <gale/driver_epoll.h>
#include <gale/driver_native.h>

/* &native->base and &native->priv_epoll.base must be one pointer (driver_native.h). */
static_assert(offsetof(struct gale_driver_native, priv_epoll) == 0,
	      "the epoll driver must start the native driver's storage");

int gale_driver_native_init(struct gale_driver_native *driver)
{
	assert(driver != NULL);
	int rc = gale_driver_epoll_init(&driver->priv_epoll);
	assert(rc == 0 || driver->base.ops == NULL);
	return rc;
}
