# SPDX-License-Identifier: MIT
# Header hygiene (STYLE 3.10): every public header compiles alone, twice included, as the
# first include of its own translation unit, under strict C11 with all warnings.
file(GLOB GALE_PUBLIC_HEADERS CONFIGURE_DEPENDS
     ${PROJECT_SOURCE_DIR}/io/include/gale/*.h
     ${PROJECT_SOURCE_DIR}/net/include/gale/*.h
     ${PROJECT_SOURCE_DIR}/sim/include/gale/*.h)
if(TARGET gale_test) # gale::test's headers exist where the CLI is built.
  file(GLOB GALE_TEST_HEADERS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/sim/cli/include/gale/*.h)
  list(APPEND GALE_PUBLIC_HEADERS ${GALE_TEST_HEADERS})
endif()
set(GALE_HEADER_TUS "")
foreach(header ${GALE_PUBLIC_HEADERS})
  get_filename_component(name ${header} NAME_WE)
  set(tu ${CMAKE_CURRENT_BINARY_DIR}/header_tus/header_${name}.c)
  file(CONFIGURE OUTPUT ${tu} CONTENT
       "#include <gale/${name}.h>\n#include <gale/${name}.h>\nint gale_header_${name}_compiles(void);\nint gale_header_${name}_compiles(void) { return 0; }\n")
  list(APPEND GALE_HEADER_TUS ${tu})
endforeach()
add_library(gale_header_check OBJECT ${GALE_HEADER_TUS})
target_compile_options(gale_header_check PRIVATE ${GALE_WARNING_FLAGS} -pedantic)
target_link_libraries(gale_header_check PRIVATE gale_io gale_net gale_sim)
if(TARGET gale_test)
  target_link_libraries(gale_header_check PRIVATE gale_test)
endif()
