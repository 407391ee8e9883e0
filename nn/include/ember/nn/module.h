// Module: the base of every layer and model, as torch.nn.Module.
//
// A Module owns named parameters (leaf tensors that require grad), named
// buffers (state that is not trained, such as batch norm's running mean)
// and named submodules. Names compose with dots exactly as in PyTorch
// ("conv1.weight", "layer1.0.bn1.running_mean"), so a state_dict written by
// Ember loads into the equivalent torch.nn model and back.
//
// Note [Parameter handles]
// A layer keeps Tensor handles to its parameters (weight, bias) and the
// Module keeps the same handles by name. Both alias one TensorImpl, so
// anything that must change a parameter everywhere (to(device), to(dtype),
// load_state_dict) changes that TensorImpl's data in place rather than
// replacing the handle.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ember/autograd/ops.h"
#include "ember/nn/safetensors.h"

namespace ember::nn {

class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // The layer's computation. Call the module (operator()) rather than
  // forward(), so summaries can observe it.
  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x);

  // "Linear", "Conv2d", ...: the class name PyTorch would print. By
  // default the C++ class's own name without its namespaces, so a user's
  // `struct LeNet : nn::Module` prints as "LeNet" with no override.
  virtual std::string type_name() const;
  // The constructor arguments, as in PyTorch's repr: "in_features=4, ...".
  virtual std::string extra_repr() const { return ""; }
  // Multiply-accumulates x2 for one forward pass producing `out` from `in`
  // (this module's own work, not its children's); 0 if negligible.
  virtual int64_t flops(const Shape& /*in*/, const Shape& /*out*/) const { return 0; }

  NamedTensors named_parameters(bool recurse = true) const;
  std::vector<Tensor> parameters(bool recurse = true) const;
  NamedTensors named_buffers(bool recurse = true) const;
  // Parameters and buffers, in PyTorch's order (each module's own
  // parameters, then its buffers, then its children, depth first).
  NamedTensors state_dict() const;
  // Copies values into the existing parameters and buffers. With strict,
  // missing or unexpected names are errors; shapes must always match.
  void load_state_dict(const NamedTensors& state, bool strict = true);
  void save(const std::string& path, const SafetensorsMetadata& metadata = {}) const;
  void load(const std::string& path, bool strict = true);

  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const { return children_; }
  // Every module in the tree with its dotted name ("" for this one).
  std::vector<std::pair<std::string, const Module*>> named_modules() const;

  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  // Moves or casts every parameter and buffer in place (floating ones only
  // for a dtype); see Note [Parameter handles].
  void to(Device device);
  void to(DType dtype);
  // Clears every parameter's .grad.
  void zero_grad();
  int64_t num_parameters() const;

  // PyTorch-style tree: "Sequential(\n  (0): Linear(in_features=...)\n ...".
  std::string to_string() const;

 protected:
  // Registers and returns a handle to the parameter (made a leaf that
  // requires grad) or buffer.
  Tensor register_parameter(const std::string& name, Tensor t);
  Tensor register_buffer(const std::string& name, Tensor t);
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    children_.emplace_back(name, m);
    return m;
  }

 private:
  void collect(const std::string& prefix, bool recurse, bool params, bool buffers, NamedTensors& out) const;
  NamedTensors params_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

using ModulePtr = std::shared_ptr<Module>;

}  // namespace ember::nn
