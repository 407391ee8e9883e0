// CPU random fills: uniform, normal and dropout masks from the Philox
// stream (Note [Philox streams] in core/include/ember/core/generator.h).
// Element i depends only on (seed, offset, i), so the thread pool may split
// the elements anywhere: the bits are the same at any thread count, and the
// same as any other backend that follows the Note.
#include <cmath>

#include "cpu_backend.h"
#include "ember/core/generator.h"
#include "loops.h"

namespace ember::kernels::cpu {

namespace {

// The two uniform doubles in [0, 1) of Philox block `block`: 53 bits each,
// from words (0, 1) and (2, 3).
std::array<double, 2> uniform_pair(uint64_t seed, uint64_t block) {
  const auto w = Generator::philox(seed, block);
  auto to_double = [](uint32_t hi, uint32_t lo) {
    return static_cast<double>((static_cast<uint64_t>(hi) << 32 | lo) >> 11) * 0x1.0p-53;
  };
  return {to_double(w[0], w[1]), to_double(w[2], w[3])};
}

// Calls f(i, u) for every element i of a contiguous n-element output, with u
// its block's pair of uniforms; pairs are computed once per block.
template <typename F>
void for_each_pair(int64_t n, uint64_t seed, uint64_t offset, F f) {
  const int64_t blocks = (n + 1) / 2;
  parallel_for(0, blocks, kParallelGrain / 16, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const auto u = uniform_pair(seed, offset + static_cast<uint64_t>(b));
      f(2 * b, u, 2 * b + 1 < n);
    }
  });
}

}  // namespace

void CpuBackend::random_uniform(const ExecContext& ctx, const TensorView& out, uint64_t seed, uint64_t offset) {
  if (ctx.philox_base) offset += *ctx.philox_base;  // Note [Graph-safe random streams]
  EMBER_DISPATCH_FLOATING(out.dtype, "random_uniform", [&] {
    scalar_t* o = out.ptr<scalar_t>();
    for_each_pair(out.numel(), seed, offset, [&](int64_t i, const std::array<double, 2>& u, bool second) {
      o[i] = scalar_t(u[0]);
      if (second) o[i + 1] = scalar_t(u[1]);
    });
  });
}

// Box-Muller: r = sqrt(-2 log(1 - u1)) (log1p keeps it finite at u1 = 0),
// theta = 2 pi u2; the pair is (r cos theta, r sin theta).
void CpuBackend::random_normal(const ExecContext& ctx, const TensorView& out, uint64_t seed, uint64_t offset) {
  if (ctx.philox_base) offset += *ctx.philox_base;
  EMBER_DISPATCH_FLOATING(out.dtype, "random_normal", [&] {
    scalar_t* o = out.ptr<scalar_t>();
    for_each_pair(out.numel(), seed, offset, [&](int64_t i, const std::array<double, 2>& u, bool second) {
      const double r = std::sqrt(-2.0 * std::log1p(-u[0]));
      const double theta = 2.0 * M_PI * u[1];
      o[i] = scalar_t(r * std::cos(theta));
      if (second) o[i + 1] = scalar_t(r * std::sin(theta));
    });
  });
}

// The uniform is rounded to T before the comparison, and the scale is
// T(1) / T(1 - p): the same bits as lt(rand(T), 1 - p) / (1 - p) in ops.
void CpuBackend::dropout_mask(const ExecContext& ctx, const TensorView& mask, double p, uint64_t seed,
                              uint64_t offset) {
  if (ctx.philox_base) offset += *ctx.philox_base;
  EMBER_DISPATCH_FLOATING(mask.dtype, "dropout_mask", [&] {
    using T = scalar_t;
    T* o = mask.ptr<T>();
    const T keep = T(1 - p), scale = T(1) / T(1 - p);
    for_each_pair(mask.numel(), seed, offset, [&](int64_t i, const std::array<double, 2>& u, bool second) {
      o[i] = T(u[0]) < keep ? scale : T(0);
      if (second) o[i + 1] = T(u[1]) < keep ? scale : T(0);
    });
  });
}

}  // namespace ember::kernels::cpu
