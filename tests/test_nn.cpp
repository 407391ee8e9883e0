// nn: Modules and layers. Names, shapes and initialization match torch.nn;
// state_dicts round-trip through safetensors; train/eval, device/dtype
// moves, summaries; and a small model learns.
#include <cmath>
#include <filesystem>

#include "support.h"

using namespace ember;
using namespace ember::test;
using namespace ember::nn;

namespace {

// LeNet as in the MNIST issue, with torch-style attribute names.
struct LeNet : Module {
  std::shared_ptr<Conv2d> conv1 = register_module("conv1", make<Conv2d>(1, 6, Pair{5, 5}, Conv2dOptions{.padding = {2, 2}}));
  std::shared_ptr<Conv2d> conv2 = register_module("conv2", make<Conv2d>(6, 16, Pair{5, 5}));
  std::shared_ptr<Linear> fc1 = register_module("fc1", make<Linear>(400, 120));
  std::shared_ptr<Linear> fc2 = register_module("fc2", make<Linear>(120, 84));
  std::shared_ptr<Linear> fc3 = register_module("fc3", make<Linear>(84, 10));
  Tensor forward(const Tensor& x) override {
    Tensor y = max_pool2d(relu((*conv1)(x)), {2, 2});
    y = max_pool2d(relu((*conv2)(y)), {2, 2});
    y = relu((*fc1)(flatten(y, 1)));
    return (*fc3)(relu((*fc2)(y)));
  }
  // No type_name() override: written as a PyTorch user would, it prints as "LeNet".
};

std::vector<std::string> names(const NamedTensors& v) {
  std::vector<std::string> out;
  for (auto& [n, t] : v) out.push_back(n);
  return out;
}

}  // namespace

TEST_CASE("parameter and buffer names follow torch.nn", "[nn]") {
  LeNet net;
  CHECK(names(net.state_dict()) == std::vector<std::string>{"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias",
                                                             "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias",
                                                             "fc3.weight", "fc3.bias"});
  CHECK(net.num_parameters() == 61706);  // torch: sum(p.numel() for p in LeNet().parameters())
  Sequential seq{make<Conv2d>(3, 8, Pair{3, 3}, Conv2dOptions{.stride = {2, 2}, .padding = {1, 1}}, false),
                 make<BatchNorm2d>(8)};
  CHECK(names(seq.state_dict()) == std::vector<std::string>{"0.weight", "1.weight", "1.bias", "1.running_mean",
                                                             "1.running_var", "1.num_batches_tracked"});
  BasicBlock block(8, 16, 2);
  auto block_names = names(block.state_dict());
  CHECK(block_names.front() == "conv1.weight");
  CHECK(std::find(block_names.begin(), block_names.end(), "downsample.1.running_var") != block_names.end());
  CHECK(block.named_parameters().size() == 9);  // conv1, bn1 (2), conv2, bn2 (2), downsample conv, bn (2)
}

TEST_CASE("default initialization is PyTorch's: U(+-1/sqrt(fan_in))", "[nn][init]") {
  manual_seed(0);
  Linear fc(400, 120);
  const double bound = 1.0 / std::sqrt(400.0);
  CHECK(max(abs(fc.weight)).item<double>() <= bound);
  CHECK(max(abs(fc.weight)).item<double>() > 0.95 * bound);
  CHECK(std::abs(mean(fc.weight).item<double>()) < 0.01 * bound * 10);
  CHECK(var(fc.weight).item<double>() == Approx(bound * bound / 3).epsilon(0.05));  // variance of U(-b, b)
  Conv2d conv(6, 16, {5, 5});
  CHECK(max(abs(conv.weight)).item<double>() <= 1.0 / std::sqrt(150.0));
  manual_seed(0);
  Linear again(400, 120);
  CHECK(equal(again.weight, fc.weight));  // one seed fixes the initial weights
  REQUIRE_THROWS_WITH_ALL(Linear(0, 3), ValueError, "Linear", "in=0");
}

TEST_CASE("a user's Module needs no type_name override: it is named after its class", "[nn]") {
  LeNet net;
  CHECK(net.type_name() == "LeNet");
  CHECK(net.to_string().rfind("LeNet(", 0) == 0);
  CHECK(Linear(2, 3).type_name() == "Linear");  // the layers keep PyTorch's names
}

TEST_CASE("layer shapes and errors", "[nn]") {
  LeNet net;
  Tensor x = randn({4, 1, 28, 28});
  CHECK(net(x).shape() == Shape{4, 10});
  REQUIRE_THROWS_WITH_ALL(net.fc1->forward(zeros({2, 300})), ShapeError, "Linear", "400", "[2, 300]");
  BatchNorm2d bn(3);
  REQUIRE_THROWS_WITH_ALL(bn(zeros({2, 4, 5, 5})), ShapeError, "BatchNorm2d", "3 channels", "[2, 4, 5, 5]");
  BasicBlock block(3, 8, 2);
  CHECK(block(randn({2, 3, 9, 9})).shape() == Shape{2, 8, 5, 5});
}

TEST_CASE("train and eval switch dropout and batch norm", "[nn]") {
  Sequential m{make<BatchNorm1d>(3), make<Dropout>(0.5)};
  Tensor x = randn({16, 3}) * 3 + 2;
  Tensor y_train = m(x);
  auto& bn = dynamic_cast<BatchNorm&>(m[0]);
  CHECK(bn.num_batches_tracked.item<int64_t>() == 1);
  CHECK(!allclose(bn.running_mean, zeros({3})));
  m.eval();
  CHECK(!m.is_training());
  CHECK(!m[1].is_training());
  Tensor y1 = m(x), y2 = m(x);
  CHECK(equal(y1, y2));  // no dropout, running statistics
  CHECK(bn.num_batches_tracked.item<int64_t>() == 1);
}

TEST_CASE("state_dict round-trips through safetensors, strictly", "[nn][serialization]") {
  LeNet a, b;
  auto dir = std::filesystem::temp_directory_path() / "ember_test_nn";
  std::filesystem::create_directories(dir);
  std::string path = (dir / "lenet.safetensors").string();
  a.save(path, {{"epoch", "3"}});
  CHECK(!allclose(a.fc1->weight, b.fc1->weight));
  b.load(path);
  for (size_t i = 0; i < a.state_dict().size(); ++i)
    CHECK(equal(a.state_dict()[i].second, b.state_dict()[i].second));
  CHECK(load_safetensors(path).metadata.at("epoch") == "3");
  // Missing, unexpected and misshapen entries are errors.
  NamedTensors partial = a.state_dict();
  partial.pop_back();
  partial.emplace_back("fc4.weight", zeros({1}));
  REQUIRE_THROWS_WITH_ALL(b.load_state_dict(partial), ValueError, "missing keys: fc3.bias", "unexpected keys: fc4.weight");
  b.load_state_dict(partial, /*strict=*/false);
  NamedTensors wrong = a.state_dict();
  wrong[0].second = zeros({6, 1, 3, 3});
  REQUIRE_THROWS_WITH_ALL(b.load_state_dict(wrong), ShapeError, "conv1.weight", "[6, 1, 3, 3]", "[6, 1, 5, 5]");
  std::filesystem::remove_all(dir);
}

TEST_CASE("to(dtype) changes parameters in place, keeping the layer's handles", "[nn]") {
  Linear fc(3, 2);
  Tensor handle = fc.weight;
  fc.to(DType::Float64);
  CHECK(fc.weight.dtype() == DType::Float64);
  CHECK(handle.dtype() == DType::Float64);
  CHECK(fc.named_parameters()[0].second.is_same(fc.weight));
  CHECK(fc.weight.requires_grad());
  CHECK(fc(ones({1, 3}, {.dtype = DType::Float64})).dtype() == DType::Float64);
}

TEST_CASE("summary lists output shapes, parameters and FLOPs", "[nn][summary]") {
  LeNet net;
  auto rows = summarize(net, zeros({1, 1, 28, 28}));
  REQUIRE(rows.size() == 6);  // five layers, then the model
  CHECK(rows[0].name == "conv1");
  CHECK(rows[0].output == Shape{1, 6, 28, 28});
  CHECK(rows[0].params == 156);
  CHECK(rows[0].flops == 2 * 6 * 28 * 28 * 25);
  CHECK(rows[2].output == Shape{1, 120});
  CHECK(rows.back().name.empty());
  std::string table = summary_table(rows);
  CHECK(table.find("61706 parameters") != std::string::npos);
  CHECK(net.to_string().find("(conv1): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))") !=
        std::string::npos);
}

TEST_CASE("a small MLP learns a nonlinear problem with plain gradient descent", "[nn][e2e]") {
  // Two interleaved half-moons, made with Ember's generator: not linearly separable.
  manual_seed(3);
  const int64_t n = 256;
  auto angle = (rand({n}, {.dtype = DType::Float64}) * M_PI).to_vector<double>();
  Tensor label = randint(0, 2, {n});
  auto cls = label.to_vector<int64_t>();
  std::vector<double> points;
  for (int64_t i = 0; i < n; ++i) {
    const double s = cls[i] ? -1.0 : 1.0;  // the second moon is flipped and shifted
    points.push_back(s * std::cos(angle[i]) + cls[i]);
    points.push_back(s * std::sin(angle[i]) + 0.5 * cls[i] - 0.25);
  }
  Tensor x = from_vector(points, {n, 2}) + 0.05 * randn({n, 2}, {.dtype = DType::Float64});
  Sequential mlp{make<Linear>(2, 32), make<Tanh>(), make<Linear>(32, 2)};
  mlp.to(DType::Float64);
  double first = 0, last = 0;
  for (int step = 0; step < 400; ++step) {
    Tensor loss = cross_entropy(mlp(x), label);
    if (step == 0) first = loss.item<double>();
    last = loss.item<double>();
    mlp.zero_grad();
    loss.backward();
    NoGradGuard no_grad;
    for (auto& p : mlp.parameters()) p.sub_(p.grad() * 0.5);
  }
  Tensor accuracy = mean(to(eq(argmax(mlp(x), 1), label), DType::Float64));
  INFO("loss " << first << " -> " << last);
  CHECK(last < first / 4);
  CHECK(accuracy.item<double>() > 0.95);
}
