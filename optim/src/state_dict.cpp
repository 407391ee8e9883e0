// StateDict lookups and prefixing; see optim/include/ember/optim/state_dict.h.
#include "ember/optim/state_dict.h"

#include "ember/core/error.h"

namespace ember::optim {

Tensor StateDict::tensor(const std::string& name) const {
  for (const auto& [key, value] : tensors)
    if (key == name) return value;
  return Tensor();
}

std::optional<double> StateDict::scalar(const std::string& name) const {
  for (const auto& [key, value] : scalars)
    if (key == name) return value;
  return std::nullopt;
}

double StateDict::require_scalar(const std::string& name, const std::string& what) const {
  std::optional<double> v = scalar(name);
  EMBER_CHECK(v.has_value(), ValueError, what, ": the state has no scalar '", name, "'");
  return *v;
}

void StateDict::merge(const std::string& prefix, const StateDict& other) {
  for (const auto& [key, value] : other.tensors) tensors.emplace_back(prefix + key, value);
  for (const auto& [key, value] : other.scalars) scalars.emplace_back(prefix + key, value);
}

StateDict StateDict::sub(const std::string& prefix) const {
  StateDict out;
  for (const auto& [key, value] : tensors)
    if (key.starts_with(prefix)) out.tensors.emplace_back(key.substr(prefix.size()), value);
  for (const auto& [key, value] : scalars)
    if (key.starts_with(prefix)) out.scalars.emplace_back(key.substr(prefix.size()), value);
  return out;
}

}  // namespace ember::optim
