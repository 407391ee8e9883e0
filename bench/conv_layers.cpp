// ember-conv-layers: the training convolutions of LeNet and the default CNN,
// one layer at a time, at batch 64 (bench/results/cpu/training-notes.md).
//
// For each layer it runs forward and backward (the weight gradient, and the
// input gradient for every layer but the first, as in training) in
// `--rounds` rounds of `--steps` passes after a warm-up, under the op
// profiler, and prints one row per primitive: the mean time of a call in
// the fastest round, in microseconds, and the GFLOP/s that implies
// (2 * N * C_out * L * C_in * kh * kw per pass).
//
//   ember-conv-layers --threads 2 [--steps 10 --rounds 7] [--csv FILE] [--filter cnn]
#include <cstdio>
#include <fstream>
#include <map>
#include <regex>

#include <CLI/CLI.hpp>
#include <ember/core/profiler.h>
#include <ember/ember.h>

using namespace ember;

namespace {

struct Layer {
  const char* name;
  int64_t c_in, c_out, hw, k, pad;
  bool input_grad;  // the first layer's input (the images) needs none
};

const Layer kLayers[] = {
    {"lenet_conv1", 1, 6, 28, 5, 2, false},   {"lenet_conv2", 6, 16, 14, 5, 0, true},
    {"cnn_conv1", 1, 32, 28, 3, 1, false},    {"cnn_conv2", 32, 64, 14, 3, 1, true},
    {"cnn_conv3", 64, 128, 7, 3, 1, true},
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ember-conv-layers: LeNet's and the default CNN's training convolutions, primitive by primitive"};
  int threads = 2, steps = 10, rounds = 7, batch = 64;
  std::string csv, filter = ".*";
  app.add_option("--threads", threads, "CPU threads");
  app.add_option("--steps", steps, "timed forward+backward passes per round");
  app.add_option("--rounds", rounds, "rounds per layer; each primitive's fastest round counts");
  app.add_option("--batch", batch, "images per pass");
  app.add_option("--csv", csv, "also write the rows here");
  app.add_option("--filter", filter, "layers whose name matches this regex");
  CLI11_PARSE(app, argc, argv);
  set_num_threads(threads);
  std::ofstream out;
  if (!csv.empty()) {
    out.open(csv);
    out << "layer,primitive,threads,calls,mean_us,gflops\n";
  }
  std::printf("%-12s %-24s %10s %8s\n", "layer", "primitive", "mean us", "GFLOP/s");
  for (const Layer& l : kLayers) {
    if (!std::regex_search(l.name, std::regex(filter))) continue;
    Generator gen(1);
    Tensor x = randn({batch, l.c_in, l.hw, l.hw}, {}, &gen);
    Tensor w = randn({l.c_out, l.c_in, l.k, l.k}, {}, &gen) * 0.1;
    Tensor b = randn({l.c_out}, {}, &gen);
    w.requires_grad_();
    b.requires_grad_();
    if (l.input_grad) x.requires_grad_();
    const int64_t out_hw = l.hw + 2 * l.pad - l.k + 1;
    const double flops = 2.0 * batch * l.c_out * out_hw * out_hw * l.c_in * l.k * l.k;
    Tensor gy = randn({batch, l.c_out, out_hw, out_hw}, {}, &gen);
    auto pass = [&] {
      Tensor y = conv2d(x, w, b, {.padding = {l.pad, l.pad}});
      y.backward(gy);
    };
    for (int i = 0; i < 5; ++i) pass();
    // Rounds of `steps` passes; a primitive's figure is its fastest round's
    // mean: on a shared VM, interference only ever adds time.
    std::map<std::string, double> best;
    for (int round = 0; round < rounds; ++round) {
      profiler::reset();
      profiler::set_enabled(true);
      for (int i = 0; i < steps; ++i) pass();
      profiler::set_enabled(false);
      for (const auto& e : profiler::entries()) {
        if (e.kind != profiler::Kind::Primitive || e.name.rfind("conv2d", 0) != 0) continue;
        const double us = e.total_seconds / e.calls * 1e6;
        auto [it, fresh] = best.emplace(e.name, us);
        if (!fresh) it->second = std::min(it->second, us);
      }
    }
    for (const auto& [name, us] : best) {
      std::printf("%-12s %-24s %10.1f %8.1f\n", l.name, name.c_str(), us, flops / us * 1e-3);
      if (out) out << l.name << ',' << name << ',' << threads << ',' << steps * rounds << ',' << us << ','
                   << flops / us * 1e-3 << '\n';
    }
  }
  return 0;
}
