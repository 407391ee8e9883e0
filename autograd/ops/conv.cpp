// Convolution and the window ops it is made of: unfold2d (im2col), fold2d
// (col2im, its adjoint) and conv2d.
//
// conv2d is one fused primitive each way (Backend::conv2d_forward,
// conv2d_backward_input, conv2d_backward_weight). Its composite form is
// unfold + one matrix product per image:
//   out[n, co, l] = sum_k weight[co, k] * cols[n, k, l]
// with cols = unfold2d(x), which is what a double backward differentiates
// (Note [Double backward of fused ops]). unfold2d and fold2d are
// differentiable ops whose gradients are each other.
#include <tuple>

#include "window_common.h"

namespace ember {

namespace {

struct UnfoldBackward final : BackwardNode<UnfoldBackward> {
  static constexpr const char* kName = "UnfoldBackward";
  WindowGeometry g;
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    const Shape& x = input_meta[0].shape;
    return {fold2d(grads[0], {x[2], x[3]}, {g.kh, g.kw}, {g.sh, g.sw}, {g.ph, g.pw}, {g.dh, g.dw})};
  }
};

struct FoldBackward final : BackwardNode<FoldBackward> {
  static constexpr const char* kName = "FoldBackward";
  WindowGeometry g;
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    return {unfold2d(grads[0], {g.kh, g.kw}, {g.sh, g.sw}, {g.ph, g.pw}, {g.dh, g.dw})};
  }
};

// conv2d written with differentiable ops, for the double backward.
Tensor conv2d_composite(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& o) {
  const int64_t groups = o.groups, cg_in = x.size(1) / groups, cg_out = weight.size(0) / groups;
  const Pair kernel{weight.size(2), weight.size(3)};
  std::vector<Tensor> outs;
  for (int64_t gi = 0; gi < groups; ++gi) {
    Tensor xg = groups == 1 ? x : narrow(x, 1, gi * cg_in, cg_in);
    Tensor wg = groups == 1 ? weight : narrow(weight, 0, gi * cg_out, cg_out);
    Tensor cols = unfold2d(xg, kernel, o.stride, o.padding, o.dilation);  // (N, K, L)
    outs.push_back(matmul(reshape(wg, {cg_out, -1}), cols));            // (C_out/groups, K) @ (N, K, L)
  }
  Tensor y = groups == 1 ? outs[0] : cat(outs, 1);  // (N, C_out, L)
  if (bias.defined()) y = y + reshape(bias, {weight.size(0), 1});
  const WindowGeometry g = window_geometry(x.shape(), kernel, o.stride, o.padding, o.dilation, "conv2d");
  return reshape(y, {x.size(0), weight.size(0), g.out_h, g.out_w});
}

struct ConvBackward final : BackwardNode<ConvBackward> {  // saved: 0 = x, 1 = weight
  static constexpr const char* kName = "ConvBackward";
  WindowGeometry g;
  Conv2dOptions opts;
  bool has_bias = false;
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    Tensor x = saved(0), weight = saved(1);
    if (GradMode::is_enabled()) {  // create_graph: Note [Double backward of fused ops]
      Tensor bias = has_bias ? bias_stand_in(input_meta[2], needs_input_grad(2)) : Tensor();
      return composite_backward(
          *this, [&](const std::vector<Tensor>& in) { return conv2d_composite(in[0], in[1], in[2], opts); },
          {x, weight, bias}, grads[0]);
    }
    Tensor gx, gw, gb;
    if (needs_input_grad(0)) gx = prim::conv2d_backward_input(grads[0], weight, x.shape(), g, opts.groups);
    if (needs_input_grad(1) || needs_input_grad(2))
      std::tie(gw, gb) =
          prim::conv2d_backward_weight(grads[0], x, weight.shape(), needs_input_grad(2), g, opts.groups);
    return {gx, needs_input_grad(1) ? gw : Tensor(), gb};
  }
};

}  // namespace

Tensor unfold2d(const Tensor& x, Pair kernel, Pair stride, Pair padding, Pair dilation) {
  EMBER_CHECK(is_floating(x.dtype()), DTypeError, "unfold2d: expected a floating tensor, got ", dtype_name(x.dtype()));
  const WindowGeometry g = window_geometry(x.shape(), kernel, stride, padding, dilation, "unfold2d");
  Tensor cols = prim::im2col(x, g);
  if (should_record({x})) {
    auto node = std::make_shared<UnfoldBackward>();
    node->g = g;
    record(node, {x}, cols);
  }
  return cols;
}

Tensor fold2d(const Tensor& cols, Pair output_size, Pair kernel, Pair stride, Pair padding, Pair dilation) {
  EMBER_CHECK(is_floating(cols.dtype()), DTypeError, "fold2d: expected a floating tensor, got ",
              dtype_name(cols.dtype()));
  EMBER_CHECK(cols.dim() == 3 && cols.size(1) % (kernel[0] * kernel[1]) == 0, ShapeError,
              "fold2d: expected columns (N, C*kh*kw, L) for kernel ", shape_str({kernel[0], kernel[1]}), ", got ",
              shape_str(cols.shape()));
  const int64_t n = cols.size(0), c = cols.size(1) / (kernel[0] * kernel[1]);
  const Shape x_shape{n, c, output_size[0], output_size[1]};
  // The geometry of the unfold that fold2d inverts: the same checks apply.
  const WindowGeometry g = window_geometry(x_shape, kernel, stride, padding, dilation, "fold2d");
  EMBER_CHECK(cols.size(2) == g.out_h * g.out_w, ShapeError, "fold2d: columns ", shape_str(cols.shape()),
              " hold ", cols.size(2), " windows, but an output of ", shape_str({output_size[0], output_size[1]}),
              " has ", g.out_h * g.out_w);
  Tensor x = prim::col2im(cols, x_shape, g);
  if (should_record({cols})) {
    auto node = std::make_shared<FoldBackward>();
    node->g = g;
    record(node, {cols}, x);
  }
  return x;
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
  EMBER_CHECK(is_floating(x.dtype()), DTypeError, "conv2d: expected a floating input, got ", dtype_name(x.dtype()));
  EMBER_CHECK(x.dtype() == weight.dtype() && (!bias.defined() || bias.dtype() == x.dtype()), DTypeError,
              "conv2d: input is ", dtype_name(x.dtype()), " but weight is ", dtype_name(weight.dtype()),
              bias.defined() ? std::string(" and bias ") + dtype_name(bias.dtype()) : std::string());
  const WindowGeometry g =
      window_geometry(x.shape(), {weight.size(2), weight.size(3)}, o.stride, o.padding, o.dilation, "conv2d");
  Tensor y = prim::conv2d_forward(x, weight, bias, g, groups);
  if (should_record({x, weight, bias})) {
    auto node = std::make_shared<ConvBackward>();
    node->g = g;
    node->opts = o;
    node->has_bias = bias.defined();
    node->save(x);
    node->save(weight);
    record(node, {x, weight, bias}, y);
  }
  return y;
}

}  // namespace ember
