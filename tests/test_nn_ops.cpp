// Neural-network ops (conv2d, pooling, batch_norm, dropout, losses):
// outputs and gradients against values PyTorch computed for the same
// inputs (tests/fixtures/nn/functional.json, written by
// tests/make_nn_fixtures.py), plus gradcheck and error cases.
#include <fstream>

#include <nlohmann/json.hpp>

#include "support.h"

using namespace ember;
using namespace ember::test;
using json = nlohmann::json;

namespace {

std::string fixture_path(const std::string& name) {
  return std::string(EMBER_SOURCE_DIR) + "/tests/fixtures/nn/" + name;
}

Tensor tensor_of(const json& j, DType dtype = DType::Float64) {
  Shape shape = j.at("shape").get<Shape>();
  if (dtype == DType::Int64) return from_vector(j.at("values").get<std::vector<int64_t>>(), shape);
  return from_vector(j.at("values").get<std::vector<double>>(), shape);
}

Pair pair_of(const json& j) { return {j[0].get<int64_t>(), j[1].get<int64_t>()}; }

Reduction reduction_of(const json& opts) {
  std::string r = opts.value("reduction", "mean");
  return r == "none" ? Reduction::None : r == "sum" ? Reduction::Sum : Reduction::Mean;
}

// Runs the Ember op named by the case on its inputs.
Tensor run_case(const std::string& name, const json& opts, std::map<std::string, Tensor>& in) {
  auto starts = [&](const char* p) { return name.rfind(p, 0) == 0; };
  if (starts("conv2d"))
    return conv2d(in["x"], in["weight"], in.count("bias") ? in["bias"] : Tensor(),
                  {pair_of(opts["stride"]), pair_of(opts["padding"]), pair_of(opts["dilation"]), opts["groups"]});
  if (starts("max_pool2d"))
    return max_pool2d(in["x"], pair_of(opts["kernel"]), pair_of(opts["stride"]), pair_of(opts["padding"]),
                      pair_of(opts["dilation"]));
  if (starts("avg_pool2d"))
    return avg_pool2d(in["x"], pair_of(opts["kernel"]), pair_of(opts["stride"]), pair_of(opts["padding"]));
  if (starts("adaptive_avg_pool2d")) return adaptive_avg_pool2d(in["x"], pair_of(opts["output_size"]));
  if (starts("cross_entropy"))
    return cross_entropy(in["logits"], in["target"], opts["label_smoothing"], reduction_of(opts));
  if (starts("nll_loss")) return nll_loss(in["logp"], in["target"], reduction_of(opts));
  if (starts("mse_loss")) return mse_loss(in["a"], in["b"], reduction_of(opts));
  if (starts("smooth_l1_loss")) return smooth_l1_loss(in["a"], in["b"], opts["beta"], reduction_of(opts));
  if (starts("binary_cross_entropy_with_logits"))
    return binary_cross_entropy_with_logits(in["a"] * opts["scale"].get<double>(), in["y"], reduction_of(opts));
  FAIL("no Ember op for fixture case " << name);
  return Tensor();
}

}  // namespace

TEST_CASE("nn ops match PyTorch's outputs and gradients", "[nn_ops][parity]") {
  std::ifstream f(fixture_path("functional.json"));
  REQUIRE(f.good());
  json fixture = json::parse(f);
  int checked = 0;
  for (const json& c : fixture["cases"]) {
    const std::string name = c["name"];
    if (name.rfind("batch_norm", 0) == 0) continue;  // below: it also updates running statistics
    INFO("case: " << name);
    std::map<std::string, Tensor> in;
    for (auto& [k, v] : c["inputs"].items()) {
      DType dt = c["input_dtypes"][k] == "int64" ? DType::Int64 : DType::Float64;
      in[k] = tensor_of(v, dt);
      if (c["grads"].contains(k)) in[k].requires_grad_();
    }
    Tensor out = run_case(name, c["options"], in);
    check_close(out, ref_of(tensor_of(c["output"])), 1e-10, 1e-12, name + " output");
    (out * tensor_of(c["cotangent"])).sum().backward();
    for (auto& [k, g] : c["grads"].items()) check_close(in[k].grad(), ref_of(tensor_of(g)), 1e-10, 1e-12, name + " grad " + k);
    ++checked;
  }
  CHECK(checked >= 20);
}

TEST_CASE("batch_norm matches PyTorch, running statistics included", "[nn_ops][parity]") {
  std::ifstream f(fixture_path("functional.json"));
  json fixture = json::parse(f);
  for (const json& c : fixture["cases"]) {
    const std::string name = c["name"];
    if (name.rfind("batch_norm", 0) != 0) continue;
    INFO("case: " << name);
    Tensor x = tensor_of(c["inputs"]["x"]).requires_grad_();
    Tensor w = tensor_of(c["inputs"]["weight"]).requires_grad_();
    Tensor b = tensor_of(c["inputs"]["bias"]).requires_grad_();
    Tensor rm = tensor_of(c["running_before"]["mean"]), rv = tensor_of(c["running_before"]["var"]);
    Tensor out = batch_norm(x, rm, rv, w, b, c["options"]["training"], c["options"]["momentum"], c["options"]["eps"]);
    check_close(out, ref_of(tensor_of(c["output"])), 1e-10, 1e-12, "output");
    check_close(rm, ref_of(tensor_of(c["running_after"]["mean"])), 1e-12, 1e-14, "running_mean");
    check_close(rv, ref_of(tensor_of(c["running_after"]["var"])), 1e-12, 1e-14, "running_var");
    (out * tensor_of(c["cotangent"])).sum().backward();
    check_close(x.grad(), ref_of(tensor_of(c["grads"]["x"])), 1e-9, 1e-11, "grad x");
    check_close(w.grad(), ref_of(tensor_of(c["grads"]["weight"])), 1e-9, 1e-11, "grad weight");
    check_close(b.grad(), ref_of(tensor_of(c["grads"]["bias"])), 1e-9, 1e-11, "grad bias");
  }
}

TEST_CASE("conv2d matches a direct float64 loop on random non-contiguous float32 input", "[nn_ops]") {
  Tensor x = random_input({2, 3, 6, 5}, DType::Float32, Layout::Transposed, -1, 1, 3);
  Tensor w = random_input({4, 3, 3, 2}, DType::Float32, Layout::Strided, -1, 1, 4);
  Tensor y = conv2d(x, w, Tensor(), {.stride = {1, 2}, .padding = {1, 0}});
  Ref rx = ref_of(x), rw = ref_of(w);
  const int64_t oh = 6, ow = 2;
  REQUIRE(y.shape() == Shape{2, 4, oh, ow});
  Ref want{{2, 4, oh, ow}, {}};
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t co = 0; co < 4; ++co)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          double s = 0;
          for (int64_t ci = 0; ci < 3; ++ci)
            for (int64_t ki = 0; ki < 3; ++ki)
              for (int64_t kj = 0; kj < 2; ++kj) {
                int64_t h = i - 1 + ki, w_ = j * 2 + kj;
                if (h < 0 || h >= 6 || w_ >= 5) continue;
                s += rx.v[((n * 3 + ci) * 6 + h) * 5 + w_] * rw.v[((co * 3 + ci) * 3 + ki) * 2 + kj];
              }
          want.v.push_back(s);
        }
  check_close(y, want, 1e-5, 1e-5, "conv2d vs loop");
}

TEST_CASE("unfold2d lays columns out as torch.nn.functional.unfold, padding and strides included", "[nn_ops]") {
  const int64_t n = 2, c = 3, h = 5, w = 7, kh = 2, kw = 3, sh = 2, sw = 3, ph = 1, pw = 2, dh = 1, dw = 2;
  Tensor x = random_input({n, c, h, w}, DType::Float64, Layout::Transposed, -1, 1, 9);
  Tensor cols = unfold2d(x, {kh, kw}, {sh, sw}, {ph, pw}, {dh, dw});
  const int64_t oh = (h + 2 * ph - dh * (kh - 1) - 1) / sh + 1, ow = (w + 2 * pw - dw * (kw - 1) - 1) / sw + 1;
  REQUIRE(cols.shape() == Shape{n, c * kh * kw, oh * ow});
  Ref rx = ref_of(x);
  Ref want{{n, c * kh * kw, oh * ow}, {}};
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t i = 0; i < kh; ++i)
        for (int64_t j = 0; j < kw; ++j)
          for (int64_t y = 0; y < oh; ++y)
            for (int64_t z = 0; z < ow; ++z) {
              const int64_t hh = y * sh - ph + i * dh, ww = z * sw - pw + j * dw;
              const bool inside = hh >= 0 && hh < h && ww >= 0 && ww < w;
              want.v.push_back(inside ? rx.v[((b * c + ch) * h + hh) * w + ww] : 0.0);
            }
  check_close(cols, want, 0, 0, "unfold2d vs loop");
}

TEST_CASE("max_pool2d: the first NaN of a window wins, ties go to the first maximum, padding never wins", "[nn_ops]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // One 3x4 plane; 2x2 windows, stride 2, padding 1 -> 2x3 output.
  Tensor x = from_vector<double>({-5, 2, 2, -7,
                                  nan, 1, 3, nan,
                                  -1, -2, 4, -3}, {1, 1, 3, 4});
  x.requires_grad_();
  Tensor y = max_pool2d(x, {2, 2}, {2, 2}, {1, 1});
  std::vector<double> got = y.to_vector<double>();
  REQUIRE(got.size() == 6);
  CHECK(got[0] == -5);           // window {x00}: the only real element, though negative
  CHECK(got[1] == 2);            // {x01, x02}: tie, first wins (checked through the gradient below)
  CHECK(got[2] == -7);           // {x03}
  CHECK(std::isnan(got[3]));     // {x10, x20}
  CHECK(got[4] == 4);            // {x11, x12, x21, x22}
  CHECK(std::isnan(got[5]));     // {x13, x23}
  y.sum().backward();
  std::vector<double> g = x.grad().to_vector<double>();
  CHECK(g == std::vector<double>{1, 1, 0, 1, 1, 0, 0, 1, 0, 0, 1, 0});
}

TEST_CASE("gradcheck and gradgradcheck of the nn ops", "[nn_ops][gradcheck]") {
  using V = const std::vector<Tensor>&;
  const Tensor target = from_vector<int64_t>({2, 0, 1});
  const std::vector<std::pair<const char*, std::function<Tensor(V)>>> fns = {
      {"conv2d", [](V x) { return conv2d(x[0], x[1], x[2], {.stride = {2, 1}, .padding = {1, 1}}); }},
      {"max_pool2d", [](V x) { return max_pool2d(x[0] + x[1].sum() + x[2].sum(), {2, 2}); }},
      {"avg_pool2d", [](V x) { return avg_pool2d(x[0] * x[1].sum() + x[2].sum(), {3, 3}, {2, 2}, {1, 1}); }},
      {"batch_norm", [](V x) { return batch_norm(x[0], Tensor(), Tensor(), x[2], x[2] * 2, true); }},
      {"cross_entropy", [&](V x) { return cross_entropy(reshape(x[0], {3, -1}), target, 0.1); }},
  };
  for (const auto& [name, fn] : fns) {
    INFO(name);
    auto leaf = [](Tensor t) { return t.detach().requires_grad_(); };
    std::vector<Tensor> in = {leaf(random_input({1, 3, 5, 4}, DType::Float64, Layout::Transposed, -1, 1, 5)),
                              leaf(random_input({3, 3, 3, 3}, DType::Float64, Layout::Contiguous, -1, 1, 6)),
                              leaf(random_input({3}, DType::Float64, Layout::Contiguous, -1, 1, 7))};
    if (std::string(name) == "max_pool2d" || std::string(name) == "avg_pool2d") in[1] = leaf(zeros({1}, {.dtype = DType::Float64}));
    if (std::string(name) == "batch_norm" || std::string(name) == "cross_entropy") in[1] = leaf(zeros({1}, {.dtype = DType::Float64}));
    GradcheckResult r = gradcheck(fn, in);
    INFO(r.message);
    CHECK(r.ok);
    GradcheckResult r2 = gradgradcheck(fn, in);
    INFO(r2.message);
    CHECK(r2.ok);
  }
}

TEST_CASE("dropout keeps the expectation and is reproducible", "[nn_ops]") {
  Tensor x = ones({100000}, {.dtype = DType::Float64});
  Generator g1(5), g2(5);
  Tensor a = dropout(x, 0.25, true, &g1), b = dropout(x, 0.25, true, &g2);
  CHECK(equal(a, b));
  CHECK(mean(a).item<double>() == Approx(1.0).margin(0.01));
  CHECK(mean(eq(a, 0).to(DType::Float64)).item<double>() == Approx(0.25).margin(0.01));
  CHECK(dropout(x, 0.5, false).is_same(x));
  REQUIRE_THROWS_WITH_ALL(dropout(x, 1.5, true), ValueError, "dropout", "1.5");
}

TEST_CASE("nn op errors name the op and the shapes", "[nn_ops][errors]") {
  Tensor x = zeros({2, 3, 8, 8});
  REQUIRE_THROWS_WITH_ALL(conv2d(x, zeros({4, 2, 3, 3})), ShapeError, "conv2d", "[2, 3, 8, 8]", "[4, 2, 3, 3]");
  REQUIRE_THROWS_WITH_ALL(conv2d(zeros({3, 8, 8}), zeros({4, 3, 3, 3})), ShapeError, "conv2d", "[3, 8, 8]");
  REQUIRE_THROWS_WITH_ALL(conv2d(x, zeros({4, 3, 9, 9})), ShapeError, "conv2d", "too small");
  REQUIRE_THROWS_WITH_ALL(conv2d(x, zeros({4, 3, 3, 3}), zeros({5})), ShapeError, "conv2d", "bias", "[5]");
  REQUIRE_THROWS_WITH_ALL(max_pool2d(x, {2, 2}, {0, 0}, {2, 2}), ValueError, "max_pool2d", "padding");
  // Dilation can make a window skip a small input entirely (review finding:
  // the scan then read past the plane).
  REQUIRE_THROWS_WITH_ALL(max_pool2d(zeros({1, 1, 2, 1}), {1, 2}, {1, 1}, {0, 1}, {1, 2}), ValueError, "max_pool2d",
                          "[1, 1, 2, 1]", "dilation", "entirely in the padding");
  REQUIRE_THROWS_WITH_ALL(cross_entropy(zeros({2, 5}), from_vector<int64_t>({1, 5})), IndexError, "cross_entropy",
                          "class 5", "5 classes");
  REQUIRE_THROWS_WITH_ALL(cross_entropy(zeros({2, 5}), from_vector<int64_t>({1})), ShapeError, "cross_entropy", "[1]",
                          "[2, 5]");
  REQUIRE_THROWS_WITH_ALL(cross_entropy(zeros({2, 5}), zeros({2})), DTypeError, "cross_entropy", "int64");
  REQUIRE_THROWS_WITH_ALL(mse_loss(zeros({2}), zeros({3})), ShapeError, "mse_loss", "[2]", "[3]");
  REQUIRE_THROWS_WITH_ALL(batch_norm(zeros({1, 3}), zeros({3}), ones({3}), Tensor(), Tensor(), true), ValueError,
                          "batch_norm", "more than 1 value");
}
