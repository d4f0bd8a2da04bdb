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

# gale_target_defaults(target): warnings, hidden visibility, POSIX feature level.
function(gale_target_defaults target)
  target_compile_options(${target} PRIVATE ${GALE_WARNING_FLAGS})
  target_compile_definitions(${target} PRIVATE _POSIX_C_SOURCE=200809L)
  set_target_properties(${target} PROPERTIES C_VISIBILITY_PRESET hidden
                                             POSITION_INDEPENDENT_CODE ON)
endfunction()
