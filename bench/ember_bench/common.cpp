#include "common.h"

#include <cmath>
#include <cstdint>
#include <vector>

namespace ember::bench {

Tensor uniform(const Shape& shape, uint64_t seed, Device device, double lo, double hi) {
  Generator g(seed);
  Tensor t = rand(shape, {}, &g) * (hi - lo) + lo;
  return device.is_cpu() ? t : t.to(device);
}

Impl backend_impl(const std::string& label, DeviceType type, const std::string& backend, bool vendor) {
  Impl impl;
  impl.name = label;
  impl.vendor = vendor;
  impl.select = [type, backend] {
    const std::string old = registered_backends(type).empty() ? "" : active_backend(type).name();
    set_backend(type, backend);
    return std::function<void()>([type, old] { set_backend(type, old); });
  };
  return impl;
}

std::string dims(const std::vector<int64_t>& d) {
  std::string s;
  for (size_t i = 0; i < d.size(); ++i) s += (i ? "x" : "") + std::to_string(d[i]);
  return s;
}

bool has_backend(DeviceType type, const std::string& name) {
  for (const std::string& n : registered_backends(type))
    if (n == name) return true;
  return false;
}

std::vector<Impl> with_vendor(std::vector<Impl> impls, const std::string& label) {
  if (has_backend(DeviceType::CUDA, "cudnn")) impls.push_back(backend_impl(label, DeviceType::CUDA, "cudnn", true));
  return impls;
}

Problem device_problem(std::string family, std::string name, std::string shape, double flops, double bytes,
                       double tol, std::function<Tensors()> inputs, TensorsFn f, std::vector<Impl> impls,
                       TensorsFn timed) {
  Problem p;
  p.family = std::move(family);
  p.name = std::move(name);
  p.shape = std::move(shape);
  p.flops = flops;
  p.bytes = bytes;
  p.tol = tol;
  p.impls = std::move(impls);
  p.prepare = [inputs, f, timed] { return reference_instance(inputs(), Device("cuda:0"), f, timed); };
  return p;
}

std::unique_ptr<Instance> reference_instance(const Tensors& cpu, Device device, const TensorsFn& f,
                                             const TensorsFn& timed) {
  Tensors dev, cpu64;
  for (const Tensor& t : cpu) {
    dev.push_back(t.defined() ? t.to(device) : t);
    cpu64.push_back(t.defined() && is_floating(t.dtype()) ? t.to(DType::Float64) : t);
  }
  Tensors ref;
  for (const Tensor& r : f(cpu64)) ref.push_back(flat64({r}));
  auto in = std::make_unique<Instance>();
  const TensorsFn run = timed ? timed : f;
  in->op.run = [run, dev] { (void)run(dev); };
  in->op.result = [f, dev] { return flat64(f(dev)); };
  // Each output against its own reference: a small output (a batch norm's
  // mean) must not hide inside a large one's scale.
  in->error = [ref](const Tensor& x) {
    double worst = 0;
    int64_t at = 0;
    for (const Tensor& r : ref) {
      worst = std::max(worst, max_rel_error(x.narrow(0, at, r.numel()), r));
      at += r.numel();
    }
    EMBER_CHECK(at == x.numel(), ValueError, "a result of ", x.numel(), " elements against references of ", at);
    return worst;
  };
  return in;
}

Problem copy_problem(Device device, int64_t n) {
  Problem p;
  p.family = "ceiling";
  p.name = "copy";
  p.shape = std::to_string(n);
  p.bytes = 8.0 * double(n);
  p.tol = 0;
  const std::string label = device.is_cpu() ? "ember copy" : "cudaMemcpy";
  p.impls = {backend_impl(label, device.type, "ember", false)};
  p.prepare = [device, n] {
    const Tensor a = uniform({n}, 1, device);
    auto in = std::make_unique<Instance>();
    in->op = {[a] { (void)a.clone(); }, [a] { return a.clone().to(Device("cpu")); }};
    const Tensor ref = a.to(Device("cpu"));
    in->error = [ref](const Tensor& x) { return max_rel_error(x, ref); };
    return in;
  };
  return p;
}

Problem gemm_problem(const std::string& family, const std::string& name, int64_t m, int64_t k, int64_t n,
                     bool b_transposed, Device device, std::vector<Impl> impls) {
  Problem p;
  p.family = family;
  p.name = name;
  p.shape = dims({m, k, n}) + (b_transposed ? " (b^T)" : "");
  p.flops = 2.0 * double(m) * double(n) * double(k);
  p.bytes = 4.0 * double(m * k + k * n + m * n);
  // float32 sums of K products: the error grows like sqrt(K) unit roundoffs
  // of the largest partial sum; 1e-4 of the output's scale holds to K = 8192.
  p.tol = 1e-4;
  p.impls = std::move(impls);
  p.prepare = [=] {
    const Tensor a = uniform({m, k}, 1, device);
    const Tensor b = b_transposed ? uniform({n, k}, 2, device).t() : uniform({k, n}, 2, device);
    auto in = std::make_unique<Instance>();
    in->op.run = [a, b] { (void)matmul(a, b); };
    in->op.result = [a, b] { return matmul(a, b).to(Device("cpu")); };
    const Tensor ac = a.to(Device("cpu")), bc = contiguous(b.to(Device("cpu")));
    in->error = [ac, bc, m, k, n](const Tensor& c) {
      const Tensor cc = contiguous(c);
      const float *pa = ac.data_ptr<float>(), *pb = bc.data_ptr<float>(), *pc = cc.data_ptr<float>();
      // 64 entries in float64, corners included.
      double diff = 0, scale = 0;
      for (int s = 0; s < 64; ++s) {
        const int64_t i = (s / 8) * (m - 1) / 7, j = (s % 8) * (n - 1) / 7;
        double want = 0;
        for (int64_t x = 0; x < k; ++x) want += double(pa[i * k + x]) * double(pb[x * n + j]);
        const double d = std::abs(double(pc[i * n + j]) - want);
        diff = std::isnan(d) ? INFINITY : std::max(diff, d);
        scale = std::max(scale, std::abs(want));
      }
      // Freivalds' check, for every entry at once: C v against A (B v) in
      // float64 for a random v. A wrong entry anywhere (one tile, one
      // thread's corner) changes C v unless v is orthogonal to the error,
      // which a random v is not. O(mk + kn + mn) where the product is O(mkn).
      std::vector<double> v(static_cast<size_t>(n)), bv(static_cast<size_t>(k), 0.0);
      uint64_t state = 0x9E3779B97F4A7C15ull;
      for (double& e : v) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        e = double(state >> 11) / double(uint64_t{1} << 53) * 2 - 1;
      }
      for (int64_t x = 0; x < k; ++x)
        for (int64_t j = 0; j < n; ++j) bv[x] += double(pb[x * n + j]) * v[j];
      double fdiff = 0, fscale = 0;
      for (int64_t i = 0; i < m; ++i) {
        double want = 0, got = 0;
        for (int64_t x = 0; x < k; ++x) want += double(pa[i * k + x]) * bv[x];
        for (int64_t j = 0; j < n; ++j) got += double(pc[i * n + j]) * v[j];
        const double d = std::abs(got - want);
        fdiff = std::isnan(d) ? INFINITY : std::max(fdiff, d);
        fscale = std::max(fscale, std::abs(want));
      }
      const double sampled = diff == 0 ? 0.0 : scale > 0 ? diff / scale : INFINITY;
      const double whole = fdiff == 0 ? 0.0 : fscale > 0 ? fdiff / fscale : INFINITY;
      return std::max(sampled, whole);
    };
    return in;
  };
  return p;
}

}  // namespace ember::bench
