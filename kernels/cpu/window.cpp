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
        // Every value of the row is written (the padding's as 0), so the
        // buffer needs no clearing first.
        const scalar_t* xc = xb + ch * plane;
        scalar_t* cc = cb + ch * g.kh * g.kw * l;  // this channel's kh*kw rows
        for_each_window_run(g, 1, 0, l, [&](int64_t r, int64_t l0, int64_t len, int64_t off) {
          scalar_t* dst = cc + r * l + l0;
          if (off < 0) std::fill(dst, dst + len, scalar_t(0));
          else if (g.sw == 1) std::copy(xc + off, xc + off + len, dst);
          else for (int64_t i = 0; i < len; ++i) dst[i] = xc[off + i * g.sw];
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
        scalar_t* xc = xb + ch * plane;
        const scalar_t* cc = cb + ch * g.kh * g.kw * l;
        std::fill(xc, xc + plane, scalar_t(0));  // written whole: sums start at 0
        for_each_window_run(g, 1, 0, l, [&](int64_t r, int64_t l0, int64_t len, int64_t off) {
          if (off < 0) return;  // the padding's values are dropped
          const scalar_t* src = cc + r * l + l0;
          for (int64_t i = 0; i < len; ++i) xc[off + i * g.sw] += src[i];
        });
      }
    });
  });
}

}  // namespace ember::kernels::cpu
