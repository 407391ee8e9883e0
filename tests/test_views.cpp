// Views share storage, have the expected strides, and see each other's writes.
#include "support.h"

using namespace ember;
using namespace ember::test;

namespace {
bool shares_storage(const Tensor& a, const Tensor& b) { return a.impl()->storage == b.impl()->storage; }
}  // namespace

TEST_CASE("view ops share storage and set strides like PyTorch", "[views]") {
  Tensor a = arange(24).reshape({2, 3, 4});
  REQUIRE(a.is_contiguous());
  CHECK(a.strides() == Strides{12, 4, 1});

  Tensor p = a.permute({2, 0, 1});
  CHECK(shares_storage(a, p));
  CHECK(p.shape() == Shape{4, 2, 3});
  CHECK(p.strides() == Strides{1, 12, 4});
  CHECK(!p.is_contiguous());

  Tensor t = a.transpose(0, 2);
  CHECK(t.strides() == Strides{1, 4, 12});

  Tensor u = a.unsqueeze(1);
  CHECK(u.shape() == Shape{2, 1, 3, 4});
  CHECK(shares_storage(a, u));
  CHECK(u.squeeze(1).shape() == Shape{2, 3, 4});
  CHECK(u.squeeze().shape() == Shape{2, 3, 4});
  CHECK(a.squeeze(0).shape() == Shape{2, 3, 4});  // not size 1: unchanged

  Tensor s = a.slice(2, 1, 4, 2);
  CHECK(s.shape() == Shape{2, 3, 2});
  CHECK(s.strides() == Strides{12, 4, 2});
  CHECK(s.offset() == 1);
  CHECK(s.to_vector<int64_t>() == std::vector<int64_t>{1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23});
  CHECK(a.slice(1, -2, 100).shape() == Shape{2, 2, 4});  // Python-style bounds
  CHECK(a.narrow(0, 1, 1).offset() == 12);
  CHECK(a.select(1, -1).to_vector<int64_t>() == std::vector<int64_t>{8, 9, 10, 11, 20, 21, 22, 23});

  Tensor e = from_vector<float>({1, 2, 3}).unsqueeze(1).expand({3, 4});
  CHECK(e.strides() == Strides{1, 0});
  CHECK(e.to_vector<float>() == std::vector<float>{1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3});
  CHECK(from_vector<float>({1, 2}).expand({2, -1}).shape() == Shape{2, 2});

  CHECK(a.flatten().shape() == Shape{24});
  CHECK(a.flatten(1).shape() == Shape{2, 12});
  CHECK(shares_storage(a, a.flatten(1)));
  CHECK(a.view({4, -1}).shape() == Shape{4, 6});
}

TEST_CASE("a write through a view is seen by its base, and bumps the shared version", "[views][inplace]") {
  Tensor a = zeros({3, 4});
  Tensor row = a.select(0, 1);
  uint32_t v0 = a.version();
  row.fill_(5);
  CHECK(a.version() == v0 + 1);
  CHECK(sum(a).item<double>() == 20);
  Tensor col = a.transpose(0, 1).select(0, 3);  // column 3, strided
  col.add_(1);
  CHECK(a.to_vector<float>()[3] == 1);
  CHECK(a.to_vector<float>()[7] == 6);
}

TEST_CASE("reshape views when strides allow and copies otherwise", "[views]") {
  Tensor a = arange(12).reshape({3, 4});
  Tensor v = a.reshape({2, 6});
  CHECK(shares_storage(a, v));
  Tensor t = a.t();
  Tensor r = t.reshape({12});
  CHECK(!shares_storage(a, r));  // a transpose cannot be flattened in place
  CHECK(r.to_vector<int64_t>() == std::vector<int64_t>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});
  // Splitting a dim of a transposed tensor is still a view.
  Tensor split = t.reshape({2, 2, 3});
  CHECK(shares_storage(a, split));
  CHECK(equal(split, contiguous(t).reshape({2, 2, 3})));
  REQUIRE_THROWS_WITH_ALL(t.view({12}), ShapeError, "view", "[12]", "reshape()");
  REQUIRE_THROWS_WITH_ALL(a.view({5, -1}), ShapeError, "view", "[5, -1]", "[3, 4]");
  REQUIRE_THROWS_WITH_ALL(a.reshape({-1, -1}), ShapeError, "only one dimension can be -1");
}

TEST_CASE("contiguous copies only when needed", "[views]") {
  Tensor a = arange(6).reshape({2, 3});
  CHECK(a.contiguous().is_same(a));
  Tensor t = a.t().contiguous();
  CHECK(t.is_contiguous());
  CHECK(!shares_storage(a, t));
  CHECK(t.to_vector<int64_t>() == std::vector<int64_t>{0, 3, 1, 4, 2, 5});
}

TEST_CASE("view errors name the op and shapes", "[views][errors]") {
  Tensor a = zeros({2, 3});
  REQUIRE_THROWS_WITH_ALL(a.permute({0}), ShapeError, "permute", "[2, 3]");
  REQUIRE_THROWS_WITH_ALL(a.permute({0, 0}), IndexError, "permute", "repeats");
  REQUIRE_THROWS_WITH_ALL(a.transpose(0, 2), IndexError, "transpose", "dim 2");
  REQUIRE_THROWS_WITH_ALL(a.expand({4, 3}), ShapeError, "expand", "[2, 3]", "[4, 3]");
  REQUIRE_THROWS_WITH_ALL(a.narrow(1, 2, 2), IndexError, "narrow", "[2, 3]");
  REQUIRE_THROWS_WITH_ALL(a.select(0, 2), IndexError, "select", "index 2", "[2, 3]");
  REQUIRE_THROWS_WITH_ALL(a.slice(0, 0, 1, 0), ValueError, "slice", "step");
  REQUIRE_THROWS_WITH_ALL(a.flatten(1, 0), IndexError, "flatten");
}
