/* SPDX-License-Identifier: MIT */
/*
 * The built-in scenario catalog that `gale run` and the fuzz targets exercise. Each
 * scenario lives in scenarios/scn_<name>.c and is listed once in catalog.c.
 */
#ifndef GALE_SIM_CLI_CATALOG_H
#define GALE_SIM_CLI_CATALOG_H

#include <stddef.h>

#include <gale/scenario.h>

/* The catalog, in a fixed order (the order of `gale list` and of campaign units). */
const struct gale_scenario *const *gale_catalog_scenarios(size_t *count_out);

/* The scenario named name, or NULL. */
const struct gale_scenario *gale_catalog_find(const char *name);

#endif /* GALE_SIM_CLI_CATALOG_H */
