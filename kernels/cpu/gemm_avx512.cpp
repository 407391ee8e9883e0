// The AVX-512 micro-kernels: 32 zmm registers of 16 floats (8 doubles).
// A 12 x 32 float tile (12 x 16 for double) keeps 24 accumulators in
// registers, plus 2 for the row of B and 1 for the broadcast value of A:
// 27 of 32. Each k step then does 24 FMAs for 2 loads of B and 12
// broadcasts of A, enough independent FMAs to keep both FMA pipes busy
// (latency 4 cycles x 2 pipes needs at least 8 in flight).
// See Note [Micro-kernel per instruction set] for the pragma.
#include <immintrin.h>

#include <cstdint>

#include "gemm_kernels.h"

#ifdef __clang__
#pragma clang attribute push(__attribute__((target("avx512f"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f")
#endif

namespace ember::kernels::cpu {
namespace {

struct Avx512Float {
  using T = float;
  using Reg = __m512;
  static constexpr int width = 16;
  static Reg zero() { return _mm512_setzero_ps(); }
  static Reg load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, Reg v) { _mm512_storeu_ps(p, v); }
  static Reg broadcast(float v) { return _mm512_set1_ps(v); }
  static Reg fma(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }
  static Reg mul(Reg a, Reg b) { return _mm512_mul_ps(a, b); }
};

struct Avx512Double {
  using T = double;
  using Reg = __m512d;
  static constexpr int width = 8;
  static Reg zero() { return _mm512_setzero_pd(); }
  static Reg load(const double* p) { return _mm512_loadu_pd(p); }
  static void store(double* p, Reg v) { _mm512_storeu_pd(p, v); }
  static Reg broadcast(double v) { return _mm512_set1_pd(v); }
  static Reg fma(Reg a, Reg b, Reg c) { return _mm512_fmadd_pd(a, b, c); }
  static Reg mul(Reg a, Reg b) { return _mm512_mul_pd(a, b); }
};

}  // namespace

#include "gemm_microkernel.h"

}  // namespace ember::kernels::cpu

#ifdef __clang__
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

// Outside the pragma: these run before anyone knows whether the CPU has AVX-512.
namespace ember::kernels::cpu {
MicroKernel<float> avx512_kernel_f32() {
  return {&vector_microkernel<Avx512Float, 12, 2>, 12, 32, /*mc=*/96, /*kc=*/1024, /*nc=*/3072};
}
MicroKernel<double> avx512_kernel_f64() {
  return {&vector_microkernel<Avx512Double, 12, 2>, 12, 16, /*mc=*/120, /*kc=*/256, /*nc=*/3072};
}
}  // namespace ember::kernels::cpu
