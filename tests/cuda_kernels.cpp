// CUDA tests beyond the op tables (part of test_cuda, which skips as a whole
// without a device): every launch path of the kernels against the CPU on
// shapes chosen to take it, the device error flag, the memory API, and
// pinned DataLoader batches. The tables' shapes are small, so without these
// the thread-per-group and chunked reductions, the long-row softmax and
// arange would run in no test (a mutant of each survived the tables).
#include <limits>

#include <ember/data/loader.h>
#include <ember/kernels/cuda.h>

#include "support.h"

using namespace ember;
using namespace ember::test;

namespace {

const Device kGpu("cuda:0");

// The same op on the CPU and on cuda:0, from the same input.
void check_on_gpu(const Tensor& cpu_input, const std::function<Tensor(const Tensor&)>& op, double rtol,
                  const std::string& what) {
  const Tensor want = op(cpu_input);
  const Tensor got = op(cpu_input.to(kGpu)).to(kCPU);
  REQUIRE(got.dtype() == want.dtype());
  if (rtol == 0) {
    INFO(what);
    CHECK(equal(got, want));
  } else {
    check_close(got, ref_of(want), rtol, 0, what);
  }
}

}  // namespace

TEST_CASE("CUDA reductions take each launch path and agree with the CPU", "[cuda][kernels][shared]") {
  struct Case {
    Shape shape;
    std::vector<int64_t> dims;
    const char* path;
  };
  const std::vector<Case> cases = {
      {{1000, 7}, {1}, "thread per group"},       // groups >= 256, <= 64 elements each
      {{37, 3000}, {1}, "block per group"},
      {{300, 100}, {1}, "block per group, blocks taking several groups"},  // more groups than blocks
      {{5, 6, 700}, {0, 2}, "block per group, two dims"},
      {{3, 70001}, {1}, "chunked, two launches"},  // > 64 Ki elements per group
      {{300001}, {}, "chunked, everything"},
  };
  for (const Case& c : cases)
    for (Layout layout : {Layout::Contiguous, Layout::Transposed})
      for (DType dt : {DType::Float32, DType::Float64, DType::Int64}) {
        const Tensor x = random_input(c.shape, DType::Float64, layout, -50, 50).to(dt);
        const std::string what = std::string(c.path) + " " + shape_str(c.shape) + " " + layout_name(layout) + " " +
                                 dtype_name(dt);
        const double sum_rtol = dt == DType::Float32 ? 1e-6 : dt == DType::Float64 ? 1e-12 : 0;
        check_on_gpu(x, [&](const Tensor& t) { return sum(t, c.dims); }, sum_rtol, "sum " + what);
        check_on_gpu(x, [&](const Tensor& t) { return max(t, c.dims); }, 0, "max " + what);
        check_on_gpu(x, [&](const Tensor& t) { return min(t, c.dims); }, 0, "min " + what);
        if (c.dims.size() == 1) {
          check_on_gpu(x, [&](const Tensor& t) { return argmax(t, c.dims[0]); }, 0, "argmax " + what);
          check_on_gpu(x, [&](const Tensor& t) { return argmin(t, c.dims[0]); }, 0, "argmin " + what);
        }
      }
}

TEST_CASE("CUDA sums are deterministic: the same bits on every run", "[cuda][kernels][shared]") {
  const Tensor x = random_input({300001}, DType::Float32, Layout::Contiguous, -1, 1).to(kGpu);
  const Tensor rows = random_input({3, 70001}, DType::Float32, Layout::Transposed, -1, 1).to(kGpu);
  const Tensor first = sum(x).to(kCPU), first_rows = sum(rows, {1}).to(kCPU);
  for (int run = 0; run < 3; ++run) {
    CHECK(equal(sum(x).to(kCPU), first));
    CHECK(equal(sum(rows, {1}).to(kCPU), first_rows));
  }
}

TEST_CASE("CUDA softmax takes the warp and the block path and agrees with the CPU", "[cuda][kernels][shared]") {
  struct Case {
    Shape shape;
    int64_t dim;
  };
  // Rows up to 1024 go one per warp, longer ones one per block (online).
  // [300, 1100]: more long rows than blocks, so blocks loop to a second row.
  for (const Case& c : std::vector<Case>{{{4, 33}, 1}, {{5, 1024}, 1}, {{7, 1500}, 1}, {{3, 5000, 2}, 1},
                                         {{2, 1025}, -1}, {{1300, 3}, 0}, {{300, 1100}, 1}})
    for (DType dt : {DType::Float32, DType::Float64}) {
      const Tensor x = random_input(c.shape, dt, Layout::Contiguous, -20, 20);
      const double rtol = dt == DType::Float32 ? 2e-5 : 1e-12;
      const std::string what = shape_str(c.shape) + " dim " + std::to_string(c.dim) + " " + dtype_name(dt);
      check_on_gpu(x, [&](const Tensor& t) { return softmax(t, c.dim); }, rtol, "softmax " + what);
      check_on_gpu(x, [&](const Tensor& t) { return log_softmax(t, c.dim); }, rtol, "log_softmax " + what);
    }
}

TEST_CASE("CUDA arange and fill agree with the CPU", "[cuda][kernels]") {
  for (DType dt : {DType::Int64, DType::Float32, DType::Float64}) {
    INFO(dtype_name(dt));
    const bool ints = dt == DType::Int64;
    const Tensor want = arange(ints ? Scalar(-3) : Scalar(0.5), 1000, ints ? Scalar(1) : Scalar(0.25), {.dtype = dt});
    const Tensor got = arange(ints ? Scalar(-3) : Scalar(0.5), 1000, ints ? Scalar(1) : Scalar(0.25),
                              {.dtype = dt, .device = kGpu});
    CHECK(got.device() == kGpu);
    CHECK(equal(got.to(kCPU), want));
  }
  for (DType dt : {DType::Float32, DType::Float64, DType::Int64, DType::UInt8, DType::Bool}) {
    INFO(dtype_name(dt));
    // Contiguous (float32 takes the float4 path for 1028, not for 1027) and strided.
    for (int64_t n : {1027, 1028})
      CHECK(equal(full({n}, 1, {.dtype = dt, .device = kGpu}).to(kCPU), full({n}, 1, {.dtype = dt})));
    Tensor on_gpu = zeros({6, 10}, {.dtype = dt, .device = kGpu});
    Tensor on_cpu = zeros({6, 10}, {.dtype = dt});
    on_gpu.slice(1, 1, 10, 3).fill_(1);
    on_cpu.slice(1, 1, 10, 3).fill_(1);
    CHECK(equal(on_gpu.to(kCPU), on_cpu));
  }
}

TEST_CASE("an index out of range on the device is reported at the next synchronization, naming the op",
          "[cuda][kernels]") {
  const Tensor a = arange(0, 20, 1, {.dtype = DType::Float32}).reshape({4, 5}).to(kGpu);
  const Tensor bad = from_vector<int64_t>({0, 7, 1}).to(kGpu);  // 7 >= 5
  const Tensor bad_rows = from_vector<int64_t>({0, 1, 9, 2, 0, 1, 2, 3, 0, 1, 2, 3}, {3, 4}).to(kGpu);
  // The kernels only record the problem (no host sync per op); the error
  // comes with the next transfer to the host or synchronize().
  Tensor picked = index_select(a, 1, bad);
  REQUIRE_THROWS_WITH_ALL(picked.to(kCPU), IndexError, "index_select", "index 7", "size 5");
  // The flag was cleared: the device works on.
  CHECK(equal(index_select(a, 1, from_vector<int64_t>({4, 0}).to(kGpu)).to(kCPU),
              index_select(a.to(kCPU), 1, from_vector<int64_t>({4, 0}))));
  Tensor gathered = gather(a, 0, bad_rows.slice(0, 0, 1));  // [1, 4]: row 9 of 4
  (void)gathered;
  REQUIRE_THROWS_WITH_ALL(cuda::synchronize(), IndexError, "gather", "index 9", "size 4");
  Tensor added = index_add(zeros({4, 5}, {.device = kGpu}), 1, bad, ones({4, 3}, {.device = kGpu}));
  REQUIRE_THROWS_WITH_ALL(cuda::synchronize(), IndexError, "index_add", "index 7");
  added = scatter_add(zeros({4, 5}, {.device = kGpu}), 0, bad_rows.slice(0, 0, 1), ones({1, 4}, {.device = kGpu}));
  REQUIRE_THROWS_WITH_ALL(cuda::synchronize(), IndexError, "scatter_add", "index 9");
  cuda::synchronize();  // clear again
}

TEST_CASE("the CUDA memory API reports allocations, empties the cache, and raises OutOfMemory",
          "[cuda][kernels]") {
  CHECK(cuda::is_built());
  CHECK(cuda::is_available());
  CHECK(cuda::device_count() >= 1);
  const cuda::MemoryStats before = cuda::memory_stats();
  {
    Tensor t = zeros({1000}, {.device = kGpu});
    const cuda::MemoryStats during = cuda::memory_stats();
    CHECK(during.allocated >= before.allocated + 4000);
    CHECK(during.peak >= during.allocated);
    CHECK(during.reserved >= during.allocated);
  }
  CHECK(cuda::memory_stats().allocated == before.allocated);
  cuda::empty_cache();
  CHECK(cuda::memory_stats().reserved <= std::max(before.reserved, cuda::memory_stats().allocated + (size_t(2) << 20)));

  // A cap on what the process may hold: beyond it, OutOfMemory with the statistics.
  cuda::set_memory_limit(cuda::memory_stats().reserved + (size_t(4) << 20));
  REQUIRE_THROWS_WITH_ALL(zeros({16 << 20}, {.device = kGpu}), OutOfMemory, "cuda:0", "out of memory",
                          "67108864 bytes", "allocated", "reserved", "peak");
  cuda::set_memory_limit(0);
  CHECK(zeros({16 << 20}, {.device = kGpu}).numel() == 16 << 20);

  REQUIRE_THROWS_WITH_ALL(cuda::memory_stats(5), DeviceError, "cuda:5", "not available");
}

TEST_CASE("pinned DataLoader batches hold the same data and move to the device", "[cuda][kernels]") {
  REQUIRE(pinned_host_allocator(DeviceType::CUDA) != nullptr);
  std::vector<uint8_t> pixels(10 * 28 * 28);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i % 251);
  auto ds = std::make_shared<data::TensorDataset>(from_vector(pixels, {10, 1, 28, 28}),
                                                  from_vector<int64_t>({0, 1, 2, 0, 1, 2, 0, 1, 2, 0}));
  data::DataLoader plain(ds, {.batch_size = 4, .shuffle = true, .seed = 3});
  data::DataLoader pinned(ds, {.batch_size = 4, .shuffle = true, .seed = 3, .pin_memory = true});
  auto a = plain.epoch(1), b = pinned.epoch(1);
  for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib) {
    REQUIRE(!(ib == b.end()));
    CHECK(equal(ia->images, ib->images));
    CHECK(equal(ia->labels, ib->labels));
    CHECK(equal(ib->images.to(kGpu).to(kCPU), ia->images));
  }
}

TEST_CASE("CUDA max pooling takes the first NaN, then the first of equal maxima, as the CPU does", "[cuda][kernels]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor x0 = from_vector<float>({1, 3, 3, 2, nan, 0, 5, 5, 2, 2, 2, 2, -1, nan, nan, 0}, {1, 1, 4, 4});
  struct Window {
    Pair kernel, stride, padding;
  };
  for (const Window& w :
       {Window{{2, 2}, {2, 2}, {0, 0}}, Window{{3, 3}, {1, 1}, {1, 1}}, Window{{2, 3}, {1, 2}, {1, 1}}}) {
    auto run = [&](Device d) {
      Tensor x = x0.to(d).detach().requires_grad_();
      Tensor y = max_pool2d(x, w.kernel, w.stride, w.padding);
      y.sum().backward();
      return std::pair{y.to(kCPU), x.grad().to(kCPU)};
    };
    const auto [y_cpu, g_cpu] = run(kCPU);
    const auto [y_gpu, g_gpu] = run(kGpu);
    check_close(y_gpu, ref_of(y_cpu), 0, 0, "max_pool2d values");
    CHECK(equal(g_gpu, g_cpu));  // each gradient lands where the CPU's does
  }
}

TEST_CASE("CUDA batch norm and its gradients agree with the CPU across channels, blocks and modes",
          "[cuda][kernels][shared]") {
  // (3, 5, 7, 9): 189 values a channel, not a multiple of the block; (2, 300,
  // 3): more channels than the emulator's grid, so a block takes several in
  // turn; (300, 4): BatchNorm1d's (N, C), with more values than threads.
  for (const Shape& shape : std::vector<Shape>{{3, 5, 7, 9}, {2, 300, 3}, {300, 4}})
    for (DType dt : {DType::Float32, DType::Float64})
      for (bool training : {true, false}) {
        const std::string what = shape_str(shape) + " " + dtype_name(dt) + (training ? " training" : " evaluation");
        INFO(what);
        const int64_t c = shape[1];
        Generator g(21);
        const Tensor x0 = (rand(shape, {.dtype = dt}, &g) * 4 + 3).to(dt), w0 = rand({c}, {.dtype = dt}, &g) + 0.5,
                     b0 = rand({c}, {.dtype = dt}, &g), gy = rand(shape, {.dtype = dt}, &g) - 0.5,
                     rm0 = rand({c}, {.dtype = dt}, &g), rv0 = rand({c}, {.dtype = dt}, &g) + 0.5;
        auto run = [&](Device d) {
          Tensor x = x0.to(d).detach().requires_grad_(), w = w0.to(d).detach().requires_grad_(),
                 b = b0.to(d).detach().requires_grad_(), rm = rm0.to(d).clone(), rv = rv0.to(d).clone();
          Tensor y = batch_norm(x, rm, rv, w, b, training, 0.3);
          (y * gy.to(d)).sum().backward();
          return std::vector<Tensor>{y.to(kCPU), rm.to(kCPU), rv.to(kCPU), x.grad().to(kCPU), w.grad().to(kCPU),
                                     b.grad().to(kCPU)};
        };
        const std::vector<Tensor> cpu = run(kCPU), gpu = run(kGpu);
        const double tol = dt == DType::Float32 ? 1e-4 : 1e-10;
        const char* names[] = {"y", "running mean", "running var", "grad x", "grad weight", "grad bias"};
        for (size_t i = 0; i < cpu.size(); ++i) check_close(gpu[i], ref_of(cpu[i]), tol, tol, what + " " + names[i]);
      }
}

TEST_CASE("an upload on the copy stream delivers the tensor, and refuses what it cannot copy", "[cuda][kernels]") {
  const Tensor host = random_input({3, 5}, DType::Float32, Layout::Contiguous, -1, 1);
  cuda::Upload up(host, kGpu);
  const Tensor x = up.get();
  CHECK(x.device() == kGpu);
  CHECK(equal(x.to(kCPU), host));
  CHECK(up.get().is_same(x));
  CHECK(equal((x * 2).to(kCPU), host * 2));  // work queued after get() sees the data
  REQUIRE_THROWS_WITH_ALL(cuda::Upload(host.t(), kGpu), ValueError, "Upload", "contiguous CPU tensor");
  REQUIRE_THROWS_WITH_ALL(cuda::Upload(host, kCPU), ValueError, "Upload", "cuda device");
  REQUIRE_THROWS_WITH_ALL(cuda::Upload().get(), ValueError, "empty upload");
}
