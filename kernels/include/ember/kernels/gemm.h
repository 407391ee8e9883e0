// The CPU GEMM: C = alpha * A * B + beta * C on raw strided matrices.
//
// Ember's own packed GEMM (kernels/cpu/gemm.cpp, explained in
// docs/cpu-performance.md) runs cpu:ember's matmul, batched matmul and conv
// (im2col + GEMM). Eigen's product is the reference it is tested against,
// and the matmul of the cpu:eigen backend (EMBER_BACKEND=cpu:eigen).
//
// Matrices are given BLIS-style as a pointer and two strides: element (i, j)
// of A is a[i * rsa + j * csa]. A row-major matrix has (rs, cs) = (cols, 1);
// its transpose is the same memory with the strides swapped, so transposed
// and strided views need no copy.
#pragma once

#include <cstdint>

namespace ember::kernels::cpu {

/// C (m x n) = alpha * A (m x k) * B (k x n) + beta * C. When beta == 0, C is
/// not read (NaNs in it do not propagate), as in BLAS. Defined for float and
/// double.
template <typename T>
void gemm(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t rsa, int64_t csa, const T* b,
          int64_t rsb, int64_t csb, T beta, T* c, int64_t rsc, int64_t csc);

/// The same product through Eigen, always (the reference).
template <typename T>
void gemm_eigen(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t rsa, int64_t csa, const T* b,
                int64_t rsb, int64_t csb, T beta, T* c, int64_t rsc, int64_t csc);

// Which micro-kernel the packed GEMM uses. The default is the best this CPU
// supports, detected at run time, so a portable build (no -march=native)
// still gets AVX-512. Tests force the others to check them too.
enum class GemmIsa { Generic, Avx2, Avx512 };
bool gemm_isa_supported(GemmIsa isa);
/// Throws ValueError if this CPU lacks the instructions.
void set_gemm_isa(GemmIsa isa);
GemmIsa gemm_isa();
const char* gemm_isa_name(GemmIsa isa);

// The CPU convolution's algorithm: Auto takes the direct kernel where it
// applies (few input channels, stride 1: conv_direct.cpp) and the blocked
// GEMM elsewhere (conv.cpp); Gemm always takes the GEMM. For tests and
// benchmarks, which compare the two.
enum class CpuConvAlgorithm { Auto, Gemm };
void set_cpu_conv_algorithm(CpuConvAlgorithm algorithm);
CpuConvAlgorithm cpu_conv_algorithm();

}  // namespace ember::kernels::cpu
