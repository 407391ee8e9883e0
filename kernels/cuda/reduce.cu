// CUDA reductions: sum, max, min, argmax and argmin over any dims, on any
// strides. Deterministic: the same input gives the same bits on every run.
// Note [Kernels then launchers] in device.h.
//
// The input's elements fall into O groups (one per output element) of R
// elements each (the reduced dims). Three shapes of work:
//   * many small groups: one thread per group, adding its R elements in
//     order (reduce_thread_kernel);
//   * fewer, larger groups: one block per group; thread t takes elements t,
//     t + blockDim, ... in order, then the block combines the partials with
//     warp shuffles and one step through shared memory, always in the same
//     tree (reduce_block_kernel);
//   * a few huge groups (a sum over everything): each group cut into chunks
//     of kChunk elements, a block per (group, chunk) writes a partial, and a
//     second launch adds each group's partials in chunk order. kChunk is
//     fixed, not sized to the GPU, so the result is the same on any GPU.
// Floating sums accumulate in double, as on the CPU.
#include <limits>
#include <type_traits>

#include "launchers.h"
#include "runtime.h"

namespace ember::kernels::cuda {

namespace {

constexpr int64_t kChunk = 64 * 1024;
constexpr int kReduceBlock = 256;

// ---- what each reduction keeps, and how two partial results combine ----

template <typename T>
struct SumOp {
  using Acc = std::conditional_t<std::is_floating_point_v<T>, double, T>;
  struct Value {
    Acc v;
  };
  static EMBER_HD Value identity() { return {Acc(0)}; }
  static EMBER_HD Value load(T x, int64_t) { return {Acc(x)}; }
  static EMBER_HD Value combine(Value a, Value b) { return {a.v + b.v}; }
  static EMBER_HD T result(Value a) { return static_cast<T>(a.v); }
  static __device__ Value shfl_down(Value a, int delta) { return {warp_shfl_down(a.v, delta)}; }
  using Out = T;
};

// max (is_max) or min; NaN wins, as torch.amax and the CPU.
template <typename T, bool is_max>
struct ExtremeOp {
  struct Value {
    T v;
    bool any;  // false for the identity: no element seen yet
  };
  static EMBER_HD Value identity() { return {T(0), false}; }
  static EMBER_HD Value load(T x, int64_t) { return {x, true}; }
  static EMBER_HD Value combine(Value a, Value b) {
    if (!a.any) return b;
    if (!b.any) return a;
    return {is_max ? dm::max(a.v, b.v) : dm::min(a.v, b.v), true};
  }
  static EMBER_HD T result(Value a) { return a.v; }
  static __device__ Value shfl_down(Value a, int delta) {
    return {warp_shfl_down(a.v, delta), warp_shfl_down(a.any, delta)};
  }
  using Out = T;
};

// argmax (is_max) or argmin: the position of the first extreme; a NaN beats
// any number, and the first NaN wins. The choice depends only on (value,
// position), never on the order of combining.
template <typename T, bool is_max>
struct ArgOp {
  struct Value {
    T v;
    int64_t i;  // -1 for the identity
  };
  static EMBER_HD Value identity() { return {T(0), -1}; }
  static EMBER_HD Value load(T x, int64_t i) { return {x, i}; }
  static EMBER_HD Value combine(Value a, Value b) {
    if (a.i < 0) return b;
    if (b.i < 0) return a;
    const bool na = dm::isnan(a.v), nb = dm::isnan(b.v);
    if (na || nb) return (na && (!nb || a.i < b.i)) ? a : b;
    const bool a_better = is_max ? a.v > b.v : a.v < b.v;
    if (a_better) return a;
    if (a.v == b.v) return a.i < b.i ? a : b;
    return b;
  }
  static EMBER_HD int64_t result(Value a) { return a.i; }
  static __device__ Value shfl_down(Value a, int delta) {
    return {warp_shfl_down(a.v, delta), warp_shfl_down(a.i, delta)};
  }
  using Out = int64_t;
};

// The value at position r of the group whose first element is a[base].
template <typename Op, typename T>
EMBER_HD typename Op::Value load_at(const T* a, int64_t base, const Indexer<1>& inner, int64_t r) {
  int64_t off[1];
  inner.offsets(r, off);
  return Op::load(a[base + off[0]], r);
}

// A warp's 32 partial results combined into lane 0's: a tree of shuffles
// (lane l takes lane l + delta's), the same tree on every run.
template <typename Op>
__device__ typename Op::Value warp_combine(typename Op::Value v) {
  for (int delta = 16; delta > 0; delta /= 2) {
    const typename Op::Value other = Op::shfl_down(v, delta);
    if (threadIdx.x % 32 + delta < 32) v = Op::combine(v, other);
  }
  return v;
}

// ---- kernels ----

// One thread per group, its R elements in order.
template <typename Op, typename T>
__global__ void reduce_thread_kernel(typename Op::Out* out, const T* a, Indexer<2> outer, Indexer<1> inner,
                                     int64_t groups, int64_t r_count) {
  EMBER_GRID_STRIDE_LOOP(o, groups) {
    int64_t off[2];
    outer.offsets(o, off);
    typename Op::Value acc = Op::identity();
    for (int64_t r = 0; r < r_count; ++r) acc = Op::combine(acc, load_at<Op>(a, off[1], inner, r));
    out[off[0]] = Op::result(acc);
  }
}

// One block per (group, chunk): the block's threads stride over the chunk,
// then combine as a fixed tree (warps by shuffles, then warp 0 over the
// warps' results from shared memory). `partial`, when not null, receives one
// Value per (group, chunk) instead of the result.
template <typename Op, typename T>
__global__ void reduce_block_kernel(typename Op::Out* out, typename Op::Value* partial, const T* a, Indexer<2> outer,
                                    Indexer<1> inner, int64_t groups, int64_t r_count, int64_t chunks) {
  __shared__ typename Op::Value warp_results[32];
  for (int64_t job = blockIdx.x; job < groups * chunks; job += gridDim.x) {
    const int64_t o = job / chunks, c = job % chunks;
    int64_t off[2];
    outer.offsets(o, off);
    const int64_t first = c * kChunk, last = first + kChunk < r_count ? first + kChunk : r_count;
    typename Op::Value acc = Op::identity();
    for (int64_t r = first + threadIdx.x; r < last; r += blockDim.x)
      acc = Op::combine(acc, load_at<Op>(a, off[1], inner, r));
    acc = warp_combine<Op>(acc);
    if (threadIdx.x % 32 == 0) warp_results[threadIdx.x / 32] = acc;
    __syncthreads();
    if (threadIdx.x < 32) {
      acc = threadIdx.x < blockDim.x / 32 ? warp_results[threadIdx.x] : Op::identity();
      acc = warp_combine<Op>(acc);
      if (threadIdx.x == 0) {
        if (partial) partial[job] = acc;
        else out[off[0]] = Op::result(acc);
      }
    }
    __syncthreads();  // warp_results is reused by the block's next job
  }
}

// Each group's chunk partials, added in chunk order.
template <typename Op>
__global__ void reduce_partials_kernel(typename Op::Out* out, const typename Op::Value* partial, Indexer<2> outer,
                                       int64_t groups, int64_t chunks) {
  EMBER_GRID_STRIDE_LOOP(o, groups) {
    int64_t off[2];
    outer.offsets(o, off);
    typename Op::Value acc = Op::identity();
    for (int64_t c = 0; c < chunks; ++c) acc = Op::combine(acc, partial[o * chunks + c]);
    out[off[0]] = Op::result(acc);
  }
}

template <typename Op, typename T>
void run_reduce(const ExecContext& ctx, const TensorView& out, const TensorView& a) {
  // Outer: the groups (out's shape; out and a strides). Inner: positions
  // within a group (the reduced dims; a's strides).
  Shape inner_shape(a.shape.size(), 1);
  Strides reduced_strides(a.shape.size(), 0);
  for (size_t d = 0; d < a.shape.size(); ++d)
    if (out.shape[d] != a.shape[d]) {
      inner_shape[d] = a.shape[d];
      reduced_strides[d] = a.strides[d];
    }
  Strides a_outer_strides = a.strides;
  for (size_t d = 0; d < a.shape.size(); ++d)
    if (out.shape[d] != a.shape[d]) a_outer_strides[d] = 0;
  const Indexer<2> outer = make_indexer<2>(out.shape, {&out.strides, &a_outer_strides}, "reduce");
  const Indexer<1> inner = make_indexer<1>(inner_shape, {&reduced_strides}, "reduce");
  const int64_t groups = numel(out.shape), r_count = numel(inner_shape);
  using Out = typename Op::Out;
  if (r_count <= 64 && groups >= 256) {
    const Shape1d s = shape_for(groups);
    return launch(reduce_thread_kernel<Op, T>, s.grid, s.block, 0, ctx.stream, out.ptr<Out>(), a.ptr<T>(), outer,
                  inner, groups, r_count);
  }
  const int64_t chunks = std::max<int64_t>(1, (r_count + kChunk - 1) / kChunk);
  const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(groups * chunks, kMaxBlocks * 16));
  if (chunks == 1)
    return launch(reduce_block_kernel<Op, T>, dim3(blocks), dim3(kReduceBlock), 0, ctx.stream, out.ptr<Out>(),
                  static_cast<typename Op::Value*>(nullptr), a.ptr<T>(), outer, inner, groups, r_count, chunks);
  using Value = typename Op::Value;
  CachingAllocator& alloc = device_allocator(ctx.device.index);
  const size_t bytes = static_cast<size_t>(groups * chunks) * sizeof(Value);
  Value* partial = static_cast<Value*>(alloc.allocate(bytes));
  launch(reduce_block_kernel<Op, T>, dim3(blocks), dim3(kReduceBlock), 0, ctx.stream, out.ptr<Out>(), partial,
         a.ptr<T>(), outer, inner, groups, r_count, chunks);
  const Shape1d s = shape_for(groups);
  launch(reduce_partials_kernel<Op>, s.grid, s.block, 0, ctx.stream, out.ptr<Out>(), partial, outer, groups, chunks);
  alloc.deallocate(partial, bytes);  // stream-ordered: the next user of the block runs after these kernels
}

}  // namespace

// ---- launchers ----

void reduce(const ExecContext& ctx, ReduceOp op, const TensorView& out, const TensorView& a) {
  if (numel(out.shape) == 0) return;
  EMBER_DISPATCH_ALL(a.dtype, "reduce", [&] {
    using T = scalar_t;
    switch (op) {
      case ReduceOp::Sum:
        if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, uint8_t>)
          throw DTypeError("reduce: the ops layer sums bool and uint8 as int64");
        else return run_reduce<SumOp<T>, T>(ctx, out, a);
      case ReduceOp::Max: return run_reduce<ExtremeOp<T, true>, T>(ctx, out, a);
      case ReduceOp::Min: return run_reduce<ExtremeOp<T, false>, T>(ctx, out, a);
      case ReduceOp::ArgMax: return run_reduce<ArgOp<T, true>, T>(ctx, out, a);
      case ReduceOp::ArgMin: return run_reduce<ArgOp<T, false>, T>(ctx, out, a);
    }
  });
}

}  // namespace ember::kernels::cuda
