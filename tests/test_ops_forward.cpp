// Forward results of every op against a float64 reference on random inputs,
// in float32 and float64, contiguous, transposed and strided, and broadcast.
//
// How to add an op: add a row to the table of its family below (name, the
// Ember call, the reference formula, an input range where it is defined).
#include "support.h"

#include <cstring>
#include <numeric>

#include "../kernels/cpu/vec.h"  // vec::exp, tested directly

using namespace ember;
using namespace ember::test;

namespace {

const std::vector<DType> kFloatTypes = {DType::Float32, DType::Float64};
const std::vector<Layout> kLayouts = {Layout::Contiguous, Layout::Transposed, Layout::Strided};

struct BinaryCase {
  const char* name;
  std::function<Tensor(const Tensor&, const Tensor&)> op;
  std::function<double(double, double)> ref;
  double lo = -2, hi = 2;  // input range
};

const std::vector<BinaryCase> kBinary = {
    {"add", [](auto& a, auto& b) { return a + b; }, [](double x, double y) { return x + y; }},
    {"add(alpha)", [](auto& a, auto& b) { return add(a, b, 2.5); }, [](double x, double y) { return x + 2.5 * y; }},
    {"sub", [](auto& a, auto& b) { return a - b; }, [](double x, double y) { return x - y; }},
    {"mul", [](auto& a, auto& b) { return a * b; }, [](double x, double y) { return x * y; }},
    {"div", [](auto& a, auto& b) { return a / b; }, [](double x, double y) { return x / y; }, 0.5, 2},
    {"pow", [](auto& a, auto& b) { return pow(a, b); }, [](double x, double y) { return std::pow(x, y); }, 0.5, 2},
    {"maximum", [](auto& a, auto& b) { return maximum(a, b); }, [](double x, double y) { return std::max(x, y); }},
    {"minimum", [](auto& a, auto& b) { return minimum(a, b); }, [](double x, double y) { return std::min(x, y); }},
    {"eq", [](auto& a, auto& b) { return eq(a, b); }, [](double x, double y) { return double(x == y); }},
    {"ne", [](auto& a, auto& b) { return ne(a, b); }, [](double x, double y) { return double(x != y); }},
    {"lt", [](auto& a, auto& b) { return lt(a, b); }, [](double x, double y) { return double(x < y); }},
    {"le", [](auto& a, auto& b) { return le(a, b); }, [](double x, double y) { return double(x <= y); }},
    {"gt", [](auto& a, auto& b) { return gt(a, b); }, [](double x, double y) { return double(x > y); }},
    {"ge", [](auto& a, auto& b) { return ge(a, b); }, [](double x, double y) { return double(x >= y); }},
};

// Shape pairs: equal, broadcast both ways, rank-extending, 0-dim.
const std::vector<std::pair<Shape, Shape>> kBinaryShapes = {
    {{3, 4}, {3, 4}}, {{3, 1}, {1, 4}}, {{2, 3, 4}, {3, 1}}, {{4}, {2, 3, 4}}, {{3, 4}, {}}, {{}, {}},
};

struct UnaryCase {
  const char* name;
  std::function<Tensor(const Tensor&)> op;
  std::function<double(double)> ref;
  double lo = -3, hi = 3;
};

const std::vector<UnaryCase> kUnary = {
    {"neg", [](auto& a) { return -a; }, [](double x) { return -x; }},
    {"exp", [](auto& a) { return exp(a); }, [](double x) { return std::exp(x); }},
    {"log", [](auto& a) { return log(a); }, [](double x) { return std::log(x); }, 0.1, 4},
    {"sqrt", [](auto& a) { return sqrt(a); }, [](double x) { return std::sqrt(x); }, 0.1, 4},
    {"abs", [](auto& a) { return abs(a); }, [](double x) { return std::abs(x); }},
    {"relu", [](auto& a) { return relu(a); }, [](double x) { return x > 0 ? x : 0.0; }},
    {"sigmoid", [](auto& a) { return sigmoid(a); }, [](double x) { return 1 / (1 + std::exp(-x)); }},
    {"tanh", [](auto& a) { return tanh(a); }, [](double x) { return std::tanh(x); }},
    {"gelu", [](auto& a) { return gelu(a); }, [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }},
    {"erf", [](auto& a) { return erf(a); }, [](double x) { return std::erf(x); }},
    {"sign", [](auto& a) { return sign(a); }, [](double x) { return double((x > 0) - (x < 0)); }},
    {"scalar add", [](auto& a) { return a + 1.5; }, [](double x) { return x + 1.5; }},
    {"scalar rsub", [](auto& a) { return 2 - a; }, [](double x) { return 2 - x; }},
    {"scalar mul", [](auto& a) { return a * 3; }, [](double x) { return x * 3; }},
    {"scalar rdiv", [](auto& a) { return 1.0 / a; }, [](double x) { return 1.0 / x; }, 0.5, 3},
    {"pow scalar", [](auto& a) { return pow(a, 3); }, [](double x) { return x * x * x; }},
    {"pow scalar base", [](auto& a) { return pow(2.0, a); }, [](double x) { return std::pow(2.0, x); }},
};

}  // namespace

TEST_CASE("binary ops match a float64 reference (broadcast, strided, both float dtypes)", "[ops][binary]") {
  for (const auto& c : kBinary)
    for (DType dt : kFloatTypes)
      for (Layout layout : kLayouts)
        for (const auto& [sa, sb] : kBinaryShapes) {
          Tensor a = random_input(sa, dt, layout, c.lo, c.hi, 1);
          Tensor b = random_input(sb, dt, layout, c.lo, c.hi, 2);
          if (std::string(c.name) == "eq" || std::string(c.name) == "ne" || std::string(c.name) == "le")
            b = where(lt(b, 0), b, a.numel() == b.numel() ? a : b);  // make some elements equal
          std::string what = std::string(c.name) + " " + dtype_name(dt) + " " + layout_name(layout) + " " +
                             shape_str(sa) + " x " + shape_str(sb);
          Tensor out = c.op(a, b);
          check_close(out, ref_binary(ref_of(a), ref_of(b), c.ref), rtol_for(dt), atol_for(dt), what);
        }
}

TEST_CASE("unary ops match a float64 reference", "[ops][unary]") {
  for (const auto& c : kUnary)
    for (DType dt : kFloatTypes)
      for (Layout layout : kLayouts)
        for (const Shape& s : std::vector<Shape>{{5}, {3, 4}, {2, 3, 4}, {}}) {
          Tensor a = random_input(s, dt, layout, c.lo, c.hi);
          std::string what = std::string(c.name) + " " + dtype_name(dt) + " " + layout_name(layout) + " " + shape_str(s);
          Tensor out = c.op(a);
          CHECK(out.dtype() == dt);
          check_close(out, ref_unary(ref_of(a), c.ref), rtol_for(dt), atol_for(dt), what);
        }
}

TEST_CASE("where selects elementwise with broadcasting", "[ops][where]") {
  Tensor cond = gt(random_input({3, 4}, DType::Float64, Layout::Transposed, -1, 1, 5), 0);
  Tensor a = random_input({3, 4}, DType::Float32, Layout::Strided);
  Tensor b = random_input({4}, DType::Float32, Layout::Contiguous, -2, 2, 9);
  Tensor out = where(cond, a, b);
  Ref rc = ref_of(cond), ra = ref_of(a), rb = ref_of(b);
  Ref want{{3, 4}, {}};
  for (int64_t i = 0; i < 12; ++i) want.v.push_back(rc.v[i] != 0 ? ra.v[i] : rb.v[i % 4]);
  check_close(out, want, 0, 0, "where");
}

TEST_CASE("reductions match a float64 reference over any dims", "[ops][reduce]") {
  struct Case {
    const char* name;
    std::function<Tensor(const Tensor&, const std::vector<int64_t>&, bool)> op;
    std::function<double(const std::vector<double>&)> ref;
  };
  auto total = [](const std::vector<double>& v) { double s = 0; for (double x : v) s += x; return s; };
  const std::vector<Case> cases = {
      {"sum", [](auto& a, auto& d, bool k) { return sum(a, d, k); }, total},
      {"mean", [](auto& a, auto& d, bool k) { return mean(a, d, k); },
       [&](const std::vector<double>& v) { return total(v) / v.size(); }},
      {"max", [](auto& a, auto& d, bool k) { return max(a, d, k); },
       [](const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); }},
      {"min", [](auto& a, auto& d, bool k) { return min(a, d, k); },
       [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }},
      {"var", [](auto& a, auto& d, bool k) { return var(a, d, 1, k); },
       [&](const std::vector<double>& v) {
         double m = total(v) / v.size(), s = 0;
         for (double x : v) s += (x - m) * (x - m);
         return s / (v.size() - 1);
       }},
  };
  const std::vector<std::vector<int64_t>> dim_sets = {{}, {0}, {1}, {-1}, {0, 2}, {1, 2}};
  for (const auto& c : cases)
    for (DType dt : kFloatTypes)
      for (Layout layout : kLayouts)
        for (const auto& dims : dim_sets)
          for (bool keepdim : {false, true}) {
            Tensor a = random_input({3, 4, 5}, dt, layout);
            std::string what = std::string(c.name) + " " + dtype_name(dt) + " " + layout_name(layout) + " dims " +
                               shape_str(dims) + (keepdim ? " keepdim" : "");
            check_close(c.op(a, dims, keepdim), ref_reduce(ref_of(a), dims, keepdim, c.ref), rtol_for(dt) * 10,
                        atol_for(dt) * 10, what);
          }
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

TEST_CASE("softmax and log_softmax match a float64 reference along each dim", "[ops][softmax]") {
  for (DType dt : kFloatTypes)
    for (Layout layout : kLayouts)
      for (int64_t dim : {0, 1, 2, -1}) {
        Tensor a = random_input({3, 4, 5}, dt, layout, -5, 5);
        Ref ra = ref_of(a);
        int64_t d = dim < 0 ? dim + 3 : dim;
        Ref mx = ref_reduce(ra, {d}, true, [](auto& v) { return *std::max_element(v.begin(), v.end()); });
        Ref shifted = ref_binary(ra, mx, [](double x, double m) { return x - m; });
        Ref lse = ref_reduce(shifted, {d}, true, [](auto& v) {
          double s = 0;
          for (double x : v) s += std::exp(x);
          return std::log(s);
        });
        Ref logsm = ref_binary(shifted, lse, [](double x, double l) { return x - l; });
        std::string what = std::string(dtype_name(dt)) + " " + layout_name(layout) + " dim " + std::to_string(dim);
        check_close(log_softmax(a, dim), logsm, rtol_for(dt) * 10, atol_for(dt) * 10, "log_softmax " + what);
        check_close(softmax(a, dim), ref_unary(logsm, [](double x) { return std::exp(x); }), rtol_for(dt) * 10,
                    atol_for(dt) * 10, "softmax " + what);
      }
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

namespace {
Ref ref_matmul2d(const Ref& a, const Ref& b) {  // (m,k) x (k,n)
  int64_t m = a.shape[0], k = a.shape[1], n = b.shape[1];
  Ref out{{m, n}, std::vector<double>(m * n, 0.0)};
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t p = 0; p < k; ++p) out.v[i * n + j] += a.v[i * k + p] * b.v[p * n + j];
  return out;
}
}  // namespace

TEST_CASE("matmul matches a float64 reference (2-D, transposed, strided)", "[ops][matmul]") {
  for (DType dt : kFloatTypes)
    for (Layout la : kLayouts)
      for (Layout lb : kLayouts)
        for (auto [m, k, n] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{{1, 1, 1}, {3, 4, 5}, {17, 33, 9}, {64, 64, 64}}) {
          Tensor a = random_input({m, k}, dt, la, -1, 1, 3);
          Tensor b = random_input({k, n}, dt, lb, -1, 1, 4);
          std::string what = std::string(dtype_name(dt)) + " " + layout_name(la) + " x " + layout_name(lb);
          check_close(matmul(a, b), ref_matmul2d(ref_of(a), ref_of(b)), rtol_for(dt) * 10, atol_for(dt) * 10, what);
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

TEST_CASE("cat and stack join along any dim", "[ops][cat]") {
  Tensor a = random_input({2, 3}, DType::Float32, Layout::Transposed);
  Tensor b = random_input({2, 5}, DType::Float32, Layout::Strided, -1, 1, 7);
  Tensor c = cat({a, b}, 1);
  REQUIRE(c.shape() == Shape{2, 8});
  CHECK(equal(c.narrow(1, 0, 3), a));
  CHECK(equal(c.narrow(1, 3, 5), b));
  Tensor s = stack({a, a * 2}, 1);
  REQUIRE(s.shape() == Shape{2, 2, 3});
  CHECK(equal(s.select(1, 1), a * 2));
  // Mixed dtypes promote, as torch.cat does.
  CHECK(cat({a, a.to(DType::Float64)}, 0).dtype() == DType::Float64);
}

TEST_CASE("index_select and gather pick the indexed elements", "[ops][indexing]") {
  Tensor a = arange(12).reshape({3, 4}).to(DType::Float64).transpose(0, 1);  // (4, 3), non-contiguous
  Tensor idx = from_vector<int64_t>({3, 0, 3});
  Tensor sel = index_select(a, 0, idx);
  REQUIRE(sel.shape() == Shape{3, 3});
  CHECK(sel.to_vector<double>() == std::vector<double>{3, 7, 11, 0, 4, 8, 3, 7, 11});
  Tensor sel1 = index_select(a, 1, from_vector<int64_t>({2}));
  CHECK(sel1.to_vector<double>() == std::vector<double>{8, 9, 10, 11});
  Tensor g = gather(a, 1, from_vector<int64_t>({0, 2, 1, 1, 2, 0}, {2, 3}));
  REQUIRE(g.shape() == Shape{2, 3});
  CHECK(g.to_vector<double>() == std::vector<double>{0, 8, 4, 5, 9, 1});
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

TEST_CASE("in-place ops equal their out-of-place forms, into strided tensors with broadcasting", "[ops][inplace]") {
  using InPlace = std::function<void(Tensor&, const Tensor&)>;
  using OutOfPlace = std::function<Tensor(const Tensor&, const Tensor&)>;
  const std::vector<std::tuple<const char*, InPlace, OutOfPlace>> cases = {
      {"add_", [](Tensor& s, const Tensor& o) { s.add_(o); }, [](auto& a, auto& b) { return a + b; }},
      {"add_(alpha)", [](Tensor& s, const Tensor& o) { s.add_(o, -0.5); }, [](auto& a, auto& b) { return add(a, b, -0.5); }},
      {"sub_", [](Tensor& s, const Tensor& o) { s.sub_(o); }, [](auto& a, auto& b) { return a - b; }},
      {"mul_", [](Tensor& s, const Tensor& o) { s.mul_(o); }, [](auto& a, auto& b) { return a * b; }},
      {"div_", [](Tensor& s, const Tensor& o) { s.div_(o); }, [](auto& a, auto& b) { return a / b; }},
      {"copy_", [](Tensor& s, const Tensor& o) { s.copy_(o); }, [](auto& a, auto& b) { return b.expand(a.shape()) * 1; }},
  };
  for (const auto& [name, inplace, outofplace] : cases)
    for (DType dt : kFloatTypes)
      for (Layout layout : kLayouts) {
        Tensor self = random_input({3, 4}, dt, layout, 0.5, 2, 1);
        Tensor other = random_input({4}, DType::Float64, Layout::Strided, 0.5, 2, 2);  // broadcast, other dtype
        Tensor want = outofplace(self, other).to(dt);
        uint32_t version = self.version();
        inplace(self, other);
        INFO(name << " " << dtype_name(dt) << " " << layout_name(layout));
        CHECK(self.version() == version + 1);
        CHECK(self.dtype() == dt);
        check_close(self, ref_of(want), rtol_for(dt), atol_for(dt), name);
      }
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
