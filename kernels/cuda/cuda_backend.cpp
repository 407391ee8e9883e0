// cuda:ember, the root of the CUDA chain: the device runtime (runtime.h) and
// Ember's own kernels for every primitive: the memory-bound ones (copy.cu,
// elementwise.cu, reduce.cu, softmax.cu, indexing.cu, random.cu, optim.cu),
// matmul (matmul.cpp over the SGEMM ladder), convolution (conv.cu), pooling
// (pool.cu), batch norm (batch_norm.cu) and the fused cross-entropy
// (loss.cu). A primitive added to the Backend later and not listed here
// fails loudly through prim:: ("has no kernel in cuda:ember"; Note [Backend
// registry]), never silently on the CPU; test_cuda checks that the list is
// whole.
//
// The same file serves real GPUs and the SIMT emulator (EMBER_SIMT), where
// cuda:0 is host memory and the kernels run as fibers on the CPU.
#include "launchers.h"
#include "runtime.h"

namespace ember::kernels::cuda {

namespace {

class CudaBackend final : public Backend {
 public:
  CudaBackend()
      : Backend(DeviceType::CUDA, "ember", "",
                {Primitive::Copy, Primitive::CopyFromHost, Primitive::CopyToHost, Primitive::Fill, Primitive::Arange,
                 Primitive::Binary, Primitive::Unary, Primitive::Where, Primitive::Reduce, Primitive::Matmul,
                 Primitive::Softmax, Primitive::IndexSelect, Primitive::IndexAdd, Primitive::Gather,
                 Primitive::ScatterAdd, Primitive::Im2col, Primitive::Col2im, Primitive::Conv2dForward,
                 Primitive::Conv2dBackwardInput, Primitive::Conv2dBackwardWeight, Primitive::MaxPool2dForward,
                 Primitive::MaxPool2dBackward, Primitive::AvgPool2dForward, Primitive::AvgPool2dBackward,
                 Primitive::BatchNormForward, Primitive::BatchNormBackward, Primitive::CrossEntropyForward,
                 Primitive::CrossEntropyBackward, Primitive::RandomUniform,
                 Primitive::RandomNormal, Primitive::DropoutMask, Primitive::SgdUpdate, Primitive::AdamUpdate,
                 Primitive::Synchronize}) {}

  int device_count() const override { return cuda::device_count(); }
  Allocator& allocator(int device) override { return device_allocator(device); }
  void* stream(int device) override { return device_stream(device); }
  Allocator* pinned_allocator() override { return &cuda::pinned_allocator(); }

  void copy_from_host(const ExecContext& ctx, void* dst, const void* src, size_t n) override {
    cuda::copy_from_host(ctx.device.index, dst, src, n);
  }
  void copy_to_host(const ExecContext& ctx, void* dst, const void* src, size_t n) override {
    cuda::copy_to_host(ctx.device.index, dst, src, n);
  }
  void synchronize(const ExecContext& ctx) override { cuda::synchronize(ctx.device.index); }

  void copy(const ExecContext& ctx, const TensorView& dst, const TensorView& src) override {
    cuda::copy(ctx, dst, src);
  }
  void fill(const ExecContext& ctx, const TensorView& dst, Scalar v) override { cuda::fill(ctx, dst, v); }
  void arange(const ExecContext& ctx, const TensorView& out, double start, double step) override {
    cuda::arange(ctx, out, start, step);
  }
  void binary(const ExecContext& ctx, BinaryOp op, const TensorView& out, const TensorView& a,
              const TensorView& b) override {
    cuda::binary(ctx, op, out, a, b);
  }
  void unary(const ExecContext& ctx, UnaryOp op, const TensorView& out, const TensorView& a) override {
    cuda::unary(ctx, op, out, a);
  }
  void where(const ExecContext& ctx, const TensorView& out, const TensorView& cond, const TensorView& a,
             const TensorView& b) override {
    cuda::where(ctx, out, cond, a, b);
  }
  void reduce(const ExecContext& ctx, ReduceOp op, const TensorView& out, const TensorView& a) override {
    cuda::reduce(ctx, op, out, a);
  }
  void im2col(const ExecContext& ctx, const TensorView& cols, const TensorView& x, const WindowGeometry& g) override {
    cuda::im2col(ctx, cols, x, g);
  }
  void col2im(const ExecContext& ctx, const TensorView& x, const TensorView& cols, const WindowGeometry& g) override {
    cuda::col2im(ctx, x, cols, g);
  }
  void conv2d_forward(const ExecContext& ctx, const TensorView& y, const TensorView& x, const TensorView& weight,
                      const OptionalView& bias, const WindowGeometry& g, int64_t groups) override {
    cuda::conv2d_forward(ctx, y, x, weight, bias, g, groups);
  }
  void conv2d_backward_input(const ExecContext& ctx, const TensorView& grad_x, const TensorView& grad_y,
                             const TensorView& weight, const WindowGeometry& g, int64_t groups) override {
    cuda::conv2d_backward_input(ctx, grad_x, grad_y, weight, g, groups);
  }
  void conv2d_backward_weight(const ExecContext& ctx, const TensorView& grad_weight, const OptionalView& grad_bias,
                              const TensorView& grad_y, const TensorView& x, const WindowGeometry& g,
                              int64_t groups) override {
    cuda::conv2d_backward_weight(ctx, grad_weight, grad_bias, grad_y, x, g, groups);
  }
  void max_pool2d_forward(const ExecContext& ctx, const TensorView& y, const TensorView& indices, const TensorView& x,
                          const WindowGeometry& g) override {
    cuda::max_pool2d_forward(ctx, y, indices, x, g);
  }
  void max_pool2d_backward(const ExecContext& ctx, const TensorView& grad_x, const TensorView& grad_y,
                           const TensorView& indices, const WindowGeometry& g) override {
    cuda::max_pool2d_backward(ctx, grad_x, grad_y, indices, g);
  }
  void avg_pool2d_forward(const ExecContext& ctx, const TensorView& y, const TensorView& x,
                          const WindowGeometry& g) override {
    cuda::avg_pool2d_forward(ctx, y, x, g);
  }
  void avg_pool2d_backward(const ExecContext& ctx, const TensorView& grad_x, const TensorView& grad_y,
                           const WindowGeometry& g) override {
    cuda::avg_pool2d_backward(ctx, grad_x, grad_y, g);
  }
  void batch_norm_forward(const ExecContext& ctx, const TensorView& y, const TensorView& save_mean,
                          const TensorView& save_invstd, const TensorView& x, const OptionalView& weight,
                          const OptionalView& bias, const OptionalView& running_mean, const OptionalView& running_var,
                          const BatchNormParams& p) override {
    cuda::batch_norm_forward(ctx, y, save_mean, save_invstd, x, weight, bias, running_mean, running_var, p);
  }
  void batch_norm_backward(const ExecContext& ctx, const OptionalView& grad_x, const OptionalView& grad_weight,
                           const OptionalView& grad_bias, const TensorView& grad_y, const TensorView& x,
                           const OptionalView& weight, const TensorView& save_mean, const TensorView& save_invstd,
                           bool training) override {
    cuda::batch_norm_backward(ctx, grad_x, grad_weight, grad_bias, grad_y, x, weight, save_mean, save_invstd,
                              training);
  }
  void cross_entropy_forward(const ExecContext& ctx, const TensorView& loss, const TensorView& lse,
                             const TensorView& logits, const TensorView& target, double label_smoothing) override {
    cuda::cross_entropy_forward(ctx, loss, lse, logits, target, label_smoothing);
  }
  void cross_entropy_backward(const ExecContext& ctx, const TensorView& grad_logits, const TensorView& grad_loss,
                              const TensorView& logits, const TensorView& lse, const TensorView& target,
                              double label_smoothing) override {
    cuda::cross_entropy_backward(ctx, grad_logits, grad_loss, logits, lse, target, label_smoothing);
  }
  void matmul(const ExecContext& ctx, const TensorView& out, const TensorView& a, const TensorView& b) override {
    cuda::matmul(ctx, out, a, b);
  }
  void softmax(const ExecContext& ctx, const TensorView& out, const TensorView& a, int64_t dim, bool log) override {
    cuda::softmax(ctx, out, a, dim, log);
  }
  void index_select(const ExecContext& ctx, const TensorView& out, const TensorView& a, int64_t dim,
                    const TensorView& index) override {
    cuda::index_select(ctx, out, a, dim, index);
  }
  void index_add(const ExecContext& ctx, const TensorView& out, int64_t dim, const TensorView& index,
                 const TensorView& src) override {
    cuda::index_add(ctx, out, dim, index, src);
  }
  void gather(const ExecContext& ctx, const TensorView& out, const TensorView& a, int64_t dim,
              const TensorView& index) override {
    cuda::gather(ctx, out, a, dim, index);
  }
  void scatter_add(const ExecContext& ctx, const TensorView& out, int64_t dim, const TensorView& index,
                   const TensorView& src) override {
    cuda::scatter_add(ctx, out, dim, index, src);
  }
  void random_uniform(const ExecContext& ctx, const TensorView& out, uint64_t seed, uint64_t offset) override {
    cuda::random_uniform(ctx, out, seed, offset);
  }
  void random_normal(const ExecContext& ctx, const TensorView& out, uint64_t seed, uint64_t offset) override {
    cuda::random_normal(ctx, out, seed, offset);
  }
  void dropout_mask(const ExecContext& ctx, const TensorView& mask, double p, uint64_t seed,
                    uint64_t offset) override {
    cuda::dropout_mask(ctx, mask, p, seed, offset);
  }
  void sgd_update(const ExecContext& ctx, const TensorView& param, const TensorView& grad,
                  const OptionalView& momentum_buffer, const SgdParams& p) override {
    cuda::sgd_update(ctx, param, grad, momentum_buffer, p);
  }
  void adam_update(const ExecContext& ctx, const TensorView& param, const TensorView& grad, const TensorView& exp_avg,
                   const TensorView& exp_avg_sq, const OptionalView& max_exp_avg_sq, const AdamParams& p) override {
    cuda::adam_update(ctx, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, p);
  }
};

}  // namespace

Backend* cuda_backend() {
  static CudaBackend backend;
  return &backend;
}

}  // namespace ember::kernels::cuda
