# SPDX-License-Identifier: MIT
# The fuzz_<name>_smoke CTest: RUNS deterministic libFuzzer executions (-seed=1) starting from
# the committed corpus and regressions, which stay read-only: new inputs go to a fresh
# scratch directory (libFuzzer writes into its first corpus argument), crashes too.
# Usage: cmake -DFUZZER=bin -DSCRATCH=dir -DCORPUS=dir -DREGRESSIONS=dir -DRUNS=n
#              -DMAX_LEN=n -P smoke.cmake
foreach(var FUZZER SCRATCH CORPUS REGRESSIONS RUNS MAX_LEN)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "smoke.cmake: -D${var}=... is required")
  endif()
endforeach()
file(REMOVE_RECURSE ${SCRATCH})
file(MAKE_DIRECTORY ${SCRATCH}/corpus)
set(dirs ${SCRATCH}/corpus)
foreach(dir ${CORPUS} ${REGRESSIONS})
  if(IS_DIRECTORY ${dir})
    list(APPEND dirs ${dir})
  endif()
endforeach()
execute_process(COMMAND ${FUZZER} -runs=${RUNS} -seed=1 -max_len=${MAX_LEN}
                        -print_final_stats=1 -artifact_prefix=${SCRATCH}/ ${dirs}
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${FUZZER}: libFuzzer failed (${rc}); the crash input is in ${SCRATCH}/")
endif()
