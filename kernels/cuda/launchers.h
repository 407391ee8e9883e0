// The host launchers of the CUDA kernel families (internal header), one
// group per file of kernels/cuda/, with the signatures of the Backend
// entries they serve (core/include/ember/core/backend.h says what each may
// assume). cuda_backend.cpp forwards each entry here.
#pragma once

#include "device.h"

namespace ember::kernels::cuda {

// copy.cu
void copy(const ExecContext& ctx, const TensorView& dst, const TensorView& src);
void fill(const ExecContext& ctx, const TensorView& dst, Scalar value);
void arange(const ExecContext& ctx, const TensorView& out, double start, double step);

// elementwise.cu
void binary(const ExecContext& ctx, BinaryOp op, const TensorView& out, const TensorView& a, const TensorView& b);
void unary(const ExecContext& ctx, UnaryOp op, const TensorView& out, const TensorView& a);
void where(const ExecContext& ctx, const TensorView& out, const TensorView& cond, const TensorView& a,
           const TensorView& b);

// reduce.cu
void reduce(const ExecContext& ctx, ReduceOp op, const TensorView& out, const TensorView& a);

// batch_norm.cu
void batch_norm_forward(const ExecContext& ctx, const TensorView& y, const TensorView& save_mean,
                        const TensorView& save_invstd, const TensorView& x, const OptionalView& weight,
                        const OptionalView& bias, const OptionalView& running_mean, const OptionalView& running_var,
                        const BatchNormParams& p);
void batch_norm_backward(const ExecContext& ctx, const OptionalView& grad_x, const OptionalView& grad_weight,
                         const OptionalView& grad_bias, const TensorView& grad_y, const TensorView& x,
                         const OptionalView& weight, const TensorView& save_mean, const TensorView& save_invstd,
                         bool training);

// conv.cu
void im2col(const ExecContext& ctx, const TensorView& cols, const TensorView& x, const WindowGeometry& g);
void col2im(const ExecContext& ctx, const TensorView& x, const TensorView& cols, const WindowGeometry& g);
// The forward's kernel: "auto" (the default: direct where channels are few,
// Note [Direct convolution]), "direct" or "implicit_gemm" (ember::cuda::
// set_conv_algorithm; for tests and benchmarks).
enum class ConvAlgorithm { Auto, Direct, ImplicitGemm };
const std::vector<std::pair<ConvAlgorithm, std::string>>& conv_algorithm_names();
ConvAlgorithm conv_algorithm();
void set_conv_algorithm(const std::string& name);  // ValueError naming the algorithms
void conv2d_forward(const ExecContext& ctx, const TensorView& y, const TensorView& x, const TensorView& weight,
                    const OptionalView& bias, const WindowGeometry& g, int64_t groups);
void conv2d_backward_input(const ExecContext& ctx, const TensorView& grad_x, const TensorView& grad_y,
                           const TensorView& weight, const WindowGeometry& g, int64_t groups);
void conv2d_backward_weight(const ExecContext& ctx, const TensorView& grad_weight, const OptionalView& grad_bias,
                            const TensorView& grad_y, const TensorView& x, const WindowGeometry& g, int64_t groups);

// loss.cu
void cross_entropy_forward(const ExecContext& ctx, const TensorView& loss, const TensorView& lse,
                           const TensorView& logits, const TensorView& target, double label_smoothing);
void cross_entropy_backward(const ExecContext& ctx, const TensorView& grad_logits, const TensorView& grad_loss,
                            const TensorView& logits, const TensorView& lse, const TensorView& target,
                            double label_smoothing);

// matmul.cpp (the kernels: sgemm_simple.cu, sgemm_blocked.cu)
void matmul(const ExecContext& ctx, const TensorView& out, const TensorView& a, const TensorView& b);

// pool.cu
void max_pool2d_forward(const ExecContext& ctx, const TensorView& y, const TensorView& indices, const TensorView& x,
                        const WindowGeometry& g);
void max_pool2d_backward(const ExecContext& ctx, const TensorView& grad_x, const TensorView& grad_y,
                         const TensorView& indices, const WindowGeometry& g);
void avg_pool2d_forward(const ExecContext& ctx, const TensorView& y, const TensorView& x, const WindowGeometry& g);
void avg_pool2d_backward(const ExecContext& ctx, const TensorView& grad_x, const TensorView& grad_y,
                         const WindowGeometry& g);

// softmax.cu
void softmax(const ExecContext& ctx, const TensorView& out, const TensorView& a, int64_t dim, bool log);

// indexing.cu
void index_select(const ExecContext& ctx, const TensorView& out, const TensorView& a, int64_t dim,
                  const TensorView& index);
void index_add(const ExecContext& ctx, const TensorView& out, int64_t dim, const TensorView& index,
               const TensorView& src);
void gather(const ExecContext& ctx, const TensorView& out, const TensorView& a, int64_t dim, const TensorView& index);
void scatter_add(const ExecContext& ctx, const TensorView& out, int64_t dim, const TensorView& index,
                 const TensorView& src);

// random.cu
void random_uniform(const ExecContext& ctx, const TensorView& out, uint64_t seed, uint64_t offset);
void random_normal(const ExecContext& ctx, const TensorView& out, uint64_t seed, uint64_t offset);
void dropout_mask(const ExecContext& ctx, const TensorView& mask, double p, uint64_t seed, uint64_t offset);

// optim.cu
void sgd_update(const ExecContext& ctx, const TensorView& param, const TensorView& grad,
                const OptionalView& momentum_buffer, const SgdParams& p);
void adam_update(const ExecContext& ctx, const TensorView& param, const TensorView& grad, const TensorView& exp_avg,
                 const TensorView& exp_avg_sq, const OptionalView& max_exp_avg_sq, const AdamParams& p);

}  // namespace ember::kernels::cuda
