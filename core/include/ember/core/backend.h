// Dispatch: one Backend per device type, holding one entry per primitive.
//
// A primitive works on raw strided views (pointer, dtype, shape, strides) and
// knows nothing about autograd. The ops layer (autograd/) allocates outputs,
// promotes dtypes, broadcasts (stride 0), checks shapes, and then calls the
// Backend of the inputs' device. kernels/cpu implements it with loops and
// Eigen; kernels/cuda will implement the same entries with CUDA kernels.
//
// Backends are registered by an explicit call (ember::kernels::register_backends,
// made once by the ops layer), not by static initializers: a static library's
// object file that nothing references is dropped by the linker, and a
// self-registering backend with it.
#pragma once

#include <cstdint>
#include <vector>

#include "ember/core/device.h"
#include "ember/core/dtype.h"
#include "ember/core/scalar.h"
#include "ember/core/shape.h"
#include "ember/core/storage.h"

namespace ember {

// What a kernel sees of a tensor. `data` already includes the offset.
struct TensorView {
  void* data = nullptr;
  DType dtype = kDefaultFloat;
  Shape shape;
  Strides strides;
  template <typename T>
  T* ptr() const { return static_cast<T*>(data); }
};

enum class BinaryOp {
  Add, Sub, Mul, Div, Pow, Maximum, Minimum,  // result has the inputs' dtype
  Eq, Ne, Lt, Le, Gt, Ge,                     // result is bool
};
enum class UnaryOp { Neg, Exp, Log, Sqrt, Abs, Relu, Sigmoid, Tanh, Gelu, Erf, Sign };
enum class ReduceOp { Sum, Max, Min, ArgMax, ArgMin };

// The window geometry shared by im2col/col2im and pooling: kernel (kh, kw),
// stride, zero padding and dilation, for an input plane (h, w) giving an
// output plane (out_h, out_w).
struct WindowGeometry {
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
  int64_t h = 0, w = 0, out_h = 0, out_w = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  virtual Allocator& allocator(int device_index) = 0;
  // How many devices of this type are usable (1 for the CPU, 0 for CUDA
  // when no GPU is visible).
  virtual int device_count() const = 0;

  // dst = src, both on this device, same shape, any strides; casts dtype.
  virtual void copy(const TensorView& dst, const TensorView& src) = 0;
  // Contiguous transfers between this device and host memory.
  virtual void copy_from_host(void* dst, const void* host_src, size_t nbytes) = 0;
  virtual void copy_to_host(void* host_dst, const void* src, size_t nbytes) = 0;
  virtual void fill(const TensorView& dst, Scalar value) = 0;
  // out[i] = start + i * step, out contiguous 1-D.
  virtual void arange(const TensorView& out, double start, double step) = 0;

  // out = op(a, b). a and b have out's shape (broadcast dims have stride 0)
  // and the same dtype; out has that dtype, or bool for comparisons.
  virtual void binary(BinaryOp op, const TensorView& out, const TensorView& a, const TensorView& b) = 0;
  // out = op(a), same shape and dtype.
  virtual void unary(UnaryOp op, const TensorView& out, const TensorView& a) = 0;
  // out = cond ? a : b; all of out's shape, a/b of out's dtype, cond bool.
  virtual void where(const TensorView& out, const TensorView& cond, const TensorView& a,
                     const TensorView& b) = 0;
  // Reduces `a` over the dims where out has size 1 and a has not (out keeps
  // all dims). ArgMax/ArgMin reduce exactly one dim and write int64.
  virtual void reduce(ReduceOp op, const TensorView& out, const TensorView& a) = 0;
  // Batched GEMM: (B, M, K) @ (B, K, N) -> (B, M, N), out contiguous.
  // Floating a and b may have any strides (transposed, expanded batch with
  // stride 0): a backend that needs them contiguous copies them itself.
  // Integer a and b arrive contiguous.
  virtual void matmul(const TensorView& out, const TensorView& a, const TensorView& b) = 0;
  // Softmax (or log-softmax) of contiguous `a` along `dim`.
  virtual void softmax(const TensorView& out, const TensorView& a, int64_t dim, bool log) = 0;
  // out = a.index_select(dim, index); index int64 1-D.
  virtual void index_select(const TensorView& out, const TensorView& a, int64_t dim,
                            const TensorView& index) = 0;
  // out[..i..] += src[..j..] for i = index[j] along dim (index_select's adjoint).
  virtual void index_add(const TensorView& out, int64_t dim, const TensorView& index,
                         const TensorView& src) = 0;
  // out = a.gather(dim, index); index int64 with out's shape.
  virtual void gather(const TensorView& out, const TensorView& a, int64_t dim, const TensorView& index) = 0;
  // out[index[i]] (along dim) += src[i] (gather's adjoint).
  virtual void scatter_add(const TensorView& out, int64_t dim, const TensorView& index,
                           const TensorView& src) = 0;

  // im2col: x contiguous (N, C, H, W) -> cols contiguous (N, C*kh*kw,
  // out_h*out_w) as torch's unfold: column l holds output position l's
  // receptive field, rows ordered (c, i, j), zeros where it reaches into
  // the padding.
  virtual void im2col(const TensorView& cols, const TensorView& x, const WindowGeometry& g) = 0;
  // col2im, im2col's adjoint: adds each column of cols back into the (N, C,
  // H, W) positions it came from. x must be zeroed by the caller.
  virtual void col2im(const TensorView& x, const TensorView& cols, const WindowGeometry& g) = 0;
  // For max pooling: indices (N, C, out_h, out_w) int64 of the largest
  // element of each window, as a flat position h*W + w within its plane.
  // Padding counts as -inf; NaN wins, as in PyTorch.
  virtual void max_pool2d_indices(const TensorView& indices, const TensorView& x, const WindowGeometry& g) = 0;
};

void register_backend(DeviceType type, Backend* backend);
// The backend for a device type; throws DeviceError if none is registered
// (for CUDA: Ember was built without it).
Backend& backend_for(DeviceType type);
bool has_backend(DeviceType type);

}  // namespace ember
