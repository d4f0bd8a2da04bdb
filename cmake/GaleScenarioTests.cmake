# SPDX-License-Identifier: MIT
# CTest integration for programs built on gale_main() (<gale/gale_main.h>). Installed with
# the package and loaded by find_package(gale); also used in gale's own tree.
#
# gale_add_scenario_tests(TARGET my_tests [SEEDS n] [PROFILES p ...] [SCENARIOS s ...]
#                         [BACKENDS b ...] [JOBS n] [LABELS l ...] [TIMEOUT seconds])
#   One CTest test per scenario x profile, named <target>.<scenario>.<profile>, each running
#   `<target> run --scenario S --count SEEDS --profile P -j JOBS` (or --swarm for the
#   profile "swarm"). A failing test prints each failing seed's oracle, message and the
#   replay line (`ctest --output-on-failure`). SEEDS defaults to 100, PROFILES to
#   "default", JOBS to 1 (CTest runs tests side by side). BACKENDS (default "sim") adds
#   the same runs on other backends (`--backend B`): "epoll" is one test per scenario,
#   <target>.<scenario>.epoll (no faults, so no profiles); "fault-epoll" and a differential
#   pair such as "sim,epoll" are one per scenario x profile, <target>.<scenario>.<profile>.
#   fault-epoll / .sim-vs-epoll. A target may have several calls (say, fewer SEEDS on the
#   kernel, where time is real): one per set of BACKENDS. Without SCENARIOS the names are
#   discovered after each build by running `<target> list --names` (like
#   gtest_discover_tests), so adding a scenario needs no CMake change. Call it in the
#   directory that defines TARGET (CMake attaches the discovery step to the target there).
#
# gale_add_fuzz_corpus_tests(TARGET my_tests CORPUS dir [LABELS l ...])
#   One CTest test per file in dir (a libFuzzer corpus of a GALE_FUZZ_TARGET over the same
#   scenarios), each running `<target> replay --input FILE`: every saved input, and every
#   crash once fixed, stays a regression test without a clang build.
include_guard(GLOBAL)
set(_GALE_SCENARIO_TESTS_DIR ${CMAKE_CURRENT_LIST_DIR})

function(gale_add_scenario_tests)
  cmake_parse_arguments(ARG "" "TARGET;SEEDS;JOBS;TIMEOUT" "PROFILES;SCENARIOS;LABELS;BACKENDS"
                        ${ARGN})
  if(NOT ARG_TARGET OR NOT TARGET ${ARG_TARGET})
    message(FATAL_ERROR "gale_add_scenario_tests: TARGET must name an executable target")
  endif()
  foreach(option SEEDS JOBS TIMEOUT)
    if(DEFINED ARG_${option} AND NOT ARG_${option} MATCHES "^[1-9][0-9]*$")
      message(FATAL_ERROR "gale_add_scenario_tests: ${option} must be a positive number")
    endif()
  endforeach()
  if(NOT ARG_SEEDS)
    set(ARG_SEEDS 100)
  endif()
  if(NOT ARG_JOBS)
    set(ARG_JOBS 1)
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 1500)
  endif()
  if(NOT ARG_PROFILES)
    set(ARG_PROFILES default)
  endif()
  if(NOT ARG_BACKENDS)
    set(ARG_BACKENDS sim)
  endif()
  foreach(backend ${ARG_BACKENDS})
    if(NOT backend MATCHES "^(sim|epoll|fault-epoll)(,(sim|epoll|fault-epoll))?$")
      message(FATAL_ERROR "gale_add_scenario_tests: bad backend '${backend}' (sim, epoll, "
                          "fault-epoll, or two of them comma-separated)")
    endif()
  endforeach()
  # Lists travel to the script comma-separated: a ';' would split the command's arguments
  # (backends, which may hold a comma themselves, with '+').
  string(REPLACE ";" "+" ARG_BACKENDS "${ARG_BACKENDS}")
  foreach(list PROFILES SCENARIOS LABELS)
    string(REPLACE ";" "," ARG_${list} "${ARG_${list}}")
  endforeach()
  # One file per call, so a target may have several (different SEEDS per backend).
  string(MAKE_C_IDENTIFIER "${ARG_BACKENDS}" tag)
  set(file ${CMAKE_CURRENT_BINARY_DIR}/${ARG_TARGET}_${tag}_gale_scenario_tests.cmake)
  # Written after each build (names from SCENARIOS, or discovered from the program).
  add_custom_command(TARGET ${ARG_TARGET} POST_BUILD
    COMMAND ${CMAKE_COMMAND} -D "GALE_TARGET=${ARG_TARGET}" -D "GALE_SEEDS=${ARG_SEEDS}"
            -D "GALE_JOBS=${ARG_JOBS}" -D "GALE_TIMEOUT=${ARG_TIMEOUT}"
            -D "GALE_PROFILES=${ARG_PROFILES}" -D "GALE_SCENARIOS=${ARG_SCENARIOS}"
            -D "GALE_LABELS=${ARG_LABELS}" -D "GALE_BACKENDS=${ARG_BACKENDS}"
            -D "GALE_OUTPUT=${file}"
            -D "GALE_EXECUTABLE=$<TARGET_FILE:${ARG_TARGET}>"
            -P ${_GALE_SCENARIO_TESTS_DIR}/GaleScenarioTestsWrite.cmake
    BYPRODUCTS ${file} VERBATIM)
  # Before the first build there is nothing to list: one test says so instead of none.
  set(include ${CMAKE_CURRENT_BINARY_DIR}/${ARG_TARGET}_${tag}_gale_include.cmake)
  file(WRITE ${include}
    "if(EXISTS [=[${file}]=])\n  include([=[${file}]=])\nelse()\n"
    "  add_test([=[${ARG_TARGET}.${tag}.NOT_BUILT]=] [=[${ARG_TARGET}.NOT_BUILT]=])\n"
    "endif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${include})
endfunction()

function(gale_add_fuzz_corpus_tests)
  cmake_parse_arguments(ARG "" "TARGET;CORPUS" "LABELS" ${ARGN})
  if(NOT ARG_TARGET OR NOT TARGET ${ARG_TARGET} OR NOT IS_DIRECTORY "${ARG_CORPUS}")
    message(FATAL_ERROR "gale_add_fuzz_corpus_tests: TARGET must name an executable target "
                        "and CORPUS a directory")
  endif()
  file(GLOB inputs CONFIGURE_DEPENDS "${ARG_CORPUS}/*")
  list(FILTER inputs EXCLUDE REGEX "/(\\.[^/]*|README[^/]*)$")
  list(SORT inputs)
  foreach(input ${inputs})
    get_filename_component(name ${input} NAME)
    add_test(NAME ${ARG_TARGET}.input.${name}
             COMMAND ${ARG_TARGET} replay --input ${input})
    set_tests_properties(${ARG_TARGET}.input.${name} PROPERTIES LABELS "${ARG_LABELS}")
  endforeach()
endfunction()
