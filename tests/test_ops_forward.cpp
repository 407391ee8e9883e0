// Forward results of every op against a float64 reference on random inputs,
// in float32 and float64, contiguous, transposed and strided, and broadcast.
//
// How to add an op: add a row to the table of its family below (name, the
// Ember call, the reference formula, an input range where it is defined).
#include "op_tables.h"

#include <cstring>
#include <numeric>

#include "../kernels/cpu/vec.h"  // vec::exp, tested directly

using namespace ember;
using namespace ember::test;

namespace {
const std::vector<DType> kFloatTypes = {DType::Float32, DType::Float64};
const std::vector<Layout> kLayouts = {Layout::Contiguous, Layout::Transposed, Layout::Strided};
double rtol_for(DType t) { return elementwise_tolerance(t).rtol; }
double atol_for(DType t) { return elementwise_tolerance(t).atol; }
}  // namespace

// The tables of tests/op_tables.cpp, on every CPU backend.
#define EMBER_TABLE_ON_CPU_BACKENDS(title, runner)                                      \
  TEST_CASE(title " (tables, every CPU backend)", "[ops][tables]") {                    \
    for (const BackendUnderTest& b : backends_under_test(DeviceType::CPU)) runner(b); \
  }
EMBER_TABLE_ON_CPU_BACKENDS("binary ops match a float64 reference (broadcast, strided, both float dtypes)",
                            run_binary_table)
EMBER_TABLE_ON_CPU_BACKENDS("unary ops match a float64 reference, keeping relative precision near 0", run_unary_table)
EMBER_TABLE_ON_CPU_BACKENDS("where selects elementwise with broadcasting", run_where_table)
EMBER_TABLE_ON_CPU_BACKENDS("reductions match a float64 reference over any dims", run_reduction_table)
EMBER_TABLE_ON_CPU_BACKENDS("softmax and log_softmax match a float64 reference along each dim", run_softmax_table)
EMBER_TABLE_ON_CPU_BACKENDS("matmul matches a float64 reference (2-D, transposed, strided, broadcast batch)",
                            run_matmul_table)
EMBER_TABLE_ON_CPU_BACKENDS("indexing, joins and their adjoints pick and add the indexed elements", run_indexing_table)
EMBER_TABLE_ON_CPU_BACKENDS("in-place ops equal their out-of-place forms, into strided tensors with broadcasting",
                            run_inplace_table)
EMBER_TABLE_ON_CPU_BACKENDS("random fills and dropout masks follow the Philox stream exactly", run_random_table)
EMBER_TABLE_ON_CPU_BACKENDS("fused optimizer updates equal the op-by-op reference", run_optimizer_table)

TEST_CASE("every table runs on cpu:ember, and cpu:eigen runs only the matmul rows", "[ops][tables]") {
  const BackendUnderTest ember{kCPU, "ember"}, eigen{kCPU, "eigen"};
  CHECK(ember.owns_any({Primitive::Binary}));
  CHECK(eigen.owns_any({Primitive::Matmul}));
  CHECK_FALSE(eigen.owns_any({Primitive::Binary, Primitive::Unary, Primitive::Conv2dForward}));
}

TEST_CASE("sum of a large float32 tensor is accurate", "[ops][reduce]") {
  Tensor a = full({1 << 20}, 0.1f);
  CHECK(sum(a).item<double>() == Approx(104857.6).epsilon(1e-6));
}

TEST_CASE("integer and bool sums give int64", "[ops][reduce][dtype]") {
  Tensor b = from_vector<bool>({true, false, true, true});
  Tensor s = sum(b);
  CHECK(s.dtype() == DType::Int64);
  CHECK(s.item<int64_t>() == 3);
  Tensor u = from_vector<uint8_t>({200, 100});
  CHECK(sum(u).item<int64_t>() == 300);
}

TEST_CASE("argmax and argmin pick the first extreme along a dim", "[ops][reduce]") {
  Tensor a = from_vector<double>({1, 5, 5, 2, 0, -1, 0, 3, 7, 7, 1, 2}, {3, 4});
  CHECK(argmax(a, 1).to_vector<int64_t>() == std::vector<int64_t>{1, 3, 0});
  CHECK(argmin(a, 1).to_vector<int64_t>() == std::vector<int64_t>{0, 1, 2});
  CHECK(argmax(a, 0).to_vector<int64_t>() == std::vector<int64_t>{2, 2, 0, 1});
  CHECK(argmax(a, 0, true).shape() == Shape{1, 4});
  Tensor t = a.transpose(0, 1);  // non-contiguous
  CHECK(argmax(t, 0).to_vector<int64_t>() == std::vector<int64_t>{1, 3, 0});
}

TEST_CASE("max and min propagate NaN", "[ops][reduce]") {
  Tensor a = from_vector<double>({1, NAN, 3});
  CHECK(std::isnan(max(a).item<double>()));
  CHECK(std::isnan(min(a).item<double>()));
  CHECK(argmax(a, 0).item<int64_t>() == 1);
}

TEST_CASE("softmax is stable for large inputs", "[ops][softmax]") {
  Tensor a = from_vector<float>({1000, 1001, 1002});
  auto s = softmax(a, 0).to_vector<float>();
  CHECK(s[2] == Approx(0.66524096f));
  CHECK(std::isfinite(log_softmax(a, 0).to_vector<float>()[0]));
}

TEST_CASE("softmax over long float rows (the SIMD path) matches a float64 reference", "[ops][softmax]") {
  // Rows of 16k, 16k + tail and shorter than one vector; wide value ranges
  // so that exp underflows for some entries.
  for (int64_t n : {5, 16, 67, 1000})
    for (double range : {3.0, 60.0}) {
      Tensor a = random_input({4, n}, DType::Float32, Layout::Contiguous, -range, range, uint64_t(n));
      Ref ra = ref_of(a);
      Ref want_log = ra, want = ra;
      for (int64_t r = 0; r < 4; ++r) {
        const double* x = ra.v.data() + r * n;
        const double mx = *std::max_element(x, x + n);
        double s = 0;
        for (int64_t k = 0; k < n; ++k) s += std::exp(x[k] - mx);
        for (int64_t k = 0; k < n; ++k) {
          want_log.v[r * n + k] = x[k] - mx - std::log(s);
          want.v[r * n + k] = std::exp(want_log.v[r * n + k]);
        }
      }
      std::string what = "n " + std::to_string(n) + " range " + std::to_string(range);
      check_close(softmax(a, 1), want, 1e-5, 1e-30, "softmax " + what);
      check_close(log_softmax(a, 1), want_log, 1e-5, 1e-5, "log_softmax " + what);
    }
}

TEST_CASE("softmax handles -inf, +inf and NaN as PyTorch does", "[ops][softmax]") {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> v(40, 0.0f);
  v[3] = -inf;  // an entry of -inf gets probability 0
  auto s = softmax(from_vector<float>(v), 0).to_vector<float>();
  CHECK(s[3] == 0.0f);
  CHECK(s[0] == Approx(1.0 / 39));
  CHECK(log_softmax(from_vector<float>(v), 0).to_vector<float>()[3] == -inf);
  // All -inf, a NaN anywhere, or a +inf anywhere: the whole row is NaN, in
  // softmax and log_softmax, as PyTorch 1.13 gives. Long rows (the SIMD path)
  // and short ones, float32 and float64 (the general loop).
  auto all_nan = [](const Tensor& t) {
    for (double y : t.to(DType::Float64).to_vector<double>())
      if (!std::isnan(y)) return false;
    return true;
  };
  for (DType dt : kFloatTypes)
    for (int64_t n : {5, 40}) {
      const float specials[] = {-inf, NAN, inf};
      for (float special : specials) {
        std::vector<float> row(n, 1.0f);
        if (special == -inf) row.assign(n, -inf);
        else row[n / 2] = special;
        Tensor t = from_vector<float>(row).to(dt);
        INFO(dtype_name(dt) << " n " << n << " special " << special);
        CHECK(all_nan(softmax(t, 0)));
        CHECK(all_nan(log_softmax(t, 0)));
      }
    }
}

TEST_CASE("vec::exp is within 1 ulp of exp over the whole float range", "[ops][simd]") {
  // Distance in units in the last place: for floats of one sign the bit
  // patterns are ordered like the values.
  auto ulps = [](float a, float b) {
    int32_t ia, ib;
    std::memcpy(&ia, &a, 4);
    std::memcpy(&ib, &b, 4);
    return std::abs(int64_t(ia) - int64_t(ib));
  };
  int64_t worst = 0;
  float worst_x = 0;
  for (float x0 = -104.5f; x0 < 89.0f; x0 += 16 * 0.0037f) {
    kernels::cpu::vec::f32x16 x;
    for (int k = 0; k < 16; ++k) x[k] = x0 + k * 0.0037f;
    const kernels::cpu::vec::f32x16 y = kernels::cpu::vec::exp(x);
    for (int k = 0; k < 16; ++k) {
      const auto want = static_cast<float>(std::exp(double(x[k])));
      const int64_t d = std::isinf(want) ? (std::isinf(y[k]) ? 0 : 1000) : ulps(y[k], want);
      if (d > worst) worst = d, worst_x = x[k];
    }
  }
  INFO("worst at x = " << worst_x);
  CHECK(worst <= 1);
  const float inf = std::numeric_limits<float>::infinity();
  kernels::cpu::vec::f32x16 special = {0.0f, -0.0f, -inf, inf, NAN, 1.0f, -1.0f, 88.8f, -104.0f, -200.0f, 1e-8f};
  const kernels::cpu::vec::f32x16 y = kernels::cpu::vec::exp(special);
  CHECK(y[0] == 1.0f);
  CHECK(y[1] == 1.0f);
  CHECK(y[2] == 0.0f);
  CHECK(y[3] == inf);
  CHECK(std::isnan(y[4]));
  CHECK(ulps(y[5], float(M_E)) <= 1);
  CHECK(ulps(y[6], float(1 / M_E)) <= 1);
  CHECK(y[7] == inf);
  CHECK(y[8] == 0.0f);
  CHECK(y[9] == 0.0f);
  CHECK(y[10] == 1.0f);
  CHECK(y[11] == 1.0f);  // lanes not named above are 0
}

TEST_CASE("long float sums are accumulated in double (the SIMD path)", "[ops][reduce]") {
  // In float, 1e8 + 1 == 1e8: a float accumulator would lose the ones.
  std::vector<float> v(1026, 1.0f);
  v.front() = 1e8f;
  v.back() = -1e8f;
  CHECK(sum(from_vector<float>(v)).item<float>() == 1024.0f);
  for (DType dt : kFloatTypes)
    for (int64_t n : {31, 32, 33, 100, 1000, 70001}) {
      Tensor a = random_input({3, n}, dt, Layout::Contiguous, -1, 1, uint64_t(n));
      Ref ra = ref_of(a);
      std::string what = std::string(dtype_name(dt)) + " n " + std::to_string(n);
      check_close(sum(a), ref_reduce(ra, {0, 1}, false, [](auto& x) { return std::accumulate(x.begin(), x.end(), 0.0); }),
                  rtol_for(dt), atol_for(dt), "sum " + what);
      check_close(sum(a, {1}), ref_reduce(ra, {1}, false, [](auto& x) { return std::accumulate(x.begin(), x.end(), 0.0); }),
                  rtol_for(dt), atol_for(dt), "sum(dim 1) " + what);
    }
}

TEST_CASE("matmul handles 1-D operands and broadcast batches like torch.matmul", "[ops][matmul]") {
  Tensor v = random_input({4}, DType::Float64, Layout::Contiguous, -1, 1, 1);
  Tensor m = random_input({4, 3}, DType::Float64, Layout::Contiguous, -1, 1, 2);
  Tensor w = random_input({5, 4}, DType::Float64, Layout::Contiguous, -1, 1, 3);
  CHECK(matmul(v, v).shape() == Shape{});
  CHECK(matmul(v, v).item<double>() == Approx(sum(v * v).item<double>()));
  CHECK(matmul(v, m).shape() == Shape{3});
  CHECK(allclose(matmul(v, m), reshape(matmul(reshape(v, {1, 4}), m), {3})));
  CHECK(matmul(w, v).shape() == Shape{5});
  Tensor batch = random_input({2, 1, 5, 4}, DType::Float64, Layout::Transposed, -1, 1, 4);
  Tensor rhs = random_input({3, 4, 2}, DType::Float64, Layout::Strided, -1, 1, 5);
  Tensor out = matmul(batch, rhs);
  REQUIRE(out.shape() == Shape{2, 3, 5, 2});
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 3; ++j)
      check_close(out.select(0, i).select(0, j),
                  ref_matmul2d(ref_of(batch.select(0, i).select(0, 0)), ref_of(rhs.select(0, j))), 1e-12, 1e-12,
                  "batched matmul block");
}

TEST_CASE("type promotion follows torch.result_type", "[ops][dtype]") {
  Tensor i64 = from_vector<int64_t>({1, 2});
  Tensor u8 = from_vector<uint8_t>({1, 2});
  Tensor f32 = from_vector<float>({1, 2});
  Tensor f64 = from_vector<double>({1, 2});
  Tensor b = from_vector<bool>({true, false});
  CHECK((i64 + f32).dtype() == DType::Float32);
  CHECK(result_type(i64, f32) == DType::Float32);
  CHECK(result_type(u8, b) == DType::UInt8);
  CHECK((f32 + f64).dtype() == DType::Float64);
  CHECK((u8 + i64).dtype() == DType::Int64);
  CHECK((b + u8).dtype() == DType::UInt8);
  CHECK((i64 + 2.5).dtype() == DType::Float32);    // a float scalar gives the default float
  CHECK((f64 + 2.5).dtype() == DType::Float64);
  CHECK((u8 + 300).dtype() == DType::UInt8);        // an int scalar keeps the tensor's dtype
  CHECK((f32 + scalar_tensor(1.0, {.dtype = DType::Float64})).dtype() == DType::Float32);  // 0-dim loses to dims
  CHECK((i64 + scalar_tensor(1.0, {.dtype = DType::Float64})).dtype() == DType::Float64);  // higher category wins
  CHECK((i64 / i64).dtype() == DType::Float32);     // true division
  CHECK((i64 / i64).to_vector<float>() == std::vector<float>{1, 1});
  CHECK(exp(i64).dtype() == DType::Float32);
  CHECK(eq(f32, f64).dtype() == DType::Bool);
  CHECK((i64 * 3).to_vector<int64_t>() == std::vector<int64_t>{3, 6});
  CHECK(pow(i64, 2).to_vector<int64_t>() == std::vector<int64_t>{1, 4});
}

TEST_CASE("add_out writes a + b into an existing tensor, and refuses a wrong out", "[ops][inplace]") {
  for (DType dt : kFloatTypes)
    for (Layout layout : kLayouts) {
      Tensor a = random_input({3, 4}, dt, layout, -2, 2, 1);
      Tensor b = random_input({4}, dt, Layout::Strided, -2, 2, 2);  // broadcast
      Tensor out = random_input({3, 4}, dt, layout, -2, 2, 3);     // strided out too
      const void* where = out.raw_data();
      uint32_t version = out.version();
      add_out(out, a, b);
      INFO(dtype_name(dt) << " " << layout_name(layout));
      CHECK(out.raw_data() == where);
      CHECK(out.version() == version + 1);
      check_close(out, ref_of(a + b), 0, 0, "add_out");  // the same kernel: bitwise equal
    }
  Tensor a = ones({2, 3}), f64 = ones({2, 3}, {.dtype = DType::Float64});
  Tensor mixed = zeros({2, 3}, {.dtype = DType::Float64});
  CHECK(add_out(mixed, a, f64).to_vector<double>() == std::vector<double>(6, 2.0));  // promotes like add
  Tensor small = zeros({3}), wrong_dtype = zeros({2, 3}, {.dtype = DType::Float64}), expanded = zeros({1, 3}).expand({2, 3});
  CHECK_THROWS_AS(add_out(small, a, a), ShapeError);
  CHECK_THROWS_AS(add_out(wrong_dtype, a, a), DTypeError);
  CHECK_THROWS_AS(add_out(expanded, a, a), ValueError);
  Tensor w = ones({2, 3}, {.requires_grad = true}), out = zeros({2, 3});
  CHECK_THROWS_AS(add_out(out, w, a), AutogradError);
  NoGradGuard no_grad;
  CHECK(add_out(out, w, a).to_vector<float>() == std::vector<float>(6, 2.0f));
}

TEST_CASE("fill_ and zero_ write every element of a strided view", "[ops][inplace]") {
  Tensor a = arange(12).reshape({3, 4}).to(DType::Float32);
  a.transpose(0, 1).select(0, 1).fill_(-1);  // column 1
  a.slice(0, 2, 3).zero_();                  // last row
  CHECK(a.to_vector<float>() == std::vector<float>{0, -1, 2, 3, 4, -1, 6, 7, 0, 0, 0, 0});
}
