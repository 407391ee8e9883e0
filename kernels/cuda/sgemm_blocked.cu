// The register-blocked rungs of the SGEMM ladder (Note [SGEMM ladder] in
// gemm.h): reg_tiled_1d, reg_tiled_2d, vec4 and warp_tiled. Each block
// computes a BM x BN tile of C, walking K in slabs of BK: the block loads an
// A slab (BM x BK) and a B slab (BK x BN) into shared memory, waits, then
// every thread accumulates its own small tile of C in registers, and waits
// again before the next slab overwrites the shared tiles.
// Note [Kernels then launchers] in device.h.
#include "gemm.h"

namespace ember::kernels::cuda {

namespace {

// ---- kernels ----

// reg_tiled_1d: a 64 x 64 tile, BK = 8, 512 threads. Thread t owns column
// t % 64 and the 8 rows from 8 * (t / 64): per step of the slab it reads one
// value of B into a register and uses it 8 times.
namespace r1 {
constexpr int BM = 64, BN = 64, BK = 8, TM = 8, kThreads = BM * BN / TM;
}

__global__ void reg_tiled_1d_kernel(GemmProblem<float> p) {
  using namespace r1;
  __shared__ float as[BM][BK];
  __shared__ float bs[BK][BN];
  const int t = threadIdx.x, col = t % BN, row0 = t / BN * TM;
  const int64_t i0 = int64_t(blockIdx.y) * BM, j0 = int64_t(blockIdx.x) * BN;
  for (int64_t z = blockIdx.z; z < p.batch; z += gridDim.z) {
    float acc[TM] = {};
    for (int64_t k0 = 0; k0 < p.k; k0 += BK) {
      as[t / BK][t % BK] = load_a(p, z, i0 + t / BK, k0 + t % BK);  // BM * BK == kThreads
      bs[t / BN][t % BN] = load_b(p, z, k0 + t / BN, j0 + t % BN);  // BK * BN == kThreads
      __syncthreads();
      for (int kk = 0; kk < BK; ++kk) {
        const float b = bs[kk][col];
        for (int r = 0; r < TM; ++r) acc[r] += as[row0 + r][kk] * b;
      }
      __syncthreads();
    }
    for (int r = 0; r < TM; ++r) {
      const int64_t i = i0 + row0 + r, j = j0 + col;
      if (i < p.m && j < p.n) p.c[(z * p.m + i) * p.n + j] = acc[r];
    }
  }
}

// reg_tiled_2d and vec4: a 128 x 128 tile, BK = 8, 256 threads arranged
// 16 x 16, each computing an 8 x 8 tile of C as BK outer products of 8
// values of A and 8 of B held in registers.
namespace r2 {
constexpr int BM = 128, BN = 128, BK = 8, TM = 8, TN = 8, kThreads = (BM / TM) * (BN / TN);
}

// The A slab is stored transposed, ast[k][row], so that the inner loop
// reads both slabs along their rows. `vec` false: each thread loads 4
// elements of each slab one by one. `vec` true (the vec4 rung): one float4
// of A along K and one of B along N per thread (gemm.h's load4_*).
template <bool vec>
__global__ void reg_tiled_2d_kernel(GemmProblem<float> p, bool vec_a, bool vec_b) {
  using namespace r2;
  __shared__ float ast[BK][BM];  // A slab, transposed
  __shared__ float bs[BK][BN];
  const int t = threadIdx.x, trow = t / (BN / TN), tcol = t % (BN / TN);
  const int64_t i0 = int64_t(blockIdx.y) * BM, j0 = int64_t(blockIdx.x) * BN;
  for (int64_t z = blockIdx.z; z < p.batch; z += gridDim.z) {
    float acc[TM][TN] = {};
    for (int64_t k0 = 0; k0 < p.k; k0 += BK) {
      if constexpr (vec) {  // BM * BK / 4 == BK * BN / 4 == kThreads
        const int ar = t / (BK / 4), ak = t % (BK / 4) * 4;
        const float4 va = load4_a(p, vec_a, z, i0 + ar, k0 + ak);
        ast[ak][ar] = va.x, ast[ak + 1][ar] = va.y, ast[ak + 2][ar] = va.z, ast[ak + 3][ar] = va.w;
        const int bk = t / (BN / 4), bj = t % (BN / 4) * 4;
        const float4 vb = load4_b(p, vec_b, z, k0 + bk, j0 + bj);
        bs[bk][bj] = vb.x, bs[bk][bj + 1] = vb.y, bs[bk][bj + 2] = vb.z, bs[bk][bj + 3] = vb.w;
      } else {
        for (int l = t; l < BM * BK; l += kThreads) ast[l % BK][l / BK] = load_a(p, z, i0 + l / BK, k0 + l % BK);
        for (int l = t; l < BK * BN; l += kThreads) bs[l / BN][l % BN] = load_b(p, z, k0 + l / BN, j0 + l % BN);
      }
      __syncthreads();
      for (int kk = 0; kk < BK; ++kk) {
        float ra[TM], rb[TN];
        for (int r = 0; r < TM; ++r) ra[r] = ast[kk][trow * TM + r];
        for (int c = 0; c < TN; ++c) rb[c] = bs[kk][tcol * TN + c];
        for (int r = 0; r < TM; ++r)
          for (int c = 0; c < TN; ++c) acc[r][c] += ra[r] * rb[c];
      }
      __syncthreads();
    }
    for (int r = 0; r < TM; ++r)
      for (int c = 0; c < TN; ++c) {
        const int64_t i = i0 + trow * TM + r, j = j0 + tcol * TN + c;
        if (i < p.m && j < p.n) p.c[(z * p.m + i) * p.n + j] = acc[r][c];
      }
  }
}

// warp_tiled: a 128 x 128 tile, BK = 16, 256 threads = 8 warps arranged
// 2 x 4, each owning a 64 x 32 warp tile. A warp's 32 lanes are arranged
// 4 x 8; a lane computes two 8 x 4 sub-tiles, 32 rows apart:
//
//   rows  wm * 64 + it * 32 + lr * 8 + r   (it < 2, r < 8)
//   cols  wn * 32 + lc * 4 + c             (c < 4)
//
// so at each k the warp reads 64 consecutive values of the A slab and 32 of
// the B slab: a compact footprint in shared memory per warp, where the
// 16 x 16 thread grid of reg_tiled_2d spreads each warp over the whole tile.
namespace wt {
constexpr int BM = 128, BN = 128, BK = 16, WM = 64, WN = 32, TM = 8, TN = 4, kIters = 2;
constexpr int kWarpsN = BN / WN, kThreads = (BM / WM) * kWarpsN * 32;
}

__global__ void warp_tiled_kernel(GemmProblem<float> p, bool vec_a, bool vec_b) {
  using namespace wt;
  __shared__ float ast[BK][BM];  // A slab, transposed
  __shared__ float bs[BK][BN];
  const int t = threadIdx.x, warp = t / 32, lane = t % 32;
  const int wm = warp / kWarpsN, wn = warp % kWarpsN, lr = lane / 8, lc = lane % 8;
  const int64_t i0 = int64_t(blockIdx.y) * BM, j0 = int64_t(blockIdx.x) * BN;
  for (int64_t z = blockIdx.z; z < p.batch; z += gridDim.z) {
    float acc[kIters][TM][TN] = {};
    for (int64_t k0 = 0; k0 < p.k; k0 += BK) {
      for (int l = t; l < BM * BK / 4; l += kThreads) {  // 2 float4 of A per thread
        const int ar = l / (BK / 4), ak = l % (BK / 4) * 4;
        const float4 v = load4_a(p, vec_a, z, i0 + ar, k0 + ak);
        ast[ak][ar] = v.x, ast[ak + 1][ar] = v.y, ast[ak + 2][ar] = v.z, ast[ak + 3][ar] = v.w;
      }
      for (int l = t; l < BK * BN / 4; l += kThreads) {  // and 2 of B
        const int bk = l / (BN / 4), bj = l % (BN / 4) * 4;
        const float4 v = load4_b(p, vec_b, z, k0 + bk, j0 + bj);
        bs[bk][bj] = v.x, bs[bk][bj + 1] = v.y, bs[bk][bj + 2] = v.z, bs[bk][bj + 3] = v.w;
      }
      __syncthreads();
      for (int kk = 0; kk < BK; ++kk) {
        float rb[TN];
        for (int c = 0; c < TN; ++c) rb[c] = bs[kk][wn * WN + lc * TN + c];
        for (int it = 0; it < kIters; ++it) {
          float ra[TM];
          for (int r = 0; r < TM; ++r) ra[r] = ast[kk][wm * WM + it * 32 + lr * TM + r];
          for (int r = 0; r < TM; ++r)
            for (int c = 0; c < TN; ++c) acc[it][r][c] += ra[r] * rb[c];
        }
      }
      __syncthreads();
    }
    for (int it = 0; it < kIters; ++it)
      for (int r = 0; r < TM; ++r)
        for (int c = 0; c < TN; ++c) {
          const int64_t i = i0 + wm * WM + it * 32 + lr * TM + r, j = j0 + wn * WN + lc * TN + c;
          if (i < p.m && j < p.n) p.c[(z * p.m + i) * p.n + j] = acc[it][r][c];
        }
  }
}

}  // namespace

// ---- launchers ----

void sgemm_reg_tiled_1d(const GemmProblem<float>& p, void* stream) {
  using namespace r1;
  const dim3 grid(blocks_for(p.n, BN), blocks_for(p.m, BM), batch_blocks(p.batch));
  launch(reg_tiled_1d_kernel, grid, dim3(kThreads), 0, stream, p);
}

void sgemm_reg_tiled_2d(const GemmProblem<float>& p, void* stream) {
  using namespace r2;
  const dim3 grid(blocks_for(p.n, BN), blocks_for(p.m, BM), batch_blocks(p.batch));
  launch(reg_tiled_2d_kernel<false>, grid, dim3(kThreads), 0, stream, p, false, false);
}

void sgemm_vec4(const GemmProblem<float>& p, void* stream) {
  using namespace r2;
  const dim3 grid(blocks_for(p.n, BN), blocks_for(p.m, BM), batch_blocks(p.batch));
  launch(reg_tiled_2d_kernel<true>, grid, dim3(kThreads), 0, stream, p, a_vectorizable(p), b_vectorizable(p));
}

void sgemm_warp_tiled(const GemmProblem<float>& p, void* stream) {
  using namespace wt;
  const dim3 grid(blocks_for(p.n, BN), blocks_for(p.m, BM), batch_blocks(p.batch));
  launch(warp_tiled_kernel, grid, dim3(kThreads), 0, stream, p, a_vectorizable(p), b_vectorizable(p));
}

}  // namespace ember::kernels::cuda
