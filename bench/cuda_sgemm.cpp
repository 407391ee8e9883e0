// ember-bench-sgemm: every rung of the SGEMM ladder (Note [SGEMM ladder] in
// kernels/cuda/gemm.h) on square float32 problems, beside
// bench/torch_sgemm.py (PyTorch's matmul, that is cuBLAS, TF32 off, on the
// same GPU). scripts/gpu_check.sh runs both in its bench step and tabulates
// each rung as a fraction of cuBLAS; docs/benchmarks.md has the commands.
//
// Each variant is first checked against the CPU on a 256 x 256 x 256
// problem, then each size is warmed up and timed: `repeat` samples of one
// call between two synchronizations, the median reported as TFLOP/s
// (2 M N K / time).
//
// On the SIMT emulator the numbers say nothing about a GPU; the program runs
// there only on tiny sizes, to prove it works.
//
// CSV rows: framework,device,variant,size,median_ms,tflops.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <ember/ember.h>
#include <ember/kernels/cuda.h>

#include "bench_util.h"

namespace {

using namespace ember;
using bench::uniform;

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ember-bench-sgemm: the SGEMM ladder's kernels on square float32 problems"};
  bool quick = false;
  int repeat = 10;
  std::vector<int64_t> sizes;
  std::string csv, only;
  app.add_flag("--quick", quick, "sizes 1024 and 4096, 3 samples (gpu_check.sh's bench step)");
  app.add_option("--sizes", sizes, "square sizes (default 1024 2048 4096 8192)");
  app.add_option("--repeat", repeat, "timed samples per size")->capture_default_str();
  app.add_option("--variant", only, "one variant only (default: every rung, in ladder order)");
  app.add_option("--csv", csv, "also write the rows to this CSV file");
  CLI11_PARSE(app, argc, argv);
  if (!cuda::is_available()) {
    std::fprintf(stderr, "ember-bench-sgemm: no CUDA device (built: %s)\n", cuda::is_built() ? "yes" : "no");
    return 2;
  }
  const bool emulated = cuda::is_emulated();
  if (sizes.empty()) sizes = quick ? std::vector<int64_t>{1024, 4096} : std::vector<int64_t>{1024, 2048, 4096, 8192};
  if (emulated) {
    std::fprintf(stderr, "note: the SIMT emulator, not a GPU: these numbers say nothing about speed\n");
    sizes = {64, 96};
  }
  if (quick || emulated) repeat = std::min(repeat, 3);
  const Device gpu("cuda:0");
  std::vector<std::string> variants = cuda::sgemm_variants();
  if (!only.empty()) variants = {only};
  const std::string before = cuda::sgemm();

  // The check: each variant against the CPU on one problem.
  const int64_t c = emulated ? 40 : 256;
  const Tensor ca = uniform({c, c}, 1), cb = uniform({c, c}, 2);
  const Tensor want = matmul(ca.to(DType::Float64), cb.to(DType::Float64));
  const Tensor ga = ca.to(gpu), gb = cb.to(gpu);
  int failures = 0;
  std::vector<std::string> rows;
  std::printf("%-14s %6s %10s %8s\n", "variant", "size", "ms", "TFLOP/s");
  for (const std::string& v : variants) {
    cuda::set_sgemm(v);
    if (!allclose(matmul(ga, gb).to(kCPU).to(DType::Float64), want, 1e-4, 1e-4)) {
      std::printf("%-14s WRONG RESULT against the CPU\n", v.c_str());
      ++failures;
      continue;
    }
    for (int64_t n : sizes) {
      const Tensor a = uniform({n, n}, 3).to(gpu), b = uniform({n, n}, 4).to(gpu);
      const double ms = bench::median_ms_of_calls(repeat, [&] { matmul(a, b); }), tflops = 2.0 * double(n) * double(n) * double(n) / (ms * 1e9);
      std::printf("%-14s %6lld %10.3f %8.2f\n", v.c_str(), static_cast<long long>(n), ms, tflops);
      std::fflush(stdout);
      rows.push_back("ember," + std::string(emulated ? "emulator" : "cuda") + "," + v + "," + std::to_string(n) + "," +
                     std::to_string(ms) + "," + std::to_string(tflops));
    }
  }
  cuda::set_sgemm(before);
  if (!csv.empty()) {
    std::ofstream f(csv);
    f << "framework,device,variant,size,median_ms,tflops\n";
    for (const std::string& r : rows) f << r << "\n";
  }
  return failures ? 1 : 0;
}
