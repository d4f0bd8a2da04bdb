# SPDX-License-Identifier: MIT
# net/ tests: socket address text (unit) and TCP streams/listeners on loopback (os).
gale_add_cmocka_test(test_net_socket_addr LABEL unit SOURCES unit/test_net_socket_addr.c
                     LIBS gale_net)
gale_add_cmocka_test(test_os_tcp_stream   LABEL os SOURCES os/test_os_tcp_stream.c
                     LIBS gale_net)
gale_add_cmocka_test(test_os_tcp_listener LABEL os SOURCES os/test_os_tcp_listener.c
                     LIBS gale_net)

# The echo example end to end: server on port 0, client against it (tests/os script).
if(GALE_BUILD_EXAMPLES AND CMAKE_SYSTEM_NAME STREQUAL "Linux")
  add_test(NAME test_os_tcp_echo_example
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/os/test_os_tcp_echo_example.sh
                   $<TARGET_FILE:echo_server> $<TARGET_FILE:echo_client>)
  set_tests_properties(test_os_tcp_echo_example PROPERTIES LABELS os TIMEOUT 30)
endif()
