// CPU elementwise kernels: binary ops (with broadcasting through stride 0),
// unary ops and where. Each op is a small functor; the strided loop is
// shared (loops.h).
#include <algorithm>
#include <cmath>
#include <type_traits>

#include "../int_pow.h"
#include "cpu_backend.h"
#include "loops.h"
#include "vec.h"

namespace ember::kernels::cpu {

namespace {

// Applies f elementwise: out[i] = f(a[i], b[i]).
template <typename Out, typename In, typename F>
void binary_loop(const TensorView& out, const TensorView& a, const TensorView& b, F f) {
  Out* o = out.ptr<Out>();
  const In* pa = a.ptr<In>();
  const In* pb = b.ptr<In>();
  parallel_for_each_row<3>(out.shape, {&out.strides, &a.strides, &b.strides}, [&](int64_t n, auto off, auto st) {
    Out* po = o + off[0];
    const In* xa = pa + off[1];
    const In* xb = pb + off[2];
    if (st[0] == 1 && st[1] == 1 && st[2] == 1) {
      for (int64_t i = 0; i < n; ++i) po[i] = f(xa[i], xb[i]);
    } else if (st[0] == 1 && st[1] == 1 && st[2] == 0) {  // tensor op scalar/broadcast row
      const In vb = xb[0];
      for (int64_t i = 0; i < n; ++i) po[i] = f(xa[i], vb);
    } else {
      for (int64_t i = 0; i < n; ++i) po[i * st[0]] = f(xa[i * st[1]], xb[i * st[2]]);
    }
  });
}

template <typename T>
T pow_value(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    return std::pow(a, b);
  } else if constexpr (std::is_same_v<T, bool>) {
    return a || !b;
  } else {
    return int_pow(a, b);  // kernels/int_pow.h
  }
}

// NaN-propagating max/min, as torch.maximum/minimum.
template <typename T>
T max_value(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
  }
  return a > b ? a : b;
}
template <typename T>
T min_value(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
  }
  return a < b ? a : b;
}

template <typename T>
void arithmetic(BinaryOp op, const TensorView& out, const TensorView& a, const TensorView& b) {
  // Bool arithmetic follows PyTorch: add is "or", mul is "and".
  using W = std::conditional_t<std::is_same_v<T, bool>, int, T>;
  switch (op) {
    case BinaryOp::Add: return binary_loop<T, T>(out, a, b, [](T x, T y) { return T(W(x) + W(y)); });
    case BinaryOp::Sub: return binary_loop<T, T>(out, a, b, [](T x, T y) { return T(W(x) - W(y)); });
    case BinaryOp::Mul: return binary_loop<T, T>(out, a, b, [](T x, T y) { return T(W(x) * W(y)); });
    case BinaryOp::Div:
      return binary_loop<T, T>(out, a, b, [](T x, T y) {
        if constexpr (std::is_floating_point_v<T>) return x / y;
        else return y == T(0) ? T(0) : T(W(x) / W(y));  // the ops layer sends ints to float first
      });
    case BinaryOp::Pow: return binary_loop<T, T>(out, a, b, [](T x, T y) { return pow_value(x, y); });
    case BinaryOp::Maximum: return binary_loop<T, T>(out, a, b, [](T x, T y) { return max_value(x, y); });
    case BinaryOp::Minimum: return binary_loop<T, T>(out, a, b, [](T x, T y) { return min_value(x, y); });
    case BinaryOp::ReluGrad: return binary_loop<T, T>(out, a, b, [](T g, T y) { return y <= T(0) ? T(0) : g; });
    default: break;
  }
}

template <typename T>
void comparison(BinaryOp op, const TensorView& out, const TensorView& a, const TensorView& b) {
  switch (op) {
    case BinaryOp::Eq: return binary_loop<bool, T>(out, a, b, [](T x, T y) { return x == y; });
    case BinaryOp::Ne: return binary_loop<bool, T>(out, a, b, [](T x, T y) { return x != y; });
    case BinaryOp::Lt: return binary_loop<bool, T>(out, a, b, [](T x, T y) { return x < y; });
    case BinaryOp::Le: return binary_loop<bool, T>(out, a, b, [](T x, T y) { return x <= y; });
    case BinaryOp::Gt: return binary_loop<bool, T>(out, a, b, [](T x, T y) { return x > y; });
    case BinaryOp::Ge: return binary_loop<bool, T>(out, a, b, [](T x, T y) { return x >= y; });
    default: break;
  }
}

bool is_comparison(BinaryOp op) { return op >= BinaryOp::Eq; }

template <typename T, typename F>
void unary_loop(const TensorView& out, const TensorView& a, F f) {
  T* o = out.ptr<T>();
  const T* pa = a.ptr<T>();
  parallel_for_each_row<2>(out.shape, {&out.strides, &a.strides}, [&](int64_t n, auto off, auto st) {
    T* po = o + off[0];
    const T* xa = pa + off[1];
    if (st[0] == 1 && st[1] == 1) {
      for (int64_t i = 0; i < n; ++i) po[i] = f(xa[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) po[i * st[0]] = f(xa[i * st[1]]);
    }
  });
}

// A float unary op 16 elements at a time through a SIMD function (vec.h).
// Every element goes through that same function, the last few of a row in
// one padded vector, so an element's value never depends on where the
// thread pool cut the rows.
template <typename VecF>
void unary_loop_simd(const TensorView& out, const TensorView& a, VecF f) {
  float* o = out.ptr<float>();
  const float* pa = a.ptr<float>();
  parallel_for_each_row<2>(out.shape, {&out.strides, &a.strides}, [&](int64_t n, auto off, auto st) {
    float* po = o + off[0];
    const float* xa = pa + off[1];
    int64_t i = 0;
    if (st[0] == 1 && st[1] == 1)
      for (; i + 16 <= n; i += 16) vec::store(po + i, f(vec::load<vec::f32x16>(xa + i)));
    for (; i < n; i += 16) {
      const int64_t m = std::min<int64_t>(16, n - i);
      vec::f32x16 x = {};
      for (int64_t k = 0; k < m; ++k) x[k] = xa[(i + k) * st[1]];
      const vec::f32x16 y = f(x);
      for (int64_t k = 0; k < m; ++k) po[(i + k) * st[0]] = y[k];
    }
  });
}

template <typename T>
void floating_unary(UnaryOp op, const TensorView& out, const TensorView& a) {
  if constexpr (std::is_same_v<T, float>) {
    if (op == UnaryOp::Exp) return unary_loop_simd(out, a, [](vec::f32x16 x) { return vec::exp(x); });
    if (op == UnaryOp::Sigmoid)
      return unary_loop_simd(out, a, [](vec::f32x16 x) { return 1.0f / (1.0f + vec::exp(-x)); });
  }
  switch (op) {
    case UnaryOp::Exp: return unary_loop<T>(out, a, [](T x) { return std::exp(x); });
    case UnaryOp::Log: return unary_loop<T>(out, a, [](T x) { return std::log(x); });
    case UnaryOp::Log1p: return unary_loop<T>(out, a, [](T x) { return std::log1p(x); });
    case UnaryOp::Sqrt: return unary_loop<T>(out, a, [](T x) { return std::sqrt(x); });
    case UnaryOp::Sigmoid: return unary_loop<T>(out, a, [](T x) { return T(1) / (T(1) + std::exp(-x)); });
    case UnaryOp::Tanh: return unary_loop<T>(out, a, [](T x) { return std::tanh(x); });
    case UnaryOp::Erf: return unary_loop<T>(out, a, [](T x) { return std::erf(x); });
    case UnaryOp::Gelu:  // exact GELU: x * Phi(x)
      return unary_loop<T>(out, a, [](T x) { return T(0.5) * x * (T(1) + std::erf(x * T(M_SQRT1_2))); });
    default: break;
  }
  throw InternalError("cpu unary: op not handled");
}

template <typename T>
void unary_any(UnaryOp op, const TensorView& out, const TensorView& a) {
  if constexpr (std::is_same_v<T, bool>) {
    throw DTypeError("unary ops are not defined for bool tensors");
  } else {
    switch (op) {
      case UnaryOp::Neg: return unary_loop<T>(out, a, [](T x) { return T(-x); });
      case UnaryOp::Abs: return unary_loop<T>(out, a, [](T x) { return x < T(0) ? T(-x) : x; });
      case UnaryOp::Relu:  // NaN stays NaN, as in PyTorch
        return unary_loop<T>(out, a, [](T x) { return x < T(0) ? T(0) : x; });
      case UnaryOp::Sign: return unary_loop<T>(out, a, [](T x) { return T((T(0) < x) - (x < T(0))); });
      default: break;
    }
    if constexpr (std::is_floating_point_v<T>) return floating_unary<T>(op, out, a);
    else throw DTypeError("this unary op needs a floating dtype");
  }
}

}  // namespace

void CpuBackend::binary(const ExecContext&, BinaryOp op, const TensorView& out, const TensorView& a,
                        const TensorView& b) {
  EMBER_DISPATCH_ALL(a.dtype, "binary", [&] {
    if (is_comparison(op)) comparison<scalar_t>(op, out, a, b);
    else arithmetic<scalar_t>(op, out, a, b);
  });
}

void CpuBackend::unary(const ExecContext&, UnaryOp op, const TensorView& out, const TensorView& a) {
  EMBER_DISPATCH_ALL(a.dtype, "unary", [&] { unary_any<scalar_t>(op, out, a); });
}

void CpuBackend::where(const ExecContext&, const TensorView& out, const TensorView& cond, const TensorView& a,
                       const TensorView& b) {
  EMBER_DISPATCH_ALL(out.dtype, "where", [&] {
    scalar_t* o = out.ptr<scalar_t>();
    const bool* c = cond.ptr<bool>();
    const scalar_t* pa = a.ptr<scalar_t>();
    const scalar_t* pb = b.ptr<scalar_t>();
    parallel_for_each_row<4>(out.shape, {&out.strides, &cond.strides, &a.strides, &b.strides},
                    [&](int64_t n, auto off, auto st) {
                      for (int64_t i = 0; i < n; ++i)
                        o[off[0] + i * st[0]] = c[off[1] + i * st[1]] ? pa[off[2] + i * st[2]] : pb[off[3] + i * st[3]];
                    });
  });
}

}  // namespace ember::kernels::cpu
