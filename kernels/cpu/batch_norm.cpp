// CPU batch normalization, forward and backward, fused: two passes over x
// forward (statistics, then the output) and two backward (the two sums, then
// the input gradient), where the composite of tensor ops took about ten.
//
// x is (N, C, S) with S the product of the trailing dims; channel c's M =
// N*S values are the N runs x[n, c, 0:S]. Statistics and the backward's sums
// accumulate in double, two-pass (the mean first, then squared deviations
// from it), so a large mean costs no precision. The thread pool splits over
// channels; each channel's sums run in one fixed order, so the result does
// not depend on the thread count (Note [Deterministic parallel kernels]).
//
// The backward of training mode differentiates through the batch's mean and
// variance (x-hat = (x - mean) * invstd):
//   grad_bias   = sum(gy)            grad_weight = sum(gy * x-hat)
//   grad_x      = weight * invstd * (gy - sum(gy)/M - x-hat * sum(gy * x-hat)/M)
// In evaluation mode mean and invstd are constants: grad_x = gy * invstd * weight.
#include <algorithm>
#include <cmath>

#include "cpu_backend.h"
#include "loops.h"
#include "vec.h"

namespace ember::kernels::cpu {

namespace {

struct ChannelLayout {
  int64_t n, c, s;
  explicit ChannelLayout(const Shape& shape)
      : n(shape[0]), c(shape[1]), s(numel(shape) / std::max<int64_t>(1, shape[0] * shape[1])) {}
  int64_t count() const { return n * s; }  // values per channel
  // Calls f(run) with the offset of each of channel ch's N runs of s values.
  template <typename F>
  void for_each_run(int64_t ch, F f) const {
    for (int64_t i = 0; i < n; ++i) f((i * c + ch) * s);
  }
};

template <typename F>
void for_each_channel(const ChannelLayout& l, F f) {
  parallel_for(0, l.c, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(1, l.count())),
               [&](int64_t c0, int64_t c1) {
                 for (int64_t ch = c0; ch < c1; ++ch) f(ch);
               });
}

// Sum over channel ch of term(a[i], b[i]), in double (vec::LaneSum).
template <typename T, typename Term>
double channel_sum(const ChannelLayout& l, int64_t ch, const T* a, const T* b, Term term) {
  vec::LaneSum sum;
  l.for_each_run(ch, [&](int64_t r) { sum.add(a + r, b + r, l.s, term); });
  return sum.total();
}

template <typename T>
T value_or(const OptionalView& v, int64_t i, T fallback) {
  return v ? v->ptr<T>()[i] : fallback;
}

}  // namespace

void CpuBackend::batch_norm_forward(const ExecContext&, const TensorView& y, const TensorView& save_mean,
                                    const TensorView& save_invstd, const TensorView& x, const OptionalView& weight,
                                    const OptionalView& bias, const OptionalView& running_mean,
                                    const OptionalView& running_var, const BatchNormParams& p) {
  const ChannelLayout l(x.shape);
  EMBER_DISPATCH_FLOATING(x.dtype, "batch_norm", [&] {
    using T = scalar_t;
    const T* px = x.ptr<T>();
    T* py = y.ptr<T>();
    for_each_channel(l, [&](int64_t ch) {
      double mean, invstd;
      if (p.training) {
        mean = channel_sum(l, ch, px, px, [](auto v, auto) { return v; }) / double(l.count());
        const double sq = channel_sum(l, ch, px, px, [mean](auto v, auto) { return (v - mean) * (v - mean); });
        const double var = sq / double(l.count());
        invstd = 1.0 / std::sqrt(var + p.eps);
        // The running statistics use the unbiased variance, as PyTorch.
        if (running_mean) {
          T& rm = running_mean->ptr<T>()[ch];
          rm = T(p.momentum * mean + (1 - p.momentum) * double(rm));
        }
        if (running_var) {
          T& rv = running_var->ptr<T>()[ch];
          const double unbiased = l.count() > 1 ? var * double(l.count()) / double(l.count() - 1) : var;
          rv = T(p.momentum * unbiased + (1 - p.momentum) * double(rv));
        }
      } else {
        mean = double(running_mean->ptr<T>()[ch]);
        invstd = 1.0 / std::sqrt(double(running_var->ptr<T>()[ch]) + p.eps);
      }
      save_mean.ptr<T>()[ch] = T(mean);
      save_invstd.ptr<T>()[ch] = T(invstd);
      const T m = T(mean), scale = T(invstd * double(value_or<T>(weight, ch, T(1))));
      const T shift = value_or<T>(bias, ch, T(0));
      l.for_each_run(ch, [&](int64_t r) {
        for (int64_t i = 0; i < l.s; ++i) py[r + i] = (px[r + i] - m) * scale + shift;
      });
    });
  });
}

void CpuBackend::batch_norm_backward(const ExecContext&, const OptionalView& grad_x, const OptionalView& grad_weight,
                                     const OptionalView& grad_bias, const TensorView& grad_y, const TensorView& x,
                                     const OptionalView& weight, const TensorView& save_mean,
                                     const TensorView& save_invstd, bool training) {
  const ChannelLayout l(x.shape);
  EMBER_DISPATCH_FLOATING(x.dtype, "batch_norm_backward", [&] {
    using T = scalar_t;
    const T* px = x.ptr<T>();
    const T* pgy = grad_y.ptr<T>();
    for_each_channel(l, [&](int64_t ch) {
      const double mean = double(save_mean.ptr<T>()[ch]), invstd = double(save_invstd.ptr<T>()[ch]);
      const double sum_gy = channel_sum(l, ch, pgy, pgy, [](auto g, auto) { return g; });
      const double sum_gy_xmu = channel_sum(l, ch, pgy, px, [mean](auto g, auto v) { return g * (v - mean); });
      if (grad_bias) grad_bias->ptr<T>()[ch] = T(sum_gy);
      if (grad_weight) grad_weight->ptr<T>()[ch] = T(sum_gy_xmu * invstd);
      if (!grad_x) return;
      T* pgx = grad_x->ptr<T>();
      const double w = double(value_or<T>(weight, ch, T(1)));
      const T m = T(mean), scale = T(invstd * w);
      if (!training) {
        l.for_each_run(ch, [&](int64_t r) {
          for (int64_t i = 0; i < l.s; ++i) pgx[r + i] = pgy[r + i] * scale;
        });
        return;
      }
      const double count = double(l.count());
      const T mean_gy = T(sum_gy / count), k = T(sum_gy_xmu * invstd * invstd / count);
      l.for_each_run(ch, [&](int64_t r) {
        for (int64_t i = 0; i < l.s; ++i) pgx[r + i] = (pgy[r + i] - mean_gy - (px[r + i] - m) * k) * scale;
      });
    });
  });
}

}  // namespace ember::kernels::cpu
