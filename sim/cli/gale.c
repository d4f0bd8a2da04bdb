/* SPDX-License-Identifier: MIT */
/*
 * The `gale` command: gale_main() (<gale/gale_main.h>) over the built-in scenario catalog,
 * exactly what a user's own test program is over theirs.
 */
#include <gale/gale_main.h>

#include "catalog.h"

int main(int argc, char **argv)
{
	size_t count = 0;
	const struct gale_scenario *const *scenarios = gale_catalog_scenarios(&count);
	return gale_main(argc, argv, scenarios, count);
}
