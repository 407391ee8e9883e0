// The SGEMM ladder (Note [SGEMM ladder] in kernels/cuda/gemm.h), part of
// test_cuda: every rung against a float64 product of the same float32
// inputs, on shapes that no tile divides, batched, with transposed,
// broadcast and misaligned operands, so that each rung's edge guards, its
// batch loop and both of its load paths (float4 and element by element) run.
#include <cstdlib>

#include <ember/kernels/cuda.h>

#include "support.h"

using namespace ember;
using namespace ember::test;

namespace {

const Device kGpu("cuda:0");

// Restores the SGEMM variant chosen before.
struct UseSgemm {
  std::string old = cuda::sgemm();
  explicit UseSgemm(const std::string& name) { cuda::set_sgemm(name); }
  ~UseSgemm() { cuda::set_sgemm(old); }
};

enum class Operand { Contiguous, Transposed, TransposedWide, Misaligned };
const char* operand_name(Operand o) {
  const char* names[] = {"contiguous", "transposed", "transposed (wide rows)", "misaligned"};
  return names[static_cast<int>(o)];
}

// A (batch, rows, cols) float32 tensor on `device` with values in [-1, 1),
// laid out as asked: dense; a transpose of a dense (batch, cols, rows), or
// of (batch, cols, rows + 1) cut to rows (a column stride that is a
// multiple of 4 where rows is not); or starting one element into a wider
// buffer (rows 4 elements longer, so the
// row stride stays a multiple of 4 when cols is, and only the base is
// misaligned). The view is taken on the device (.to() would make it dense).
Tensor operand(int64_t batch, int64_t rows, int64_t cols, Operand layout, uint64_t seed, Device device) {
  Generator g(seed);
  switch (layout) {
    case Operand::Contiguous: return (rand({batch, rows, cols}, {}, &g) * 2 - 1).to(device);
    case Operand::Transposed: return (rand({batch, cols, rows}, {}, &g) * 2 - 1).to(device).transpose(1, 2);
    case Operand::TransposedWide:
      return (rand({batch, cols, rows + 1}, {}, &g) * 2 - 1).to(device).slice(2, 0, rows).transpose(1, 2);
    case Operand::Misaligned: return (rand({batch, rows, cols + 4}, {}, &g) * 2 - 1).to(device).slice(2, 1, cols + 1);
  }
  return {};
}

struct GemmCase {
  int64_t batch, m, k, n;
  Operand a, b;
  bool broadcast_b;  // B's batch dim expanded from 1 (stride 0)
};

const std::vector<GemmCase> kCases = {
    {1, 1, 1, 1, Operand::Contiguous, Operand::Contiguous, false},
    {1, 67, 45, 33, Operand::Contiguous, Operand::Contiguous, false},     // no tile divides any dim
    {1, 130, 17, 129, Operand::Transposed, Operand::Contiguous, false},   // past one 128 tile, two K slabs
    {3, 37, 70, 19, Operand::Contiguous, Operand::Transposed, false},     // batched, B transposed
    {2, 129, 36, 132, Operand::Contiguous, Operand::Contiguous, true},    // float4 loads, broadcast B
    {2, 65, 40, 68, Operand::Misaligned, Operand::Misaligned, false},     // float4-shaped, misaligned bases
    {1, 64, 64, 64, Operand::Contiguous, Operand::Contiguous, false},     // exact tiles
    {2, 132, 37, 70, Operand::Transposed, Operand::Contiguous, false},   // column-major A, 16-byte copies
    {1, 131, 29, 40, Operand::TransposedWide, Operand::Contiguous, false},  // ... and its edge, element-wise
};

}  // namespace

TEST_CASE("every SGEMM rung agrees with a float64 product on shapes no tile divides", "[cuda][kernels][gemm][shared]") {
  const std::vector<std::string> variants = cuda::sgemm_variants();
  REQUIRE(variants.size() == 8);
  for (const std::string& variant : variants) {
    UseSgemm use(variant);
    for (const GemmCase& c : kCases) {
      auto a_on = [&](Device d) { return operand(c.batch, c.m, c.k, c.a, 1, d); };
      auto b_on = [&](Device d) {
        return c.broadcast_b ? operand(1, c.k, c.n, c.b, 2, d).expand({c.batch, c.k, c.n})
                             : operand(c.batch, c.k, c.n, c.b, 2, d);
      };
      const Tensor ga = a_on(kGpu), gb = b_on(kGpu);
      REQUIRE(ga.is_contiguous() == (c.a == Operand::Contiguous));  // the layouts reach the kernel
      REQUIRE(gb.is_contiguous() == (c.b == Operand::Contiguous && !c.broadcast_b));
      const Tensor want = matmul(a_on(kCPU).to(DType::Float64), b_on(kCPU).to(DType::Float64));
      const Tensor got = matmul(ga, gb).to(kCPU);
      // float32 sums of k products of values below 1: within k ulps of 1.
      check_close(got, ref_of(want), 0, 1.2e-7 * double(c.k), variant + " " + std::to_string(c.batch) + "x" +
                      std::to_string(c.m) + "x" + std::to_string(c.k) + "x" + std::to_string(c.n) + " A " +
                      operand_name(c.a) + ", B " + operand_name(c.b) + (c.broadcast_b ? " (broadcast)" : ""));
    }
  }
}

TEST_CASE("the SGEMM variants are listed in ladder order, warp_tiled by default, and a bad name is a clear error",
          "[cuda][kernels][gemm]") {
  CHECK(cuda::sgemm_variants() == std::vector<std::string>{"naive", "coalesced", "smem_tiled", "reg_tiled_1d",
                                                           "reg_tiled_2d", "vec4", "warp_tiled",
                                                           "multistage"});
  if (!std::getenv("EMBER_SGEMM")) CHECK(cuda::sgemm() == "warp_tiled");
  const std::string before = cuda::sgemm();
  REQUIRE_THROWS_WITH_ALL(cuda::set_sgemm("fastest"), ValueError, "unknown SGEMM variant 'fastest'", "naive",
                          "warp_tiled");
  CHECK(cuda::sgemm() == before);
}

// Run by CTest with EMBER_SGEMM set (tests/CMakeLists.txt).
TEST_CASE("EMBER_SGEMM chooses the SGEMM kernel at start-up, and an unknown name is a clear error", "[.sgemm_env]") {
  const char* env = std::getenv("EMBER_SGEMM");
  REQUIRE(env != nullptr);
  if (std::string(env) == "bogus") {
    Tensor a = ones({2, 2}).to(kGpu);
    REQUIRE_THROWS_WITH_ALL(matmul(a, a), ValueError, "EMBER_SGEMM", "unknown SGEMM variant 'bogus'", "warp_tiled");
  } else {
    CHECK(cuda::sgemm() == env);
  }
}
