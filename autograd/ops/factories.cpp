// Factories: tensors made from nothing, from host data, or from the random
// generator (core/generator.h).
#include <cmath>
#include <cstring>

#include "common.h"

namespace ember {

namespace {

Tensor finish(Tensor t, const TensorOptions& opts) {
  if (opts.requires_grad) t.requires_grad_(true);
  return t;
}

// Fills a host buffer with n uniform doubles in [0, 1) (53 random bits
// each, two 32-bit Philox words per number).
std::vector<double> uniform_doubles(int64_t n, Generator& gen) {
  std::vector<double> out(static_cast<size_t>(n));
  const uint64_t blocks = static_cast<uint64_t>((n + 1) / 2);
  const uint64_t first = gen.reserve(blocks);
  for (uint64_t b = 0; b < blocks; ++b) {
    auto w = Generator::philox(gen.seed(), first + b);
    for (int j = 0; j < 2 && static_cast<int64_t>(2 * b + j) < n; ++j) {
      uint64_t bits = (static_cast<uint64_t>(w[2 * j]) << 32 | w[2 * j + 1]) >> 11;  // 53 bits
      out[2 * b + j] = static_cast<double>(bits) * 0x1.0p-53;
    }
  }
  return out;
}

Tensor from_doubles(const std::vector<double>& values, const Shape& shape, const TensorOptions& opts) {
  Tensor t = to(from_vector(values, shape, {.dtype = DType::Float64}), opts.dtype);
  return finish(to(t, opts.device), opts);
}

}  // namespace

Tensor empty(const Shape& shape, TensorOptions opts) {
  return finish(prim::empty(shape, opts.dtype, opts.device), opts);
}

Tensor full(const Shape& shape, Scalar value, TensorOptions opts) {
  Tensor t = prim::empty(shape, opts.dtype, opts.device);
  prim::fill_(t, value);
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
  Tensor t = prim::empty({n}, opts.dtype, opts.device);
  if (n > 0) prim::backend(opts.device).arange(prim::view_of(t), s, st);
  return finish(t, opts);
}

namespace detail {
Tensor from_host(const void* data, DType dtype, int64_t n, const Shape& shape_in, TensorOptions opts) {
  Shape shape = shape_in == Shape{-1} ? Shape{n} : shape_in;
  EMBER_CHECK(numel(shape) == n, ShapeError, "from_vector: ", n, " values do not fill shape ", shape_str(shape));
  Tensor host = prim::empty(shape, dtype, kCPU);
  if (n > 0) std::memcpy(host.raw_data(), data, static_cast<size_t>(n) * dtype_size(dtype));
  return finish(to(prim::cast(host, opts.dtype), opts.device), opts);
}
}  // namespace detail

Tensor rand(const Shape& shape, TensorOptions opts, Generator* gen) {
  EMBER_CHECK(is_floating(opts.dtype), DTypeError, "rand: expected a floating dtype, got ", dtype_name(opts.dtype));
  return from_doubles(uniform_doubles(numel(shape), gen ? *gen : default_generator()), shape, opts);
}

// Box-Muller: two uniforms give two independent standard normals.
Tensor randn(const Shape& shape, TensorOptions opts, Generator* gen) {
  EMBER_CHECK(is_floating(opts.dtype), DTypeError, "randn: expected a floating dtype, got ", dtype_name(opts.dtype));
  const int64_t n = numel(shape);
  std::vector<double> u = uniform_doubles(n + (n & 1), gen ? *gen : default_generator());
  std::vector<double> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; i += 2) {
    double r = std::sqrt(-2.0 * std::log1p(-u[i]));  // 1 - u is in (0, 1]: log is finite
    double theta = 2.0 * M_PI * u[i + 1];
    out[i] = r * std::cos(theta);
    if (i + 1 < n) out[i + 1] = r * std::sin(theta);
  }
  return from_doubles(out, shape, opts);
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, TensorOptions opts, Generator* gen) {
  EMBER_CHECK(low < high, ValueError, "randint: expected low < high, got [", low, ", ", high, ")");
  const int64_t n = numel(shape);
  std::vector<double> u = uniform_doubles(n, gen ? *gen : default_generator());
  std::vector<int64_t> out(static_cast<size_t>(n));
  const double range = static_cast<double>(high - low);
  for (int64_t i = 0; i < n; ++i)
    out[i] = low + std::min(static_cast<int64_t>(u[i] * range), high - low - 1);
  return finish(to(to(from_vector(out, shape), opts.dtype), opts.device), opts);
}

}  // namespace ember
