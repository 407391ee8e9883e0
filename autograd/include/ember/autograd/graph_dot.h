// Export of the autograd graph as Graphviz DOT text (render it with
// `dot -Tsvg`), as torchviz does for PyTorch.
#pragma once

#include <string>

#include "ember/core/tensor.h"

namespace ember {

// The graph that produced `t`: one box per backward Node, leaves (the
// tensors that will receive .grad) in blue with their shapes, `t` itself in
// green. Graphs larger than max_nodes are cut, with a note saying so.
std::string graph_to_dot(const Tensor& t, size_t max_nodes = 300);

}  // namespace ember
