// The packed CPU GEMM (kernels/cpu/gemm.cpp) against a float64 triple loop
// and against Eigen: random shapes (tiny, odd, tall, skinny, across the
// cache-block edges), transposed and strided operands, alpha and beta, every
// micro-kernel this CPU can run; bitwise the same at 1 and several threads;
// and the CPU backend's batched matmul on top of it.
//
// To see these tests bite, break the micro-kernel once by hand (e.g. stop
// its k loop one step early in gemm_microkernel.h): "exact on small
// integers" and "close to a float64 reference" fail for every shape.
#include "support.h"

#include <limits>
#include <random>
#include <cstring>

#include <ember/kernels/gemm.h>

using namespace ember;
using namespace ember::kernels::cpu;
using ember::test::ThreadCount;

namespace {

enum class MemLayout { RowMajor, ColMajor, Strided };
const char* mem_layout_name(MemLayout l) {
  return l == MemLayout::RowMajor ? "row-major" : l == MemLayout::ColMajor ? "column-major" : "strided";
}

// A rows x cols matrix in its own buffer, element (i, j) at buf[i*rs + j*cs].
// Strided: every other column of a wider row-major matrix, rows padded too.
template <typename T>
struct Mat {
  int64_t rows, cols, rs, cs;
  std::vector<T> buf;
  Mat(int64_t r, int64_t c, MemLayout l) : rows(r), cols(c) {
    if (l == MemLayout::RowMajor) rs = c, cs = 1;
    else if (l == MemLayout::ColMajor) rs = 1, cs = r;
    else rs = 2 * c + 3, cs = 2;
    buf.assign(std::max<int64_t>(1, (r - 1) * rs + (c - 1) * cs + 1 + 8), std::numeric_limits<T>::quiet_NaN());
  }
  T& at(int64_t i, int64_t j) { return buf[i * rs + j * cs]; }
  T at(int64_t i, int64_t j) const { return buf[i * rs + j * cs]; }
};

// Uniform in [-1, 1), or small integers in [-4, 4] (whose products and sums
// are exact in float, so results can be compared bit for bit).
template <typename T>
Mat<T> random_mat(int64_t r, int64_t c, MemLayout l, std::mt19937& rng, bool ints) {
  Mat<T> m(r, c, l);
  std::uniform_real_distribution<double> u(-1, 1);
  std::uniform_int_distribution<int> s(-4, 4);
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = 0; j < c; ++j) m.at(i, j) = ints ? T(s(rng)) : T(u(rng));
  return m;
}

struct Case {
  int64_t m, n, k;
  double alpha, beta;
};

// Runs one GEMM case and checks every element of C against a float64
// triple loop, to a tolerance that grows with k (exactly when `ints`).
template <typename T>
void check_case(const Case& cs, MemLayout la, MemLayout lb, MemLayout lc, bool ints, uint32_t seed) {
  std::mt19937 rng(seed);
  Mat<T> a = random_mat<T>(cs.m, cs.k, la, rng, ints), b = random_mat<T>(cs.k, cs.n, lb, rng, ints);
  Mat<T> c = random_mat<T>(cs.m, cs.n, lc, rng, ints);
  if (cs.beta == 0)  // beta == 0 must overwrite C without reading it
    for (int64_t i = 0; i < cs.m; ++i)
      for (int64_t j = 0; j < cs.n; ++j) c.at(i, j) = std::numeric_limits<T>::quiet_NaN();
  const Mat<T> c0 = c;
  gemm<T>(cs.m, cs.n, cs.k, T(cs.alpha), a.buf.data(), a.rs, a.cs, b.buf.data(), b.rs, b.cs, T(cs.beta),
          c.buf.data(), c.rs, c.cs);
  const double eps = std::numeric_limits<T>::epsilon();
  int bad = 0;
  for (int64_t i = 0; i < cs.m && bad < 5; ++i)
    for (int64_t j = 0; j < cs.n && bad < 5; ++j) {
      double ref = 0, mag = 0;
      for (int64_t p = 0; p < cs.k; ++p) {
        ref += double(a.at(i, p)) * double(b.at(p, j));
        mag += std::abs(double(a.at(i, p)) * double(b.at(p, j)));
      }
      ref *= cs.alpha;
      mag *= std::abs(cs.alpha);
      if (cs.beta != 0) {
        ref += cs.beta * double(c0.at(i, j));
        mag += std::abs(cs.beta * double(c0.at(i, j)));
      }
      const double tol = ints ? 0.0 : (cs.k + 4) * eps * mag + 1e-30;
      const double got = c.at(i, j);
      if (!(std::abs(got - ref) <= tol)) {
        ++bad;
        FAIL_CHECK("C(" << i << ", " << j << ") = " << got << ", expected " << ref << " (tol " << tol << ")");
      }
    }
  // Memory around a strided C is untouched (the NaN padding stays NaN).
  if (lc == MemLayout::Strided) CHECK(std::isnan(c.buf[1]));
}

const std::vector<Case> kShapes = {
    {1, 1, 1, 1, 0},     {2, 3, 4, 1, 0},       {17, 33, 65, 1, 0},  {13, 32, 16, 1, 0},    {12, 32, 256, 1, 0},
    {12, 32, 257, 1, 0}, {7, 5, 300, 0.5, -1},  {250, 40, 3, 1, 0},  {1000, 3, 7, 1, 0},    {3, 1000, 5, -2, 0.25},
    {1, 200, 64, 1, 0},  {200, 1, 64, 1, 1},    {64, 64, 1, 1, 0},   {241, 33, 513, 1, 0.5}, {5, 3100, 9, 1, 0},
    {37, 71, 0, 1, 0.5}, {9, 9, 9, 0, 2},       {0, 5, 5, 1, 0},     {5, 0, 5, 1, 0},
    // More than one K block of the float kernels (KC = 1024): later blocks add to the first's C.
    {12, 32, 1025, 1, 0}, {13, 33, 1100, 1, 0.5}};

std::vector<GemmIsa> supported_isas() {
  std::vector<GemmIsa> isas;
  for (GemmIsa isa : {GemmIsa::Generic, GemmIsa::Avx2, GemmIsa::Avx512})
    if (gemm_isa_supported(isa)) isas.push_back(isa);
  return isas;
}

// Selects a micro-kernel for one test, restoring it after.
struct UseIsa {
  GemmIsa old_isa = gemm_isa();
  explicit UseIsa(GemmIsa isa) { set_gemm_isa(isa); }
  ~UseIsa() { set_gemm_isa(old_isa); }
};

template <typename T>
void check_all_shapes(bool ints) {
  uint32_t seed = 1;
  for (GemmIsa isa : supported_isas()) {
    UseIsa use(isa);
    for (const Case& cs : kShapes)
      for (MemLayout la : {MemLayout::RowMajor, MemLayout::ColMajor, MemLayout::Strided})
        for (MemLayout lb : {MemLayout::RowMajor, MemLayout::ColMajor, MemLayout::Strided}) {
          const MemLayout lc = la == lb ? MemLayout::RowMajor : la;  // every C layout, without 27 combinations
          INFO(gemm_isa_name(isa) << " " << cs.m << "x" << cs.n << "x" << cs.k << " alpha " << cs.alpha << " beta "
                                  << cs.beta << " A " << mem_layout_name(la) << " B " << mem_layout_name(lb) << " C "
                                  << mem_layout_name(lc));
          check_case<T>(cs, la, lb, lc, ints, seed++);
        }
  }
}

}  // namespace

TEST_CASE("gemm is exact on small integers", "[gemm]") {
  check_all_shapes<float>(true);
  check_all_shapes<double>(true);
}

TEST_CASE("gemm is close to a float64 reference", "[gemm]") {
  check_all_shapes<float>(false);
  check_all_shapes<double>(false);
}

TEST_CASE("the packed gemm agrees with Eigen", "[gemm]") {
  std::mt19937 rng(3);
  for (auto [m, n, k] : std::vector<std::array<int64_t, 3>>{{64, 64, 64}, {129, 257, 65}, {300, 200, 600}}) {
    Mat<float> a = random_mat<float>(m, k, MemLayout::RowMajor, rng, false);
    Mat<float> b = random_mat<float>(k, n, MemLayout::ColMajor, rng, false);
    Mat<float> c1(m, n, MemLayout::RowMajor), c2(m, n, MemLayout::RowMajor);
    gemm<float>(m, n, k, 1.f, a.buf.data(), a.rs, a.cs, b.buf.data(), b.rs, b.cs, 0.f, c1.buf.data(), c1.rs, c1.cs);
    gemm_eigen<float>(m, n, k, 1.f, a.buf.data(), a.rs, a.cs, b.buf.data(), b.rs, b.cs, 0.f, c2.buf.data(), c2.rs,
                      c2.cs);
    float worst = 0;
    for (int64_t i = 0; i < m * n; ++i) worst = std::max(worst, std::abs(c1.buf[i] - c2.buf[i]));
    INFO(m << "x" << n << "x" << k);
    CHECK(worst <= 4 * k * std::numeric_limits<float>::epsilon());  // |a|, |b| < 1
  }
}

TEST_CASE("gemm results are bitwise identical at 1, 2 and 3 threads", "[gemm][determinism]") {
  for (GemmIsa isa : supported_isas()) {
    UseIsa use(isa);
    // Square, few rows and many columns (threads split the columns), many K
    // blocks; each big enough to go parallel (kParallelMinWork in gemm.cpp).
    for (auto [m, n, k] : std::vector<std::array<int64_t, 3>>{{300, 290, 310}, {8, 4000, 200}, {100, 80, 1100}}) {
      std::mt19937 rng(11);
      Mat<float> a = random_mat<float>(m, k, MemLayout::RowMajor, rng, false);
      Mat<float> b = random_mat<float>(k, n, MemLayout::RowMajor, rng, false);
      std::vector<std::vector<float>> results;
      for (int threads : {1, 2, 3}) {
        ThreadCount tc(threads);
        Mat<float> c(m, n, MemLayout::RowMajor);
        gemm<float>(m, n, k, 1.f, a.buf.data(), a.rs, a.cs, b.buf.data(), b.rs, b.cs, 0.f, c.buf.data(), c.rs, c.cs);
        results.push_back(c.buf);
      }
      INFO(gemm_isa_name(isa) << " " << m << "x" << n << "x" << k);
      CHECK(std::memcmp(results[0].data(), results[1].data(), results[0].size() * sizeof(float)) == 0);
      CHECK(std::memcmp(results[0].data(), results[2].data(), results[0].size() * sizeof(float)) == 0);
    }
  }
}

// Note [GEMM orientation] in gemm.cpp: a thin product runs transposed (C^T
// = B^T A^T) when that pads less, and must give the bits it gives in its own
// orientation. The thin C (64 x 10, LeNet's fc3) is checked against the
// same columns of a C widened with zero columns to 64 x 32, which pads no
// more upright and so runs so.
TEST_CASE("a thin product run transposed gives the bits of the upright one", "[gemm][determinism]") {
  for (GemmIsa isa : supported_isas()) {
    UseIsa use(isa);
    const int64_t m = 64, k = 84, n = 10, wide = 32;
    std::mt19937 rng(5);
    Mat<float> a = random_mat<float>(m, k, MemLayout::RowMajor, rng, false);
    Mat<float> b = random_mat<float>(k, n, MemLayout::RowMajor, rng, false);
    Mat<float> bw(k, wide, MemLayout::RowMajor);
    std::fill(bw.buf.begin(), bw.buf.end(), 0.f);
    for (int64_t x = 0; x < k; ++x)
      for (int64_t j = 0; j < n; ++j) bw.buf[x * bw.rs + j * bw.cs] = b.buf[x * b.rs + j * b.cs];
    Mat<float> thin(m, n, MemLayout::RowMajor), widened(m, wide, MemLayout::RowMajor);
    gemm<float>(m, n, k, 1.f, a.buf.data(), a.rs, a.cs, b.buf.data(), b.rs, b.cs, 0.f, thin.buf.data(), thin.rs,
                thin.cs);
    gemm<float>(m, wide, k, 1.f, a.buf.data(), a.rs, a.cs, bw.buf.data(), bw.rs, bw.cs, 0.f, widened.buf.data(),
                widened.rs, widened.cs);
    INFO(gemm_isa_name(isa));
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j)
        REQUIRE(std::memcmp(&thin.buf[i * thin.rs + j * thin.cs], &widened.buf[i * widened.rs + j * widened.cs],
                            sizeof(float)) == 0);
  }
}

TEST_CASE("the AVX2 and AVX-512 kernels give the same bits", "[gemm][determinism]") {
  // Both do one FMA per k step, in the same order, in the same KC blocks
  // (k spans three of them).
  if (!gemm_isa_supported(GemmIsa::Avx512)) return;
  std::mt19937 rng(13);
  const int64_t m = 70, n = 90, k = 2100;
  Mat<float> a = random_mat<float>(m, k, MemLayout::RowMajor, rng, false);
  Mat<float> b = random_mat<float>(k, n, MemLayout::ColMajor, rng, false);
  std::vector<std::vector<float>> results;
  for (GemmIsa isa : {GemmIsa::Avx2, GemmIsa::Avx512}) {
    UseIsa use(isa);
    Mat<float> c = random_mat<float>(m, n, MemLayout::RowMajor, rng, false);
    c.buf.assign(c.buf.size(), 0.5f);
    gemm<float>(m, n, k, 1.5f, a.buf.data(), a.rs, a.cs, b.buf.data(), b.rs, b.cs, -1.f, c.buf.data(), c.rs, c.cs);
    results.push_back(c.buf);
  }
  CHECK(std::memcmp(results[0].data(), results[1].data(), results[0].size() * sizeof(float)) == 0);
}

TEST_CASE("batched matmul of cpu:ember matches cpu:eigen", "[gemm][matmul]") {
  manual_seed(5);
  for (auto [batch, m, k, n] : std::vector<std::array<int64_t, 4>>{{4, 3, 5, 7}, {3, 130, 140, 150}, {1, 1, 1, 1}}) {
    for (DType dt : {DType::Float32, DType::Float64}) {
      Tensor a = randn({batch, m, k}).to(dt), b = randn({batch, k, n}).to(dt);
      Tensor packed = matmul(a, b), via_eigen;
      {
        set_backend(DeviceType::CPU, "eigen");  // Eigen's GEMM through the backend registry
        struct Restore {
          ~Restore() { set_backend(DeviceType::CPU, "ember"); }
        } restore;
        REQUIRE(backend_for(Primitive::Matmul, DeviceType::CPU).full_name() == "cpu:eigen");
        via_eigen = matmul(a, b);
      }
      INFO(batch << "x" << m << "x" << k << "x" << n << " " << dtype_name(dt));
      CHECK(allclose(packed, via_eigen, 1e-4, 1e-5 * k));
      CHECK(allclose(matmul(a.transpose(1, 2).contiguous().transpose(1, 2), b), packed, 0, 0));  // layout-independent
    }
  }
  Tensor ia = from_vector<int64_t>({1, 2, 3, 4, 5, 6}).reshape({2, 3}), ib = from_vector<int64_t>({1, 0, -1, 2, 0, 1}).reshape({3, 2});
  CHECK(matmul(ia, ib).to_vector<int64_t>() == std::vector<int64_t>{-1, 7, -1, 16});
}

TEST_CASE("gemm settings: ISA and implementation", "[gemm]") {
  CHECK(gemm_isa_supported(GemmIsa::Generic));
  CHECK(gemm_isa_supported(gemm_isa()));
  for (GemmIsa isa : {GemmIsa::Generic, GemmIsa::Avx2, GemmIsa::Avx512})
    if (!gemm_isa_supported(isa)) REQUIRE_THROWS_WITH_ALL(set_gemm_isa(isa), ValueError, gemm_isa_name(isa));
  const GemmIsa old = gemm_isa();
  set_gemm_isa(GemmIsa::Generic);
  CHECK(gemm_isa() == GemmIsa::Generic);
  set_gemm_isa(old);
  WARN("micro-kernel in use: " << gemm_isa_name(gemm_isa()));
}
