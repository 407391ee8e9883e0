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
// Fills t in place with N(mean, std^2), without recording a graph.
void normal_(const Tensor& t, double mean, double std, Generator* gen = nullptr);

// Which fan a Kaiming rule scales by: fan_in keeps the forward pass's
// variance, fan_out the backward pass's (torchvision's ResNet uses fan_out).
enum class FanMode { FanIn, FanOut };
// kaiming_normal_ with leaky-relu slope a: std = sqrt(2 / ((1 + a^2) fan)).
// a = 0 is PyTorch's nonlinearity="relu" (gain sqrt(2)), so torchvision's
// kaiming_normal_(w, mode="fan_out", nonlinearity="relu") is
// kaiming_normal_(w, 0, FanMode::FanOut). The draws come from Ember's
// generator, not PyTorch's: same distribution, different numbers.
void kaiming_normal_(const Tensor& t, double a = 0, FanMode mode = FanMode::FanIn, Generator* gen = nullptr);

}  // namespace ember::nn::init
