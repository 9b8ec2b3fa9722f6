# The layer check: fails when a production file includes a header of a layer its library does
# not link (directly or through the layers it links). Run as a CTest test:
#   cmake -DLAYERS_FILE=<build>/LAYERS.cmake -DSOURCE_ROOT=<src> -P CheckLayers.cmake
# LAYERS_FILE (written by vhostd_finish_layers) names each layer's folder under SOURCE_ROOT and
# the layers it links. A file belongs to the layer whose folder is the longest prefix of its
# path; an include "a/b/c.hpp" names the layer whose folder is the longest prefix of "a/b".
# A layer's provider headers (those under a module/ folder of it, such as the bdev module
# contract block/module/) may be included only by files under that layer's folder (its
# backends), never by the layers that merely use it.
# Unit tests (*_test.cpp) are left out: they may link test support and other layers.
cmake_minimum_required(VERSION 3.25)
include(${LAYERS_FILE})
get_filename_component(SOURCE_ROOT "${SOURCE_ROOT}" ABSOLUTE)

# The layer owning path `path` (relative to SOURCE_ROOT), or "" if none.
function(owning_layer path out)
  set(best "")
  set(best_len -1)
  foreach(layer IN LISTS LAYERS)
    set(dir "${LAYER_${layer}_DIR}")
    string(LENGTH "${dir}" len)
    string(FIND "${path}" "${dir}/" at)
    if(at EQUAL 0 AND len GREATER best_len)
      set(best ${layer})
      set(best_len ${len})
    endif()
  endforeach()
  set(${out} "${best}" PARENT_SCOPE)
endfunction()

# Every layer reachable from `layer` through its links, itself included.
function(reachable layer out)
  set(seen ${layer})
  set(todo ${layer})
  while(todo)
    list(POP_FRONT todo current)
    foreach(next IN LISTS LAYER_${current}_LINKS)
      if(NOT next IN_LIST seen)
        list(APPEND seen ${next})
        list(APPEND todo ${next})
      endif()
    endforeach()
  endwhile()
  set(${out} "${seen}" PARENT_SCOPE)
endfunction()

set(violations 0)
set(checked 0)
foreach(layer IN LISTS LAYERS)
  reachable(${layer} allowed)
  file(GLOB_RECURSE files RELATIVE ${SOURCE_ROOT}
       ${SOURCE_ROOT}/${LAYER_${layer}_DIR}/*.cpp ${SOURCE_ROOT}/${LAYER_${layer}_DIR}/*.hpp)
  foreach(file IN LISTS files)
    if(file MATCHES "_test\\.cpp$")
      continue()
    endif()
    owning_layer(${file} owner)
    if(NOT owner STREQUAL layer)
      continue()  # a sub-layer's file: checked with that layer
    endif()
    math(EXPR checked "${checked} + 1")
    file(STRINGS ${SOURCE_ROOT}/${file} includes REGEX "^#include \"[^\"]+\"")
    foreach(line IN LISTS includes)
      string(REGEX REPLACE "^#include \"([^\"]+)\".*" "\\1" header "${line}")
      owning_layer(${header} target)
      if(target STREQUAL "")
        continue()  # not one of ours (a third-party header included with quotes)
      endif()
      if(NOT target IN_LIST allowed)
        message("${file}: includes ${header} (layer ${target}), but ${layer} does not link "
                "vhostd_${target}")
        math(EXPR violations "${violations} + 1")
        continue()
      endif()
      set(provider_dir "${LAYER_${target}_DIR}/module/")
      string(FIND "${header}" "${provider_dir}" is_provider)
      string(FIND "${file}" "${LAYER_${target}_DIR}/" inside)
      if(is_provider EQUAL 0 AND NOT inside EQUAL 0)
        message("${file}: includes ${header}, a provider header of ${target}, but is not part "
                "of ${target} or its modules")
        math(EXPR violations "${violations} + 1")
      endif()
    endforeach()
  endforeach()
endforeach()

if(violations GREATER 0)
  message(FATAL_ERROR "layer check: ${violations} forbidden include(s); see DEVELOPERS.md")
endif()
list(LENGTH LAYERS count)
message("layer check: ${checked} files in ${count} layers, no forbidden include")
