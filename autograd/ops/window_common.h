// The sliding-window geometry shared by unfold2d/conv2d and the pooling ops
// (internal header).
#pragma once

#include "common.h"
#include "ember/autograd/functional.h"

namespace ember {

// Output size of a window sweep along one dim.
inline int64_t window_out(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) {
  return (in + 2 * p - d * (k - 1) - 1) / s + 1;
}

// Validates the window parameters for an input of shape x (N, C, H, W) and
// returns the geometry with its output plane; errors name `op` and the shapes.
inline WindowGeometry window_geometry(const Shape& x, Pair kernel, Pair stride, Pair padding, Pair dilation,
                                      const char* op) {
  EMBER_CHECK(x.size() == 4, ShapeError, op, ": expected input (N, C, H, W), got ", shape_str(x));
  for (int i = 0; i < 2; ++i)
    EMBER_CHECK(kernel[i] > 0 && stride[i] > 0 && dilation[i] > 0 && padding[i] >= 0, ValueError, op,
                ": kernel, stride and dilation must be positive and padding non-negative (kernel ",
                shape_str({kernel[0], kernel[1]}), ", stride ", shape_str({stride[0], stride[1]}), ", padding ",
                shape_str({padding[0], padding[1]}), ", dilation ", shape_str({dilation[0], dilation[1]}), ")");
  WindowGeometry g{kernel[0], kernel[1], stride[0], stride[1], padding[0], padding[1], dilation[0], dilation[1],
                   x[2], x[3], 0, 0};
  // The padded input must hold one whole (dilated) window: otherwise the
  // division below would truncate a negative span to an output of 1.
  const bool fits = g.h + 2 * g.ph >= g.dh * (g.kh - 1) + 1 && g.w + 2 * g.pw >= g.dw * (g.kw - 1) + 1;
  g.out_h = window_out(g.h, g.kh, g.sh, g.ph, g.dh);
  g.out_w = window_out(g.w, g.kw, g.sw, g.pw, g.dw);
  EMBER_CHECK(fits && g.out_h > 0 && g.out_w > 0, ShapeError, op, ": input ", shape_str(x), " is too small for kernel ",
              shape_str({kernel[0], kernel[1]}), " with padding ", shape_str({padding[0], padding[1]}), " and dilation ",
              shape_str({dilation[0], dilation[1]}));
  return g;
}

}  // namespace ember
