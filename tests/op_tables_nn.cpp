// The op tables beyond the forward ones (op_tables.h): gradcheck over
// grad_cases.h, the nn ops against PyTorch's values (tests/fixtures/nn,
// written by tests/make_nn_fixtures.py), the random entries against Note
// [Philox streams], and the fused optimizer updates against the op-by-op
// reference path.
#include <cstring>
#include <fstream>

#include <ember/kernels/cuda.h>
#include <nlohmann/json.hpp>

#include "grad_cases.h"
#include "op_tables.h"

namespace ember::test {

namespace {

using json = nlohmann::json;

std::string nn_fixture_path() { return std::string(EMBER_SOURCE_DIR) + "/tests/fixtures/nn/functional.json"; }

Tensor tensor_of(const json& j, DType dtype, Device device) {
  Shape shape = j.at("shape").get<Shape>();
  if (dtype == DType::Int64) return from_vector(j.at("values").get<std::vector<int64_t>>(), shape).to(device);
  return from_vector(j.at("values").get<std::vector<double>>(), shape).to(dtype).to(device);
}

Pair pair_of(const json& j) { return {j[0].get<int64_t>(), j[1].get<int64_t>()}; }

Reduction reduction_of(const json& opts) {
  std::string r = opts.value("reduction", "mean");
  return r == "none" ? Reduction::None : r == "sum" ? Reduction::Sum : Reduction::Mean;
}

bool starts(const std::string& name, const char* prefix) { return name.rfind(prefix, 0) == 0; }

// The primitives a fixture case exercises (Note [Tables on every backend]).
std::vector<Primitive> fixture_primitives(const std::string& name) {
  if (starts(name, "conv2d"))
    return {Primitive::Conv2dForward, Primitive::Conv2dBackwardInput, Primitive::Conv2dBackwardWeight};
  if (starts(name, "max_pool2d")) return {Primitive::MaxPool2dForward, Primitive::MaxPool2dBackward};
  if (starts(name, "avg_pool2d") || starts(name, "adaptive"))
    return {Primitive::AvgPool2dForward, Primitive::AvgPool2dBackward, Primitive::Reduce};
  if (starts(name, "batch_norm")) return {Primitive::BatchNormForward, Primitive::BatchNormBackward};
  if (starts(name, "cross_entropy")) return {Primitive::CrossEntropyForward, Primitive::CrossEntropyBackward};
  if (starts(name, "nll_loss")) return {Primitive::Gather, Primitive::ScatterAdd};
  return {Primitive::Binary, Primitive::Unary, Primitive::Where, Primitive::Reduce};
}

// Runs the Ember op named by the case on its inputs.
Tensor run_case(const std::string& name, const json& opts, std::map<std::string, Tensor>& in) {
  if (starts(name, "conv2d"))
    return conv2d(in["x"], in["weight"], in.count("bias") ? in["bias"] : Tensor(),
                  {pair_of(opts["stride"]), pair_of(opts["padding"]), pair_of(opts["dilation"]), opts["groups"]});
  if (starts(name, "max_pool2d"))
    return max_pool2d(in["x"], pair_of(opts["kernel"]), pair_of(opts["stride"]), pair_of(opts["padding"]),
                      pair_of(opts["dilation"]));
  if (starts(name, "avg_pool2d"))
    return avg_pool2d(in["x"], pair_of(opts["kernel"]), pair_of(opts["stride"]), pair_of(opts["padding"]));
  if (starts(name, "adaptive_avg_pool2d")) return adaptive_avg_pool2d(in["x"], pair_of(opts["output_size"]));
  if (starts(name, "cross_entropy"))
    return cross_entropy(in["logits"], in["target"], opts["label_smoothing"], reduction_of(opts));
  if (starts(name, "nll_loss")) return nll_loss(in["logp"], in["target"], reduction_of(opts));
  if (starts(name, "mse_loss")) return mse_loss(in["a"], in["b"], reduction_of(opts));
  if (starts(name, "smooth_l1_loss")) return smooth_l1_loss(in["a"], in["b"], opts["beta"], reduction_of(opts));
  if (starts(name, "binary_cross_entropy_with_logits"))
    return binary_cross_entropy_with_logits(in["a"] * opts["scale"].get<double>(), in["y"], reduction_of(opts));
  FAIL("no Ember op for fixture case " << name);
  return Tensor();
}

// One case in one dtype on b's device: output, running statistics (batch
// norm) and input gradients against PyTorch's float64 values.
void run_fixture_case(const BackendUnderTest& b, const json& c, DType dt) {
  const std::string name = c["name"];
  const Tolerance out_tol = dt == DType::Float32 ? Tolerance{1e-4, 1e-4} : Tolerance{1e-10, 1e-12};
  const Tolerance grad_tol = dt == DType::Float32 ? Tolerance{1e-4, 1e-4} : Tolerance{1e-9, 1e-11};
  INFO("backend " << b.label() << ", case " << name << ", " << dtype_name(dt));
  std::map<std::string, Tensor> in;
  for (auto& [k, v] : c["inputs"].items()) {
    const DType input_dt = c["input_dtypes"][k] == "int64" ? DType::Int64 : dt;
    in[k] = tensor_of(v, input_dt, b.device);
    if (c["grads"].contains(k)) in[k].requires_grad_();
  }
  Tensor out, rm, rv;
  if (starts(name, "batch_norm")) {
    rm = tensor_of(c["running_before"]["mean"], dt, b.device);
    rv = tensor_of(c["running_before"]["var"], dt, b.device);
    const json& o = c["options"];
    out = batch_norm(in["x"], rm, rv, in["weight"], in["bias"], o["training"], o["momentum"], o["eps"]);
  } else {
    out = run_case(name, c["options"], in);
  }
  REQUIRE(out.device() == b.device);
  check_close(out, ref_of(tensor_of(c["output"], DType::Float64, kCPU)), out_tol.rtol, out_tol.atol, "output");
  if (rm.defined()) {
    check_close(rm, ref_of(tensor_of(c["running_after"]["mean"], DType::Float64, kCPU)), out_tol.rtol, out_tol.atol,
                "running_mean");
    check_close(rv, ref_of(tensor_of(c["running_after"]["var"], DType::Float64, kCPU)), out_tol.rtol, out_tol.atol,
                "running_var");
  }
  (out * tensor_of(c["cotangent"], dt, b.device)).sum().backward();
  for (auto& [k, g] : c["grads"].items())
    check_close(in[k].grad(), ref_of(tensor_of(g, DType::Float64, kCPU)), grad_tol.rtol, grad_tol.atol, "grad " + k);
}

// Units in the last place between two numbers of one sign, in `dt`.
int64_t ulps(double a, double b, DType dt) {
  if (dt == DType::Float32) {
    const float fa = float(a), fb = float(b);
    int32_t ia, ib;
    std::memcpy(&ia, &fa, 4);
    std::memcpy(&ib, &fb, 4);
    return std::abs(int64_t(ia) - int64_t(ib));
  }
  int64_t ia, ib;
  std::memcpy(&ia, &a, 8);
  std::memcpy(&ib, &b, 8);
  return std::abs(ia - ib);
}

}  // namespace

void run_gradcheck_table(const BackendUnderTest& b, bool gradgrad) {
  UseBackend use(b);
  int ran = 0;
  for (const GradCase& c : grad_cases()) {
    if (!b.tests_row(c.primitives())) continue;
    INFO("backend " << b.label() << ", case: " << c.name << " (" << layout_name(c.layout) << ")");
    // The leaves stay on the CPU (gradcheck perturbs them there); the op
    // runs on b's device, and the transfers are recorded ops.
    auto on_b = [&](const std::vector<Tensor>& x) { return c.fn(on_device(x, b.device)).to(kCPU); };
    if (gradgrad && !c.gradgrad) continue;
    GradcheckResult r =
        gradgrad ? gradgradcheck(on_b, grad_inputs(c), c.opts) : gradcheck(on_b, grad_inputs(c), c.opts);
    INFO(r.message);
    CHECK(r.ok);
    ++ran;
  }
  INFO("backend " << b.label());
  CHECK(ran > 0);  // every backend has some row of its own
}

void run_nn_fixture_table(const BackendUnderTest& b) {
  std::ifstream f(nn_fixture_path());
  REQUIRE(f.good());
  const json fixture = json::parse(f);
  UseBackend use(b);
  int checked = 0;
  for (const json& c : fixture["cases"]) {
    if (!b.tests_row(fixture_primitives(c["name"]))) continue;
    for (DType dt : {DType::Float64, DType::Float32}) run_fixture_case(b, c, dt);
    ++checked;
  }
  // Every case once the backend owns all the window primitives and batch
  // norm; the conv cases (and the activations and losses, or the pooling
  // and norm cases of a partial backend such as cuda:cudnn, which leaves
  // max pooling to its base) before that.
  const bool owns_every_window = b.owns_any({Primitive::MaxPool2dForward}) &&
                                 b.owns_any({Primitive::AvgPool2dForward}) &&
                                 b.owns_any({Primitive::BatchNormForward});
  if (b.owns_any({Primitive::Conv2dForward})) CHECK(checked >= (owns_every_window ? 20 : 10));
  if (b.owns_any({Primitive::Binary})) CHECK(checked >= 5);  // the activation and loss cases
}

// Note [Philox streams]: uniform element i is block offset + i/2's words
// (2(i%2), 2(i%2)+1) as 53 bits; recomputed here on the host.
void run_random_table(const BackendUnderTest& b) {
  if (!b.owns_any({Primitive::RandomUniform, Primitive::RandomNormal, Primitive::DropoutMask})) return;
  UseBackend use(b);
  const uint64_t seed = 1234;
  const int64_t n = 1001;  // odd: the last block's second number is reserved but unused
  auto uniform = [&](uint64_t offset, int64_t i) {
    const auto w = Generator::philox(seed, offset + static_cast<uint64_t>(i / 2));
    const int j = static_cast<int>(i % 2);
    return static_cast<double>((static_cast<uint64_t>(w[2 * j]) << 32 | w[2 * j + 1]) >> 11) * 0x1.0p-53;
  };
  for (DType dt : {DType::Float32, DType::Float64}) {
    INFO("backend " << b.label() << ", " << dtype_name(dt));
    Generator gen(seed);
    gen.set_offset(7);
    std::vector<double> u = rand({n}, {.dtype = dt, .device = b.device}, &gen).to(DType::Float64).to_vector<double>();
    CHECK(gen.offset() == 7 + (n + 1) / 2);  // two numbers per block
    for (int64_t i = 0; i < n; ++i) {
      const double want = dt == DType::Float32 ? double(float(uniform(7, i))) : uniform(7, i);
      if (u[i] != want) FAIL_CHECK("rand element " << i << ": got " << u[i] << ", Philox gives " << want);
    }
    std::vector<double> z = randn({n}, {.dtype = dt, .device = b.device}, &gen).to(DType::Float64).to_vector<double>();
    const uint64_t normal_offset = 7 + (n + 1) / 2;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t pair = i - i % 2;
      const double r = std::sqrt(-2.0 * std::log1p(-uniform(normal_offset, pair)));
      const double theta = 2.0 * M_PI * uniform(normal_offset, pair + 1);
      double want = i % 2 == 0 ? r * std::cos(theta) : r * std::sin(theta);
      if (dt == DType::Float32) want = double(float(want));
      // Identical where the backend shares these libm functions (the CPU,
      // the SIMT emulator); within 2 ulp where it has its own (a GPU's;
      // Note [Philox streams]).
      const int64_t allowed = b.device.is_cpu() || cuda::is_emulated() ? 0 : 2;
      if (ulps(z[i], want, dt) > allowed)
        FAIL_CHECK("randn element " << i << ": got " << z[i] << ", expected " << want);
    }
    const double p = 0.3;
    const uint64_t mask_offset = gen.offset();
    Tensor x = ones({n}, {.dtype = dt, .device = b.device});
    std::vector<double> m = dropout(x, p, true, &gen).to(DType::Float64).to_vector<double>();
    for (int64_t i = 0; i < n; ++i) {
      const double u = uniform(mask_offset, i);
      double want = u < 1 - p ? 1.0 / (1 - p) : 0.0;
      if (dt == DType::Float32) want = float(u) < float(1 - p) ? double(1.0f / float(1 - p)) : 0.0;
      if (m[i] != want) FAIL_CHECK("dropout element " << i << ": got " << m[i] << ", expected " << want);
    }
  }
}

// The backend's fused update against the op-by-op reference path on the
// CPU (Note [Fused optimizer updates]): bit for bit on the CPU, where both
// round the same way, within the elementwise tolerance elsewhere.
void run_optimizer_table(const BackendUnderTest& b) {
  if (!b.owns_any({Primitive::SgdUpdate, Primitive::AdamUpdate})) return;
  using Make = std::function<std::unique_ptr<optim::Optimizer>(std::vector<Tensor>)>;
  using optim::SGD, optim::Adam, optim::AdamW;
  const std::vector<std::pair<const char*, Make>> cases = {
      {"sgd nesterov wd",
       [](auto p) {
         return std::make_unique<SGD>(p, optim::SGDOptions{.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01,
                                                           .nesterov = true});
       }},
      {"sgd dampening",
       [](auto p) {
         return std::make_unique<SGD>(p, optim::SGDOptions{.lr = 0.1, .momentum = 0.5, .dampening = 0.3});
       }},
      {"adam amsgrad wd",
       [](auto p) {
         return std::make_unique<Adam>(p, optim::AdamOptions{.lr = 0.01, .weight_decay = 0.1, .amsgrad = true});
       }},
      {"adamw",
       [](auto p) { return std::make_unique<AdamW>(p, optim::AdamWOptions{.lr = 0.01, .weight_decay = 0.1}); }},
  };
  UseBackend use(b);
  for (const auto& [name, make] : cases)
    for (DType dt : {DType::Float32, DType::Float64}) {
      INFO("backend " << b.label() << ", " << name << ", " << dtype_name(dt));
      Tensor fused_p = random_input({7, 5}, dt, Layout::Contiguous, -1, 1, 3, b.device).detach().requires_grad_();
      Tensor ref_p = fused_p.to(kCPU).detach().clone().requires_grad_();
      auto fused = make({fused_p}), ref = make({ref_p});
      ref->set_fused(false);
      for (int step = 0; step < 3; ++step) {
        Tensor g = random_input({7, 5}, dt, Layout::Contiguous, -1, 1, 10 + step);
        fused_p.set_grad(g.to(b.device));
        ref_p.set_grad(g.clone());
        fused->step();
        ref->step();
      }
      const Tolerance tol = b.device.is_cpu() ? Tolerance{0, 0} : elementwise_tolerance(dt);
      check_close(fused_p, ref_of(ref_p), tol.rtol, tol.atol, "parameters after 3 steps");
    }
}

}  // namespace ember::test
