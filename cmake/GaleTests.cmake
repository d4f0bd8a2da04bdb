# SPDX-License-Identifier: MIT
# gale's own test registry (not installed; users call GaleScenarioTests.cmake). Every test
# of tests/ and fuzz/ goes through gale_add_test, which takes its label from where the
# test's file lives, so a label cannot drift from the folder (libuv's test-list.h idea):
#   tests/unit/  unit  no kernel: scripted drivers, duplexes, the simulator's pieces
#   tests/sim/   sim   seed sweeps on the simulated driver
#   tests/os/    os    the real kernel: pipes, socketpairs, loopback
#   fuzz/        fuzz  replays of the committed fuzz inputs
#   scripts/     unit  checks over the source tree (lint)
# A test that also belongs elsewhere adds labels (LABELS os: it runs on the kernel too, so
# `make test-stress` picks it up); it never replaces the folder's.
include_guard(GLOBAL)

# The labels a folder gives; tests/unit/test_labels.cmake fails if one runs no test.
set(GALE_TEST_FOLDER_LABELS unit sim os fuzz)

# gale_test_label(file out): the label of a test whose file is file (relative to the
# calling directory or absolute). A file outside the folders above is a configure error.
function(gale_test_label file out)
  cmake_path(ABSOLUTE_PATH file BASE_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR} NORMALIZE
             OUTPUT_VARIABLE path)
  cmake_path(RELATIVE_PATH path BASE_DIRECTORY ${PROJECT_SOURCE_DIR} OUTPUT_VARIABLE relative)
  if(relative MATCHES "^tests/(unit|sim|os)/")
    set(${out} ${CMAKE_MATCH_1} PARENT_SCOPE)
  elseif(relative MATCHES "^fuzz/")
    set(${out} fuzz PARENT_SCOPE)
  elseif(relative MATCHES "^scripts/")
    set(${out} unit PARENT_SCOPE)
  else()
    message(FATAL_ERROR "gale_test_label: ${relative} is in no test folder (tests/unit, "
                        "tests/sim, tests/os, fuzz, scripts)")
  endif()
endfunction()

# gale_add_test(name FILE file COMMAND command... [LABELS extra...] [TIMEOUT seconds])
#   add_test(name command...) labelled by FILE's folder (gale_test_label) plus LABELS.
#   FILE is the test's own file: its first source, its script, its fuzz target. TIMEOUT
#   defaults to 120 s.
function(gale_add_test name)
  cmake_parse_arguments(ARG "" "FILE;TIMEOUT" "COMMAND;LABELS" ${ARGN})
  if(ARG_UNPARSED_ARGUMENTS OR NOT ARG_FILE OR NOT ARG_COMMAND)
    message(FATAL_ERROR "gale_add_test(${name}): takes FILE, COMMAND, LABELS and TIMEOUT "
                        "(got '${ARG_UNPARSED_ARGUMENTS}')")
  endif()
  gale_test_label(${ARG_FILE} label)
  set(labels ${label} ${ARG_LABELS})
  list(REMOVE_DUPLICATES labels)
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  add_test(NAME ${name} COMMAND ${ARG_COMMAND})
  set_tests_properties(${name} PROPERTIES LABELS "${labels}" TIMEOUT ${ARG_TIMEOUT})
endfunction()
