// The AVX2 micro-kernels: 16 ymm registers of 8 floats (4 doubles). A 6 x 16
// float tile (6 x 8 for double) keeps 12 accumulators, plus 2 for the row of
// B and 1 for the broadcast value of A: 15 of 16 registers (the classic
// Haswell shape of BLIS and OpenBLAS). Used on CPUs without AVX-512.
// See Note [Micro-kernel per instruction set] for the pragma.
#include <immintrin.h>

#include <cstdint>

#include "gemm_kernels.h"

#ifdef __clang__
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif

namespace ember::kernels::cpu {
namespace {

struct Avx2Float {
  using T = float;
  using Reg = __m256;
  static constexpr int width = 8;
  static Reg zero() { return _mm256_setzero_ps(); }
  static Reg load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, Reg v) { _mm256_storeu_ps(p, v); }
  static Reg broadcast(float v) { return _mm256_set1_ps(v); }
  static Reg fma(Reg a, Reg b, Reg c) { return _mm256_fmadd_ps(a, b, c); }
  static Reg mul(Reg a, Reg b) { return _mm256_mul_ps(a, b); }
};

struct Avx2Double {
  using T = double;
  using Reg = __m256d;
  static constexpr int width = 4;
  static Reg zero() { return _mm256_setzero_pd(); }
  static Reg load(const double* p) { return _mm256_loadu_pd(p); }
  static void store(double* p, Reg v) { _mm256_storeu_pd(p, v); }
  static Reg broadcast(double v) { return _mm256_set1_pd(v); }
  static Reg fma(Reg a, Reg b, Reg c) { return _mm256_fmadd_pd(a, b, c); }
  static Reg mul(Reg a, Reg b) { return _mm256_mul_pd(a, b); }
};

}  // namespace

#include "gemm_microkernel.h"

}  // namespace ember::kernels::cpu

#ifdef __clang__
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

// Outside the pragma: these run before anyone knows whether the CPU has AVX2.
namespace ember::kernels::cpu {
MicroKernel<float> avx2_kernel_f32() {
  return {&vector_microkernel<Avx2Float, 6, 2>, 6, 16, /*mc=*/96, /*kc=*/1024, /*nc=*/3072};
}
MicroKernel<double> avx2_kernel_f64() {
  return {&vector_microkernel<Avx2Double, 6, 2>, 6, 8, /*mc=*/120, /*kc=*/256, /*nc=*/3072};
}
}  // namespace ember::kernels::cpu
