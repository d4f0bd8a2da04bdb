# SPDX-License-Identifier: MIT
# Tests of the simulator's foundations (entropy, profiles, traces, allocator) and of the
# fault driver over the real epoll driver. Included from tests/CMakeLists.txt.
gale_add_cmocka_test(test_sim_entropy LABEL unit SOURCES unit/test_sim_entropy.c LIBS gale_sim)
gale_add_cmocka_test(test_sim_trace   LABEL unit SOURCES unit/test_sim_trace.c   LIBS gale_sim)
gale_add_cmocka_test(test_sim_profile LABEL unit SOURCES unit/test_sim_profile.c LIBS gale_sim)
gale_add_cmocka_test(test_sim_alloc   LABEL unit SOURCES unit/test_sim_alloc.c   LIBS gale_sim)
if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
  gale_add_cmocka_test(test_os_fault_driver LABEL os SOURCES os/test_os_fault_driver.c
                       LIBS gale_sim)
endif()
