// Ember's packed GEMM, BLIS-style: C = alpha * A * B + beta * C.
//
// A straight triple loop streams A and B from memory for every few FLOPs.
// This GEMM instead copies ("packs") blocks of A and B into small, contiguous
// buffers sized for the caches, in exactly the order a register-blocked
// micro-kernel (gemm_kernels.h) reads them, and then reuses each packed
// block many times. Five loops around the micro-kernel:
//
//   for jc in N, step NC:              B panel: columns jc..jc+NC
//     for pc in K, step KC:            pack B(pc:pc+KC, jc:jc+NC) into NR-wide slivers  [L3]
//       for ic in M, step MC:          (threads split this loop, or the jr loop)
//         pack A(ic:ic+MC, pc:pc+KC) into MR-tall slivers                            [L2]
//         for jr in NC, step NR:       one B sliver (KC x NR)                          [L1]
//           for ir in MC, step MR:     one A sliver (MR x KC)
//             micro-kernel: C(ir, jr) tile (MR x NR) += A sliver * B sliver   [registers]
//
// Note [GEMM blocking]
// The micro-kernel keeps an MR x NR tile of C in registers while it streams
// a KC-long sliver of A and of B; each call ends by reading and writing the
// C tile, which a longer KC spreads over more multiply-adds. The textbook
// choice keeps the B sliver in L1 (KC = 256: 256 x 32 floats = 32 KiB) and
// the A block (MC x KC) in L2. Measured on this project's 2-core AMD EPYC
// VM (AVX-512; EMBER_GEMM_BLOCKS, bench/results/cpu/blocking.md) a long KC
// won instead: the float kernels use KC = 1024 and MC = 96 (a 128 KiB B
// sliver and a 384 KiB A block, both in the 1 MiB L2), 10-18% faster than
// 256/240 at 1024^3 and 2048^3 - presumably because the L2 keeps up with the
// kernel's loads while the C tile traffic drops fourfold. The AVX2 float
// kernel follows the AVX-512 one so that the two give the same bits (the
// K blocks decide the rounding); the double kernels and the generic float
// kernel keep KC = 256. NC = 3072: the packed B panel (KC x min(N, NC)
// floats, 8 MiB for N = 2048) sits in L3 and is shared by the threads. The K loop is never split between threads and always runs
// in the same order, so every element of C gets the same sums, in the same
// order, at any thread count (Note [Deterministic parallel kernels]).
//
// Edges: packing pads the last slivers with zeros, and a tile that sticks
// out of C (or a C whose columns are not adjacent) is computed into a small
// temporary tile, copied in and out, with the same arithmetic.
#include "ember/kernels/gemm.h"

#include <Eigen/Core>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <string>
#include <type_traits>
#include <vector>

#include "ember/core/error.h"
#include "ember/core/parallel.h"
#include "ember/core/storage.h"
#include "gemm_kernels.h"
#include "loops.h"

namespace ember::kernels::cpu {

namespace {


// Packs rows [0, rows) x columns [0, kc) of A (a points at its first
// element) into one sliver: kc steps of mr values, rows >= `rows` as zeros.
template <typename T>
void pack_a_sliver(T* dst, const T* a, int64_t rsa, int64_t csa, int64_t rows, int64_t kc, int mr) {
  if (rows < mr) std::fill(dst, dst + kc * mr, T(0));
  if (csa == 1) {  // row-major A: read each row front to back
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t p = 0; p < kc; ++p) dst[p * mr + i] = a[i * rsa + p];
  } else {
    for (int64_t p = 0; p < kc; ++p)
      for (int64_t i = 0; i < rows; ++i) dst[p * mr + i] = a[i * rsa + p * csa];
  }
}

// Packs rows [0, kc) x columns [0, cols) of B into one sliver: kc steps of
// nr values, columns >= `cols` as zeros.
template <typename T>
void pack_b_sliver(T* dst, const T* b, int64_t rsb, int64_t csb, int64_t cols, int64_t kc, int nr) {
  if (cols < nr) std::fill(dst, dst + kc * nr, T(0));
  if (csb == 1) {  // row-major B: each step copies a contiguous piece of a row
    for (int64_t p = 0; p < kc; ++p) std::copy(b + p * rsb, b + p * rsb + cols, dst + p * nr);
  } else {
    for (int64_t j = 0; j < cols; ++j)
      for (int64_t p = 0; p < kc; ++p) dst[p * nr + j] = b[p * rsb + j * csb];
  }
}

constexpr int kMaxTile = 16 * 64;  // room for any kernel's mr x nr

// One MR x NR tile of C. A tile that lies inside a row-major C goes straight
// to the micro-kernel; an edge tile, or any tile of a C with csc != 1, goes
// through a temporary tile (C copied in unless beta == 0, then copied out).
template <typename T>
void compute_tile(const MicroKernel<T>& uk, int64_t kc, const T* ap, const T* bp, T* c, int64_t rsc, int64_t csc,
                  int64_t rows, int64_t cols, T alpha, T beta) {
  if (rows == uk.mr && cols == uk.nr && csc == 1) {
    uk.run(kc, ap, bp, c, rsc, alpha, beta);
    return;
  }
  alignas(64) T tile[kMaxTile];
  EMBER_ASSERT(uk.mr * uk.nr <= kMaxTile);
  std::fill(tile, tile + uk.mr * uk.nr, T(0));
  if (beta != 0)
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) tile[i * uk.nr + j] = c[i * rsc + j * csc];
  uk.run(kc, ap, bp, tile, uk.nr, alpha, beta);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) c[i * rsc + j * csc] = tile[i * uk.nr + j];
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Below this many multiply-adds (m * n * k) a GEMM runs on one thread: waking
// the pool costs more than it saves. Measured on this project's 2-core VM
// (bench/results/cpu/micro.md, 2 threads against 1): 128^3 (2.1M) and
// LeNet's fc1 (64 x 400 x 120, 3.1M) were slower on two threads, LeNet's
// conv1 GEMM (7.5M) twice as fast.
constexpr int64_t kParallelMinWork = int64_t(1) << 22;  // about 4.2M

template <typename T>
struct GemmArgs {
  int64_t m, n, k;
  T alpha;
  const T* a;
  int64_t rsa, csa;
  const T* b;
  int64_t rsb, csb;
  T beta;
  T* c;
  int64_t rsc, csc;
};

// C = beta * C (the whole product when k == 0 or alpha == 0).
template <typename T>
void scale_c(const GemmArgs<T>& g) {
  for (int64_t i = 0; i < g.m; ++i)
    for (int64_t j = 0; j < g.n; ++j) {
      T& cij = g.c[i * g.rsc + j * g.csc];
      cij = g.beta == 0 ? T(0) : g.beta * cij;
    }
}

// One thread's share of a (jc, pc) step: rows [r0, r1) of C (packed MC at a
// time into a_pack) times the column slivers [s0, s1) of the packed B panel.
template <typename T>
void multiply_band(const MicroKernel<T>& uk, const GemmArgs<T>& g, int64_t jc, int64_t pc, int64_t kc, T beta,
                   const T* b_pack, T* a_pack, int64_t r0, int64_t r1, int64_t s0, int64_t s1) {
  const int mr = uk.mr, nr = uk.nr;
  for (int64_t ic = r0; ic < r1; ic += uk.mc) {
    const int64_t mc = std::min<int64_t>(uk.mc, r1 - ic);
    const T* a = g.a + ic * g.rsa + pc * g.csa;
    for (int64_t ir = 0; ir < mc; ir += mr)
      pack_a_sliver(a_pack + ir * kc, a + ir * g.rsa, g.rsa, g.csa, std::min<int64_t>(mr, mc - ir), kc, mr);
    for (int64_t s = s0; s < s1; ++s) {  // jr loop: one B sliver stays in L1 ...
      const int64_t j = jc + s * nr, cols = std::min<int64_t>(nr, g.n - j);
      for (int64_t ir = 0; ir < mc; ir += mr)  // ... while the ir loop runs every A sliver past it
        compute_tile(uk, kc, a_pack + ir * kc, b_pack + s * kc * nr, g.c + (ic + ir) * g.rsc + j * g.csc, g.rsc,
                     g.csc, std::min<int64_t>(mr, mc - ir), cols, g.alpha, beta);
    }
  }
}

template <typename T>
void gemm_packed(const MicroKernel<T>& uk, const GemmArgs<T>& g) {
  if (g.m == 0 || g.n == 0) return;
  if (g.k == 0 || g.alpha == 0) return scale_c(g);
  const int mr = uk.mr, nr = uk.nr;
  EMBER_ASSERT(uk.mc % mr == 0 && uk.nc % nr == 0);  // so every tile sits on the global MR x NR grid
  const int64_t kc_max = std::min<int64_t>(uk.kc, g.k);
  const int64_t nc_max = std::min<int64_t>(uk.nc, ceil_div(g.n, nr) * nr);

  // How the threads share each (jc, pc) step: a grid of tm x tn work units,
  // tm bands of MR-row slivers by tn bands of NR-column slivers. Rows first
  // (each thread packs only its own rows of A); columns too when there are
  // too few rows to go round.
  const int64_t threads = g.m * g.n * g.k < kParallelMinWork || in_parallel_region() ? 1 : get_num_threads();
  const int64_t row_slivers = ceil_div(g.m, mr);
  const int64_t tm = std::min(threads, row_slivers);
  const int64_t tn = std::max<int64_t>(1, std::min(threads / tm, ceil_div(nc_max, nr)));

  Scratch<T> b_pack(kc_max * nc_max);  // from the caching allocator: reused GEMM to GEMM
  for (int64_t jc = 0; jc < g.n; jc += uk.nc) {
    const int64_t nc = std::min<int64_t>(uk.nc, g.n - jc), col_slivers = ceil_div(nc, nr);
    for (int64_t pc = 0; pc < g.k; pc += uk.kc) {
      const int64_t kc = std::min<int64_t>(uk.kc, g.k - pc);
      const T beta = pc == 0 ? g.beta : T(1);  // later K blocks add to what the first wrote
      // Pack the B panel, sliver by sliver, all threads helping.
      const T* b = g.b + pc * g.rsb + jc * g.csb;
      parallel_for(0, col_slivers, threads > 1 ? 1 : col_slivers, [&](int64_t s0, int64_t s1) {
        for (int64_t s = s0; s < s1; ++s)
          pack_b_sliver(b_pack.data() + s * kc * nr, b + s * nr * g.csb, g.rsb, g.csb,
                        std::min<int64_t>(nr, nc - s * nr), kc, nr);
      });
      // Then each work unit multiplies its band.
      parallel_for(0, tm * tn, 1, [&](int64_t u0, int64_t u1) {
        Scratch<T> a_pack(int64_t(uk.mc) * kc);
        for (int64_t u = u0; u < u1; ++u) {
          const int64_t ti = u / tn, tj = u % tn;
          const int64_t r0 = row_slivers * ti / tm * mr, r1 = std::min(g.m, row_slivers * (ti + 1) / tm * mr);
          multiply_band(uk, g, jc, pc, kc, beta, b_pack.data(), a_pack.data(), r0, r1, col_slivers * tj / tn,
                        col_slivers * (tj + 1) / tn);
        }
      });
    }
  }
}

// ---- choosing the implementation and the micro-kernel ----

GemmIsa best_isa() {
#if defined(__x86_64__) || defined(__i386__)
  if (__builtin_cpu_supports("avx512f")) return GemmIsa::Avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return GemmIsa::Avx2;
#endif
  return GemmIsa::Generic;
}

std::atomic<GemmIsa>& isa_setting() {
  static std::atomic<GemmIsa> isa{best_isa()};
  return isa;
}

// EMBER_GEMM_BLOCKS=MC,KC,NC replaces every kernel's cache blocks (Note
// [GEMM blocking]): a knob for tuning on a new CPU without rebuilding, e.g.
// EMBER_GEMM_BLOCKS=240,128,3072 ember-bench --device cpu --filter matmul.
// {0, 0, 0}: not set. Read once.
const std::array<int64_t, 3>& blocks_override() {
  static const std::array<int64_t, 3> blocks = [] {
    std::array<int64_t, 3> b{0, 0, 0};
    const char* env = std::getenv("EMBER_GEMM_BLOCKS");
    if (!env || !*env) return b;
    const char* p = env;
    for (int i = 0; i < 3; ++i) {
      char* end = nullptr;
      b[i] = std::strtoll(p, &end, 10);
      EMBER_CHECK(end != p && b[i] > 0 && b[i] <= (1 << 20) && *end == (i < 2 ? ',' : '\0'), ValueError,
                  "EMBER_GEMM_BLOCKS=", env, ": expected three positive integers MC,KC,NC (e.g. 240,256,3072)");
      p = end + 1;
    }
    EMBER_CHECK(b[0] * b[1] <= (int64_t(1) << 26) && b[1] * b[2] <= (int64_t(1) << 26), ValueError,
                "EMBER_GEMM_BLOCKS=", env, ": the packed blocks MC x KC and KC x NC must each stay under 2^26 values");
    return b;
  }();
  return blocks;
}

template <typename T>
MicroKernel<T> kernel_for(GemmIsa isa) {
  MicroKernel<T> uk;
  if constexpr (std::is_same_v<T, float>) {
    uk = isa == GemmIsa::Avx512 ? avx512_kernel_f32() : isa == GemmIsa::Avx2 ? avx2_kernel_f32() : generic_kernel_f32();
  } else {
    uk = isa == GemmIsa::Avx512 ? avx512_kernel_f64() : isa == GemmIsa::Avx2 ? avx2_kernel_f64() : generic_kernel_f64();
  }
  if (const auto& b = blocks_override(); b[0] > 0) {
    EMBER_CHECK(b[0] % uk.mr == 0 && b[2] % uk.nr == 0, ValueError, "EMBER_GEMM_BLOCKS: MC (", b[0],
                ") must be a multiple of MR (", uk.mr, ") and NC (", b[2], ") of NR (", uk.nr, ") for the ",
                gemm_isa_name(isa), " kernel");
    uk.mc = static_cast<int>(b[0]);
    uk.kc = static_cast<int>(b[1]);
    uk.nc = static_cast<int>(b[2]);
  }
  return uk;
}

}  // namespace

template <typename T>
MicroKernel<T> active_microkernel() {
  return kernel_for<T>(gemm_isa());
}
template MicroKernel<float> active_microkernel<float>();
template MicroKernel<double> active_microkernel<double>();

// Note [GEMM orientation]
// C = A B and C^T = B^T A^T are the same products: the transposed problem
// reads A as its B and B as its A, and writes C with its strides swapped,
// all free with strided views. The micro-kernel pads every tile to MR x NR
// (12 x 32 for AVX-512 floats), so a thin C wastes most of it one way and
// little the other: LeNet's fc3 (64 x 10) fills 10 of 32 columns, while its
// transpose (10 x 64) fills 10 of 12 rows and every column; its GEMM does a
// third of the arithmetic. So the orientation with the smaller padded area
// is taken, for products small enough to run on one thread
// (kParallelMinWork). Not above: the transposed C's columns are not
// adjacent, so every tile goes through compute_tile's copy, and on a large
// thin product that costs more than the padding saved (LeNet's conv1 GEMM,
// 50176 x 25 x 6, went from 0.73 to 1.2 ms; bench/results/ember-bench/
// optimisation-notes.md). Each C entry is still one FMA chain over K in the same order
// (the K loop is never split, Note [Deterministic parallel kernels]), and
// FMA's product is commutative: the bits are the same either way.
template <typename T>
void gemm(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t rsa, int64_t csa, const T* b, int64_t rsb,
          int64_t csb, T beta, T* c, int64_t rsc, int64_t csc) {
  const MicroKernel<T> uk = kernel_for<T>(gemm_isa());
  auto padded = [&](int64_t rows, int64_t cols) { return ceil_div(rows, uk.mr) * uk.mr * ceil_div(cols, uk.nr) * uk.nr; };
  if (m * n * k < kParallelMinWork && padded(n, m) < padded(m, n))
    return gemm_packed(uk, GemmArgs<T>{n, m, k, alpha, b, csb, rsb, a, csa, rsa, beta, c, csc, rsc});
  gemm_packed(uk, GemmArgs<T>{m, n, k, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc});
}

template <typename T>
void gemm_eigen(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t rsa, int64_t csa, const T* b,
                int64_t rsb, int64_t csb, T beta, T* c, int64_t rsc, int64_t csc) {
  if (m == 0 || n == 0) return;
  if (k == 0 || alpha == 0) return scale_c(GemmArgs<T>{m, n, k, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc});
  // Eigen's fast product needs adjacent columns (with a dynamic inner stride
  // it takes a much slower path), so other layouts are copied first: this
  // is the reference, and row-major inputs, the backend's case, copy nothing.
  auto row_major = [](const T* p, int64_t rows, int64_t cols, int64_t rs, int64_t cs, std::vector<T>& copy) {
    if (cs == 1) return p;
    copy.resize(rows * cols);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) copy[i * cols + j] = p[i * rs + j * cs];
    return static_cast<const T*>(copy.data());
  };
  std::vector<T> a_copy, b_copy, c_copy;
  const T* ad = row_major(a, m, k, rsa, csa, a_copy);
  const T* bd = row_major(b, k, n, rsb, csb, b_copy);
  T* cd = csc == 1 ? c : const_cast<T*>(row_major(c, m, n, rsc, csc, c_copy));
  using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Stride = Eigen::OuterStride<>;  // the row stride
  Eigen::Map<const Matrix, 0, Stride> A(ad, m, k, Stride(csa == 1 ? rsa : k)), B(bd, k, n, Stride(csb == 1 ? rsb : n));
  Eigen::Map<Matrix, 0, Stride> C(cd, m, n, Stride(csc == 1 ? rsc : n));
  if (beta == 0) {
    C.noalias() = alpha * (A * B);
  } else {
    C *= beta;
    C.noalias() += alpha * (A * B);
  }
  if (csc != 1)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) c[i * rsc + j * csc] = cd[i * n + j];
}

#define EMBER_INSTANTIATE_GEMM(T)                                                                                     \
  template void gemm<T>(int64_t, int64_t, int64_t, T, const T*, int64_t, int64_t, const T*, int64_t, int64_t, T, T*, \
                        int64_t, int64_t);                                                                            \
  template void gemm_eigen<T>(int64_t, int64_t, int64_t, T, const T*, int64_t, int64_t, const T*, int64_t, int64_t, \
                              T, T*, int64_t, int64_t);
EMBER_INSTANTIATE_GEMM(float)
EMBER_INSTANTIATE_GEMM(double)
#undef EMBER_INSTANTIATE_GEMM


bool gemm_isa_supported(GemmIsa isa) {
  switch (best_isa()) {
    case GemmIsa::Avx512: return true;  // AVX-512 CPUs have AVX2 and FMA too
    case GemmIsa::Avx2: return isa != GemmIsa::Avx512;
    case GemmIsa::Generic: return isa == GemmIsa::Generic;
  }
  return false;
}

void set_gemm_isa(GemmIsa isa) {
  EMBER_CHECK(gemm_isa_supported(isa), ValueError, "set_gemm_isa: this CPU does not support ", gemm_isa_name(isa));
  isa_setting() = isa;
}
GemmIsa gemm_isa() { return isa_setting(); }

const char* gemm_isa_name(GemmIsa isa) {
  switch (isa) {
    case GemmIsa::Avx512: return "AVX-512";
    case GemmIsa::Avx2: return "AVX2";
    case GemmIsa::Generic: return "generic";
  }
  return "?";
}

}  // namespace ember::kernels::cpu
