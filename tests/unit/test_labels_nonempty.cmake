# SPDX-License-Identifier: MIT
# The test registry's canary (cmake -P, registered as test_labels_nonempty): every label
# this build should have (LABELS, comma-separated) must select at least one test, not
# counting the canaries themselves (EXCLUDE, a ctest -E regex). A guard that hides every
# os test, or a folder whose tests lost their label, then fails the suite instead of
# passing quietly with nothing run.
#   cmake -D CTEST=ctest -D BUILD_DIR=build -D LABELS=unit,sim -D EXCLUDE=regex -P this file
foreach(variable CTEST BUILD_DIR LABELS EXCLUDE)
  if(NOT DEFINED ${variable})
    message(FATAL_ERROR "test_labels_nonempty: -D ${variable}=... is required")
  endif()
endforeach()
string(REPLACE "," ";" labels "${LABELS}")
set(empty "")
foreach(label IN LISTS labels)
  execute_process(COMMAND ${CTEST} --test-dir ${BUILD_DIR} -N -L "^${label}$" -E "${EXCLUDE}"
                  OUTPUT_VARIABLE listing RESULT_VARIABLE status)
  if(NOT status EQUAL 0 OR NOT listing MATCHES "Total Tests: ([0-9]+)")
    message(FATAL_ERROR "test_labels_nonempty: `ctest -N -L ^${label}$` failed (${status}):\n"
                        "${listing}")
  endif()
  message(STATUS "label ${label}: ${CMAKE_MATCH_1} tests")
  if(CMAKE_MATCH_1 EQUAL 0)
    list(APPEND empty ${label})
  endif()
endforeach()
if(empty)
  message(FATAL_ERROR "test_labels_nonempty: no test carries the label(s) ${empty}")
endif()
