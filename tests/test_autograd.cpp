// The autograd engine: accumulation, retain/create graph, grad mode, detach,
// version counters, in-place rules, deep graphs and graph export.
#include "support.h"

#include <ember/autograd/function.h>
#include <ember/autograd/meta.h>

using namespace ember;
using namespace ember::test;

TEST_CASE("backward of a small expression gives the known gradient", "[autograd]") {
  Tensor a = from_vector<double>({1, 2, 3}).requires_grad_();
  Tensor b = from_vector<double>({4, 5, 6}).requires_grad_();
  Tensor c = (a * b + a.pow(2)).sum();  // dc/da = b + 2a, dc/db = a
  c.backward();
  CHECK(a.grad().to_vector<double>() == std::vector<double>{6, 9, 12});
  CHECK(b.grad().to_vector<double>() == std::vector<double>{1, 2, 3});
  CHECK(a.is_leaf());
  CHECK(!c.is_leaf());
  CHECK(c.grad_fn_name() == "SumBackward");
}

TEST_CASE("a tensor used twice receives both gradients", "[autograd]") {
  Tensor a = from_vector<double>({3}).requires_grad_();
  Tensor b = a + a;       // db/da = 2
  Tensor c = b * b;       // dc/da = 2b * 2 = 8a
  c.sum().backward();
  CHECK(a.grad().item<double>() == 24);
}

TEST_CASE("successive backward calls accumulate into .grad", "[autograd]") {
  Tensor a = from_vector<double>({1, 2}).requires_grad_();
  (a * 3).sum().backward();
  (a * 3).sum().backward();
  CHECK(a.grad().to_vector<double>() == std::vector<double>{6, 6});
  a.grad().zero_();
  (a * 1).sum().backward();
  CHECK(a.grad().to_vector<double>() == std::vector<double>{1, 1});
}

TEST_CASE(".grad is a dense tensor of its own, even when the gradient was broadcast", "[autograd]") {
  Tensor a = zeros({3, 4}, {.dtype = DType::Float64, .requires_grad = true});
  a.sum().backward();  // SumBackward returns an expand()ed view
  Tensor g = a.grad();
  CHECK(g.is_contiguous());
  CHECK(!g.is_view());
  g.mul_(from_vector<double>({1, 2, 3, 4}));  // in place, as an optimizer would
  CHECK(g.to_vector<double>() == std::vector<double>{1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4});
  Tensor user_grad = ones({3, 4}, {.dtype = DType::Float64});
  Tensor b = zeros({3, 4}, {.dtype = DType::Float64, .requires_grad = true});
  b.backward(user_grad);  // a leaf: the gradient reaches AccumulateGrad as is
  b.grad().zero_();
  CHECK(sum(user_grad).item<double>() == 12);  // the user's tensor was not aliased
}

TEST_CASE("backward with an explicit gradient: non-scalars need one", "[autograd]") {
  Tensor a = from_vector<double>({1, 2}).requires_grad_();
  Tensor y = a * a;
  REQUIRE_THROWS_WITH_ALL(y.backward(), AutogradError, "one-element", "[2]");
  y.backward(from_vector<double>({1, 10}));
  CHECK(a.grad().to_vector<double>() == std::vector<double>{2, 40});
  REQUIRE_THROWS_WITH_ALL((a * 2).backward(zeros({3}, {.dtype = DType::Float64})), ShapeError, "[3]", "[2]");
}

TEST_CASE("the graph is freed after backward unless retain_graph", "[autograd]") {
  Tensor a = from_vector<double>({2}).requires_grad_();
  Tensor y = (a * a).sum();
  y.backward(Tensor(), /*retain_graph=*/true);
  y.backward();
  CHECK(a.grad().item<double>() == 8);
  REQUIRE_THROWS_WITH_ALL(y.backward(), AutogradError, "second time", "MulBackward", "retain_graph");
}

TEST_CASE("create_graph gives differentiable gradients (higher order)", "[autograd]") {
  Tensor x = from_vector<double>({2}).requires_grad_();
  Tensor y = x.pow(3);  // y' = 3x^2 = 12, y'' = 6x = 12, y''' = 6
  auto g1 = autograd::grad({y}, {x}, {}, false, /*create_graph=*/true);
  CHECK(g1[0].item<double>() == Approx(12));
  CHECK(g1[0].requires_grad());
  auto g2 = autograd::grad({g1[0]}, {x}, {}, false, true);
  CHECK(g2[0].item<double>() == Approx(12));
  auto g3 = autograd::grad({g2[0]}, {x});
  CHECK(g3[0].item<double>() == Approx(6));
  CHECK(!x.grad().defined());  // grad() never touches .grad
}

TEST_CASE("autograd::grad reports unused inputs", "[autograd]") {
  Tensor a = from_vector<double>({1}).requires_grad_();
  Tensor b = from_vector<double>({1}).requires_grad_();
  Tensor y = (a * 2).sum();
  REQUIRE_THROWS_WITH_ALL(autograd::grad({y}, {a, b}, {}, true), AutogradError, "input 1", "allow_unused");
  auto g = autograd::grad({y}, {a, b}, {}, false, false, /*allow_unused=*/true);
  CHECK(g[0].item<double>() == 2);
  CHECK(!g[1].defined());
}

TEST_CASE("NoGradGuard stops recording and detach cuts history", "[autograd]") {
  Tensor a = ones({2}, {.requires_grad = true});
  {
    NoGradGuard guard;
    Tensor b = a * 2;
    CHECK(!b.requires_grad());
    CHECK(!GradMode::is_enabled());
  }
  CHECK(GradMode::is_enabled());
  Tensor d = (a * 2).detach();
  CHECK(!d.requires_grad());
  CHECK(d.is_leaf());
  CHECK(d.impl()->storage != nullptr);
  REQUIRE_THROWS_WITH_ALL(d.sum().backward(), AutogradError, "does not require grad");
}

TEST_CASE("modifying a tensor saved for backward is an error, not a wrong gradient", "[autograd][version]") {
  Tensor a = from_vector<double>({1, 2}).requires_grad_();
  Tensor b = a * 1;  // a non-leaf
  Tensor c = b * b;  // saves b
  b.add_(1);         // version of b: 0 -> 1
  REQUIRE_THROWS_WITH_ALL(c.sum().backward(), AutogradError, "saved for backward by MulBackward",
                          "modified by an in-place operation", "version 1, expected 0");
  // exp saves its output: modifying the output is caught too.
  Tensor e = exp(a);
  e.mul_(2);
  REQUIRE_THROWS_WITH_ALL(e.sum().backward(), AutogradError, "ExpBackward");
}

TEST_CASE("in-place ops follow PyTorch's rules", "[autograd][inplace]") {
  Tensor leaf = ones({2}, {.dtype = DType::Float64, .requires_grad = true});
  REQUIRE_THROWS_WITH_ALL(leaf.add_(1), AutogradError, "add_", "leaf", "NoGradGuard");
  REQUIRE_THROWS_AS(leaf.zero_(), AutogradError);
  {
    NoGradGuard guard;  // allowed: this is how optimizers update parameters
    leaf.mul_(3);
  }
  CHECK(leaf.to_vector<double>() == std::vector<double>{3, 3});

  // In-place on a non-leaf records the op: gradients flow through it.
  Tensor x = from_vector<double>({1, 2}).requires_grad_();
  Tensor y = x * 2;   // dy/dx = 2
  y.mul_(x);          // y = 2x * x: dy/dx = 4x
  CHECK(y.grad_fn_name() == "MulBackward");
  y.add_(x, 3);       // y = 2x^2 + 3x: dy/dx = 4x + 3
  y.sum().backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>{7, 11});

  // A constant tensor modified by one that requires grad gains history.
  Tensor z = zeros({2}, {.dtype = DType::Float64});
  Tensor w = from_vector<double>({5, 6}).requires_grad_();
  z.copy_(w * w);
  z.sum().backward();
  CHECK(w.grad().to_vector<double>() == std::vector<double>{10, 12});

  // Views of tensors with history are refused rather than mis-differentiated.
  Tensor v = (x * 1).select(0, 0);
  REQUIRE_THROWS_WITH_ALL(v.add_(1), AutogradError, "add_", "view");
}

TEST_CASE("in-place edge cases: self-aliasing, stale views, overlapping copies", "[autograd][inplace]") {
  // y.mul_(y): the op sees the old value on both sides, and no cycle forms.
  Tensor x = from_vector<double>({1, 2}).requires_grad_();
  Tensor y = x * 1;
  y.mul_(y);  // y = x^2
  y.sum().backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>{2, 4});

  // A view taken before its base's history changed is refused, not wrong.
  Tensor z = x * 1;
  Tensor v = z.slice(0, 0, 1);
  z.mul_(2);
  REQUIRE_THROWS_WITH_ALL(v.sum(), AutogradError, "SliceBackward", "before an in-place op");
  Tensor fresh = z.slice(0, 0, 1);  // taken again: fine
  x.grad().zero_();
  fresh.sum().backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>{2, 0});

  // A view of a leaf stays usable after the leaf is updated under NoGradGuard.
  Tensor w = ones({2, 2}, {.dtype = DType::Float64, .requires_grad = true});
  Tensor wt = w.t();
  {
    NoGradGuard guard;
    w.mul_(2);
  }
  wt.sum().backward();
  CHECK(w.grad().to_vector<double>() == std::vector<double>{1, 1, 1, 1});

  // Overlapping source and destination copy as if through a temporary.
  Tensor a = arange(6).to(DType::Float64);
  a.slice(0, 1, 6).copy_(a.slice(0, 0, 5));
  CHECK(a.to_vector<double>() == std::vector<double>{0, 0, 1, 2, 3, 4});
}

TEST_CASE("autograd::grad runs only the part of the graph it needs", "[autograd]") {
  Tensor x = from_vector<double>({3}).requires_grad_();
  Tensor h = x * 2;
  Tensor y = (h * h).sum();
  auto g = autograd::grad({y}, {h});  // stops at h: x's part is untouched
  CHECK(g[0].item<double>() == 12);
  h.backward(g[0]);  // so the graph below h can still be used
  CHECK(x.grad().item<double>() == 24);
}

TEST_CASE("edge cases found in review", "[autograd][errors]") {
  Tensor s = scalar_tensor(1.0);
  REQUIRE_THROWS_WITH_ALL(s.size(0), IndexError, "0-dim");
  REQUIRE_THROWS_WITH_ALL(s.narrow(0, 0, 1), IndexError, "narrow", "0-dim");
  REQUIRE_THROWS_WITH_ALL(gather(s, 0, scalar_tensor(0, {.dtype = DType::Int64})), ShapeError, "gather");
  REQUIRE_THROWS_WITH_ALL(from_vector<float>({1}).expand({-2}), ShapeError, "expand", "-2");
  REQUIRE_THROWS_WITH_ALL(zeros({int64_t(1) << 62, 8}), ShapeError, "too many elements");
  Tensor z = zeros({1}, {.dtype = DType::Float64, .requires_grad = true});
  z.pow(0).sum().backward();
  CHECK(z.grad().item<double>() == 0);  // not 0 * inf = nan
  CHECK((full({1}, -INFINITY) + NAN).numel() == 1);  // no UB converting inf/nan scalars
  Tensor f = from_vector<double>({1}).requires_grad_();
  REQUIRE_THROWS_WITH_ALL((f * 2).backward(ones({1}, {.dtype = DType::Float32})), DTypeError, "float32", "float64");
  REQUIRE_THROWS_WITH_ALL(add(arange(3), arange(3), 0.5), DTypeError, "alpha");
  CHECK(std::isnan(var(ones({1}, {.dtype = DType::Float64})).item<double>()));  // 0 / 0, as PyTorch
}

TEST_CASE("a chain of 100,000 ops builds, backpropagates and frees without overflowing the stack", "[autograd][deep]") {
  Tensor x = from_vector<double>({1.0}).requires_grad_();
  {
    Tensor y = x;
    for (int i = 0; i < 100000; ++i) y = y * 1.0000001;
    y.sum().backward();
    CHECK(x.grad().item<double>() == Approx(std::pow(1.0000001, 100000)));
    Tensor z = x;
    for (int i = 0; i < 100000; ++i) z = z + 1;  // never backpropagated: freed by the destructor alone
  }
  SUCCEED("graphs destroyed");
}

namespace {
// A backward that returns a gradient of the wrong shape.
struct BadBackward final : BackwardNode<BadBackward> {
  static constexpr const char* kName = "BadBackward";
  std::vector<Tensor> apply(std::vector<Tensor>&&) override { return {zeros({5}, {.dtype = DType::Float64})}; }
};
}  // namespace

TEST_CASE("the engine validates what a backward returns", "[autograd]") {
  Tensor a = zeros({2}, {.dtype = DType::Float64, .requires_grad = true});
  Tensor out = zeros({2}, {.dtype = DType::Float64});
  record(std::make_shared<BadBackward>(), {a}, out);
  REQUIRE_THROWS_WITH_ALL(out.sum().backward(), InternalError, "BadBackward", "invalid gradient at index 0", "[5]",
                          "[2]");
}

TEST_CASE("gradients of mixed dtypes come back in each input's dtype", "[autograd][dtype]") {
  Tensor a = ones({2}, {.dtype = DType::Float32, .requires_grad = true});
  Tensor b = ones({2}, {.dtype = DType::Float64, .requires_grad = true});
  Tensor c = (a * b).sum();
  CHECK(c.dtype() == DType::Float64);
  c.backward();
  CHECK(a.grad().dtype() == DType::Float32);
  CHECK(b.grad().dtype() == DType::Float64);
}

TEST_CASE("the graph exports as Graphviz DOT", "[autograd][dot]") {
  Tensor a = ones({2, 3}, {.requires_grad = true});
  Tensor b = ones({3}, {.requires_grad = true});
  Tensor c = relu(a * b).sum();
  std::string dot = graph_to_dot(c);
  CHECK(dot.rfind("digraph", 0) == 0);
  CHECK(dot.find("SumBackward") != std::string::npos);
  CHECK(dot.find("ReluBackward") != std::string::npos);
  CHECK(dot.find("MulBackward") != std::string::npos);
  CHECK(dot.find("[2, 3]") != std::string::npos);  // the leaves, with shapes
  CHECK(dot.find("[3]") != std::string::npos);
  // Large graphs are cut with a note instead of producing a huge picture.
  Tensor y = a;
  for (int i = 0; i < 50; ++i) y = y * 2;
  CHECK(graph_to_dot(y, 10).find("graph cut at 10 nodes") != std::string::npos);
}
