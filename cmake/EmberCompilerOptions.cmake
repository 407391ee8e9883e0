# Warnings, -march=native, sanitizers and ccache, applied to every Ember target
# through the interface target ember_options (not exported).
add_library(ember_options INTERFACE)
target_compile_options(ember_options INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wno-unused-parameter>)
# -Wno-psabi: in a build without AVX-512, GCC notes at every call that a
# 64-byte vector (kernels/cpu/vec.h) is passed with another ABI than with
# AVX-512. Those functions are all inline, so no call crosses that line.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(ember_options INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-Wno-psabi>)
endif()

if(EMBER_NATIVE)
  # As ggml does: use every instruction this CPU has. OFF for portable builds.
  target_compile_options(ember_options INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-march=native>)
endif()

# Note [GCC 12 AVX-512 SLP miscompile]
# GCC 12.2 with AVX-512 enabled (-march=native on Zen 4, or x86-64-v4) and
# -O2/-O3 miscompiles aggregate initialization in its SLP vectorizer: a
# Conv2dOptions{} built inside std::make_shared arrived with padding (1, 0)
# instead of (0, 0) (tests/test_nn.cpp caught it as a wrong LeNet shape).
# -fno-tree-slp-vectorize avoids it; the loop vectorizer, which our kernels
# rely on, stays on. Consumers of an installed Ember get the flag too
# (EMBER_SAFE_FLAGS on the ember target), since they compile our headers.
set(EMBER_SAFE_FLAGS "")
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  set(EMBER_SAFE_FLAGS -fno-tree-slp-vectorize)
  target_compile_options(ember_options INTERFACE $<$<COMPILE_LANGUAGE:CXX>:${EMBER_SAFE_FLAGS}>)
endif()

if(EMBER_SANITIZE)
  set(_san -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_compile_options(ember_options INTERFACE $<$<COMPILE_LANGUAGE:CXX>:${_san}>)
  target_link_options(ember_options INTERFACE ${_san})
  target_compile_definitions(ember_options INTERFACE EMBER_SANITIZE=1)
endif()

# libFuzzer's coverage instrumentation in every Ember library; the fuzz
# programs themselves link with -fsanitize=fuzzer (tests/fuzz/CMakeLists.txt).
if(EMBER_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "EMBER_FUZZ=ON needs Clang for libFuzzer (scripts/fuzz.sh configures build/fuzz with clang-14)")
  endif()
  target_compile_options(ember_options INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-fsanitize=fuzzer-no-link>)
endif()

find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
  set(CMAKE_CUDA_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
endif()
