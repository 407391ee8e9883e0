// CUDA softmax and log-softmax along one dim of a contiguous tensor.
// Note [Kernels then launchers] in device.h.
//
// The tensor is (outer, size, inner) around the dim: row r = (o, i) holds
// the `size` elements at (o * size + k) * inner + i. Two shapes of work:
//   * rows up to 1024 long: one warp per row; the lanes stride over it,
//     find the maximum and the sum of exp(x - max) with butterfly shuffles
//     (every lane ends with the row's values), then write;
//   * longer rows: one block per row, and an online softmax: each thread
//     keeps (m, s), the largest element it has seen and the sum of exp(x -
//     m) so far, rescaling s when m grows, so the row is read twice, not
//     three times; the block combines the pairs through shared memory.
// As on the CPU, a row holding NaN or +inf, or all -inf, comes out all NaN.
#include <type_traits>

#include "launchers.h"

namespace ember::kernels::cuda {

namespace {

constexpr int kWarpRowsPerBlock = 4;  // 128-thread blocks, a warp per row
constexpr int kLongRow = 1024;
constexpr int kRowBlock = 256;

// ---- kernels ----

// One warp per row; `rows` = outer * inner.
template <typename T>
__global__ void softmax_warp_kernel(T* out, const T* x, int64_t rows, int64_t size, int64_t inner, bool log) {
  const int lane = threadIdx.x % 32;
  for (int64_t row = int64_t(blockIdx.x) * kWarpRowsPerBlock + threadIdx.x / 32; row < rows;
       row += int64_t(gridDim.x) * kWarpRowsPerBlock) {
    const int64_t base = (row / inner) * size * inner + row % inner;
    T m = -INFINITY;
    for (int64_t k = lane; k < size; k += 32) m = dm::max(m, x[base + k * inner]);
    m = warp_all_max(m);
    T s = 0;
    for (int64_t k = lane; k < size; k += 32) s += dm::exp(x[base + k * inner] - m);
    s = warp_all_sum(s);
    const T log_s = dm::log(s);
    for (int64_t k = lane; k < size; k += 32) {
      const T shifted = x[base + k * inner] - m;
      out[base + k * inner] = log ? shifted - log_s : dm::exp(shifted) / s;
    }
  }
}

// A running (max, sum of exp(x - max)) pair; s == 0 marks "nothing seen".
template <typename T>
struct Online {
  T m, s;
};
template <typename T>
EMBER_HD Online<T> add(Online<T> a, T x) {
  if (a.s == 0) return {x, T(1)};
  if (dm::isnan(x) || dm::isnan(a.m)) return {x + a.m, x + a.m};  // NaN from here on
  if (x > a.m) return {x, a.s * dm::exp(a.m - x) + T(1)};
  return {a.m, a.s + dm::exp(x - a.m)};
}
template <typename T>
EMBER_HD Online<T> merge(Online<T> a, Online<T> b) {
  if (a.s == 0) return b;
  if (b.s == 0) return a;
  const T m = dm::max(a.m, b.m);
  return {m, a.s * dm::exp(a.m - m) + b.s * dm::exp(b.m - m)};
}

// One block per row, online.
template <typename T>
__global__ void softmax_block_kernel(T* out, const T* x, int64_t rows, int64_t size, int64_t inner, bool log) {
  __shared__ T ms[kRowBlock], ss[kRowBlock];
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const int64_t base = (row / inner) * size * inner + row % inner;
    Online<T> acc{T(0), T(0)};
    for (int64_t k = threadIdx.x; k < size; k += blockDim.x) acc = add(acc, x[base + k * inner]);
    ms[threadIdx.x] = acc.m;
    ss[threadIdx.x] = acc.s;
    __syncthreads();
    for (unsigned stride = blockDim.x / 2; stride > 0; stride /= 2) {  // a fixed tree over the threads
      if (threadIdx.x < stride) {
        const Online<T> merged = merge(Online<T>{ms[threadIdx.x], ss[threadIdx.x]},
                                       Online<T>{ms[threadIdx.x + stride], ss[threadIdx.x + stride]});
        ms[threadIdx.x] = merged.m;
        ss[threadIdx.x] = merged.s;
      }
      __syncthreads();
    }
    const T m = ms[0], s = ss[0], log_s = dm::log(s);
    for (int64_t k = threadIdx.x; k < size; k += blockDim.x) {
      const T shifted = x[base + k * inner] - m;
      out[base + k * inner] = log ? shifted - log_s : dm::exp(shifted) / s;
    }
    __syncthreads();  // ms and ss are reused for the block's next row
  }
}

}  // namespace

// ---- launchers ----

void softmax(const ExecContext& ctx, const TensorView& out, const TensorView& a, int64_t dim, bool log) {
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < static_cast<int64_t>(a.shape.size()); ++d) {
    if (d < dim) outer *= a.shape[d];
    if (d > dim) inner *= a.shape[d];
  }
  const int64_t size = a.shape.empty() ? 1 : a.shape[dim], rows = outer * inner;
  if (rows == 0 || size == 0) return;
  EMBER_DISPATCH_FLOATING(a.dtype, "softmax", [&] {
    using T = scalar_t;
    if (size <= kLongRow) {
      const unsigned blocks =
          static_cast<unsigned>(std::min<int64_t>((rows + kWarpRowsPerBlock - 1) / kWarpRowsPerBlock, kMaxBlocks * 16));
      launch(softmax_warp_kernel<T>, dim3(blocks), dim3(32 * kWarpRowsPerBlock), 0, ctx.stream, out.ptr<T>(),
             a.ptr<T>(), rows, size, inner, log);
    } else {
      const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(rows, kMaxBlocks * 16));
      launch(softmax_block_kernel<T>, dim3(blocks), dim3(kRowBlock), 0, ctx.stream, out.ptr<T>(), a.ptr<T>(), rows,
             size, inner, log);
    }
  });
}

}  // namespace ember::kernels::cuda
