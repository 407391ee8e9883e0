// CPU convolution, forward and both backwards, as GEMMs whose operands are
// gathered straight from the images into the GEMM micro-kernel's packed
// layout (Note [Convolution as blocked implicit GEMM]).
//
// With K = (C_in/g)*kh*kw taps per output channel and L = out_h*out_w
// positions per image, group gi of the convolution is, over the whole batch
// (columns j = n*L + l),
//   y      (C_out/g, N*L) = W (C_out/g, K)  @ cols (K, N*L)        + bias
//   grad_x                = col2im( W^T (K, C_out/g) @ grad_y (C_out/g, N*L) )
//   grad_W (C_out/g, K)   = grad_y (C_out/g, N*L) @ cols^T (N*L, K)
// where cols = im2col(x) is never built whole. Layers with few input
// channels at stride 1 (LeNet's, the default CNN's first) take the direct
// kernel of conv_direct.cpp for the forward and the weight gradient instead.
//
// Note [Convolution as blocked implicit GEMM]
// The first version ran one GEMM per image through gemm(): im2col wrote the
// whole column matrix (14 MiB for the default CNN's second layer at batch
// 64), the GEMM copied it again into packed slivers, and each per-image
// product (64 x 196 x 288) was too small to fill the micro-kernel's tiles
// or both cores. It ran at 30-50 GFLOP/s where the same micro-kernel does
// 180 per core on a large matmul. Here the batch's N*L columns are cut into
// blocks of a few hundred columns. One task takes a block and:
//   1. gathers its slice of cols (or of grad_y) from the images straight
//      into the micro-kernel's packed layout (for_each_window_run moves whole
//      row runs), into a buffer sized to stay in L2;
//   2. runs the micro-kernel over it against W, packed once per call;
//   3. writes its tile buffer out: adding the bias into y, col2im-adding
//      into grad_x, or keeping a partial sum of grad_W.
// Tasks run side by side on the thread pool, each on one thread.
//
// Determinism (Note [Deterministic parallel kernels]): block sizes depend on
// the shapes only, never on the thread count. Each y element is one
// micro-kernel chain over K. grad_x's tasks own whole images, so no two
// threads add into one pixel, and a task adds in a fixed order. grad_W's
// tasks each sum a fixed run of blocks into their own partial buffer; the
// partials are added in task order, in double.
#include <algorithm>

#include "conv_direct.h"
#include "cpu_backend.h"
#include "gemm_kernels.h"
#include "loops.h"
#include "vec.h"
#include "window_runs.h"

namespace ember::kernels::cpu {

namespace {

// A packed operand of a block stays under this many values (256 KiB of
// floats, with room for the other operand in a 1 MiB L2), and a block spans
// at most kMaxBlock columns.
constexpr int64_t kBlockBudget = int64_t(1) << 16;
constexpr int64_t kMaxBlock = 512;
// grad_W: blocks summed into one partial buffer by one task, the shortest
// block, and the most partial-sum values all tasks may hold (64 MiB of floats).
constexpr int64_t kBlocksPerTask = 4;
constexpr int64_t kMinWeightBlock = 128;
constexpr int64_t kMaxPartialValues = int64_t(1) << 24;

int64_t round_up(int64_t a, int64_t b) { return (a + b - 1) / b * b; }

// The sizes every conv entry shares.
struct ConvShape {
  int64_t n, c_in, c_out, groups, cg_in, cg_out, k, l, plane;
  ConvShape(const Shape& x, const Shape& w, const WindowGeometry& g, int64_t groups_)
      : n(x[0]), c_in(x[1]), c_out(w[0]), groups(groups_), cg_in(x[1] / groups_), cg_out(w[0] / groups_),
        k(x[1] / groups_ * g.kh * g.kw), l(g.out_h * g.out_w), plane(g.h * g.w) {}
};

// Columns per block when a packed operand has `rows` rows: a multiple of
// nr, within the budget.
int64_t block_columns(int64_t rows, int nr) {
  return std::clamp<int64_t>(kBlockBudget / std::max<int64_t>(1, rows) / nr * nr, nr, kMaxBlock);
}

// Calls f(img, l0, l1, jj0) for every image that columns [j0, j1) of the
// batch touch: its positions [l0, l1), which start at column jj0 of the block.
template <typename F>
void for_each_image_in(int64_t j0, int64_t j1, int64_t l, F&& f) {
  for (int64_t img = j0 / l; img * l < j1; ++img) {
    const int64_t l0 = std::max(j0, img * l) - img * l, l1 = std::min(j1, (img + 1) * l) - img * l;
    f(img, l0, l1, img * l + l0 - j0);
  }
}

// Packs A (m x kk, element (i, p) at a[i*rsa + p*csa]) as the micro-kernel
// reads it: slivers of mr rows, each kk steps of mr values, rows past m 0.
template <typename T>
void pack_rows(T* dst, const T* a, int64_t rsa, int64_t csa, int64_t m, int64_t kk, int mr) {
  for (int64_t i0 = 0; i0 < m; i0 += mr) {
    T* d = dst + i0 * kk;
    const int64_t rows = std::min<int64_t>(mr, m - i0);
    if (rows < mr) std::fill(d, d + kk * mr, T(0));
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t p = 0; p < kk; ++p) d[p * mr + i] = a[(i0 + i) * rsa + p * csa];
  }
}

// C (mp x ncols, row stride rsc) = A_packed (mp x kk) @ B_packed (kk x ncols),
// plus C when `accumulate`: the micro-kernel over every tile, K in blocks of
// uk.kc (later blocks add on). B sliver s is kk x nr values at b + s*kk*nr.
template <typename T>
void multiply_packed(const MicroKernel<T>& uk, int64_t mp, int64_t ncols, int64_t kk, const T* a, const T* b, T* c,
                     int64_t rsc, bool accumulate) {
  const T one(1), zero(0);
  if (kk == 0 && !accumulate)  // an empty sum (no input channels): C = 0, which no micro-kernel call would write
    for (int64_t i = 0; i < mp; ++i) std::fill(c + i * rsc, c + i * rsc + ncols, zero);
  for (int64_t pc = 0; pc < kk; pc += uk.kc) {
    const int64_t kc = std::min<int64_t>(uk.kc, kk - pc);
    const T& beta = accumulate || pc > 0 ? one : zero;
    for (int64_t j = 0; j < ncols; j += uk.nr)  // one B sliver stays in L1 while every A sliver passes
      for (int64_t i = 0; i < mp; i += uk.mr)
        uk.run(kc, a + i * kk + pc * uk.mr, b + j * kk + pc * uk.nr, c + i * rsc + j, rsc, one, beta);
  }
}

// Copies len values read at src, src + stride, ... (zeros when src is null)
// to dst, dst + dstride, ...
template <typename T>
void copy_run(T* dst, int64_t dstride, const T* src, int64_t stride, int64_t len) {
  if (!src) {
    for (int64_t t = 0; t < len; ++t) dst[t * dstride] = T(0);
  } else if (stride == 1 && dstride == 1) {
    std::copy(src, src + len, dst);
  } else {
    for (int64_t t = 0; t < len; ++t) dst[t * dstride] = src[t * stride];
  }
}

}  // namespace

void CpuBackend::conv2d_forward(const ExecContext&, const TensorView& y, const TensorView& x,
                                const TensorView& weight, const OptionalView& bias, const WindowGeometry& g,
                                int64_t groups) {
  const ConvShape s(x.shape, weight.shape, g, groups);
  EMBER_DISPATCH_FLOATING(x.dtype, "conv2d", [&] {
    using T = scalar_t;
    if (direct_conv_applies(x.shape, weight.shape, g, groups))
      return direct_conv_forward(y.ptr<T>(), x.ptr<T>(), weight.ptr<T>(), bias ? bias->ptr<T>() : nullptr, s.n,
                                 s.c_in, s.c_out, g);
    const MicroKernel<T> uk = active_microkernel<T>();
    const int nr = uk.nr;
    const int64_t mp = round_up(s.cg_out, uk.mr), block = block_columns(s.k, nr);
    Scratch<T> a_pack(s.groups * mp * s.k);  // W, group by group
    for (int64_t gi = 0; gi < s.groups; ++gi)
      pack_rows(a_pack.data() + gi * mp * s.k, weight.ptr<T>() + gi * s.cg_out * s.k, s.k, 1, s.cg_out, s.k, uk.mr);
    const T* px = x.ptr<T>();
    T* py = y.ptr<T>();
    const T* pb = bias ? bias->ptr<T>() : nullptr;
    const int64_t columns = s.n * s.l, tasks = (columns + block - 1) / block;
    parallel_for(0, tasks * s.groups, 1, [&](int64_t t0, int64_t t1) {
      Scratch<T> b_pack(s.k * block), c_tile(mp * block);
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t gi = t % s.groups, j0 = t / s.groups * block, j1 = std::min(columns, j0 + block);
        const int64_t ncols = round_up(j1 - j0, nr);
        if (j1 - j0 < ncols) std::fill(b_pack.data() + (ncols - nr) * s.k, b_pack.data() + ncols * s.k, T(0));
        // cols[:, j0:j1] into slivers of nr columns: element (r, jj) at (jj/nr)*K*nr + r*nr + jj%nr.
        for_each_image_in(j0, j1, s.l, [&](int64_t img, int64_t l0, int64_t l1, int64_t jj0) {
          const T* xs = px + (img * s.c_in + gi * s.cg_in) * s.plane;
          for_each_window_run(g, s.cg_in, l0, l1, [&](int64_t r, int64_t l, int64_t len, int64_t off) {
            for (int64_t jj = jj0 + l - l0; len > 0;) {
              const int64_t o = jj % nr, take = std::min<int64_t>(len, nr - o);
              copy_run(b_pack.data() + (jj - o) * s.k + r * nr + o, 1, off < 0 ? nullptr : xs + off, g.sw, take);
              jj += take, len -= take, off = off < 0 ? off : off + take * g.sw;
            }
          });
        });
        multiply_packed(uk, mp, ncols, s.k, a_pack.data() + gi * mp * s.k, b_pack.data(), c_tile.data(), ncols, false);
        for_each_image_in(j0, j1, s.l, [&](int64_t img, int64_t l0, int64_t l1, int64_t jj0) {
          for (int64_t co = 0; co < s.cg_out; ++co) {
            const int64_t c = gi * s.cg_out + co;
            const T add = pb ? pb[c] : T(0);
            const T* src = c_tile.data() + co * ncols + jj0;
            T* dst = py + (img * s.c_out + c) * s.l + l0;
            for (int64_t i = 0; i < l1 - l0; ++i) dst[i] = src[i] + add;
          }
        });
      }
    });
  });
}

void CpuBackend::conv2d_backward_input(const ExecContext&, const TensorView& grad_x, const TensorView& grad_y,
                                       const TensorView& weight, const WindowGeometry& g, int64_t groups) {
  const ConvShape s(grad_x.shape, weight.shape, g, groups);
  EMBER_DISPATCH_FLOATING(grad_x.dtype, "conv2d_backward_input", [&] {
    using T = scalar_t;
    const MicroKernel<T> uk = active_microkernel<T>();
    const int nr = uk.nr;
    const int64_t kp = round_up(s.k, uk.mr), block = block_columns(std::max(s.k, s.cg_out), nr);
    // A task owns whole images (col2im adds into them): as many as fill a block.
    const int64_t per_task = std::max<int64_t>(1, block / s.l), tasks = (s.n + per_task - 1) / per_task;
    Scratch<T> a_pack(s.groups * kp * s.cg_out);  // W^T (K x C_out/g), group by group
    for (int64_t gi = 0; gi < s.groups; ++gi)
      pack_rows(a_pack.data() + gi * kp * s.cg_out, weight.ptr<T>() + gi * s.cg_out * s.k, 1, s.k, s.k, s.cg_out,
                uk.mr);
    const T* pgy = grad_y.ptr<T>();
    T* pgx = grad_x.ptr<T>();
    parallel_for(0, tasks, 1, [&](int64_t t0, int64_t t1) {
      Scratch<T> b_pack(s.cg_out * block), c_tile(kp * block);
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t n0 = t * per_task, n1 = std::min(s.n, n0 + per_task);
        std::fill(pgx + n0 * s.c_in * s.plane, pgx + n1 * s.c_in * s.plane, T(0));
        for (int64_t gi = 0; gi < s.groups; ++gi)
          for (int64_t j0 = n0 * s.l; j0 < n1 * s.l; j0 += block) {
            const int64_t j1 = std::min(n1 * s.l, j0 + block), ncols = round_up(j1 - j0, nr);
            if (j1 - j0 < ncols)
              std::fill(b_pack.data() + (ncols - nr) * s.cg_out, b_pack.data() + ncols * s.cg_out, T(0));
            // grad_y[:, j0:j1] into slivers, as the forward packs cols.
            for_each_image_in(j0, j1, s.l, [&](int64_t img, int64_t l0, int64_t l1, int64_t jj0) {
              for (int64_t co = 0; co < s.cg_out; ++co) {
                const T* src = pgy + (img * s.c_out + gi * s.cg_out + co) * s.l;
                for (int64_t jj = jj0, l = l0; l < l1;) {
                  const int64_t o = jj % nr, take = std::min<int64_t>(l1 - l, nr - o);
                  std::copy(src + l, src + l + take, b_pack.data() + (jj - o) * s.cg_out + co * nr + o);
                  jj += take, l += take;
                }
              }
            });
            multiply_packed(uk, kp, ncols, s.cg_out, a_pack.data() + gi * kp * s.cg_out, b_pack.data(),
                            c_tile.data(), ncols, false);
            // col2im: add each column's taps into the pixels they came from.
            for_each_image_in(j0, j1, s.l, [&](int64_t img, int64_t l0, int64_t l1, int64_t jj0) {
              T* gx = pgx + (img * s.c_in + gi * s.cg_in) * s.plane;
              for_each_window_run(g, s.cg_in, l0, l1, [&](int64_t r, int64_t l, int64_t len, int64_t off) {
                if (off < 0) return;  // the padding's share is dropped
                const T* src = c_tile.data() + r * ncols + jj0 + (l - l0);
                for (int64_t i = 0; i < len; ++i) gx[off + i * g.sw] += src[i];
              });
            });
          }
      }
    });
  });
}

// grad_W by the GEMM: the conv2d_backward_weight of any shape the direct
// kernel does not take.
template <typename T>
void gemm_weight_gradient(const TensorView& grad_weight, const TensorView& grad_y, const TensorView& x,
                          const ConvShape& s, const WindowGeometry& g) {
  const MicroKernel<T> uk = active_microkernel<T>();
  const int nr = uk.nr, mr = uk.mr;
  // grad_W (C_out/g x K) or its transpose, whichever fills the micro-kernel's
  // tiles better (Note [GEMM orientation]): the default CNN's first layer
  // (32 x 9) pads to 36 x 32 one way and 12 x 32 the other.
  const bool flip = round_up(s.k, mr) * round_up(s.cg_out, nr) < round_up(s.cg_out, mr) * round_up(s.k, nr);
  const int64_t rows = flip ? s.k : s.cg_out, cols = flip ? s.cg_out : s.k;
  const int64_t mp = round_up(rows, mr), np = round_up(cols, nr);
  // A block is the sum's length between two visits of the partial tile
  // (mp x np): at least kMinWeightBlock columns, or on a layer with a large
  // K (ResNet's 512 x 4608) the tile's traffic would outweigh the work. And
  // at most kMaxPartialValues in partial sums: fewer, longer tasks there.
  const int64_t wsize = mp * np;  // one partial sum of a group's grad_W (or its transpose), padded
  const int64_t block = std::max(kMinWeightBlock, block_columns(std::max(mp, np), mr)), columns = s.n * s.l;
  const int64_t max_tasks = std::max<int64_t>(4, kMaxPartialValues / std::max<int64_t>(1, wsize * s.groups));
  const int64_t span = round_up(std::max(block * kBlocksPerTask, (columns + max_tasks - 1) / max_tasks), block);
  const int64_t tasks = (columns + span - 1) / span;
  Scratch<T> partial(tasks * s.groups * wsize);
  const T* pgy = grad_y.ptr<T>();
  const T* px = x.ptr<T>();
  parallel_for(0, tasks * s.groups, 1, [&](int64_t t0, int64_t t1) {
    Scratch<T> a_pack(mp * block), b_pack(np * block);
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t gi = t % s.groups, first = t / s.groups * span;
      for (int64_t j0 = first; j0 < std::min(columns, first + span); j0 += block) {
        const int64_t j1 = std::min(columns, j0 + block), ncols = j1 - j0;  // the sum runs over these
        // Both operands hold rows of ncols values (grad_y's output channels,
        // cols' taps), packed for the sum over jj: element (row, jj) at
        // (row/lanes)*lanes*ncols + jj*lanes + row%lanes, lanes = mr for A, nr for B.
        if (rows < mp) std::fill(a_pack.data() + (mp - mr) * ncols, a_pack.data() + mp * ncols, T(0));
        if (cols < np) std::fill(b_pack.data() + (np - nr) * ncols, b_pack.data() + np * ncols, T(0));
        T* gy_pack = flip ? b_pack.data() : a_pack.data();
        T* cols_pack = flip ? a_pack.data() : b_pack.data();
        const int64_t gy_lanes = flip ? nr : mr, cols_lanes = flip ? mr : nr;
        for_each_image_in(j0, j1, s.l, [&](int64_t img, int64_t l0, int64_t l1, int64_t jj0) {
          for (int64_t co = 0; co < s.cg_out; ++co)
            copy_run(gy_pack + (co - co % gy_lanes) * ncols + jj0 * gy_lanes + co % gy_lanes, gy_lanes,
                     pgy + (img * s.c_out + gi * s.cg_out + co) * s.l + l0, 1, l1 - l0);
          const T* xs = px + (img * s.c_in + gi * s.cg_in) * s.plane;
          for_each_window_run(g, s.cg_in, l0, l1, [&](int64_t r, int64_t l, int64_t len, int64_t off) {
            copy_run(cols_pack + (r - r % cols_lanes) * ncols + (jj0 + l - l0) * cols_lanes + r % cols_lanes,
                     cols_lanes, off < 0 ? nullptr : xs + off, g.sw, len);
          });
        });
        multiply_packed(uk, mp, np, ncols, a_pack.data(), b_pack.data(), partial.data() + t * wsize, np,
                        j0 != first);
      }
    }
  });
  T* pgw = grad_weight.ptr<T>();
  parallel_for(0, s.c_out * s.k, kParallelGrain / std::max<int64_t>(1, tasks), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t c = i / s.k, gi = c / s.cg_out, co = c % s.cg_out, r = i % s.k;
      const int64_t at = flip ? r * np + co : co * np + r;
      double sum = 0;
      for (int64_t t = 0; t < tasks; ++t) sum += double(partial.data()[(t * s.groups + gi) * wsize + at]);
      pgw[i] = T(sum);
    }
  });
}

void CpuBackend::conv2d_backward_weight(const ExecContext&, const TensorView& grad_weight,
                                        const OptionalView& grad_bias, const TensorView& grad_y, const TensorView& x,
                                        const WindowGeometry& g, int64_t groups) {
  const ConvShape s(x.shape, grad_weight.shape, g, groups);
  EMBER_DISPATCH_FLOATING(x.dtype, "conv2d_backward_weight", [&] {
    using T = scalar_t;
    if (direct_conv_applies(x.shape, grad_weight.shape, g, groups))
      direct_conv_backward_weight(grad_weight.ptr<T>(), grad_y.ptr<T>(), x.ptr<T>(), s.n, s.c_in, s.c_out, g);
    else
      gemm_weight_gradient<T>(grad_weight, grad_y, x, s, g);
    if (grad_bias) {
      const T* pgy = grad_y.ptr<T>();
      T* pgb = grad_bias->ptr<T>();
      parallel_for(0, s.c_out, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(1, s.n * s.l)),
                   [&](int64_t c0, int64_t c1) {
                     for (int64_t c = c0; c < c1; ++c) {
                       vec::LaneSum sum;
                       for (int64_t img = 0; img < s.n; ++img) sum.add(pgy + (img * s.c_out + c) * s.l, s.l);
                       pgb[c] = T(sum.total());
                     }
                   });
    }
  });
}

}  // namespace ember::kernels::cpu
