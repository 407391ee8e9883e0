// The first rungs of the SGEMM ladder (Note [SGEMM ladder] in gemm.h):
// naive, coalesced and smem_tiled. smem_tiled's kernel, templated on the
// element type, also serves float64 and the integer types.
// Note [Kernels then launchers] in device.h.
#include "gemm.h"

namespace ember::kernels::cuda {

namespace {

// ---- kernels ----

// Blocks of 32 x 8 threads, one thread per element of C.
constexpr int kSimpleX = 32, kSimpleY = 8;

// naive: threadIdx.x runs down a column of C (i), so the 32 threads of a
// warp read A at 32 different rows and write C 32 rows apart: every access
// is its own memory transaction.
__global__ void naive_kernel(GemmProblem<float> p) {
  const int64_t i = int64_t(blockIdx.x) * kSimpleX + threadIdx.x;
  const int64_t j = int64_t(blockIdx.y) * kSimpleY + threadIdx.y;
  for (int64_t z = blockIdx.z; z < p.batch; z += gridDim.z) {
    if (i >= p.m || j >= p.n) continue;
    float acc = 0.0f;
    for (int64_t kk = 0; kk < p.k; ++kk) acc += load_a(p, z, i, kk) * load_b(p, z, kk, j);
    p.c[(z * p.m + i) * p.n + j] = acc;
  }
}

// coalesced: threadIdx.x runs along a row of C (j). A warp now reads one
// element of A (broadcast to all lanes) and 32 consecutive elements of B,
// and writes 32 consecutive elements of C.
__global__ void coalesced_kernel(GemmProblem<float> p) {
  const int64_t j = int64_t(blockIdx.x) * kSimpleX + threadIdx.x;
  const int64_t i = int64_t(blockIdx.y) * kSimpleY + threadIdx.y;
  for (int64_t z = blockIdx.z; z < p.batch; z += gridDim.z) {
    if (i >= p.m || j >= p.n) continue;
    float acc = 0.0f;
    for (int64_t kk = 0; kk < p.k; ++kk) acc += load_a(p, z, i, kk) * load_b(p, z, kk, j);
    p.c[(z * p.m + i) * p.n + j] = acc;
  }
}

// smem_tiled: a block of 32 x 32 threads computes a 32 x 32 tile of C. Along
// K it walks 32-wide slabs: all threads load one element of the A tile and
// one of the B tile into shared memory (zeros past the edges), wait, then
// each thread takes its dot product of length 32 from shared memory. Each
// element read from global memory is used by 32 threads. Float64 and the
// integer types use the same kernel with 16 x 16 tiles (gemm_tiled): they
// mostly multiply small matrices (gradient checks), where a quarter of the
// threads wastes less, on a GPU and above all on the emulator.
constexpr int kTile = 32, kSmallTile = 16;

template <typename T, int Tile>
__global__ void smem_tiled_kernel(GemmProblem<T> p) {
  __shared__ T as[Tile][Tile];
  __shared__ T bs[Tile][Tile + 1];  // +1: the column reads of bs fall in different banks
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t i = int64_t(blockIdx.y) * Tile + ty;
  const int64_t j = int64_t(blockIdx.x) * Tile + tx;
  for (int64_t z = blockIdx.z; z < p.batch; z += gridDim.z) {
    T acc = T(0);
    for (int64_t k0 = 0; k0 < p.k; k0 += Tile) {
      as[ty][tx] = load_a(p, z, i, k0 + tx);
      bs[ty][tx] = load_b(p, z, k0 + ty, j);
      __syncthreads();
      for (int kk = 0; kk < Tile; ++kk) acc += as[ty][kk] * bs[kk][tx];
      __syncthreads();  // the tiles are overwritten by the next slab
    }
    if (i < p.m && j < p.n) p.c[(z * p.m + i) * p.n + j] = acc;
  }
}

template <typename T, int Tile>
void launch_smem_tiled(const GemmProblem<T>& p, void* stream) {
  const dim3 grid(blocks_for(p.n, Tile), blocks_for(p.m, Tile), batch_blocks(p.batch));
  launch(smem_tiled_kernel<T, Tile>, grid, dim3(Tile, Tile), 0, stream, p);
}

}  // namespace

// ---- launchers ----

void sgemm_naive(const GemmProblem<float>& p, void* stream) {
  const dim3 grid(blocks_for(p.m, kSimpleX), blocks_for(p.n, kSimpleY), batch_blocks(p.batch));
  launch(naive_kernel, grid, dim3(kSimpleX, kSimpleY), 0, stream, p);
}

void sgemm_coalesced(const GemmProblem<float>& p, void* stream) {
  const dim3 grid(blocks_for(p.n, kSimpleX), blocks_for(p.m, kSimpleY), batch_blocks(p.batch));
  launch(coalesced_kernel, grid, dim3(kSimpleX, kSimpleY), 0, stream, p);
}

void sgemm_smem_tiled(const GemmProblem<float>& p, void* stream) { launch_smem_tiled<float, kTile>(p, stream); }
void gemm_tiled(const GemmProblem<double>& p, void* stream) { launch_smem_tiled<double, kSmallTile>(p, stream); }
void gemm_tiled(const GemmProblem<int64_t>& p, void* stream) { launch_smem_tiled<int64_t, kSmallTile>(p, stream); }
void gemm_tiled(const GemmProblem<uint8_t>& p, void* stream) { launch_smem_tiled<uint8_t, kSmallTile>(p, stream); }

}  // namespace ember::kernels::cuda
