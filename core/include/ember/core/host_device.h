// EMBER_HOST_DEVICE: marks a function that both the CPU code and the CUDA
// kernels call (core/philox.h, kernels/int_pow.h), so that they share one
// definition: __host__ __device__ under nvcc, nothing elsewhere (the SIMT
// emulator compiles kernels as plain C++).
#pragma once

#if defined(__CUDACC__)
#define EMBER_HOST_DEVICE __host__ __device__
#else
#define EMBER_HOST_DEVICE
#endif
