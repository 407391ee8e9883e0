// ember-bench-conv: conv2d forward on LeNet's layers and ResNet-18's 3x3
// layers, with each of Ember's forward kernels (auto, direct,
// implicit_gemm; Note [Direct convolution] in kernels/cuda/conv.cu), beside
// bench/torch_conv.py (PyTorch's conv2d, that is cuDNN, TF32 off, on the
// same GPU). scripts/gpu_check.sh runs both in its bench step and tabulates
// Ember as a fraction of cuDNN.
//
// Each case is first checked against the CPU (on a batch of 2), then warmed
// up and timed: `repeat` samples of one call between two synchronizations,
// the median reported, with TFLOP/s = 2 N C_out H_out W_out C_in kh kw / t.
// On the SIMT emulator the numbers say nothing about a GPU; it runs there on
// batch 1 of the small cases only, to prove the program works.
//
// CSV rows: framework,device,algorithm,case,shape,median_ms,tflops.
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

struct ConvCase {
  const char* name;
  int64_t c_in, c_out, hw, k, pad, batch;
};

// LeNet at the training batch (64), ResNet-18's stride-1 3x3 layers on
// ImageNet-sized maps at batch 32 (the shapes of bench/torch_conv.py).
const std::vector<ConvCase> kCases = {
    {"lenet.conv1", 1, 6, 28, 5, 2, 64},      {"lenet.conv2", 6, 16, 14, 5, 0, 64},
    {"resnet18.layer1", 64, 64, 56, 3, 1, 32}, {"resnet18.layer2", 128, 128, 28, 3, 1, 32},
    {"resnet18.layer3", 256, 256, 14, 3, 1, 32}, {"resnet18.layer4", 512, 512, 7, 3, 1, 32},
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ember-bench-conv: conv2d forward on LeNet's and ResNet-18's shapes"};
  bool quick = false;
  int repeat = 10;
  std::string csv;
  app.add_flag("--quick", quick, "3 samples per case (gpu_check.sh's bench step)");
  app.add_option("--repeat", repeat, "timed samples per case")->capture_default_str();
  app.add_option("--csv", csv, "also write the rows to this CSV file");
  CLI11_PARSE(app, argc, argv);
  if (!cuda::is_available()) {
    std::fprintf(stderr, "ember-bench-conv: no CUDA device (built: %s)\n", cuda::is_built() ? "yes" : "no");
    return 2;
  }
  const bool emulated = cuda::is_emulated();
  if (emulated) std::fprintf(stderr, "note: the SIMT emulator, not a GPU: these numbers say nothing about speed\n");
  if (quick || emulated) repeat = std::min(repeat, 3);
  const Device gpu("cuda:0");
  const std::string before = cuda::conv_algorithm();
  int failures = 0;
  std::vector<std::string> rows;
  std::printf("%-16s %-14s %-22s %10s %8s\n", "case", "algorithm", "shape", "ms", "TFLOP/s");
  for (const ConvCase& c : kCases) {
    if (emulated && c.c_in > 8) continue;
    const int64_t n = emulated ? 1 : c.batch, out_hw = c.hw + 2 * c.pad - c.k + 1;
    const Conv2dOptions opts{.padding = {c.pad, c.pad}};
    const Tensor w = uniform({c.c_out, c.c_in, c.k, c.k}, 2), b = uniform({c.c_out}, 3);
    const Tensor small = uniform({2, c.c_in, c.hw, c.hw}, 1);
    const Tensor want = conv2d(small.to(DType::Float64), w.to(DType::Float64), b.to(DType::Float64), opts);
    const Tensor x = uniform({n, c.c_in, c.hw, c.hw}, 4).to(gpu), gw = w.to(gpu), gb = b.to(gpu);
    const std::string shape = std::to_string(n) + "x" + std::to_string(c.c_in) + "x" + std::to_string(c.hw) + "^2 k" +
                              std::to_string(c.k) + " ->" + std::to_string(c.c_out);
    for (const std::string& algo : cuda::conv_algorithms()) {
      cuda::set_conv_algorithm(algo);
      if (!allclose(conv2d(small.to(gpu), gw, gb, opts).to(kCPU).to(DType::Float64), want, 1e-4, 1e-4)) {
        std::printf("%-16s %-14s WRONG RESULT against the CPU\n", c.name, algo.c_str());
        ++failures;
        continue;
      }
      const double ms = bench::median_ms_of_calls(repeat, [&] { conv2d(x, gw, gb, opts); });
      const double flops = 2.0 * n * c.c_out * out_hw * out_hw * c.c_in * c.k * c.k;
      std::printf("%-16s %-14s %-22s %10.3f %8.2f\n", c.name, algo.c_str(), shape.c_str(), ms, flops / (ms * 1e9));
      std::fflush(stdout);
      rows.push_back("ember," + std::string(emulated ? "emulator" : "cuda") + "," + algo + "," + c.name + "," + shape +
                     "," + std::to_string(ms) + "," + std::to_string(flops / (ms * 1e9)));
    }
  }
  cuda::set_conv_algorithm(before);
  if (!csv.empty()) {
    std::ofstream f(csv);
    f << "framework,device,algorithm,case,shape,median_ms,tflops\n";
    for (const std::string& r : rows) f << r << "\n";
  }
  return failures ? 1 : 0;
}
