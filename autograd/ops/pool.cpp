// Pooling. max_pool2d finds each window's argmax with a kernel and then
// gathers those elements, so its gradient is gather's (a scatter-add of the
// incoming gradient to the winning positions). avg_pool2d is the mean of
// each unfolded window. Both differentiate through the ops they use.
#include <cmath>

#include "window_common.h"

namespace ember {

namespace {

Pair default_stride(Pair stride, Pair kernel) { return stride[0] == 0 && stride[1] == 0 ? kernel : stride; }

}  // namespace

Tensor max_pool2d(const Tensor& x, Pair kernel, Pair stride_in, Pair padding, Pair dilation) {
  EMBER_CHECK(is_floating(x.dtype()), DTypeError, "max_pool2d: expected a floating tensor, got ", dtype_name(x.dtype()));
  Pair stride = default_stride(stride_in, kernel);
  WindowGeometry g = window_geometry(x, kernel, stride, padding, dilation, "max_pool2d");
  for (int i = 0; i < 2; ++i)  // so that every window sees a real element
    EMBER_CHECK(2 * padding[i] <= kernel[i], ValueError, "max_pool2d: padding must be at most half the kernel (kernel ",
                shape_str({kernel[0], kernel[1]}), ", padding ", shape_str({padding[0], padding[1]}), ")");
  // With dilation the taps can step over a small input entirely: require
  // every output row and column to have at least one tap inside.
  auto every_window_sees_input = [](int64_t out, int64_t s, int64_t p, int64_t d, int64_t k, int64_t size) {
    for (int64_t o = 0; o < out; ++o) {
      bool seen = false;
      for (int64_t t = 0; t < k && !seen; ++t) seen = o * s - p + t * d >= 0 && o * s - p + t * d < size;
      if (!seen) return false;
    }
    return true;
  };
  EMBER_CHECK(every_window_sees_input(g.out_h, g.sh, g.ph, g.dh, g.kh, g.h) &&
                  every_window_sees_input(g.out_w, g.sw, g.pw, g.dw, g.kw, g.w),
              ValueError, "max_pool2d: with input ", shape_str(x.shape()), ", kernel ", shape_str({kernel[0], kernel[1]}),
              ", padding ", shape_str({padding[0], padding[1]}), " and dilation ", shape_str({dilation[0], dilation[1]}),
              " some window lies entirely in the padding");
  const int64_t n = x.size(0), c = x.size(1);
  Tensor indices = prim::empty({n, c, g.out_h, g.out_w}, DType::Int64, x.device());
  Tensor xc = contiguous(x);
  if (indices.numel() > 0) prim::backend(x.device()).max_pool2d_indices(prim::view_of(indices), prim::view_of(xc), g);
  Tensor flat = reshape(xc, {n, c, g.h * g.w});
  return reshape(gather(flat, 2, reshape(indices, {n, c, g.out_h * g.out_w})), {n, c, g.out_h, g.out_w});
}

Tensor avg_pool2d(const Tensor& x, Pair kernel, Pair stride_in, Pair padding) {
  EMBER_CHECK(x.dim() == 4, ShapeError, "avg_pool2d: expected input (N, C, H, W), got ", shape_str(x.shape()));
  Pair stride = default_stride(stride_in, kernel);
  const int64_t n = x.size(0), c = x.size(1);
  // Channels become batch entries, so each window's column holds one channel.
  Tensor cols = unfold2d(reshape(x, {n * c, 1, x.size(2), x.size(3)}), kernel, stride, padding);  // (N*C, kh*kw, L)
  const int64_t out_h = window_out(x.size(2), kernel[0], stride[0], padding[0], 1);
  const int64_t out_w = window_out(x.size(3), kernel[1], stride[1], padding[1], 1);
  return reshape(mean(cols, {1}), {n, c, out_h, out_w});
}

Tensor adaptive_avg_pool2d(const Tensor& x, Pair out) {
  EMBER_CHECK(x.dim() == 4, ShapeError, "adaptive_avg_pool2d: expected input (N, C, H, W), got ", shape_str(x.shape()));
  EMBER_CHECK(out[0] > 0 && out[1] > 0, ValueError, "adaptive_avg_pool2d: output size must be positive, got ",
              shape_str({out[0], out[1]}));
  const int64_t h = x.size(2), w = x.size(3);
  if (out[0] == 1 && out[1] == 1) return mean(x, {2, 3}, /*keepdim=*/true);
  if (h % out[0] == 0 && w % out[1] == 0) return avg_pool2d(x, {h / out[0], w / out[1]});
  // General case: window i covers [floor(i*H/oh), ceil((i+1)*H/oh)).
  std::vector<Tensor> rows;
  for (int64_t i = 0; i < out[0]; ++i) {
    const int64_t h0 = i * h / out[0], h1 = ((i + 1) * h + out[0] - 1) / out[0];
    std::vector<Tensor> cells;
    for (int64_t j = 0; j < out[1]; ++j) {
      const int64_t w0 = j * w / out[1], w1 = ((j + 1) * w + out[1] - 1) / out[1];
      cells.push_back(mean(slice(slice(x, 2, h0, h1), 3, w0, w1), {2, 3}));
    }
    rows.push_back(stack(cells, 2));  // (N, C, ow)
  }
  return stack(rows, 2);  // (N, C, oh, ow)
}

}  // namespace ember
