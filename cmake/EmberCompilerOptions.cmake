# Warnings, -march=native, sanitizers and ccache, applied to every Ember target
# through the interface target ember_options (not exported).
add_library(ember_options INTERFACE)
target_compile_options(ember_options INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wno-unused-parameter>)

if(EMBER_NATIVE)
  # As ggml does: use every instruction this CPU has. OFF for portable builds.
  target_compile_options(ember_options INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-march=native>)
endif()

if(EMBER_SANITIZE)
  set(_san -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_compile_options(ember_options INTERFACE $<$<COMPILE_LANGUAGE:CXX>:${_san}>)
  target_link_options(ember_options INTERFACE ${_san})
  target_compile_definitions(ember_options INTERFACE EMBER_SANITIZE=1)
endif()

find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
  set(CMAKE_CUDA_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
endif()
