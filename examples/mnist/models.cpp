#include "models.h"

namespace ember::mnist {

using namespace ember::nn;

LeNet::LeNet() {
  conv1 = register_module("conv1", make<Conv2d>(1, 6, Pair{5, 5}, Conv2dOptions{.padding = {2, 2}}));
  conv2 = register_module("conv2", make<Conv2d>(6, 16, Pair{5, 5}));
  fc1 = register_module("fc1", make<Linear>(400, 120));
  fc2 = register_module("fc2", make<Linear>(120, 84));
  fc3 = register_module("fc3", make<Linear>(84, 10));
}

Tensor LeNet::forward(const Tensor& x) {
  Tensor y = max_pool2d(relu((*conv1)(x)), {2, 2});  // (N, 6, 14, 14)
  y = max_pool2d(relu((*conv2)(y)), {2, 2});         // (N, 16, 5, 5)
  y = relu((*fc1)(flatten(y, 1)));
  return (*fc3)(relu((*fc2)(y)));
}

namespace {

std::shared_ptr<Module> mlp() {
  return std::make_shared<Sequential>(std::initializer_list<ModulePtr>{
      make<Flatten>(), make<Linear>(784, 256), make<ReLU>(), make<Linear>(256, 128), make<ReLU>(),
      make<Linear>(128, 10)});
}

// conv-bn-relu
ModulePtr cbr(int64_t in, int64_t out, int64_t k = 3) {
  return std::make_shared<Sequential>(std::initializer_list<ModulePtr>{
      make<Conv2d>(in, out, Pair{k, k}, Conv2dOptions{.padding = {k / 2, k / 2}}, false), make<BatchNorm2d>(out),
      make<ReLU>()});
}

// The default recipe's network: two 5x5 conv-bn-relu-pool stages (16 and 32
// channels), then a dropout-regularized classifier. About 6 MFLOPs per
// image forward: small enough to train in minutes on two cores.
std::shared_ptr<Module> cnn() {
  return std::make_shared<Sequential>(std::initializer_list<ModulePtr>{
      cbr(1, 16, 5), make<MaxPool2d>(Pair{2, 2}),   // (16, 14, 14)
      cbr(16, 32, 5), make<MaxPool2d>(Pair{2, 2}),  // (32, 7, 7)
      make<Flatten>(), make<Dropout>(0.25), make<Linear>(32 * 7 * 7, 128), make<ReLU>(), make<Dropout>(0.25),
      make<Linear>(128, 10)});
}

// A small ResNet for 28x28 inputs: stem, three BasicBlocks, global pooling.
std::shared_ptr<Module> resnet() {
  return std::make_shared<Sequential>(std::initializer_list<ModulePtr>{
      cbr(1, 16), make<BasicBlock>(16, 16), make<BasicBlock>(16, 32, 2), make<BasicBlock>(32, 64, 2),
      make<AdaptiveAvgPool2d>(Pair{1, 1}), make<Flatten>(), make<Linear>(64, 10)});
}

}  // namespace

const char* model_names() { return "mlp, lenet, cnn, resnet"; }

std::shared_ptr<Module> make_model(const std::string& name) {
  if (name == "mlp") return mlp();
  if (name == "lenet") return std::make_shared<LeNet>();
  if (name == "cnn") return cnn();
  if (name == "resnet") return resnet();
  throw ValueError("unknown model '" + name + "' (expected one of: " + model_names() + ")");
}

}  // namespace ember::mnist
