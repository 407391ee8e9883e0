// Module bookkeeping: naming, state_dict, train/eval, device moves, repr.
#include "ember/nn/module.h"

#include <cxxabi.h>

#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <typeinfo>

#include "ember/core/grad_mode.h"
#include "ember/nn/summary.h"

namespace ember::nn {

namespace {
// Replaces t's data (storage, layout, dtype) with value's, keeping its
// identity and autograd flags; see Note [Parameter handles].
void assign_data(const Tensor& t, const Tensor& value) {
  TensorImpl& impl = *t.impl();
  const TensorImpl& v = *value.impl();
  impl.storage = v.storage;
  impl.dtype = v.dtype;
  impl.set_layout(v.shape(), v.strides(), v.offset());
  impl.version->value.fetch_add(1);
}
}  // namespace

std::string Module::type_name() const {
  int status = 0;
  char* demangled = abi::__cxa_demangle(typeid(*this).name(), nullptr, nullptr, &status);
  std::string name = status == 0 && demangled ? demangled : typeid(*this).name();
  std::free(demangled);
  // "ember::mnist::LeNet" -> "LeNet"; a template's arguments may hold "::" too.
  const size_t args = name.find('<');
  const size_t colon = name.rfind("::", args == std::string::npos ? std::string::npos : args);
  return colon == std::string::npos ? name : name.substr(colon + 2);
}

Tensor Module::operator()(const Tensor& x) {
  Tensor y = forward(x);
  detail::observe(*this, x, y);
  return y;
}

Tensor Module::register_parameter(const std::string& name, Tensor t) {
  if (!t.requires_grad()) t.requires_grad_(true);
  params_.emplace_back(name, t);
  return t;
}

Tensor Module::register_buffer(const std::string& name, Tensor t) {
  buffers_.emplace_back(name, t);
  return t;
}

void Module::collect(const std::string& prefix, bool recurse, bool params, bool buffers, NamedTensors& out) const {
  if (params)
    for (const auto& [n, t] : params_) out.emplace_back(prefix + n, t);
  if (buffers)
    for (const auto& [n, t] : buffers_) out.emplace_back(prefix + n, t);
  if (!recurse) return;
  for (const auto& [n, child] : children_) child->collect(prefix + n + ".", true, params, buffers, out);
}

NamedTensors Module::named_parameters(bool recurse) const {
  NamedTensors out;
  collect("", recurse, true, false, out);
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_parameters(recurse)) out.push_back(t);
  return out;
}

NamedTensors Module::named_buffers(bool recurse) const {
  NamedTensors out;
  collect("", recurse, false, true, out);
  return out;
}

NamedTensors Module::state_dict() const {
  NamedTensors out;
  collect("", true, true, true, out);
  return out;
}

std::vector<std::pair<std::string, const Module*>> Module::named_modules() const {
  std::vector<std::pair<std::string, const Module*>> out{{"", this}};
  for (size_t i = 0; i < out.size(); ++i) {  // breadth first over the tree
    auto [prefix, m] = out[i];
    for (const auto& [n, child] : m->children_) out.emplace_back(prefix.empty() ? n : prefix + "." + n, child.get());
  }
  return out;
}

void Module::load_state_dict(const NamedTensors& state, bool strict) {
  std::map<std::string, Tensor> given(state.begin(), state.end());
  std::vector<std::string> missing;
  std::set<std::string> used;
  NoGradGuard no_grad;
  for (const auto& [name, t] : state_dict()) {
    auto it = given.find(name);
    if (it == given.end()) {
      missing.push_back(name);
      continue;
    }
    EMBER_CHECK(it->second.shape() == t.shape(), ShapeError, "load_state_dict: ", name, " has shape ",
                shape_str(it->second.shape()), " in the file but ", shape_str(t.shape()), " in the model");
    Tensor dst = t;
    dst.copy_(it->second);
    used.insert(name);
  }
  std::vector<std::string> unexpected;
  for (const auto& [name, t] : given)
    if (!used.count(name)) unexpected.push_back(name);
  if (!strict) return;
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (size_t i = 0; i < v.size() && i < 10; ++i) s += (i ? ", " : "") + v[i];
    if (v.size() > 10) s += ", ... (" + std::to_string(v.size()) + " in all)";
    return s;
  };
  EMBER_CHECK(missing.empty() && unexpected.empty(), ValueError, "load_state_dict: ",
              missing.empty() ? "" : "missing keys: " + join(missing) + (unexpected.empty() ? "" : "; "),
              unexpected.empty() ? "" : "unexpected keys: " + join(unexpected));
}

void Module::save(const std::string& path, const SafetensorsMetadata& metadata) const {
  save_safetensors(path, state_dict(), metadata);
}

void Module::load(const std::string& path, bool strict) { load_state_dict(load_safetensors(path).tensors, strict); }

void Module::train(bool on) {
  training_ = on;
  for (auto& [n, child] : children_) child->train(on);
}

void Module::to(Device device) {
  NoGradGuard no_grad;
  for (auto& [n, t] : state_dict())
    if (t.device() != device) assign_data(t, ember::to(t.detach(), device));
}

void Module::to(DType dtype) {
  EMBER_CHECK(is_floating(dtype), DTypeError, "Module::to: parameters must stay floating, got ", dtype_name(dtype));
  NoGradGuard no_grad;
  for (auto& [n, t] : state_dict())
    if (is_floating(t.dtype()) && t.dtype() != dtype) assign_data(t, ember::to(t.detach(), dtype));
}

void Module::zero_grad() {
  for (auto& t : parameters()) t.set_grad(Tensor());
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (auto& t : parameters()) n += t.numel();
  return n;
}

std::string Module::to_string() const {
  std::ostringstream os;
  os << type_name() << "(" << extra_repr();
  if (!children_.empty()) {
    os << "\n";
    for (const auto& [n, child] : children_) {
      std::string sub = child->to_string();
      std::string indented;
      for (char c : sub) indented += c == '\n' ? std::string("\n  ") : std::string(1, c);
      os << "  (" << n << "): " << indented << "\n";
    }
  }
  os << ")";
  return os.str();
}

}  // namespace ember::nn
