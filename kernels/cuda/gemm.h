// The GEMM kernels of the CUDA backend (internal header): the problem every
// variant solves, the SGEMM ladder's names, and the loads the tiled rungs
// share. matmul.cpp picks a variant; sgemm_simple.cu, sgemm_blocked.cu and
// sgemm_multistage.cu hold the kernels; docs/cuda.md ("The SGEMM ladder") climbs them in order.
//
// Note [SGEMM ladder]
// Each rung is one idea added to the one before, and each is a whole,
// tested GEMM, selectable by name (EMBER_SGEMM=<name>, or
// ember::cuda::set_sgemm):
//   naive         one thread per element of C; a warp's threads walk down a
//                 column of C, so its loads of A are 32 rows apart;
//   coalesced     the same, with a warp along a row of C: its loads of B and
//                 stores to C are consecutive addresses;
//   smem_tiled    a block stages 32x32 tiles of A and B in shared memory and
//                 each element loaded from global memory is used 32 times;
//   reg_tiled_1d  each thread computes 8 elements of a column of C from one
//                 value of B held in a register (64x64 block tile, BK = 8);
//   reg_tiled_2d  each thread computes an 8x8 tile of C as outer products of
//                 8 values of A and 8 of B in registers (128x128, BK = 8);
//   vec4          reg_tiled_2d with 16-byte float4 loads from global memory,
//                 the A tile stored transposed so both are read along rows;
//   warp_tiled    the block tile split into warp tiles (64x32) and each warp
//                 into lanes of 2 x (8x4): a warp reads a compact part of the
//                 shared tiles, the step before tensor-core-style tiling;
//   multistage    warp_tiled's tiles fed by a 4-stage pipeline of cp.async
//                 copies (__pipeline_memcpy_async), so slabs load while the
//                 warps compute (Note [Multistage pipeline]).
// Every rung takes any M, N and K (edge tiles are guarded), a batch, and
// operands with any strides (transposed, expanded batch with stride 0);
// the float4 loads are used only where an operand is contiguous along the
// loaded dim and 16-byte aligned, and the scalar loads otherwise.
// Float64 and the integer types use smem_tiled's kernel, whatever is chosen.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "device.h"

namespace ember::kernels::cuda {

// C[z] = A[z] @ B[z] for z < batch: A is M x K, B is K x N, C is M x N,
// dense and row-major (C's batch stride M*N). A and B are read through
// their element strides; matmul.cpp gives a batch of one the stride 0.
template <typename T>
struct GemmProblem {
  const T* a;
  int64_t a_batch, a_row, a_col;
  const T* b;
  int64_t b_batch, b_row, b_col;
  T* c;
  int64_t batch, m, n, k;
};

enum class Sgemm { Naive, Coalesced, SmemTiled, RegTiled1d, RegTiled2d, Vec4, WarpTiled, Multistage };
constexpr Sgemm kDefaultSgemm = Sgemm::WarpTiled;

// The ladder in order, by name; the variant float32 matmuls use (matmul.cpp).
const std::vector<std::pair<Sgemm, std::string>>& sgemm_names();
Sgemm sgemm_variant();
void set_sgemm_variant(const std::string& name);  // ValueError naming the variants

// The launchers, one a rung (sgemm_simple.cu, sgemm_blocked.cu).
void sgemm_naive(const GemmProblem<float>& p, void* stream);
void sgemm_coalesced(const GemmProblem<float>& p, void* stream);
void sgemm_smem_tiled(const GemmProblem<float>& p, void* stream);
void sgemm_reg_tiled_1d(const GemmProblem<float>& p, void* stream);
void sgemm_reg_tiled_2d(const GemmProblem<float>& p, void* stream);
void sgemm_vec4(const GemmProblem<float>& p, void* stream);
void sgemm_warp_tiled(const GemmProblem<float>& p, void* stream);
void sgemm_multistage(const GemmProblem<float>& p, void* stream);  // sgemm_multistage.cu
// Float64 and the integer types (smem_tiled's kernel).
void gemm_tiled(const GemmProblem<double>& p, void* stream);
void gemm_tiled(const GemmProblem<int64_t>& p, void* stream);
void gemm_tiled(const GemmProblem<uint8_t>& p, void* stream);

// The grid's z dimension walks the batch; it is capped at the device's
// limit, and a block then loops over the batch entries z, z + gridDim.z, ...
constexpr int64_t kMaxGridZ = 65535;
inline unsigned batch_blocks(int64_t batch) { return static_cast<unsigned>(std::min(batch, kMaxGridZ)); }
inline unsigned blocks_for(int64_t extent, int64_t tile) { return static_cast<unsigned>((extent + tile - 1) / tile); }

#if defined(EMBER_SIMT) || defined(__CUDACC__)

// Element (i, p) of A[z] and (p, j) of B[z], or zero outside the matrix
// (the edge tiles).
template <typename T>
EMBER_DEVICE inline T load_a(const GemmProblem<T>& p, int64_t z, int64_t i, int64_t kk) {
  return i < p.m && kk < p.k ? p.a[z * p.a_batch + i * p.a_row + kk * p.a_col] : T(0);
}
template <typename T>
EMBER_DEVICE inline T load_b(const GemmProblem<T>& p, int64_t z, int64_t kk, int64_t j) {
  return kk < p.k && j < p.n ? p.b[z * p.b_batch + kk * p.b_row + j * p.b_col] : T(0);
}

// Four consecutive elements along a row: (i, kk..kk+3) of A when
// `along_k_a`, or (kk, j..j+3) of B. One 16-byte load when `vec` (the
// launcher checked that the operand is contiguous along that dim, its row
// and batch strides are multiples of 4 and its base 16-byte aligned) and
// all four are inside the matrix; element by element otherwise.
EMBER_DEVICE inline float4 load4_a(const GemmProblem<float>& p, bool vec, int64_t z, int64_t i, int64_t kk) {
  if (vec && i < p.m && kk + 3 < p.k)
    return *reinterpret_cast<const float4*>(p.a + z * p.a_batch + i * p.a_row + kk);
  return make_float4(load_a(p, z, i, kk), load_a(p, z, i, kk + 1), load_a(p, z, i, kk + 2), load_a(p, z, i, kk + 3));
}
EMBER_DEVICE inline float4 load4_b(const GemmProblem<float>& p, bool vec, int64_t z, int64_t kk, int64_t j) {
  if (vec && kk < p.k && j + 3 < p.n)
    return *reinterpret_cast<const float4*>(p.b + z * p.b_batch + kk * p.b_row + j);
  return make_float4(load_b(p, z, kk, j), load_b(p, z, kk, j + 1), load_b(p, z, kk, j + 2), load_b(p, z, kk, j + 3));
}

#endif  // EMBER_SIMT || __CUDACC__

// Whether A (rows along K) or B (rows along N) can be read 16 bytes at a
// time: unit stride along the row, row and batch strides multiples of 4
// floats, and a 16-byte aligned base.
inline bool a_vectorizable(const GemmProblem<float>& p) {
  return p.a_col == 1 && p.a_row % 4 == 0 && p.a_batch % 4 == 0 && reinterpret_cast<uintptr_t>(p.a) % 16 == 0;
}
inline bool b_vectorizable(const GemmProblem<float>& p) {
  return p.b_col == 1 && p.b_row % 4 == 0 && p.b_batch % 4 == 0 && reinterpret_cast<uintptr_t>(p.b) % 16 == 0;
}

}  // namespace ember::kernels::cuda
