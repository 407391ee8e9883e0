#include "models.h"

#include <algorithm>
#include <map>

namespace ember::mnist {

using namespace ember::nn;

namespace {

// The side left after k 2x2 max-pools (each floors, as PyTorch's).
int64_t pooled(int64_t side, int k) {
  for (int i = 0; i < k; ++i) side /= 2;
  return side;
}

void check_input(const std::string& model, const ModelInput& in, int64_t min_side) {
  EMBER_CHECK(in.channels >= 1 && in.classes >= 2, ValueError, "model ", model, ": needs at least 1 channel and 2 "
              "classes, got ", in.channels, " channels and ", in.classes, " classes");
  EMBER_CHECK(in.height >= min_side && in.width >= min_side, ValueError, "model ", model, ": images of ", in.height,
              "x", in.width, " are too small; it needs at least ", min_side, "x", min_side);
}

}  // namespace

LeNet::LeNet(const ModelInput& in) {
  check_input("lenet", in, 12);  // conv2 needs 5x5 after the first pool
  const int64_t h = (in.height / 2 - 4) / 2, w = (in.width / 2 - 4) / 2;
  conv1 = register_module("conv1", make<Conv2d>(in.channels, 6, Pair{5, 5}, Conv2dOptions{.padding = {2, 2}}));
  conv2 = register_module("conv2", make<Conv2d>(6, 16, Pair{5, 5}));
  fc1 = register_module("fc1", make<Linear>(16 * h * w, 120));
  fc2 = register_module("fc2", make<Linear>(120, 84));
  fc3 = register_module("fc3", make<Linear>(84, in.classes));
}

Tensor LeNet::forward(const Tensor& x) {
  Tensor y = max_pool2d(relu((*conv1)(x)), {2, 2});  // (N, 6, 14, 14) on digits
  y = max_pool2d(relu((*conv2)(y)), {2, 2});         // (N, 16, 5, 5)
  y = relu((*fc1)(flatten(y, 1)));
  return (*fc3)(relu((*fc2)(y)));
}

namespace {

std::shared_ptr<Module> mlp(const ModelInput& in) {
  check_input("mlp", in, 1);
  return std::make_shared<Sequential>(std::initializer_list<ModulePtr>{
      make<Flatten>(), make<Linear>(in.channels * in.height * in.width, 256), make<ReLU>(), make<Linear>(256, 128),
      make<ReLU>(), make<Linear>(128, in.classes)});
}

// conv-bn-relu
ModulePtr cbr(int64_t in, int64_t out, int64_t k = 3) {
  return std::make_shared<Sequential>(std::initializer_list<ModulePtr>{
      make<Conv2d>(in, out, Pair{k, k}, Conv2dOptions{.padding = {k / 2, k / 2}}, false), make<BatchNorm2d>(out),
      make<ReLU>()});
}

// The default recipe's network: three 3x3 conv-bn-relu-pool stages (32, 64
// and 128 channels: 28 -> 14 -> 7 -> 3 pixels on digits, 32 -> 16 -> 8 -> 4
// on CIFAR), then a dropout-regularized
// classifier. About 15 MFLOPs per image forward, 242k parameters. The
// earlier default (two 5x5 stages of 16 and 32 channels, 6 MFLOPs) reached
// 98.7% on the digits but only 91.1% on Fashion-MNIST, and a two-stage 32/64
// variant 92.5% after 10 epochs (bench/results/mnist/): clothes need the
// third stage's wider receptive field more than digits do.
std::shared_ptr<Module> cnn(const ModelInput& in) {
  check_input("cnn", in, 8);
  const int64_t features = 128 * pooled(in.height, 3) * pooled(in.width, 3);
  return std::make_shared<Sequential>(std::initializer_list<ModulePtr>{
      cbr(in.channels, 32, 3), make<MaxPool2d>(Pair{2, 2}),  // (32, 14, 14) on digits
      cbr(32, 64, 3), make<MaxPool2d>(Pair{2, 2}),           // (64, 7, 7)
      cbr(64, 128, 3), make<MaxPool2d>(Pair{2, 2}),          // (128, 3, 3)
      make<Flatten>(), make<Dropout>(0.25), make<Linear>(features, 128), make<ReLU>(), make<Dropout>(0.25),
      make<Linear>(128, in.classes)});
}

// A small ResNet for 28x28 inputs: stem, three BasicBlocks, global pooling.
std::shared_ptr<Module> resnet(const ModelInput& in) {
  check_input("resnet", in, 1);
  return std::make_shared<Sequential>(std::initializer_list<ModulePtr>{
      cbr(in.channels, 16), make<BasicBlock>(16, 16), make<BasicBlock>(16, 32, 2), make<BasicBlock>(32, 64, 2),
      make<AdaptiveAvgPool2d>(Pair{1, 1}), make<Flatten>(), make<Linear>(64, in.classes)});
}

// torchvision's ResNet (nn/resnet.h). Images up to 64x64 (MNIST's 28, CIFAR's
// 32) get the CIFAR stem, a 3x3 stride-1 conv1 and no max-pool: the ImageNet
// stem would shrink a 32x32 image to 8x8 before the first block.
nn::ResNetOptions resnet_options(const ModelInput& in) {
  return {.num_classes = in.classes, .in_channels = in.channels, .cifar_stem = in.height <= 64 && in.width <= 64};
}

}  // namespace

const char* model_names() { return "mlp, lenet, cnn, resnet, resnet18, resnet34"; }

std::shared_ptr<Module> make_model(const std::string& name, const ModelInput& in) {
  if (name == "mlp") return mlp(in);
  if (name == "lenet") return std::make_shared<LeNet>(in);
  if (name == "cnn") return cnn(in);
  if (name == "resnet") return resnet(in);
  if (name == "resnet18") return nn::resnet18(resnet_options(in));
  if (name == "resnet34") return nn::resnet34(resnet_options(in));
  throw ValueError("unknown model '" + name + "' (expected one of: " + model_names() + ")");
}

std::vector<ModelMatch> match_models(const std::vector<std::pair<std::string, Shape>>& state, const ModelInput& in) {
  const KeepDefaultGenerator keep;  // building a model draws its weights
  const std::map<std::string, Shape> given(state.begin(), state.end());
  std::vector<ModelMatch> out;
  for (const char* name : {"mlp", "lenet", "cnn", "resnet", "resnet18", "resnet34"}) {
    ModelMatch m{name, 0, ""};
    auto note = [&](std::string what) {
      if (m.differences++ == 0) m.first = std::move(what);
    };
    std::shared_ptr<Module> model;
    try {
      model = make_model(name, in);
    } catch (const ValueError& e) {  // images too small for it
      out.push_back({name, SIZE_MAX, e.what()});
      continue;
    }
    const NamedTensors own = model->state_dict();
    for (const auto& [key, t] : own) {
      const auto it = given.find(key);
      if (it == given.end())
        note(key + " is missing");
      else if (it->second != t.shape())
        note(key + " is " + shape_str(it->second) + " in the file but " + shape_str(t.shape()) + " in " + name);
    }
    for (const auto& [key, shape] : given)
      if (std::none_of(own.begin(), own.end(), [&](const auto& kv) { return kv.first == key; }))
        note(key + " is not one of " + std::string(name) + "'s");
    out.push_back(std::move(m));
  }
  std::stable_sort(out.begin(), out.end(), [](const ModelMatch& a, const ModelMatch& b) {
    return a.differences < b.differences;
  });
  return out;
}

}  // namespace ember::mnist
