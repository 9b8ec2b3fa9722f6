# Compiler warnings applied to every vhostd target through the vhostd_options interface library.
add_library(vhostd_options INTERFACE)
target_compile_options(vhostd_options INTERFACE
  -Wall -Wextra -Wshadow -Wnon-virtual-dtor -Wcast-align -Woverloaded-virtual
  -Wimplicit-fallthrough -Wformat=2
  # g++ 12 warns about designated initializers that leave members to their default member
  # initializers, which is the point of writing them that way.
  -Wno-missing-field-initializers)
if(VHOSTD_WERROR)
  target_compile_options(vhostd_options INTERFACE -Werror)
endif()
target_compile_definitions(vhostd_options INTERFACE _GNU_SOURCE)
