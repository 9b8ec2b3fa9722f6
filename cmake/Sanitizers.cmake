# Optional AddressSanitizer/UBSan (VHOSTD_SANITIZE=address,undefined) for every target.
if(VHOSTD_SANITIZE)
  set(_san "-fsanitize=${VHOSTD_SANITIZE}")
  add_compile_options(${_san} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(${_san})
endif()
