# SPDX-License-Identifier: MIT
# Tests of the scenario runner and its oracles (scenario.h): a correct workload passes every
# oracle over seed sweeps, and each oracle catches a deliberately broken scenario.
# Included from tests/CMakeLists.txt.
gale_add_cmocka_test(test_sim_scenario LABEL sim SOURCES sim/test_sim_scenario.c LIBS gale_sim)
gale_add_cmocka_test(test_sim_oracles LABEL sim SOURCES sim/test_sim_oracles.c LIBS gale_sim)
# It also runs the broken scenarios on the real kernel (loopback): an os test too, so
# `make test-stress` runs it under load.
set_tests_properties(test_sim_oracles PROPERTIES LABELS "sim;os")
if(TARGET gale_cli_core)
  # With the shrinker (sim/cli): every caught failure is also shrunk, and the figures printed.
  target_link_libraries(test_sim_oracles PRIVATE gale_cli_core)
  target_compile_definitions(test_sim_oracles PRIVATE _DEFAULT_SOURCE GALE_TEST_SHRINK=1)
endif()
# The scenario kit (scenario_kit.h): the fault rule, barriers, signals, patterns.
gale_add_cmocka_test(test_sim_scenario_kit LABEL sim SOURCES sim/test_sim_scenario_kit.c
                     LIBS gale_sim)
# The per-poll budget: a busy loop inside one poll fails with LIMIT instead of hanging.
gale_add_cmocka_test(test_sim_poll_budget LABEL sim SOURCES sim/test_sim_poll_budget.c
                     LIBS gale_sim)
# The catalog on the real kernel: epoll and the fault driver over epoll, loopback only.
if(TARGET gale_catalog)
  gale_add_cmocka_test(test_os_scenario_catalog LABEL os SOURCES os/test_os_scenario_catalog.c
                       LIBS gale_catalog)
endif()
# Differential runs: a planted scenario correct only when a message arrives in one
# segment passes on the simulator and fails on the kernel (sim vs epoll).
if(TARGET gale_cli_core)
  gale_add_cmocka_test(test_sim_differential LABEL os SOURCES sim/test_sim_differential.c
                       LIBS gale_cli_core)
  target_compile_definitions(test_sim_differential PRIVATE _DEFAULT_SOURCE)
endif()
