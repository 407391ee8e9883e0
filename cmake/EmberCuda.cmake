# The CUDA backend. EMBER_CUDA selects how it is built:
#   AUTO     the real backend when nvcc is found, none otherwise;
#   ON       the real backend, and nvcc is required;
#   EMULATE  the SIMT emulator (Note [SIMT emulator] in kernels/simt/simt.h):
#            the same kernel files compiled by the host compiler, device
#            cuda:0 backed by host memory. Needs no CUDA toolkit;
#   OFF      no CUDA backend.
# A visible GPU is not needed to build the real backend: when none is
# visible at configure time we compile for Hopper (sm_90) only, the machines
# we run on, instead of "native" (which fails without a GPU). Set
# CMAKE_CUDA_ARCHITECTURES to build for others.
#
# Sets EMBER_HAVE_CUDA (a CUDA backend is built, either kind),
# EMBER_CUDA_EMULATED (it is the emulator) and EMBER_HAVE_NVCC (it is real).
set(EMBER_HAVE_CUDA OFF)
set(EMBER_HAVE_CUDA_01 0)
set(EMBER_CUDA_EMULATED OFF)
set(EMBER_CUDA_EMULATED_01 0)
set(EMBER_HAVE_NVCC OFF)
if(EMBER_CUDA STREQUAL "EMULATE")
  set(EMBER_HAVE_CUDA ON)
  set(EMBER_HAVE_CUDA_01 1)
  set(EMBER_CUDA_EMULATED ON)
  set(EMBER_CUDA_EMULATED_01 1)
  message(STATUS "Ember: CUDA backend ON, on the SIMT emulator (EMBER_CUDA=EMULATE)")
elseif(NOT EMBER_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  if(NOT DEFINED CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      execute_process(COMMAND nvidia-smi --query-gpu=compute_cap --format=csv,noheader
        RESULT_VARIABLE _smi_rc OUTPUT_VARIABLE _smi_out ERROR_QUIET)
      if(_smi_rc EQUAL 0 AND NOT _smi_out STREQUAL "")
        set(CMAKE_CUDA_ARCHITECTURES native)
      else()
        set(CMAKE_CUDA_ARCHITECTURES 90)
      endif()
    endif()
    enable_language(CUDA)
    # CMake 3.25 knows no C++20 flag for nvcc (3.26 does), although nvcc
    # 12+ supports it: tell CMake, so cxx_std_20 works for CUDA sources too.
    if(NOT DEFINED CMAKE_CUDA20_STANDARD_COMPILE_OPTION OR CMAKE_CUDA20_STANDARD_COMPILE_OPTION STREQUAL "")
      set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
      set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
    endif()
    set(CMAKE_CUDA_STANDARD 20)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    find_package(CUDAToolkit REQUIRED)
    set(EMBER_HAVE_CUDA ON)
    set(EMBER_HAVE_CUDA_01 1)
    set(EMBER_HAVE_NVCC ON)
    message(STATUS "Ember: CUDA backend ON (architectures: ${CMAKE_CUDA_ARCHITECTURES})")
  elseif(EMBER_CUDA STREQUAL "ON")
    message(FATAL_ERROR "EMBER_CUDA=ON but no CUDA compiler was found")
  else()
    message(STATUS "Ember: CUDA backend OFF (no nvcc found)")
  endif()
else()
  message(STATUS "Ember: CUDA backend OFF (EMBER_CUDA=OFF)")
endif()
