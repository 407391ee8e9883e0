// Bad input gets a clear ember::Error naming the op and the shapes; never a
// crash and never a silently wrong result.
#include "support.h"

using namespace ember;
using namespace ember::test;

TEST_CASE("shape mismatches name the op and both shapes", "[errors]") {
  Tensor a = zeros({2, 3}), b = zeros({4});
  REQUIRE_THROWS_WITH_ALL(a + b, ShapeError, "add", "[2, 3]", "[4]");
  REQUIRE_THROWS_WITH_ALL(a * b, ShapeError, "mul", "[2, 3]", "[4]");
  REQUIRE_THROWS_WITH_ALL(where(gt(a, 0), a, b), ShapeError, "where", "[2, 3]", "[4]");
  REQUIRE_THROWS_WITH_ALL(matmul(a, zeros({2, 3})), ShapeError, "matmul", "[2, 3]", "cannot be multiplied");
  REQUIRE_THROWS_WITH_ALL(matmul(zeros({}), a), ShapeError, "matmul", "at least 1 dim");
  REQUIRE_THROWS_WITH_ALL(bmm(zeros({2, 3, 4}), zeros({3, 4, 5})), ShapeError, "bmm", "[2, 3, 4]", "[3, 4, 5]");
  REQUIRE_THROWS_WITH_ALL(cat({a, zeros({3, 3})}, 1), ShapeError, "cat", "[3, 3]", "[2, 3]");
  REQUIRE_THROWS_WITH_ALL(stack({a, zeros({3, 2})}), ShapeError, "stack", "[3, 2]");
  REQUIRE_THROWS_WITH_ALL(cat({}), ValueError, "cat", "non-empty");
  REQUIRE_THROWS_WITH_ALL(a.add_(zeros({3, 2, 3})), ShapeError, "add_", "[2, 3]", "[3, 2, 3]");
  Tensor e = zeros({3}).unsqueeze(0).expand({4, 3});
  REQUIRE_THROWS_WITH_ALL(e.add_(1), ValueError, "add_", "[4, 3]", "one memory location");
}

TEST_CASE("bad dims name the op and the valid range", "[errors]") {
  Tensor a = zeros({2, 3});
  REQUIRE_THROWS_WITH_ALL(sum(a, {2}), IndexError, "sum", "dim 2", "-2 to 1");
  REQUIRE_THROWS_WITH_ALL(sum(a, {0, -2}), IndexError, "sum", "more than once");
  REQUIRE_THROWS_WITH_ALL(softmax(a, 5), IndexError, "softmax", "dim 5");
  REQUIRE_THROWS_WITH_ALL(argmax(a, -3), IndexError, "argmax", "dim -3");
  REQUIRE_THROWS_WITH_ALL(max(zeros({0, 3}), {0}), IndexError, "max", "size 0", "[0, 3]");
  REQUIRE_THROWS_WITH_ALL(max(zeros({0})), IndexError, "max", "size 0", "[0]");
  CHECK(sum(zeros({0})).item<double>() == 0);  // a sum of nothing is 0
}

TEST_CASE("index errors name the index and the size", "[errors]") {
  Tensor a = zeros({3, 4});
  REQUIRE_THROWS_WITH_ALL(index_select(a, 0, from_vector<int64_t>({0, 3})), IndexError, "index_select", "index 3",
                          "size 3");
  REQUIRE_THROWS_WITH_ALL(index_select(a, 1, from_vector<int64_t>({-1})), IndexError, "index_select", "index -1");
  REQUIRE_THROWS_WITH_ALL(index_select(a, 0, from_vector<float>({0})), DTypeError, "index_select", "int64");
  REQUIRE_THROWS_WITH_ALL(gather(a, 1, from_vector<int64_t>({4}, {1, 1})), IndexError, "gather", "index 4", "size 4");
  REQUIRE_THROWS_WITH_ALL(gather(a, 1, from_vector<int64_t>({0})), ShapeError, "gather", "[1]", "[3, 4]");
  REQUIRE_THROWS_WITH_ALL(gather(a, 1, zeros({4, 1}, {.dtype = DType::Int64})), ShapeError, "gather", "[4, 1]");
}

TEST_CASE("dtype errors name the op and the dtypes", "[errors]") {
  Tensor i = from_vector<int64_t>({1, 2});
  REQUIRE_THROWS_WITH_ALL(mean(i), DTypeError, "mean", "int64");
  REQUIRE_THROWS_WITH_ALL(softmax(i, 0), DTypeError, "softmax", "int64");
  REQUIRE_THROWS_WITH_ALL(where(i, i, i), DTypeError, "where", "bool", "int64");
  REQUIRE_THROWS_WITH_ALL(i.requires_grad_(), DTypeError, "requires_grad_", "int64");
  REQUIRE_THROWS_WITH_ALL(i.add_(1.5), DTypeError, "add_", "float32", "int64");
  REQUIRE_THROWS_WITH_ALL(bmm(zeros({1, 2, 2}), zeros({1, 2, 2}, {.dtype = DType::Float64})), DTypeError, "bmm",
                          "float32", "float64");
  Tensor b = from_vector<bool>({true});
  REQUIRE_THROWS_WITH_ALL(-b, DTypeError, "neg", "bool");
  REQUIRE_THROWS_WITH_ALL(b - b, DTypeError, "sub", "bool");
  REQUIRE_THROWS_WITH_ALL(zeros({2}).data_ptr<double>(), DTypeError, "data_ptr", "float32", "float64");
}

TEST_CASE("undefined tensors are rejected, not dereferenced", "[errors]") {
  Tensor u;
  REQUIRE_THROWS_WITH_ALL(u.shape(), ValueError, "undefined");
  REQUIRE_THROWS_AS(u + zeros({1}), ValueError);
  CHECK(u.to_string() == "tensor(undefined)");
}

// Issue 16's resource limit: a request no machine can satisfy is an
// OutOfMemory naming the size, never a crash or an overcommitted promise the
// OOM killer collects later. 2^50 bytes is far past RAM plus swap, so Linux
// refuses it outright. Hidden ([.oom]): CTest runs it on its own, with ASan
// told to return null instead of aborting (allocator_may_return_null=1).
TEST_CASE("a 2^50-byte tensor is an OutOfMemory naming its size", "[.oom]") {
  REQUIRE_THROWS_WITH_ALL(empty({int64_t(1) << 48}), OutOfMemory, "out of CPU memory allocating 1125899906842624 bytes",
                          "(1 PiB)");
  // The allocator is still usable afterwards.
  const Tensor t = ones({1000});
  REQUIRE(t.sum().item<double>() == 1000);
  // Sizes whose byte count would not even fit in 64 bits are refused too.
  REQUIRE_THROWS_AS(empty({int64_t(1) << 62}), Error);
  REQUIRE_THROWS_AS(empty({int64_t(1) << 40, int64_t(1) << 40}), Error);
}
