// CPU kernels over sliding windows: im2col / col2im (the heart of conv2d as
// GEMM: each output position's receptive field becomes one row of a
// matrix, so a convolution is one matrix product) and max-pool indices.
// On the thread pool, im2col splits over (image, output row), col2im over
// (image, channel) and max-pool over planes: every output element is
// written by one thread, in the same order as on one thread.
#include <cmath>
#include <limits>

#include "cpu_backend.h"
#include "loops.h"

namespace ember::kernels::cpu {

namespace {

// Calls f(l, k, c, h, w) for every (output position l, im2col column k)
// pair, for channels c in [c0, c1), whose input pixel (row h, column w) lies inside the plane;
// taps in the padding are skipped (they read as zero). col2im uses it;
// im2col and the max-pool scan walk the same windows with their own loops
// (im2col must also write the padding's zeros, max-pool stops at a NaN).
template <typename F>
void for_each_window_tap(int64_t c0, int64_t c1, const WindowGeometry& g, F f) {
  const int64_t taps = g.kh * g.kw;
  for (int64_t oh = 0; oh < g.out_h; ++oh)
    for (int64_t ow = 0; ow < g.out_w; ++ow) {
      const int64_t l = oh * g.out_w + ow;
      for (int64_t i = 0; i < g.kh; ++i) {
        const int64_t h = oh * g.sh - g.ph + i * g.dh;
        if (h < 0 || h >= g.h) continue;
        for (int64_t j = 0; j < g.kw; ++j) {
          const int64_t w = ow * g.sw - g.pw + j * g.dw;
          if (w < 0 || w >= g.w) continue;
          for (int64_t c = c0; c < c1; ++c) f(l, c * taps + i * g.kw + j, c, h, w);
        }
      }
    }
}

}  // namespace

void CpuBackend::im2col(const TensorView& cols, const TensorView& x, const WindowGeometry& g) {
  const int64_t n = x.shape[0], c = x.shape[1];
  const int64_t plane = g.h * g.w, rows = g.out_h * g.out_w, k = c * g.kh * g.kw;
  EMBER_DISPATCH_FLOATING(x.dtype, "im2col", [&] {
    // One task per (image b, output row oh): out_w rows of cols.
    parallel_for(0, n * g.out_h, kParallelGrain / std::max<int64_t>(1, g.out_w * k), [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t b = t / g.out_h, oh = t % g.out_h;
        const scalar_t* xb = x.ptr<scalar_t>() + b * c * plane;
        // Each output position's row is written once, front to back: taps in
        // the padding get 0, so the buffer needs no clearing first.
        scalar_t* out = cols.ptr<scalar_t>() + (b * rows + oh * g.out_w) * k;
        for (int64_t ow = 0; ow < g.out_w; ++ow)
          for (int64_t ch = 0; ch < c; ++ch) {
            const scalar_t* xc = xb + ch * plane;
            for (int64_t i = 0; i < g.kh; ++i) {
              const int64_t h = oh * g.sh - g.ph + i * g.dh;
              const bool row_inside = h >= 0 && h < g.h;
              for (int64_t j = 0; j < g.kw; ++j) {
                const int64_t w = ow * g.sw - g.pw + j * g.dw;
                *out++ = row_inside && w >= 0 && w < g.w ? xc[h * g.w + w] : scalar_t(0);
              }
            }
          }
      }
    });
  });
}

void CpuBackend::col2im(const TensorView& x, const TensorView& cols, const WindowGeometry& g) {
  const int64_t n = x.shape[0], c = x.shape[1];
  const int64_t plane = g.h * g.w, rows = g.out_h * g.out_w, k = c * g.kh * g.kw;
  EMBER_DISPATCH_FLOATING(x.dtype, "col2im", [&] {
    // One task per (image b, channel ch): channels never share an input pixel.
    parallel_for(0, n * c, kParallelGrain / std::max<int64_t>(1, rows * g.kh * g.kw), [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t b = t / c, ch = t % c;
        scalar_t* xb = x.ptr<scalar_t>() + b * c * plane;
        const scalar_t* cb = cols.ptr<scalar_t>() + b * rows * k;
        for_each_window_tap(ch, ch + 1, g, [&](int64_t l, int64_t col, int64_t cc, int64_t h, int64_t w) {
          xb[cc * plane + h * g.w + w] += cb[l * k + col];
        });
      }
    });
  });
}

void CpuBackend::max_pool2d_indices(const TensorView& indices, const TensorView& x, const WindowGeometry& g) {
  const int64_t planes = x.shape[0] * x.shape[1], plane = g.h * g.w;
  EMBER_DISPATCH_FLOATING(x.dtype, "max_pool2d", [&] {
    const int64_t work_per_plane = g.out_h * g.out_w * g.kh * g.kw;
    parallel_for(0, planes, kParallelGrain / std::max<int64_t>(1, work_per_plane), [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        const scalar_t* xp = x.ptr<scalar_t>() + p * plane;
        int64_t* ip = indices.ptr<int64_t>() + p * g.out_h * g.out_w;
        // The flat index of the window's largest element (-1 if the window
        // lies entirely in the padding, which the ops layer rules out).
        auto argmax_of_window = [&](int64_t oh, int64_t ow) {
          int64_t best = -1;
          scalar_t best_v = -std::numeric_limits<scalar_t>::infinity();
          for (int64_t i = 0; i < g.kh; ++i) {
            const int64_t h = oh * g.sh - g.ph + i * g.dh;
            if (h < 0 || h >= g.h) continue;
            for (int64_t j = 0; j < g.kw; ++j) {
              const int64_t w = ow * g.sw - g.pw + j * g.dw;
              if (w < 0 || w >= g.w) continue;
              const scalar_t v = xp[h * g.w + w];
              if (std::isnan(v)) return h * g.w + w;  // NaN wins
              if (best < 0 || v > best_v) {
                best = h * g.w + w;
                best_v = v;
              }
            }
          }
          return best;
        };
        for (int64_t oh = 0; oh < g.out_h; ++oh)
          for (int64_t ow = 0; ow < g.out_w; ++ow) ip[oh * g.out_w + ow] = argmax_of_window(oh, ow);
      }
    });
  });
}

}  // namespace ember::kernels::cpu
