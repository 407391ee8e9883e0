// Fused CPU updates (internal to optim/): SGD's and Adam's per-element
// arithmetic as one loop over raw memory, instead of a dozen tensor ops.
//
// Note [Fused CPU updates]
// The op-by-op update (sgd.cpp, adam.cpp) is the reference: readable, and
// right for any device and layout. But on the CPU each op allocates a
// temporary the size of the parameter and pays dispatch costs; for LeNet's
// 62k parameters Adam took ~0.9 ms per step that way, a large share of a
// training step. So when a parameter, its gradient and its buffers are all
// CPU, contiguous and of one floating dtype, the optimizers run the same
// arithmetic as a single loop. The loop repeats the ops' rounding exactly:
// every scalar is cast to the tensor's dtype first (as wrap_scalar does),
// each operation is rounded in that dtype, in the ops' order, and fused.cpp
// is compiled with -ffp-contract=off so that no multiply-add is fused.
// tests/test_optim.cpp replays the PyTorch fixtures through both paths.
#pragma once

#include <initializer_list>

#include "ember/core/tensor.h"

namespace ember::optim::fused {

/// Whether the loop may run: all defined, on the CPU, contiguous, one floating dtype.
bool applicable(std::initializer_list<const Tensor*> tensors);

struct SGDArgs {
  double lr, momentum, dampening, weight_decay;
  bool nesterov, maximize;
  bool first;  // the momentum buffer is new: it starts as the gradient
};
/// One SGD update; `buf` is undefined when momentum == 0.
void sgd(const Tensor& param, const Tensor& grad, const Tensor& buf, const SGDArgs& args);

struct AdamArgs {
  double lr, beta1, beta2, eps, weight_decay;
  double step_size, bias_correction2_sqrt;
  bool maximize, decoupled;
};
/// One Adam/AdamW update; `max_sq` is undefined unless AMSGrad.
void adam(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
          const Tensor& max_sq, const AdamArgs& args);

}  // namespace ember::optim::fused
