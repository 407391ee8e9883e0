// CUDA max and average pooling, forward and backward, with the CPU's
// semantics (kernels/cpu/pool.cpp). Note [Kernels then launchers] in
// device.h.
//
// The forwards are one thread per output element, walking its window. The
// backwards are one thread per input element, gathering from the windows
// that cover it (rather than scattering each window's gradient with
// atomics): each input gradient is then one thread's sum, taken in the
// CPU's order (windows by increasing output row, then column), so the bits
// are the CPU's and the same on every run.
#include "launchers.h"

namespace ember::kernels::cuda {

namespace {

// The output positions whose window puts tap (i, j) on input (ih, iw), in
// increasing order: taps are walked from the last, so that the output row
// th / sh grows as the tap index falls. f(oh, ow) for each.
template <typename F>
EMBER_DEVICE void for_each_covering_window(const WindowGeometry& g, int64_t ih, int64_t iw, F f) {
  for (int64_t i = g.kh - 1; i >= 0; --i) {
    const int64_t th = ih + g.ph - i * g.dh;
    if (th < 0 || th % g.sh != 0 || th / g.sh >= g.out_h) continue;
    for (int64_t j = g.kw - 1; j >= 0; --j) {
      const int64_t tw = iw + g.pw - j * g.dw;
      if (tw < 0 || tw % g.sw != 0 || tw / g.sw >= g.out_w) continue;
      f(th / g.sh, tw / g.sw);
    }
  }
}

// ---- kernels ----

// Each window's largest element and its flat position in the plane; the
// first NaN wins, then the first of equal maxima. Padding never wins.
template <typename T>
__global__ void max_pool_forward_kernel(T* y, int64_t* indices, const T* x, WindowGeometry g, int64_t total) {
  EMBER_GRID_STRIDE_LOOP(e, total) {
    const int64_t ow = e % g.out_w, oh = e / g.out_w % g.out_h, plane = e / (g.out_w * g.out_h);
    const T* xp = x + plane * g.h * g.w;
    int64_t best = -1;
    T best_v = T(0);
    bool nan = false;
    for (int64_t i = 0; i < g.kh && !nan; ++i) {
      const int64_t ih = oh * g.sh - g.ph + i * g.dh;
      if (ih < 0 || ih >= g.h) continue;
      for (int64_t j = 0; j < g.kw; ++j) {
        const int64_t iw = ow * g.sw - g.pw + j * g.dw;
        if (iw < 0 || iw >= g.w) continue;
        const T v = xp[ih * g.w + iw];
        if (dm::isnan(v)) {
          best = ih * g.w + iw, best_v = v, nan = true;
          break;
        }
        if (best < 0 || v > best_v) best = ih * g.w + iw, best_v = v;
      }
    }
    y[e] = best_v;
    indices[e] = best;
  }
}

template <typename T>
__global__ void max_pool_backward_kernel(T* gx, const T* gy, const int64_t* indices, WindowGeometry g, int64_t total) {
  EMBER_GRID_STRIDE_LOOP(e, total) {
    const int64_t iw = e % g.w, ih = e / g.w % g.h, plane = e / (g.w * g.h);
    const int64_t at = ih * g.w + iw, out0 = plane * g.out_h * g.out_w;
    T acc = T(0);
    for_each_covering_window(g, ih, iw, [&](int64_t oh, int64_t ow) {
      const int64_t o = out0 + oh * g.out_w + ow;
      if (indices[o] == at) acc += gy[o];
    });
    gx[e] = acc;
  }
}

// Window means with the padding's zeros counted (count_include_pad): the
// sum in double over the taps inside, divided by kh kw.
template <typename T>
__global__ void avg_pool_forward_kernel(T* y, const T* x, WindowGeometry g, int64_t total) {
  EMBER_GRID_STRIDE_LOOP(e, total) {
    const int64_t ow = e % g.out_w, oh = e / g.out_w % g.out_h, plane = e / (g.out_w * g.out_h);
    const T* xp = x + plane * g.h * g.w;
    double sum = 0;
    for (int64_t i = 0; i < g.kh; ++i) {
      const int64_t ih = oh * g.sh - g.ph + i * g.dh;
      if (ih < 0 || ih >= g.h) continue;
      for (int64_t j = 0; j < g.kw; ++j) {
        const int64_t iw = ow * g.sw - g.pw + j * g.dw;
        if (iw >= 0 && iw < g.w) sum += double(xp[ih * g.w + iw]);
      }
    }
    y[e] = T(sum / double(g.kh * g.kw));
  }
}

template <typename T>
__global__ void avg_pool_backward_kernel(T* gx, const T* gy, WindowGeometry g, int64_t total) {
  const T scale = T(1) / T(g.kh * g.kw);
  EMBER_GRID_STRIDE_LOOP(e, total) {
    const int64_t iw = e % g.w, ih = e / g.w % g.h, plane = e / (g.w * g.h);
    const int64_t out0 = plane * g.out_h * g.out_w;
    T acc = T(0);
    for_each_covering_window(g, ih, iw, [&](int64_t oh, int64_t ow) { acc += gy[out0 + oh * g.out_w + ow] * scale; });
    gx[e] = acc;
  }
}

}  // namespace

// ---- launchers ----

void max_pool2d_forward(const ExecContext& ctx, const TensorView& y, const TensorView& indices, const TensorView& x,
                        const WindowGeometry& g) {
  const int64_t total = y.numel();
  if (total == 0) return;
  const Shape1d s = shape_for(total);
  EMBER_DISPATCH_FLOATING(x.dtype, "max_pool2d", [&] {
    launch(max_pool_forward_kernel<scalar_t>, s.grid, s.block, 0, ctx.stream, y.ptr<scalar_t>(),
           indices.ptr<int64_t>(), x.ptr<scalar_t>(), g, total);
  });
}

void max_pool2d_backward(const ExecContext& ctx, const TensorView& grad_x, const TensorView& grad_y,
                         const TensorView& indices, const WindowGeometry& g) {
  const int64_t total = grad_x.numel();
  if (total == 0) return;
  const Shape1d s = shape_for(total);
  EMBER_DISPATCH_FLOATING(grad_x.dtype, "max_pool2d_backward", [&] {
    launch(max_pool_backward_kernel<scalar_t>, s.grid, s.block, 0, ctx.stream, grad_x.ptr<scalar_t>(),
           grad_y.ptr<scalar_t>(), indices.ptr<int64_t>(), g, total);
  });
}

void avg_pool2d_forward(const ExecContext& ctx, const TensorView& y, const TensorView& x, const WindowGeometry& g) {
  const int64_t total = y.numel();
  if (total == 0) return;
  const Shape1d s = shape_for(total);
  EMBER_DISPATCH_FLOATING(x.dtype, "avg_pool2d", [&] {
    launch(avg_pool_forward_kernel<scalar_t>, s.grid, s.block, 0, ctx.stream, y.ptr<scalar_t>(), x.ptr<scalar_t>(), g,
           total);
  });
}

void avg_pool2d_backward(const ExecContext& ctx, const TensorView& grad_x, const TensorView& grad_y,
                         const WindowGeometry& g) {
  const int64_t total = grad_x.numel();
  if (total == 0) return;
  const Shape1d s = shape_for(total);
  EMBER_DISPATCH_FLOATING(grad_x.dtype, "avg_pool2d_backward", [&] {
    launch(avg_pool_backward_kernel<scalar_t>, s.grid, s.block, 0, ctx.stream, grad_x.ptr<scalar_t>(),
           grad_y.ptr<scalar_t>(), g, total);
  });
}

}  // namespace ember::kernels::cuda
