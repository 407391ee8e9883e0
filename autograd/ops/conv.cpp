// Convolution as im2col + one matrix product per image.
//
// unfold2d turns every output position's receptive field into a column, so
//   out[n, co, l] = sum_k weight[co, k] * cols[n, k, l]
// is a GEMM (C_out, K) @ (K, L) per image, whose result is already in
// (N, C_out, out_h, out_w) order. unfold2d is a differentiable op
// whose backward is fold (col2im) and vice versa, so conv2d's gradient with
// respect to input, weight and bias (and its double backward) comes from
// unfold, matmul, reshape and add.
#include "window_common.h"

namespace ember {

namespace {

Tensor fold2d(const Tensor& cols, const Shape& x_shape, const WindowGeometry& g);

struct UnfoldBackward final : Node {
  WindowGeometry g;
  std::string name() const override { return "UnfoldBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override { return {fold2d(grads[0], input_meta[0].shape, g)}; }
};

struct FoldBackward final : Node {
  WindowGeometry g;
  std::string name() const override { return "FoldBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    return {unfold2d(grads[0], {g.kh, g.kw}, {g.sh, g.sw}, {g.ph, g.pw}, {g.dh, g.dw})};
  }
};

// col2im: sums each row of cols back into the positions it was read from.
Tensor fold2d(const Tensor& cols, const Shape& x_shape, const WindowGeometry& g) {
  Tensor x = zeros(x_shape, {.dtype = cols.dtype(), .device = cols.device()});
  prim::backend(cols.device()).col2im(prim::view_of(x), prim::view_of(prim::contiguous(cols)), g);
  if (should_record({cols})) {
    auto node = std::make_shared<FoldBackward>();
    node->g = g;
    record(node, {cols}, x);
  }
  return x;
}

}  // namespace

Tensor unfold2d(const Tensor& x, Pair kernel, Pair stride, Pair padding, Pair dilation) {
  EMBER_CHECK(is_floating(x.dtype()), DTypeError, "unfold2d: expected a floating tensor, got ", dtype_name(x.dtype()));
  WindowGeometry g = window_geometry(x, kernel, stride, padding, dilation, "unfold2d");
  const int64_t k = x.size(1) * g.kh * g.kw;
  Tensor cols = prim::empty({x.size(0), k, g.out_h * g.out_w}, x.dtype(), x.device());
  if (cols.numel() > 0) prim::backend(x.device()).im2col(prim::view_of(cols), prim::view_of(prim::contiguous(x)), g);
  if (should_record({x})) {
    auto node = std::make_shared<UnfoldBackward>();
    node->g = g;
    record(node, {x}, cols);
  }
  return cols;
}

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Conv2dOptions o) {
  EMBER_CHECK(x.dim() == 4 && weight.dim() == 4, ShapeError, "conv2d: expected input (N, C, H, W) and weight (C_out, "
              "C_in/groups, kh, kw), got ", shape_str(x.shape()), " and ", shape_str(weight.shape()));
  const int64_t groups = o.groups, c_in = x.size(1), c_out = weight.size(0);
  EMBER_CHECK(groups > 0 && c_in % groups == 0 && c_out % groups == 0 && weight.size(1) * groups == c_in, ShapeError,
              "conv2d: input ", shape_str(x.shape()), " and weight ", shape_str(weight.shape()),
              " do not match for groups=", groups, " (need C_in = weight.size(1) * groups, both divisible)");
  EMBER_CHECK(!bias.defined() || (bias.dim() == 1 && bias.size(0) == c_out), ShapeError, "conv2d: bias of shape ",
              shape_str(bias.defined() ? bias.shape() : Shape{}), " for ", c_out, " output channels");
  EMBER_CHECK(x.dtype() == weight.dtype(), DTypeError, "conv2d: input is ", dtype_name(x.dtype()), " but weight is ",
              dtype_name(weight.dtype()));
  const Pair kernel{weight.size(2), weight.size(3)};
  WindowGeometry g = window_geometry(x, kernel, o.stride, o.padding, o.dilation, "conv2d");
  const int64_t n = x.size(0), cg_in = c_in / groups, cg_out = c_out / groups;
  std::vector<Tensor> outs;
  for (int64_t gi = 0; gi < groups; ++gi) {
    Tensor xg = groups == 1 ? x : narrow(x, 1, gi * cg_in, cg_in);
    Tensor wg = groups == 1 ? weight : narrow(weight, 0, gi * cg_out, cg_out);
    Tensor cols = unfold2d(xg, kernel, o.stride, o.padding, o.dilation);  // (N, K, L)
    outs.push_back(matmul(reshape(wg, {cg_out, -1}), cols));            // (C_out/groups, K) @ (N, K, L)
  }
  Tensor y = groups == 1 ? outs[0] : cat(outs, 1);  // (N, C_out, L)
  if (bias.defined()) y = y + reshape(bias, {c_out, 1});
  return reshape(y, {n, c_out, g.out_h, g.out_w});
}

}  // namespace ember
