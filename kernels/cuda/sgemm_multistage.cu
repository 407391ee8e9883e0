// The multistage rung of the SGEMM ladder (Note [SGEMM ladder] in gemm.h):
// warp_tiled's warp and lane tiles, fed by a pipeline of kStages shared
// memory buffers that asynchronous copies fill while the warps compute.
// Note [Kernels then launchers] in device.h.
//
// Note [Multistage pipeline]
// In warp_tiled every slab is loaded, then waited for, then used: while the
// loads are in flight nothing computes, and while the warps compute no load
// is in flight. Here the block keeps kStages - 1 slabs in flight. cp.async
// (sm_80+, through __pipeline_memcpy_async, no inline PTX) copies global
// memory straight into shared memory, without passing through registers,
// and a thread's copies are grouped by __pipeline_commit; __pipeline_wait_
// prior(n) waits until all but the newest n of its groups have landed.
//
//   prologue:  load slabs 0 .. S-2 into stages 0 .. S-2, one group each
//   step kt:   wait for all but the newest S-2 groups (slab kt is in)
//              __syncthreads (every thread's copies of slab kt are in, and
//                             every warp is done with step kt-1's stage)
//              load slab kt+S-1 into stage (kt+S-1) % S = (kt-1) % S
//              commit (an empty group past the end keeps the count)
//              compute on stage kt % S
//
// One barrier per slab, where warp_tiled has two: the stage a step
// overwrites is the one the step before read, and the barrier at the top
// of this step already orders the two. The tile shape follows cuBLAS's
// fp32 SIMT kernel on sm_90 (BK = 8, 4 stages; its block tile is 256 x 128,
// ours warp_tiled's 128 x 128).
//
// cp.async cannot transpose, and the compute reads the A slab along M
// (ast[k][row]). A row-major A is therefore copied an element (4 bytes) at a
// time into its transposed place; a column-major A (a transposed operand,
// as the backward's x^T) is copied 16 bytes at a time, 4 rows at one k. B
// is copied 16 bytes at a time where b_vectorizable allows. Outside the
// matrix a copy zero-fills its destination (the zfill argument). On the
// emulator the copies happen at the wait (Note [cp.async on the emulator]
// in kernels/simt/scheduler.cpp), so a missing wait or barrier fails the
// tests.
#include "gemm.h"

#if defined(__CUDACC__)
#include <cuda_pipeline.h>
#endif

namespace ember::kernels::cuda {

namespace {

namespace ms {
constexpr int BM = 128, BN = 128, BK = 8, kStages = 4, WM = 64, WN = 32, TM = 8, TN = 4, kIters = 2;
constexpr int kWarpsN = BN / WN, kThreads = (BM / WM) * kWarpsN * 32;
}  // namespace ms

// Element (i, kk) of A, or (kk, j) of B, into *dst: 4 bytes, zeros outside
// the matrix (the source pointer is then only a valid address).
EMBER_DEVICE inline void copy_a1(float* dst, const GemmProblem<float>& p, int64_t z, int64_t i, int64_t kk) {
  const bool in = i < p.m && kk < p.k;
  __pipeline_memcpy_async(dst, in ? p.a + z * p.a_batch + i * p.a_row + kk * p.a_col : p.a, 4, in ? 0 : 4);
}
EMBER_DEVICE inline void copy_b1(float* dst, const GemmProblem<float>& p, int64_t z, int64_t kk, int64_t j) {
  const bool in = kk < p.k && j < p.n;
  __pipeline_memcpy_async(dst, in ? p.b + z * p.b_batch + kk * p.b_row + j * p.b_col : p.b, 4, in ? 0 : 4);
}

// Issues the copies of slab k0 (A's BM x BK, B's BK x BN) into one stage.
EMBER_DEVICE inline void load_slab(float (*ast)[ms::BM], float (*bs)[ms::BN], const GemmProblem<float>& p,
                                   bool a_col_major, bool vec_b, int64_t z, int64_t i0, int64_t j0, int64_t k0) {
  using namespace ms;
  const int t = threadIdx.x;
  if (a_col_major) {
    for (int l = t; l < BM * BK / 4; l += kThreads) {  // 4 rows at one k, contiguous in memory
      const int kk = l / (BM / 4), r = l % (BM / 4) * 4;
      const int64_t i = i0 + r, k = k0 + kk;
      if (i + 3 < p.m && k < p.k) __pipeline_memcpy_async(&ast[kk][r], p.a + z * p.a_batch + i + k * p.a_col, 16);
      else
        for (int q = 0; q < 4; ++q) copy_a1(&ast[kk][r + q], p, z, i + q, k);
    }
  } else {
    for (int l = t; l < BM * BK; l += kThreads) copy_a1(&ast[l % BK][l / BK], p, z, i0 + l / BK, k0 + l % BK);
  }
  for (int l = t; l < BK * BN / 4; l += kThreads) {
    const int kk = l / (BN / 4), jj = l % (BN / 4) * 4;
    const int64_t k = k0 + kk, j = j0 + jj;
    if (vec_b && k < p.k && j + 3 < p.n)
      __pipeline_memcpy_async(&bs[kk][jj], p.b + z * p.b_batch + k * p.b_row + j, 16);
    else
      for (int q = 0; q < 4; ++q) copy_b1(&bs[kk][jj + q], p, z, k, j + q);
  }
}

// ---- kernels ----

__global__ void multistage_kernel(GemmProblem<float> p, bool a_col_major, bool vec_b) {
  using namespace ms;
  alignas(16) __shared__ float ast[kStages][BK][BM];  // A slabs, transposed
  alignas(16) __shared__ float bs[kStages][BK][BN];
  const int t = threadIdx.x, warp = t / 32, lane = t % 32;
  const int wm = warp / kWarpsN, wn = warp % kWarpsN, lr = lane / 8, lc = lane % 8;
  const int64_t i0 = int64_t(blockIdx.y) * BM, j0 = int64_t(blockIdx.x) * BN, slabs = (p.k + BK - 1) / BK;
  for (int64_t z = blockIdx.z; z < p.batch; z += gridDim.z) {
    float acc[kIters][TM][TN] = {};
    for (int s = 0; s < kStages - 1; ++s) {
      if (s < slabs) load_slab(ast[s], bs[s], p, a_col_major, vec_b, z, i0, j0, int64_t(s) * BK);
      __pipeline_commit();
    }
    for (int64_t kt = 0; kt < slabs; ++kt) {
      __pipeline_wait_prior(kStages - 2);
      __syncthreads();
      const int64_t next = kt + kStages - 1;
      if (next < slabs)
        load_slab(ast[next % kStages], bs[next % kStages], p, a_col_major, vec_b, z, i0, j0, next * BK);
      __pipeline_commit();
      const int s = static_cast<int>(kt % kStages);
      for (int kk = 0; kk < BK; ++kk) {
        float rb[TN];
        for (int c = 0; c < TN; ++c) rb[c] = bs[s][kk][wn * WN + lc * TN + c];
        for (int it = 0; it < kIters; ++it) {
          float ra[TM];
          for (int r = 0; r < TM; ++r) ra[r] = ast[s][kk][wm * WM + it * 32 + lr * TM + r];
          for (int r = 0; r < TM; ++r)
            for (int c = 0; c < TN; ++c) acc[it][r][c] += ra[r] * rb[c];
        }
      }
    }
    for (int it = 0; it < kIters; ++it)
      for (int r = 0; r < TM; ++r)
        for (int c = 0; c < TN; ++c) {
          const int64_t i = i0 + wm * WM + it * 32 + lr * TM + r, j = j0 + wn * WN + lc * TN + c;
          if (i < p.m && j < p.n) p.c[(z * p.m + i) * p.n + j] = acc[it][r][c];
        }
    __syncthreads();  // the next batch entry's prologue overwrites stages this one may still read
  }
}

}  // namespace

// ---- launchers ----

void sgemm_multistage(const GemmProblem<float>& p, void* stream) {
  using namespace ms;
  // A column-major A (unit stride along M) can be copied 4 rows at a time.
  const bool a_col_major = p.a_row == 1 && p.a_col % 4 == 0 && p.a_batch % 4 == 0 &&
                           reinterpret_cast<uintptr_t>(p.a) % 16 == 0;
  const dim3 grid(blocks_for(p.n, BN), blocks_for(p.m, BM), batch_blocks(p.batch));
  launch(multistage_kernel, grid, dim3(kThreads), 0, stream, p, a_col_major, b_vectorizable(p));
}

}  // namespace ember::kernels::cuda
