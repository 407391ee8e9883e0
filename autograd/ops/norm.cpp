// Batch normalization (a fused primitive each way) and dropout (a Philox
// mask times the input).
#include "common.h"
#include "ember/autograd/functional.h"

namespace ember {

namespace {

// (C) -> (1, C, 1, ...) so a per-channel tensor broadcasts over x.
Tensor per_channel(const Tensor& t, int64_t ndim) {
  Shape s(ndim, 1);
  s[1] = t.numel();
  return reshape(t, s);
}

// batch_norm written with differentiable ops (no running statistics), for
// the double backward. Training normalizes with the batch's mean and biased
// variance, evaluation with the saved running statistics (constants).
Tensor batch_norm_composite(const Tensor& x, const Tensor& weight, const Tensor& bias, bool training,
                            const Tensor& eval_mean, const Tensor& eval_invstd, double eps) {
  std::vector<int64_t> dims{0};
  for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
  Tensor centered, scale;
  if (training) {
    centered = x - mean(x, dims, true);
    scale = 1.0 / sqrt(mean(centered * centered, dims, true) + eps);
  } else {
    centered = x - per_channel(eval_mean, x.dim());
    scale = per_channel(eval_invstd, x.dim());
  }
  if (weight.defined()) scale = scale * per_channel(weight, x.dim());
  Tensor y = centered * scale;
  return bias.defined() ? y + per_channel(bias, x.dim()) : y;
}

// saved: 0 = x, 1 = weight, 2 = mean, 3 = invstd (of the batch when
// training, from the running statistics otherwise).
struct BatchNormBackward final : BackwardNode<BatchNormBackward> {
  static constexpr const char* kName = "BatchNormBackward";
  bool training = true, has_bias = false;
  double eps = 1e-5;
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    Tensor x = saved(0), weight = saved(1), mean = saved(2), invstd = saved(3);
    if (GradMode::is_enabled()) {  // create_graph: Note [Double backward of fused ops]
      Tensor bias = has_bias ? bias_stand_in(input_meta[2], needs_input_grad(2)) : Tensor();
      return composite_backward(
          *this,
          [&](const std::vector<Tensor>& in) {
            return batch_norm_composite(in[0], in[1], in[2], training, mean, invstd, eps);
          },
          {x, weight, bias}, grads[0]);
    }
    auto g = prim::batch_norm_backward(grads[0], x, weight, mean, invstd, training,
                                       {needs_input_grad(0), needs_input_grad(1), needs_input_grad(2)});
    return {g.x, g.weight, g.bias};
  }
};

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
  EMBER_CHECK(x.dim() >= 2, ShapeError, "batch_norm: expected input (N, C, ...), got ", shape_str(x.shape()));
  EMBER_CHECK(is_floating(x.dtype()), DTypeError, "batch_norm: expected a floating input, got ", dtype_name(x.dtype()));
  const int64_t c = x.size(1);
  for (const Tensor* t : {&running_mean, &running_var, &weight, &bias})
    EMBER_CHECK(!t->defined() || (t->dim() == 1 && t->size(0) == c), ShapeError,
                "batch_norm: per-channel tensor of shape ", shape_str(t->defined() ? t->shape() : Shape{}),
                " for input ", shape_str(x.shape()), " with ", c, " channels");
  EMBER_CHECK(running_mean.defined() == running_var.defined(), ValueError,
              "batch_norm: running_mean and running_var must be given together (got only ",
              running_mean.defined() ? "running_mean" : "running_var", ")");
  if (training)
    EMBER_CHECK(x.numel() / std::max<int64_t>(c, 1) > 1, ValueError,
                "batch_norm: expected more than 1 value per channel when training, got input ", shape_str(x.shape()));
  else
    EMBER_CHECK(running_mean.defined() && running_var.defined(), ValueError,
                "batch_norm: evaluation mode needs running_mean and running_var");
  // The running statistics are buffers, not part of the graph: updated in
  // place by the kernel, never recorded.
  auto r = prim::batch_norm_forward(x, weight, bias, running_mean, running_var, {training, momentum, eps});
  if (should_record({x, weight, bias})) {
    auto node = std::make_shared<BatchNormBackward>();
    node->training = training;
    node->has_bias = bias.defined();
    node->eps = eps;
    for (const Tensor& t : {x, weight, r.save_mean, r.save_invstd}) node->save(t);
    record(node, {x, weight, bias}, r.y);
  }
  return r.y;
}

Tensor dropout(const Tensor& x, double p, bool training, Generator* gen) {
  EMBER_CHECK(p >= 0 && p <= 1, ValueError, "dropout: probability must be in [0, 1], got ", p);
  if (!training || p == 0) return x;
  if (p == 1) return x * 0;
  EMBER_CHECK(is_floating(x.dtype()), DTypeError, "dropout: expected a floating tensor, got ", dtype_name(x.dtype()));
  return x * prim::dropout_mask(x.shape(), x.dtype(), x.device(), p, gen ? *gen : default_generator());
}

}  // namespace ember
