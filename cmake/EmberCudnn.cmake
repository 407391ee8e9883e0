# The vendor backend cuda:cudnn (kernels/cudnn/): cuDNN 9 and cuBLAS, the
# reference and the baseline Ember's own CUDA kernels are measured against.
# EMBER_CUDNN selects it:
#   AUTO  built when the real CUDA backend is (EMBER_HAVE_NVCC: not the
#         emulator) and cuDNN 9 and cuBLAS are found;
#   ON    the same, and a missing piece is an error;
#   OFF   not built.
# The libraries are looked for in the CUDA toolkit first, then in the
# layout of pip's NVIDIA wheels (site-packages/nvidia/{cudnn,cublas,cu13}/
# {include,lib}), which ship only versioned files (libcudnn.so.9,
# libcublas.so.13), so those names are accepted too. The folders of the
# libraries found go into the binaries' RPATH, build and install, so they
# run without LD_LIBRARY_PATH.
#
# Sets EMBER_HAVE_CUDNN, EMBER_CUDNN_INCLUDE_DIRS and EMBER_CUDNN_LIBRARIES
# (kernels/CMakeLists.txt adds them to ember_kernels).
set(EMBER_CUDNN "AUTO" CACHE STRING "cuDNN/cuBLAS backend cuda:cudnn: AUTO, ON or OFF")
set_property(CACHE EMBER_CUDNN PROPERTY STRINGS AUTO ON OFF)
set(EMBER_HAVE_CUDNN OFF)
set(EMBER_CUDNN_INCLUDE_DIRS "")
set(EMBER_CUDNN_LIBRARIES "")

# The include and lib folders of pip's NVIDIA wheels (site-packages/
# nvidia/<package>/{include,lib}) for each package named after the two
# output variables, in every site-packages folder Python knows of (none
# when there is no python3). EmberMpi.cmake looks for NCCL with it too.
function(ember_nvidia_wheel_dirs include_var lib_var)
  execute_process(
    COMMAND python3 -c "import site; print(';'.join(site.getsitepackages() + [site.getusersitepackages()]))"
    OUTPUT_VARIABLE sites OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc ERROR_QUIET)
  if(NOT rc EQUAL 0)
    set(sites "")
  endif()
  set(includes "")
  set(libs "")
  foreach(site IN LISTS sites)
    foreach(pkg IN LISTS ARGN)
      list(APPEND includes "${site}/nvidia/${pkg}/include")
      list(APPEND libs "${site}/nvidia/${pkg}/lib")
    endforeach()
  endforeach()
  set(${include_var} "${includes}" PARENT_SCOPE)
  set(${lib_var} "${libs}" PARENT_SCOPE)
endfunction()

# Why the backend is not built ("" when it is).
set(_ember_cudnn_off "")
if(EMBER_CUDNN STREQUAL "OFF")
  set(_ember_cudnn_off "EMBER_CUDNN=OFF")
elseif(EMBER_CUDA_EMULATED)
  set(_ember_cudnn_off "EMBER_CUDA=EMULATE: the CUDA backend is the SIMT emulator")
elseif(NOT EMBER_HAVE_NVCC)
  set(_ember_cudnn_off "no real CUDA backend: EMBER_CUDA=${EMBER_CUDA}, or no nvcc")
else()
  ember_nvidia_wheel_dirs(_ember_wheel_include _ember_wheel_lib cudnn cublas cu13)

  # cuDNN: the header, then the library beside it first (a header and a
  # library of different releases would not match).
  find_path(EMBER_CUDNN_INCLUDE_DIR NAMES cudnn.h
    HINTS ${CUDAToolkit_INCLUDE_DIRS} ${CUDAToolkit_LIBRARY_ROOT}/include ${_ember_wheel_include})
  if(EMBER_CUDNN_INCLUDE_DIR)
    find_library(EMBER_CUDNN_LIBRARY NAMES cudnn libcudnn.so.9 NAMES_PER_DIR
      HINTS ${EMBER_CUDNN_INCLUDE_DIR}/../lib ${EMBER_CUDNN_INCLUDE_DIR}/../lib64 ${CUDAToolkit_LIBRARY_DIR}
            ${_ember_wheel_lib})
  endif()
  # cuBLAS: the toolkit's (CUDA::cublas), else a wheel's.
  find_path(EMBER_CUBLAS_INCLUDE_DIR cublas_api.h HINTS ${CUDAToolkit_INCLUDE_DIRS} ${_ember_wheel_include})
  set(_ember_cublas "")
  if(TARGET CUDA::cublas)
    set(_ember_cublas CUDA::cublas)
  else()
    find_library(EMBER_CUBLAS_LIBRARY NAMES cublas libcublas.so.13 NAMES_PER_DIR HINTS ${_ember_wheel_lib})
    find_library(EMBER_CUBLASLT_LIBRARY NAMES cublasLt libcublasLt.so.13 NAMES_PER_DIR HINTS ${_ember_wheel_lib})
    if(EMBER_CUBLAS_LIBRARY AND EMBER_CUBLASLT_LIBRARY)
      set(_ember_cublas ${EMBER_CUBLAS_LIBRARY} ${EMBER_CUBLASLT_LIBRARY})
    endif()
  endif()

  # The versions, from the headers.
  set(_ember_cudnn_version "")
  if(EMBER_CUDNN_INCLUDE_DIR AND EXISTS "${EMBER_CUDNN_INCLUDE_DIR}/cudnn_version.h")
    file(STRINGS "${EMBER_CUDNN_INCLUDE_DIR}/cudnn_version.h" _v
      REGEX "^#define CUDNN_(MAJOR|MINOR|PATCHLEVEL) +[0-9]+")
    foreach(_part MAJOR MINOR PATCHLEVEL)
      string(REGEX MATCH "CUDNN_${_part} +([0-9]+)" _m "${_v}")
      list(APPEND _ember_cudnn_version "${CMAKE_MATCH_1}")
    endforeach()
    list(JOIN _ember_cudnn_version "." _ember_cudnn_version)
  endif()
  set(_ember_cublas_version "?")
  if(EMBER_CUBLAS_INCLUDE_DIR)
    file(STRINGS "${EMBER_CUBLAS_INCLUDE_DIR}/cublas_api.h" _v REGEX "^#define CUBLAS_VER_(MAJOR|MINOR|PATCH) +[0-9]+")
    set(_ember_cublas_version "")
    foreach(_part MAJOR MINOR PATCH)
      string(REGEX MATCH "CUBLAS_VER_${_part} +([0-9]+)" _m "${_v}")
      list(APPEND _ember_cublas_version "${CMAKE_MATCH_1}")
    endforeach()
    list(JOIN _ember_cublas_version "." _ember_cublas_version)
  endif()

  if(NOT EMBER_CUDNN_INCLUDE_DIR)
    set(_ember_cudnn_off "cudnn.h not found in the CUDA toolkit or Python's nvidia/ wheels")
  elseif(NOT EMBER_CUDNN_LIBRARY)
    set(_ember_cudnn_off "libcudnn not found beside ${EMBER_CUDNN_INCLUDE_DIR}")
  elseif(NOT _ember_cudnn_version MATCHES "^9\\.")
    set(_ember_cudnn_off "cuDNN ${_ember_cudnn_version} found, 9 is needed")
  elseif(NOT _ember_cublas OR NOT EMBER_CUBLAS_INCLUDE_DIR)
    set(_ember_cudnn_off "cuBLAS not found")
  endif()
endif()

if(_ember_cudnn_off STREQUAL "")
  set(EMBER_HAVE_CUDNN ON)
  set(EMBER_CUDNN_INCLUDE_DIRS ${EMBER_CUDNN_INCLUDE_DIR} ${EMBER_CUBLAS_INCLUDE_DIR})
  set(EMBER_CUDNN_LIBRARIES ${EMBER_CUDNN_LIBRARY} ${_ember_cublas})
  foreach(_lib IN LISTS EMBER_CUDNN_LIBRARIES)
    if(TARGET ${_lib})
      get_target_property(_lib ${_lib} IMPORTED_LOCATION)
    endif()
    if(_lib)
      get_filename_component(_dir "${_lib}" DIRECTORY)
      list(APPEND CMAKE_BUILD_RPATH "${_dir}")
      list(APPEND CMAKE_INSTALL_RPATH "${_dir}")
    endif()
  endforeach()
  list(REMOVE_DUPLICATES CMAKE_BUILD_RPATH)
  list(REMOVE_DUPLICATES CMAKE_INSTALL_RPATH)
  message(STATUS "Ember: cuDNN backend ON (cuDNN ${_ember_cudnn_version}, ${EMBER_CUDNN_LIBRARY}; "
                 "cuBLAS ${_ember_cublas_version})")
elseif(EMBER_CUDNN STREQUAL "ON")
  message(FATAL_ERROR "EMBER_CUDNN=ON but the cuDNN backend cannot be built: ${_ember_cudnn_off}")
else()
  message(STATUS "Ember: cuDNN backend OFF (${_ember_cudnn_off})")
endif()
