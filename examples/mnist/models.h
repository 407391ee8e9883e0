// The models ember-mnist trains: mlp, lenet, resnet (a small ResNet), cnn
// (the default recipe's network on MNIST), and torchvision's resnet18 and
// resnet34 (nn/resnet.h; the CIFAR recipe's). Each is built for the input
// the dataset gives (channels, height, width) and its number of classes.
// Attribute names match the equivalent torch.nn models, so their
// state_dicts interchange.
#pragma once

#include <memory>
#include <string>

#include <ember/nn/nn.h>

namespace ember::mnist {

// What a model is built for: the images' [C, H, W] and the class count.
// The defaults are MNIST's.
struct ModelInput {
  int64_t channels = 1, height = 28, width = 28;
  int64_t classes = 10;
};

// LeNet-5 as in the issue: conv C->6 5x5 pad 2, ReLU, maxpool 2, conv 6->16
// 5x5, ReLU, maxpool 2, fc 400->120->84->10 (on 28x28 digits; fc1 takes
// whatever the two stages leave of other sizes: 576 for 32x32).
class LeNet : public nn::Module {
 public:
  explicit LeNet(const ModelInput& input = {});
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<nn::Conv2d> conv1, conv2;
  std::shared_ptr<nn::Linear> fc1, fc2, fc3;
};

// The names of the models make_model knows.
const char* model_names();
// A fresh model for `input` with PyTorch's default initialization
// (torchvision's for resnet18/34), drawn from the default generator: seed it
// first. Throws ValueError for an unknown name or images too small for it.
std::shared_ptr<nn::Module> make_model(const std::string& name, const ModelInput& input = {});

// Puts the default generator's seed and offset back as they were at its
// construction: for code that builds models only to look at them (eval's
// match_models, the checkpoint fuzz target) and must not move the draws.
struct KeepDefaultGenerator {
  uint64_t seed = default_generator().seed(), offset = default_generator().offset();
  ~KeepDefaultGenerator() {
    default_generator().manual_seed(seed);
    default_generator().set_offset(offset);
  }
};

// How a state_dict from elsewhere (a PyTorch run, another program) compares
// with one model's for `input`.
struct ModelMatch {
  std::string model;
  size_t differences = 0;  // missing names + unexpected names + shapes that differ
  std::string first;       // the first difference, in words ("" for a match)
};
// Every model of model_names(), the closest first: a match has no
// differences. Builds each model once (the default generator is left as it
// was).
std::vector<ModelMatch> match_models(const std::vector<std::pair<std::string, Shape>>& state, const ModelInput& input);

}  // namespace ember::mnist
