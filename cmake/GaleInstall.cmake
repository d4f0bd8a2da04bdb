# SPDX-License-Identifier: MIT
# install(): libraries, public headers, a CMake package (find_package(gale)) and pkg-config.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS gale_io gale_net gale_sim gale EXPORT galeTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# gale::test (gale_main: a program's scenarios as a `gale` command) and the `gale` command.
set(GALE_HEADER_MODULES io net sim)
if(TARGET gale_test)
  install(TARGETS gale_test EXPORT galeTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(TARGETS gale_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  list(APPEND GALE_HEADER_MODULES sim/cli) # gale_main.h, gale_fuzz.h, scenario_net.h.
endif()
foreach(module ${GALE_HEADER_MODULES})
  if(EXISTS ${PROJECT_SOURCE_DIR}/${module}/include/gale)
    install(DIRECTORY ${PROJECT_SOURCE_DIR}/${module}/include/gale
            DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
  endif()
endforeach()

# The campaign tools a user's own program runs with (they need nothing from this tree):
# libFuzzer campaigns and their report (fuzz/README.md, "Your own scenario fuzz target") and
# seed campaigns on a cluster (contrib/slurm, contrib/k8s), under <prefix>/share/gale.
install(PROGRAMS ${PROJECT_SOURCE_DIR}/scripts/fuzz-campaign.sh
                 ${PROJECT_SOURCE_DIR}/scripts/fuzz-report.sh
                 ${PROJECT_SOURCE_DIR}/scripts/fuzz-coverage.sh
        DESTINATION ${CMAKE_INSTALL_DATADIR}/gale/fuzz)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/contrib/slurm ${PROJECT_SOURCE_DIR}/contrib/k8s
        DESTINATION ${CMAKE_INSTALL_DATADIR}/gale USE_SOURCE_PERMISSIONS)

install(EXPORT galeTargets NAMESPACE gale:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/gale)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/galeConfig.cmake.in
  ${PROJECT_BINARY_DIR}/galeConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/gale)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/galeConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/galeConfig.cmake ${PROJECT_BINARY_DIR}/galeConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/GaleScenarioTests.cmake
              ${PROJECT_SOURCE_DIR}/cmake/GaleScenarioTestsWrite.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/gale)

# pkg-config: `pkg-config --cflags --libs gale` (io + net), `gale-sim` for the simulator,
# `gale-test` for gale_main().
set(GALE_PC_LIBS "-lgale_io")
get_target_property(gale_net_type gale_net TYPE)
if(NOT gale_net_type STREQUAL "INTERFACE_LIBRARY")
  set(GALE_PC_LIBS "-lgale_net ${GALE_PC_LIBS}")
endif()
# c-ares (the real kernel's resolver): needed by static users' links, private to shared ones.
set(GALE_PC_REQUIRES "")
set(GALE_PC_REQUIRES_PRIVATE "")
if(GALE_HAVE_EPOLL)
  get_target_property(gale_io_type gale_io TYPE)
  if(gale_io_type STREQUAL "STATIC_LIBRARY")
    set(GALE_PC_REQUIRES "libcares")
  else()
    set(GALE_PC_REQUIRES_PRIVATE "libcares")
  endif()
endif()
set(GALE_PC_SIM_LIBS "")
get_target_property(gale_sim_type gale_sim TYPE)
if(NOT gale_sim_type STREQUAL "INTERFACE_LIBRARY")
  set(GALE_PC_SIM_LIBS "-lgale_sim")
endif()
# The .pc files compute their prefix from ${pcfiledir}, so they assume the default layout.
configure_file(${PROJECT_SOURCE_DIR}/cmake/gale.pc.in ${PROJECT_BINARY_DIR}/gale.pc @ONLY)
configure_file(${PROJECT_SOURCE_DIR}/cmake/gale-sim.pc.in ${PROJECT_BINARY_DIR}/gale-sim.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/gale.pc ${PROJECT_BINARY_DIR}/gale-sim.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
if(TARGET gale_test)
  configure_file(${PROJECT_SOURCE_DIR}/cmake/gale-test.pc.in ${PROJECT_BINARY_DIR}/gale-test.pc
                 @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/gale-test.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endif()
