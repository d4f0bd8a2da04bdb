/* SPDX-License-Identifier: MIT */
/* The catalog: every built-in scenario, listed once, in a fixed order. */
#include <string.h>

#include "catalog.h"
#include "scenarios/scenarios.h"

static const struct gale_scenario *const catalog[] = {
	&scn_tcp_echo,
	&scn_duplex_pump,
	&scn_async_fd_pair,
	&scn_connect_storm,
	&scn_proxy,
	&scn_rpc,
	&scn_tcp_split,
};

const struct gale_scenario *const *gale_catalog_scenarios(size_t *count_out)
{
	*count_out = sizeof(catalog) / sizeof(catalog[0]);
	return catalog;
}

const struct gale_scenario *gale_catalog_find(const char *name)
{
	for (size_t i = 0; i < sizeof(catalog) / sizeof(catalog[0]); i++) {
		if (strcmp(catalog[i]->name, name) == 0)
			return catalog[i];
	}
	return NULL;
}
