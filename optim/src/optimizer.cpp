// Optimizer: parameter groups, step/zero_grad, per-parameter state, and the
// state_dict round trip of Note [Optimizer state checkpoint] (optimizer.h).
#include "ember/optim/optimizer.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <set>

#include "ember/autograd/ops.h"
#include "ember/core/grad_mode.h"

namespace ember::optim {

namespace {

// Options a scheduler adds to a group (PyTorch's names): allowed in any group.
const std::set<std::string> kSchedulerKeys = {"initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum"};

std::string known_keys(const Options& defaults) {
  std::string out;
  for (const auto& [key, value] : defaults) out += (out.empty() ? "" : ", ") + key;
  for (const auto& key : kSchedulerKeys) out += ", " + key;
  return out;
}

// "state.12.exp_avg" -> (12, "exp_avg"); false if the name has another form.
bool parse_state_name(const std::string& name, size_t& index, std::string& rest) {
  const std::string prefix = "state.";
  if (!name.starts_with(prefix)) return false;
  const char* first = name.data() + prefix.size();
  const char* last = name.data() + name.size();
  auto [ptr, ec] = std::from_chars(first, last, index);
  if (ec != std::errc() || ptr == first || ptr == last || *ptr != '.') return false;
  rest = std::string(ptr + 1, last);
  return !rest.empty();
}

}  // namespace

double ParamGroup::get(const std::string& key) const {
  auto it = options.find(key);
  EMBER_CHECK(it != options.end(), ValueError, "param group has no option '", key, "'");
  return it->second;
}

void check_non_negative(const Options& options, const std::string& key, const std::string& where) {
  double v = options.at(key);
  EMBER_CHECK(v >= 0, ValueError, where, ": invalid ", key, " ", v, " (expected >= 0)");
}

void check_in_unit_interval(const Options& options, const std::string& key, const std::string& where) {
  double v = options.at(key);
  EMBER_CHECK(v >= 0 && v < 1, ValueError, where, ": invalid ", key, " ", v, " (expected 0 <= ", key, " < 1)");
}

void check_flag(const Options& options, const std::string& key, const std::string& where) {
  double v = options.at(key);
  EMBER_CHECK(v == 0 || v == 1, ValueError, where, ": invalid ", key, " ", v, " (expected a flag: 0 or 1)");
}

Optimizer::Optimizer(std::string name, Options defaults) : name_(std::move(name)), defaults_(std::move(defaults)) {}

void Optimizer::init_groups(std::vector<ParamGroup> groups) {
  check_options(defaults_, name_);
  EMBER_CHECK(!groups.empty(), ValueError, name_, ": got an empty list of parameters");
  for (ParamGroup& g : groups) add_param_group(std::move(g));
}

void Optimizer::check_options(const Options& options, const std::string& where) const {
  for (const auto& [key, value] : options) {
    EMBER_CHECK(defaults_.count(key) || kSchedulerKeys.count(key), ValueError, where, ": unknown option '", key,
                "' (known: ", known_keys(defaults_), ")");
    EMBER_CHECK(std::isfinite(value), ValueError, where, ": option ", key, " is ", value, " (expected a finite number)");
  }
  for (const auto& [key, value] : defaults_)
    EMBER_CHECK(options.count(key), ValueError, where, ": option '", key, "' is missing");
  validate(options, where);
}

void Optimizer::add_param_group(ParamGroup group) {
  const std::string where = detail::concat(name_, " (param group ", groups_.size(), ")");
  EMBER_CHECK(!group.params.empty(), ValueError, where, ": got an empty list of parameters");
  std::set<const TensorImpl*> seen;
  for (const ParamGroup& g : groups_)
    for (const Tensor& p : g.params) seen.insert(p.impl());
  for (size_t i = 0; i < group.params.size(); ++i) {
    const Tensor& p = group.params[i];
    EMBER_CHECK(p.defined(), ValueError, where, ": parameter ", i, " is an undefined tensor");
    EMBER_CHECK(p.is_leaf(), ValueError, where, ": can't optimize a non-leaf tensor (parameter ", i, " has grad_fn ",
                p.grad_fn_name(), "); optimize the leaf it comes from");
    EMBER_CHECK(is_floating(p.dtype()), DTypeError, where, ": parameter ", i, " has dtype ", dtype_name(p.dtype()),
                "; only floating tensors can be optimized");
    EMBER_CHECK(seen.insert(p.impl()).second, ValueError, where, ": parameter ", i, " (shape ", shape_str(p.shape()),
                ") appears more than once in the optimizer");
  }
  for (const auto& [key, value] : defaults_) group.options.try_emplace(key, value);
  check_options(group.options, where);
  groups_.push_back(std::move(group));
}

void Optimizer::step() {
  if (capturable_) {  // Note [Capturable optimizer steps]
    prepare_step();
    launch_step();
    return;
  }
  NoGradGuard no_grad;
  for (ParamGroup& group : groups_)
    for (Tensor& param : group.params) {
      Tensor grad = param.grad();
      if (!grad.defined()) continue;
      ParamState& s = state_[param.impl()];
      ++s.step;
      update(param, grad, group, s);
    }
}

void Optimizer::set_capturable(bool on) {
  EMBER_CHECK(!on || supports_capturable(), ValueError, name_,
              ": capturable steps are not implemented (Adam and AdamW have them)");
  capturable_ = on;
}

std::vector<double> Optimizer::step_scalars(const ParamGroup&, const ParamState&) const {
  throw InternalError(name_ + ": step_scalars without capturable support");
}
void Optimizer::update_captured(Tensor&, const Tensor&, const ParamGroup&, ParamState&, const double*) {
  throw InternalError(name_ + ": update_captured without capturable support");
}

// Note [Capturable optimizer steps]: the host's part. Parameter i (in
// group order, with or without a gradient) owns row i, so the rows never
// move; a new buffer is made only when parameters are added or move device,
// and the old one is kept alive, since a captured graph may still read it.
void Optimizer::prepare_step() {
  NoGradGuard no_grad;
  int64_t total = 0;
  for (const ParamGroup& group : groups_) total += static_cast<int64_t>(group.params.size());
  std::vector<double> scalars(static_cast<size_t>(4 * total), 0.0);
  std::optional<Device> device;
  int64_t i = 0;
  for (ParamGroup& group : groups_)
    for (Tensor& param : group.params) {
      if (param.grad().defined()) {
        EMBER_CHECK(!device || param.device() == *device, DeviceError, name_,
                    ": a capturable step needs every parameter on one device (", param.device().str(), " and ",
                    device->str(), ")");
        device = param.device();
        ParamState& s = state_[param.impl()];
        ++s.step;
        const std::vector<double> v = step_scalars(group, s);
        std::copy(v.begin(), v.end(), scalars.begin() + 4 * i);
      }
      ++i;
    }
  if (!device) return;
  const Shape shape{total, 4};
  if (!step_scalars_.defined() || step_scalars_.shape() != shape || step_scalars_.device() != *device) {
    if (step_scalars_.defined()) retired_scalars_.push_back(step_scalars_);
    step_scalars_ = zeros(shape, {.dtype = DType::Float64, .device = *device});
  }
  step_scalars_.copy_(from_vector(scalars, shape));  // one host-to-device copy
}

// Note [Capturable optimizer steps]: the device's part, capturable.
void Optimizer::launch_step() {
  NoGradGuard no_grad;
  int64_t i = 0;
  for (ParamGroup& group : groups_)
    for (Tensor& param : group.params) {
      Tensor grad = param.grad();
      if (grad.defined()) {
        EMBER_CHECK(step_scalars_.defined() && i < step_scalars_.size(0) && param.device() == step_scalars_.device(),
                    ValueError, name_, ": launch_step without a prepare_step for these gradients");
        update_captured(param, grad, group, state_[param.impl()], step_scalars_.data_ptr<double>() + 4 * i);
      }
      ++i;
    }
}

void Optimizer::zero_grad(bool set_to_none) {
  NoGradGuard no_grad;
  for (ParamGroup& group : groups_)
    for (Tensor& param : group.params) {
      Tensor grad = param.grad();
      if (!grad.defined()) continue;
      if (set_to_none) {
        param.set_grad(Tensor());
        continue;
      }
      // A gradient made with create_graph has history: cut it, as PyTorch's detach_().
      if (!grad.is_leaf()) {
        grad = grad.detach();
        param.set_grad(grad);
      }
      grad.zero_();
    }
}

const ParamState* Optimizer::state(const Tensor& param) const {
  auto it = state_.find(param.impl());
  return it == state_.end() ? nullptr : &it->second;
}

bool Optimizer::fusable(std::initializer_list<const Tensor*> tensors) {
  const Tensor& first = **tensors.begin();
  if (!first.defined() || !is_floating(first.dtype())) return false;
  for (const Tensor* t : tensors)
    if (!t->defined() || t->device() != first.device() || t->dtype() != first.dtype() || !t->is_contiguous() ||
        t->shape() != first.shape())
      return false;
  return true;
}

Tensor& Optimizer::buffer(ParamState& state, const std::string& key, const Tensor& param) {
  auto it = state.buffers.find(key);
  if (it == state.buffers.end()) it = state.buffers.emplace(key, zeros_like(param)).first;
  return it->second;
}

StateDict Optimizer::state_dict() const {
  StateDict out;
  size_t index = 0;
  for (size_t g = 0; g < groups_.size(); ++g) {
    for (const Tensor& param : groups_[g].params) {
      const std::string prefix = "state." + std::to_string(index++) + ".";
      const ParamState* s = state(param);
      if (!s) continue;
      out.scalars.emplace_back(prefix + "step", static_cast<double>(s->step));
      for (const auto& [key, buf] : s->buffers) out.tensors.emplace_back(prefix + key, buf.clone());
    }
    const std::string prefix = "param_groups." + std::to_string(g) + ".";
    out.scalars.emplace_back(prefix + "size", static_cast<double>(groups_[g].params.size()));
    for (const auto& [key, value] : groups_[g].options) out.scalars.emplace_back(prefix + key, value);
  }
  return out;
}

std::vector<Options> Optimizer::load_group_options(const StateDict& state) const {
  const std::string what = name_ + ".load_state_dict";
  EMBER_CHECK(!state.scalar("param_groups." + std::to_string(groups_.size()) + ".size"), ValueError, what,
              ": the state has more than the optimizer's ", groups_.size(), " param group(s)");
  std::vector<Options> out(groups_.size());
  for (size_t g = 0; g < groups_.size(); ++g) {
    const std::string prefix = "param_groups." + std::to_string(g) + ".";
    double size = state.require_scalar(prefix + "size", what);
    EMBER_CHECK(size == static_cast<double>(groups_[g].params.size()), ValueError, what, ": param group ", g,
                " has ", groups_[g].params.size(), " parameters but the state has ", size);
    for (const auto& [key, value] : state.scalars)
      if (key.starts_with(prefix) && key != prefix + "size") out[g][key.substr(prefix.size())] = value;
    check_options(out[g], detail::concat(what, " (param group ", g, ")"));
  }
  for (const auto& [key, value] : state.scalars) {
    size_t index = 0;
    std::string rest;
    EMBER_CHECK(key.starts_with("param_groups.") || (parse_state_name(key, index, rest) && rest == "step"),
                ValueError, what, ": unexpected scalar '", key, "'");
  }
  return out;
}

std::unordered_map<const TensorImpl*, ParamState> Optimizer::load_param_states(const StateDict& state) const {
  const std::string what = name_ + ".load_state_dict";
  std::vector<const Tensor*> params;
  for (const ParamGroup& g : groups_)
    for (const Tensor& p : g.params) params.push_back(&p);
  std::unordered_map<const TensorImpl*, ParamState> out;
  for (const auto& [key, value] : state.scalars) {
    size_t i = 0;
    std::string rest;
    if (!parse_state_name(key, i, rest)) continue;
    EMBER_CHECK(i < params.size(), ValueError, what, ": '", key, "' names parameter ", i, " but the optimizer has ",
                params.size());
    EMBER_CHECK(value >= 0 && value == std::floor(value) && value < 9007199254740992.0, ValueError, what, ": '", key,
                "' is ", value, " (expected a step count)");
    out[params[i]->impl()].step = static_cast<int64_t>(value);
  }
  for (const auto& [key, value] : state.tensors) {
    size_t i = 0;
    std::string rest;
    EMBER_CHECK(parse_state_name(key, i, rest), ValueError, what, ": unexpected tensor '", key, "'");
    EMBER_CHECK(i < params.size(), ValueError, what, ": '", key, "' names parameter ", i, " but the optimizer has ",
                params.size());
    EMBER_CHECK(std::find(buffer_names_.begin(), buffer_names_.end(), rest) != buffer_names_.end(), ValueError, what,
                ": unexpected tensor '", key, "' (", name_, " keeps no buffer '", rest, "')");
    const Tensor& p = *params[i];
    EMBER_CHECK(value.defined() && value.shape() == p.shape(), ShapeError, what, ": '", key, "' has shape ",
                value.defined() ? shape_str(value.shape()) : "undefined", " but parameter ", i, " has shape ",
                shape_str(p.shape()));
    auto it = out.find(p.impl());
    EMBER_CHECK(it != out.end(), ValueError, what, ": '", key, "' comes without 'state.", i, ".step'");
    it->second.buffers[rest] = value.to(p.dtype()).to(p.device()).clone();
  }
  return out;
}

void Optimizer::load_state_dict(const StateDict& state) {
  NoGradGuard no_grad;
  std::vector<Options> options = load_group_options(state);
  auto param_states = load_param_states(state);
  // Everything checked: now replace (no half-loaded optimizer on error).
  for (size_t g = 0; g < groups_.size(); ++g) groups_[g].options = std::move(options[g]);
  state_ = std::move(param_states);
}

}  // namespace ember::optim
