// A direct convolution for few input channels: the first two layers of
// LeNet (1 -> 6 and 6 -> 16, 5x5) and the first of the default CNN (1 -> 32,
// 3x3). Note [Direct convolution of few input channels].
//
// Note [Direct convolution of few input channels]
// With one input channel the GEMM of conv.cpp multiplies by K = kh*kw
// (25 or 9) values per output: its micro-kernel finishes a tile after 9 to
// 25 steps, and gathering the K x N*L column matrix costs more than the
// arithmetic (LeNet's first layer gathers 1.25 million values to do 15
// MFLOP). Here nothing is gathered. Each image's channels are copied once
// into zero-padded planes, and an output row is computed straight from
// them, a vector of 16 (float) or 8 (double) adjacent outputs at a time:
//   acc[c] += plane[ci][oh + i][ow + j : ow + j + 16] * w[c][ci][i][j]   for every tap (ci, i, j),
// eight output channels side by side, so each load of a plane feeds eight
// multiply-adds. The weight gradient runs the same loops the other way
// round, one kernel row at a time with its kw sums in registers:
//   acc[j] += grad_y[c][oh][ow : ow + 16] * plane[ci][oh + i][ow + j : ...],
// then adds each accumulator's lanes.
//
// Up to kMaxChannels input channels: measured on LeNet's 6 -> 16 layer
// (bench/results/cpu/training-notes.md) the forward took 0.31 ms against
// the GEMM's 0.71 and the weight gradient the same time either way; the
// default CNN's 32 -> 64 layer stays with the GEMM, whose tiles fill there.
// Stride 1 and no dilation only; other shapes take the GEMM.
//
// Determinism (Note [Deterministic parallel kernels]): the forward splits
// over images, each output computed by one thread in one order; the weight
// gradient sums fixed chunks of images into partial sums, added in chunk
// order, in double.
#include <algorithm>
#include <atomic>
#include <type_traits>
#include <vector>

#include "conv_direct.h"
#include "ember/kernels/gemm.h"
#include "loops.h"
#include "vec.h"

namespace ember::kernels::cpu {

namespace {

constexpr int64_t kMaxTaps = 64;           // kernels up to 8x8
constexpr int64_t kMaxChannels = 8;        // input channels (Note [Direct convolution of few input channels])
constexpr int64_t kChannelsAtOnce = 8;     // output channels per pass over a row
constexpr int64_t kImagesPerChunk = 4;     // the weight gradient's partial sums

template <typename T>
using VecOf = std::conditional_t<std::is_same_v<T, float>, vec::f32x16, vec::f64x8>;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// One image's plane, zero-padded so that every vector load of every tap
// stays inside: out_h + kh - 1 rows of (vectors per row) * lanes + kw - 1.
template <typename T>
struct PaddedPlane {
  int64_t rows, width;
  PaddedPlane(const WindowGeometry& g, int64_t lanes)
      : rows(g.out_h + g.kh - 1), width(ceil_div(g.out_w, lanes) * lanes + g.kw - 1) {}
  int64_t size() const { return rows * width; }
  // Row r, column c of the padded plane is input pixel (r - ph, c - pw).
  void fill(T* dst, const T* x, const WindowGeometry& g) const {
    std::fill(dst, dst + size(), T(0));
    for (int64_t h = std::max<int64_t>(0, -g.ph); h < g.h && h + g.ph < rows; ++h) {
      const int64_t c0 = std::max<int64_t>(0, -g.pw), c1 = std::min<int64_t>(g.w, width - g.pw);
      for (int64_t c = c0; c < c1; ++c) dst[(h + g.ph) * width + c + g.pw] = x[h * g.w + c];
    }
  }
};

std::atomic<CpuConvAlgorithm> conv_algorithm{CpuConvAlgorithm::Auto};

}  // namespace

void set_cpu_conv_algorithm(CpuConvAlgorithm algorithm) { conv_algorithm = algorithm; }
CpuConvAlgorithm cpu_conv_algorithm() { return conv_algorithm; }

bool direct_conv_applies(const Shape& x, const Shape& w, const WindowGeometry& g, int64_t groups) {
  return conv_algorithm == CpuConvAlgorithm::Auto && groups == 1 && x[1] <= kMaxChannels && g.sh == 1 &&
         g.sw == 1 && g.dh == 1 && g.dw == 1 && g.kh * g.kw <= kMaxTaps && w[0] > 0 && g.out_h > 0 && g.out_w > 0;
}

template <typename T>
void direct_conv_forward(T* y, const T* x, const T* w, const T* bias, int64_t n, int64_t c_in, int64_t c_out,
                         const WindowGeometry& g) {
  using V = VecOf<T>;
  constexpr int64_t lanes = sizeof(V) / sizeof(T);
  const int64_t taps = c_in * g.kh * g.kw, vecs = ceil_div(g.out_w, lanes), out_plane = g.out_h * g.out_w;
  const PaddedPlane<T> pp(g, lanes);
  // The weights, kChannelsAtOnce channels at a time, past c_out as zeros.
  const int64_t c_pad = ceil_div(c_out, kChannelsAtOnce) * kChannelsAtOnce;
  std::vector<T> wk(c_pad * taps, T(0)), bk(c_pad, T(0));
  for (int64_t c = 0; c < c_out; ++c) {
    for (int64_t t = 0; t < taps; ++t) wk[t * c_pad + c] = w[c * taps + t];  // tap-major: 8 channels adjacent
    bk[c] = bias ? bias[c] : T(0);
  }
  parallel_for(0, n, 1, [&](int64_t i0, int64_t i1) {
    Scratch<T> plane(c_in * pp.size());
    alignas(64) T out[kChannelsAtOnce][lanes];
    for (int64_t img = i0; img < i1; ++img) {
      for (int64_t ci = 0; ci < c_in; ++ci)
        pp.fill(plane.data() + ci * pp.size(), x + (img * c_in + ci) * g.h * g.w, g);
      for (int64_t c0 = 0; c0 < c_pad; c0 += kChannelsAtOnce)
        for (int64_t oh = 0; oh < g.out_h; ++oh)
          for (int64_t v = 0; v < vecs; ++v) {
            V acc[kChannelsAtOnce];
            for (int64_t c = 0; c < kChannelsAtOnce; ++c) acc[c] = V{} + bk[c0 + c];
            for (int64_t ci = 0; ci < c_in; ++ci)
              for (int64_t i = 0; i < g.kh; ++i) {
                const T* row = plane.data() + ci * pp.size() + (oh + i) * pp.width + v * lanes;
                for (int64_t j = 0; j < g.kw; ++j) {
                  const V xv = vec::load<V>(row + j);
                  const T* wt = wk.data() + ((ci * g.kh + i) * g.kw + j) * c_pad + c0;
#pragma GCC unroll 8
                  for (int64_t c = 0; c < kChannelsAtOnce; ++c) acc[c] += xv * wt[c];
                }
              }
            const int64_t valid = std::min(lanes, g.out_w - v * lanes);
            for (int64_t c = 0; c < kChannelsAtOnce && c0 + c < c_out; ++c) {
              T* dst = y + (img * c_out + c0 + c) * out_plane + oh * g.out_w + v * lanes;
              if (valid == lanes) {
                vec::store(dst, acc[c]);
              } else {
                vec::store(out[c], acc[c]);
                std::copy(out[c], out[c] + valid, dst);
              }
            }
          }
    }
  });
}

// One image's share of one output channel's weight gradient, kernel row i:
// acc[j] (in registers) sums grad_y[oh, ow:ow+lanes] * plane[oh + i, ow + j : ...]
// over the whole plane, then lands in sum[j]. KW, the kernel's width, is a
// template argument so that acc stays in registers (0: any width, slower).
//
// The last vector of a row may stick out past out_w: its extra lanes have a
// zero gradient but read real pixels, and 0 * inf would put a NaN where no
// output ever read the inf (PyTorch's sum has no such term). So there the
// pixels of those lanes are replaced by 0 first.
template <typename T, int KW>
void weight_row(VecOf<T>* sum, const T* gy, const T* plane, int64_t width, int64_t i, int64_t kw,
                const WindowGeometry& g, int64_t vecs) {
  using V = VecOf<T>;
  constexpr int64_t lanes = sizeof(V) / sizeof(T);
  constexpr int64_t kMax = KW > 0 ? KW : kMaxTaps;
  const int64_t w_ = KW > 0 ? KW : kw;
  V lane{};
  for (int64_t l = 0; l < lanes; ++l) lane[l] = T(l);
  const auto inside = lane < T(g.out_w - (vecs - 1) * lanes);  // the last vector's lanes inside the row
  V acc[kMax];
  for (int64_t j = 0; j < w_; ++j) acc[j] = V{};
  for (int64_t oh = 0; oh < g.out_h; ++oh) {
    const T* row = plane + (oh + i) * width;
    for (int64_t v = 0; v + 1 < vecs; ++v) {
      const V gv = vec::load<V>(gy + (oh * vecs + v) * lanes);
#pragma GCC unroll 8
      for (int64_t j = 0; j < w_; ++j) acc[j] += gv * vec::load<V>(row + v * lanes + j);
    }
    const int64_t v = vecs - 1;
    const V gv = vec::load<V>(gy + (oh * vecs + v) * lanes);
    for (int64_t j = 0; j < w_; ++j) acc[j] += gv * (inside ? vec::load<V>(row + v * lanes + j) : V{});
  }
  for (int64_t j = 0; j < w_; ++j) sum[j] += acc[j];
}

template <typename T>
void direct_conv_backward_weight(T* grad_w, const T* grad_y, const T* x, int64_t n, int64_t c_in, int64_t c_out,
                                 const WindowGeometry& g) {
  using V = VecOf<T>;
  constexpr int64_t lanes = sizeof(V) / sizeof(T);
  const int64_t taps = c_in * g.kh * g.kw, vecs = ceil_div(g.out_w, lanes), out_plane = g.out_h * g.out_w;
  const PaddedPlane<T> pp(g, lanes);
  const int64_t chunks = ceil_div(n, kImagesPerChunk);
  std::vector<double> partial(chunks * c_out * taps);
  auto row_kernel = [&]() -> void (*)(V*, const T*, const T*, int64_t, int64_t, int64_t, const WindowGeometry&,
                                       int64_t) {
    switch (g.kw) {
      case 3: return weight_row<T, 3>;
      case 5: return weight_row<T, 5>;
      default: return weight_row<T, 0>;
    }
  }();
  parallel_for(0, chunks, 1, [&](int64_t k0, int64_t k1) {
    Scratch<T> plane(c_in * pp.size()), gy(vecs * lanes * g.out_h);
    std::vector<V> acc(c_out * taps);
    for (int64_t k = k0; k < k1; ++k) {
      std::fill(acc.begin(), acc.end(), V{});
      for (int64_t img = k * kImagesPerChunk; img < std::min(n, (k + 1) * kImagesPerChunk); ++img) {
        for (int64_t ci = 0; ci < c_in; ++ci)
          pp.fill(plane.data() + ci * pp.size(), x + (img * c_in + ci) * g.h * g.w, g);
        for (int64_t c = 0; c < c_out; ++c) {
          // This channel's gradient, each row padded with zeros to whole vectors.
          const T* src = grad_y + (img * c_out + c) * out_plane;
          for (int64_t oh = 0; oh < g.out_h; ++oh) {
            T* dst = gy.data() + oh * vecs * lanes;
            std::copy(src + oh * g.out_w, src + (oh + 1) * g.out_w, dst);
            std::fill(dst + g.out_w, dst + vecs * lanes, T(0));
          }
          for (int64_t ci = 0; ci < c_in; ++ci)
            for (int64_t i = 0; i < g.kh; ++i)
              row_kernel(acc.data() + c * taps + (ci * g.kh + i) * g.kw, gy.data(), plane.data() + ci * pp.size(),
                         pp.width, i, g.kw, g, vecs);
        }
      }
      for (int64_t e = 0; e < c_out * taps; ++e) {
        double s = 0;  // the lanes in lane order
        for (int64_t l = 0; l < lanes; ++l) s += double(acc[e][l]);
        partial[k * c_out * taps + e] = s;
      }
    }
  });
  for (int64_t e = 0; e < c_out * taps; ++e) {
    double s = 0;
    for (int64_t k = 0; k < chunks; ++k) s += partial[k * c_out * taps + e];
    grad_w[e] = T(s);
  }
}

#define EMBER_INSTANTIATE_DIRECT(T)                                                                                 \
  template void direct_conv_forward<T>(T*, const T*, const T*, const T*, int64_t, int64_t, int64_t,                \
                                       const WindowGeometry&);                                                    \
  template void direct_conv_backward_weight<T>(T*, const T*, const T*, int64_t, int64_t, int64_t,                \
                                               const WindowGeometry&);
EMBER_INSTANTIATE_DIRECT(float)
EMBER_INSTANTIATE_DIRECT(double)
#undef EMBER_INSTANTIATE_DIRECT

}  // namespace ember::kernels::cpu
