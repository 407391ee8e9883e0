// CPU optimizer updates: SGD's and Adam's per-element arithmetic as one
// loop over raw memory, instead of a dozen tensor ops.
//
// Note [Fused optimizer updates]
// The op-by-op update (optim/src/sgd.cpp, adam.cpp) is the reference:
// readable, and right for any device and layout. But each op allocates a
// temporary the size of the parameter and pays dispatch costs; for LeNet's
// 62k parameters Adam took ~0.9 ms per step that way, a large share of a
// training step. So the optimizers call these entries (through prim::) when
// a parameter, its gradient and its buffers are contiguous and of one
// floating dtype. The loops repeat the ops' rounding exactly: every scalar
// is cast to the tensor's dtype first (as wrap_scalar does), each operation
// is rounded in that dtype, in the ops' order, and this file is compiled
// with -ffp-contract=off so that no multiply-add is fused.
// tests/test_optim.cpp replays the PyTorch fixtures through both paths.
//
// Large parameters are split over the thread pool by element; each
// element's update is independent, so the result does not depend on the
// thread count.
#include <cmath>
#include <limits>
#include <type_traits>

#include "cpu_backend.h"
#include "loops.h"

namespace ember::kernels::cpu {

namespace {

// Runs loop(offset, count) over [0, n) in parallel chunks.
template <typename Loop>
void split(int64_t n, Loop loop) {
  parallel_for(0, n, kParallelGrain, [&](int64_t b, int64_t e) { loop(b, e - b); });
}

// torch.maximum's rule, as the CPU kernel: NaN wins.
template <typename T>
T max_value(T a, T b) {
  if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
  return a > b ? a : b;
}

// Calls f(std::bool_constant<a>, std::bool_constant<b>): the loops below
// take their options as template flags, so that each compiles to a
// branch-free (vectorizable) body.
template <typename F>
void with_flags(bool a, bool b, F&& f) {
  if (a) b ? f(std::true_type{}, std::true_type{}) : f(std::true_type{}, std::false_type{});
  else b ? f(std::false_type{}, std::true_type{}) : f(std::false_type{}, std::false_type{});
}

// Multiplying by +1 or -1 is exact, so maximize needs no branch.
enum class Momentum { None, First, Running };

template <typename T, bool WD, Momentum Mom, bool Nesterov>
void sgd_loop(T* __restrict p, const T* __restrict g, T* __restrict buf, int64_t n, const SgdParams& a) {
  const T sign = a.maximize ? T(-1) : T(1), wd = T(a.weight_decay), mom = T(a.momentum);
  const T keep = T(1 - a.dampening), step = T(-a.lr);
  for (int64_t i = 0; i < n; ++i) {
    T d = g[i] * sign;
    if constexpr (WD) d = d + p[i] * wd;
    if constexpr (Mom == Momentum::First) buf[i] = d;
    if constexpr (Mom == Momentum::Running) buf[i] = buf[i] * mom + d * keep;
    if constexpr (Mom != Momentum::None) d = Nesterov ? d + buf[i] * mom : buf[i];
    p[i] = p[i] + d * step;
  }
}

// AdamW's decay multiplies by 1 for Adam (exact), so only the coupled
// weight decay and AMSGrad need flags.
template <typename T, bool CoupledWD, bool Amsgrad>
void adam_loop(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v, T* __restrict vmax,
               int64_t n, const AdamParams& a) {
  const T sign = a.maximize ? T(-1) : T(1), decay = a.decoupled ? T(1 - a.lr * a.weight_decay) : T(1);
  const T wd = T(a.weight_decay), b1 = T(a.beta1), b2 = T(a.beta2), omb1 = T(1 - a.beta1), omb2 = T(1 - a.beta2);
  const T bc2 = T(a.bias_correction2_sqrt), eps = T(a.eps), step = T(-a.step_size);
  for (int64_t i = 0; i < n; ++i) {
    T gi = g[i] * sign;
    const T pi = p[i] * decay;
    if constexpr (CoupledWD) gi = gi + pi * wd;
    m[i] = m[i] * b1 + gi * omb1;
    v[i] = v[i] * b2 + gi * omb2 * gi;
    T second = v[i];
    if constexpr (Amsgrad) second = vmax[i] = max_value(vmax[i], v[i]);
    const T denom = std::sqrt(second) / bc2 + eps;
    p[i] = pi + m[i] / denom * step;
  }
}

}  // namespace

void CpuBackend::sgd_update(const ExecContext&, const TensorView& param, const TensorView& grad,
                            const OptionalView& momentum_buffer, const SgdParams& a) {
  EMBER_DISPATCH_FLOATING(param.dtype, "sgd", [&] {
    using T = scalar_t;
    T* p = param.ptr<T>();
    T* b = momentum_buffer ? momentum_buffer->ptr<T>() : nullptr;
    const T* g = grad.ptr<T>();
    with_flags(a.weight_decay != 0, a.nesterov, [&](auto wd, auto nesterov) {
      split(param.numel(), [&](int64_t o, int64_t len) {
        T* bo = b ? b + o : nullptr;
        if (a.momentum == 0) sgd_loop<T, wd.value, Momentum::None, false>(p + o, g + o, bo, len, a);
        else if (a.first) sgd_loop<T, wd.value, Momentum::First, nesterov.value>(p + o, g + o, bo, len, a);
        else sgd_loop<T, wd.value, Momentum::Running, nesterov.value>(p + o, g + o, bo, len, a);
      });
    });
  });
}

void CpuBackend::adam_update(const ExecContext&, const TensorView& param, const TensorView& grad,
                             const TensorView& exp_avg, const TensorView& exp_avg_sq,
                             const OptionalView& max_exp_avg_sq, const AdamParams& given) {
  AdamParams a = given;
  if (const double* s = a.device_scalars) {  // host memory here: read it now
    a.lr = s[0], a.beta1 = s[1], a.step_size = s[2], a.bias_correction2_sqrt = s[3];
  }
  EMBER_DISPATCH_FLOATING(param.dtype, "adam", [&] {
    using T = scalar_t;
    T* vmax = max_exp_avg_sq ? max_exp_avg_sq->ptr<T>() : nullptr;
    T *p = param.ptr<T>(), *m = exp_avg.ptr<T>(), *v = exp_avg_sq.ptr<T>();
    const T* g = grad.ptr<T>();
    with_flags(!a.decoupled && a.weight_decay != 0, vmax != nullptr, [&](auto wd, auto ams) {
      split(param.numel(), [&](int64_t o, int64_t len) {
        adam_loop<T, wd.value, ams.value>(p + o, g + o, m + o, v + o, vmax ? vmax + o : nullptr, len, a);
      });
    });
  });
}

}  // namespace ember::kernels::cpu
