// What every file in autograd/ops/ needs: the public op declarations, the
// Node machinery and the no-graph primitives. (Internal header.)
#pragma once

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "../src/prim.h"
#include "ember/autograd/function.h"
#include "ember/autograd/meta.h"
#include "ember/autograd/node.h"
#include "ember/autograd/ops.h"
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

}  // namespace ember
