// cuda:cudnn, the vendor backend: a partial Backend (Note [Backend registry]
// in core/include/ember/core/backend.h) whose base is cuda:ember. Its own
// entries run on NVIDIA's libraries:
//   matmul                          cuBLAS strided-batched GEMM (matmul.cpp)
//   conv2d forward, backward-input,
//   backward-weight                 cuDNN, algorithm found once per shape (conv.cpp)
//   avg_pool2d forward, backward    cuDNN pooling (pool_softmax.cpp)
//   softmax, log_softmax            cuDNN softmax (pool_softmax.cpp)
//   batch_norm forward, backward    cuDNN batch norm, training (batch_norm.cpp)
// Every other primitive (copies, elementwise, reductions, indexing, max
// pooling, the loss, random fills, optimizer updates) falls through to
// cuda:ember by the registry, as does the device's memory. An own entry
// that the library cannot do as Ember specifies hands the call to
// cuda:ember itself (Note [Vendor entries decline] in vendor.h).
//
// Both libraries are held to full precision: no TF32 (Note [No TF32] in
// matmul.cpp, Note [No TF32 in cuDNN] in conv.cpp). Tests and the
// benchmarks use this backend as the reference Ember's kernels are
// checked and timed against.
#include <array>
#include <atomic>
#include <string>

#include "vendor.h"

namespace ember::kernels::cudnn {

namespace {

// The base, where declined calls go.
Backend& base() { return backend_named(DeviceType::CUDA, "ember"); }

// Calls the vendor library served, per primitive (cudnn_vendor_calls).
std::array<std::atomic<size_t>, kNumPrimitives> served{};
// `handled` (an entry's answer), counted when true.
bool count(Primitive p, bool handled) {
  if (handled) served[static_cast<int>(p)].fetch_add(1, std::memory_order_relaxed);
  return handled;
}

class CudnnBackend final : public Backend {
 public:
  CudnnBackend()
      : Backend(DeviceType::CUDA, "cudnn", "ember",
                {Primitive::Matmul, Primitive::Softmax, Primitive::Conv2dForward, Primitive::Conv2dBackwardInput,
                 Primitive::Conv2dBackwardWeight, Primitive::AvgPool2dForward, Primitive::AvgPool2dBackward,
                 Primitive::BatchNormForward, Primitive::BatchNormBackward}) {}

  void matmul(const ExecContext& ctx, const TensorView& out, const TensorView& a, const TensorView& b) override {
    if (!count(Primitive::Matmul, cudnn::matmul(ctx, out, a, b))) base().matmul(ctx, out, a, b);
  }
  void softmax(const ExecContext& ctx, const TensorView& out, const TensorView& a, int64_t dim, bool log) override {
    if (!count(Primitive::Softmax, cudnn::softmax(ctx, out, a, dim, log))) base().softmax(ctx, out, a, dim, log);
  }
  void conv2d_forward(const ExecContext& ctx, const TensorView& y, const TensorView& x, const TensorView& weight,
                      const OptionalView& bias, const WindowGeometry& g, int64_t groups) override {
    if (!count(Primitive::Conv2dForward, cudnn::conv2d_forward(ctx, y, x, weight, bias, g, groups)))
      base().conv2d_forward(ctx, y, x, weight, bias, g, groups);
  }
  void conv2d_backward_input(const ExecContext& ctx, const TensorView& grad_x, const TensorView& grad_y,
                             const TensorView& weight, const WindowGeometry& g, int64_t groups) override {
    if (!count(Primitive::Conv2dBackwardInput, cudnn::conv2d_backward_input(ctx, grad_x, grad_y, weight, g, groups)))
      base().conv2d_backward_input(ctx, grad_x, grad_y, weight, g, groups);
  }
  void conv2d_backward_weight(const ExecContext& ctx, const TensorView& grad_weight, const OptionalView& grad_bias,
                              const TensorView& grad_y, const TensorView& x, const WindowGeometry& g,
                              int64_t groups) override {
    if (!count(Primitive::Conv2dBackwardWeight,
               cudnn::conv2d_backward_weight(ctx, grad_weight, grad_bias, grad_y, x, g, groups)))
      base().conv2d_backward_weight(ctx, grad_weight, grad_bias, grad_y, x, g, groups);
  }
  void avg_pool2d_forward(const ExecContext& ctx, const TensorView& y, const TensorView& x,
                          const WindowGeometry& g) override {
    if (!count(Primitive::AvgPool2dForward, cudnn::avg_pool2d_forward(ctx, y, x, g)))
      base().avg_pool2d_forward(ctx, y, x, g);
  }
  void avg_pool2d_backward(const ExecContext& ctx, const TensorView& grad_x, const TensorView& grad_y,
                           const WindowGeometry& g) override {
    if (!count(Primitive::AvgPool2dBackward, cudnn::avg_pool2d_backward(ctx, grad_x, grad_y, g)))
      base().avg_pool2d_backward(ctx, grad_x, grad_y, g);
  }
  void batch_norm_forward(const ExecContext& ctx, const TensorView& y, const TensorView& save_mean,
                          const TensorView& save_invstd, const TensorView& x, const OptionalView& weight,
                          const OptionalView& bias, const OptionalView& running_mean, const OptionalView& running_var,
                          const BatchNormParams& p) override {
    if (!count(Primitive::BatchNormForward, cudnn::batch_norm_forward(ctx, y, save_mean, save_invstd, x, weight, bias,
                                                                      running_mean, running_var, p)))
      base().batch_norm_forward(ctx, y, save_mean, save_invstd, x, weight, bias, running_mean, running_var, p);
  }
  void batch_norm_backward(const ExecContext& ctx, const OptionalView& grad_x, const OptionalView& grad_weight,
                           const OptionalView& grad_bias, const TensorView& grad_y, const TensorView& x,
                           const OptionalView& weight, const TensorView& save_mean, const TensorView& save_invstd,
                           bool training) override {
    if (!count(Primitive::BatchNormBackward, cudnn::batch_norm_backward(ctx, grad_x, grad_weight, grad_bias, grad_y, x,
                                                                        weight, save_mean, save_invstd, training)))
      base().batch_norm_backward(ctx, grad_x, grad_weight, grad_bias, grad_y, x, weight, save_mean, save_invstd,
                                 training);
  }
};

}  // namespace

size_t vendor_calls(const std::string& primitive) {
  for (int p = 0; p < kNumPrimitives; ++p)
    if (primitive == primitive_name(static_cast<Primitive>(p))) return served[p].load();
  throw ValueError(detail::concat("cudnn_vendor_calls: no primitive named '", primitive, "'"));
}

Backend* cudnn_backend() {
  static CudnnBackend backend;
  return &backend;
}

}  // namespace ember::kernels::cudnn
