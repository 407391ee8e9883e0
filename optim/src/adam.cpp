// Adam and AdamW, following torch/optim/adam.py's _single_tensor_adam and
// adamw.py's _single_tensor_adamw (PyTorch 1.13, not capturable); the math
// is in docs/optim.md ("Adam", "AdamW"). The two differ in one line: where
// the weight decay goes.
#include "ember/optim/adam.h"

#include <cmath>

#include "ember/autograd/ops.h"
#include "ember/autograd/prim.h"

namespace ember::optim {

namespace {

Options to_options(const AdamOptions& o) {
  return {{"lr", o.lr},
          {"beta1", o.beta1},
          {"beta2", o.beta2},
          {"eps", o.eps},
          {"weight_decay", o.weight_decay},
          {"amsgrad", o.amsgrad ? 1.0 : 0.0},
          {"maximize", o.maximize ? 1.0 : 0.0}};
}

}  // namespace

Adam::Adam(std::vector<Tensor> params, AdamOptions options)
    : Adam(std::vector<ParamGroup>{ParamGroup{std::move(params), {}}}, options) {}

Adam::Adam(std::vector<ParamGroup> groups, AdamOptions defaults) : Adam("Adam", false, std::move(groups), defaults) {}

Adam::Adam(const char* name, bool decoupled, std::vector<ParamGroup> groups, AdamOptions defaults)
    : Optimizer(name, to_options(defaults)), decoupled_(decoupled) {
  buffer_names_ = {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
  init_groups(std::move(groups));
}

AdamW::AdamW(std::vector<Tensor> params, AdamWOptions options)
    : AdamW(std::vector<ParamGroup>{ParamGroup{std::move(params), {}}}, options) {}

AdamW::AdamW(std::vector<ParamGroup> groups, AdamWOptions d)
    : Adam("AdamW", true, std::move(groups),
           AdamOptions{d.lr, d.beta1, d.beta2, d.eps, d.weight_decay, d.amsgrad, d.maximize}) {}

void Adam::validate(const Options& o, const std::string& where) const {
  check_non_negative(o, "lr", where);
  check_non_negative(o, "eps", where);
  check_in_unit_interval(o, "beta1", where);
  check_in_unit_interval(o, "beta2", where);
  check_non_negative(o, "weight_decay", where);
  check_flag(o, "amsgrad", where);
  check_flag(o, "maximize", where);
}

// lr, beta1, step_size and bias_correction2_sqrt: what a schedule and the
// step count change from update to update (Note [Capturable optimizer steps]).
std::vector<double> Adam::step_scalars(const ParamGroup& group, const ParamState& state) const {
  const double lr = group.get("lr"), beta1 = group.get("beta1"), beta2 = group.get("beta2");
  const double step = static_cast<double>(state.step);
  const double bias_correction1 = 1 - std::pow(beta1, step), bias_correction2 = 1 - std::pow(beta2, step);
  return {lr, beta1, lr / bias_correction1, std::sqrt(bias_correction2)};
}

// The moment buffers of `param` (made on first use), and whether the
// backend's fused update takes them.
Adam::Moments Adam::moments(Tensor& param, const Tensor& grad, ParamState& state, bool amsgrad) {
  Moments m{&buffer(state, "exp_avg", param), &buffer(state, "exp_avg_sq", param),
            amsgrad ? buffer(state, "max_exp_avg_sq", param) : Tensor(), false};
  m.fusable = prim::has_kernel(Primitive::AdamUpdate, param.device()) &&
              fusable({&param, &grad, m.exp_avg, m.exp_avg_sq}) && (!amsgrad || fusable({&param, &m.max_sq}));
  return m;
}

// The fused update's hyper-parameters that no schedule moves.
AdamParams Adam::fixed_params(const ParamGroup& group) const {
  return {.beta2 = group.get("beta2"), .eps = group.get("eps"), .weight_decay = group.get("weight_decay"),
          .maximize = group.get("maximize") != 0, .decoupled = decoupled_};
}

void Adam::update_captured(Tensor& param, const Tensor& grad, const ParamGroup& group, ParamState& state,
                           const double* device_scalars) {
  Moments m = moments(param, grad, state, group.get("amsgrad") != 0);
  EMBER_CHECK(m.fusable, ValueError, name(), ": a capturable step needs the fused update (contiguous parameters "
              "and gradients of one dtype, on a device whose backend has adam_update)");
  AdamParams p = fixed_params(group);
  p.device_scalars = device_scalars;
  prim::adam_update(param, grad, *m.exp_avg, *m.exp_avg_sq, m.max_sq, p);
}

void Adam::update(Tensor& param, const Tensor& grad, const ParamGroup& group, ParamState& state) {
  const std::vector<double> scalars = step_scalars(group, state);
  const double lr = scalars[0], beta1 = scalars[1], step_size = scalars[2], bias_correction2_sqrt = scalars[3];
  const double beta2 = group.get("beta2"), eps = group.get("eps"), weight_decay = group.get("weight_decay");
  const bool amsgrad = group.get("amsgrad") != 0, maximize = group.get("maximize") != 0;

  Moments m = moments(param, grad, state, amsgrad);
  Tensor &exp_avg = *m.exp_avg, &exp_avg_sq = *m.exp_avg_sq, max_sq = m.max_sq;
  if (fused() && m.fusable) {
    AdamParams p = fixed_params(group);
    p.lr = lr, p.beta1 = beta1, p.step_size = step_size, p.bias_correction2_sqrt = bias_correction2_sqrt;
    prim::adam_update(param, grad, exp_avg, exp_avg_sq, max_sq, p);
    return;
  }

  // The reference path, op by op (the fused loop repeats it exactly).
  Tensor g = maximize ? -grad : grad;
  if (decoupled_) {
    param.mul_(1 - lr * weight_decay);  // AdamW: shrink the weights directly
  } else if (weight_decay != 0) {
    g = g + param * weight_decay;  // Adam: L2 penalty's gradient
  }
  exp_avg.mul_(beta1).add_(g, 1 - beta1);             // m = beta1 m + (1 - beta1) g
  exp_avg_sq.mul_(beta2).add_(g * (1 - beta2) * g);  // v = beta2 v + (1 - beta2) g^2 (torch's addcmul_ order)
  Tensor second = exp_avg_sq;
  if (amsgrad) {
    max_sq.copy_(maximum(max_sq, exp_avg_sq));  // AMSGrad: the largest v seen so far
    second = max_sq;
  }
  Tensor denom = second.sqrt() / bias_correction2_sqrt + eps;
  param.add_(exp_avg / denom, -step_size);  // torch's addcdiv_(exp_avg, denom, value=-step_size)
}

}  // namespace ember::optim
