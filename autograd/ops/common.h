// What every file in autograd/ops/ needs: the public op declarations, the
// Node machinery and the no-graph primitives. (Internal header.)
//
// Note [Writing an op]
// An op validates its arguments (ember::Error naming the op and the shapes),
// computes with prim:: (no graph), and, when should_record() says an input
// requires grad, records one Node (Note [Defining a backward node]) that
// saves what its backward needs:
//
//   Tensor mul(const Tensor& a, const Tensor& b) {
//     Tensor out = prim::binary(BinaryOp::Mul, a, b, "mul");  // compute, no graph
//     if (should_record({a, b})) {
//       auto node = std::make_shared<MulBackward>();
//       node->save(a); node->save(b);                          // what backward needs
//       record(node, {a, b}, out);                             // edges + out.grad_fn
//     }
//     return out;
//   }
//
// A composite op (softplus, var, mse_loss) is written with other ops only:
// it records nothing itself, and its gradient comes from theirs.
#pragma once

#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ember/autograd/function.h"
#include "ember/autograd/meta.h"
#include "ember/autograd/node.h"
#include "ember/autograd/ops.h"
#include "ember/autograd/prim.h"
#include "ember/core/grad_mode.h"

namespace ember {

// The gradient for an input of a broadcasting op: summed down to the input's
// shape and cast to its dtype.
inline Tensor reduce_grad(const Tensor& g, const InputMeta& input) {
  Tensor r = sum_to(g, input.shape);
  return r.dtype() == input.dtype ? r : to(r, input.dtype);
}

// Scalars become 0-dim tensors already in the result dtype, so that
// Note [Type promotion]'s "wrapped number" rule holds.
inline Tensor wrap_scalar(Scalar s, const Tensor& other) {
  DType dt = result_type(PromotionOperand{other.dtype(), other.dim() == 0 ? Tier::ZeroDim : Tier::Dimensioned},
                         PromotionOperand{s.kind(), Tier::Scalar});
  return scalar_tensor(s, {.dtype = dt, .device = other.device()});
}

// Note [Double backward of fused ops]
// A fused op (conv2d, batch_norm, cross_entropy) computes its gradient with
// the backend's fused backward entry, which records no graph. When the
// backward itself must be recorded (create_graph, for gradients of
// gradients: the engine then runs Nodes with grad mode on), its Node instead
// re-runs the op's composite form (the same math written with
// differentiable ops) on the saved inputs and differentiates that with
// autograd::grad. Slower, but every op in it has a gradient of its own.
// tests/test_nn_ops.cpp checks that both paths agree to 1e-12 in float64.
// The cost to know: each such Node's autograd::grad walks the graph above
// its inputs to find what to run, so a create_graph backward through many
// fused ops grows with the square of their number. Right for gradient
// checks and penalties on small models; a kernel of its own per double
// backward would be the next step.
//
// composite_backward returns, for each input the node needs a gradient
// for, d(composite(inputs) . grad)/d(input), with its graph; undefined
// for the others.
//
// An input whose value no gradient needs (a bias: its gradient is a sum of
// the incoming one) is not saved; the composite gets bias_stand_in(), a
// zero leaf of its shape, so modifying the bias in place between forward
// and backward stays legal.
Tensor bias_stand_in(const InputMeta& bias, bool needed);
std::vector<Tensor> composite_backward(const Node& node,
                                       const std::function<Tensor(const std::vector<Tensor>&)>& composite,
                                       const std::vector<Tensor>& inputs, const Tensor& grad);

}  // namespace ember
