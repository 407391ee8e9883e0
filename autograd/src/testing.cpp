#include "ember/autograd/testing.h"

#include "ember/autograd/ops.h"

namespace ember::autograd::testing {

namespace {
std::string& target() {
  static std::string name;
  return name;
}
}  // namespace

void corrupt_backward(const std::string& node_name) { target() = node_name; }

void maybe_corrupt(const Node& node, std::vector<Tensor>& grads) {
  if (target().empty() || node.name() != target()) return;
  for (Tensor& g : grads)
    if (g.defined()) g = g * 1.1 + 0.01;
}

}  // namespace ember::autograd::testing
