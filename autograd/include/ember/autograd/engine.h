// The backward engine: runs the graph from some outputs back to the leaves.
#pragma once

#include <vector>

#include "ember/core/tensor.h"

namespace ember::autograd {

// Computes the gradients of `outputs` (weighted by `grad_outputs`; an
// undefined one means ones for a one-element output) and accumulates them
// into the .grad of every leaf that requires grad. Frees the graph's saved
// tensors unless retain_graph; records the backward itself (for higher
// derivatives) if create_graph, which implies retain_graph (as in PyTorch:
// the new graph refers to the old one's saved tensors).
void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs = {},
              bool retain_graph = false, bool create_graph = false);

// Like torch.autograd.grad: returns d(outputs)/d(inputs) instead of
// touching any .grad. An input the outputs do not depend on gets an
// undefined Tensor, or an error unless allow_unused.
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, bool retain_graph = false,
                         bool create_graph = false, bool allow_unused = false);

}  // namespace ember::autograd
