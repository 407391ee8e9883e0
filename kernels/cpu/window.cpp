// CPU im2col / col2im: each output position's receptive field becomes one
// column of a matrix, so a convolution is one matrix product (conv.cpp), and
// col2im adds columns back into the image (the convolution's backward-input
// and fold). On the thread pool both split over (image, channel): every
// output element is written by one thread, in the same order as on one
// thread.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "cpu_backend.h"
#include "loops.h"
#include "window_runs.h"

namespace ember::kernels::cpu {

namespace {

// Visits every (row r = (c, i, j), output row oh) pair of one image's
// column matrix for channel c, handing f the row r, the output row oh, the
// input row h it reads (-1 when the kernel row falls in the padding), the
// valid output columns [ow0, ow1) and the column offset (input column =
// ow*sw + off).
template <typename F>
void for_each_tap_row(int64_t c, const WindowGeometry& g, F f) {
  for (int64_t i = 0; i < g.kh; ++i)
    for (int64_t j = 0; j < g.kw; ++j) {
      const int64_t r = (c * g.kh + i) * g.kw + j;
      const auto [ow0, ow1] = valid_columns(g, j);
      for (int64_t oh = 0; oh < g.out_h; ++oh) {
        const int64_t h = oh * g.sh - g.ph + i * g.dh;
        const bool inside = h >= 0 && h < g.h;
        f(r, oh, inside ? h : -1, ow0, inside ? ow1 : ow0, j * g.dw - g.pw);
      }
    }
}

}  // namespace

// Layout: cols[n, r, l] with r = (c, i, j) and l = oh * out_w + ow, as
// torch.nn.functional.unfold. For a fixed r and oh, the out_w values of l
// read one input row at a stride of sw (a plain copy when sw = 1), so both
// directions move whole row segments instead of single pixels.
void CpuBackend::im2col(const ExecContext&, const TensorView& cols, const TensorView& x,
                        const WindowGeometry& g) {
  const int64_t n = x.shape[0], c = x.shape[1];
  const int64_t plane = g.h * g.w, l = g.out_h * g.out_w, k = c * g.kh * g.kw;
  EMBER_DISPATCH_FLOATING(x.dtype, "im2col", [&] {
    // One task per (image b, channel ch): its kh*kw rows of cols.
    parallel_for(0, n * c, kParallelGrain / std::max<int64_t>(1, g.kh * g.kw * l), [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t b = t / c, ch = t % c;
        const scalar_t* xb = x.ptr<scalar_t>() + b * c * plane;
        scalar_t* cb = cols.ptr<scalar_t>() + b * k * l;
        // Every value of the row segment is written (the padding's as 0), so
        // the buffer needs no clearing first.
        for_each_tap_row(ch, g, [&](int64_t r, int64_t oh, int64_t h, int64_t ow0, int64_t ow1, int64_t off) {
          scalar_t* dst = cb + r * l + oh * g.out_w;
          std::fill(dst, dst + ow0, scalar_t(0));
          if (ow1 > ow0) {
            const scalar_t* src = xb + (ch * g.h + h) * g.w;  // input row; column ow reads src[ow*sw + off]
            if (g.sw == 1) std::copy(src + ow0 + off, src + ow1 + off, dst + ow0);
            else for (int64_t ow = ow0; ow < ow1; ++ow) dst[ow] = src[ow * g.sw + off];
          }
          std::fill(dst + ow1, dst + g.out_w, scalar_t(0));
        });
      }
    });
  });
}

void CpuBackend::col2im(const ExecContext&, const TensorView& x, const TensorView& cols,
                        const WindowGeometry& g) {
  const int64_t n = x.shape[0], c = x.shape[1];
  const int64_t plane = g.h * g.w, l = g.out_h * g.out_w, k = c * g.kh * g.kw;
  EMBER_DISPATCH_FLOATING(x.dtype, "col2im", [&] {
    // One task per (image b, channel ch): channels never share an input pixel.
    parallel_for(0, n * c, kParallelGrain / std::max<int64_t>(1, g.kh * g.kw * l), [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t b = t / c, ch = t % c;
        scalar_t* xb = x.ptr<scalar_t>() + b * c * plane;
        const scalar_t* cb = cols.ptr<scalar_t>() + b * k * l;
        std::fill(xb + ch * plane, xb + (ch + 1) * plane, scalar_t(0));  // written whole: sums start at 0
        for_each_tap_row(ch, g, [&](int64_t r, int64_t oh, int64_t h, int64_t ow0, int64_t ow1, int64_t off) {
          if (ow1 <= ow0) return;  // the padding's values are dropped
          const scalar_t* src = cb + r * l + oh * g.out_w;
          scalar_t* dst = xb + (ch * g.h + h) * g.w;
          for (int64_t ow = ow0; ow < ow1; ++ow) dst[ow * g.sw + off] += src[ow];
        });
      }
    });
  });
}

}  // namespace ember::kernels::cpu
