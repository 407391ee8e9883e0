// CPU convolution as im2col + GEMM, forward and both backwards.
//
// With cols = im2col(x), (N, C_in*kh*kw, L) for L = out_h*out_w output
// positions, group gi of the convolution is, per image n,
//   y[n, gi]       (C_out/g, L)   = W[gi] (C_out/g, K) @ cols[n, gi] (K, L)
//   grad_cols[n, gi] (K, L)       = W[gi]^T @ grad_y[n, gi]         then col2im
//   grad_W[gi]     (C_out/g, K)   = sum_n grad_y[n, gi] @ cols[n, gi]^T
// with K = (C_in/g)*kh*kw. Every operand is a strided view of a contiguous
// buffer, so the GEMM (gemm.cpp) reads them in place. The bias is written
// into y first and the forward GEMM accumulates onto it (beta = 1), which
// saves a pass.
//
// Parallel split (Note [Deterministic parallel kernels]): the per-image
// GEMMs run side by side when small and in turn (each multi-threaded) when
// large (for_each_gemm). The weight gradient sums over images in fixed
// chunks of kImagesPerChunk, whose partial sums are added in chunk order in
// double, so its bits do not depend on the thread count either.
#include <algorithm>

#include "cpu_backend.h"
#include "ember/kernels/gemm.h"
#include "loops.h"

namespace ember::kernels::cpu {

namespace {

constexpr int64_t kImagesPerChunk = 4;

// The sizes every conv entry shares.
struct ConvShape {
  int64_t n, c_in, c_out, groups, cg_in, cg_out, k, l;
  ConvShape(const Shape& x, const Shape& w, const WindowGeometry& g, int64_t groups_)
      : n(x[0]), c_in(x[1]), c_out(w[0]), groups(groups_), cg_in(x[1] / groups_), cg_out(w[0] / groups_),
        k(x[1] / groups_ * g.kh * g.kw), l(g.out_h * g.out_w) {}
  int64_t cols_per_image() const { return groups * k * l; }
};

TensorView cols_view(void* data, DType dtype, const ConvShape& s) {
  return TensorView{data, dtype, {s.n, s.groups * s.k, s.l}, contiguous_strides({s.n, s.groups * s.k, s.l})};
}

}  // namespace

void CpuBackend::conv2d_forward(const ExecContext& ctx, const TensorView& y, const TensorView& x,
                                const TensorView& weight, const OptionalView& bias, const WindowGeometry& g,
                                int64_t groups) {
  const ConvShape s(x.shape, weight.shape, g, groups);
  EMBER_DISPATCH_FLOATING(x.dtype, "conv2d", [&] {
    using T = scalar_t;
    Scratch<T> cols(s.n * s.cols_per_image());
    im2col(ctx, cols_view(cols.data(), x.dtype, s), x, g);
    T* py = y.ptr<T>();
    if (bias) {  // y starts as the bias, and the GEMM adds onto it
      const T* pb = bias->ptr<T>();
      parallel_for(0, s.n * s.c_out, kParallelGrain / std::max<int64_t>(1, s.l), [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) std::fill(py + r * s.l, py + (r + 1) * s.l, pb[r % s.c_out]);
      });
    }
    const T* pw = weight.ptr<T>();
    for_each_gemm(s.n * s.groups, s.cg_out * s.l * s.k, [&](int64_t job) {
      const int64_t img = job / s.groups, gi = job % s.groups;
      gemm<T>(s.cg_out, s.l, s.k, T(1), pw + gi * s.cg_out * s.k, s.k, 1,
              cols.data() + img * s.cols_per_image() + gi * s.k * s.l, s.l, 1, bias ? T(1) : T(0),
              py + (img * s.c_out + gi * s.cg_out) * s.l, s.l, 1);
    });
  });
}

void CpuBackend::conv2d_backward_input(const ExecContext& ctx, const TensorView& grad_x, const TensorView& grad_y,
                                       const TensorView& weight, const WindowGeometry& g, int64_t groups) {
  const ConvShape s(grad_x.shape, weight.shape, g, groups);
  EMBER_DISPATCH_FLOATING(grad_x.dtype, "conv2d_backward_input", [&] {
    using T = scalar_t;
    Scratch<T> grad_cols(s.n * s.cols_per_image());
    const T* pw = weight.ptr<T>();
    const T* pgy = grad_y.ptr<T>();
    for_each_gemm(s.n * s.groups, s.cg_out * s.l * s.k, [&](int64_t job) {
      const int64_t img = job / s.groups, gi = job % s.groups;
      // W[gi]^T: the (cg_out, K) block read with its strides swapped.
      gemm<T>(s.k, s.l, s.cg_out, T(1), pw + gi * s.cg_out * s.k, 1, s.k,
              pgy + (img * s.c_out + gi * s.cg_out) * s.l, s.l, 1, T(0),
              grad_cols.data() + img * s.cols_per_image() + gi * s.k * s.l, s.l, 1);
    });
    col2im(ctx, grad_x, cols_view(grad_cols.data(), grad_x.dtype, s), g);
  });
}

void CpuBackend::conv2d_backward_weight(const ExecContext& ctx, const TensorView& grad_weight,
                                        const OptionalView& grad_bias, const TensorView& grad_y, const TensorView& x,
                                        const WindowGeometry& g, int64_t groups) {
  const ConvShape s(x.shape, grad_weight.shape, g, groups);
  EMBER_DISPATCH_FLOATING(x.dtype, "conv2d_backward_weight", [&] {
    using T = scalar_t;
    Scratch<T> cols(s.n * s.cols_per_image());
    im2col(ctx, cols_view(cols.data(), x.dtype, s), x, g);
    const T* pgy = grad_y.ptr<T>();
    const int64_t wsize = s.c_out * s.k;  // grad_weight viewed as (C_out, K)
    const int64_t chunks = (s.n + kImagesPerChunk - 1) / kImagesPerChunk;
    Scratch<T> partial(chunks * wsize);
    // Chunk c sums images [c * kImagesPerChunk, ...) in order into partial[c].
    auto chunk = [&](int64_t c, int64_t gi) {
      T* dst = partial.data() + c * wsize + gi * s.cg_out * s.k;
      const int64_t first = c * kImagesPerChunk, last = std::min(s.n, first + kImagesPerChunk);
      for (int64_t img = first; img < last; ++img)
        gemm<T>(s.cg_out, s.k, s.l, T(1), pgy + (img * s.c_out + gi * s.cg_out) * s.l, s.l, 1,
                cols.data() + img * s.cols_per_image() + gi * s.k * s.l, 1, s.l, img == first ? T(0) : T(1), dst,
                s.k, 1);
    };
    for_each_gemm(chunks * s.groups, s.cg_out * s.k * s.l * kImagesPerChunk,
                  [&](int64_t job) { chunk(job / s.groups, job % s.groups); });
    T* pgw = grad_weight.ptr<T>();
    parallel_for(0, wsize, kParallelGrain / std::max<int64_t>(1, chunks), [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        double sum = 0;
        for (int64_t c = 0; c < chunks; ++c) sum += double(partial.data()[c * wsize + i]);
        pgw[i] = T(sum);
      }
    });
    if (grad_bias) {
      T* pgb = grad_bias->ptr<T>();
      parallel_for(0, s.c_out, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(1, s.n * s.l)),
                   [&](int64_t c0, int64_t c1) {
                     for (int64_t c = c0; c < c1; ++c) {
                       double sum = 0;
                       for (int64_t img = 0; img < s.n; ++img) {
                         const T* row = pgy + (img * s.c_out + c) * s.l;
                         for (int64_t i = 0; i < s.l; ++i) sum += double(row[i]);
                       }
                       pgb[c] = T(sum);
                     }
                   });
    }
  });
}

}  // namespace ember::kernels::cpu
