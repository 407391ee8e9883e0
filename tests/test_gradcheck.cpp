// Every differentiable op: backward against float64 central differences
// with a random cotangent, and (where the formula is differentiable) the
// gradient of the gradient; the table (grad_cases.h) runs on every backend
// through run_gradcheck_table (op_tables.h).
#include "grad_cases.h"
#include "op_tables.h"

using namespace ember;
using namespace ember::test;

TEST_CASE("gradcheck: every differentiable op, on every CPU backend", "[gradcheck]") {
  for (const BackendUnderTest& b : backends_under_test(DeviceType::CPU)) run_gradcheck_table(b, /*gradgrad=*/false);
}

TEST_CASE("gradgradcheck: backward formulas are themselves differentiable", "[gradcheck][create_graph]") {
  for (const BackendUnderTest& b : backends_under_test(DeviceType::CPU)) run_gradcheck_table(b, /*gradgrad=*/true);
}

TEST_CASE("gradcheck rejects inputs it cannot check", "[gradcheck]") {
  Tensor f32 = ones({2}, {.requires_grad = true});
  REQUIRE_THROWS_WITH_ALL(gradcheck([](auto& x) { return x[0] * 2; }, {f32}), DTypeError, "float64");
  Tensor overlapping = ones({1}, {.dtype = DType::Float64}).expand({3}).detach().requires_grad_();
  REQUIRE_THROWS_WITH_ALL(gradcheck([](auto& x) { return x[0] * 2; }, {overlapping}), ValueError, "overlaps");
}
