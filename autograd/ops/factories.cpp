// Factories: tensors made from nothing, from host data, or from the random
// generator (Note [Philox streams] in core/generator.h).
#include <cmath>
#include <cstring>

#include "common.h"

namespace ember {

namespace {

Tensor finish(Tensor t, const TensorOptions& opts) {
  if (opts.requires_grad) t.requires_grad_(true);
  return t;
}

}  // namespace

Tensor empty(const Shape& shape, TensorOptions opts) {
  return finish(prim::empty(shape, opts.dtype, opts.device), opts);
}

Tensor full(const Shape& shape, Scalar value, TensorOptions opts) {
  Tensor t = prim::empty(shape, opts.dtype, opts.device);
  prim::fill_nograd(t, value);
  return finish(t, opts);
}

Tensor zeros(const Shape& shape, TensorOptions opts) { return full(shape, 0, opts); }
Tensor ones(const Shape& shape, TensorOptions opts) { return full(shape, 1, opts); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), {.dtype = t.dtype(), .device = t.device()}); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), {.dtype = t.dtype(), .device = t.device()}); }
Tensor full_like(const Tensor& t, Scalar value) {
  return full(t.shape(), value, {.dtype = t.dtype(), .device = t.device()});
}
Tensor scalar_tensor(Scalar value, TensorOptions opts) { return full({}, value, opts); }

Tensor arange(Scalar end) { return arange(0, end, 1); }

Tensor arange(Scalar start, Scalar end, Scalar step) {
  bool floating = start.is_floating() || end.is_floating() || step.is_floating();
  return arange(start, end, step, {.dtype = floating ? kDefaultFloat : DType::Int64});
}

Tensor arange(Scalar start, Scalar end, Scalar step, TensorOptions opts) {
  const double s = start.to_double(), e = end.to_double(), st = step.to_double();
  EMBER_CHECK(std::isfinite(s) && std::isfinite(e) && std::isfinite(st), ValueError,
              "arange: start, end and step must be finite");
  EMBER_CHECK(st != 0, ValueError, "arange: step must be nonzero");
  EMBER_CHECK((e - s) * st >= 0 || e == s, ValueError, "arange: the step ", st, " goes away from end ", e,
              " starting at ", s);
  const int64_t n = static_cast<int64_t>(std::ceil((e - s) / st));
  return finish(prim::arange(n, s, st, opts.dtype, opts.device), opts);
}

namespace detail {
Tensor from_host(const void* data, DType dtype, int64_t n, const Shape& shape_in, TensorOptions opts) {
  Shape shape = shape_in == Shape{-1} ? Shape{n} : shape_in;
  EMBER_CHECK(numel(shape) == n, ShapeError, "from_vector: ", n, " values do not fill shape ", shape_str(shape));
  Tensor host = prim::empty(shape, dtype, kCPU);
  if (n > 0) std::memcpy(host.raw_data(), data, static_cast<size_t>(n) * dtype_size(dtype));
  return finish(to(prim::cast_nograd(host, opts.dtype), opts.device), opts);
}
}  // namespace detail

Tensor rand(const Shape& shape, TensorOptions opts, Generator* gen) {
  EMBER_CHECK(is_floating(opts.dtype), DTypeError, "rand: expected a floating dtype, got ", dtype_name(opts.dtype));
  return finish(prim::random_uniform(shape, opts.dtype, opts.device, gen ? *gen : default_generator()), opts);
}

Tensor randn(const Shape& shape, TensorOptions opts, Generator* gen) {
  EMBER_CHECK(is_floating(opts.dtype), DTypeError, "randn: expected a floating dtype, got ", dtype_name(opts.dtype));
  return finish(prim::random_normal(shape, opts.dtype, opts.device, gen ? *gen : default_generator()), opts);
}

// low + floor(u * (high - low)) from float64 uniforms u, capped at high - 1
// (u * range may round up to range).
Tensor randint(int64_t low, int64_t high, const Shape& shape, TensorOptions opts, Generator* gen) {
  EMBER_CHECK(low < high, ValueError, "randint: expected low < high, got [", low, ", ", high, ")");
  NoGradGuard no_grad;
  Tensor u = prim::random_uniform(shape, DType::Float64, opts.device, gen ? *gen : default_generator());
  Tensor k = prim::cast_nograd(u * static_cast<double>(high - low), DType::Int64);
  Tensor out = minimum(k, scalar_tensor(high - low - 1, {.dtype = DType::Int64, .device = opts.device})) + low;
  return finish(to(out, opts.dtype), opts);
}

}  // namespace ember
