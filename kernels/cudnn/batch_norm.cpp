// cuda:cudnn's batch norm in training: cudnnBatchNormalizationForwardTraining
// and cudnnBatchNormalizationBackward, CUDNN_BATCHNORM_SPATIAL.
//
// Note [Batch norm in cuDNN]
// Ember's x (N, C, S) (S the product of the spatial sizes) is cuDNN's
// (N, C, S, 1), and the per-channel tensors are (1, C, 1, 1), of x's dtype
// (cuDNN wants float for float x, double for double x). cuDNN's outputs are
// Ember's, named otherwise:
//   * resultSaveMean is the batch mean, and resultSaveInvVariance is
//     1 / sqrt(biased variance + eps), exactly Ember's save_invstd;
//   * the running statistics become (1 - f) * running + f * batch with
//     f = exponentialAverageFactor = momentum, the variance's the unbiased
//     one (times n / (n - 1)), as PyTorch and Ember do; absent running
//     statistics are null pointers, which cuDNN accepts in training (both or
//     neither: one alone is declined);
//   * an absent weight is a buffer of ones, an absent bias one of zeros;
//   * backward: cuDNN writes dx, dscale and dbias together, so an absent
//     gradient goes to a scratch buffer; the saved mean and invstd are
//     passed back, so cuDNN does not recompute them (the epsilon it asks
//     for is then not used; Ember's backward is not given it).
// Declined, and run by cuda:ember (Note [Vendor entries decline]):
// evaluation mode (cuDNN's inference entry writes neither save_mean nor
// save_invstd, which Ember's contract fills with the running statistics),
// its backward, eps below CUDNN_BN_MIN_EPSILON, and fewer than two values
// per channel (the unbiased variance would divide by zero).
#include "vendor.h"

namespace ember::kernels::cudnn {

namespace {

// (N, C, S) of x, or all zeros when cuDNN cannot take it.
struct Channels {
  int64_t n = 0, c = 0, s = 0;
};

Channels channels_of(const TensorView& x) {
  if ((x.dtype != DType::Float32 && x.dtype != DType::Float64) || x.shape.size() < 2 || !fits_int(x)) return {};
  int64_t s = 1;
  for (size_t d = 2; d < x.shape.size(); ++d) s *= x.shape[d];
  if (x.shape[0] * s < 2) return {};
  return {x.shape[0], x.shape[1], s};
}

// `view`'s data when present, else `buffer` filled with `value` (1 or 0).
void* or_filled(Session& s, const OptionalView& view, const DeviceBuffer& buffer, const TensorDesc& desc, DType dt,
                const void* value) {
  if (view) return view->data;
  auto what = [] { return std::string("cuda:cudnn batch_norm (filling a default weight or bias)"); };
  EMBER_VENDOR_CHECK(cudnnSetTensor(s.cudnn(), desc.d, buffer.get(), value), what);
  return buffer.get();
}

}  // namespace

bool batch_norm_forward(const ExecContext& ctx, const TensorView& y, const TensorView& save_mean,
                        const TensorView& save_invstd, const TensorView& x, const OptionalView& weight,
                        const OptionalView& bias, const OptionalView& running_mean, const OptionalView& running_var,
                        const BatchNormParams& p) {
  const Channels ch = channels_of(x);
  if (!p.training || ch.n == 0 || p.eps < CUDNN_BN_MIN_EPSILON) return false;
  if (running_mean.has_value() != running_var.has_value()) return false;
  const DType dt = x.dtype;
  const size_t param_bytes = static_cast<size_t>(ch.c) * dtype_size(dt);
  auto what = [&] { return describe("batch_norm_forward", {x}); };
  TensorDesc xd(dt, ch.n, ch.c, ch.s, 1), pd(dt, 1, ch.c, 1, 1);
  Session s(ctx);
  DeviceBuffer ones(s.device(), weight ? 0 : param_bytes), zeros(s.device(), bias ? 0 : param_bytes);
  void* w = or_filled(s, weight, ones, pd, dt, one(dt));
  void* b = or_filled(s, bias, zeros, pd, dt, zero(dt));
  EMBER_VENDOR_CHECK(cudnnBatchNormalizationForwardTraining(
                         s.cudnn(), CUDNN_BATCHNORM_SPATIAL, one(dt), zero(dt), xd.d, x.data, xd.d, y.data, pd.d, w,
                         b, p.momentum, running_mean ? running_mean->data : nullptr,
                         running_var ? running_var->data : nullptr, p.eps, save_mean.data, save_invstd.data),
                     what);
  return true;
}

bool batch_norm_backward(const ExecContext& ctx, const OptionalView& grad_x, const OptionalView& grad_weight,
                         const OptionalView& grad_bias, const TensorView& grad_y, const TensorView& x,
                         const OptionalView& weight, const TensorView& save_mean, const TensorView& save_invstd,
                         bool training) {
  const Channels ch = channels_of(x);
  if (!training || ch.n == 0) return false;
  if (!grad_x && !grad_weight && !grad_bias) return true;
  const DType dt = x.dtype;
  const size_t param_bytes = static_cast<size_t>(ch.c) * dtype_size(dt);
  auto what = [&] { return describe("batch_norm_backward", {x}); };
  TensorDesc xd(dt, ch.n, ch.c, ch.s, 1), pd(dt, 1, ch.c, 1, 1);
  Session s(ctx);
  // Scratch for what cuDNN writes and nobody asked for, and the default weight.
  DeviceBuffer dx(s.device(), grad_x ? 0 : static_cast<size_t>(x.numel()) * dtype_size(dt));
  DeviceBuffer dw(s.device(), grad_weight ? 0 : param_bytes), db(s.device(), grad_bias ? 0 : param_bytes);
  DeviceBuffer ones(s.device(), weight ? 0 : param_bytes);
  void* scale = or_filled(s, weight, ones, pd, dt, one(dt));
  // Not used: the saved statistics are given (Note [Batch norm in cuDNN]).
  constexpr double kUnusedEps = 1e-5;
  EMBER_VENDOR_CHECK(cudnnBatchNormalizationBackward(
                         s.cudnn(), CUDNN_BATCHNORM_SPATIAL, one(dt), zero(dt), one(dt), zero(dt), xd.d, x.data, xd.d,
                         grad_y.data, xd.d, grad_x ? grad_x->data : dx.get(), pd.d, scale,
                         grad_weight ? grad_weight->data : dw.get(), grad_bias ? grad_bias->data : db.get(),
                         kUnusedEps, save_mean.data, save_invstd.data),
                     what);
  return true;
}

}  // namespace ember::kernels::cudnn
