// StateDict: what an optimizer or a scheduler saves into a checkpoint, as
// named tensors plus named scalars (a flat list, like PyTorch's state_dict
// once flattened). Names are dotted paths ("state.3.exp_avg",
// "param_groups.0.lr", "last_epoch"), so a checkpoint writer can store the
// tensors as safetensors entries and the scalars in its metadata, and
// several StateDicts can share one file under different prefixes (merge,
// sub). Scalars are doubles: integers up to 2^53 (step counters) and every
// learning rate round-trip exactly, provided they are written with 17
// significant digits (or std::to_chars) and read back with strtod.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ember/core/tensor.h"

namespace ember::optim {

struct StateDict {
  std::vector<std::pair<std::string, Tensor>> tensors;
  std::vector<std::pair<std::string, double>> scalars;

  /// The tensor called `name`, or an undefined Tensor.
  Tensor tensor(const std::string& name) const;
  /// The scalar called `name`, if there is one.
  std::optional<double> scalar(const std::string& name) const;
  /// The scalar called `name`; throws ValueError naming `what` and `name` when absent.
  double require_scalar(const std::string& name, const std::string& what) const;

  /// Appends every entry of `other` with its name prefixed by `prefix` (e.g. "optimizer.").
  void merge(const std::string& prefix, const StateDict& other);
  /// The entries whose name starts with `prefix`, with the prefix removed.
  StateDict sub(const std::string& prefix) const;
};

}  // namespace ember::optim
