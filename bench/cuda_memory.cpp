// ember-bench-cuda-memory: the memory-bound CUDA kernels (kernels/cuda/),
// as effective bandwidth, beside bench/torch_cuda_memory.py (the same cases
// in PyTorch on the same GPU). scripts/gpu_check.sh runs both in its bench
// step and tabulates Ember / PyTorch; docs/benchmarks.md has the commands.
//
// Each case is checked once against the CPU backend (the result moved back
// and compared), then warmed up, then timed: `repeat` samples of `inner`
// calls between two synchronizations, the median sample per call reported.
//   GB/s = (bytes read + bytes written) / time, each tensor counted once.
// A kernel that streams its data once can approach the device's copy
// bandwidth (an H200 copies about 4.3 TB/s, counting reads and writes).
//
// On the SIMT emulator the numbers say nothing about a GPU; the program
// runs there (with --quick) only to prove the cases work.
//
// CSV rows: framework,device,case,shape,median_ms,gbps.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <ember/ember.h>
#include <ember/kernels/cuda.h>

#include "bench_util.h"

namespace {

using namespace ember;
using Clock = std::chrono::steady_clock;

struct Case {
  std::string name, shape;
  double bytes;                      // read + written per call
  std::function<Tensor()> run;       // on the GPU inputs
  std::function<Tensor()> run_cpu;   // the same on CPU copies, for the check
};

Tensor rnd(const Shape& s, uint64_t seed) { return bench::uniform(s, seed, -2, 2); }

std::vector<Case> make_cases(int64_t n, int64_t rows, Device gpu) {
  std::vector<Case> cases;
  const int64_t cols = n / rows;
  auto add = [&](std::string name, std::string shape, double bytes, std::function<Tensor(const std::vector<Tensor>&)> f,
                 std::vector<Tensor> cpu_inputs) {
    std::vector<Tensor> gpu_inputs;
    for (const Tensor& t : cpu_inputs) gpu_inputs.push_back(t.to(gpu));
    cases.push_back({std::move(name), std::move(shape), bytes, [f, gpu_inputs] { return f(gpu_inputs); },
                     [f, cpu_inputs] { return f(cpu_inputs); }});
  };
  const std::string flat = std::to_string(n), mat = std::to_string(rows) + "x" + std::to_string(cols);
  const double f4 = 4;
  add("copy", flat, 2 * f4 * n, [](const auto& x) { return x[0].clone(); }, {rnd({n}, 1)});
  add("copy transposed", mat, 2 * f4 * n, [](const auto& x) { return x[0].t().contiguous(); }, {rnd({rows, cols}, 2)});
  add("cast float32->float64", flat, (4 + 8.0) * n, [](const auto& x) { return x[0].to(DType::Float64); },
      {rnd({n}, 3)});
  add("add", flat, 3 * f4 * n, [](const auto& x) { return x[0] + x[1]; }, {rnd({n}, 4), rnd({n}, 5)});
  add("add broadcast row", mat, 2 * f4 * n + f4 * cols, [](const auto& x) { return x[0] + x[1]; },
      {rnd({rows, cols}, 6), rnd({cols}, 7)});
  add("exp", flat, 2 * f4 * n, [](const auto& x) { return exp(x[0]); }, {rnd({n}, 8)});
  add("where", flat, (3 * f4 + 1) * n, [](const auto& x) { return where(gt(x[0], 0), x[0], x[1]); },
      {rnd({n}, 9), rnd({n}, 10)});
  add("sum all", flat, f4 * n, [](const auto& x) { return sum(x[0]); }, {rnd({n}, 11)});
  add("sum rows", mat, f4 * n + f4 * rows, [](const auto& x) { return sum(x[0], {1}); }, {rnd({rows, cols}, 12)});
  add("sum cols", mat, f4 * n + f4 * cols, [](const auto& x) { return sum(x[0], {0}); }, {rnd({rows, cols}, 13)});
  add("max rows", mat, f4 * n + f4 * rows, [](const auto& x) { return max(x[0], {1}); }, {rnd({rows, cols}, 14)});
  const int64_t short_rows = n / 1024;
  add("softmax rows of 1024", std::to_string(short_rows) + "x1024", 2 * f4 * n,
      [](const auto& x) { return softmax(x[0], 1); }, {rnd({short_rows, 1024}, 15)});
  add("log_softmax rows of " + std::to_string(cols), mat, 2 * f4 * n, [](const auto& x) { return log_softmax(x[0], 1); },
      {rnd({rows, cols}, 16)});
  Tensor idx = randint(0, rows, {rows}, {.dtype = DType::Int64});
  add("index_select rows", mat, 2 * f4 * n, [idx](const auto& x) { return index_select(x[0], 0, idx.to(x[0].device())); },
      {rnd({rows, cols}, 17)});
  return cases;
}

using bench::median;

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ember-bench-cuda-memory: bandwidth of Ember's memory-bound CUDA kernels"};
  bool quick = false;
  int repeat = 15, inner = 10;
  std::string csv;
  app.add_flag("--quick", quick, "small tensors, few samples (a smoke run; gpu_check.sh's bench step)");
  app.add_option("--repeat", repeat, "timed samples per case")->capture_default_str();
  app.add_option("--inner", inner, "calls per sample")->capture_default_str();
  app.add_option("--csv", csv, "also write the rows to this CSV file");
  CLI11_PARSE(app, argc, argv);
  if (!cuda::is_available()) {
    std::fprintf(stderr, "ember-bench-cuda-memory: no CUDA device (built: %s)\n", cuda::is_built() ? "yes" : "no");
    return 2;
  }
  const bool emulated = cuda::is_emulated();
  if (emulated) std::fprintf(stderr, "note: the SIMT emulator, not a GPU: these numbers say nothing about speed\n");
  // 64 MiB float32 tensors on a GPU (well past the H200's 60 MB L2); small
  // ones on the emulator or with --quick.
  const int64_t n = emulated ? (int64_t{1} << 14) : quick ? (int64_t{1} << 22) : (int64_t{1} << 24);
  if (quick || emulated) repeat = std::min(repeat, 5), inner = std::min(inner, 3);
  const Device gpu("cuda:0");
  std::vector<std::string> rows;
  int failures = 0;
  std::printf("%-28s %-14s %10s %10s\n", "case", "shape", "ms", "GB/s");
  for (Case& c : make_cases(n, 256, gpu)) {
    const Tensor want = c.run_cpu();
    const Tensor got = c.run().to(kCPU);
    if (!allclose(got.to(DType::Float64), want.to(DType::Float64), 1e-4, 1e-5)) {
      std::printf("%-28s %-14s WRONG RESULT against the CPU\n", c.name.c_str(), c.shape.c_str());
      ++failures;
      continue;
    }
    for (int i = 0; i < 3; ++i) c.run();
    cuda::synchronize();
    std::vector<double> samples;
    for (int r = 0; r < repeat; ++r) {
      const auto t0 = Clock::now();
      for (int i = 0; i < inner; ++i) c.run();
      cuda::synchronize();
      samples.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count() / inner);
    }
    const double ms = median(samples), gbps = c.bytes / (ms * 1e6);
    std::printf("%-28s %-14s %10.4f %10.1f\n", c.name.c_str(), c.shape.c_str(), ms, gbps);
    rows.push_back("ember," + std::string(emulated ? "emulator" : "cuda") + "," + c.name + "," + c.shape + "," +
                   std::to_string(ms) + "," + std::to_string(gbps));
  }
  if (!csv.empty()) {
    std::ofstream f(csv);
    f << "framework,device,case,shape,median_ms,gbps\n";
    for (const std::string& r : rows) f << r << "\n";
  }
  const cuda::MemoryStats s = cuda::memory_stats();
  std::printf("memory: peak %.1f MiB allocated, %.1f MiB reserved, %zu segments\n", s.peak / 1048576.0,
              s.reserved / 1048576.0, s.segments);
  return failures ? 1 : 0;
}
