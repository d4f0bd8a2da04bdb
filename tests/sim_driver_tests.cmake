# SPDX-License-Identifier: MIT
# Tests of the simulated driver (sim.h): driver rules, the simulated network, and the echo
# workload on the real runtime under faults. Included from tests/CMakeLists.txt.
gale_add_cmocka_test(test_sim_driver LABEL sim
                     SOURCES sim/test_sim_driver.c sim/sim_test_support.c LIBS gale_sim)
gale_add_cmocka_test(test_sim_net LABEL sim
                     SOURCES sim/test_sim_net.c sim/sim_test_support.c LIBS gale_sim)
gale_add_cmocka_test(test_sim_echo LABEL sim
                     SOURCES sim/test_sim_echo.c sim/sim_echo.c LIBS gale_sim)
# net/'s TCP code, unchanged, on the simulated driver.
gale_add_cmocka_test(test_sim_tcp LABEL sim SOURCES sim/test_sim_tcp.c LIBS gale_sim gale_net)
gale_add_cmocka_test(test_sim_runtime LABEL sim SOURCES sim/test_sim_runtime.c LIBS gale_sim)
# The echo server of examples/ (its service code, compiled in) on the simulator.
gale_add_cmocka_test(test_sim_echo_example LABEL sim
                     SOURCES sim/test_sim_echo_example.c
                             ${PROJECT_SOURCE_DIR}/examples/echo_service.c
                     LIBS gale_sim gale_net)
target_include_directories(test_sim_echo_example PRIVATE ${PROJECT_SOURCE_DIR}/examples)
