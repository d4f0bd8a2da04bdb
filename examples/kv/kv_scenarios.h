/* SPDX-License-Identifier: MIT */
/* The kv service's scenarios (kv_scenarios.c), shared by kv_tests.c and kv_fuzz.c. */
#ifndef KV_SCENARIOS_H
#define KV_SCENARIOS_H

#include <gale/scenario.h>

/* 1..4 clients each PUT their own keys, GET them back, DEL some and GET those again. */
extern const struct gale_scenario kv_put_get;
/* 2..4 clients PUT and GET the same few keys at once; reads and the final store are
 * checked against the order the requests were made in. */
extern const struct gale_scenario kv_concurrent;

#endif /* KV_SCENARIOS_H */
