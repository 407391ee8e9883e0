// Pooling: max_pool2d and avg_pool2d are fused primitives each way;
// adaptive_avg_pool2d is composed of them and of mean and slicing.
//
// Their backward Nodes are written with differentiable ops when the graph of
// the backward is wanted (Note [Double backward of fused ops]): max pooling's
// gradient is a scatter-add of the incoming gradient at the saved indices
// (piecewise constant in x, so nothing flows to x through the indices);
// average pooling's is fold2d of the gradient spread evenly over each window.
#include <cmath>

#include "window_common.h"

namespace ember {

namespace {

Pair default_stride(Pair stride, Pair kernel) { return stride[0] == 0 && stride[1] == 0 ? kernel : stride; }

struct MaxPool2dBackward final : BackwardNode<MaxPool2dBackward> {  // saved: 0 = indices
  static constexpr const char* kName = "MaxPool2dBackward";
  WindowGeometry g;
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    const Shape& x = input_meta[0].shape;
    Tensor indices = saved(0);
    if (!GradMode::is_enabled()) return {prim::max_pool2d_backward(grads[0], indices, x, g)};
    const Shape planes{x[0], x[1], x[2] * x[3]}, windows{x[0], x[1], g.out_h * g.out_w};
    Tensor base = zeros(planes, {.dtype = grads[0].dtype(), .device = grads[0].device()});
    return {reshape(scatter_add(base, 2, reshape(indices, windows), reshape(grads[0], windows)), x)};
  }
};

struct AvgPool2dBackward final : BackwardNode<AvgPool2dBackward> {
  static constexpr const char* kName = "AvgPool2dBackward";
  WindowGeometry g;
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    const Shape& x = input_meta[0].shape;
    if (!GradMode::is_enabled()) return {prim::avg_pool2d_backward(grads[0], x, g)};
    // Each window's kh*kw taps get gy / (kh*kw); fold2d adds them up per pixel.
    const int64_t taps = g.kh * g.kw;
    Tensor share = expand(reshape(grads[0] / static_cast<double>(taps), {x[0] * x[1], 1, g.out_h * g.out_w}),
                          {x[0] * x[1], taps, g.out_h * g.out_w});
    return {reshape(fold2d(share, {x[2], x[3]}, {g.kh, g.kw}, {g.sh, g.sw}, {g.ph, g.pw}), x)};
  }
};

}  // namespace

Tensor max_pool2d(const Tensor& x, Pair kernel, Pair stride_in, Pair padding, Pair dilation) {
  EMBER_CHECK(is_floating(x.dtype()), DTypeError, "max_pool2d: expected a floating tensor, got ",
              dtype_name(x.dtype()));
  Pair stride = default_stride(stride_in, kernel);
  WindowGeometry g = window_geometry(x.shape(), kernel, stride, padding, dilation, "max_pool2d");
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
  auto [y, indices] = prim::max_pool2d_forward(x, g);
  if (should_record({x})) {
    auto node = std::make_shared<MaxPool2dBackward>();
    node->g = g;
    node->save(indices);
    record(node, {x}, y);
  }
  return y;
}

Tensor avg_pool2d(const Tensor& x, Pair kernel, Pair stride_in, Pair padding) {
  EMBER_CHECK(is_floating(x.dtype()), DTypeError, "avg_pool2d: expected a floating tensor, got ",
              dtype_name(x.dtype()));
  const WindowGeometry g = window_geometry(x.shape(), kernel, default_stride(stride_in, kernel), padding, {1, 1},
                                           "avg_pool2d");
  for (int i = 0; i < 2; ++i)  // as PyTorch: a window never lies entirely in the padding
    EMBER_CHECK(2 * padding[i] <= kernel[i], ValueError, "avg_pool2d: padding must be at most half the kernel (kernel ",
                shape_str({kernel[0], kernel[1]}), ", padding ", shape_str({padding[0], padding[1]}), ")");
  Tensor y = prim::avg_pool2d_forward(x, g);
  if (should_record({x})) {
    auto node = std::make_shared<AvgPool2dBackward>();
    node->g = g;
    record(node, {x}, y);
  }
  return y;
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
