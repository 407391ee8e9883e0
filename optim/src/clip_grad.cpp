// clip_grad_norm_, following torch/nn/utils/clip_grad.py (PyTorch 1.13): the
// norm of the per-gradient norms, then one clamped coefficient for all. The
// coefficient stays a tensor (no .item()) as in PyTorch, where that avoids a
// device synchronisation.
#include "ember/optim/clip_grad.h"

#include <cmath>

#include "ember/autograd/ops.h"
#include "ember/core/grad_mode.h"

namespace ember::optim {

namespace {

// torch.linalg.vector_norm(t, p) over all elements, for p > 0 or infinity.
Tensor vector_norm(const Tensor& t, double p) {
  if (p == kInfNorm) return abs(t).max();
  if (p == 1) return abs(t).sum();
  if (p == 2) return (t * t).sum().sqrt();
  return pow(pow(abs(t), p).sum(), 1.0 / p);
}

}  // namespace

Tensor clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type, bool error_if_nonfinite) {
  EMBER_CHECK(max_norm >= 0 && !std::isnan(max_norm), ValueError, "clip_grad_norm_: invalid max_norm ", max_norm,
              " (expected >= 0)");
  EMBER_CHECK(norm_type > 0, ValueError, "clip_grad_norm_: invalid norm_type ", norm_type,
              " (expected > 0, or kInfNorm)");
  NoGradGuard no_grad;
  std::vector<Tensor> grads;
  for (const Tensor& p : params)
    if (p.defined() && p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return scalar_tensor(0.0);

  const Device device = grads[0].device();
  std::vector<Tensor> norms;
  DType dtype = grads[0].dtype();
  for (const Tensor& g : grads) {
    norms.push_back(vector_norm(g, norm_type).to(device));
    dtype = result_type(norms.back(), scalar_tensor(0.0, {.dtype = dtype}));
  }
  for (Tensor& n : norms) n = n.to(dtype);
  Tensor total;
  if (norm_type == kInfNorm)
    total = norms.size() == 1 ? norms[0] : stack(norms).max();
  else
    total = vector_norm(stack(norms), norm_type);

  if (error_if_nonfinite) {
    const double t = total.item<double>();
    EMBER_CHECK(std::isfinite(t), ValueError, "clip_grad_norm_: the total norm of order ", norm_type,
                " of the gradients is ", t, ", so it cannot be clipped (pass error_if_nonfinite = false to scale "
                "the gradients by it anyway)");
  }
  Tensor coef = max_norm / (total + 1e-6);
  Tensor clamped = minimum(coef, scalar_tensor(1.0, {.dtype = coef.dtype(), .device = coef.device()}));
  for (Tensor& g : grads) g.mul_(clamped.to(g.device()));
  return total;
}

}  // namespace ember::optim
