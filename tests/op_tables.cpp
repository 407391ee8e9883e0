// The forward op tables (op_tables.h): each row names the op, the Ember
// call, a float64 reference formula and the primitives it exercises; every
// row runs in float32 and float64, on contiguous, transposed and strided
// inputs, and (binary ops) on shapes that broadcast.
#include "op_tables.h"

#include <numeric>

namespace ember::test {

namespace {

const std::vector<DType> kFloatTypes = {DType::Float32, DType::Float64};
const std::vector<Layout> kLayouts = {Layout::Contiguous, Layout::Transposed, Layout::Strided};

// Checks `got` against `want` within a tolerance, naming the backend.
void check(const BackendUnderTest& b, const Tensor& got, const Ref& want, Tolerance tol, const std::string& what) {
  INFO("backend " << b.label());
  REQUIRE(got.device() == b.device);
  check_close(got, want, tol.rtol, tol.atol, what);
}

// ---- binary ----

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

// ---- unary ----

struct UnaryCase {
  const char* name;
  std::function<Tensor(const Tensor&)> op;
  std::function<double(double)> ref;
  double lo = -3, hi = 3;
  // Where the result is tiny and must keep its relative precision: a second
  // input range checked with relative tolerance only (lo == hi: no check).
  double tiny_lo = 0, tiny_hi = 0;
};

double softplus_ref(double x) { return x > 20 ? x : std::log1p(std::exp(x)); }

const std::vector<UnaryCase> kUnary = {
    {"neg", [](auto& a) { return -a; }, [](double x) { return -x; }, -3, 3, -1e-6, 1e-6},
    {"exp", [](auto& a) { return exp(a); }, [](double x) { return std::exp(x); }},
    {"log", [](auto& a) { return log(a); }, [](double x) { return std::log(x); }, 0.1, 4},
    {"log1p", [](auto& a) { return log1p(a); }, [](double x) { return std::log1p(x); }, -0.9, 4, -1e-6, 1e-6},
    {"sqrt", [](auto& a) { return sqrt(a); }, [](double x) { return std::sqrt(x); }, 0.1, 4, 1e-12, 1e-10},
    {"abs", [](auto& a) { return abs(a); }, [](double x) { return std::abs(x); }, -3, 3, -1e-6, 1e-6},
    {"relu", [](auto& a) { return relu(a); }, [](double x) { return x > 0 ? x : 0.0; }, -3, 3, -1e-6, 1e-6},
    {"sigmoid", [](auto& a) { return sigmoid(a); }, [](double x) { return 1 / (1 + std::exp(-x)); }, -3, 3, -30, -20},
    {"tanh", [](auto& a) { return tanh(a); }, [](double x) { return std::tanh(x); }, -3, 3, -1e-6, 1e-6},
    {"gelu", [](auto& a) { return gelu(a); }, [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); },
     -3, 3, -1e-6, 1e-6},
    {"erf", [](auto& a) { return erf(a); }, [](double x) { return std::erf(x); }, -3, 3, -1e-6, 1e-6},
    {"sign", [](auto& a) { return sign(a); }, [](double x) { return double((x > 0) - (x < 0)); }},
    {"softplus", [](auto& a) { return softplus(a); }, softplus_ref, -3, 30, -30, -16},
    {"softplus(beta 2)", [](auto& a) { return softplus(a, 2.0, 10.0); },
     [](double x) { return 2 * x > 10 ? x : std::log1p(std::exp(2 * x)) / 2; }, -3, 8},
    {"scalar add", [](auto& a) { return a + 1.5; }, [](double x) { return x + 1.5; }},
    {"scalar rsub", [](auto& a) { return 2 - a; }, [](double x) { return 2 - x; }},
    {"scalar mul", [](auto& a) { return a * 3; }, [](double x) { return x * 3; }},
    {"scalar rdiv", [](auto& a) { return 1.0 / a; }, [](double x) { return 1.0 / x; }, 0.5, 3},
    {"pow scalar", [](auto& a) { return pow(a, 3); }, [](double x) { return x * x * x; }},
    {"pow scalar base", [](auto& a) { return pow(2.0, a); }, [](double x) { return std::pow(2.0, x); }},
};

double total(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0); }

}  // namespace

void run_binary_table(const BackendUnderTest& b) {
  if (!b.owns_any({Primitive::Binary})) return;
  UseBackend use(b);
  for (const auto& c : kBinary)
    for (DType dt : kFloatTypes)
      for (Layout layout : kLayouts)
        for (const auto& [sa, sb] : kBinaryShapes) {
          Tensor x = random_input(sa, dt, layout, c.lo, c.hi, 1, b.device);
          Tensor y = random_input(sb, dt, layout, c.lo, c.hi, 2, b.device);
          const std::string name = c.name;
          if (name == "eq" || name == "ne" || name == "le")
            y = where(lt(y, 0), y, x.numel() == y.numel() ? x : y);  // make some elements equal
          const std::string what = name + " " + dtype_name(dt) + " " + layout_name(layout) + " " + shape_str(sa) +
                                   " x " + shape_str(sb);
          check(b, c.op(x, y), ref_binary(ref_of(x), ref_of(y), c.ref), elementwise_tolerance(dt), what);
        }
}

void run_unary_table(const BackendUnderTest& b) {
  if (!b.owns_any({Primitive::Unary, Primitive::Binary})) return;
  UseBackend use(b);
  for (const auto& c : kUnary)
    for (DType dt : kFloatTypes) {
      for (Layout layout : kLayouts)
        for (const Shape& s : std::vector<Shape>{{5}, {3, 4}, {2, 3, 4}, {}}) {
          Tensor x = random_input(s, dt, layout, c.lo, c.hi, 1, b.device);
          const std::string what = std::string(c.name) + " " + dtype_name(dt) + " " + layout_name(layout) + " " +
                                   shape_str(s);
          Tensor out = c.op(x);
          CHECK(out.dtype() == dt);
          check(b, out, ref_unary(ref_of(x), c.ref), elementwise_tolerance(dt), what);
        }
      if (c.tiny_lo == c.tiny_hi) continue;
      // Near zero (or wherever the result is tiny): relative precision only.
      Tensor tiny = random_input({64}, dt, Layout::Contiguous, c.tiny_lo, c.tiny_hi, 3, b.device);
      check(b, c.op(tiny), ref_unary(ref_of(tiny), c.ref), {near_zero_rtol(dt), 0.0},
            std::string(c.name) + " " + dtype_name(dt) + " on tiny results (relative precision)");
    }
}

void run_where_table(const BackendUnderTest& b) {
  if (!b.owns_any({Primitive::Where})) return;
  UseBackend use(b);
  for (DType dt : kFloatTypes) {
    Tensor cond = gt(random_input({3, 4}, DType::Float64, Layout::Transposed, -1, 1, 5, b.device), 0);
    Tensor x = random_input({3, 4}, dt, Layout::Strided, -2, 2, 1, b.device);
    Tensor y = random_input({4}, dt, Layout::Contiguous, -2, 2, 9, b.device);
    Ref rc = ref_of(cond), rx = ref_of(x), ry = ref_of(y);
    Ref want{{3, 4}, {}};
    for (int64_t i = 0; i < 12; ++i) want.v.push_back(rc.v[i] != 0 ? rx.v[i] : ry.v[i % 4]);
    check(b, where(cond, x, y), want, {0, 0}, std::string("where ") + dtype_name(dt));
  }
}

void run_reduction_table(const BackendUnderTest& b) {
  if (!b.owns_any({Primitive::Reduce})) return;
  UseBackend use(b);
  struct Case {
    const char* name;
    std::function<Tensor(const Tensor&, const std::vector<int64_t>&, bool)> op;
    std::function<double(const std::vector<double>&)> ref;
  };
  const std::vector<Case> cases = {
      {"sum", [](auto& a, auto& d, bool k) { return sum(a, d, k); }, total},
      {"mean", [](auto& a, auto& d, bool k) { return mean(a, d, k); },
       [](const std::vector<double>& v) { return total(v) / v.size(); }},
      {"max", [](auto& a, auto& d, bool k) { return max(a, d, k); },
       [](const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); }},
      {"min", [](auto& a, auto& d, bool k) { return min(a, d, k); },
       [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }},
      {"var", [](auto& a, auto& d, bool k) { return var(a, d, 1, k); },
       [](const std::vector<double>& v) {
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
            Tensor a = random_input({3, 4, 5}, dt, layout, -2, 2, 1, b.device);
            const std::string what = std::string(c.name) + " " + dtype_name(dt) + " " + layout_name(layout) +
                                     " dims " + shape_str(dims) + (keepdim ? " keepdim" : "");
            check(b, c.op(a, dims, keepdim), ref_reduce(ref_of(a), dims, keepdim, c.ref), summing_tolerance(dt), what);
          }
  // argmax/argmin: the first extreme along a dim, on a transposed view too.
  Tensor a = from_vector<double>({1, 5, 5, 2, 0, -1, 0, 3, 7, 7, 1, 2}, {3, 4}).to(b.device);
  CHECK(argmax(a, 1).to_vector<int64_t>() == std::vector<int64_t>{1, 3, 0});
  CHECK(argmin(a, 1).to_vector<int64_t>() == std::vector<int64_t>{0, 1, 2});
  CHECK(argmax(a.transpose(0, 1), 0).to_vector<int64_t>() == std::vector<int64_t>{1, 3, 0});
}

void run_softmax_table(const BackendUnderTest& b) {
  if (!b.owns_any({Primitive::Softmax})) return;
  UseBackend use(b);
  for (DType dt : kFloatTypes)
    for (Layout layout : kLayouts)
      for (int64_t dim : {0, 1, 2, -1}) {
        Tensor a = random_input({3, 4, 5}, dt, layout, -5, 5, 1, b.device);
        Ref ra = ref_of(a);
        const int64_t d = dim < 0 ? dim + 3 : dim;
        Ref mx = ref_reduce(ra, {d}, true, [](auto& v) { return *std::max_element(v.begin(), v.end()); });
        Ref shifted = ref_binary(ra, mx, [](double x, double m) { return x - m; });
        Ref lse = ref_reduce(shifted, {d}, true, [](auto& v) {
          double s = 0;
          for (double x : v) s += std::exp(x);
          return std::log(s);
        });
        Ref logsm = ref_binary(shifted, lse, [](double x, double l) { return x - l; });
        const std::string what =
            std::string(dtype_name(dt)) + " " + layout_name(layout) + " dim " + std::to_string(dim);
        check(b, log_softmax(a, dim), logsm, summing_tolerance(dt), "log_softmax " + what);
        check(b, softmax(a, dim), ref_unary(logsm, [](double x) { return std::exp(x); }), summing_tolerance(dt),
              "softmax " + what);
      }
}

void run_matmul_table(const BackendUnderTest& b) {
  if (!b.owns_any({Primitive::Matmul})) return;
  UseBackend use(b);
  for (DType dt : kFloatTypes)
    for (Layout la : kLayouts)
      for (Layout lb : kLayouts)
        for (auto [m, k, n] : std::vector<std::array<int64_t, 3>>{{1, 1, 1}, {3, 4, 5}, {17, 33, 9}, {64, 64, 64}}) {
          Tensor x = random_input({m, k}, dt, la, -1, 1, 3, b.device);
          Tensor y = random_input({k, n}, dt, lb, -1, 1, 4, b.device);
          const std::string what = std::string("matmul ") + dtype_name(dt) + " " + layout_name(la) + " x " +
                                   layout_name(lb) + " " + std::to_string(m) + "x" + std::to_string(k) + "x" +
                                   std::to_string(n);
          check(b, matmul(x, y), ref_matmul2d(ref_of(x), ref_of(y)), summing_tolerance(dt), what);
        }
  // A broadcast batch (stride-0 batch dim on the right operand).
  Tensor batch = random_input({2, 5, 4}, DType::Float64, Layout::Transposed, -1, 1, 4, b.device);
  Tensor rhs = random_input({4, 3}, DType::Float64, Layout::Strided, -1, 1, 5, b.device);
  Tensor out = matmul(batch, rhs);
  for (int64_t i = 0; i < 2; ++i)
    check(b, out.select(0, i), ref_matmul2d(ref_of(batch.select(0, i)), ref_of(rhs)), summing_tolerance(DType::Float64),
          "batched matmul, broadcast right operand");
}

void run_indexing_table(const BackendUnderTest& b) {
  if (!b.owns_any({Primitive::IndexSelect, Primitive::IndexAdd, Primitive::Gather, Primitive::ScatterAdd,
                   Primitive::Copy}))
    return;
  UseBackend use(b);
  const Device d = b.device;
  Tensor a = arange(12).reshape({3, 4}).to(DType::Float64).to(d).transpose(0, 1);  // (4, 3), non-contiguous
  auto idx = [&](std::vector<int64_t> v, Shape s = {-1}) { return from_vector<int64_t>(v, s).to(d); };
  CHECK(index_select(a, 0, idx({3, 0, 3})).to_vector<double>() == std::vector<double>{3, 7, 11, 0, 4, 8, 3, 7, 11});
  CHECK(index_select(a, 1, idx({2})).to_vector<double>() == std::vector<double>{8, 9, 10, 11});
  CHECK(gather(a, 1, idx({0, 2, 1, 1, 2, 0}, {2, 3})).to_vector<double>() == std::vector<double>{0, 8, 4, 5, 9, 1});
  // The adjoints, with repeated indices adding up.
  Tensor base = ones({4, 2}, {.dtype = DType::Float64, .device = d});
  Tensor src = arange(6).reshape({3, 2}).to(DType::Float64).to(d);
  CHECK(index_add(base, 0, idx({1, 3, 1}), src).to_vector<double>() == std::vector<double>{1, 1, 5, 7, 1, 1, 3, 4});
  Tensor scattered = scatter_add(base, 0, idx({1, 3, 1, 0, 0, 0}, {3, 2}), src);
  CHECK(scattered.to_vector<double>() == std::vector<double>{5, 9, 3, 1, 1, 1, 1, 2});
  // Joins and slice writes (copies into strided views).
  Tensor x = random_input({2, 3}, DType::Float32, Layout::Transposed, -1, 1, 1, d);
  Tensor y = random_input({2, 5}, DType::Float32, Layout::Strided, -1, 1, 7, d);
  Tensor c = cat({x, y}, 1);
  REQUIRE(c.shape() == Shape{2, 8});
  CHECK(equal(c.narrow(1, 0, 3), x));
  CHECK(equal(c.narrow(1, 3, 5), y));
  Tensor s = slice_scatter(zeros({2, 8}, {.device = d}), x, 1, 1, 7, 2);
  CHECK(equal(s.slice(1, 1, 7, 2), x));
  CHECK(sum(abs(s)).item<double>() == Approx(sum(abs(x)).item<double>()));
}

void run_inplace_table(const BackendUnderTest& b) {
  if (!b.owns_any({Primitive::Binary})) return;
  UseBackend use(b);
  using InPlace = std::function<void(Tensor&, const Tensor&)>;
  using OutOfPlace = std::function<Tensor(const Tensor&, const Tensor&)>;
  const std::vector<std::tuple<const char*, InPlace, OutOfPlace>> cases = {
      {"add_", [](Tensor& s, const Tensor& o) { s.add_(o); }, [](auto& x, auto& y) { return x + y; }},
      {"add_(alpha)", [](Tensor& s, const Tensor& o) { s.add_(o, -0.5); },
       [](auto& x, auto& y) { return add(x, y, -0.5); }},
      {"sub_", [](Tensor& s, const Tensor& o) { s.sub_(o); }, [](auto& x, auto& y) { return x - y; }},
      {"mul_", [](Tensor& s, const Tensor& o) { s.mul_(o); }, [](auto& x, auto& y) { return x * y; }},
      {"div_", [](Tensor& s, const Tensor& o) { s.div_(o); }, [](auto& x, auto& y) { return x / y; }},
      {"copy_", [](Tensor& s, const Tensor& o) { s.copy_(o); },
       [](auto& x, auto& y) { return y.expand(x.shape()) * 1; }},
  };
  for (const auto& [name, inplace, outofplace] : cases)
    for (DType dt : kFloatTypes)
      for (Layout layout : kLayouts)
        // other of the same dtype (written in place), and promoted (through a temporary)
        for (DType other_dt : {dt, DType::Float64}) {
          Tensor self = random_input({3, 4}, dt, layout, 0.5, 2, 1, b.device);
          Tensor other = random_input({4}, other_dt, Layout::Strided, 0.5, 2, 2, b.device);  // broadcast
          Tensor want = outofplace(self, other).to(dt);
          const void* where = self.raw_data();
          const uint32_t version = self.version();
          inplace(self, other);
          INFO(name << " " << dtype_name(dt) << " " << layout_name(layout) << " other " << dtype_name(other_dt));
          CHECK(self.raw_data() == where);
          CHECK(self.version() == version + 1);
          CHECK(self.dtype() == dt);
          check(b, self, ref_of(want), elementwise_tolerance(dt), name);
        }
}

}  // namespace ember::test
