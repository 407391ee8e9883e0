// Neural-network ops (what torch.nn.functional holds): convolution,
// pooling, normalization, dropout, activations and losses, all
// differentiable. conv2d, max_pool2d, avg_pool2d, batch_norm and
// cross_entropy are fused primitives (one Backend entry each way); the rest
// are compositions of the ops in ops.h. Defined in autograd/ops/conv.cpp,
// pool.cpp, norm.cpp, loss.cpp and unary.cpp (softplus).
#pragma once

#include <array>
#include <cstdint>

#include "ember/autograd/ops.h"

namespace ember {

using Pair = std::array<int64_t, 2>;  // (height, width)

struct Conv2dOptions {
  Pair stride{1, 1};
  Pair padding{0, 0};
  Pair dilation{1, 1};
  int64_t groups = 1;
};

// x (N, C, H, W) -> (N, C*kh*kw, L), one column per output position (L =
// out_h * out_w), as torch.nn.functional.unfold: the receptive fields that
// a convolution multiplies by its weights (im2col). Its gradient is fold
// (col2im).
Tensor unfold2d(const Tensor& x, Pair kernel, Pair stride = {1, 1}, Pair padding = {0, 0}, Pair dilation = {1, 1});
// unfold2d's adjoint, as torch.nn.functional.fold: columns (N, C*kh*kw, L)
// summed back into an image (N, C, output_size) at the positions they were
// read from (col2im).
Tensor fold2d(const Tensor& cols, Pair output_size, Pair kernel, Pair stride = {1, 1}, Pair padding = {0, 0},
              Pair dilation = {1, 1});

// 2-D convolution (cross-correlation, as in PyTorch): x (N, C_in, H, W),
// weight (C_out, C_in / groups, kh, kw), optional bias (C_out).
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), Conv2dOptions opts = {});

// Max pooling; stride defaults to the kernel size. Padding may be at most
// half the kernel (as in PyTorch), so every window sees a real element.
Tensor max_pool2d(const Tensor& x, Pair kernel, Pair stride = {0, 0}, Pair padding = {0, 0}, Pair dilation = {1, 1});
// Average pooling; padded zeros count in the average (count_include_pad).
Tensor avg_pool2d(const Tensor& x, Pair kernel, Pair stride = {0, 0}, Pair padding = {0, 0});
// Average pooling to a fixed output size, PyTorch's window rule:
// rows [floor(i*H/oh), ceil((i+1)*H/oh)).
Tensor adaptive_avg_pool2d(const Tensor& x, Pair output_size);

// Zeroes each element with probability p and scales the rest by 1/(1-p)
// while training; the identity otherwise.
Tensor dropout(const Tensor& x, double p, bool training, Generator* gen = nullptr);

// Batch normalization over (N, C, ...) per channel C. While training it
// normalizes with the batch's statistics and, when given, updates
// running_mean/running_var in place (momentum, unbiased variance, as
// PyTorch); otherwise it uses the running statistics. weight/bias optional.
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum = 0.1, double eps = 1e-5);

// log(1 + exp(beta x)) / beta, or x where beta x > threshold (where the two
// agree to float precision), as torch.nn.functional.softplus.
Tensor softplus(const Tensor& x, double beta = 1.0, double threshold = 20.0);

enum class Reduction { None, Mean, Sum };

// logits (N, C), target int64 (N) class indices. label_smoothing spreads
// that much probability uniformly over all classes, as PyTorch does.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, double label_smoothing = 0.0,
                     Reduction reduction = Reduction::Mean);
// log_probs (N, C), target int64 (N).
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction = Reduction::Mean);
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
// Quadratic below beta, linear above (Huber / beta).
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, double beta = 1.0,
                      Reduction reduction = Reduction::Mean);
// Sigmoid + binary cross-entropy in one numerically stable formula.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target,
                                        Reduction reduction = Reduction::Mean);

}  // namespace ember
