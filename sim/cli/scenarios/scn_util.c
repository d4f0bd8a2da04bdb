/* SPDX-License-Identifier: MIT */
/* Helpers shared by the built-in scenarios (see scenarios.h). */
#include <assert.h>

#include "scenarios.h"

/* Enough tries that ALLOC_FAIL at any legal ratio below 1/2 never exhausts them. */
#define SCN_SPAWN_TRIES_MAX 64

int scn_spawn(struct gale_scenario_run *run, const char *name, gale_poll_fn *poll, void *data,
	      bool expect_error, struct gale_task_handle *handle_out)
{
	assert(run != NULL && name != NULL);
	assert(poll != NULL);
	int rc = -ENOMEM;
	for (int attempt = 0; attempt < SCN_SPAWN_TRIES_MAX && rc == -ENOMEM; attempt++)
		rc = gale_scenario_spawn(run, name, poll, data, expect_error, handle_out);
	return rc;
}
