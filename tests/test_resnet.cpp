// nn::ResNet against torchvision (tests/fixtures/resnet, written by
// tests/make_resnet_fixtures.py; no PyTorch needed here): state_dict names,
// shapes and dtypes in torchvision's order; parameter counts; torchvision's
// initialization, statistically; a narrow (base width 8) ResNet-18 with
// formula weights matching PyTorch's float64 logits, loss, gradients and
// running statistics in both modes; a torchvision-written file loading
// strictly; shapes through the stages; and errors.
//
// The full-size resnet18/34 are built only for names, shapes and counts;
// the numbers use the narrow model, so this file stays quick under ASan.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "support.h"

using namespace ember;
using namespace ember::test;
using namespace ember::nn;
using json = nlohmann::json;

namespace {

json read_fixture(const std::string& name) {
  std::ifstream in(std::string(EMBER_SOURCE_DIR) + "/tests/fixtures/resnet/" + name);
  REQUIRE(in.good());
  return json::parse(in);
}

const json& keys_fixture() {
  static const json keys = read_fixture("keys.json");
  return keys;
}

const json& narrow_fixture() {
  static const json narrow = read_fixture("narrow.json");
  return narrow;
}

// [name, shape, dtype] per state_dict entry, as the fixture lists them.
json key_list(const Module& m) {
  json out = json::array();
  for (const auto& [name, t] : m.state_dict()) out.push_back({name, t.shape(), dtype_name(t.dtype())});
  return out;
}

ResNetOptions narrow_options(bool cifar_stem) {
  return {.num_classes = 10, .cifar_stem = cifar_stem, .base_width = 8};
}

// value[i] = offset + scale * sin(freq * i + phase) (the fixture's formula).
Tensor formula(const Shape& shape, const json& rule) {
  const double offset = rule[0], scale = rule[1], freq = rule[2], phase = rule[3];
  std::vector<double> v(static_cast<size_t>(numel(shape)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = offset + scale * std::sin(freq * static_cast<double>(i) + phase);
  return from_vector(v, shape);
}

// Largest |got - want| / max(1, |want|) over the elements.
double max_rel_err(const Tensor& got, const std::vector<double>& want) {
  auto g = got.to(DType::Float64).contiguous().to_vector<double>();
  REQUIRE(g.size() == want.size());
  double worst = 0;
  for (size_t i = 0; i < g.size(); ++i)
    worst = std::max(worst, std::abs(g[i] - want[i]) / std::max(1.0, std::abs(want[i])));
  return worst;
}

double rel_err(double got, double want) { return std::abs(got - want) / std::max(1.0, std::abs(want)); }

std::map<std::string, Tensor> by_name(const NamedTensors& v) { return {v.begin(), v.end()}; }

double std_of(const Tensor& t) { return std::sqrt(var(t.to(DType::Float64)).item<double>()); }

}  // namespace

TEST_CASE("ResNet's state_dict is torchvision's: names in its order, shapes, dtypes", "[resnet]") {
  const json& keys = keys_fixture();
  const std::pair<const char*, std::shared_ptr<ResNet>> models[] = {
      {"resnet18", resnet18()},
      {"resnet34", resnet34()},
      {"resnet18_cifar10", resnet18({.num_classes = 10, .cifar_stem = true})}};
  for (const auto& [name, model] : models) {
    INFO(name);
    const json got = key_list(*model), want = keys.at(name);
    CHECK(got.size() == want.size());
    for (size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
      INFO("entry " << i);
      CHECK(got[i].dump() == want[i].dump());  // [name, shape, dtype], in torchvision's order
    }
    CHECK(model->num_parameters() == keys.at("num_parameters").at(name).get<int64_t>());
  }
  CHECK(resnet18()->num_parameters() == 11689512);
  // What the summary prints for the CIFAR variant (docs/resnet.md quotes it).
  auto& cifar = *models[2].second;
  const std::string table = summary_table(summarize(cifar, zeros({1, 3, 32, 32})));
  CHECK(table.find("11173962 parameters") != std::string::npos);
}

TEST_CASE("ResNet's initialization is torchvision's", "[resnet][init]") {
  manual_seed(0);
  // Base width 16 keeps the tensors large enough for 2-3% bounds and small
  // enough for ASan; fan_in != fan_out in conv1, downsample and each stage's
  // first conv, so fan_in would fail those.
  auto model = resnet18({.base_width = 16});
  int convs = 0, bns = 0;
  for (const auto& [name, m] : model->named_modules()) {
    INFO(name);
    if (const auto* conv = dynamic_cast<const Conv2d*>(m)) {
      ++convs;
      const Tensor& w = conv->weight;
      const double want = std::sqrt(2.0 / static_cast<double>(init::fans(w).second));  // kaiming_normal_, fan_out
      CHECK(std_of(w) == Approx(want).epsilon(w.numel() >= 20000 ? 0.02 : 0.06));
      CHECK(std::abs(mean(w.to(DType::Float64)).item<double>()) < 4 * want / std::sqrt(double(w.numel())));
    } else if (const auto* bn = dynamic_cast<const BatchNorm*>(m)) {
      ++bns;
      CHECK(equal(bn->weight, ones_like(bn->weight)));
      CHECK(equal(bn->bias, zeros_like(bn->bias)));
    }
  }
  CHECK(convs == 20);  // conv1, 16 in the blocks, 3 downsample
  CHECK(bns == 20);
  // fc keeps Linear's default: U(+-1/sqrt(in_features)).
  auto state = by_name(model->state_dict());
  const double bound = 1.0 / std::sqrt(128.0);
  CHECK(max(abs(state.at("fc.weight"))).item<double>() <= bound);
  CHECK(std_of(state.at("fc.weight")) == Approx(bound / std::sqrt(3.0)).epsilon(0.05));

  auto zeroed = by_name(resnet18({.base_width = 8, .zero_init_residual = true})->state_dict());
  int zero = 0;
  for (const auto& [name, t] : zeroed) {
    if (name.size() > 11 && name.compare(name.size() - 11, 11, ".bn2.weight") == 0) {
      ++zero;
      CHECK(equal(t, zeros_like(t)));
    } else if (name.find("bn1.weight") != std::string::npos || name.find("downsample.1.weight") != std::string::npos) {
      CHECK(equal(t, ones_like(t)));
    }
  }
  CHECK(zero == 8);
}

TEST_CASE("init::normal_ and init::kaiming_normal_ draw the right distributions", "[resnet][init]") {
  Tensor t = empty({100000}, {.dtype = DType::Float64});
  Generator gen(7);
  init::normal_(t, 2.0, 0.5, &gen);
  CHECK(mean(t).item<double>() == Approx(2.0).epsilon(0.01));
  CHECK(std_of(t) == Approx(0.5).epsilon(0.02));
  Tensor again = empty({100000}, {.dtype = DType::Float64});
  Generator same(7);
  init::normal_(again, 2.0, 0.5, &same);
  CHECK(equal(t, again));  // a generator fixes the draws
  Tensor w = empty({64, 16, 5, 5});  // fan_in 400, fan_out 1600
  init::kaiming_normal_(w, 1.0);     // leaky slope 1: std sqrt(2 / (2 * 400))
  CHECK(std_of(w) == Approx(0.05).epsilon(0.03));
  init::kaiming_normal_(w, 0.0, init::FanMode::FanOut);
  CHECK(std_of(w) == Approx(std::sqrt(2.0 / 1600)).epsilon(0.03));
  REQUIRE_THROWS_WITH_ALL(init::normal_(t, 0, -1), ValueError, "normal_", "-1");
}

TEST_CASE("narrow ResNet-18 in float64 matches PyTorch: logits, loss, gradients, running stats", "[resnet]") {
  for (const json& c : narrow_fixture().at("cases")) {
    const bool cifar = c.at("cifar_stem");
    INFO((cifar ? "cifar stem" : "ImageNet stem"));
    auto model = resnet18(narrow_options(cifar));
    model->to(DType::Float64);
    auto state = by_name(model->state_dict());
    {
      NoGradGuard no_grad;
      for (const json& rule : c.at("rules")) {
        Tensor t = state.at(rule[0].get<std::string>());
        t.copy_(formula(t.shape(), {rule[1], rule[2], rule[3], rule[4]}));
      }
    }
    const Tensor x = formula(c.at("input_shape").get<Shape>(), c.at("input_rule"));
    const Tensor labels = from_vector(c.at("labels").get<std::vector<int64_t>>());

    model->eval();
    {
      NoGradGuard no_grad;
      CHECK(max_rel_err((*model)(x), c.at("eval_logits")) < 1e-9);  // running statistics
    }
    model->train();
    Tensor xg = x.detach().requires_grad_(true);
    Tensor logits = (*model)(xg);
    CHECK(logits.shape() == Shape{2, 10});
    CHECK(max_rel_err(logits, c.at("train_logits")) < 1e-9);  // batch statistics
    Tensor loss = cross_entropy(logits, labels);
    CHECK(rel_err(loss.item<double>(), c.at("loss")) < 1e-9);
    loss.backward();
    const auto n = static_cast<int64_t>(c.at("grad_input").size());  // all of it, or a prefix
    CHECK(max_rel_err(xg.grad().reshape({-1}).slice(0, 0, n), c.at("grad_input")) < 1e-9);
    CHECK(rel_err(sum(xg.grad()).item<double>(), c.at("grad_input_sums")[0]) < 1e-9);
    CHECK(rel_err(sum(abs(xg.grad())).item<double>(), c.at("grad_input_sums")[1]) < 1e-9);
    for (const auto& [name, want] : c.at("grads").items()) {
      INFO(name);
      CHECK(max_rel_err(state.at(name).grad(), want) < 1e-9);
    }
    auto params = model->named_parameters();
    CHECK(params.size() == c.at("grad_sums").size());
    for (const auto& [name, p] : params) {
      INFO(name);
      const json& want = c.at("grad_sums").at(name);
      Tensor g = p.grad().to(DType::Float64);
      CHECK(rel_err(sum(g).item<double>(), want[0]) < 1e-9);
      CHECK(rel_err(sum(abs(g)).item<double>(), want[1]) < 1e-9);
    }
    for (const auto& [name, want] : c.at("running_after").items()) {
      INFO(name);
      CHECK(max_rel_err(state.at(name), want) < 1e-9);
    }
    CHECK(state.at("layer3.1.bn2.num_batches_tracked").item<int64_t>() == 1);
  }
}

TEST_CASE("a torchvision-written narrow ResNet-18 loads strictly and gives PyTorch's logits",
          "[resnet][serialization]") {
  const json& f = narrow_fixture().at("torchvision_file");
  auto model = resnet18(narrow_options(f.at("cifar_stem")));
  model->load(std::string(EMBER_SOURCE_DIR) + "/tests/fixtures/resnet/" + f.at("file").get<std::string>());
  auto state = by_name(model->state_dict());
  for (const auto& [name, want] : f.at("values").items()) {
    INFO(name);
    const Tensor& t = state.at(name);
    CHECK(max_rel_err(t.reshape({-1}).slice(0, 0, static_cast<int64_t>(want.size())), want) == 0);
  }
  CHECK(state.at("bn1.num_batches_tracked").item<int64_t>() == f.at("num_batches_tracked").get<int64_t>());
  model->eval();
  NoGradGuard no_grad;
  const Tensor x = formula({2, 3, 32, 32}, f.at("input_rule")).to(DType::Float32);
  CHECK(max_rel_err((*model)(x), f.at("eval_logits_float32")) < 1e-4);  // float32, two libraries' summation orders
}

TEST_CASE("ResNet's module tree and the shapes through its stages", "[resnet][summary]") {
  auto imagenet = resnet18(narrow_options(false));
  auto rows = summarize(*imagenet, zeros({1, 3, 224, 224}));
  std::map<std::string, Shape> out;
  for (const auto& r : rows) out[r.name] = r.output;
  CHECK(out.at("conv1") == Shape{1, 8, 112, 112});
  CHECK(out.at("maxpool") == Shape{1, 8, 56, 56});
  CHECK(out.at("layer1") == Shape{1, 8, 56, 56});
  CHECK(out.at("layer2") == Shape{1, 16, 28, 28});
  CHECK(out.at("layer3") == Shape{1, 32, 14, 14});
  CHECK(out.at("layer4") == Shape{1, 64, 7, 7});
  CHECK(out.at("avgpool") == Shape{1, 64, 1, 1});
  CHECK(out.at("fc") == Shape{1, 10});
  CHECK(rows.back().name.empty());

  auto cifar = resnet18(narrow_options(true));
  rows = summarize(*cifar, zeros({2, 3, 32, 32}));
  out.clear();
  for (const auto& r : rows) out[r.name] = r.output;
  CHECK(out.count("maxpool") == 0);
  CHECK(out.at("conv1") == Shape{2, 8, 32, 32});
  CHECK(out.at("layer1") == Shape{2, 8, 32, 32});
  CHECK(out.at("layer4.1") == Shape{2, 64, 4, 4});
  CHECK(out.at("fc") == Shape{2, 10});

  const std::string tree = imagenet->to_string();
  INFO(tree);
  for (const char* line : {"ResNet(", "(relu): ReLU",
                           "(conv1): Conv2d(3, 8, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False)",
                           "(maxpool): MaxPool2d(kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))",
                           "(layer2): Sequential(", "(0): BasicBlock(", "(downsample): Sequential(",
                           "(avgpool): AdaptiveAvgPool2d(output_size=(1, 1))",
                           "(fc): Linear(in_features=64, out_features=10"})
    CHECK(tree.find(line) != std::string::npos);
  CHECK(cifar->to_string().find("maxpool") == std::string::npos);
  CHECK(cifar->options().cifar_stem);
}

TEST_CASE("ResNet's errors name the problem", "[resnet][errors]") {
  auto model = resnet18(narrow_options(true));
  REQUIRE_THROWS_WITH_ALL((*model)(zeros({2, 1, 32, 32})), ShapeError, "ResNet", "(N, 3, H, W)", "[2, 1, 32, 32]");
  REQUIRE_THROWS_WITH_ALL((*model)(zeros({3, 32, 32})), ShapeError, "ResNet", "(N, 3, H, W)", "[3, 32, 32]");
  auto gray = resnet18({.num_classes = 10, .in_channels = 1, .cifar_stem = true, .base_width = 8});
  CHECK((*gray)(zeros({2, 1, 8, 8})).shape() == Shape{2, 10});
  REQUIRE_THROWS_WITH_ALL(ResNet({2, 2, 2}), ValueError, "ResNet", "blocks_per_stage", "{2, 2, 2}");
  REQUIRE_THROWS_WITH_ALL(ResNet({2, 0, 2, 2}), ValueError, "ResNet", "blocks_per_stage", "{2, 0, 2, 2}");
  REQUIRE_THROWS_WITH_ALL(ResNet({2, 2, 2, 2}, {.base_width = 0}), ValueError, "ResNet", "base_width", "0");
  REQUIRE_THROWS_WITH_ALL(ResNet({2, 2, 2, 2}, {.num_classes = 0}), ValueError, "ResNet", "num_classes=0");
}

// Hidden (run by tests/make_resnet_fixtures.py with EMBER_RESNET_DIR set):
// writes Ember's resnet18 and 10-class CIFAR-stem resnet18 there, and, if
// torchvision_resnet18.safetensors is there, loads it strictly into
// resnet18 and writes it back as ember_roundtrip_resnet18.safetensors.
TEST_CASE("write Ember's resnet18 files for the torchvision interchange check", "[.write_resnet]") {
  const char* dir = std::getenv("EMBER_RESNET_DIR");
  REQUIRE(dir != nullptr);
  const std::filesystem::path d(dir);
  manual_seed(0);
  resnet18()->save(d / "ember_resnet18.safetensors");
  resnet18({.num_classes = 10, .cifar_stem = true})->save(d / "ember_resnet18_cifar10.safetensors");
  if (std::filesystem::exists(d / "torchvision_resnet18.safetensors")) {
    auto model = resnet18();
    model->load(d / "torchvision_resnet18.safetensors", /*strict=*/true);
    model->save(d / "ember_roundtrip_resnet18.safetensors");
  }
}
