// Batch normalization and dropout, written with Ember ops (so their
// gradients come from the ops they use).
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

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
  EMBER_CHECK(x.dim() >= 2, ShapeError, "batch_norm: expected input (N, C, ...), got ", shape_str(x.shape()));
  const int64_t c = x.size(1);
  for (const Tensor* t : {&running_mean, &running_var, &weight, &bias})
    EMBER_CHECK(!t->defined() || (t->dim() == 1 && t->size(0) == c), ShapeError, "batch_norm: per-channel tensor of shape ",
                shape_str(t->defined() ? t->shape() : Shape{}), " for input ", shape_str(x.shape()), " with ", c,
                " channels");
  std::vector<int64_t> dims{0};
  for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
  Tensor mu, var, centered;
  if (training) {
    const int64_t count = x.numel() / c;
    EMBER_CHECK(count > 1, ValueError, "batch_norm: expected more than 1 value per channel when training, got input ",
                shape_str(x.shape()));
    mu = mean(x, dims, true);
    centered = x - mu;
    var = mean(centered * centered, dims, true);  // biased, for normalizing
    if (running_mean.defined() && running_var.defined()) {
      NoGradGuard no_grad;  // running statistics are buffers, not part of the graph
      Tensor unbiased = reshape(var, {c}) * (static_cast<double>(count) / (count - 1));
      Tensor rm = running_mean, rv = running_var;  // handles to the caller's buffers, updated in place
      rm.mul_(1 - momentum).add_(reshape(mu, {c}).detach(), momentum);
      rv.mul_(1 - momentum).add_(unbiased.detach(), momentum);
    }
  } else {
    EMBER_CHECK(running_mean.defined() && running_var.defined(), ValueError,
                "batch_norm: evaluation mode needs running_mean and running_var");
    mu = per_channel(running_mean, x.dim());
    var = per_channel(running_var, x.dim());
  }
  // y = (x - mu) * scale + bias with scale = weight / sqrt(var + eps): the
  // per-channel factors are computed on (1, C, 1, ...) tensors, so the
  // full-size passes are one subtraction, one product and one sum (and
  // their backward), not one per factor.
  Tensor scale = 1.0 / sqrt(var + eps);
  if (weight.defined()) scale = scale * per_channel(weight, x.dim());
  Tensor y = (centered.defined() ? centered : x - mu) * scale;
  if (bias.defined()) y = y + per_channel(bias, x.dim());
  return y;
}

Tensor dropout(const Tensor& x, double p, bool training, Generator* gen) {
  EMBER_CHECK(p >= 0 && p <= 1, ValueError, "dropout: probability must be in [0, 1], got ", p);
  if (!training || p == 0) return x;
  if (p == 1) return x * 0;
  Tensor keep = lt(rand(x.shape(), {.dtype = x.dtype(), .device = x.device()}, gen), 1 - p);
  return x * (to(keep, x.dtype()) / (1 - p));
}

}  // namespace ember
