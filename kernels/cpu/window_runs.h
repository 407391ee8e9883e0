// The receptive fields of a sliding window, visited as runs of adjacent
// output positions: shared by im2col/col2im (window.cpp) and the
// convolutions (conv.cpp), which gather their GEMM operands straight from
// the image with it.
//
// Row r = (c, i, j) of an image's column matrix (c channel, (i, j) kernel
// tap) holds, at position l = oh * out_w + ow, the input pixel
// (c, oh*sh - ph + i*dh, ow*sw - pw + j*dw), or 0 where that falls in the
// padding. For a fixed r and output row oh the pixels of consecutive ow sit
// sw apart in one input row, so whole runs move at once.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>

#include "ember/core/backend.h"

namespace ember::kernels::cpu {

// The valid output columns [ow0, ow1) of one kernel column j: those whose
// input column w = ow*sw - pw + j*dw lies inside [0, W). Outside that range
// the tap reads the zero padding.
inline std::pair<int64_t, int64_t> valid_columns(const WindowGeometry& g, int64_t j) {
  const int64_t off = j * g.dw - g.pw;  // w = ow*sw + off
  auto ceil_div = [](int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); };
  const int64_t ow0 = std::clamp<int64_t>(ceil_div(-off, g.sw), 0, g.out_w);
  const int64_t ow1 = std::clamp<int64_t>(ceil_div(g.w - off, g.sw), ow0, g.out_w);
  return {ow0, ow1};
}

// Visits rows r in [0, channels*kh*kw) of one image's column matrix,
// positions [l0, l1) only, as runs: f(r, l, len, offset) says that positions
// l .. l+len-1 of row r read the input at offset, offset + sw, ... (offsets
// from the image's first channel, c*h*w + row*w + column), or are padding
// when offset < 0. Runs come in order of r, then l.
template <typename F>
void for_each_window_run(const WindowGeometry& g, int64_t channels, int64_t l0, int64_t l1, F&& f) {
  if (l1 <= l0) return;
  const int64_t oh_first = l0 / g.out_w, oh_last = (l1 - 1) / g.out_w;
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t i = 0; i < g.kh; ++i)
      for (int64_t j = 0; j < g.kw; ++j) {
        const int64_t r = (c * g.kh + i) * g.kw + j;
        const auto [ow0, ow1] = valid_columns(g, j);
        const int64_t off = j * g.dw - g.pw;
        for (int64_t oh = oh_first; oh <= oh_last; ++oh) {
          const int64_t row = oh * g.out_w;
          const int64_t a = std::max(l0, row) - row, b = std::min(l1, row + g.out_w) - row;  // columns [a, b)
          const int64_t h = oh * g.sh - g.ph + i * g.dh;
          if (h < 0 || h >= g.h) {
            f(r, row + a, b - a, int64_t(-1));
            continue;
          }
          const int64_t lo = std::clamp(ow0, a, b), hi = std::clamp(ow1, lo, b);
          if (lo > a) f(r, row + a, lo - a, int64_t(-1));
          if (hi > lo) f(r, row + lo, hi - lo, (c * g.h + h) * g.w + lo * g.sw + off);
          if (b > hi) f(r, row + hi, b - hi, int64_t(-1));
        }
      }
}

}  // namespace ember::kernels::cpu
