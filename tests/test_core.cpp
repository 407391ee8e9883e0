// core: dtypes, devices, shapes, the generator, factories, printing,
// conversions, and the backend registry.
#include "support.h"

#include <ember/core/backend.h>
#include <ember/kernels/register.h>

using namespace ember;
using namespace ember::test;

TEST_CASE("dtype sizes, names and categories", "[core][dtype]") {
  CHECK(dtype_size(DType::Float32) == 4);
  CHECK(dtype_size(DType::Int64) == 8);
  CHECK(std::string(dtype_name(DType::UInt8)) == "uint8");
  CHECK(is_floating(DType::Float64));
  CHECK(!is_floating(DType::Int64));
  CHECK(is_integral(DType::UInt8));
  CHECK(!is_integral(DType::Bool));
  CHECK(promote_types(DType::UInt8, DType::Float32) == DType::Float32);
}

TEST_CASE("devices parse and print", "[core][device]") {
  CHECK(Device("cpu").is_cpu());
  CHECK(Device("cuda").index == 0);
  CHECK(Device("cuda:3").index == 3);
  CHECK(Device("cuda:1").str() == "cuda:1");
  REQUIRE_THROWS_WITH_ALL(Device("gpu"), ValueError, "invalid device 'gpu'");
  REQUIRE_THROWS_AS(Device("cuda:x"), ValueError);
  REQUIRE_THROWS_AS(Device("cuda:"), ValueError);
}

TEST_CASE("shape helpers", "[core][shape]") {
  CHECK(numel({2, 3, 4}) == 24);
  CHECK(numel({}) == 1);
  CHECK(contiguous_strides({2, 3, 4}) == Strides{12, 4, 1});
  CHECK(broadcast_shapes({3, 1}, {4}, "t") == Shape{3, 4});
  CHECK(normalize_dim(-1, 3, "t") == 2);
  REQUIRE_THROWS_WITH_ALL(broadcast_shapes({3, 2}, {4}, "add"), ShapeError, "add", "[3, 2]", "[4]");
  REQUIRE_THROWS_WITH_ALL(normalize_dim(3, 3, "sum"), IndexError, "sum", "dim 3", "-3 to 2");
}

TEST_CASE("Philox4x32-10 matches the Random123 known-answer vectors", "[core][rng]") {
  // From Random123's kat_vectors: philox4x32 10 rounds, counter 0, key 0.
  auto r = Generator::philox(0, 0);
  CHECK(r[0] == 0x6627e8d5u);
  CHECK(r[1] == 0xe169c58du);
  CHECK(r[2] == 0xbc57ac4cu);
  CHECK(r[3] == 0x9b00dbd8u);
}

TEST_CASE("the generator is reproducible and its state is (seed, offset)", "[core][rng]") {
  manual_seed(42);
  Tensor a = randn({100});
  Tensor b = rand({7});
  manual_seed(42);
  CHECK(equal(randn({100}), a));
  CHECK(equal(rand({7}), b));
  Generator g(7);
  Tensor x = rand({5}, {}, &g);
  uint64_t offset = g.offset();
  Tensor y = rand({5}, {}, &g);
  g.set_offset(offset);
  CHECK(equal(rand({5}, {}, &g), y));
  CHECK(!equal(x, y));
}

TEST_CASE("random tensors have the right distribution", "[core][rng]") {
  manual_seed(1);
  Tensor u = rand({100000}, {.dtype = DType::Float64});
  CHECK(min(u).item<double>() >= 0.0);
  CHECK(max(u).item<double>() < 1.0);
  CHECK(mean(u).item<double>() == Approx(0.5).margin(0.01));
  Tensor n = randn({100000}, {.dtype = DType::Float64});
  CHECK(mean(n).item<double>() == Approx(0.0).margin(0.02));
  CHECK(var(n).item<double>() == Approx(1.0).margin(0.02));
  Tensor i = randint(3, 7, {10000});
  CHECK(i.dtype() == DType::Int64);
  CHECK(min(i).item<int64_t>() == 3);
  CHECK(max(i).item<int64_t>() == 6);
  REQUIRE_THROWS_WITH_ALL(randint(5, 5, {2}), ValueError, "randint", "low < high");
  REQUIRE_THROWS_AS(rand({2}, {.dtype = DType::Int64}), DTypeError);
}

TEST_CASE("factories fill shape, dtype and values", "[core][factory]") {
  Tensor z = zeros({2, 3});
  CHECK(z.shape() == Shape{2, 3});
  CHECK(z.dtype() == DType::Float32);
  CHECK(sum(z).item<double>() == 0);
  CHECK(sum(ones({2, 3}, {.dtype = DType::Int64})).item<int64_t>() == 6);
  CHECK(full({2}, 2.5, {.dtype = DType::Float64}).to_vector<double>() == std::vector<double>{2.5, 2.5});
  CHECK(arange(5).to_vector<int64_t>() == std::vector<int64_t>{0, 1, 2, 3, 4});
  CHECK(arange(1, 2, 0.25).to_vector<float>() == std::vector<float>{1, 1.25, 1.5, 1.75});
  CHECK(arange(5, 0, -2).to_vector<int64_t>() == std::vector<int64_t>{5, 3, 1});
  CHECK(from_vector<int>({1, 2, 3, 4}, {2, 2}).dtype() == DType::Int64);
  CHECK(from_vector<double>({1, 2, 3, 4}, {2, 2}).shape() == Shape{2, 2});
  CHECK(empty({0, 3}).numel() == 0);
  REQUIRE_THROWS_WITH_ALL(from_vector<float>({1, 2, 3}, {2, 2}), ShapeError, "3 values", "[2, 2]");
  REQUIRE_THROWS_WITH_ALL(zeros({2, -1}), ShapeError, "negative size", "[2, -1]");
  REQUIRE_THROWS_AS(arange(0, 5, 0), ValueError);
  REQUIRE_THROWS_AS(ones({2}, {.dtype = DType::Int64, .requires_grad = true}), DTypeError);
}

TEST_CASE("item, to(dtype) and to_vector convert values", "[core][convert]") {
  Tensor t = from_vector<double>({1.75, -2.5});
  CHECK(t.to(DType::Int64).to_vector<int64_t>() == std::vector<int64_t>{1, -2});
  CHECK(t.to(DType::Bool).to_vector<bool>() == std::vector<bool>{true, true});
  CHECK(t.select(0, 1).item<double>() == -2.5);
  CHECK(scalar_tensor(3).item<int64_t>() == 3);
  REQUIRE_THROWS_WITH_ALL(t.item(), ValueError, "2 elements", "[2]");
  CHECK(t.to(kCPU).is_same(t));
  CHECK(t.to(DType::Float64).is_same(t));
}

TEST_CASE("printing looks like PyTorch's repr", "[core][print]") {
  CHECK(from_vector<float>({1, 2, 3}).to_string() == "tensor([1., 2., 3.])");
  CHECK(from_vector<float>({0.5f, -1.25f, 3, 4}, {2, 2}).to_string() ==
        "tensor([[ 0.5000, -1.2500],\n        [ 3.0000,  4.0000]])");
  CHECK(from_vector<int64_t>({1, -20}).to_string() == "tensor([  1, -20])");
  CHECK(from_vector<bool>({true, false}).to_string() == "tensor([ True, False])");
  CHECK(scalar_tensor(2.5, {.dtype = DType::Float64}).to_string() == "tensor(2.5000, dtype=float64)");
  CHECK(from_vector<double>({1e-6, 1}).to_string() == "tensor([1.0000e-06, 1.0000e+00], dtype=float64)");
  CHECK(zeros({2}, {.requires_grad = true}).to_string() == "tensor([0., 0.], requires_grad=True)");
  Tensor x = ones({2}, {.requires_grad = true});
  CHECK((x * 2).to_string() == "tensor([2., 2.], grad_fn=<MulBackward>)");
  std::string big = arange(2000).to_string();
  CHECK(big == "tensor([   0,    1,    2, ..., 1997, 1998, 1999])");
  CHECK(zeros({0, 2}).to_string() == "tensor([], size=[0, 2])");
}

TEST_CASE("backends are registered explicitly and CUDA fails loudly when absent", "[core][dispatch]") {
  kernels::register_backends();
  REQUIRE(has_backend(DeviceType::CPU));
  CHECK(device_backend(DeviceType::CPU).full_name() == "cpu:ember");
  CHECK(has_backend(DeviceType::CUDA) == kernels::built_with_cuda());
  const bool gpu_visible = has_backend(DeviceType::CUDA) && device_backend(DeviceType::CUDA).device_count() > 0;
  if (!gpu_visible) {
    // Never a silent fallback to the CPU.
    REQUIRE_THROWS_AS(zeros({2}, {.device = Device("cuda")}), DeviceError);
    REQUIRE_THROWS_AS(ones({2}).to(Device("cuda:0")), DeviceError);
  }
}

TEST_CASE("the CPU caching allocator reuses freed blocks and keeps statistics", "[core][allocator]") {
  const bool was = set_cpu_caching(true);
#ifdef EMBER_SANITIZE
  set_cpu_caching(false);  // sanitizer builds bypass the cache (Note [CPU caching allocator])
#endif
  cpu_empty_cache();
  const CpuMemoryStats before = cpu_memory_stats();
  void* first = nullptr;
  {
    Tensor a = empty({1000, 1000});  // 4 MB, rounded up to a 4 MiB class
    first = a.raw_data();
    CHECK(cpu_memory_stats().allocated >= before.allocated + 4000000);
    CHECK(cpu_memory_stats().peak >= cpu_memory_stats().allocated);
  }
  const CpuMemoryStats freed = cpu_memory_stats();
  CHECK(freed.allocated == before.allocated);
  Tensor b = empty({999, 1001});  // same size class
#ifndef EMBER_SANITIZE
  CHECK(b.raw_data() == first);  // the block came back from the cache
  CHECK(cpu_memory_stats().cache_hits > freed.cache_hits);
  CHECK(freed.reserved >= freed.allocated + 4000000);
#endif
  b = Tensor();
  cpu_empty_cache();
  CHECK(cpu_memory_stats().reserved == cpu_memory_stats().allocated);
  set_cpu_caching(was);
}
