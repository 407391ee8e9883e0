// cuda:cudnn's convolutions: forward, backward-data (grad_x) and
// backward-filter (grad_weight, grad_bias) through cuDNN 9's legacy API
// (cudnn_cnn), with the algorithm found once per shape.
//
// Note [Find once per shape]
// cuDNN has several algorithms per direction (implicit GEMM, precomputed
// GEMM, FFT, Winograd, ...), and which is fastest depends on the shape. The
// Find calls (cudnnFindConvolution*AlgorithmEx) run every algorithm that
// applies on the real tensors, time them, and return them fastest first;
// that takes milliseconds and synchronizes the device, so it happens once
// per (device, direction, dtype, input and weight shapes, stride, padding,
// dilation, groups), and the choice is kept in a map for the process's life
// (PyTorch's cudnn.benchmark does the same). The search is not allowed
// while a CUDA graph is being captured (it synchronizes): an eager step of
// the same shapes before the capture has filled the cache by then.
//
// Which algorithm: the fastest whose status is success and whose math is
// plain FMA in float32 (Note [No TF32 in cuDNN]; pick()). Not the fastest
// deterministic one: cuda:cudnn is the baseline Ember's kernels are timed
// against, so it runs what cuDNN finds fastest, as PyTorch with
// cudnn.benchmark does; some backward algorithms accumulate with atomics,
// so their last bits may differ from run to run.
//
// The search gets a temporary workspace as large as the greediest
// algorithm asks for (at most 1 GiB; none if even that is not free, and
// then only the algorithms that need no workspace can win). The chosen
// algorithm's workspace comes from one buffer per device that only grows
// (Session::workspace in vendor.cpp), drawn from the caching allocator.
//
// Note [No TF32 in cuDNN]
// On Ampere and later, cuDNN's default math lets float32 convolutions run
// on tensor cores in TF32 (Note [No TF32] in matmul.cpp). CUDNN_FMA_MATH on
// the convolution descriptor restricts it to FMA kernels, and the search
// skips any result that reports a tensor-op math type all the same.
#include <algorithm>
#include <array>
#include <climits>
#include <compare>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "../cuda/graph.h"
#include "vendor.h"

namespace ember::kernels::cudnn {

namespace {

constexpr size_t kMaxSearchWorkspace = size_t(1) << 30;

enum class Direction : uint8_t { Forward, BackwardData, BackwardFilter };

struct ConvKey {
  int device;
  Direction direction;
  DType dtype;
  std::array<int64_t, 4> x, w;                            // (N, C_in, H, W), (C_out, C_in / groups, kh, kw)
  std::array<int64_t, 7> geometry;                        // stride, padding, dilation, groups
  auto operator<=>(const ConvKey&) const = default;
};

struct Choice {
  int algo;
  size_t workspace;
};

std::mutex cache_mutex;
std::map<ConvKey, Choice>& cache() {
  static auto* c = new std::map<ConvKey, Choice>();  // never destroyed, as the handles
  return *c;
}

struct FilterDesc
    : Descriptor<cudnnFilterDescriptor_t, cudnnCreateFilterDescriptor, cudnnDestroyFilterDescriptor> {
  FilterDesc(DType dt, const Shape& w) {
    auto what = [&] { return detail::concat("cuda:cudnn filter descriptor ", shape_str(w)); };
    EMBER_VENDOR_CHECK(cudnnSetFilter4dDescriptor(d, data_type(dt), CUDNN_TENSOR_NCHW, static_cast<int>(w[0]),
                                                  static_cast<int>(w[1]), static_cast<int>(w[2]),
                                                  static_cast<int>(w[3])),
                       what);
  }
};

struct ConvDesc : Descriptor<cudnnConvolutionDescriptor_t, cudnnCreateConvolutionDescriptor,
                             cudnnDestroyConvolutionDescriptor> {
  ConvDesc(DType dt, const WindowGeometry& g, int64_t groups) {
    auto what = [&] { return std::string("cuda:cudnn convolution descriptor"); };
    EMBER_VENDOR_CHECK(cudnnSetConvolution2dDescriptor(d, static_cast<int>(g.ph), static_cast<int>(g.pw),
                                                       static_cast<int>(g.sh), static_cast<int>(g.sw),
                                                       static_cast<int>(g.dh), static_cast<int>(g.dw),
                                                       CUDNN_CROSS_CORRELATION, data_type(dt)),
                       what);
    EMBER_VENDOR_CHECK(cudnnSetConvolutionGroupCount(d, static_cast<int>(groups)), what);
    EMBER_VENDOR_CHECK(cudnnSetConvolutionMathType(d, CUDNN_FMA_MATH), what);  // Note [No TF32 in cuDNN]
  }
};

// The descriptors of one convolution: x (N, C_in, H, W), weight, y (N,
// C_out, out_h, out_w).
struct ConvDescs {
  TensorDesc x, y;
  FilterDesc w;
  ConvDesc conv;
  ConvDescs(DType dt, const Shape& xs, const Shape& ws, const Shape& ys, const WindowGeometry& g, int64_t groups)
      : x(dt, xs[0], xs[1], xs[2], xs[3]), y(dt, ys[0], ys[1], ys[2], ys[3]), w(dt, ws), conv(dt, g, groups) {}
};

// Whether cuDNN computes y's shape for this convolution (it should: the
// formula is the same; a guard, not a branch expected to run).
template <typename What>
bool same_output(const ConvDescs& d, const Shape& y, const What& what) {
  std::array<int, 4> dims{};
  EMBER_VENDOR_CHECK(cudnnGetConvolution2dForwardOutputDim(d.conv.d, d.x.d, d.w.d, &dims[0], &dims[1], &dims[2],
                                                           &dims[3]),
                     what);
  for (int i = 0; i < 4; ++i)
    if (dims[i] != y[i]) return false;
  return true;
}

// Whether cuDNN can take this convolution at all (Note [Vendor entries decline]).
bool takes(std::initializer_list<TensorView> views, const WindowGeometry& g, int64_t groups) {
  for (const TensorView& v : views)
    if ((v.dtype != DType::Float32 && v.dtype != DType::Float64) || v.shape.size() != 4 || !fits_int(v))
      return false;
  for (int64_t p : {g.sh, g.sw, g.dh, g.dw, groups})
    if (!fits_int(p)) return false;
  return g.ph >= 0 && g.pw >= 0 && g.ph <= INT_MAX && g.pw <= INT_MAX;
}

ConvKey key_of(const ExecContext& ctx, Direction dir, DType dt, const Shape& x, const Shape& w,
               const WindowGeometry& g, int64_t groups) {
  return {ctx.device.index, dir, dt, {x[0], x[1], x[2], x[3]}, {w[0], w[1], w[2], w[3]},
          {g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, groups}};
}

// The fastest usable result of a search (Note [Find once per shape]).
// Only CUDNN_FMA_MATH counts as float32 math: CUDNN_DEFAULT_MATH permits
// TF32 on Ampere and later, and the tensor-op modes are tensor cores. In
// float64 there is no TF32, and the default is plain float64.
template <typename Perf, typename What>
Choice pick(const std::vector<Perf>& perf, int count, DType dtype, const What& what) {
  std::string seen;
  for (int i = 0; i < count; ++i) {
    const Perf& p = perf[i];
    seen += detail::concat(seen.empty() ? "" : ", ", "algorithm ", static_cast<int>(p.algo), ": ",
                           cudnnGetErrorString(p.status));
    if (p.status != CUDNN_STATUS_SUCCESS) continue;
    const bool fp32_math = p.mathType == CUDNN_FMA_MATH;
    if (!(fp32_math || (dtype == DType::Float64 && p.mathType == CUDNN_DEFAULT_MATH))) continue;
    return {static_cast<int>(p.algo), p.memory};
  }
  throw DeviceError(detail::concat(what(), ": cuDNN found no usable algorithm (", seen, ")"));
}

// The cached choice for `key`, or the one `find` makes (once).
template <typename Find>
Choice choose(Session& s, const ConvKey& key, const Find& find) {
  {
    std::lock_guard<std::mutex> lock(cache_mutex);
    auto it = cache().find(key);
    if (it != cache().end()) return it->second;
  }
  cuda::check_not_capturing(s.device(), "cuDNN's algorithm search for a new convolution shape (run one eager step "
                                        "of the same shapes before capturing)");
  const Choice c = find();
  std::lock_guard<std::mutex> lock(cache_mutex);
  return cache().emplace(key, c).first->second;
}

// A temporary workspace for a search: `want` bytes, capped, or none when
// the device cannot spare them.
std::unique_ptr<DeviceBuffer> search_workspace(int device, size_t want, size_t& got) {
  got = std::min(want, kMaxSearchWorkspace);
  try {
    return std::make_unique<DeviceBuffer>(device, got);
  } catch (const OutOfMemory&) {
    got = 0;
    return std::make_unique<DeviceBuffer>(device, 0);
  }
}

}  // namespace

bool conv2d_forward(const ExecContext& ctx, const TensorView& y, const TensorView& x, const TensorView& weight,
                    const OptionalView& bias, const WindowGeometry& g, int64_t groups) {
  if (!takes({y, x, weight}, g, groups)) return false;
  auto what = [&] { return describe("conv2d_forward", {x, weight}); };
  Session s(ctx);
  ConvDescs d(x.dtype, x.shape, weight.shape, y.shape, g, groups);
  if (!same_output(d, y.shape, what)) return false;
  const Choice c = choose(s, key_of(ctx, Direction::Forward, x.dtype, x.shape, weight.shape, g, groups), [&] {
    size_t want = 0, bytes = 0, got = 0;
    for (int a = 0; a < CUDNN_CONVOLUTION_FWD_ALGO_COUNT; ++a)
      if (cudnnGetConvolutionForwardWorkspaceSize(s.cudnn(), d.x.d, d.w.d, d.conv.d, d.y.d,
                                                  static_cast<cudnnConvolutionFwdAlgo_t>(a),
                                                  &bytes) == CUDNN_STATUS_SUCCESS)
        want = std::max(want, bytes);
    auto ws = search_workspace(s.device(), want, got);
    int max_count = 0, count = 0;
    EMBER_VENDOR_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(s.cudnn(), &max_count), what);
    std::vector<cudnnConvolutionFwdAlgoPerf_t> perf(std::max(max_count, 1));
    const int requested = static_cast<int>(perf.size());
    EMBER_VENDOR_CHECK(cudnnFindConvolutionForwardAlgorithmEx(s.cudnn(), d.x.d, x.data, d.w.d, weight.data,
                                                              d.conv.d, d.y.d, y.data, requested, &count,
                                                              perf.data(), ws->get(), got),
                       what);
    return pick(perf, count, x.dtype, what);
  });
  void* ws = s.workspace(c.workspace);
  EMBER_VENDOR_CHECK(cudnnConvolutionForward(s.cudnn(), one(x.dtype), d.x.d, x.data, d.w.d, weight.data, d.conv.d,
                                             static_cast<cudnnConvolutionFwdAlgo_t>(c.algo), ws, c.workspace,
                                             zero(x.dtype), d.y.d, y.data),
                     what);
  if (bias) {
    TensorDesc b(x.dtype, 1, y.shape[1], 1, 1);
    EMBER_VENDOR_CHECK(cudnnAddTensor(s.cudnn(), one(x.dtype), b.d, bias->data, one(x.dtype), d.y.d, y.data), what);
  }
  return true;
}

bool conv2d_backward_input(const ExecContext& ctx, const TensorView& grad_x, const TensorView& grad_y,
                           const TensorView& weight, const WindowGeometry& g, int64_t groups) {
  if (!takes({grad_x, grad_y, weight}, g, groups)) return false;
  auto what = [&] { return describe("conv2d_backward_input", {grad_y, weight, grad_x}); };
  Session s(ctx);
  ConvDescs d(grad_x.dtype, grad_x.shape, weight.shape, grad_y.shape, g, groups);
  if (!same_output(d, grad_y.shape, what)) return false;
  const DType dt = grad_x.dtype;
  const Choice c = choose(s, key_of(ctx, Direction::BackwardData, dt, grad_x.shape, weight.shape, g, groups), [&] {
    size_t want = 0, bytes = 0, got = 0;
    for (int a = 0; a < CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT; ++a)
      if (cudnnGetConvolutionBackwardDataWorkspaceSize(s.cudnn(), d.w.d, d.y.d, d.conv.d, d.x.d,
                                                       static_cast<cudnnConvolutionBwdDataAlgo_t>(a),
                                                       &bytes) == CUDNN_STATUS_SUCCESS)
        want = std::max(want, bytes);
    auto ws = search_workspace(s.device(), want, got);
    int max_count = 0, count = 0;
    EMBER_VENDOR_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(s.cudnn(), &max_count), what);
    std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perf(std::max(max_count, 1));
    const int requested = static_cast<int>(perf.size());
    EMBER_VENDOR_CHECK(cudnnFindConvolutionBackwardDataAlgorithmEx(s.cudnn(), d.w.d, weight.data, d.y.d,
                                                                   grad_y.data, d.conv.d, d.x.d, grad_x.data,
                                                                   requested, &count, perf.data(), ws->get(), got),
                       what);
    return pick(perf, count, dt, what);
  });
  void* ws = s.workspace(c.workspace);
  EMBER_VENDOR_CHECK(cudnnConvolutionBackwardData(s.cudnn(), one(dt), d.w.d, weight.data, d.y.d, grad_y.data,
                                                  d.conv.d, static_cast<cudnnConvolutionBwdDataAlgo_t>(c.algo), ws,
                                                  c.workspace, zero(dt), d.x.d, grad_x.data),
                     what);
  return true;
}

bool conv2d_backward_weight(const ExecContext& ctx, const TensorView& grad_weight, const OptionalView& grad_bias,
                            const TensorView& grad_y, const TensorView& x, const WindowGeometry& g, int64_t groups) {
  if (!takes({grad_weight, grad_y, x}, g, groups)) return false;
  auto what = [&] { return describe("conv2d_backward_weight", {grad_y, x, grad_weight}); };
  Session s(ctx);
  ConvDescs d(x.dtype, x.shape, grad_weight.shape, grad_y.shape, g, groups);
  if (!same_output(d, grad_y.shape, what)) return false;
  const DType dt = x.dtype;
  const Choice c = choose(s, key_of(ctx, Direction::BackwardFilter, dt, x.shape, grad_weight.shape, g, groups), [&] {
    size_t want = 0, bytes = 0, got = 0;
    for (int a = 0; a < CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT; ++a)
      if (cudnnGetConvolutionBackwardFilterWorkspaceSize(s.cudnn(), d.x.d, d.y.d, d.conv.d, d.w.d,
                                                         static_cast<cudnnConvolutionBwdFilterAlgo_t>(a),
                                                         &bytes) == CUDNN_STATUS_SUCCESS)
        want = std::max(want, bytes);
    auto ws = search_workspace(s.device(), want, got);
    int max_count = 0, count = 0;
    EMBER_VENDOR_CHECK(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(s.cudnn(), &max_count), what);
    std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> perf(std::max(max_count, 1));
    const int requested = static_cast<int>(perf.size());
    EMBER_VENDOR_CHECK(cudnnFindConvolutionBackwardFilterAlgorithmEx(s.cudnn(), d.x.d, x.data, d.y.d, grad_y.data,
                                                                     d.conv.d, d.w.d, grad_weight.data,
                                                                     requested, &count, perf.data(), ws->get(), got),
                       what);
    return pick(perf, count, dt, what);
  });
  void* ws = s.workspace(c.workspace);
  EMBER_VENDOR_CHECK(cudnnConvolutionBackwardFilter(s.cudnn(), one(dt), d.x.d, x.data, d.y.d, grad_y.data, d.conv.d,
                                                    static_cast<cudnnConvolutionBwdFilterAlgo_t>(c.algo), ws,
                                                    c.workspace, zero(dt), d.w.d, grad_weight.data),
                     what);
  if (grad_bias) {
    TensorDesc b(dt, 1, grad_y.shape[1], 1, 1);
    EMBER_VENDOR_CHECK(cudnnConvolutionBackwardBias(s.cudnn(), one(dt), d.y.d, grad_y.data, zero(dt), b.d,
                                                    grad_bias->data),
                       what);
  }
  return true;
}

size_t conv_algorithm_cache_size() {
  std::lock_guard<std::mutex> lock(cache_mutex);
  return cache().size();
}

}  // namespace ember::kernels::cudnn
