// The register-blocked micro-kernel, written once for any SIMD width.
//
// Note [Micro-kernel per instruction set]
// This header is included by gemm_avx2.cpp and gemm_avx512.cpp AFTER a
// `#pragma GCC target(...)`, so everything here is compiled for that
// instruction set, and only for the functions of that one file: the rest of
// Ember stays portable and the CPU is checked at run time before a kernel
// is called (gemm.cpp). Hence: no #include here (headers included under
// the pragma would compile inline library code for the wider instruction
// set, which the linker could then pick for the whole program) and no
// #pragma once (each kernel file gets its own copy, in an unnamed namespace).
//
// `Vec` describes one SIMD register type: Reg, width (lanes), zero, load,
// store, broadcast, fma (a * b + c, one rounding) and mul.

namespace {

// C (MR x NR, NR = NV * Vec::width) = alpha * A_sliver * B_sliver + beta * C.
// The MR * NV accumulators stay in registers for the whole k loop: each step
// loads NV vectors of B, broadcasts MR values of A and does MR * NV FMAs.
template <typename Vec, int MR, int NV>
void vector_microkernel(int64_t kc, const typename Vec::T* a, const typename Vec::T* b, typename Vec::T* c,
                        int64_t rsc, const typename Vec::T& alpha, const typename Vec::T& beta) {
  using Reg = typename Vec::Reg;
  constexpr int W = Vec::width, NR = NV * W;
  Reg acc[MR][NV];
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) acc[i][j] = Vec::zero();

  // Ask for the C tile now, so it has arrived from memory when the k loop ends.
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i) {
    __builtin_prefetch(c + i * rsc);
    __builtin_prefetch(c + i * rsc + NR - 1);
  }

  for (int64_t p = 0; p < kc; ++p, a += MR, b += NR) {
    Reg bv[NV];
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) bv[j] = Vec::load(b + j * W);
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i) {
      const Reg ai = Vec::broadcast(a[i]);
#pragma GCC unroll 8
      for (int j = 0; j < NV; ++j) acc[i][j] = Vec::fma(ai, bv[j], acc[i][j]);
    }
  }

  const Reg va = Vec::broadcast(alpha), vb = Vec::broadcast(beta);
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) {
      typename Vec::T* ci = c + i * rsc + j * W;
      const Reg ab = Vec::mul(acc[i][j], va);
      Vec::store(ci, beta == 0 ? ab : Vec::fma(Vec::load(ci), vb, ab));  // beta == 0: C is not read
    }
}

}  // namespace
