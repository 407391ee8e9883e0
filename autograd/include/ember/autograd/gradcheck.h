// gradcheck: compares the gradients backward() computes with central
// differences, in float64.
//
// The function's output is weighted by a random cotangent v (not summed),
// so that a gradient which is wrong by a transpose or a permutation cannot
// hide behind a symmetric sum: we compare d(v . f(x))/dx computed both ways.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ember/core/tensor.h"

namespace ember {

struct GradcheckOptions {
  double eps = 1e-6;   // finite-difference step
  double atol = 1e-5;  // |analytic - numeric| <= atol + rtol * |numeric|
  double rtol = 1e-3;
  uint64_t seed = 0;   // for the random cotangent
};

struct GradcheckResult {
  bool ok = true;
  std::string message;  // the first mismatch, with input, element and both values
  explicit operator bool() const { return ok; }
};

using DifferentiableFn = std::function<Tensor(const std::vector<Tensor>&)>;

// Checks every float64 input that requires grad. Inputs may be
// non-contiguous, but not self-overlapping (an expand()ed tensor): one
// memory element perturbed would change several logical ones.
GradcheckResult gradcheck(const DifferentiableFn& f, const std::vector<Tensor>& inputs, GradcheckOptions opts = {});

// gradcheck of the gradient itself (built with create_graph): checks that
// backward formulas are differentiable and right.
GradcheckResult gradgradcheck(const DifferentiableFn& f, const std::vector<Tensor>& inputs,
                              GradcheckOptions opts = {});

}  // namespace ember
