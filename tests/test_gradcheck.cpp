// Every differentiable op: backward against float64 central differences
// with a random cotangent, and (where the formula is differentiable) the
// gradient of the gradient.
#include "grad_cases.h"

using namespace ember;
using namespace ember::test;

TEST_CASE("gradcheck: every differentiable op", "[gradcheck]") {
  for (const GradCase& c : grad_cases()) {
    INFO("case: " << c.name << " (" << layout_name(c.layout) << ")");
    std::vector<Tensor> inputs = grad_inputs(c);
    GradcheckResult r = gradcheck(c.fn, inputs, c.opts);
    INFO(r.message);
    CHECK(r.ok);
  }
}

TEST_CASE("gradgradcheck: backward formulas are themselves differentiable", "[gradcheck][create_graph]") {
  for (const GradCase& c : grad_cases()) {
    if (!c.gradgrad) continue;
    INFO("case: " << c.name);
    GradcheckResult r = gradgradcheck(c.fn, grad_inputs(c), c.opts);
    INFO(r.message);
    CHECK(r.ok);
  }
}

TEST_CASE("gradcheck rejects inputs it cannot check", "[gradcheck]") {
  Tensor f32 = ones({2}, {.requires_grad = true});
  REQUIRE_THROWS_WITH_ALL(gradcheck([](auto& x) { return x[0] * 2; }, {f32}), DTypeError, "float64");
  Tensor overlapping = ones({1}, {.dtype = DType::Float64}).expand({3}).detach().requires_grad_();
  REQUIRE_THROWS_WITH_ALL(gradcheck([](auto& x) { return x[0] * 2; }, {overlapping}), ValueError, "overlaps");
}
