// Fused CPU loops for SGD and Adam; see Note [Fused CPU updates] in fused.h.
// Each line mirrors one op of the reference path (sgd.cpp, adam.cpp), with
// its scalar cast to T first. Compiled with -ffp-contract=off (CMakeLists).
// Large parameters are split over the thread pool by element; each element's
// update is independent, so the result does not depend on the thread count.
#include "fused.h"

#include <cmath>
#include <limits>
#include <type_traits>

#include "ember/core/parallel.h"

namespace ember::optim::fused {

namespace {

constexpr int64_t kParallelGrain = 32768;  // elements; as the CPU kernels (kernels/cpu/loops.h)

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
void sgd_loop(T* __restrict p, const T* __restrict g, T* __restrict buf, int64_t n, const SGDArgs& a) {
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

template <typename T>
void sgd_typed(const Tensor& param, const Tensor& grad, const Tensor& buf, const SGDArgs& a) {
  T *p = param.data_ptr<T>(), *b = buf.defined() ? buf.data_ptr<T>() : nullptr;
  const T* g = grad.data_ptr<T>();
  const int64_t n = param.numel();
  with_flags(a.weight_decay != 0, a.nesterov, [&](auto wd, auto nesterov) {
    split(n, [&](int64_t o, int64_t len) {
      T* bo = b ? b + o : nullptr;
      if (a.momentum == 0) sgd_loop<T, wd.value, Momentum::None, false>(p + o, g + o, bo, len, a);
      else if (a.first) sgd_loop<T, wd.value, Momentum::First, nesterov.value>(p + o, g + o, bo, len, a);
      else sgd_loop<T, wd.value, Momentum::Running, nesterov.value>(p + o, g + o, bo, len, a);
    });
  });
}

// AdamW's decay multiplies by 1 for Adam (exact), so only the coupled
// weight decay and AMSGrad need flags.
template <typename T, bool CoupledWD, bool Amsgrad>
void adam_loop(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v, T* __restrict vmax,
               int64_t n, const AdamArgs& a) {
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

template <typename T>
void adam_typed(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                const Tensor& max_sq, const AdamArgs& a) {
  T* vmax = max_sq.defined() ? max_sq.data_ptr<T>() : nullptr;
  T *p = param.data_ptr<T>(), *m = exp_avg.data_ptr<T>(), *v = exp_avg_sq.data_ptr<T>();
  const T* g = grad.data_ptr<T>();
  with_flags(!a.decoupled && a.weight_decay != 0, vmax != nullptr, [&](auto wd, auto ams) {
    split(param.numel(), [&](int64_t o, int64_t len) {
      adam_loop<T, wd.value, ams.value>(p + o, g + o, m + o, v + o, vmax ? vmax + o : nullptr, len, a);
    });
  });
}

}  // namespace

bool applicable(std::initializer_list<const Tensor*> tensors) {
  const Tensor& first = **tensors.begin();
  if (!first.defined() || !is_floating(first.dtype())) return false;
  for (const Tensor* t : tensors)
    if (!t->defined() || t->device() != kCPU || t->dtype() != first.dtype() || !t->is_contiguous()) return false;
  return true;
}

void sgd(const Tensor& param, const Tensor& grad, const Tensor& buf, const SGDArgs& args) {
  if (param.dtype() == DType::Float64) sgd_typed<double>(param, grad, buf, args);
  else sgd_typed<float>(param, grad, buf, args);
  param.bump_version();
  if (buf.defined()) buf.bump_version();
}

void adam(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
          const Tensor& max_sq, const AdamArgs& args) {
  if (param.dtype() == DType::Float64) adam_typed<double>(param, grad, exp_avg, exp_avg_sq, max_sq, args);
  else adam_typed<float>(param, grad, exp_avg, exp_avg_sq, max_sq, args);
  for (const Tensor* t : {&param, &exp_avg, &exp_avg_sq, &max_sq})
    if (t->defined()) t->bump_version();
}

}  // namespace ember::optim::fused
