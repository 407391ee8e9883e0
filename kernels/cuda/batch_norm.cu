// CUDA batch normalization, forward and backward: the CPU's formulas
// (kernels/cpu/batch_norm.cpp) and its two passes each way, with the
// statistics and the backward's sums accumulated in double. Note [Kernels
// then launchers] in device.h.
//
// x is (N, C, S), S the product of the trailing dims; channel c's M = N*S
// values are the N runs x[n, c, 0:S]. One block per channel: its threads
// stride over the channel's values, and block_all_sum adds their partial
// sums in a fixed tree, so the result is the same bits on every run, with
// no atomics. Forward, training: pass 1 sums x for the mean, pass 2 the
// squared deviations from it for the (biased) variance (two-pass, so a large
// mean costs no precision); thread 0 writes the saved statistics and updates
// the running ones with the unbiased variance, as PyTorch; then every thread
// writes its part of y. Evaluation reads the running statistics instead.
// Backward: one pass for sum(gy) and sum(gy * (x - mean)), a second for
//   grad_x = weight * invstd * (gy - sum(gy)/M - x-hat * sum(gy * x-hat)/M)
// (evaluation: grad_x = gy * invstd * weight).
//
// A block per channel leaves SMs idle when C is small and M large (LeNet
// has no batch norm; the default CNN's 32 channels at batch 64 fill 32
// blocks): splitting a channel over blocks needs a second, fixed-order
// combining pass, left for when the H200's profile says it matters.
#include "launchers.h"

namespace ember::kernels::cuda {

namespace {

constexpr int kBnThreads = 256;

// Channel c's q-th value (q < n*s) in an (n, c_count, s) tensor.
struct ChannelWalk {
  int64_t c_count, s;
  EMBER_HD int64_t at(int64_t c, int64_t q) const { return (q / s * c_count + c) * s + q % s; }
};

// ---- kernels ----

template <typename T>
__global__ void batch_norm_forward_kernel(T* y, T* save_mean, T* save_invstd, const T* x, const T* weight,
                                          const T* bias, T* running_mean, T* running_var, ChannelWalk walk,
                                          int64_t count, BatchNormParams p) {
  __shared__ double scratch[33];
  __shared__ double stats[2];  // mean, invstd
  for (int64_t c = blockIdx.x; c < walk.c_count; c += gridDim.x) {
    if (p.training) {
      double sum = 0;
      for (int64_t q = threadIdx.x; q < count; q += blockDim.x) sum += double(x[walk.at(c, q)]);
      const double mean = block_all_sum(sum, scratch) / double(count);
      double sq = 0;
      for (int64_t q = threadIdx.x; q < count; q += blockDim.x) {
        const double d = double(x[walk.at(c, q)]) - mean;
        sq += d * d;
      }
      const double var = block_all_sum(sq, scratch) / double(count);
      if (threadIdx.x == 0) {
        stats[0] = mean;
        stats[1] = 1.0 / dm::sqrt(var + p.eps);
        if (running_mean) running_mean[c] = T(p.momentum * mean + (1 - p.momentum) * double(running_mean[c]));
        if (running_var) {
          const double unbiased = count > 1 ? var * double(count) / double(count - 1) : var;
          running_var[c] = T(p.momentum * unbiased + (1 - p.momentum) * double(running_var[c]));
        }
      }
    } else if (threadIdx.x == 0) {
      stats[0] = double(running_mean[c]);
      stats[1] = 1.0 / dm::sqrt(double(running_var[c]) + p.eps);
    }
    __syncthreads();
    const double mean = stats[0], invstd = stats[1];
    if (threadIdx.x == 0) {
      save_mean[c] = T(mean);
      save_invstd[c] = T(invstd);
    }
    const T m = T(mean), scale = T(invstd * double(weight ? weight[c] : T(1)));
    const T shift = bias ? bias[c] : T(0);
    for (int64_t q = threadIdx.x; q < count; q += blockDim.x) {
      const int64_t i = walk.at(c, q);
      y[i] = (x[i] - m) * scale + shift;
    }
    __syncthreads();  // stats is rewritten for the next channel
  }
}

template <typename T>
__global__ void batch_norm_backward_kernel(T* grad_x, T* grad_weight, T* grad_bias, const T* grad_y, const T* x,
                                           const T* weight, const T* save_mean, const T* save_invstd,
                                           ChannelWalk walk, int64_t count, bool training) {
  __shared__ double scratch[33];
  for (int64_t c = blockIdx.x; c < walk.c_count; c += gridDim.x) {
    const double mean = double(save_mean[c]), invstd = double(save_invstd[c]);
    double gy = 0, gy_xmu = 0;  // this thread's part of sum(gy), sum(gy * (x - mean))
    for (int64_t q = threadIdx.x; q < count; q += blockDim.x) {
      const int64_t i = walk.at(c, q);
      const double g = double(grad_y[i]);
      gy += g;
      gy_xmu += g * (double(x[i]) - mean);
    }
    const double sum_gy = block_all_sum(gy, scratch);
    const double sum_gy_xmu = block_all_sum(gy_xmu, scratch);
    if (threadIdx.x == 0) {
      if (grad_bias) grad_bias[c] = T(sum_gy);
      if (grad_weight) grad_weight[c] = T(sum_gy_xmu * invstd);
    }
    if (!grad_x) continue;  // the same for every thread: no barrier is skipped by some only
    const T m = T(mean), scale = T(invstd * double(weight ? weight[c] : T(1)));
    if (!training) {
      for (int64_t q = threadIdx.x; q < count; q += blockDim.x) {
        const int64_t i = walk.at(c, q);
        grad_x[i] = grad_y[i] * scale;
      }
      continue;
    }
    const T mean_gy = T(sum_gy / double(count)), k = T(sum_gy_xmu * invstd * invstd / double(count));
    for (int64_t q = threadIdx.x; q < count; q += blockDim.x) {
      const int64_t i = walk.at(c, q);
      grad_x[i] = (grad_y[i] - mean_gy - (x[i] - m) * k) * scale;
    }
  }
}

template <typename T>
T* ptr_or_null(const OptionalView& v) {
  return v ? v->ptr<T>() : nullptr;
}

struct ChannelLaunch {
  ChannelWalk walk;
  int64_t count;
  dim3 grid;
};

ChannelLaunch channel_launch(const Shape& shape) {
  const int64_t n = shape[0], c = shape[1], s = numel(shape) / std::max<int64_t>(1, n * c);
  const unsigned blocks = static_cast<unsigned>(std::clamp<int64_t>(c, 1, kMaxBlocks * 16));
  return {{c, std::max<int64_t>(s, 1)}, n * s, dim3(blocks)};
}

}  // namespace

// ---- launchers ----

void batch_norm_forward(const ExecContext& ctx, const TensorView& y, const TensorView& save_mean,
                        const TensorView& save_invstd, const TensorView& x, const OptionalView& weight,
                        const OptionalView& bias, const OptionalView& running_mean, const OptionalView& running_var,
                        const BatchNormParams& p) {
  const ChannelLaunch l = channel_launch(x.shape);
  if (l.walk.c_count == 0) return;
  EMBER_DISPATCH_FLOATING(x.dtype, "batch_norm", [&] {
    using T = scalar_t;
    launch(batch_norm_forward_kernel<T>, l.grid, dim3(kBnThreads), 0, ctx.stream, y.ptr<T>(), save_mean.ptr<T>(),
           save_invstd.ptr<T>(), x.ptr<T>(), ptr_or_null<T>(weight), ptr_or_null<T>(bias),
           ptr_or_null<T>(running_mean), ptr_or_null<T>(running_var), l.walk, l.count, p);
  });
}

void batch_norm_backward(const ExecContext& ctx, const OptionalView& grad_x, const OptionalView& grad_weight,
                         const OptionalView& grad_bias, const TensorView& grad_y, const TensorView& x,
                         const OptionalView& weight, const TensorView& save_mean, const TensorView& save_invstd,
                         bool training) {
  const ChannelLaunch l = channel_launch(x.shape);
  if (l.walk.c_count == 0) return;
  EMBER_DISPATCH_FLOATING(x.dtype, "batch_norm_backward", [&] {
    using T = scalar_t;
    launch(batch_norm_backward_kernel<T>, l.grid, dim3(kBnThreads), 0, ctx.stream, ptr_or_null<T>(grad_x),
           ptr_or_null<T>(grad_weight), ptr_or_null<T>(grad_bias), grad_y.ptr<T>(), x.ptr<T>(),
           ptr_or_null<T>(weight), save_mean.ptr<T>(), save_invstd.ptr<T>(), l.walk, l.count, training);
  });
}

}  // namespace ember::kernels::cuda
