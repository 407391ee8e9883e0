// SGD, following torch/optim/sgd.py's _single_tensor_sgd (PyTorch 1.13) line
// for line; the math is in docs/optim.md ("SGD").
#include "ember/optim/sgd.h"

#include "ember/autograd/ops.h"
#include "ember/autograd/prim.h"

namespace ember::optim {

namespace {

Options to_options(const SGDOptions& o) {
  return {{"lr", o.lr},
          {"momentum", o.momentum},
          {"dampening", o.dampening},
          {"weight_decay", o.weight_decay},
          {"nesterov", o.nesterov ? 1.0 : 0.0},
          {"maximize", o.maximize ? 1.0 : 0.0}};
}

}  // namespace

SGD::SGD(std::vector<Tensor> params, SGDOptions options)
    : SGD(std::vector<ParamGroup>{ParamGroup{std::move(params), {}}}, options) {}

SGD::SGD(std::vector<ParamGroup> groups, SGDOptions defaults) : Optimizer("SGD", to_options(defaults)) {
  buffer_names_ = {"momentum_buffer"};
  init_groups(std::move(groups));
}

void SGD::validate(const Options& o, const std::string& where) const {
  check_non_negative(o, "lr", where);
  check_non_negative(o, "momentum", where);
  check_non_negative(o, "weight_decay", where);
  check_flag(o, "nesterov", where);
  check_flag(o, "maximize", where);
  EMBER_CHECK(!o.at("nesterov") || (o.at("momentum") > 0 && o.at("dampening") == 0), ValueError, where,
              ": Nesterov momentum requires a momentum > 0 and zero dampening (got momentum ", o.at("momentum"),
              ", dampening ", o.at("dampening"), ")");
}

bool SGD::update_fused(Tensor& param, const Tensor& grad, const ParamGroup& group, ParamState& state) {
  const double momentum = group.get("momentum");
  auto it = state.buffers.find("momentum_buffer");
  const bool first = momentum != 0 && it == state.buffers.end();
  if (!prim::has_kernel(Primitive::SgdUpdate, param.device()) || !fusable({&param, &grad}) ||
      (momentum != 0 && !first && !fusable({&param, &it->second})))
    return false;
  Tensor buf = momentum == 0 ? Tensor()
               : first       ? empty(param.shape(), {.dtype = param.dtype(), .device = param.device()})
                             : it->second;
  prim::sgd_update(param, grad, buf,
                   {.lr = group.get("lr"), .momentum = momentum, .dampening = group.get("dampening"),
                    .weight_decay = group.get("weight_decay"), .nesterov = group.get("nesterov") != 0,
                    .maximize = group.get("maximize") != 0, .first = first});
  if (first) state.buffers.emplace("momentum_buffer", buf);
  return true;
}

void SGD::update(Tensor& param, const Tensor& grad, const ParamGroup& group, ParamState& state) {
  if (fused() && update_fused(param, grad, group, state)) return;
  // The reference path, op by op (the fused loop repeats it exactly).
  const double lr = group.get("lr"), momentum = group.get("momentum"), dampening = group.get("dampening");
  const double weight_decay = group.get("weight_decay");
  Tensor d_p = group.get("maximize") != 0 ? -grad : grad;
  if (weight_decay != 0) d_p = d_p + param * weight_decay;  // L2 penalty's gradient
  if (momentum != 0) {
    auto it = state.buffers.find("momentum_buffer");
    if (it == state.buffers.end()) {
      it = state.buffers.emplace("momentum_buffer", d_p.clone()).first;  // first step: buf = d_p
    } else {
      it->second.mul_(momentum).add_(d_p, 1 - dampening);  // buf = momentum * buf + (1 - dampening) * d_p
    }
    d_p = group.get("nesterov") != 0 ? d_p + it->second * momentum : it->second;
  }
  param.add_(d_p, -lr);
}

}  // namespace ember::optim
