/* SPDX-License-Identifier: MIT */
/* Placeholder being written. */
#include "test_support.h"

void gale_script_driver_init(struct gale_script_driver *driver)
{
	*driver = (struct gale_script_driver){0};
}
