// Parameter initialization (torch.nn.init), drawing from Ember's default
// generator unless one is given, so one manual_seed fixes a model's
// initial weights.
#pragma once

#include "ember/autograd/ops.h"

namespace ember::nn::init {

// (fan_in, fan_out) of a Linear (out, in) or Conv (out, in, kh, kw) weight.
std::pair<int64_t, int64_t> fans(const Tensor& weight);
// Fills t in place with U(lo, hi), without recording a graph.
void uniform_(const Tensor& t, double lo, double hi, Generator* gen = nullptr);
// kaiming_uniform_ with leaky-relu slope a (fan_in mode): bound =
// sqrt(6 / ((1 + a^2) fan_in)). PyTorch's Linear/Conv use a = sqrt(5).
void kaiming_uniform_(const Tensor& t, double a, Generator* gen = nullptr);
void constant_(const Tensor& t, double value);

}  // namespace ember::nn::init
