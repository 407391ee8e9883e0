// ember-bench's CPU mode: Ember's CPU kernels against cpu:eigen (the vendor
// of the CPU side, matmul only) and a naive reference written as plain
// loops. The cases are those of the retired ember-bench-micro, under the
// same names, so bench/cpu_micro.sh and its PyTorch twin
// (bench/torch_micro.py) still line up row by row.
#include <algorithm>
#include <cmath>
#include <memory>

#include "common.h"
#include "problems.h"

namespace ember::bench {

namespace {

const Device kCpu("cpu");
const int64_t kStreamN = int64_t{1} << 24;  // 16M floats, 64 MiB per tensor
const int64_t kSmall = 256;                 // the dispatch-cost cases

Impl ember_impl() { return backend_impl("ember", DeviceType::CPU, "ember", false); }
Impl naive_impl(int64_t size, int64_t limit) {
  Impl impl{"naive", false, "", [] { return [] {}; }};
  if (size > limit) impl.skip = "the naive loop runs only up to " + std::to_string(limit);
  return impl;
}

// Tells the compiler that `p` (and the memory it points to) is read: a
// naive loop whose result nobody reads would be deleted as dead code, and
// its row would time nothing (google benchmark's DoNotOptimize).
inline void keep(const void* p) { asm volatile("" : : "g"(p) : "memory"); }

// The naive loops, in T: float32 for the naive rows, float64 for the
// reference. They write into `out`, allocated once, so that the naive rows
// time the loop and not a fresh 64 MiB allocation's page faults.
template <typename T>
void naive_matmul(const float* a, const float* b, int64_t m, int64_t k, int64_t n, T* c) {
  std::fill(c, c + m * n, T(0));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t x = 0; x < k; ++x)
      for (int64_t j = 0; j < n; ++j) c[i * n + j] += T(a[i * k + x]) * T(b[x * n + j]);
}
template <typename T>
void naive_softmax(const float* a, int64_t rows, int64_t cols, T* y) {
  for (int64_t r = 0; r < rows; ++r) {
    T mx = -INFINITY, z = 0;
    for (int64_t j = 0; j < cols; ++j) mx = std::max(mx, T(a[r * cols + j]));
    for (int64_t j = 0; j < cols; ++j) z += (y[r * cols + j] = std::exp(T(a[r * cols + j]) - mx));
    for (int64_t j = 0; j < cols; ++j) y[r * cols + j] /= z;
  }
}
template <typename T>
Tensor as_tensor(const std::vector<T>& v, const Shape& shape) {
  return from_vector(v, shape);
}

// A naive implementation: `loop` writes its n results into a buffer made
// once; the row times the loop, the check reads the buffer.
Op naive_op(int64_t n, const Shape& shape, std::function<void(float*)> loop) {
  auto out = std::make_shared<std::vector<float>>(static_cast<size_t>(n));
  return {[out, loop] {
            loop(out->data());
            keep(out->data());
          },
          [out, loop, shape] {
            loop(out->data());
            return as_tensor(*out, shape);
          }};
}

Problem matmul(const std::string& name, int64_t m, int64_t k, int64_t n, bool b_t) {
  Problem p = gemm_problem("matmul", name, m, k, n, b_t, kCpu,
                           {ember_impl(), backend_impl("eigen", DeviceType::CPU, "eigen", true)});
  if (!b_t) {  // the naive loop, on square matrices up to 512
    p.impls.push_back(naive_impl(m, 512));
    auto prepare = p.prepare;
    p.prepare = [prepare, m, k, n] {
      auto in = prepare();
      const Tensor a = uniform({m, k}, 1, kCpu), b = uniform({k, n}, 2, kCpu);
      in->own["naive"] = naive_op(m * n, {m, n}, [a, b, m, k, n](float* c) {
        naive_matmul<float>(a.data_ptr<float>(), b.data_ptr<float>(), m, k, n, c);
      });
      return in;
    };
  }
  return p;
}

// An op over the stream tensors (or small ones), checked against a float64
// reference computed once by `ref`.
Problem stream(const std::string& family, const std::string& name, const std::string& shape, double bytes,
               double flops, double tol, std::function<std::unique_ptr<Instance>()> prepare, bool naive) {
  Problem p;
  p.family = family;
  p.name = name;
  p.shape = shape;
  p.bytes = bytes;
  p.flops = flops;
  p.tol = tol;
  p.prepare = std::move(prepare);
  p.impls = {ember_impl()};
  if (naive) p.impls.push_back(naive_impl(0, 1));
  return p;
}

std::unique_ptr<Instance> add_instance(int64_t n, bool out_variant) {
  const Tensor a = uniform({n}, 3, kCpu), b = uniform({n}, 4, kCpu);
  Tensor c = zeros({n});
  auto in = std::make_unique<Instance>();
  if (out_variant)
    in->op = {[a, b, c]() mutable { add_out(c, a, b); }, [a, b, c]() mutable { return add_out(c, a, b).clone(); }};
  else
    in->op = {[a, b] { (void)add(a, b); }, [a, b] { return add(a, b); }};
  in->own["naive"] = naive_op(n, {n}, [a, b, n](float* c) {
    const float *pa = a.data_ptr<float>(), *pb = b.data_ptr<float>();
    for (int64_t i = 0; i < n; ++i) c[i] = pa[i] + pb[i];
  });
  const Tensor ref = add(a.to(DType::Float64), b.to(DType::Float64));
  in->error = [ref](const Tensor& x) { return max_rel_error(x, ref); };
  return in;
}

std::unique_ptr<Instance> sum_instance(int64_t n) {
  const Tensor a = uniform({n}, 5, kCpu, 0, 1);
  auto in = std::make_unique<Instance>();
  in->op = {[a] { (void)sum(a); }, [a] { return sum(a); }};
  in->own["naive"] = naive_op(1, {}, [a, n](float* out) {
    double s = 0;  // a double accumulator: a float one drifts past 1e-5 over 16M terms
    const float* pa = a.data_ptr<float>();
    for (int64_t i = 0; i < n; ++i) s += pa[i];
    *out = static_cast<float>(s);
  });
  double want = 0;
  for (int64_t i = 0; i < n; ++i) want += a.data_ptr<float>()[i];
  const Tensor ref = from_vector(std::vector<double>{want}, {});
  in->error = [ref](const Tensor& x) { return max_rel_error(x, ref); };
  return in;
}

std::unique_ptr<Instance> softmax_instance(int64_t rows, int64_t cols) {
  const Tensor a = uniform({rows, cols}, 6, kCpu, -5, 5);
  auto in = std::make_unique<Instance>();
  in->op = {[a] { (void)softmax(a, 1); }, [a] { return softmax(a, 1); }};
  in->own["naive"] = naive_op(rows * cols, {rows, cols}, [a, rows, cols](float* y) {
    naive_softmax<float>(a.data_ptr<float>(), rows, cols, y);
  });
  std::vector<double> want(static_cast<size_t>(rows * cols));
  naive_softmax<double>(a.data_ptr<float>(), rows, cols, want.data());
  const Tensor ref = as_tensor(want, {rows, cols});
  in->error = [ref](const Tensor& x) { return max_rel_error(x, ref); };
  return in;
}

// The small ops: what is timed is dispatch, so the check is the op's value
// against the same op in float64.
Problem small(const std::string& name, std::function<Tensor(const Tensor&)> f, double bytes) {
  Problem p = stream("small", name, std::to_string(kSmall), bytes, 0, 1e-6, [f] {
    Tensor a = uniform({kSmall}, 3, kCpu);
    auto in = std::make_unique<Instance>();
    in->op = {[a, f] { (void)f(a); }, [a, f] { return f(a); }};
    const Tensor ref = f(a.to(DType::Float64));
    in->error = [ref](const Tensor& x) { return max_rel_error(x, ref); };
    return in;
  }, false);
  p.hot = true;
  return p;
}

}  // namespace

std::vector<Problem> cpu_problems() {
  std::vector<Problem> ps;
  for (int64_t n : {64, 128, 256, 512, 1024, 2048}) ps.push_back(matmul("matmul_" + std::to_string(n), n, n, n, false));
  // LeNet at batch 64, its forward GEMMs: conv = im2col rows (N*L, C*kh*kw) @ weight^T.
  ps.push_back(matmul("lenet_conv1", 64 * 28 * 28, 1 * 5 * 5, 6, true));  // 28x28 out, pad 2
  ps.push_back(matmul("lenet_conv2", 64 * 10 * 10, 6 * 5 * 5, 16, true));
  ps.push_back(matmul("lenet_fc1", 64, 400, 120, true));
  ps.push_back(matmul("lenet_fc2", 64, 120, 84, true));
  ps.push_back(matmul("lenet_fc3", 64, 84, 10, true));
  const std::string sn = std::to_string(kStreamN);
  const double n = double(kStreamN);
  ps.push_back(stream("add", "add_alloc", sn, 12 * n, n, 1e-7, [] { return add_instance(kStreamN, false); }, true));
  ps.push_back(stream("add", "add_out", sn, 12 * n, n, 1e-7, [] { return add_instance(kStreamN, true); }, true));
  ps.push_back(stream("sum", "sum", sn, 4 * n + 4, n, 1e-5, [] { return sum_instance(kStreamN); }, true));
  ps.push_back(stream("softmax", "softmax", "4096x1000", 8.0 * 4096 * 1000, 5.0 * 4096 * 1000, 1e-5,
                      [] { return softmax_instance(4096, 1000); }, true));
  // Small ops: the time is the per-call cost of dispatch (checks, allocation,
  // the Backend call), not the arithmetic (bench/dispatch_overhead.sh).
  ps.push_back(small("small_add", [](const Tensor& a) { return add(a, a); }, 12.0 * kSmall));
  ps.push_back(small("small_mul_scalar", [](const Tensor& a) { return a * 0.5; }, 8.0 * kSmall));
  ps.push_back(small("small_relu", [](const Tensor& a) { return relu(a); }, 8.0 * kSmall));
  ps.push_back(small("small_sum", [](const Tensor& a) { return sum(a); }, 4.0 * kSmall + 4));
  ps.push_back(small("small_softmax", [](const Tensor& a) { return softmax(a.reshape({8, 32}), 1); }, 8.0 * kSmall));
  Problem sm = matmul("small_matmul", 8, 8, 8, false);
  sm.family = "small";
  sm.hot = true;
  ps.push_back(sm);
  return ps;
}

}  // namespace ember::bench
