# SPDX-License-Identifier: MIT
# Compiler flags shared by every gale target: warnings, sanitizers, coverage.
set(GALE_WARNING_FLAGS
    -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith
    -Wformat=2 -Wundef)
if(GALE_WERROR)
  list(APPEND GALE_WARNING_FLAGS -Werror)
endif()

if(GALE_SANITIZE)
  add_compile_options(-fsanitize=${GALE_SANITIZE} -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${GALE_SANITIZE})
endif()
if(GALE_COVERAGE)
  add_compile_options(--coverage -O0)
  add_link_options(--coverage)
endif()

# A libFuzzer build (GALE_SANITIZE with fuzzer-no-link) compiles gale's libraries without
# -fsanitize-coverage=trace-cmp, except where fuzz bytes become decisions (entropy.c: the
# fault rolls and draws compare input bytes; cli_fuzz.c: the input layout). Elsewhere the
# comparisons are structural (asserts, slot lookups) and say nothing about the input, and
# their callbacks cost half of a scenario run: fuzz_tcp_sim makes 1,681 exec/s without them
# against 809 with, at the same edge coverage (fuzz/README.md). Edge counters stay on
# everywhere; harnesses and user code keep trace-cmp. GALE_FUZZ_TRACE_CMP=ON keeps it all.
option(GALE_FUZZ_TRACE_CMP "libFuzzer trace-cmp in gale's library code too" OFF)
function(gale_fuzz_lean target)
  if(GALE_FUZZ_TRACE_CMP OR NOT GALE_SANITIZE MATCHES "fuzzer")
    return()
  endif()
  get_target_property(sources ${target} SOURCES)
  foreach(source IN LISTS sources)
    if(NOT source MATCHES "(entropy|cli_fuzz)\\.c$")
      set_property(SOURCE ${source} APPEND PROPERTY COMPILE_OPTIONS
                   -fno-sanitize-coverage=trace-cmp)
    endif()
  endforeach()
endfunction()

# gale_target_defaults(target): warnings, hidden visibility, POSIX feature level (and, for
# the libraries in a libFuzzer build, gale_fuzz_lean).
function(gale_target_defaults target)
  target_compile_options(${target} PRIVATE ${GALE_WARNING_FLAGS})
  target_compile_definitions(${target} PRIVATE _POSIX_C_SOURCE=200809L)
  set_target_properties(${target} PROPERTIES C_VISIBILITY_PRESET hidden
                                             POSITION_INDEPENDENT_CODE ON)
  if(target MATCHES "^gale_(io|net|sim|test|catalog)$")
    gale_fuzz_lean(${target})
  endif()
endfunction()
