// CUDA convolution, forward and both backwards, as implicit GEMMs: the
// GEMMs of the CPU's im2col + GEMM (kernels/cpu/conv.cpp), with the im2col
// matrix never written to memory. Its elements are computed where the tile
// loader reads them. Note [Kernels then launchers] in device.h.
//
// With K = (C_in/g) kh kw, L = out_h out_w, and for group gi of image n:
//   forward         y[n, gi]  (C_out/g, L)    = W[gi] (C_out/g, K) @ cols(x)[n, gi] (K, L)
//   backward-input  grad_x[n, gi] (C_in/g, H W) = W[gi]^T, rows (ci) by (co, i, j),
//                   @ grad_y gathered at the output positions each input
//                   position was read from (zero where none)
//   backward-weight grad_W[gi] (C_out/g, K)   = grad_y[., gi] (C_out/g, N L) @ cols(x)[., gi]^T (N L, K)
// Each runs one tiled kernel (smem_tiled's structure, gemm.h's Note [SGEMM
// ladder], with 16 x 16 tiles) whose A and B loads are the functions below.
// Every element of the result is one thread's sum in a fixed order: no
// atomics, the same bits on every run. The forward has a second kernel for
// few channels (Note [Direct convolution]). The bias gradient is one block per
// channel, a fixed tree.
#include <atomic>

#include "gemm.h"
#include "launchers.h"

namespace ember::kernels::cuda {

namespace {

struct ConvDims {
  int64_t n, c_in, c_out, groups, cg_in, cg_out, k, l;
  WindowGeometry g;
};

ConvDims dims_of(const TensorView& x, const TensorView& w, const WindowGeometry& g, int64_t groups) {
  return {x.shape[0], x.shape[1], w.shape[0], groups, x.shape[1] / groups, w.shape[0] / groups,
          x.shape[1] / groups * g.kh * g.kw, g.out_h * g.out_w, g};
}

// Element (r, l) of image n's im2col matrix for group gi: r = (ci, i, j),
// l = (oh, ow); zero in the padding.
template <typename T>
EMBER_DEVICE T col_at(const T* x, const ConvDims& d, int64_t n, int64_t gi, int64_t r, int64_t l) {
  const WindowGeometry& g = d.g;
  const int64_t ci = r / (g.kh * g.kw), i = r / g.kw % g.kh, j = r % g.kw;
  const int64_t ih = l / g.out_w * g.sh - g.ph + i * g.dh, iw = l % g.out_w * g.sw - g.pw + j * g.dw;
  if (ih < 0 || ih >= g.h || iw < 0 || iw >= g.w) return T(0);
  return x[((n * d.c_in + gi * d.cg_in + ci) * g.h + ih) * g.w + iw];
}

// The three problems: sizes, and A, B and the store. z numbers the
// independent GEMMs (images x groups, or groups).
template <typename T>
struct ConvForward {
  T* y;
  const T *x, *w, *bias;
  ConvDims d;
  EMBER_HD int64_t batch() const { return d.n * d.groups; }
  EMBER_HD int64_t m() const { return d.cg_out; }
  EMBER_HD int64_t n() const { return d.l; }
  EMBER_HD int64_t k() const { return d.k; }
  EMBER_DEVICE T a(int64_t z, int64_t co, int64_t r) const { return w[(z % d.groups * d.cg_out + co) * d.k + r]; }
  EMBER_DEVICE T b(int64_t z, int64_t r, int64_t l) const { return col_at(x, d, z / d.groups, z % d.groups, r, l); }
  EMBER_DEVICE void store(int64_t z, int64_t co, int64_t l, T v) const {
    const int64_t c = z % d.groups * d.cg_out + co;
    y[(z / d.groups * d.c_out + c) * d.l + l] = bias ? v + bias[c] : v;
  }
};

template <typename T>
struct ConvBackwardInput {
  T* gx;
  const T *gy, *w;
  ConvDims d;
  EMBER_HD int64_t batch() const { return d.n * d.groups; }
  EMBER_HD int64_t m() const { return d.cg_in; }
  EMBER_HD int64_t n() const { return d.g.h * d.g.w; }
  EMBER_HD int64_t k() const { return d.cg_out * d.g.kh * d.g.kw; }
  // W[gi] as (ci) x (co, i, j).
  EMBER_DEVICE T a(int64_t z, int64_t ci, int64_t r) const {
    const int64_t win = d.g.kh * d.g.kw, co = r / win;
    return w[((z % d.groups * d.cg_out + co) * d.cg_in + ci) * win + r % win];
  }
  // grad_y at the output position whose window put tap (i, j) on input
  // position p, if there is one.
  EMBER_DEVICE T b(int64_t z, int64_t r, int64_t p) const {
    const WindowGeometry& g = d.g;
    const int64_t win = g.kh * g.kw, co = r / win, i = r % win / g.kw, j = r % g.kw;
    const int64_t th = p / g.w + g.ph - i * g.dh, tw = p % g.w + g.pw - j * g.dw;
    if (th < 0 || tw < 0 || th % g.sh != 0 || tw % g.sw != 0) return T(0);
    const int64_t oh = th / g.sh, ow = tw / g.sw;
    if (oh >= g.out_h || ow >= g.out_w) return T(0);
    return gy[((z / d.groups * d.c_out + z % d.groups * d.cg_out + co) * g.out_h + oh) * g.out_w + ow];
  }
  EMBER_DEVICE void store(int64_t z, int64_t ci, int64_t p, T v) const {
    gx[(z / d.groups * d.c_in + z % d.groups * d.cg_in + ci) * (d.g.h * d.g.w) + p] = v;
  }
};

template <typename T>
struct ConvBackwardWeight {
  T* gw;
  const T *gy, *x;
  ConvDims d;
  EMBER_HD int64_t batch() const { return d.groups; }
  EMBER_HD int64_t m() const { return d.cg_out; }
  EMBER_HD int64_t n() const { return d.k; }
  EMBER_HD int64_t k() const { return d.n * d.l; }
  EMBER_DEVICE T a(int64_t gi, int64_t co, int64_t q) const {  // q = (image, position)
    return gy[(q / d.l * d.c_out + gi * d.cg_out + co) * d.l + q % d.l];
  }
  EMBER_DEVICE T b(int64_t gi, int64_t q, int64_t r) const { return col_at(x, d, q / d.l, gi, r, q % d.l); }
  EMBER_DEVICE void store(int64_t gi, int64_t co, int64_t r, T v) const { gw[(gi * d.cg_out + co) * d.k + r] = v; }
};

// ---- kernels ----

constexpr int kConvTile = 16;

// A block of 16 x 16 threads computes a 16 x 16 tile of problem z's result,
// walking K in slabs of 16 through shared memory (as smem_tiled does), the
// loads computing the implicit matrices' elements.
template <typename T, typename Problem>
__global__ void implicit_gemm_kernel(Problem p) {
  __shared__ T as[kConvTile][kConvTile];
  __shared__ T bs[kConvTile][kConvTile + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t i = int64_t(blockIdx.y) * kConvTile + ty, j = int64_t(blockIdx.x) * kConvTile + tx;
  const int64_t m = p.m(), n = p.n(), k = p.k();
  for (int64_t z = blockIdx.z; z < p.batch(); z += gridDim.z) {
    T acc = T(0);
    for (int64_t k0 = 0; k0 < k; k0 += kConvTile) {
      as[ty][tx] = i < m && k0 + tx < k ? p.a(z, i, k0 + tx) : T(0);
      bs[ty][tx] = k0 + ty < k && j < n ? p.b(z, k0 + ty, j) : T(0);
      __syncthreads();
      for (int kk = 0; kk < kConvTile; ++kk) acc += as[ty][kk] * bs[kk][tx];
      __syncthreads();
    }
    if (i < m && j < n) p.store(z, i, j, acc);
  }
}

// grad_bias[c] = the sum of grad_y over images and positions: one block per
// channel, each thread a strided part in order, then a fixed tree.
template <typename T>
__global__ void bias_grad_kernel(T* gb, const T* gy, int64_t n, int64_t c_out, int64_t l) {
  __shared__ T partial[256];
  for (int64_t c = blockIdx.x; c < c_out; c += gridDim.x) {
    T acc = T(0);
    for (int64_t q = threadIdx.x; q < n * l; q += blockDim.x) acc += gy[(q / l * c_out + c) * l + q % l];
    partial[threadIdx.x] = acc;
    __syncthreads();
    for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
      if (int(threadIdx.x) < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
      __syncthreads();
    }
    // No barrier before the next channel: after the tree only thread 0
    // reads partial[0], and no other thread writes it.
    if (threadIdx.x == 0) gb[c] = partial[0];
  }
}

// im2col: one thread per element of cols (N, C kh kw, L).
template <typename T>
__global__ void im2col_kernel(T* cols, const T* x, ConvDims d, int64_t total) {
  EMBER_GRID_STRIDE_LOOP(e, total) {
    const int64_t l = e % d.l, r = e / d.l % d.k, n = e / (d.l * d.k);
    cols[e] = col_at(x, d, n, 0, r, l);
  }
}

// col2im, its adjoint: one thread per element of x, summing in a fixed
// order the column entries read from it (no atomics).
template <typename T>
__global__ void col2im_kernel(T* x, const T* cols, ConvDims d, int64_t total) {
  const WindowGeometry& g = d.g;
  EMBER_GRID_STRIDE_LOOP(e, total) {
    const int64_t iw = e % g.w, ih = e / g.w % g.h, c = e / (g.w * g.h) % d.c_in, n = e / (g.w * g.h * d.c_in);
    T acc = T(0);
    for (int64_t i = 0; i < g.kh; ++i) {
      const int64_t th = ih + g.ph - i * g.dh;
      if (th < 0 || th % g.sh != 0 || th / g.sh >= g.out_h) continue;
      for (int64_t j = 0; j < g.kw; ++j) {
        const int64_t tw = iw + g.pw - j * g.dw;
        if (tw < 0 || tw % g.sw != 0 || tw / g.sw >= g.out_w) continue;
        acc += cols[(n * d.k + (c * g.kh + i) * g.kw + j) * d.l + th / g.sh * g.out_w + tw / g.sw];
      }
    }
    x[e] = acc;
  }
}

// Note [Direct convolution]
// Where channels are few, the implicit GEMM's 16 x 16 tiles are mostly
// empty: LeNet's first layer is a (6 x 25) @ (25 x 784) product per image,
// so 10 of a tile's 16 rows hold no output channel, and the default CNN's
// first layer has K = 9 of a 16-deep slab. The direct kernel gives each
// thread one output element y[n, c, oh, ow] (consecutive threads along ow,
// so the loads of x and the store of y are coalesced) and sums its window's
// taps in (ci, i, j) order: the GEMM's order, with a zero where the
// window meets the padding, so the two paths agree to rounding (the GEMM
// may contract differently) and a NaN weight propagates the same way.
template <typename T>
__global__ void conv_direct_kernel(T* y, const T* x, const T* w, const T* bias, ConvDims d, int64_t total) {
  const WindowGeometry& g = d.g;
  EMBER_GRID_STRIDE_LOOP(e, total) {
    const int64_t l = e % d.l, c = e / d.l % d.c_out, n = e / (d.l * d.c_out);
    const int64_t oh = l / g.out_w, ow = l % g.out_w;
    const T* wc = w + c * d.k;
    const T* xg = x + (n * d.c_in + c / d.cg_out * d.cg_in) * g.h * g.w;
    T acc = T(0);
    for (int64_t ci = 0; ci < d.cg_in; ++ci)
      for (int64_t i = 0; i < g.kh; ++i) {
        const int64_t ih = oh * g.sh - g.ph + i * g.dh;
        for (int64_t j = 0; j < g.kw; ++j) {
          const int64_t iw = ow * g.sw - g.pw + j * g.dw;
          const T xv = ih >= 0 && ih < g.h && iw >= 0 && iw < g.w ? xg[(ci * g.h + ih) * g.w + iw] : T(0);
          acc += wc[(ci * g.kh + i) * g.kw + j] * xv;
        }
      }
    y[e] = bias ? acc + bias[c] : acc;
  }
}

template <typename T, typename Problem>
void run_implicit_gemm(const Problem& p, void* stream) {
  if (p.m() == 0 || p.n() == 0 || p.batch() == 0) return;
  const dim3 grid(blocks_for(p.n(), kConvTile), blocks_for(p.m(), kConvTile), batch_blocks(p.batch()));
  launch(implicit_gemm_kernel<T, Problem>, grid, dim3(kConvTile, kConvTile), 0, stream, p);
}


// The im2col matrix of x as one group: (N, C kh kw, L).
ConvDims window_dims(const TensorView& x, const WindowGeometry& g) {
  return {x.shape[0], x.shape[1], 0, 1, x.shape[1], 0, x.shape[1] * g.kh * g.kw, g.out_h * g.out_w, g};
}

}  // namespace

// ---- launchers ----

void im2col(const ExecContext& ctx, const TensorView& cols, const TensorView& x, const WindowGeometry& g) {
  const ConvDims d = window_dims(x, g);
  const int64_t total = cols.numel();
  if (total == 0) return;
  const Shape1d s = shape_for(total);
  EMBER_DISPATCH_FLOATING(x.dtype, "im2col", [&] {
    launch(im2col_kernel<scalar_t>, s.grid, s.block, 0, ctx.stream, cols.ptr<scalar_t>(), x.ptr<scalar_t>(), d, total);
  });
}

void col2im(const ExecContext& ctx, const TensorView& x, const TensorView& cols, const WindowGeometry& g) {
  const ConvDims d = window_dims(x, g);
  const int64_t total = x.numel();
  if (total == 0) return;
  const Shape1d s = shape_for(total);
  EMBER_DISPATCH_FLOATING(x.dtype, "col2im", [&] {
    launch(col2im_kernel<scalar_t>, s.grid, s.block, 0, ctx.stream, x.ptr<scalar_t>(), cols.ptr<scalar_t>(), d, total);
  });
}

const std::vector<std::pair<ConvAlgorithm, std::string>>& conv_algorithm_names() {
  static const std::vector<std::pair<ConvAlgorithm, std::string>> names = {
      {ConvAlgorithm::Auto, "auto"}, {ConvAlgorithm::Direct, "direct"}, {ConvAlgorithm::ImplicitGemm, "implicit_gemm"}};
  return names;
}

namespace {
std::atomic<int> chosen_conv{static_cast<int>(ConvAlgorithm::Auto)};
}  // namespace

ConvAlgorithm conv_algorithm() { return static_cast<ConvAlgorithm>(chosen_conv.load()); }
void set_conv_algorithm(const std::string& name) {
  std::string all;
  for (const auto& [a, n] : conv_algorithm_names()) {
    if (n == name) return chosen_conv.store(static_cast<int>(a));
    all += (all.empty() ? "" : ", ") + n;
  }
  throw ValueError("set_conv_algorithm: unknown convolution algorithm '" + name + "' (the algorithms: " + all + ")");
}

void conv2d_forward(const ExecContext& ctx, const TensorView& y, const TensorView& x, const TensorView& weight,
                    const OptionalView& bias, const WindowGeometry& g, int64_t groups) {
  const ConvDims d = dims_of(x, weight, g, groups);
  // Note [Direct convolution]: "auto" takes the direct kernel where a GEMM
  // tile would be mostly empty along the output channels or the taps.
  const ConvAlgorithm algo = conv_algorithm();
  const bool direct = algo == ConvAlgorithm::Direct ||
                      (algo == ConvAlgorithm::Auto && (d.cg_out <= kConvTile || d.k < kConvTile));
  EMBER_DISPATCH_FLOATING(x.dtype, "conv2d", [&] {
    using T = scalar_t;
    const T* b = bias ? bias->ptr<T>() : nullptr;
    if (!direct) return run_implicit_gemm<T>(ConvForward<T>{y.ptr<T>(), x.ptr<T>(), weight.ptr<T>(), b, d}, ctx.stream);
    const int64_t total = y.numel();
    if (total == 0) return;
    const Shape1d s = shape_for(total);
    launch(conv_direct_kernel<T>, s.grid, s.block, 0, ctx.stream, y.ptr<T>(), x.ptr<T>(), weight.ptr<T>(), b, d,
           total);
  });
}

void conv2d_backward_input(const ExecContext& ctx, const TensorView& grad_x, const TensorView& grad_y,
                           const TensorView& weight, const WindowGeometry& g, int64_t groups) {
  const ConvDims d = dims_of(grad_x, weight, g, groups);
  EMBER_DISPATCH_FLOATING(grad_x.dtype, "conv2d_backward_input", [&] {
    using T = scalar_t;
    run_implicit_gemm<T>(ConvBackwardInput<T>{grad_x.ptr<T>(), grad_y.ptr<T>(), weight.ptr<T>(), d}, ctx.stream);
  });
}

void conv2d_backward_weight(const ExecContext& ctx, const TensorView& grad_weight, const OptionalView& grad_bias,
                            const TensorView& grad_y, const TensorView& x, const WindowGeometry& g, int64_t groups) {
  const ConvDims d = dims_of(x, grad_weight, g, groups);
  EMBER_DISPATCH_FLOATING(x.dtype, "conv2d_backward_weight", [&] {
    using T = scalar_t;
    if (grad_weight.numel() > 0)
      run_implicit_gemm<T>(ConvBackwardWeight<T>{grad_weight.ptr<T>(), grad_y.ptr<T>(), x.ptr<T>(), d}, ctx.stream);
    if (grad_bias && d.c_out > 0) {
      const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(d.c_out, kMaxBlocks * 16));
      launch(bias_grad_kernel<T>, dim3(blocks), dim3(256), 0, ctx.stream, grad_bias->ptr<T>(), grad_y.ptr<T>(), d.n,
             d.c_out, d.l);
    }
  });
}

}  // namespace ember::kernels::cuda
