/* SPDX-License-Identifier: MIT */
/*
 * The built-in scenarios, defined one per file. They use only the public API, the scenario
 * kit (<gale/scenario_kit.h>) included, exactly as a user's scenarios do.
 */
#ifndef GALE_SIM_CLI_SCENARIOS_H
#define GALE_SIM_CLI_SCENARIOS_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gale/error.h>
#include <gale/scenario.h>
#include <gale/scenario_kit.h>
#include <gale/scenario_net.h>
#include <gale/task.h>

extern const struct gale_scenario scn_tcp_echo;
extern const struct gale_scenario scn_duplex_pump;
extern const struct gale_scenario scn_async_fd_pair;
extern const struct gale_scenario scn_connect_storm;
extern const struct gale_scenario scn_proxy;
extern const struct gale_scenario scn_rpc;
extern const struct gale_scenario scn_tcp_split;

#endif /* GALE_SIM_CLI_SCENARIOS_H */
