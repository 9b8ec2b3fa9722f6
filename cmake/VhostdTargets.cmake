# Helpers that declare a layer library and the unit tests that live beside its sources.

# vhostd_layer(<name> SOURCES ... [DEPS ...] [PRIVATE_DEPS ...])
# Creates library vhostd_<name>; headers are included as "<layer>/<file>.hpp" from src/.
function(vhostd_layer name)
  cmake_parse_arguments(L "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(vhostd_${name} STATIC ${L_SOURCES})
  target_include_directories(vhostd_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(vhostd_${name} PUBLIC vhostd_options ${L_DEPS} PRIVATE ${L_PRIVATE_DEPS})
endfunction()

# vhostd_unit_tests(<name> SOURCES ... DEPS ...)
# One gtest binary per layer: <name>_test, registered with CTest under the "unit" label.
function(vhostd_unit_tests name)
  if(NOT VHOSTD_TESTS)
    return()
  endif()
  cmake_parse_arguments(T "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name}_test ${T_SOURCES})
  target_link_libraries(${name}_test PRIVATE ${T_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  gtest_discover_tests(${name}_test DISCOVERY_MODE PRE_TEST PROPERTIES LABELS unit)
endfunction()
