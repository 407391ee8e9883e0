// Helpers for writing a differentiable op: decide whether to record, and
// wire a Node between the op's inputs and its output. The pattern every op
// in autograd/ops/ follows:
//
//   Tensor mul(const Tensor& a, const Tensor& b) {
//     Tensor out = prim::binary(BinaryOp::Mul, a, b);    // compute, no graph
//     if (should_record({a, b})) {
//       auto node = std::make_shared<MulBackward>();
//       node->save(a); node->save(b);                   // what backward needs
//       record(node, {a, b}, out);                       // edges + out.grad_fn
//     }
//     return out;
//   }
#pragma once

#include <initializer_list>
#include <memory>
#include <vector>

#include "ember/autograd/node.h"

namespace ember {

// True when grad mode is on and some defined input requires grad.
bool should_record(std::initializer_list<Tensor> inputs);
bool should_record(const std::vector<Tensor>& inputs);

// Connects `node` to its inputs (edges, metadata) and makes it the grad_fn
// of `output` (output number `output_nr`).
void record(const std::shared_ptr<Node>& node, const std::vector<Tensor>& inputs, const Tensor& output);

// A new handle to the same data (same storage, layout and version counter)
// with no autograd history.
Tensor alias_without_history(const Tensor& t);

}  // namespace ember
