// The CPU backends.
//
// cpu:ember is Ember's own: plain loops over strided memory on the thread
// pool above a size threshold, our packed GEMM (gemm.cpp), and fused kernels
// for convolution, pooling, batch norm, the loss and the optimizers. It is
// the root of the CPU chain: it owns host memory and implements every entry.
// Each group of entries is defined in its own file of kernels/cpu/.
//
// cpu:eigen is a partial backend: matmul through Eigen's GEMM (the reference
// our GEMM is checked against), everything else falling through to
// cpu:ember (Note [Backend registry]).
#pragma once

#include "ember/core/backend.h"

namespace ember::kernels::cpu {

class CpuBackend final : public Backend {
 public:
  CpuBackend();
  Allocator& allocator(int) override { return cpu_allocator(); }
  int device_count() const override { return 1; }

  // copy.cpp
  void copy(const ExecContext& ctx, const TensorView& dst, const TensorView& src) override;
  void copy_from_host(const ExecContext& ctx, void* dst, const void* host_src, size_t nbytes) override;
  void copy_to_host(const ExecContext& ctx, void* host_dst, const void* src, size_t nbytes) override;
  void fill(const ExecContext& ctx, const TensorView& dst, Scalar value) override;
  void arange(const ExecContext& ctx, const TensorView& out, double start, double step) override;
  void synchronize(const ExecContext&) override {}  // CPU kernels finish before they return
  // elementwise.cpp
  void binary(const ExecContext& ctx, BinaryOp op, const TensorView& out, const TensorView& a,
              const TensorView& b) override;
  void unary(const ExecContext& ctx, UnaryOp op, const TensorView& out, const TensorView& a) override;
  void where(const ExecContext& ctx, const TensorView& out, const TensorView& cond, const TensorView& a,
             const TensorView& b) override;
  // reduce.cpp
  void reduce(const ExecContext& ctx, ReduceOp op, const TensorView& out, const TensorView& a) override;
  void softmax(const ExecContext& ctx, const TensorView& out, const TensorView& a, int64_t dim, bool log) override;
  // matmul.cpp
  void matmul(const ExecContext& ctx, const TensorView& out, const TensorView& a, const TensorView& b) override;
  // indexing.cpp
  void index_select(const ExecContext& ctx, const TensorView& out, const TensorView& a, int64_t dim,
                    const TensorView& index) override;
  void index_add(const ExecContext& ctx, const TensorView& out, int64_t dim, const TensorView& index,
                 const TensorView& src) override;
  void gather(const ExecContext& ctx, const TensorView& out, const TensorView& a, int64_t dim,
              const TensorView& index) override;
  void scatter_add(const ExecContext& ctx, const TensorView& out, int64_t dim, const TensorView& index,
                   const TensorView& src) override;
  // window.cpp
  void im2col(const ExecContext& ctx, const TensorView& cols, const TensorView& x, const WindowGeometry& g) override;
  void col2im(const ExecContext& ctx, const TensorView& x, const TensorView& cols, const WindowGeometry& g) override;
  // conv.cpp
  void conv2d_forward(const ExecContext& ctx, const TensorView& y, const TensorView& x, const TensorView& weight,
                      const OptionalView& bias, const WindowGeometry& g, int64_t groups) override;
  void conv2d_backward_input(const ExecContext& ctx, const TensorView& grad_x, const TensorView& grad_y,
                             const TensorView& weight, const WindowGeometry& g, int64_t groups) override;
  void conv2d_backward_weight(const ExecContext& ctx, const TensorView& grad_weight, const OptionalView& grad_bias,
                              const TensorView& grad_y, const TensorView& x, const WindowGeometry& g,
                              int64_t groups) override;
  // pool.cpp
  void max_pool2d_forward(const ExecContext& ctx, const TensorView& y, const TensorView& indices,
                          const TensorView& x, const WindowGeometry& g) override;
  void max_pool2d_backward(const ExecContext& ctx, const TensorView& grad_x, const TensorView& grad_y,
                           const TensorView& indices, const WindowGeometry& g) override;
  void avg_pool2d_forward(const ExecContext& ctx, const TensorView& y, const TensorView& x,
                          const WindowGeometry& g) override;
  void avg_pool2d_backward(const ExecContext& ctx, const TensorView& grad_x, const TensorView& grad_y,
                           const WindowGeometry& g) override;
  // batch_norm.cpp
  void batch_norm_forward(const ExecContext& ctx, const TensorView& y, const TensorView& save_mean,
                          const TensorView& save_invstd, const TensorView& x, const OptionalView& weight,
                          const OptionalView& bias, const OptionalView& running_mean, const OptionalView& running_var,
                          const BatchNormParams& p) override;
  void batch_norm_backward(const ExecContext& ctx, const OptionalView& grad_x, const OptionalView& grad_weight,
                           const OptionalView& grad_bias, const TensorView& grad_y, const TensorView& x,
                           const OptionalView& weight, const TensorView& save_mean, const TensorView& save_invstd,
                           bool training) override;
  // loss.cpp
  void cross_entropy_forward(const ExecContext& ctx, const TensorView& loss, const TensorView& lse,
                             const TensorView& logits, const TensorView& target, double label_smoothing) override;
  void cross_entropy_backward(const ExecContext& ctx, const TensorView& grad_logits, const TensorView& grad_loss,
                              const TensorView& logits, const TensorView& lse, const TensorView& target,
                              double label_smoothing) override;
  // random.cpp
  void random_uniform(const ExecContext& ctx, const TensorView& out, uint64_t seed, uint64_t offset) override;
  void random_normal(const ExecContext& ctx, const TensorView& out, uint64_t seed, uint64_t offset) override;
  void dropout_mask(const ExecContext& ctx, const TensorView& mask, double p, uint64_t seed,
                    uint64_t offset) override;
  // optim.cpp
  void sgd_update(const ExecContext& ctx, const TensorView& param, const TensorView& grad,
                  const OptionalView& momentum_buffer, const SgdParams& p) override;
  void adam_update(const ExecContext& ctx, const TensorView& param, const TensorView& grad, const TensorView& exp_avg,
                   const TensorView& exp_avg_sq, const OptionalView& max_exp_avg_sq, const AdamParams& p) override;
};

// matmul.cpp: Eigen's GEMM for floating matmul; the rest is cpu:ember's.
class EigenBackend final : public Backend {
 public:
  EigenBackend();
  void matmul(const ExecContext& ctx, const TensorView& out, const TensorView& a, const TensorView& b) override;
};

// The batched GEMM both backends share: out (B, M, N) = a (B, M, K) @ b (B,
// K, N) on any strides, through `gemm` (ember's packed GEMM or Eigen's).
enum class GemmFlavor { Ember, Eigen };
void batched_gemm(const TensorView& out, const TensorView& a, const TensorView& b, GemmFlavor flavor);

}  // namespace ember::kernels::cpu
