// The plain C++ micro-kernel: what the SIMD kernels do, one element at a
// time. It runs where neither AVX2 nor AVX-512 is available, and shows the
// algorithm without intrinsics: an MR x NR block of sums kept in local
// variables while the k loop streams the packed slivers of A and B.
#include "gemm_kernels.h"

namespace ember::kernels::cpu {

namespace {

constexpr int kMR = 4, kNR = 16;

template <typename T>
void generic_microkernel(int64_t kc, const T* a, const T* b, T* c, int64_t rsc, const T& alpha, const T& beta) {
  T acc[kMR][kNR] = {};
  for (int64_t p = 0; p < kc; ++p, a += kMR, b += kNR)
    for (int i = 0; i < kMR; ++i)
      for (int j = 0; j < kNR; ++j) acc[i][j] += a[i] * b[j];  // the j loop vectorizes
  for (int i = 0; i < kMR; ++i)
    for (int j = 0; j < kNR; ++j) {
      T& cij = c[i * rsc + j];
      cij = beta == 0 ? alpha * acc[i][j] : alpha * acc[i][j] + beta * cij;
    }
}

}  // namespace

MicroKernel<float> generic_kernel_f32() {
  return {&generic_microkernel<float>, kMR, kNR, /*mc=*/240, /*kc=*/256, /*nc=*/3072};
}
MicroKernel<double> generic_kernel_f64() {
  return {&generic_microkernel<double>, kMR, kNR, /*mc=*/120, /*kc=*/256, /*nc=*/3072};
}

}  // namespace ember::kernels::cpu
