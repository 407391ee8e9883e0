// CPU max and average pooling, forward and backward.
//
// Every kernel here walks the windows of one (N, C) plane at a time, and the
// thread pool splits over planes: each plane's outputs (or, backward, its
// input gradient) are written by exactly one thread, in the same order as
// on one thread (Note [Deterministic parallel kernels]).
//
// Max pooling writes each window's value and its index (the flat position
// h*W + w within the plane) in one pass; the backward adds each incoming
// gradient at its window's index. Average pooling counts the padding's zeros
// in the window (count_include_pad, PyTorch's default), so every window
// divides by kh*kw.
#include <algorithm>
#include <utility>
#include <vector>

#include "cpu_backend.h"
#include "loops.h"

namespace ember::kernels::cpu {

namespace {

// Per output row (or column) o, the kernel taps [t0, t1) that fall inside
// the plane: computed once per call, not once per window.
std::vector<std::pair<int64_t, int64_t>> inside_taps(int64_t out, int64_t stride, int64_t pad, int64_t dil,
                                                     int64_t k, int64_t size) {
  std::vector<std::pair<int64_t, int64_t>> taps(static_cast<size_t>(out));
  for (int64_t o = 0; o < out; ++o) {
    const int64_t start = o * stride - pad;
    const int64_t t0 = start >= 0 ? 0 : (-start + dil - 1) / dil;
    taps[static_cast<size_t>(o)] = {t0, std::clamp<int64_t>((size - start + dil - 1) / dil, t0, k)};
  }
  return taps;
}

// Calls f(plane, out_index, first, rows, cols) for every window of every
// plane in [0, planes): the window's taps inside the plane start at flat
// position `first` and step by (dh * W, dw).
template <typename F>
void for_each_window(int64_t planes, const WindowGeometry& g, F f) {
  const auto rows = inside_taps(g.out_h, g.sh, g.ph, g.dh, g.kh, g.h);
  const auto cols = inside_taps(g.out_w, g.sw, g.pw, g.dw, g.kw, g.w);
  const int64_t work_per_plane = g.out_h * g.out_w * g.kh * g.kw;
  parallel_for(0, planes, kParallelGrain / std::max<int64_t>(1, work_per_plane), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p)
      for (int64_t oh = 0; oh < g.out_h; ++oh) {
        const auto [i0, i1] = rows[static_cast<size_t>(oh)];
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          const auto [j0, j1] = cols[static_cast<size_t>(ow)];
          const int64_t first = (oh * g.sh - g.ph + i0 * g.dh) * g.w + ow * g.sw - g.pw + j0 * g.dw;
          f(p, oh * g.out_w + ow, first, i1 - i0, j1 - j0);
        }
      }
  });
}

// The flat index of the largest of the rows x cols elements at x[first +
// i*row_step + j*col_step]; the first NaN wins, as in PyTorch. Which
// element wins is data, so a branch on each comparison would mispredict
// half the time: the index is picked with a bit mask and the value with
// max (one instruction each). NaN is rare, so its branch predicts well.
template <typename T>
int64_t window_argmax(const T* x, int64_t first, int64_t rows, int64_t cols, int64_t row_step, int64_t col_step) {
  int64_t best = first;
  T best_v = x[first];
  if (best_v != best_v) return best;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      const int64_t at = first + i * row_step + j * col_step;
      const T v = x[at];
      if (v != v) [[unlikely]] return at;
      const int64_t take = -static_cast<int64_t>(v > best_v);  // all ones or zero
      best = (at & take) | (best & ~take);
      best_v = std::max(best_v, v);
    }
  return best;
}

// Max pooling's common case, 2x2 windows at stride 2 without padding or
// dilation (LeNet, the default CNN): one straight loop per output row with
// the four taps unrolled, where for_each_window pays a call and two loops
// of runtime length per window. Same choice as window_argmax: the first
// NaN, else the first largest value.
template <typename T>
void max_pool_2x2(const T* xp, T* yp, int64_t* ip, const WindowGeometry& g) {
  for (int64_t oh = 0; oh < g.out_h; ++oh) {
    const int64_t row = 2 * oh * g.w;
    const T* r0 = xp + row;
    const T* r1 = r0 + g.w;
    for (int64_t ow = 0; ow < g.out_w; ++ow) {
      int64_t at = row + 2 * ow;
      T best = r0[2 * ow];
      auto pick = [&](T v, int64_t where) {
        const bool take = v > best || (v != v && best == best);
        best = take ? v : best;
        at = take ? where : at;
      };
      pick(r0[2 * ow + 1], row + 2 * ow + 1);
      pick(r1[2 * ow], row + g.w + 2 * ow);
      pick(r1[2 * ow + 1], row + g.w + 2 * ow + 1);
      yp[oh * g.out_w + ow] = best;
      ip[oh * g.out_w + ow] = at;
    }
  }
}

bool is_plain_2x2(const WindowGeometry& g) {
  return g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.ph == 0 && g.pw == 0 && g.dh == 1 && g.dw == 1;
}

}  // namespace

void CpuBackend::max_pool2d_forward(const ExecContext&, const TensorView& y, const TensorView& indices,
                                    const TensorView& x, const WindowGeometry& g) {
  const int64_t plane = g.h * g.w, out_plane = g.out_h * g.out_w;
  EMBER_DISPATCH_FLOATING(x.dtype, "max_pool2d", [&] {
    const scalar_t* px = x.ptr<scalar_t>();
    scalar_t* py = y.ptr<scalar_t>();
    int64_t* pi = indices.ptr<int64_t>();
    if (is_plain_2x2(g)) {
      const int64_t grain = kParallelGrain / std::max<int64_t>(1, plane);
      parallel_for(0, x.shape[0] * x.shape[1], grain, [&](int64_t p0, int64_t p1) {
        for (int64_t p = p0; p < p1; ++p) max_pool_2x2(px + p * plane, py + p * out_plane, pi + p * out_plane, g);
      });
      return;
    }
    for_each_window(x.shape[0] * x.shape[1], g, [&](int64_t p, int64_t o, int64_t first, int64_t rows, int64_t cols) {
      const scalar_t* xp = px + p * plane;
      const int64_t at = window_argmax(xp, first, rows, cols, g.dh * g.w, g.dw);
      pi[p * out_plane + o] = at;
      py[p * out_plane + o] = xp[at];
    });
  });
}

void CpuBackend::max_pool2d_backward(const ExecContext&, const TensorView& grad_x, const TensorView& grad_y,
                                     const TensorView& indices, const WindowGeometry& g) {
  const int64_t planes = grad_x.shape[0] * grad_x.shape[1], plane = g.h * g.w, out_plane = g.out_h * g.out_w;
  EMBER_DISPATCH_FLOATING(grad_x.dtype, "max_pool2d_backward", [&] {
    scalar_t* gx = grad_x.ptr<scalar_t>();
    const scalar_t* gy = grad_y.ptr<scalar_t>();
    const int64_t* pi = indices.ptr<int64_t>();
    parallel_for(0, planes, kParallelGrain / std::max<int64_t>(1, plane + out_plane), [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        scalar_t* gxp = gx + p * plane;
        std::fill(gxp, gxp + plane, scalar_t(0));
        for (int64_t o = 0; o < out_plane; ++o) gxp[pi[p * out_plane + o]] += gy[p * out_plane + o];
      }
    });
  });
}

void CpuBackend::avg_pool2d_forward(const ExecContext&, const TensorView& y, const TensorView& x,
                                    const WindowGeometry& g) {
  const int64_t plane = g.h * g.w, out_plane = g.out_h * g.out_w;
  const double count = static_cast<double>(g.kh * g.kw);
  EMBER_DISPATCH_FLOATING(x.dtype, "avg_pool2d", [&] {
    const scalar_t* px = x.ptr<scalar_t>();
    scalar_t* py = y.ptr<scalar_t>();
    for_each_window(x.shape[0] * x.shape[1], g, [&](int64_t p, int64_t o, int64_t first, int64_t rows, int64_t cols) {
      const scalar_t* xp = px + p * plane + first;
      double sum = 0;  // the padding's zeros add nothing but count in `count`
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j) sum += double(xp[i * g.dh * g.w + j * g.dw]);
      py[p * out_plane + o] = scalar_t(sum / count);
    });
  });
}

void CpuBackend::avg_pool2d_backward(const ExecContext&, const TensorView& grad_x, const TensorView& grad_y,
                                     const WindowGeometry& g) {
  const int64_t planes = grad_x.shape[0] * grad_x.shape[1], plane = g.h * g.w, out_plane = g.out_h * g.out_w;
  EMBER_DISPATCH_FLOATING(grad_x.dtype, "avg_pool2d_backward", [&] {
    using T = scalar_t;
    T* gx = grad_x.ptr<T>();
    const T* gy = grad_y.ptr<T>();
    const T scale = T(1) / T(g.kh * g.kw);
    // Zero the gradient, then let each window add its share (for_each_window
    // gives all of a plane's windows to one thread).
    parallel_for(0, planes, kParallelGrain / std::max<int64_t>(1, plane), [&](int64_t p0, int64_t p1) {
      std::fill(gx + p0 * plane, gx + p1 * plane, T(0));
    });
    for_each_window(planes, g, [&](int64_t p, int64_t o, int64_t first, int64_t rows, int64_t cols) {
      T* gxp = gx + p * plane + first;
      const T share = gy[p * out_plane + o] * scale;
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j) gxp[i * g.dh * g.w + j * g.dw] += share;
    });
  });
}

}  // namespace ember::kernels::cpu
