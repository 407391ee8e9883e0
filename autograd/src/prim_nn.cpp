// The prim:: wrappers for the window (im2col, conv, pooling), fused
// (batch norm, cross-entropy), random and optimizer entries; see Note [One
// dispatch path] in ember/autograd/prim.h. Shapes were validated by the op
// that calls these (autograd/ops/), so only what a kernel would trip over
// silently is checked again here.
#include "dispatch.h"

namespace ember::prim {

namespace {

void check_dtype(const char* op, const Tensor& t, DType want, const char* what) {
  EMBER_CHECK(t.dtype() == want, DTypeError, op, ": ", what, " is ", dtype_name(t.dtype()), " but ",
              dtype_name(want), " was expected");
}

void check_floating(const char* op, const Tensor& t) {
  EMBER_CHECK(is_floating(t.dtype()), DTypeError, op, ": expected a floating tensor, got ", dtype_name(t.dtype()));
}

// For entries that update tensors in place: same device and dtype, dense.
void check_updatable(const char* op, const Tensor& t, const Tensor& like, const char* what) {
  check_same_device(op, t, like);
  check_dtype(op, t, like.dtype(), what);
  EMBER_CHECK(t.is_contiguous() && t.shape() == like.shape(), ValueError, op, ": ", what, " of shape ",
              shape_str(t.shape()), " must be a contiguous tensor of shape ", shape_str(like.shape()));
}

Tensor optional_contiguous(const Tensor& t) { return t.defined() ? contiguous_nograd(t) : t; }

}  // namespace

// ---- sliding windows ----

Tensor im2col(const Tensor& x_in, const WindowGeometry& g) {
  check_floating("unfold2d", x_in);
  Tensor x = contiguous_nograd(x_in);
  Tensor cols = empty({x.size(0), x.size(1) * g.kh * g.kw, g.out_h * g.out_w}, x.dtype(), x.device());
  if (cols.numel() > 0)
    detail::dispatch(Primitive::Im2col, x.device(), [&](Backend& b, const ExecContext& ctx) {
      b.im2col(ctx, view_of(cols), view_of(x), g);
    });
  return cols;
}

Tensor col2im(const Tensor& cols_in, const Shape& x_shape, const WindowGeometry& g) {
  Tensor cols = contiguous_nograd(cols_in);
  Tensor x = empty(x_shape, cols.dtype(), cols.device());
  if (x.numel() > 0)
    detail::dispatch(Primitive::Col2im, x.device(), [&](Backend& b, const ExecContext& ctx) {
      b.col2im(ctx, view_of(x), view_of(cols), g);
    });
  return x;
}

Tensor conv2d_forward(const Tensor& x_in, const Tensor& w_in, const Tensor& bias_in, const WindowGeometry& g,
                      int64_t groups) {
  check_same_device("conv2d", x_in, w_in);
  if (bias_in.defined()) check_same_device("conv2d", x_in, bias_in);
  Tensor x = contiguous_nograd(x_in), w = contiguous_nograd(w_in), bias = optional_contiguous(bias_in);
  Tensor y = empty({x.size(0), w.size(0), g.out_h, g.out_w}, x.dtype(), x.device());
  if (y.numel() > 0)
    detail::dispatch(Primitive::Conv2dForward, x.device(), [&](Backend& b, const ExecContext& ctx) {
      b.conv2d_forward(ctx, view_of(y), view_of(x), view_of(w), optional_view(bias), g, groups);
    });
  return y;
}

Tensor conv2d_backward_input(const Tensor& grad_y, const Tensor& w_in, const Shape& x_shape, const WindowGeometry& g,
                             int64_t groups) {
  Tensor gy = contiguous_nograd(grad_y), w = contiguous_nograd(w_in);
  Tensor gx = empty(x_shape, gy.dtype(), gy.device());
  if (gx.numel() > 0)
    detail::dispatch(Primitive::Conv2dBackwardInput, gy.device(), [&](Backend& b, const ExecContext& ctx) {
      b.conv2d_backward_input(ctx, view_of(gx), view_of(gy), view_of(w), g, groups);
    });
  return gx;
}

std::pair<Tensor, Tensor> conv2d_backward_weight(const Tensor& grad_y, const Tensor& x_in, const Shape& weight_shape,
                                                 bool with_bias, const WindowGeometry& g, int64_t groups) {
  Tensor gy = contiguous_nograd(grad_y), x = contiguous_nograd(x_in);
  Tensor gw = empty(weight_shape, gy.dtype(), gy.device());
  Tensor gb = with_bias ? empty({weight_shape[0]}, gy.dtype(), gy.device()) : Tensor();
  if (gw.numel() > 0 || (gb.defined() && gb.numel() > 0))
    detail::dispatch(Primitive::Conv2dBackwardWeight, gy.device(), [&](Backend& b, const ExecContext& ctx) {
      b.conv2d_backward_weight(ctx, view_of(gw), optional_view(gb), view_of(gy), view_of(x), g, groups);
    });
  return {gw, gb};
}

std::pair<Tensor, Tensor> max_pool2d_forward(const Tensor& x_in, const WindowGeometry& g) {
  check_floating("max_pool2d", x_in);
  Tensor x = contiguous_nograd(x_in);
  const Shape shape{x.size(0), x.size(1), g.out_h, g.out_w};
  Tensor y = empty(shape, x.dtype(), x.device()), indices = empty(shape, DType::Int64, x.device());
  if (y.numel() > 0)
    detail::dispatch(Primitive::MaxPool2dForward, x.device(), [&](Backend& b, const ExecContext& ctx) {
      b.max_pool2d_forward(ctx, view_of(y), view_of(indices), view_of(x), g);
    });
  return {y, indices};
}

Tensor max_pool2d_backward(const Tensor& grad_y, const Tensor& indices_in, const Shape& x_shape,
                           const WindowGeometry& g) {
  Tensor gy = contiguous_nograd(grad_y), indices = contiguous_nograd(indices_in);
  Tensor gx = empty(x_shape, gy.dtype(), gy.device());
  if (gx.numel() > 0)
    detail::dispatch(Primitive::MaxPool2dBackward, gy.device(), [&](Backend& b, const ExecContext& ctx) {
      b.max_pool2d_backward(ctx, view_of(gx), view_of(gy), view_of(indices), g);
    });
  return gx;
}

Tensor avg_pool2d_forward(const Tensor& x_in, const WindowGeometry& g) {
  check_floating("avg_pool2d", x_in);
  Tensor x = contiguous_nograd(x_in);
  Tensor y = empty({x.size(0), x.size(1), g.out_h, g.out_w}, x.dtype(), x.device());
  if (y.numel() > 0)
    detail::dispatch(Primitive::AvgPool2dForward, x.device(), [&](Backend& b, const ExecContext& ctx) {
      b.avg_pool2d_forward(ctx, view_of(y), view_of(x), g);
    });
  return y;
}

Tensor avg_pool2d_backward(const Tensor& grad_y, const Shape& x_shape, const WindowGeometry& g) {
  Tensor gy = contiguous_nograd(grad_y);
  Tensor gx = empty(x_shape, gy.dtype(), gy.device());
  if (gx.numel() > 0)
    detail::dispatch(Primitive::AvgPool2dBackward, gy.device(), [&](Backend& b, const ExecContext& ctx) {
      b.avg_pool2d_backward(ctx, view_of(gx), view_of(gy), g);
    });
  return gx;
}

// ---- fused normalization and loss ----

BatchNormForward batch_norm_forward(const Tensor& x_in, const Tensor& weight, const Tensor& bias,
                                    const Tensor& running_mean, const Tensor& running_var, const BatchNormParams& p) {
  check_floating("batch_norm", x_in);
  Tensor x = contiguous_nograd(x_in);
  const int64_t c = x.size(1);
  auto per_channel = [&](const Tensor& t, const char* what) {
    if (!t.defined()) return t;
    check_same_device("batch_norm", x, t);
    return contiguous_nograd(cast_nograd(t, x.dtype()));
  };
  Tensor w = per_channel(weight, "weight"), b = per_channel(bias, "bias");
  // The running statistics are the caller's buffers, updated in place.
  auto check_running = [&](const Tensor& t, const char* what) {
    if (!t.defined() || !p.training) return;
    check_same_device("batch_norm", x, t);
    EMBER_CHECK(t.dtype() == x.dtype() && t.is_contiguous() && t.numel() == c, ValueError, "batch_norm: ", what,
                " (", dtype_name(t.dtype()), ", shape ", shape_str(t.shape()), ") must be a contiguous ",
                dtype_name(x.dtype()), " tensor of ", c, " elements to be updated in place");
  };
  check_running(running_mean, "running_mean");
  check_running(running_var, "running_var");
  Tensor rm = p.training ? running_mean : per_channel(running_mean, "running_mean");
  Tensor rv = p.training ? running_var : per_channel(running_var, "running_var");
  BatchNormForward r{empty(x.shape(), x.dtype(), x.device()), empty({c}, x.dtype(), x.device()),
                     empty({c}, x.dtype(), x.device())};
  detail::dispatch(Primitive::BatchNormForward, x.device(), [&](Backend& be, const ExecContext& ctx) {
    be.batch_norm_forward(ctx, view_of(r.y), view_of(r.save_mean), view_of(r.save_invstd), view_of(x),
                          optional_view(w), optional_view(b), optional_view(rm), optional_view(rv), p);
  });
  if (p.training)
    for (const Tensor* t : {&running_mean, &running_var})
      if (t->defined()) t->bump_version();
  return r;
}

BatchNormGrads batch_norm_backward(const Tensor& grad_y, const Tensor& x_in, const Tensor& weight,
                                   const Tensor& save_mean, const Tensor& save_invstd, bool training,
                                   std::array<bool, 3> needed) {
  Tensor gy = contiguous_nograd(grad_y), x = contiguous_nograd(x_in);
  Tensor w = weight.defined() ? contiguous_nograd(cast_nograd(weight, x.dtype())) : weight;
  const int64_t c = x.size(1);
  BatchNormGrads g;
  if (needed[0]) g.x = empty(x.shape(), x.dtype(), x.device());
  if (needed[1]) g.weight = empty({c}, x.dtype(), x.device());
  if (needed[2]) g.bias = empty({c}, x.dtype(), x.device());
  detail::dispatch(Primitive::BatchNormBackward, x.device(), [&](Backend& b, const ExecContext& ctx) {
    b.batch_norm_backward(ctx, optional_view(g.x), optional_view(g.weight), optional_view(g.bias), view_of(gy),
                          view_of(x), optional_view(w), view_of(save_mean), view_of(save_invstd), training);
  });
  return g;
}

std::pair<Tensor, Tensor> cross_entropy_forward(const Tensor& logits_in, const Tensor& target_in,
                                                double label_smoothing) {
  check_floating("cross_entropy", logits_in);
  check_same_device("cross_entropy", logits_in, target_in);
  Tensor logits = contiguous_nograd(logits_in), target = contiguous_nograd(target_in);
  const int64_t n = logits.size(0);
  Tensor loss = empty({n}, logits.dtype(), logits.device()), lse = empty({n}, logits.dtype(), logits.device());
  if (n > 0)
    detail::dispatch(Primitive::CrossEntropyForward, logits.device(), [&](Backend& b, const ExecContext& ctx) {
      b.cross_entropy_forward(ctx, view_of(loss), view_of(lse), view_of(logits), view_of(target), label_smoothing);
    });
  return {loss, lse};
}

Tensor cross_entropy_backward(const Tensor& grad_loss, const Tensor& logits_in, const Tensor& lse,
                              const Tensor& target_in, double label_smoothing) {
  Tensor gl = contiguous_nograd(grad_loss), logits = contiguous_nograd(logits_in);
  Tensor target = contiguous_nograd(target_in);
  Tensor g = empty(logits.shape(), logits.dtype(), logits.device());
  if (g.numel() > 0)
    detail::dispatch(Primitive::CrossEntropyBackward, logits.device(), [&](Backend& b, const ExecContext& ctx) {
      b.cross_entropy_backward(ctx, view_of(g), view_of(gl), view_of(logits), view_of(lse), view_of(target),
                               label_smoothing);
    });
  return g;
}

// ---- random numbers ----

namespace {
// Reserves the Philox blocks for n values (two per block) and fills `out`.
template <typename Fill>
Tensor random_fill(const Shape& shape, DType dtype, Device device, Generator& gen, Primitive p, Fill fill) {
  EMBER_CHECK(is_floating(dtype), DTypeError, primitive_name(p), ": expected a floating dtype, got ",
              dtype_name(dtype));
  if (!device.is_cpu() && !has_kernel(p, device)) {  // the same bits, made on the host (see prim.h)
    Tensor on_device = empty(shape, dtype, device);
    copy_nograd(on_device, random_fill(shape, dtype, kCPU, gen, p, fill));
    return on_device;
  }
  Tensor out = empty(shape, dtype, device);
  const uint64_t n = static_cast<uint64_t>(out.numel());
  const uint64_t offset = gen.reserve((n + 1) / 2);
  if (n > 0)
    detail::dispatch(p, device, [&](Backend& b, const ExecContext& ctx) {
      if (!gen.device_base()) return fill(b, ctx, view_of(out), offset);
      ExecContext relative = ctx;  // Note [Graph-safe random streams]
      relative.philox_base = gen.device_base();
      fill(b, relative, view_of(out), offset - gen.base_offset());
    });
  return out;
}
}  // namespace

Tensor random_uniform(const Shape& shape, DType dtype, Device device, Generator& gen) {
  return random_fill(shape, dtype, device, gen, Primitive::RandomUniform,
                     [&](Backend& b, const ExecContext& ctx, const TensorView& out, uint64_t offset) {
                       b.random_uniform(ctx, out, gen.seed(), offset);
                     });
}

Tensor random_normal(const Shape& shape, DType dtype, Device device, Generator& gen) {
  return random_fill(shape, dtype, device, gen, Primitive::RandomNormal,
                     [&](Backend& b, const ExecContext& ctx, const TensorView& out, uint64_t offset) {
                       b.random_normal(ctx, out, gen.seed(), offset);
                     });
}

Tensor dropout_mask(const Shape& shape, DType dtype, Device device, double p, Generator& gen) {
  return random_fill(shape, dtype, device, gen, Primitive::DropoutMask,
                     [&](Backend& b, const ExecContext& ctx, const TensorView& out, uint64_t offset) {
                       b.dropout_mask(ctx, out, p, gen.seed(), offset);
                     });
}

// ---- optimizer updates ----

void sgd_update(const Tensor& param, const Tensor& grad, const Tensor& buf, const SgdParams& p) {
  check_floating("sgd", param);
  EMBER_CHECK(param.is_contiguous(), ValueError, "sgd: the parameter must be contiguous");
  check_updatable("sgd", grad, param, "the gradient");
  if (buf.defined()) check_updatable("sgd", buf, param, "the momentum buffer");
  detail::dispatch(Primitive::SgdUpdate, param.device(), [&](Backend& b, const ExecContext& ctx) {
    b.sgd_update(ctx, view_of(param), view_of(grad), optional_view(buf), p);
  });
  param.bump_version();
  if (buf.defined()) buf.bump_version();
}

void adam_update(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                 const Tensor& max_exp_avg_sq, const AdamParams& p) {
  check_floating("adam", param);
  EMBER_CHECK(param.is_contiguous(), ValueError, "adam: the parameter must be contiguous");
  check_updatable("adam", grad, param, "the gradient");
  check_updatable("adam", exp_avg, param, "exp_avg");
  check_updatable("adam", exp_avg_sq, param, "exp_avg_sq");
  if (max_exp_avg_sq.defined()) check_updatable("adam", max_exp_avg_sq, param, "max_exp_avg_sq");
  detail::dispatch(Primitive::AdamUpdate, param.device(), [&](Backend& b, const ExecContext& ctx) {
    b.adam_update(ctx, view_of(param), view_of(grad), view_of(exp_avg), view_of(exp_avg_sq),
                  optional_view(max_exp_avg_sq), p);
  });
  for (const Tensor* t : {&param, &exp_avg, &exp_avg_sq, &max_exp_avg_sq})
    if (t->defined()) t->bump_version();
}

void synchronize(Device device) {
  detail::dispatch(Primitive::Synchronize, device, [&](Backend& b, const ExecContext& ctx) { b.synchronize(ctx); });
}

}  // namespace ember::prim
