// CPU fused cross-entropy: log-softmax and the negative log-likelihood (with
// label smoothing) in one pass per row, and its gradient in one more.
//
// For a row x of C logits with target t and smoothing s:
//   lse  = max(x) + log(sum_c exp(x_c - max(x)))     (log-sum-exp, stable)
//   loss = -(1 - s) (x_t - lse) - s/C sum_c (x_c - lse)
//   dloss/dx_c = exp(x_c - lse) - (1 - s) [c == t] - s/C
// Sums accumulate in double. The thread pool splits over rows, each row
// computed in one fixed order (Note [Deterministic parallel kernels]).
#include <algorithm>
#include <cmath>

#include "cpu_backend.h"
#include "loops.h"

namespace ember::kernels::cpu {

namespace {

template <typename F>
void for_each_logit_row(int64_t rows, int64_t cols, F f) {
  parallel_for(0, rows, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(1, cols)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) f(r);
  });
}

// On the calling thread, before any row runs, so that the error names the
// first bad row whatever the thread count.
void check_targets(const TensorView& target, int64_t rows, int64_t classes) {
  const int64_t* t = target.ptr<int64_t>();
  for (int64_t r = 0; r < rows; ++r)
    EMBER_CHECK(t[r] >= 0 && t[r] < classes, IndexError, "cross_entropy: target class ", t[r], " (row ", r,
                ") is out of range for ", classes, " classes");
}

}  // namespace

void CpuBackend::cross_entropy_forward(const ExecContext&, const TensorView& loss, const TensorView& lse,
                                       const TensorView& logits, const TensorView& target, double label_smoothing) {
  const int64_t rows = logits.shape[0], classes = logits.shape[1];
  EMBER_DISPATCH_FLOATING(logits.dtype, "cross_entropy", [&] {
    using T = scalar_t;
    check_targets(target, rows, classes);
    for_each_logit_row(rows, classes, [&](int64_t r) {
      const T* x = logits.ptr<T>() + r * classes;
      const int64_t t = target.ptr<int64_t>()[r];
      double max = -INFINITY;
      for (int64_t c = 0; c < classes; ++c) max = std::max(max, double(x[c]));
      double sum_exp = 0;
      for (int64_t c = 0; c < classes; ++c) sum_exp += std::exp(double(x[c]) - max);
      const double l = max + std::log(sum_exp);
      lse.ptr<T>()[r] = T(l);
      double value = -(double(x[t]) - l);
      // The smoothing term only when asked for: a class masked with -inf
      // makes it -inf, and 0 * -inf would be NaN (as in PyTorch).
      if (label_smoothing > 0) {
        double sum_x = 0;
        for (int64_t c = 0; c < classes; ++c) sum_x += double(x[c]);
        value = (1 - label_smoothing) * value - label_smoothing * (sum_x / double(classes) - l);
      }
      loss.ptr<T>()[r] = T(value);
    });
  });
}

void CpuBackend::cross_entropy_backward(const ExecContext&, const TensorView& grad_logits, const TensorView& grad_loss,
                                        const TensorView& logits, const TensorView& lse, const TensorView& target,
                                        double label_smoothing) {
  const int64_t rows = logits.shape[0], classes = logits.shape[1];
  EMBER_DISPATCH_FLOATING(logits.dtype, "cross_entropy_backward", [&] {
    using T = scalar_t;
    check_targets(target, rows, classes);
    for_each_logit_row(rows, classes, [&](int64_t r) {
      const T* x = logits.ptr<T>() + r * classes;
      T* g = grad_logits.ptr<T>() + r * classes;
      const int64_t t = target.ptr<int64_t>()[r];
      const double gl = double(grad_loss.ptr<T>()[r]), l = double(lse.ptr<T>()[r]);
      const double uniform = label_smoothing / double(classes);
      for (int64_t c = 0; c < classes; ++c)
        g[c] = T(gl * (std::exp(double(x[c]) - l) - uniform - (c == t ? 1 - label_smoothing : 0.0)));
    });
  });
}

}  // namespace ember::kernels::cpu
