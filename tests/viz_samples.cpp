// Writes one file of each kind viz produces into a folder, for the external
// checks (check_viz_samples.sh: xmllint, rsvg-convert, protoc --decode_raw)
// and for the pictures in docs/images/. The numbers are made up but shaped
// like the real thing; the charts' titles say "example".
//
//   viz_samples DIR
#include <cmath>
#include <cstdio>
#include <filesystem>

#include <ember/ember.h>

using namespace ember;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: viz_samples DIR\n");
    return 2;
  }
  const fs::path dir = argv[1];
  fs::create_directories(dir);
  try {
    // Line chart: noisy per-step training loss, smoothed, and a per-epoch test loss.
    viz::Series train{"train loss (per batch)", {}, {}}, test{"test loss (per epoch)", {}, {}, true};
    for (int s = 1; s <= 400; ++s) {
      train.x.push_back(s);
      train.y.push_back(2.3 * std::exp(-s / 60.0) + 0.08 + 0.12 * std::sin(s * 1.7) * std::exp(-s / 300.0));
      if (s % 50 == 0) {
        test.x.push_back(s);
        test.y.push_back(2.3 * std::exp(-s / 60.0) + 0.1);
      }
    }
    viz::write_file_atomic(dir / "line.svg", viz::line_chart({train, test}, {.title = "Loss (example)", .x_label = "step",
                                                                             .y_label = "cross-entropy", .smoothing = 0.6}));
    // Log y with values a log axis cannot show, and a NaN: both noted.
    viz::Series lr{"learning rate", {0, 1, 2, 3, 4, 5, 6}, {1e-4, 1e-3, 3e-3, NAN, 1e-3, 1e-5, 0}};
    viz::write_file_atomic(dir / "line_log.svg", viz::line_chart({lr}, {.title = "Learning rate (example)",
                                                                         .x_label = "epoch", .y_label = "lr", .log_y = true}));
    // Grouped bars: time ratios against a reference, with parity at 1.0.
    const std::vector<std::string> shapes{"conv 64x3x3", "conv 128x3x3", "conv 256x3x3", "gemm 1024", "gemm 4096"};
    viz::write_file_atomic(dir / "bars.svg",
                           viz::bar_chart(shapes, {{"ours / cuDNN", {1.42, 1.18, 0.97, 1.05, 0.88}},
                                                   {"ours / cuBLAS", {1.30, 1.10, 1.02, 0.99, 0.91}}},
                                          {.title = "Time ratio to the reference (example)", .y_label = "time / reference",
                                           .reference = 1.0, .reference_label = "parity"}));
    // A roofline: markers under a bandwidth and a compute ceiling, one point off the log axis.
    viz::write_file_atomic(dir / "roofline.svg",
                           viz::roofline_chart({{"sgemm", 170, 40000}, {"sgemm", 60, 9000}, {"add", 0.083, 300},
                                                {"softmax", 0.6, 2100}, {"add", 0, 10}},
                                               {.title = "Roofline (example)", .bandwidth_gbps = 4000,
                                                .peak_gflops = 50000, .bandwidth_label = "copy 4000 GB/s",
                                                .peak_label = "cuBLAS 50 TFLOP/s"}));
    // Heatmap: a confusion matrix.
    std::vector<std::vector<double>> confusion(10, std::vector<double>(10, 0));
    for (int t = 0; t < 10; ++t)
      for (int p = 0; p < 10; ++p) confusion[t][p] = t == p ? 190 + 3 * t : ((t * 7 + p * 3) % 11 == 0 ? 4 : (t + p) % 9 == 0);
    viz::write_file_atomic(dir / "heatmap.svg", viz::heatmap(confusion, {.title = "Confusion matrix (example)",
                                                                         .x_label = "predicted", .y_label = "true"}));
    // Image grid: rings of different radii, one with a NaN pixel.
    std::vector<viz::GrayImage> images;
    for (int i = 0; i < 12; ++i) {
      viz::GrayImage im{28, 28, std::vector<float>(28 * 28), "true " + std::to_string(i % 10) + ", pred " + std::to_string((i + 3) % 10)};
      for (int r = 0; r < 28; ++r)
        for (int c = 0; c < 28; ++c) {
          const double d = std::hypot(r - 13.5, c - 13.5);
          im.pixels[r * 28 + c] = static_cast<float>(std::max(0.0, 1 - std::abs(d - 4 - i * 0.6) / 2));
        }
      if (i == 11) im.pixels[14 * 28 + 3] = NAN;
      images.push_back(im);
    }
    viz::write_file_atomic(dir / "images.svg", viz::image_grid(images, {.title = "Images (example)", .columns = 6}));
    // Timeline: backward nodes on the main thread, bucketed all-reduces
    // overlapping them on a communication thread (issue 17's figure), one NaN.
    std::vector<viz::TimelineLane> lanes{{"main", {}}, {"comm", {}}};
    const char* nodes[] = {"LinearBackward", "ReluBackward", "ConvBackward", "ReluBackward", "ConvBackward"};
    double t = 0;
    for (int i = 0; i < 5; ++i) {
      const double d = i % 2 ? 0.4 : 3.0 + i;
      lanes[0].spans.push_back({t, t + d, nodes[i], "backward"});
      if (i % 2 == 0) lanes[1].spans.push_back({t + d, t + d + 3.2, "bucket " + std::to_string(i / 2), "all_reduce"});
      t += d;
    }
    lanes[0].spans.push_back({t, t + 1.5, "adam_update", "optimizer"});
    lanes[1].spans.push_back({NAN, 1, "lost", "all_reduce"});
    viz::write_file_atomic(dir / "timeline.svg",
                           viz::timeline_chart(lanes, {.title = "Backward and all-reduce (example)"}));
    // Graph pictures, through Graphviz.
    Tensor a = randn({2, 3}, {.requires_grad = true}), b = randn({3}, {.requires_grad = true});
    Tensor loss = (relu(a * b + 1) - a).pow(2).mean();
    viz::write_file_atomic(dir / "autograd_graph.svg", viz::render_dot(graph_to_dot(loss)));
    auto block = [] { return std::make_shared<nn::BasicBlock>(8, 8); };
    nn::Sequential model(std::initializer_list<nn::ModulePtr>{nn::make<nn::Conv2d>(1, 8, Pair{3, 3}, Conv2dOptions{.padding = {1, 1}}), block(),
                          block(), block(), nn::make<nn::AdaptiveAvgPool2d>(Pair{1, 1}), nn::make<nn::Flatten>(),
                          nn::make<nn::Linear>(8, 10)});
    viz::write_file_atomic(dir / "model_graph.svg", viz::render_dot(nn::module_graph_to_dot(model, zeros({1, 1, 28, 28}))));
    // The report, embedding what is above.
    viz::Report report{.title = "viz samples", .status = "every chart type, with made-up numbers"};
    for (const char* name :
         {"line", "line_log", "bars", "heatmap", "images", "timeline", "autograd_graph", "model_graph"})
      report.figures.push_back({name, viz::read_file(dir / (std::string(name) + ".svg")), std::string(name) + ".svg", "An example."});
    report.results = {{"epoch", "loss"}, {{"1", "0.5"}, {"2", "0.25"}}};
    report.config = {{"model", "example <&> \"quoted\""}};
    viz::write_file_atomic(dir / "report.html", viz::report_html(report));
    // TensorBoard events.
    viz::TensorBoardWriter tb(dir / "tensorboard");
    for (int s = 0; s < 5; ++s) tb.add_scalar("loss/train", 1.0 / (s + 1), s);
    tb.add_scalar("accuracy/test", 0.98, 4);
    std::printf("wrote samples to %s (events: %s)\n", dir.c_str(), tb.path().filename().c_str());
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
