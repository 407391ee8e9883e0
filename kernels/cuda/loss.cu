// CUDA fused cross-entropy (with label smoothing) and its gradient, the
// CPU's formulas (kernels/cpu/loss.cpp) with the same double accumulation.
// Note [Kernels then launchers] in device.h.
//
// For a row x of C logits with target t and smoothing s:
//   lse  = max(x) + log(sum_c exp(x_c - max(x)))
//   loss = -(1 - s) (x_t - lse) - s/C sum_c (x_c - lse)
//   dloss/dx_c = exp(x_c - lse) - (1 - s) [c == t] - s/C
// The forward is one warp per row: the lanes stride over the classes, and
// butterfly shuffles give every lane the row's max and sums, in a fixed
// tree (the same bits on every run). The backward is one thread per logit.
// A target outside [0, C) is recorded in the device error flag (Note
// [Device error flag]) and its row skipped; the host raises the IndexError
// at its next synchronization, as it does for the index ops.
#include "launchers.h"

namespace ember::kernels::cuda {

namespace {

constexpr int kRowsPerBlock = 4;  // 128-thread blocks, a warp per row

// ---- kernels ----

template <typename T>
__global__ void cross_entropy_forward_kernel(T* loss, T* lse, const T* logits, const int64_t* target, int64_t rows,
                                             int64_t classes, double smoothing, DeviceErrorFlag* flag) {
  const int lane = threadIdx.x % 32;
  for (int64_t r = int64_t(blockIdx.x) * kRowsPerBlock + threadIdx.x / 32; r < rows;
       r += int64_t(gridDim.x) * kRowsPerBlock) {
    const T* x = logits + r * classes;
    const int64_t t = target[r];
    if (t < 0 || t >= classes) {  // the whole warp skips the row: no shuffle waits for a lane that left
      if (lane == 0) report_index_error(flag, DeviceErrorCode::CrossEntropy, t, classes);
      continue;
    }
    double m = -INFINITY;
    for (int64_t c = lane; c < classes; c += 32) m = dm::max(m, double(x[c]));
    m = warp_all_max(m);
    double sum_exp = 0, sum_x = 0;
    for (int64_t c = lane; c < classes; c += 32) {
      sum_exp += dm::exp(double(x[c]) - m);
      sum_x += double(x[c]);
    }
    sum_exp = warp_all_sum(sum_exp);
    sum_x = warp_all_sum(sum_x);
    if (lane != 0) continue;
    const double l = m + dm::log(sum_exp);
    lse[r] = T(l);
    double value = -(double(x[t]) - l);
    // Only when asked for: with a class masked by -inf the smoothing term is
    // -inf, and 0 * -inf would be NaN (as on the CPU and in PyTorch).
    if (smoothing > 0) value = (1 - smoothing) * value - smoothing * (sum_x / double(classes) - l);
    loss[r] = T(value);
  }
}

template <typename T>
__global__ void cross_entropy_backward_kernel(T* grad, const T* grad_loss, const T* logits, const T* lse,
                                              const int64_t* target, int64_t rows, int64_t classes, double smoothing,
                                              DeviceErrorFlag* flag) {
  const double uniform = smoothing / double(classes);
  EMBER_GRID_STRIDE_LOOP(i, rows * classes) {
    const int64_t r = i / classes, c = i % classes, t = target[r];
    if (t < 0 || t >= classes) {
      if (c == 0) report_index_error(flag, DeviceErrorCode::CrossEntropy, t, classes);
      continue;
    }
    const double g = dm::exp(double(logits[i]) - double(lse[r])) - uniform - (c == t ? 1 - smoothing : 0.0);
    grad[i] = T(double(grad_loss[r]) * g);
  }
}

}  // namespace

// ---- launchers ----

void cross_entropy_forward(const ExecContext& ctx, const TensorView& loss, const TensorView& lse,
                           const TensorView& logits, const TensorView& target, double label_smoothing) {
  const int64_t rows = logits.shape[0], classes = logits.shape[1];
  if (rows == 0) return;
  const unsigned blocks = static_cast<unsigned>(std::min<int64_t>((rows + kRowsPerBlock - 1) / kRowsPerBlock,
                                                                  kMaxBlocks * 16));
  EMBER_DISPATCH_FLOATING(logits.dtype, "cross_entropy", [&] {
    using T = scalar_t;
    launch(cross_entropy_forward_kernel<T>, dim3(blocks), dim3(32 * kRowsPerBlock), 0, ctx.stream, loss.ptr<T>(),
           lse.ptr<T>(), logits.ptr<T>(), target.ptr<int64_t>(), rows, classes, label_smoothing,
           error_flag(ctx.device.index));
  });
}

void cross_entropy_backward(const ExecContext& ctx, const TensorView& grad_logits, const TensorView& grad_loss,
                            const TensorView& logits, const TensorView& lse, const TensorView& target,
                            double label_smoothing) {
  const int64_t rows = logits.shape[0], classes = logits.shape[1];
  if (rows * classes == 0) return;
  const Shape1d s = shape_for(rows * classes);
  EMBER_DISPATCH_FLOATING(logits.dtype, "cross_entropy_backward", [&] {
    using T = scalar_t;
    launch(cross_entropy_backward_kernel<T>, s.grid, s.block, 0, ctx.stream, grad_logits.ptr<T>(), grad_loss.ptr<T>(),
           logits.ptr<T>(), lse.ptr<T>(), target.ptr<int64_t>(), rows, classes, label_smoothing,
           error_flag(ctx.device.index));
  });
}

}  // namespace ember::kernels::cuda
