#include "ember/nn/init.h"

#include <cmath>

#include "ember/core/grad_mode.h"

namespace ember::nn::init {

std::pair<int64_t, int64_t> fans(const Tensor& w) {
  EMBER_CHECK(w.dim() >= 2, ShapeError, "init: fan in/out need a weight with at least 2 dims, got ", shape_str(w.shape()));
  int64_t receptive = 1;
  for (int64_t d = 2; d < w.dim(); ++d) receptive *= w.size(d);
  return {w.size(1) * receptive, w.size(0) * receptive};
}

void uniform_(const Tensor& t, double lo, double hi, Generator* gen) {
  NoGradGuard no_grad;
  Tensor dst = t;
  dst.copy_(rand(t.shape(), {.dtype = t.dtype()}, gen) * (hi - lo) + lo);
}

void kaiming_uniform_(const Tensor& t, double a, Generator* gen) {
  const double bound = std::sqrt(6.0 / ((1 + a * a) * static_cast<double>(fans(t).first)));
  uniform_(t, -bound, bound, gen);
}

void normal_(const Tensor& t, double mean, double std, Generator* gen) {
  EMBER_CHECK(std >= 0, ValueError, "init::normal_: std must be non-negative, got ", std);
  NoGradGuard no_grad;
  Tensor dst = t;
  dst.copy_(randn(t.shape(), {.dtype = t.dtype()}, gen) * std + mean);
}

void kaiming_normal_(const Tensor& t, double a, FanMode mode, Generator* gen) {
  const auto [fan_in, fan_out] = fans(t);
  const double fan = static_cast<double>(mode == FanMode::FanIn ? fan_in : fan_out);
  normal_(t, 0.0, std::sqrt(2.0 / ((1 + a * a) * fan)), gen);
}

void constant_(const Tensor& t, double value) {
  NoGradGuard no_grad;
  Tensor dst = t;
  dst.fill_(value);
}

}  // namespace ember::nn::init
