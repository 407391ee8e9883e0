// The SIMT emulator, device side: what a CUDA kernel source sees when the
// host compiler builds it (EMBER_SIMT; see docs/cuda.md).
//
// Note [SIMT emulator]
// Ember's CUDA kernels (kernels/cuda/*.cu) are also compiled by g++ and run
// on the CPU, so that every CI run tests them, under AddressSanitizer too,
// on machines without a GPU. A kernel keeps plain CUDA syntax; this header
// gives that syntax a meaning on the CPU:
//   * each block runs on one OS thread (blocks run in parallel over Ember's
//     thread pool), and each of its threads is a fiber (a ucontext with its
//     own stack): a thread runs until it reaches a barrier, then the next;
//   * threadIdx, blockIdx, blockDim and gridDim read the running fiber's
//     indices; warpSize is 32;
//   * __syncthreads() suspends the fiber until every thread of the block
//     has reached it: a barrier reached by only part of the block, or two
//     different __syncthreads of one block, is an error naming both places;
//   * __shared__ is `static thread_local`: one copy per OS thread, shared by
//     the fibers of the block running there; dynamic shared memory is one
//     macro, EMBER_DYNAMIC_SHARED(type, name);
//   * warp shuffles, ballot, any and all are a barrier over the lanes of the
//     mask (not the block), with the values exchanged through a per-warp
//     slot array;
//   * atomics are std::atomic_ref (blocks on different OS threads race as
//     they would on a GPU);
//   * float4 and int4 are alignas(16), so UBSan's alignment check catches a
//     misaligned vector load.
// Between two barriers the threads run one after another, warp by warp, a
// warp running ahead through its own shuffles (Note [Warps run ahead] in
// scheduler.cpp), in an order that EMBER_SIMT_SCHEDULE sets (forward,
// reverse, random:SEED): a missing __syncthreads shows as a wrong result
// under one order or another. What it
// cannot show: memory-ordering races (fibers never interleave inside a
// step), performance, inline PTX and tensor cores (docs/cuda.md). cp.async
// through __pipeline_memcpy_async is emulated, its copies deferred to the
// wait (Note [cp.async on the emulator] in scheduler.cpp).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace ember::simt {

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

// What the running (emulated) thread sees; the scheduler points tls_view at
// the fiber it resumes.
struct ThreadView {
  dim3 thread_idx{0, 0, 0}, block_idx{0, 0, 0}, block_dim, grid_dim;
};
extern thread_local const ThreadView* tls_view;
inline const ThreadView& view() { return *tls_view; }

// Suspends the calling thread until the whole block arrives (`file`:`line`
// name the call for the divergence checks).
void sync_threads(const char* file, int line);
// The block's dynamic shared memory (the launch's shared_bytes).
void* dynamic_shared_memory();
// cp.async (Note [cp.async on the emulator] in scheduler.cpp): the copy is
// queued, and happens in the wait that covers its group.
void pipeline_memcpy_async(void* dst, const void* src, size_t bytes, size_t zfill, const char* file, int line);
void pipeline_commit();
void pipeline_wait_prior(size_t newest_left);

// One warp-level exchange: every lane of `mask` offers `bits` and receives
// the bits offered by lane `src_lane` (the lane's own when src_lane < 0).
uint64_t warp_exchange(unsigned mask, uint64_t bits, int src_lane, const char* file, int line);
// Ballot: bit k set when lane k of the mask passed `pred`.
unsigned warp_ballot(unsigned mask, bool pred, const char* file, int line);
// The calling thread's lane in its warp.
inline int lane_id() {
  const ThreadView& v = view();
  const unsigned linear = v.thread_idx.x + v.block_dim.x * (v.thread_idx.y + v.block_dim.y * v.thread_idx.z);
  return static_cast<int>(linear % 32);
}

template <typename T>
uint64_t to_bits(T v) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>, "shuffles move values of up to 8 bytes");
  uint64_t b = 0;
  std::memcpy(&b, &v, sizeof(T));
  return b;
}
template <typename T>
T from_bits(uint64_t b) {
  T v;
  std::memcpy(&v, &b, sizeof(T));
  return v;
}

// The source lane of each shuffle, within segments of `width` lanes.
inline int shfl_src(int lane, int src, int width) { return (lane / width) * width + (src % width + width) % width; }
inline int shfl_down_src(int lane, int delta, int width) {
  return (lane % width) + delta < width ? lane + delta : -1;
}
inline int shfl_up_src(int lane, int delta, int width) { return (lane % width) >= delta ? lane - delta : -1; }
inline int shfl_xor_src(int lane, int mask, int width) {
  const int src = lane ^ mask;
  return src / width == lane / width ? src : -1;
}

}  // namespace ember::simt

// ---- CUDA's names, on the CPU ----

using dim3 = ::ember::simt::dim3;
#define threadIdx (::ember::simt::view().thread_idx)
#define blockIdx (::ember::simt::view().block_idx)
#define blockDim (::ember::simt::view().block_dim)
#define gridDim (::ember::simt::view().grid_dim)
#define warpSize 32
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __restrict__ __restrict
#define __shared__ static thread_local
#define __syncthreads() ::ember::simt::sync_threads(__FILE__, __LINE__)
#define __pipeline_memcpy_async(dst, src, ...) \
  ::ember::simt::pipeline_memcpy_async_impl(dst, src, __FILE__, __LINE__, __VA_ARGS__)
#define __pipeline_commit() ::ember::simt::pipeline_commit()
#define __pipeline_wait_prior(n) ::ember::simt::pipeline_wait_prior(n)
#define EMBER_DYNAMIC_SHARED(type, name) type* name = static_cast<type*>(::ember::simt::dynamic_shared_memory())

#define __shfl_sync(mask, v, src, ...) \
  ::ember::simt::shfl_sync_impl(mask, v, src, ::ember::simt::width_or_warp(__VA_ARGS__ + 0), 0, __FILE__, __LINE__)
#define __shfl_down_sync(mask, v, d, ...) \
  ::ember::simt::shfl_sync_impl(mask, v, d, ::ember::simt::width_or_warp(__VA_ARGS__ + 0), 1, __FILE__, __LINE__)
#define __shfl_up_sync(mask, v, d, ...) \
  ::ember::simt::shfl_sync_impl(mask, v, d, ::ember::simt::width_or_warp(__VA_ARGS__ + 0), 2, __FILE__, __LINE__)
#define __shfl_xor_sync(mask, v, m, ...) \
  ::ember::simt::shfl_sync_impl(mask, v, m, ::ember::simt::width_or_warp(__VA_ARGS__ + 0), 3, __FILE__, __LINE__)
#define __ballot_sync(mask, pred) ::ember::simt::warp_ballot(mask, (pred) != 0, __FILE__, __LINE__)
#define __any_sync(mask, pred) (::ember::simt::warp_ballot(mask, (pred) != 0, __FILE__, __LINE__) != 0u)
#define __all_sync(mask, pred) \
  (::ember::simt::warp_ballot(mask, (pred) != 0, __FILE__, __LINE__) == ::ember::simt::live_lanes(mask))

namespace ember::simt {

// A shuffle's width argument (optional in CUDA; 0 here means "not given").
constexpr int width_or_warp(int width) { return width == 0 ? 32 : width; }

// kind: 0 = shfl (from lane `arg`), 1 = down, 2 = up, 3 = xor.
template <typename T>
T shfl_sync_impl(unsigned mask, T v, int arg, int width, int kind, const char* file, int line) {
  const int lane = lane_id();
  int src = kind == 0 ? shfl_src(lane, arg, width)
            : kind == 1 ? shfl_down_src(lane, arg, width)
            : kind == 2 ? shfl_up_src(lane, arg, width)
                        : shfl_xor_src(lane, arg, width);
  return from_bits<T>(warp_exchange(mask, to_bits(v), src, file, line));
}

// The lanes of `mask` that exist in the calling thread's warp.
unsigned live_lanes(unsigned mask);

// __pipeline_memcpy_async(dst, src, size[, zfill]), with the call's place.
inline void pipeline_memcpy_async_impl(void* dst, const void* src, const char* file, int line, size_t bytes,
                                       size_t zfill = 0) {
  pipeline_memcpy_async(dst, src, bytes, zfill, file, line);
}

}  // namespace ember::simt

// ---- atomics: std::atomic_ref, as a GPU's are atomic across blocks ----

#include <atomic>

template <typename T>
inline T atomicAdd(T* address, T value) {
  return std::atomic_ref<T>(*address).fetch_add(value, std::memory_order_relaxed);
}
template <typename T>
inline T atomicMax(T* address, T value) {
  std::atomic_ref<T> a(*address);
  T old = a.load(std::memory_order_relaxed);
  while (old < value && !a.compare_exchange_weak(old, value, std::memory_order_relaxed)) {
  }
  return old;
}
template <typename T>
inline T atomicMin(T* address, T value) {
  std::atomic_ref<T> a(*address);
  T old = a.load(std::memory_order_relaxed);
  while (value < old && !a.compare_exchange_weak(old, value, std::memory_order_relaxed)) {
  }
  return old;
}
template <typename T>
inline T atomicCAS(T* address, T compare, T value) {
  std::atomic_ref<T>(*address).compare_exchange_strong(compare, value, std::memory_order_relaxed);
  return compare;  // the old value, whether or not it was replaced
}
template <typename T>
inline T atomicExch(T* address, T value) {
  return std::atomic_ref<T>(*address).exchange(value, std::memory_order_relaxed);
}

// ---- vector types and the intrinsics the kernels use ----

struct alignas(16) float4 {
  float x, y, z, w;
};
struct alignas(16) int4 {
  int x, y, z, w;
};
struct alignas(8) float2 {
  float x, y;
};
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }

template <typename T>
inline T __ldg(const T* p) {
  return *p;
}
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }
