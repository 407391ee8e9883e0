// cuda:cudnn's average pooling and softmax, through cuDNN's pooling and
// softmax entries (cudnn_ops).
//
// Note [Pooling in cuDNN]
// Average pooling: Ember's avg_pool2d counts the padding's zeros
// (count_include_pad) and has no dilation; cuDNN's
// CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING divides every window by
// kh * kw. The two agree as long as every window lies inside the padded
// input, which holds when the output has the size floor((H + 2 ph - kh) /
// sh) + 1 that cuDNN computes. Ember's window_geometry computes the same
// floor today, but a ceil_mode output (PyTorch has one) would have one more
// window, hanging past the padding, divided by the part inside. So cuDNN's
// output size is asked for and compared with out_h, out_w: when they
// differ, the window is dilated, or the padding is not smaller than the
// window (cuDNN refuses it; Ember allows it), the call is declined and runs
// on cuda:ember (Note [Vendor entries decline]).
// cudnnPoolingBackward takes y and x besides dy; for average pooling their
// values are not used (the gradient of a mean depends on nothing else), so
// grad_y stands in for y and grad_x for x, with their descriptors.
//
// Max pooling stays with cuda:ember altogether: Ember's max_pool2d returns
// the index (h * W + w) of each window's maximum, and its backward scatters
// through those indices; cuDNN's max pooling produces no indices (its
// backward recomputes the argmax from x and y), so it cannot implement
// Ember's two primitives as they are specified.
//
// Softmax: Ember's softmax along `dim` of a contiguous (..., C, ...) tensor
// is cuDNN's CUDNN_SOFTMAX_MODE_CHANNEL on the same memory seen as (N, C,
// H, 1): N the product of the sizes before dim, C its size, H the product
// after. CUDNN_SOFTMAX_ACCURATE subtracts the maximum first, as Ember does;
// CUDNN_SOFTMAX_LOG is log_softmax.
#include <climits>

#include "vendor.h"

namespace ember::kernels::cudnn {

namespace {

struct PoolDesc : Descriptor<cudnnPoolingDescriptor_t, cudnnCreatePoolingDescriptor, cudnnDestroyPoolingDescriptor> {
  explicit PoolDesc(const WindowGeometry& g) {
    auto what = [] { return std::string("cuda:cudnn pooling descriptor"); };
    EMBER_VENDOR_CHECK(cudnnSetPooling2dDescriptor(d, CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING, CUDNN_PROPAGATE_NAN,
                                                   static_cast<int>(g.kh), static_cast<int>(g.kw),
                                                   static_cast<int>(g.ph), static_cast<int>(g.pw),
                                                   static_cast<int>(g.sh), static_cast<int>(g.sw)),
                       what);
  }
};

// Whether cuDNN's average pooling is Ember's for this call (Note [Pooling in cuDNN]).
bool pool_takes(const TensorView& x, const TensorView& y, const WindowGeometry& g) {
  if ((x.dtype != DType::Float32 && x.dtype != DType::Float64) || x.shape.size() != 4 || !fits_int(x) ||
      !fits_int(y))
    return false;
  for (int64_t v : {g.kh, g.kw, g.sh, g.sw})
    if (!fits_int(v)) return false;
  return g.dh == 1 && g.dw == 1 && g.ph >= 0 && g.pw >= 0 && g.ph < g.kh && g.pw < g.kw;
}

// Whether cuDNN computes the output size Ember asked for.
template <typename What>
bool same_output(const PoolDesc& pool, const TensorDesc& xd, const TensorView& y, const What& what) {
  int n = 0, c = 0, h = 0, w = 0;
  EMBER_VENDOR_CHECK(cudnnGetPooling2dForwardOutputDim(pool.d, xd.d, &n, &c, &h, &w), what);
  return n == y.shape[0] && c == y.shape[1] && h == y.shape[2] && w == y.shape[3];
}

}  // namespace

bool avg_pool2d_forward(const ExecContext& ctx, const TensorView& y, const TensorView& x, const WindowGeometry& g) {
  if (!pool_takes(x, y, g)) return false;
  auto what = [&] { return describe("avg_pool2d_forward", {x, y}); };
  PoolDesc pool(g);
  TensorDesc xd(x.dtype, x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
  TensorDesc yd(y.dtype, y.shape[0], y.shape[1], y.shape[2], y.shape[3]);
  if (!same_output(pool, xd, y, what)) return false;
  Session s(ctx);
  EMBER_VENDOR_CHECK(cudnnPoolingForward(s.cudnn(), pool.d, one(x.dtype), xd.d, x.data, zero(x.dtype), yd.d, y.data),
                     what);
  return true;
}

bool avg_pool2d_backward(const ExecContext& ctx, const TensorView& grad_x, const TensorView& grad_y,
                         const WindowGeometry& g) {
  if (!pool_takes(grad_x, grad_y, g)) return false;
  auto what = [&] { return describe("avg_pool2d_backward", {grad_y, grad_x}); };
  const DType dt = grad_x.dtype;
  PoolDesc pool(g);
  TensorDesc xd(dt, grad_x.shape[0], grad_x.shape[1], grad_x.shape[2], grad_x.shape[3]);
  TensorDesc yd(dt, grad_y.shape[0], grad_y.shape[1], grad_y.shape[2], grad_y.shape[3]);
  if (!same_output(pool, xd, grad_y, what)) return false;
  Session s(ctx);
  // y and x are not read by average pooling: grad_y and grad_x stand in.
  EMBER_VENDOR_CHECK(cudnnPoolingBackward(s.cudnn(), pool.d, one(dt), yd.d, grad_y.data, yd.d, grad_y.data, xd.d,
                                          grad_x.data, zero(dt), xd.d, grad_x.data),
                     what);
  return true;
}

bool softmax(const ExecContext& ctx, const TensorView& out, const TensorView& a, int64_t dim, bool log) {
  if (a.dtype != DType::Float32 && a.dtype != DType::Float64) return false;
  if (a.numel() == 0) return true;
  const int64_t ndim = static_cast<int64_t>(a.shape.size());
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < ndim; ++d) {
    if (d < dim) outer *= a.shape[d];
    if (d > dim) inner *= a.shape[d];
  }
  const int64_t size = ndim == 0 ? 1 : a.shape[dim];
  if (!fits_int(a.numel())) return false;
  auto what = [&] { return describe(log ? "log_softmax" : "softmax", {a}); };
  TensorDesc desc(a.dtype, outer, size, inner, 1);
  Session s(ctx);
  EMBER_VENDOR_CHECK(cudnnSoftmaxForward(s.cudnn(), log ? CUDNN_SOFTMAX_LOG : CUDNN_SOFTMAX_ACCURATE,
                                         CUDNN_SOFTMAX_MODE_CHANNEL, one(a.dtype), desc.d, a.data, zero(a.dtype),
                                         desc.d, out.data),
                     what);
  return true;
}

}  // namespace ember::kernels::cudnn
