// Gradient clipping: clip_grad_norm_, with torch.nn.utils.clip_grad_norm_'s
// semantics (PyTorch 1.13). Code in optim/src/clip_grad.cpp.
#pragma once

#include <limits>
#include <vector>

#include "ember/core/tensor.h"

namespace ember::optim {

constexpr double kInfNorm = std::numeric_limits<double>::infinity();

/// Scales the parameters' gradients in place so that their joint norm is at
/// most max_norm: total = ||(||g_1||_p, ..., ||g_n||_p)||_p (max |g| for
/// p = kInfNorm), coef = min(max_norm / (total + 1e-6), 1), g *= coef.
/// Parameters without a gradient are ignored. Returns total, the norm
/// before clipping, as a 0-dim tensor of the gradients' dtype (0-dim float32
/// zero when no parameter has a gradient). norm_type must be > 0 or
/// kInfNorm, max_norm >= 0; error_if_nonfinite throws ValueError when total
/// is NaN or infinite instead of scaling by it.
Tensor clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);

}  // namespace ember::optim
