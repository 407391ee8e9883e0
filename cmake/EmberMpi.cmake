# The process-group backends of ember::distributed (docs/distributed.md).
#
# EMBER_MPI selects the MPI backend, for CPU tensors and for starting the
# world (rank, world size, NCCL's unique id):
#   AUTO  built when MPI is found (Debian's libopenmpi-dev), none otherwise:
#         the world is then one process;
#   ON    the same, and MPI is required;
#   OFF   never built.
# MPI is looked for with its C++ component, not C: the project (and an
# installed Ember's consumers) enable only the CXX language, and FindMPI
# looks only for the languages a project enables. The C API is what the
# code calls; MPI_CXX_SKIP_MPICXX skips the deprecated C++ bindings.
#
# NCCL (the backend for CUDA tensors) is built when the real CUDA backend is
# (EMBER_HAVE_NVCC: not the emulator) and nccl.h and libnccl are found: in
# the CUDA toolkit, or in pip's nvidia-nccl-cu13 wheel (site-packages/
# nvidia/nccl/{include,lib}, which ships only libnccl.so.2), as
# EmberCudnn.cmake looks for cuDNN. EMBER_NCCL=OFF leaves it out.
#
# Sets EMBER_HAVE_MPI (+ _01), EMBER_HAVE_NCCL (+ _01), EMBER_NCCL_INCLUDE_DIR,
# EMBER_NCCL_LIBRARY, and EMBER_MPIEXEC_FLAGS: the flags the tests give
# mpirun (root in CI, 2 ranks on 2 cores, shared memory, loopback only).
set(EMBER_MPI "AUTO" CACHE STRING "MPI backend for CPU tensors: AUTO, ON or OFF")
set_property(CACHE EMBER_MPI PROPERTY STRINGS AUTO ON OFF)
set(EMBER_NCCL "AUTO" CACHE STRING "NCCL backend for CUDA tensors: AUTO, ON or OFF")
set_property(CACHE EMBER_NCCL PROPERTY STRINGS AUTO ON OFF)

set(EMBER_HAVE_MPI OFF)
set(EMBER_HAVE_MPI_01 0)
if(NOT EMBER_MPI STREQUAL "OFF")
  set(MPI_CXX_SKIP_MPICXX TRUE)
  find_package(MPI COMPONENTS CXX)
  if(MPI_CXX_FOUND)
    set(EMBER_HAVE_MPI ON)
    set(EMBER_HAVE_MPI_01 1)
    message(STATUS "Ember: MPI backend ON (MPI ${MPI_CXX_VERSION}, ${MPIEXEC_EXECUTABLE})")
  elseif(EMBER_MPI STREQUAL "ON")
    message(FATAL_ERROR "EMBER_MPI=ON but MPI was not found (Debian: apt-get install libopenmpi-dev openmpi-bin)")
  else()
    message(STATUS "Ember: MPI backend OFF (MPI not found): the world is one process")
  endif()
else()
  message(STATUS "Ember: MPI backend OFF (EMBER_MPI=OFF): the world is one process")
endif()
set(EMBER_MPIEXEC_FLAGS --allow-run-as-root --oversubscribe --mca btl self,vader --mca oob_tcp_if_include lo)

set(EMBER_HAVE_NCCL OFF)
set(EMBER_HAVE_NCCL_01 0)
set(_ember_nccl_off "")
if(EMBER_NCCL STREQUAL "OFF")
  set(_ember_nccl_off "EMBER_NCCL=OFF")
elseif(EMBER_CUDA_EMULATED)
  set(_ember_nccl_off "EMBER_CUDA=EMULATE: the CUDA backend is the SIMT emulator")
elseif(NOT EMBER_HAVE_NVCC)
  set(_ember_nccl_off "no real CUDA backend: EMBER_CUDA=${EMBER_CUDA}, or no nvcc")
else()
  ember_nvidia_wheel_dirs(_ember_nccl_hints_inc _ember_nccl_hints_lib nccl)  # cmake/EmberCudnn.cmake
  find_path(EMBER_NCCL_INCLUDE_DIR NAMES nccl.h
    HINTS ${CUDAToolkit_INCLUDE_DIRS} ${CUDAToolkit_LIBRARY_ROOT}/include ${_ember_nccl_hints_inc})
  if(EMBER_NCCL_INCLUDE_DIR)
    # The library beside the header first: a header and a library of
    # different releases would not match.
    find_library(EMBER_NCCL_LIBRARY NAMES nccl libnccl.so.2 NAMES_PER_DIR
      HINTS ${EMBER_NCCL_INCLUDE_DIR}/../lib ${EMBER_NCCL_INCLUDE_DIR}/../lib64 ${CUDAToolkit_LIBRARY_DIR}
            ${_ember_nccl_hints_lib})
  endif()
  if(NOT EMBER_NCCL_INCLUDE_DIR)
    set(_ember_nccl_off "nccl.h not found in the CUDA toolkit or Python's nvidia/nccl wheel")
  elseif(NOT EMBER_NCCL_LIBRARY)
    set(_ember_nccl_off "libnccl not found beside ${EMBER_NCCL_INCLUDE_DIR}")
  endif()
endif()
if(_ember_nccl_off STREQUAL "")
  set(EMBER_HAVE_NCCL ON)
  set(EMBER_HAVE_NCCL_01 1)
  file(STRINGS "${EMBER_NCCL_INCLUDE_DIR}/nccl.h" _v REGEX "^#define NCCL_(MAJOR|MINOR|PATCH) +[0-9]+")
  set(_ember_nccl_version "")
  foreach(_part MAJOR MINOR PATCH)
    string(REGEX MATCH "NCCL_${_part} +([0-9]+)" _m "${_v}")
    list(APPEND _ember_nccl_version "${CMAKE_MATCH_1}")
  endforeach()
  list(JOIN _ember_nccl_version "." _ember_nccl_version)
  # The wheel's folder goes into the RPATH, as cuDNN's does.
  get_filename_component(_dir "${EMBER_NCCL_LIBRARY}" DIRECTORY)
  list(APPEND CMAKE_BUILD_RPATH "${_dir}")
  list(APPEND CMAKE_INSTALL_RPATH "${_dir}")
  list(REMOVE_DUPLICATES CMAKE_BUILD_RPATH)
  list(REMOVE_DUPLICATES CMAKE_INSTALL_RPATH)
  message(STATUS "Ember: NCCL backend ON (NCCL ${_ember_nccl_version}, ${EMBER_NCCL_LIBRARY})")
elseif(EMBER_NCCL STREQUAL "ON")
  message(FATAL_ERROR "EMBER_NCCL=ON but the NCCL backend cannot be built: ${_ember_nccl_off}")
else()
  message(STATUS "Ember: NCCL backend OFF (${_ember_nccl_off})")
endif()
