/* SPDX-License-Identifier: MIT */
/*
 * fuzz_tcp_sim: the scenario catalog (sim/cli/catalog.h: TCP echo, proxy, RPC, connect
 * storms, duplex and AsyncFd pumps) on the simulator, every choice drawn from the input.
 *
 * It is exactly what a user's GALE_FUZZ_TARGET is (<gale/gale_fuzz.h>), over the catalog:
 * byte 0 picks the scenario, byte 1 the fault profile (0 none, 1 default, 2 harsh, 3
 * swarm, anything else one byte per fault kind), the rest is the run's entropy (bytes
 * mode): scheduling, latencies, sizes, faults; neutral once it runs out, so runs end.
 * gale_scenario_run checks every oracle (lost wakeup, stall, stream integrity, readiness,
 * read_exact/write_all contracts, leaks, the scenario's own check, task errors, livelock
 * limits); any failure aborts with the oracle's name and message.
 * Replay: `gale replay --input FILE --verbose` (same verdict and trace hash), or
 * `fuzz_tcp_sim FILE` with GALE_FUZZ_TRACE=1 for the trace.
 */
#include <gale/gale_fuzz.h>

#include "catalog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t count = 0;
	const struct gale_scenario *const *scenarios = gale_catalog_scenarios(&count);
	return gale_fuzz_scenarios(data, size, scenarios, count);
}
