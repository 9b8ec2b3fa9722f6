# Helpers that declare a layer library and the unit tests that live beside its sources, and the
# record of layers that the layer check (cmake/CheckLayers.cmake) and the header check read.

# vhostd_layer(<name> SOURCES ... [DEPS ...] [PRIVATE_DEPS ...] [HEADER_ONLY])
# Creates library vhostd_<name> from the sources in the current folder; headers are included as
# "<folder under src>/<file>.hpp". The folder and the vhostd_* libraries it links are recorded:
# a file of this layer may include headers of this layer and of the layers it links
# (transitively), nothing else.
function(vhostd_layer name)
  cmake_parse_arguments(L "HEADER_ONLY" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  if(L_HEADER_ONLY)
    add_library(vhostd_${name} INTERFACE)
    target_include_directories(vhostd_${name} INTERFACE ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(vhostd_${name} INTERFACE vhostd_options ${L_DEPS})
  else()
    add_library(vhostd_${name} STATIC ${L_SOURCES})
    target_include_directories(vhostd_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(vhostd_${name} PUBLIC vhostd_options ${L_DEPS} PRIVATE ${L_PRIVATE_DEPS})
  endif()
  file(RELATIVE_PATH dir ${PROJECT_SOURCE_DIR}/src ${CMAKE_CURRENT_SOURCE_DIR})
  set(links "")
  foreach(dep IN LISTS L_DEPS L_PRIVATE_DEPS)
    if(dep MATCHES "^vhostd_(.+)$")
      list(APPEND links ${CMAKE_MATCH_1})
    endif()
  endforeach()
  set_property(GLOBAL APPEND PROPERTY VHOSTD_LAYERS ${name})
  set_property(GLOBAL PROPERTY VHOSTD_LAYER_${name}_DIR ${dir})
  set_property(GLOBAL PROPERTY VHOSTD_LAYER_${name}_LINKS "${links}")
endfunction()

# vhostd_test_code(<target>): a test binary's own sources are compiled without optimization.
# The code under test (layer libraries, the frontend, tests/support) keeps the build's flags;
# a test body runs once and mostly waits on that code, while instantiating gtest and
# nlohmann-json templates at -O2 is most of what a test file costs to compile (-O0 halves it).
function(vhostd_test_code target)
  target_compile_options(${target} PRIVATE -O0)
endfunction()

# vhostd_unit_tests(<name> SOURCES ... DEPS ...)
# One gtest binary per layer: <name>_test, registered with CTest under the "unit" label.
# Test support (tests/support) is included as "support/<file>.hpp".
function(vhostd_unit_tests name)
  if(NOT VHOSTD_TESTS)
    return()
  endif()
  cmake_parse_arguments(T "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name}_test ${T_SOURCES})
  target_include_directories(${name}_test PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(${name}_test PRIVATE ${T_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  vhostd_test_code(${name}_test)
  gtest_discover_tests(${name}_test DISCOVERY_MODE PRE_TEST PROPERTIES LABELS unit)
endfunction()

# Writes the recorded layers to LAYERS.cmake in the build tree (read by the layer check) and,
# with VHOSTD_HEADER_CHECK, adds a target that compiles every production header on its own
# (a header that needs another one included before it fails to build).
function(vhostd_finish_layers)
  get_property(layers GLOBAL PROPERTY VHOSTD_LAYERS)
  set(out "set(LAYERS ${layers})\n")
  foreach(layer IN LISTS layers)
    get_property(dir GLOBAL PROPERTY VHOSTD_LAYER_${layer}_DIR)
    get_property(links GLOBAL PROPERTY VHOSTD_LAYER_${layer}_LINKS)
    string(APPEND out "set(LAYER_${layer}_DIR \"${dir}\")\nset(LAYER_${layer}_LINKS \"${links}\")\n")
  endforeach()
  file(WRITE ${CMAKE_BINARY_DIR}/LAYERS.cmake "${out}")

  if(NOT VHOSTD_HEADER_CHECK)
    return()
  endif()
  set(gen ${CMAKE_BINARY_DIR}/header_check)
  foreach(layer IN LISTS layers)
    get_property(dir GLOBAL PROPERTY VHOSTD_LAYER_${layer}_DIR)
    file(GLOB headers RELATIVE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/src/${dir}/*.hpp
         ${PROJECT_SOURCE_DIR}/src/${dir}/*/*.hpp)
    set(units "")
    foreach(header IN LISTS headers)
      string(MAKE_C_IDENTIFIER ${header} id)
      set(unit ${gen}/${id}.cpp)
      if(NOT EXISTS ${unit})
        file(WRITE ${unit} "#include \"${header}\"\n")
      endif()
      list(APPEND units ${unit})
    endforeach()
    if(units)
      add_library(header_check_${layer} OBJECT ${units})
      target_link_libraries(header_check_${layer} PRIVATE vhostd_${layer})
      target_compile_options(header_check_${layer} PRIVATE -O0 -g0)
      list(APPEND checks header_check_${layer})
    endif()
  endforeach()
  add_custom_target(header_check ALL DEPENDS ${checks})
endfunction()
