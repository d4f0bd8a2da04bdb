/* SPDX-License-Identifier: MIT */
/*
 * No native driver: built where gale has no real driver for the platform yet, so portable
 * code still links and learns at run time (-ENOTSUP) rather than failing to build.
 */
#include <assert.h>
#include <errno.h> /* E* constants only. */

#include <gale/driver_native.h>

int gale_driver_native_init(struct gale_driver_native *driver)
{
	assert(driver != NULL);
	driver->base.ops = NULL; /* gale_driver_deinit() on it is then a no-op. */
	return -ENOTSUP;
}
