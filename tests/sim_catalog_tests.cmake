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
  # The campaign runner and its reports: streaming units, skipped seeds, agreeing verdicts.
  gale_add_cmocka_test(test_sim_cli_campaign LABEL sim
                       SOURCES sim/test_sim_cli_campaign.c LIBS gale_cli_core)
  target_compile_definitions(test_sim_cli_campaign PRIVATE _DEFAULT_SOURCE)
  # --backend: lists, the differential verdict, reports and merge; kernel campaigns on
  # loopback once the runner has them.
  gale_add_cmocka_test(test_sim_cli_backend LABEL sim
                       SOURCES sim/test_sim_cli_backend.c LIBS gale_cli_core)
  target_compile_definitions(test_sim_cli_backend PRIVATE _DEFAULT_SOURCE)
endif()
if(TARGET gale_cli)
  # The command from outside: generated bad argument vectors, write errors, huge counts.
  gale_add_cmocka_test(test_sim_cli_args LABEL sim SOURCES sim/test_sim_cli_args.c
                       LIBS gale_cli_core)
  target_compile_definitions(test_sim_cli_args PRIVATE _DEFAULT_SOURCE
                             GALE_CLI_PATH="$<TARGET_FILE:gale_cli>"
                             GALE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  add_dependencies(test_sim_cli_args gale_cli)
endif()
if(TARGET gale_test)
  # TCP scaffolding for scenarios (scenario_net.h): listen on a host, connect from others.
  gale_add_cmocka_test(test_sim_scenario_net LABEL sim SOURCES sim/test_sim_scenario_net.c
                       LIBS gale_test)
  set_tests_properties(test_sim_scenario_net PROPERTIES LABELS "sim;os") # Every backend.
endif()
