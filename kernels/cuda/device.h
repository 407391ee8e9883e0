// What every CUDA kernel file of Ember includes first (internal header): the
// CUDA runtime under nvcc, or the SIMT emulator under the host compiler
// (EMBER_SIMT; Note [SIMT emulator] in kernels/simt/simt.h), and the pieces
// the kernel families share: launch(), checked CUDA calls, strided indexing,
// grid sizes and the device-side error flag.
//
// Note [Kernels then launchers]
// Each kernel file (copy.cu, elementwise.cu, ...) holds one family: first
// its __global__ kernels, each with a comment on how the work is split
// across the grid, then the host launchers that check nothing (prim:: has
// checked everything, Note [One dispatch path]) and pick a launch shape.
// The same source is compiled by nvcc for the GPU and by g++ for the
// emulator, so it keeps plain CUDA syntax.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#ifdef EMBER_SIMT
#include "launch.h"
#else
#include <cuda_runtime.h>
#endif

#include "ember/core/backend.h"
#include "ember/core/error.h"

#ifdef EMBER_SIMT
#define EMBER_HD
#define EMBER_DEVICE
#else
#define EMBER_HD __host__ __device__
#define EMBER_DEVICE __device__
// One untyped array for every kernel (nvcc wants one type per extern
// __shared__ name), viewed as the type each kernel needs.
#define EMBER_DYNAMIC_SHARED(type, name)                             \
  extern __shared__ __align__(16) unsigned char ember_dynamic_shared[]; \
  type* name = reinterpret_cast<type*>(ember_dynamic_shared)
#endif

namespace ember::kernels::cuda {

// ---- checked calls ----

#ifndef EMBER_SIMT
// Every CUDA runtime call is checked; the message names the call, file and line.
#define EMBER_CUDA_CHECK(call)                                                                            \
  do {                                                                                                    \
    const cudaError_t err_ = (call);                                                                      \
    if (err_ != cudaSuccess)                                                                              \
      throw ::ember::DeviceError(::ember::detail::concat(#call, " failed: ", cudaGetErrorString(err_),    \
                                                         " at ", __FILE__, ":", __LINE__));               \
  } while (0)
#endif

// After a launch: the launch error (cudaGetLastError, in every build: it
// costs no synchronization), and with EMBER_CUDA_SYNC=1 a synchronize, so
// that a fault is reported at the launch that caused it. Defined in
// runtime.cpp.
void after_launch(void* stream, const char* file, int line);

// kernel<<<grid, block, shared_bytes, stream>>>(args...), checked, on the
// GPU or on the emulator.
#ifdef EMBER_SIMT
using simt::launch;  // the one in kernels/simt/launch.h (a wrapper would be ambiguous with it under ADL)
#elif defined(__CUDACC__)  // <<<...>>> is nvcc's; a .cpp file sees only the declarations
struct StreamAt {  // the stream, and the line of the launch (for after_launch)
  void* stream;
  const char* file;
  int line;
  StreamAt(void* s, const char* f = __builtin_FILE(), int l = __builtin_LINE()) : stream(s), file(f), line(l) {}
};
template <typename... Params, typename... Args>
void launch(void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared_bytes, StreamAt stream,
            Args&&... args) {
  kernel<<<grid, block, shared_bytes, static_cast<cudaStream_t>(stream.stream)>>>(std::forward<Args>(args)...);
  after_launch(stream.stream, stream.file, stream.line);
}
#endif

// ---- dtype dispatch without bool ----

// EMBER_DISPATCH_ALL less bool, for kernels that take no bool (unary ops).
// nvcc instantiates a kernel named inside a discarded `if constexpr` branch
// all the same (and warns that it has no definition), so such kernels are
// dispatched only over the dtypes they take.
#define EMBER_DISPATCH_NUMERIC(dtype, opname, ...)                                      \
  [&] {                                                                                 \
    switch (dtype) {                                                                    \
      EMBER_DISPATCH_CASE(::ember::DType::UInt8, uint8_t, __VA_ARGS__)                  \
      EMBER_DISPATCH_CASE(::ember::DType::Int64, int64_t, __VA_ARGS__)                  \
      EMBER_DISPATCH_CASE(::ember::DType::Float32, float, __VA_ARGS__)                  \
      EMBER_DISPATCH_CASE(::ember::DType::Float64, double, __VA_ARGS__)                 \
      default: break;                                                                   \
    }                                                                                   \
    throw ::ember::DTypeError(std::string(opname) + ": not defined for " + ::ember::dtype_name(dtype)); \
  }()

// ---- launch shapes ----

constexpr int kBlock = 256;  // threads per block for the elementwise kernels
// The emulator runs each thread as a fiber: fewer, busier threads there.
#ifdef EMBER_SIMT
constexpr int64_t kMaxBlocks = 16;
#else
constexpr int64_t kMaxBlocks = 4096;
#endif

// A grid-stride launch over n elements: blocks of up to kBlock threads (a
// whole number of warps), enough blocks for every element, capped (each
// thread then loops).
struct Shape1d {
  dim3 grid, block;
};
inline Shape1d shape_for(int64_t n) {
  const int64_t block = std::clamp<int64_t>((n + 31) / 32 * 32, 32, kBlock);
  const int64_t blocks = std::clamp<int64_t>((n + block - 1) / block, 1, kMaxBlocks);
  return {dim3(static_cast<unsigned>(blocks)), dim3(static_cast<unsigned>(block))};
}

// The grid-stride loop every elementwise kernel uses:
//   for (int64_t i = first_index(); i < n; i += grid_stride()) ...
#define EMBER_GRID_STRIDE_LOOP(i, n)                                                     \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n);             \
       i += int64_t(gridDim.x) * blockDim.x)

// ---- strided indexing ----

// Note [Strided indexing on the device]
// An elementwise kernel walks its output's elements in row-major order by a
// flat index, and finds each operand's element through that operand's
// strides: index -> (i_0, ..., i_{d-1}) -> sum_k i_k * stride_k. The host
// merges dims first (like kernels/cpu/loops.h), so a contiguous tensor is
// one dim and the division loop runs once. Up to kMaxDims dims remain.
constexpr int kMaxDims = 8;

template <int N>
struct Indexer {
  int ndim = 0;
  int64_t size[kMaxDims] = {};          // innermost first
  int64_t stride[kMaxDims][N] = {};     // stride[k][t]: operand t along dim k
  // Element offsets of the N operands at flat index i.
  EMBER_HD void offsets(int64_t i, int64_t (&out)[N]) const {
    for (int t = 0; t < N; ++t) out[t] = 0;
    for (int k = 0; k < ndim; ++k) {
      const int64_t c = i % size[k];
      i /= size[k];
      for (int t = 0; t < N; ++t) out[t] += c * stride[k][t];
    }
  }
};

// The merged iteration space of N operands of one shape; DeviceError if
// more than kMaxDims dims remain.
template <int N>
Indexer<N> make_indexer(const Shape& shape, const std::array<const Strides*, N>& strides, const char* op) {
  Indexer<N> ix;
  for (size_t d = shape.size(); d-- > 0;) {
    if (shape[d] == 1) continue;
    if (ix.ndim > 0) {
      bool mergeable = true;
      for (int t = 0; t < N; ++t) mergeable &= (*strides[t])[d] == ix.stride[ix.ndim - 1][t] * ix.size[ix.ndim - 1];
      if (mergeable) {
        ix.size[ix.ndim - 1] *= shape[d];
        continue;
      }
    }
    EMBER_CHECK(ix.ndim < kMaxDims, DeviceError, op, ": a tensor of shape ", shape_str(shape),
                " has more than ", kMaxDims, " dims after merging, more than the CUDA kernels take");
    ix.size[ix.ndim] = shape[d];
    for (int t = 0; t < N; ++t) ix.stride[ix.ndim][t] = (*strides[t])[d];
    ++ix.ndim;
  }
  return ix;
}

// Whether every operand is laid out contiguously in the merged space (one
// dim of stride 1): the kernels then index with i itself.
template <int N>
bool all_contiguous(const Indexer<N>& ix) {
  if (ix.ndim == 0) return true;
  if (ix.ndim > 1) return false;
  for (int t = 0; t < N; ++t)
    if (ix.stride[0][t] != 1) return false;
  return true;
}

// ---- the device-side error flag ----

// Note [Device error flag]
// A kernel that meets a bad value (an index out of range) cannot throw, and
// checking on the host after every launch would cost a synchronization.
// It records the first problem in a small struct in device memory instead
// (atomicCAS on `code`), and the host reads it the next time data reaches
// it (copy_to_host, synchronize), throwing an IndexError that names the op.
enum class DeviceErrorCode : int { None = 0, IndexSelect, IndexAdd, Gather, ScatterAdd, CrossEntropy };
struct DeviceErrorFlag {
  int code;       // DeviceErrorCode; 0 while all is well
  int64_t value;  // the bad index
  int64_t bound;  // the size it had to stay below
};

// The flag of `device` (runtime.cpp), for the launchers to pass to kernels.
DeviceErrorFlag* error_flag(int device);

// The rest is device code, seen by nvcc and the emulator, not by the
// runtime's .cpp files under the real toolkit.
#if defined(EMBER_SIMT) || defined(__CUDACC__)
EMBER_DEVICE inline void report_index_error(DeviceErrorFlag* flag, DeviceErrorCode code, int64_t value, int64_t bound) {
  if (atomicCAS(&flag->code, 0, static_cast<int>(code)) == 0) {
    flag->value = value;
    flag->bound = bound;
  }
}

// ---- warp shuffles of any of Ember's element types ----

// __shfl_down_sync over the full warp for bool, uint8, int64, float and
// double (nvcc's overloads take 4- and 8-byte types only).
template <typename T>
EMBER_DEVICE inline T warp_shfl_down(T v, int delta) {
  if constexpr (sizeof(T) < 4) return static_cast<T>(__shfl_down_sync(0xFFFFFFFFu, static_cast<int>(v), delta));
  else if constexpr (std::is_same_v<T, int64_t>)
    return static_cast<int64_t>(__shfl_down_sync(0xFFFFFFFFu, static_cast<long long>(v), delta));
  else return __shfl_down_sync(0xFFFFFFFFu, v, delta);
}
#endif  // EMBER_SIMT || __CUDACC__

}  // namespace ember::kernels::cuda

// ---- math that reads the same under nvcc and g++ ----

#if defined(EMBER_SIMT) || defined(__CUDACC__)
namespace ember::kernels::cuda::dm {
// The C library's names exist as device functions under nvcc and as host
// functions everywhere; these overloads pick the float or double one.
EMBER_HD inline float exp(float x) { return expf(x); }
EMBER_HD inline double exp(double x) { return ::exp(x); }
EMBER_HD inline float log(float x) { return logf(x); }
EMBER_HD inline double log(double x) { return ::log(x); }
EMBER_HD inline float log1p(float x) { return log1pf(x); }
EMBER_HD inline double log1p(double x) { return ::log1p(x); }
EMBER_HD inline float sqrt(float x) { return sqrtf(x); }
EMBER_HD inline double sqrt(double x) { return ::sqrt(x); }
EMBER_HD inline float tanh(float x) { return tanhf(x); }
EMBER_HD inline double tanh(double x) { return ::tanh(x); }
EMBER_HD inline float erf(float x) { return erff(x); }
EMBER_HD inline double erf(double x) { return ::erf(x); }
EMBER_HD inline float pow(float x, float y) { return powf(x, y); }
EMBER_HD inline double pow(double x, double y) { return ::pow(x, y); }
EMBER_HD inline float cos(float x) { return cosf(x); }
EMBER_HD inline double cos(double x) { return ::cos(x); }
EMBER_HD inline float sin(float x) { return sinf(x); }
EMBER_HD inline double sin(double x) { return ::sin(x); }
template <typename T>
EMBER_HD inline bool isnan(T x) {
  return x != x;
}
// NaN-propagating max and min, as torch.maximum and the CPU kernels.
template <typename T>
EMBER_HD inline T max(T a, T b) {
  if (isnan(a) || isnan(b)) return isnan(a) ? a : b;
  return a > b ? a : b;
}
template <typename T>
EMBER_HD inline T min(T a, T b) {
  if (isnan(a) || isnan(b)) return isnan(a) ? a : b;
  return a < b ? a : b;
}
}  // namespace ember::kernels::cuda::dm

namespace ember::kernels::cuda {
// The maximum (NaN-propagating) and the sum of the warp's 32 values, in
// every lane: butterfly shuffles, the same tree on every run.
template <typename T>
EMBER_DEVICE T warp_all_max(T v) {
  for (int m = 16; m > 0; m /= 2) v = dm::max(v, __shfl_xor_sync(0xFFFFFFFFu, v, m));
  return v;
}
template <typename T>
EMBER_DEVICE T warp_all_sum(T v) {
  for (int m = 16; m > 0; m /= 2) v += __shfl_xor_sync(0xFFFFFFFFu, v, m);
  return v;
}

// The sum of v over the block, in every thread: each warp's butterfly, then
// warp 0 adds the warps' sums in order; the same tree on every run. Every
// thread of the block must call it (it holds two barriers); `scratch` is
// __shared__ room for one value per warp plus one. blockDim.x must be a
// multiple of 32, at most 32 warps.
template <typename T>
EMBER_DEVICE T block_all_sum(T v, T* scratch) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  v = warp_all_sum(v);
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  if (warp == 0) {
    T total = lane < warps ? scratch[lane] : T(0);
    total = warp_all_sum(total);
    if (lane == 0) scratch[32] = total;
  }
  __syncthreads();
  return scratch[32];
}
}  // namespace ember::kernels::cuda
#endif  // EMBER_SIMT || __CUDACC__
