# SPDX-License-Identifier: MIT
# The `gale` command's built-in scenario catalog (sim/cli/) under the scenario runner: every
# scenario passes seed sweeps under "default" and "harsh", and replays bit for bit.
# Included from tests/CMakeLists.txt; gale_catalog exists only where the CLI is built.
if(TARGET gale_catalog)
  gale_add_cmocka_test(test_sim_catalog LABEL sim SOURCES sim/test_sim_catalog.c
                       LIBS gale_catalog)
endif()
if(TARGET gale_cli_core)
  # `gale run --fault-coverage`: the table and the gate that fails on a never-injected kind.
  gale_add_cmocka_test(test_sim_cli_fault_coverage LABEL sim
                       SOURCES sim/test_sim_cli_fault_coverage.c LIBS gale_cli_core)
endif()
