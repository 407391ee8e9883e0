// CUDA tests: their own executable, so that without a visible GPU the whole
// program can skip (exit code 77, which CTest reports as "skipped") with a
// printed reason. Catch2 v2 has no SKIP.
#define CATCH_CONFIG_RUNNER
#include <ember/core/backend.h>
#include <ember/kernels/register.h>

#include "op_tables.h"

using namespace ember;
using namespace ember::test;

namespace {
constexpr int kSkip = 77;
}

int main(int argc, char** argv) {
  kernels::register_backends();
  if (!kernels::built_with_cuda()) {
    std::printf("SKIPPED: Ember was built without the CUDA backend (EMBER_CUDA=OFF or no nvcc)\n");
    return kSkip;
  }
  int n = device_backend(DeviceType::CUDA).device_count();
  if (n == 0) {
    std::printf("SKIPPED: built with CUDA, but no CUDA device is visible on this machine\n");
    return kSkip;
  }
  std::printf("CUDA devices visible: %d\n", n);
  return Catch::Session().run(argc, argv);
}

// The op tables of tests/op_tables.h on every CUDA backend: each row runs
// where the backend has the kernels it exercises (Note [Tables on every
// backend]); rows of primitives a backend lacks fall through and are not
// its to test.
#define EMBER_TABLE_ON_CUDA_BACKENDS(title, ...)                                            \
  TEST_CASE(title " (tables, every CUDA backend)", "[cuda][tables]") {                     \
    for (const BackendUnderTest& b : backends_under_test(DeviceType::CUDA)) __VA_ARGS__; \
  }
// The tables whose kernels use shared memory or warp shuffles are tagged
// [shared]: on the emulator CI runs them again under other thread schedules
// (Note [SIMT schedules] in kernels/simt/launch.h).
#define EMBER_SHARED_TABLE_ON_CUDA_BACKENDS(title, ...)                                     \
  TEST_CASE(title " (tables, every CUDA backend)", "[cuda][tables][shared]") {             \
    for (const BackendUnderTest& b : backends_under_test(DeviceType::CUDA)) __VA_ARGS__; \
  }
EMBER_TABLE_ON_CUDA_BACKENDS("binary ops", run_binary_table(b))
EMBER_TABLE_ON_CUDA_BACKENDS("unary ops", run_unary_table(b))
EMBER_TABLE_ON_CUDA_BACKENDS("where", run_where_table(b))
EMBER_SHARED_TABLE_ON_CUDA_BACKENDS("reductions", run_reduction_table(b))
EMBER_SHARED_TABLE_ON_CUDA_BACKENDS("softmax", run_softmax_table(b))
EMBER_TABLE_ON_CUDA_BACKENDS("matmul", run_matmul_table(b))
EMBER_TABLE_ON_CUDA_BACKENDS("indexing", run_indexing_table(b))
EMBER_TABLE_ON_CUDA_BACKENDS("in-place ops", run_inplace_table(b))
EMBER_TABLE_ON_CUDA_BACKENDS("random fills", run_random_table(b))
EMBER_TABLE_ON_CUDA_BACKENDS("optimizer updates", run_optimizer_table(b))
EMBER_TABLE_ON_CUDA_BACKENDS("gradcheck", run_gradcheck_table(b, false))
EMBER_TABLE_ON_CUDA_BACKENDS("gradgradcheck", run_gradcheck_table(b, true))
EMBER_TABLE_ON_CUDA_BACKENDS("nn ops against PyTorch", run_nn_fixture_table(b))

TEST_CASE("tensors round-trip between the CPU and the GPU", "[cuda]") {
  Device gpu("cuda:0");
  for (DType dt : {DType::Float32, DType::Float64, DType::Int64, DType::UInt8, DType::Bool}) {
    Tensor a = random_input({3, 5}, DType::Float64, Layout::Transposed, -3, 3).to(dt);
    Tensor on_gpu = a.to(gpu);
    CHECK(on_gpu.device() == gpu);
    CHECK(on_gpu.is_contiguous());
    CHECK(equal(on_gpu.to(kCPU), a));
  }
}

TEST_CASE("cuda:ember has a kernel for every primitive, and mixing devices fails loudly", "[cuda]") {
  // Nothing falls through to a base: a primitive added to the Backend and not
  // to cuda_backend.cpp's list would fail here before any user met "has no
  // kernel in cuda:ember" (test_backends checks that loud failure itself).
  const Backend& cuda = backend_named(DeviceType::CUDA, "ember");
  for (int i = 0; i < kNumPrimitives; ++i) {
    INFO(primitive_name(static_cast<Primitive>(i)));
    CHECK(cuda.supports(static_cast<Primitive>(i)));
  }
  Tensor a = ones({4, 4}).to(Device("cuda:0"));
  REQUIRE_THROWS_WITH_ALL(a + ones({4, 4}), DeviceError, "same device", "cuda:0", "cpu");
}

TEST_CASE("gradients flow back across a device transfer", "[cuda]") {
  Tensor a = ones({3}, {.dtype = DType::Float64, .requires_grad = true});
  Tensor b = a.to(Device("cuda:0")).to(kCPU);
  (b * 2).sum().backward();
  CHECK(a.grad().to_vector<double>() == std::vector<double>{2, 2, 2});
}
