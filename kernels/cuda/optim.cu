// CUDA optimizer updates: SGD (momentum, nesterov, weight decay), Adam and
// AdamW, one element per thread, with exactly the CPU loops' arithmetic
// (Note [Fused optimizer updates] in kernels/cpu/optim.cpp): every scalar
// cast to the tensor's dtype first, each operation rounded in that dtype, in
// the same order, no fused multiply-adds (nvcc -fmad=false and g++
// -ffp-contract=off on this file, kernels/CMakeLists.txt). sqrt and
// division are correctly rounded on both, so a GPU step equals the CPU's
// bit for bit. Note [Kernels then launchers] in device.h.
#include "launchers.h"

namespace ember::kernels::cuda {

namespace {

// The scalars of one update, cast to T once on the host.
template <typename T>
struct SgdScalars {
  T sign, wd, mom, keep, step;
  bool has_wd, nesterov;
  int momentum;  // 0 none, 1 first step (the buffer starts as the gradient), 2 running
};

template <typename T>
struct AdamScalars {
  T sign, decay, wd, b1, b2, omb1, omb2, bc2, eps, step;
  bool coupled_wd, amsgrad;
  // Capturable updates (AdamParams::device_scalars): lr, beta1, step_size
  // and bias_correction2_sqrt from device memory; decay, b1, omb1, bc2 and
  // step are then computed from them on the device, with the host's double
  // arithmetic (no contraction here either), so the bits are the same.
  const double* device_scalars;
  double weight_decay;
  bool decoupled;
  EMBER_HD void resolve() {
    if (!device_scalars) return;
    const double lr = device_scalars[0], beta1 = device_scalars[1];
    decay = decoupled ? T(1 - lr * weight_decay) : T(1);
    b1 = T(beta1);
    omb1 = T(1 - beta1);
    step = T(-device_scalars[2]);
    bc2 = T(device_scalars[3]);
  }
};

// ---- kernels ----

template <typename T>
__global__ void sgd_kernel(T* p, const T* g, T* buf, int64_t n, SgdScalars<T> a) {
  EMBER_GRID_STRIDE_LOOP(i, n) {
    T d = g[i] * a.sign;
    if (a.has_wd) d = d + p[i] * a.wd;
    if (a.momentum == 1) buf[i] = d;
    if (a.momentum == 2) buf[i] = buf[i] * a.mom + d * a.keep;
    if (a.momentum != 0) d = a.nesterov ? d + buf[i] * a.mom : buf[i];
    p[i] = p[i] + d * a.step;
  }
}

template <typename T>
__global__ void adam_kernel(T* p, const T* g, T* m, T* v, T* vmax, int64_t n, AdamScalars<T> a) {
  a.resolve();
  EMBER_GRID_STRIDE_LOOP(i, n) {
    T gi = g[i] * a.sign;
    const T pi = p[i] * a.decay;
    if (a.coupled_wd) gi = gi + pi * a.wd;
    m[i] = m[i] * a.b1 + gi * a.omb1;
    v[i] = v[i] * a.b2 + gi * a.omb2 * gi;
    T second = v[i];
    if (a.amsgrad) second = vmax[i] = dm::max(vmax[i], v[i]);
    const T denom = dm::sqrt(second) / a.bc2 + a.eps;
    p[i] = pi + m[i] / denom * a.step;
  }
}

}  // namespace

// ---- launchers ----

void sgd_update(const ExecContext& ctx, const TensorView& param, const TensorView& grad,
                const OptionalView& momentum_buffer, const SgdParams& p) {
  const int64_t n = param.numel();
  if (n == 0) return;
  const Shape1d s = shape_for(n);
  EMBER_DISPATCH_FLOATING(param.dtype, "sgd", [&] {
    using T = scalar_t;
    const SgdScalars<T> a{p.maximize ? T(-1) : T(1), T(p.weight_decay), T(p.momentum), T(1 - p.dampening), T(-p.lr),
                          p.weight_decay != 0, p.nesterov, p.momentum == 0 ? 0 : (p.first ? 1 : 2)};
    launch(sgd_kernel<T>, s.grid, s.block, 0, ctx.stream, param.ptr<T>(), grad.ptr<T>(),
           momentum_buffer ? momentum_buffer->ptr<T>() : static_cast<T*>(nullptr), n, a);
  });
}

void adam_update(const ExecContext& ctx, const TensorView& param, const TensorView& grad, const TensorView& exp_avg,
                 const TensorView& exp_avg_sq, const OptionalView& max_exp_avg_sq, const AdamParams& p) {
  const int64_t n = param.numel();
  if (n == 0) return;
  const Shape1d s = shape_for(n);
  EMBER_DISPATCH_FLOATING(param.dtype, "adam", [&] {
    using T = scalar_t;
    const AdamScalars<T> a{p.maximize ? T(-1) : T(1),
                           p.decoupled ? T(1 - p.lr * p.weight_decay) : T(1),
                           T(p.weight_decay),
                           T(p.beta1),
                           T(p.beta2),
                           T(1 - p.beta1),
                           T(1 - p.beta2),
                           T(p.bias_correction2_sqrt),
                           T(p.eps),
                           T(-p.step_size),
                           !p.decoupled && p.weight_decay != 0,
                           max_exp_avg_sq.has_value(),
                           p.device_scalars,
                           p.weight_decay,
                           p.decoupled};
    launch(adam_kernel<T>, s.grid, s.block, 0, ctx.stream, param.ptr<T>(), grad.ptr<T>(), exp_avg.ptr<T>(),
           exp_avg_sq.ptr<T>(), max_exp_avg_sq ? max_exp_avg_sq->ptr<T>() : static_cast<T*>(nullptr), n, a);
  });
}

}  // namespace ember::kernels::cuda
