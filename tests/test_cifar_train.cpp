// ember-mnist on colour images (issue 18's trainer part): models built for
// the dataset's image shape, the CIFAR recipe's defaults, eval of a
// state_dict that carries no config, and a synthetic CIFAR-10 that trains
// through train() until its loss falls. The files are written here in
// CIFAR-10's binary format (one label byte, then 3072 pixel bytes); the
// reader itself is tested against independently written files in
// test_cifar.cpp.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <ember/ember.h>

#include "../examples/mnist/cli.h"
#include "../examples/mnist/datasets.h"
#include "../examples/mnist/models.h"
#include "../examples/mnist/trainer.h"
#include "support.h"

using namespace ember;
using namespace ember::test;
namespace fs = std::filesystem;

namespace {

// A learnable synthetic CIFAR-10: class k is a colour with stripes of
// period 2 + k, seen at a per-image offset, plus a little noise.
void write_synthetic_cifar10(const fs::path& dir, int64_t train, int64_t test) {
  fs::create_directories(dir);
  uint64_t state = 12345;
  auto next = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(state >> 33);
  };
  auto write = [&](const std::string& name, int64_t n) {
    std::ofstream f(dir / name, std::ios::binary);
    for (int64_t i = 0; i < n; ++i) {
      const int k = static_cast<int>(next() % 10), dx = static_cast<int>(next() % 32);
      f.put(static_cast<char>(k));
      for (int c = 0; c < 3; ++c)
        for (int y = 0; y < 32; ++y)
          for (int x = 0; x < 32; ++x) {
            const int base = 40 + 17 * ((k + c * 3) % 10), stripe = ((x + dx) / (2 + k)) % 2 ? 50 : -50;
            f.put(static_cast<char>(std::clamp(base + stripe + static_cast<int>(next() % 16), 0, 255)));
          }
    }
  };
  for (int b = 1; b <= 5; ++b) write("data_batch_" + std::to_string(b) + ".bin", train / 5);
  write("test_batch.bin", test);
}

template <typename E, typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  FAIL("no exception thrown");
  return "";
}

// How many fill="#rrggbb" attributes are not a grey (r = g = b).
int colour_fills(const std::string& svg) {
  int n = 0;
  for (size_t at = svg.find("fill=\"#"); at != std::string::npos; at = svg.find("fill=\"#", at + 1)) {
    const std::string hex = svg.substr(at + 7, 6);
    if (hex.size() == 6 && (hex.substr(0, 2) != hex.substr(2, 2) || hex.substr(2, 2) != hex.substr(4, 2))) ++n;
  }
  return n;
}

mnist::Command parse(std::vector<const char*> args) {
  mnist::CommandLine cli({"cpu: ember", mnist::model_names()});
  args.insert(args.begin(), "ember-mnist");
  return cli.parse(static_cast<int>(args.size()), args.data());
}

}  // namespace

TEST_CASE("every model is built for the dataset's image shape and classes", "[cifar][models]") {
  const mnist::ModelInput cifar{3, 32, 32, 10}, cifar100{3, 32, 32, 100};
  for (const char* name : {"mlp", "lenet", "cnn", "resnet", "resnet18"}) {
    INFO(name);
    manual_seed(0);
    auto model = mnist::make_model(name, std::string(name) == "resnet18" ? cifar100 : cifar);
    model->eval();
    const Tensor logits = (*model)(randn({2, 3, 32, 32}));
    REQUIRE(logits.shape() == Shape{2, std::string(name) == "resnet18" ? 100 : 10});
  }
  // The MNIST models are the ones they always were (the parameter counts of
  // the 1x28x28 defaults).
  REQUIRE(mnist::make_model("lenet")->num_parameters() == 61'706);
  REQUIRE(mnist::make_model("mlp")->num_parameters() == 235'146);
  // 32x32 leaves 4x4 after three pools (28x28 leaves 3x3), and LeNet's fc1
  // reads 16x6x6.
  auto shape_of = [](const nn::Module& m, const std::string& key) {
    for (const auto& [name, t] : m.state_dict())
      if (name == key) return t.shape();
    FAIL("no " << key);
    return Shape{};
  };
  REQUIRE(shape_of(*mnist::make_model("cnn", cifar), "8.weight") == Shape{128, 128 * 4 * 4});
  REQUIRE(shape_of(*mnist::make_model("cnn"), "8.weight") == Shape{128, 128 * 3 * 3});
  const auto lenet = std::dynamic_pointer_cast<mnist::LeNet>(mnist::make_model("lenet", cifar));
  REQUIRE(lenet->fc1->weight.shape() == Shape{120, 16 * 6 * 6});
  REQUIRE(lenet->conv1->weight.shape() == Shape{6, 3, 5, 5});
  REQUIRE_THAT(error_of<ValueError>([&] { mnist::make_model("cnn", {3, 4, 4, 10}); }),
               Catch::Contains("model cnn: images of 4x4 are too small"));
}

TEST_CASE("a state_dict's names and shapes pick its model, and a near miss names the difference", "[cifar][models]") {
  const mnist::ModelInput cifar{3, 32, 32, 10};
  manual_seed(0);
  std::vector<std::pair<std::string, Shape>> state;
  for (const auto& [name, t] : mnist::make_model("resnet18", cifar)->state_dict()) state.emplace_back(name, t.shape());
  const uint64_t offset = default_generator().offset();
  auto matches = mnist::match_models(state, cifar);
  REQUIRE(default_generator().offset() == offset);  // building the candidates drew nothing for the caller
  REQUIRE(matches.front().model == "resnet18");
  REQUIRE(matches.front().differences == 0);
  REQUIRE(matches[1].differences > 0);
  // torchvision's 1000-class head on a 10-class dataset.
  for (auto& [name, shape] : state)
    if (name == "fc.weight") shape = {1000, 512};
  matches = mnist::match_models(state, cifar);
  REQUIRE(matches.front().model == "resnet18");
  REQUIRE(matches.front().differences == 1);
  REQUIRE_THAT(matches.front().first, Catch::Contains("fc.weight is [1000, 512] in the file but [10, 512]"));
}

TEST_CASE("the CIFAR recipe (--dataset cifar10) sets every option not given", "[cifar][cli]") {
  mnist::Config c = parse({"train", "--dataset", "cifar10"}).config;
  REQUIRE(c.model == "resnet18");
  REQUIRE(c.optimizer == "sgd");
  REQUIRE(c.lr == 0.1);
  REQUIRE(c.momentum == 0.9);
  REQUIRE(c.weight_decay == 5e-4);
  REQUIRE(c.schedule == "onecycle");
  REQUIRE(c.batch_size == 128);
  REQUIRE(c.augment == 4);
  REQUIRE(c.epochs == 30);
  c = parse({"train", "--dataset", "cifar100", "--model", "cnn", "--lr", "0.05", "--batch-size", "64", "--augment",
             "0", "--optimizer", "adamw", "--epochs", "2"})
          .config;
  REQUIRE(c.model == "cnn");
  REQUIRE(c.lr == 0.05);
  REQUIRE(c.batch_size == 64);
  REQUIRE(c.augment == 0);
  REQUIRE(c.optimizer == "adamw");
  REQUIRE(c.epochs == 2);
  REQUIRE(c.schedule == "onecycle");
  // MNIST's defaults are untouched.
  c = parse({"train"}).config;
  REQUIRE(c.model == "cnn");
  REQUIRE(c.optimizer == "adamw");
  REQUIRE(c.batch_size == 64);
  REQUIRE(c.augment == 2);
  const mnist::Command eval = parse({"eval", "--model", "resnet18", EMBER_SOURCE_DIR "/README.md"});
  REQUIRE(eval.eval.model == "resnet18");
  REQUIRE_FALSE(eval.eval.dataset_given);
  REQUIRE(parse({"eval", "--dataset", "cifar10", EMBER_SOURCE_DIR "/README.md"}).eval.dataset_given);
  REQUIRE_THAT(error_of<ValueError>([] { mnist::dataset_info("cifar"); }),
               Catch::Contains("--dataset must be one of mnist, fashion, cifar10, cifar100, got 'cifar'"));
}

TEST_CASE("a synthetic CIFAR-10 trains, its loss falls, and eval finds the model of a bare state_dict",
          "[cifar][train]") {
  ThreadCount threads(2);
  TempDir tmp;
  const fs::path& dir = tmp.path;
  write_synthetic_cifar10(dir / "cifar-10-batches-bin", 80, 40);
  mnist::Config c;
  c.dataset = "cifar10";
  c.data_dir = dir.string();  // the layout with cifar-10-batches-bin/ inside
  c.model = "cnn";
  c.optimizer = "adamw";
  c.lr = 3e-3;
  c.batch_size = 40;  // two batches an epoch
  c.epochs = 4;
  c.augment = 4;
  c.out = (dir / "run").string();
  const mnist::TrainResult result = mnist::train(c);
  const std::string csv = viz::read_file(dir / "run" / "metrics.csv");
  std::vector<double> losses;  // train_loss, the third column
  std::istringstream lines(csv);
  std::string line;
  std::getline(lines, line);
  while (std::getline(lines, line)) {
    std::istringstream cells(line);
    std::string cell;
    for (int i = 0; i < 3; ++i) std::getline(cells, cell, ',');
    losses.push_back(std::stod(cell));
  }
  REQUIRE(losses.size() == 4);
  INFO("epoch losses " << losses[0] << " ... " << losses[3]);
  REQUIRE(losses[3] < 0.7 * losses[0]);
  REQUIRE(result.test_accuracy > 0.3);  // ten classes: chance is 0.1
  // The report draws the first layer's filters and the misclassified images
  // in colour: fills whose red, green and blue differ.
  REQUIRE(colour_fills(viz::read_file(dir / "run" / "filters.svg")) > 100);
  REQUIRE(colour_fills(viz::read_file(dir / "run" / "misclassified.svg")) > 100);

  // The model file without its config, as another program would write it.
  SafetensorsContents file = load_safetensors(dir / "run" / "model.safetensors");
  save_safetensors(dir / "bare.safetensors", file.tensors);
  mnist::Config e;
  e.dataset = "cifar10";
  e.data_dir = dir.string();
  const double accuracy = mnist::evaluate_file((dir / "bare.safetensors").string(), e, {});
  REQUIRE(accuracy == Approx(result.test_accuracy).margin(1e-12));
  // A wrong --model is a clear error, not garbage.
  REQUIRE_THAT(error_of<ValueError>([&] {
                 mnist::evaluate_file((dir / "bare.safetensors").string(), e, {.model = "lenet"});
               }),
               Catch::Contains("missing keys"));
  // The dataset comes from the file's config when --dataset is not given.
  mnist::Config defaults;
  defaults.data_dir = dir.string();
  REQUIRE(mnist::evaluate_file((dir / "run" / "model.safetensors").string(), defaults, {}) ==
          Approx(result.test_accuracy).margin(1e-12));
}
