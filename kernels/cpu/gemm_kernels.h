// What the packed GEMM (gemm.cpp) needs from a micro-kernel, and the
// micro-kernels there are: one file per instruction set.
//
// A micro-kernel computes one MR x NR tile of C from a packed sliver of A
// (kc steps of MR values: column p of the tile's rows) and a packed sliver of
// B (kc steps of NR values: row p of the tile's columns):
//     C = alpha * (A_sliver * B_sliver) + beta * C,  C row-major with row stride rsc,
// and never reads C when beta == 0. Each element's sum runs over p in order,
// so a tile's result does not depend on which thread computes it.
#pragma once

#include <cstdint>

namespace ember::kernels::cpu {

// alpha and beta come by reference, to be read only after the k loop: passed
// by value they arrive in vector registers, which then stay taken for the
// whole loop (with generic tuning GCC then spilled a row of B to the stack).
template <typename T>
using MicroKernelFn = void (*)(int64_t kc, const T* a, const T* b, T* c, int64_t rsc, const T& alpha, const T& beta);

// A micro-kernel with its register tile (mr x nr) and the cache blocking
// that suits it (Note [GEMM blocking] in gemm.cpp).
template <typename T>
struct MicroKernel {
  MicroKernelFn<T> run;
  int mr, nr;      // the register tile
  int mc, kc, nc;  // the cache blocks: A block mc x kc (L2), B panel kc x nc (L3)
};

// gemm_generic.cpp (plain C++), gemm_avx2.cpp (AVX2 + FMA), gemm_avx512.cpp.
MicroKernel<float> generic_kernel_f32();
MicroKernel<double> generic_kernel_f64();
MicroKernel<float> avx2_kernel_f32();
MicroKernel<double> avx2_kernel_f64();
MicroKernel<float> avx512_kernel_f32();
MicroKernel<double> avx512_kernel_f64();

// The micro-kernel gemm() uses now (gemm_isa(), EMBER_GEMM_BLOCKS applied):
// for kernels that drive it themselves, such as the convolutions (conv.cpp).
template <typename T>
MicroKernel<T> active_microkernel();

}  // namespace ember::kernels::cpu
