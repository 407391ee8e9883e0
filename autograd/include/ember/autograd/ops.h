// The public ops: free functions over Tensors, recording the autograd graph
// when grad mode is on and an input requires grad. Each is defined, with its
// backward beside it, in one file of autograd/ops/ (named in brackets).
#pragma once

#include <cstdint>
#include <vector>

#include "ember/core/generator.h"
#include "ember/core/tensor.h"

namespace ember {

struct TensorOptions {
  DType dtype = kDefaultFloat;
  Device device = kCPU;
  bool requires_grad = false;
};

// ---- factories [ops/factories.cpp] ----
Tensor empty(const Shape& shape, TensorOptions opts = {});
Tensor zeros(const Shape& shape, TensorOptions opts = {});
Tensor ones(const Shape& shape, TensorOptions opts = {});
Tensor full(const Shape& shape, Scalar value, TensorOptions opts = {});
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor full_like(const Tensor& t, Scalar value);
// [start, end) in steps; int64 unless a bound or the step is floating
// (then the default float), as torch.arange.
Tensor arange(Scalar end);
Tensor arange(Scalar start, Scalar end, Scalar step = 1);
Tensor arange(Scalar start, Scalar end, Scalar step, TensorOptions opts);
// Copies `values` into a new tensor of `shape` (default: 1-D); dtype from T
// unless opts says otherwise.
template <typename T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape = {-1});
template <typename T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape, TensorOptions opts);
// A 0-dim tensor holding one number.
Tensor scalar_tensor(Scalar value, TensorOptions opts = {});

// ---- random [ops/factories.cpp]; see core/generator.h ----
Tensor rand(const Shape& shape, TensorOptions opts = {}, Generator* gen = nullptr);   // U[0, 1)
Tensor randn(const Shape& shape, TensorOptions opts = {}, Generator* gen = nullptr);  // N(0, 1)
// Integers uniform in [low, high); int64 by default.
Tensor randint(int64_t low, int64_t high, const Shape& shape, TensorOptions opts = {.dtype = DType::Int64},
               Generator* gen = nullptr);

// ---- elementwise binary, NumPy broadcasting [ops/binary.cpp] ----
Tensor add(const Tensor& a, const Tensor& b, Scalar alpha = 1);  // a + alpha * b
Tensor sub(const Tensor& a, const Tensor& b, Scalar alpha = 1);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);  // true division: ints give floats
Tensor pow(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, Scalar exponent);
Tensor pow(Scalar base, const Tensor& exponent);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
// out = a + b written into an existing tensor (torch.add(a, b, out=out)),
// for loops that reuse one buffer. out must already have the broadcast
// shape, the result dtype and the inputs' device; it may be a or b itself,
// not a view partially overlapping them. No autograd: throws AutogradError
// if grad mode is on and any argument requires grad.
Tensor& add_out(Tensor& out, const Tensor& a, const Tensor& b);
// Comparisons give bool tensors and have no gradient.
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, Scalar b);
Tensor ne(const Tensor& a, Scalar b);
Tensor lt(const Tensor& a, Scalar b);
Tensor le(const Tensor& a, Scalar b);
Tensor gt(const Tensor& a, Scalar b);
Tensor ge(const Tensor& a, Scalar b);
// cond ? a : b, all three broadcast together.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

// Operators (comparisons are the functions above, so that == keeps its
// usual meaning for handles in C++ code).
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, Scalar b);
Tensor operator-(const Tensor& a, Scalar b);
Tensor operator*(const Tensor& a, Scalar b);
Tensor operator/(const Tensor& a, Scalar b);
Tensor operator+(Scalar a, const Tensor& b);
Tensor operator-(Scalar a, const Tensor& b);
Tensor operator*(Scalar a, const Tensor& b);
Tensor operator/(Scalar a, const Tensor& b);
Tensor operator-(const Tensor& a);

// ---- elementwise unary [ops/unary.cpp] ----
Tensor neg(const Tensor& a);
Tensor exp(const Tensor& a);
Tensor log(const Tensor& a);
Tensor log1p(const Tensor& a);  // log(1 + a), exact for tiny a
Tensor sqrt(const Tensor& a);
Tensor abs(const Tensor& a);
Tensor sign(const Tensor& a);  // no gradient (zero almost everywhere)
Tensor relu(const Tensor& a);
Tensor sigmoid(const Tensor& a);
Tensor tanh(const Tensor& a);
Tensor gelu(const Tensor& a);  // exact: x * Phi(x)
Tensor erf(const Tensor& a);

// ---- reductions [ops/reduce.cpp]; empty dims = all dims ----
Tensor sum(const Tensor& a, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& a, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// Ties share the gradient equally (as torch.amax/amin).
Tensor max(const Tensor& a, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor min(const Tensor& a, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor argmax(const Tensor& a, int64_t dim, bool keepdim = false);
Tensor argmin(const Tensor& a, int64_t dim, bool keepdim = false);
// Variance with Bessel's correction by default (correction = 1).
Tensor var(const Tensor& a, const std::vector<int64_t>& dims = {}, int64_t correction = 1, bool keepdim = false);
// Sums `a` down to `shape` (the adjoint of broadcasting to a.shape()).
Tensor sum_to(const Tensor& a, const Shape& shape);

// ---- softmax [ops/softmax.cpp] ----
Tensor softmax(const Tensor& a, int64_t dim);
Tensor log_softmax(const Tensor& a, int64_t dim);

// ---- matmul [ops/matmul.cpp]: 1-D, 2-D and batched with broadcasting ----
Tensor matmul(const Tensor& a, const Tensor& b);
// Batched matrix product of 3-D tensors with equal batch: (B,M,K) @ (B,K,N).
Tensor bmm(const Tensor& a, const Tensor& b);

// ---- views [ops/view.cpp]; see Note [Tensor layout] ----
Tensor view(const Tensor& a, const Shape& shape);  // one size may be -1
Tensor reshape(const Tensor& a, const Shape& shape);
Tensor permute(const Tensor& a, const std::vector<int64_t>& dims);
Tensor transpose(const Tensor& a, int64_t dim0, int64_t dim1);
Tensor unsqueeze(const Tensor& a, int64_t dim);
Tensor squeeze(const Tensor& a);
Tensor squeeze(const Tensor& a, int64_t dim);
Tensor slice(const Tensor& a, int64_t dim, int64_t start, int64_t end, int64_t step = 1);
// A copy of `base` with `src` written into base.slice(dim, start, end, step).
Tensor slice_scatter(const Tensor& base, const Tensor& src, int64_t dim, int64_t start, int64_t end,
                     int64_t step = 1);
Tensor narrow(const Tensor& a, int64_t dim, int64_t start, int64_t length);
Tensor select(const Tensor& a, int64_t dim, int64_t index);
Tensor expand(const Tensor& a, const Shape& shape);  // -1 keeps a size
Tensor flatten(const Tensor& a, int64_t start_dim = 0, int64_t end_dim = -1);

// ---- joining and indexing [ops/indexing.cpp; slice_scatter: ops/slice.cpp] ----
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);
Tensor index_select(const Tensor& a, int64_t dim, const Tensor& index);
// A copy of `a` with src's slices added at the indices along dim
// (index_select's adjoint): out[..index[j]..] += src[..j..].
Tensor index_add(const Tensor& a, int64_t dim, const Tensor& index, const Tensor& src);
Tensor gather(const Tensor& a, int64_t dim, const Tensor& index);
// A copy of `a` with src added at the indices along dim (gather's adjoint):
// out[..index[i]..] += src[i]; index and src have one shape.
Tensor scatter_add(const Tensor& a, int64_t dim, const Tensor& index, const Tensor& src);

// ---- copies and conversions [ops/convert.cpp] ----
Tensor contiguous(const Tensor& a);
Tensor clone(const Tensor& a);
Tensor to(const Tensor& a, DType dtype);
Tensor to(const Tensor& a, Device device);

// The dtype a binary op on a and b produces (torch.result_type); see
// Note [Type promotion].
DType result_type(const Tensor& a, const Tensor& b);

// ---- comparing whole tensors (no graph) ----
// |a - b| <= atol + rtol * |b| everywhere (NaNs equal only if equal_nan).
bool allclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8, bool equal_nan = false);
// Same shape and the same values.
bool equal(const Tensor& a, const Tensor& b);

}  // namespace ember

// ---- template definitions ----
namespace ember {
namespace detail {
// Copies n host values of `dtype` into a new tensor.
Tensor from_host(const void* data, DType dtype, int64_t n, const Shape& shape, TensorOptions opts);
}  // namespace detail

template <typename T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape, TensorOptions opts) {
  const int64_t n = static_cast<int64_t>(values.size());
  if constexpr (std::is_same_v<T, bool>) {  // std::vector<bool> is packed bits
    std::vector<uint8_t> bytes(values.begin(), values.end());
    return detail::from_host(bytes.data(), DType::Bool, n, shape, opts);
  } else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, int64_t> && !std::is_same_v<T, uint8_t>) {
    std::vector<int64_t> wide(values.begin(), values.end());
    return detail::from_host(wide.data(), DType::Int64, n, shape, opts);
  } else {
    return detail::from_host(values.data(), dtype_of<T>::value, n, shape, opts);
  }
}

template <typename T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape) {
  TensorOptions opts;
  if constexpr (std::is_same_v<T, bool>) opts.dtype = DType::Bool;
  else if constexpr (std::is_same_v<T, uint8_t>) opts.dtype = DType::UInt8;
  else if constexpr (std::is_integral_v<T>) opts.dtype = DType::Int64;
  else opts.dtype = dtype_of<T>::value;
  return from_vector(values, shape, opts);
}
}  // namespace ember
