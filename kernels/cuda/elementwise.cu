// CUDA elementwise kernels: binary ops with broadcasting (a stride of 0),
// unary ops and where, on any strides, with the CPU's semantics for every
// dtype (bool add is "or", integer division by 0 is 0, NaN wins in maximum).
// Note [Kernels then launchers] in device.h.
#include <type_traits>

#include "../int_pow.h"
#include "launchers.h"

namespace ember::kernels::cuda {

namespace {

// ---- the per-element operations ----

template <typename T>
EMBER_HD T arithmetic(BinaryOp op, T x, T y) {
  if constexpr (std::is_same_v<T, bool>) {
    const int a = x, b = y;  // bool arithmetic follows PyTorch: add is "or", mul is "and"
    switch (op) {
      case BinaryOp::Add: return a + b != 0;
      case BinaryOp::Sub: return a - b != 0;
      case BinaryOp::Mul: return a * b != 0;
      case BinaryOp::Div: return b == 0 ? false : a / b != 0;
      case BinaryOp::Pow: return x || !y;
      case BinaryOp::Maximum: return x || y;
      case BinaryOp::ReluGrad: return y && x;
      default: return x && y;  // Minimum
    }
  } else {
    switch (op) {
      case BinaryOp::Add: return x + y;
      case BinaryOp::Sub: return x - y;
      case BinaryOp::Mul: return x * y;
      case BinaryOp::Div:
        if constexpr (std::is_floating_point_v<T>) return x / y;
        else return y == T(0) ? T(0) : T(x / y);  // the ops layer sends ints to float first
      case BinaryOp::Pow:
        if constexpr (std::is_floating_point_v<T>) return dm::pow(x, y);
        else return int_pow(x, y);
      case BinaryOp::Maximum: return dm::max(x, y);
      case BinaryOp::ReluGrad: return y <= T(0) ? T(0) : x;
      default: return dm::min(x, y);  // Minimum
    }
  }
}

template <typename T>
EMBER_HD bool compare(BinaryOp op, T x, T y) {
  switch (op) {
    case BinaryOp::Eq: return x == y;
    case BinaryOp::Ne: return x != y;
    case BinaryOp::Lt: return x < y;
    case BinaryOp::Le: return x <= y;
    case BinaryOp::Gt: return x > y;
    default: return x >= y;  // Ge
  }
}

template <typename T>
EMBER_HD T unary_value(UnaryOp op, T x) {
  if constexpr (std::is_unsigned_v<T>) {  // uint8: nothing is negative
    switch (op) {
      case UnaryOp::Neg: return T(-x);
      case UnaryOp::Abs: case UnaryOp::Relu: return x;
      case UnaryOp::Sign: return T(x != 0);
      default: break;
    }
  } else {
    switch (op) {
      case UnaryOp::Neg: return T(-x);
      case UnaryOp::Abs: return x < T(0) ? T(-x) : x;
      case UnaryOp::Relu: return x < T(0) ? T(0) : x;  // NaN stays NaN
      case UnaryOp::Sign: return T((T(0) < x) - (x < T(0)));
      default: break;
    }
  }
  if constexpr (std::is_floating_point_v<T>) {
    switch (op) {
      case UnaryOp::Exp: return dm::exp(x);
      case UnaryOp::Log: return dm::log(x);
      case UnaryOp::Log1p: return dm::log1p(x);
      case UnaryOp::Sqrt: return dm::sqrt(x);
      case UnaryOp::Sigmoid: return T(1) / (T(1) + dm::exp(-x));
      case UnaryOp::Tanh: return dm::tanh(x);
      case UnaryOp::Erf: return dm::erf(x);
      case UnaryOp::Gelu: return T(0.5) * x * (T(1) + dm::erf(x * T(0.70710678118654752440)));
      default: break;
    }
  }
  return x;  // not reached: the launcher refuses ops a dtype lacks
}

// ---- kernels: one element per thread of a grid-stride loop ----

// out[i] = op(a[i], b[i]); Out is T, or bool for comparisons.
template <typename Out, typename T>
__global__ void binary_kernel(BinaryOp op, Out* out, const T* a, const T* b, Indexer<3> ix, int64_t n) {
  EMBER_GRID_STRIDE_LOOP(i, n) {
    int64_t off[3];
    ix.offsets(i, off);
    if constexpr (std::is_same_v<Out, bool> && !std::is_same_v<T, bool>) out[off[0]] = compare(op, a[off[1]], b[off[2]]);
    else if (op >= BinaryOp::Eq) out[off[0]] = compare(op, a[off[1]], b[off[2]]);
    else out[off[0]] = arithmetic(op, a[off[1]], b[off[2]]);
  }
}

// All three dense: index by i (no division loop).
template <typename Out, typename T>
__global__ void binary_contiguous_kernel(BinaryOp op, Out* out, const T* a, const T* b, int64_t n) {
  EMBER_GRID_STRIDE_LOOP(i, n) {
    if constexpr (std::is_same_v<Out, bool> && !std::is_same_v<T, bool>) out[i] = compare(op, a[i], b[i]);
    else if (op >= BinaryOp::Eq) out[i] = compare(op, a[i], b[i]);
    else out[i] = arithmetic(op, a[i], b[i]);
  }
}

template <typename T>
__global__ void unary_kernel(UnaryOp op, T* out, const T* a, Indexer<2> ix, int64_t n) {
  EMBER_GRID_STRIDE_LOOP(i, n) {
    int64_t off[2];
    ix.offsets(i, off);
    out[off[0]] = unary_value(op, a[off[1]]);
  }
}

template <typename T>
__global__ void where_kernel(T* out, const bool* cond, const T* a, const T* b, Indexer<4> ix, int64_t n) {
  EMBER_GRID_STRIDE_LOOP(i, n) {
    int64_t off[4];
    ix.offsets(i, off);
    out[off[0]] = cond[off[1]] ? a[off[2]] : b[off[3]];
  }
}

}  // namespace

// ---- launchers ----

void binary(const ExecContext& ctx, BinaryOp op, const TensorView& out, const TensorView& a, const TensorView& b) {
  const int64_t n = out.numel();
  if (n == 0) return;
  const Indexer<3> ix = make_indexer<3>(out.shape, {&out.strides, &a.strides, &b.strides}, "binary");
  const Shape1d s = shape_for(n);
  const bool comparison = op >= BinaryOp::Eq;
  EMBER_DISPATCH_ALL(a.dtype, "binary", [&] {
    using T = scalar_t;
    auto go = [&](auto* o) {
      using Out = std::remove_pointer_t<decltype(o)>;
      if (all_contiguous(ix))
        launch(binary_contiguous_kernel<Out, T>, s.grid, s.block, 0, ctx.stream, op, o, a.ptr<T>(), b.ptr<T>(), n);
      else
        launch(binary_kernel<Out, T>, s.grid, s.block, 0, ctx.stream, op, o, a.ptr<T>(), b.ptr<T>(), ix, n);
    };
    if (comparison) go(out.ptr<bool>());
    else go(out.ptr<T>());
  });
}

void unary(const ExecContext& ctx, UnaryOp op, const TensorView& out, const TensorView& a) {
  const int64_t n = out.numel();
  if (n == 0) return;
  const bool any_dtype = op == UnaryOp::Neg || op == UnaryOp::Abs || op == UnaryOp::Relu || op == UnaryOp::Sign;
  EMBER_CHECK(a.dtype != DType::Bool, DTypeError, "unary ops are not defined for bool tensors");
  EMBER_CHECK(any_dtype || is_floating(a.dtype), DTypeError, "this unary op needs a floating dtype, got ",
              dtype_name(a.dtype));
  const Indexer<2> ix = make_indexer<2>(out.shape, {&out.strides, &a.strides}, "unary");
  const Shape1d s = shape_for(n);
  EMBER_DISPATCH_NUMERIC(a.dtype, "unary", [&] {
    launch(unary_kernel<scalar_t>, s.grid, s.block, 0, ctx.stream, op, out.ptr<scalar_t>(), a.ptr<scalar_t>(), ix, n);
  });
}

void where(const ExecContext& ctx, const TensorView& out, const TensorView& cond, const TensorView& a,
           const TensorView& b) {
  const int64_t n = out.numel();
  if (n == 0) return;
  const Indexer<4> ix =
      make_indexer<4>(out.shape, {&out.strides, &cond.strides, &a.strides, &b.strides}, "where");
  const Shape1d s = shape_for(n);
  EMBER_DISPATCH_ALL(out.dtype, "where", [&] {
    launch(where_kernel<scalar_t>, s.grid, s.block, 0, ctx.stream, out.ptr<scalar_t>(), cond.ptr<bool>(),
           a.ptr<scalar_t>(), b.ptr<scalar_t>(), ix, n);
  });
}

}  // namespace ember::kernels::cuda
