// CUDA random fills: uniform, normal and dropout masks from the Philox
// stream, bit for bit what the CPU makes (Note [Philox streams] in
// core/include/ember/core/generator.h). Note [Kernels then launchers] in
// device.h.
//
// One thread per Philox block, grid-stride: block k of the stream (offset +
// k) gives elements 2k and 2k + 1. Uniforms and masks are integer arithmetic
// and one rounding, so every GPU and the CPU agree exactly. Normals use the
// device's log1p, cos and sin: on the emulator they are the C library's (the
// CPU's, so the same bits); on a GPU, CUDA's, within 2 ulp (docs/cuda.md).
#include "ember/core/philox.h"
#include "launchers.h"

namespace ember::kernels::cuda {

namespace {

// The block's two uniform doubles in [0, 1): 53 bits each.
EMBER_HD void uniform_pair(uint64_t seed, uint64_t block, double (&u)[2]) {
  const PhiloxBlock w = philox4x32_10(seed, block);  // core/philox.h
  for (int j = 0; j < 2; ++j)
    u[j] = static_cast<double>((static_cast<uint64_t>(w.w[2 * j]) << 32 | w.w[2 * j + 1]) >> 11) * 0x1.0p-53;
}

// ---- kernels: one Philox block (two elements) per thread ----

template <typename T>
__global__ void uniform_kernel(T* out, int64_t n, uint64_t seed, uint64_t offset, const uint64_t* base) {
  if (base) offset += *base;  // Note [Graph-safe random streams]
  EMBER_GRID_STRIDE_LOOP(k, (n + 1) / 2) {
    double u[2];
    uniform_pair(seed, offset + static_cast<uint64_t>(k), u);
    out[2 * k] = static_cast<T>(u[0]);
    if (2 * k + 1 < n) out[2 * k + 1] = static_cast<T>(u[1]);
  }
}

// Box-Muller: r = sqrt(-2 log(1 - u1)), theta = 2 pi u2.
template <typename T>
__global__ void normal_kernel(T* out, int64_t n, uint64_t seed, uint64_t offset, const uint64_t* base) {
  if (base) offset += *base;  // Note [Graph-safe random streams]
  EMBER_GRID_STRIDE_LOOP(k, (n + 1) / 2) {
    double u[2];
    uniform_pair(seed, offset + static_cast<uint64_t>(k), u);
    const double r = dm::sqrt(-2.0 * dm::log1p(-u[0]));
    const double theta = 2.0 * 3.14159265358979323846 * u[1];
    out[2 * k] = static_cast<T>(r * dm::cos(theta));
    if (2 * k + 1 < n) out[2 * k + 1] = static_cast<T>(r * dm::sin(theta));
  }
}

// mask[i] = T(u_i) < T(1 - p) ? T(1) / T(1 - p) : 0.
template <typename T>
__global__ void dropout_mask_kernel(T* mask, int64_t n, T keep, T scale, uint64_t seed, uint64_t offset,
                                    const uint64_t* base) {
  if (base) offset += *base;  // Note [Graph-safe random streams]
  EMBER_GRID_STRIDE_LOOP(k, (n + 1) / 2) {
    double u[2];
    uniform_pair(seed, offset + static_cast<uint64_t>(k), u);
    mask[2 * k] = static_cast<T>(u[0]) < keep ? scale : T(0);
    if (2 * k + 1 < n) mask[2 * k + 1] = static_cast<T>(u[1]) < keep ? scale : T(0);
  }
}

}  // namespace

// ---- launchers ----

void random_uniform(const ExecContext& ctx, const TensorView& out, uint64_t seed, uint64_t offset) {
  const int64_t n = out.numel();
  const Shape1d s = shape_for((n + 1) / 2);
  EMBER_DISPATCH_FLOATING(out.dtype, "random_uniform", [&] {
    launch(uniform_kernel<scalar_t>, s.grid, s.block, 0, ctx.stream, out.ptr<scalar_t>(), n, seed, offset,
           ctx.philox_base);
  });
}

void random_normal(const ExecContext& ctx, const TensorView& out, uint64_t seed, uint64_t offset) {
  const int64_t n = out.numel();
  const Shape1d s = shape_for((n + 1) / 2);
  EMBER_DISPATCH_FLOATING(out.dtype, "random_normal", [&] {
    launch(normal_kernel<scalar_t>, s.grid, s.block, 0, ctx.stream, out.ptr<scalar_t>(), n, seed, offset,
           ctx.philox_base);
  });
}

void dropout_mask(const ExecContext& ctx, const TensorView& mask, double p, uint64_t seed, uint64_t offset) {
  const int64_t n = mask.numel();
  const Shape1d s = shape_for((n + 1) / 2);
  EMBER_DISPATCH_FLOATING(mask.dtype, "dropout_mask", [&] {
    using T = scalar_t;
    launch(dropout_mask_kernel<T>, s.grid, s.block, 0, ctx.stream, mask.ptr<T>(), n, T(1 - p), T(1) / T(1 - p), seed,
           offset, ctx.philox_base);
  });
}

}  // namespace ember::kernels::cuda
