// The models ember-mnist trains: mlp, lenet, resnet (a small ResNet) and
// cnn (the default recipe's network). Attribute names match the
// equivalent torch.nn models, so their state_dicts interchange.
#pragma once

#include <memory>
#include <string>

#include <ember/nn/nn.h>

namespace ember::mnist {

// LeNet-5 as in the issue: conv 1->6 5x5 pad 2, ReLU, maxpool 2, conv 6->16
// 5x5, ReLU, maxpool 2, fc 400->120->84->10.
class LeNet : public nn::Module {
 public:
  LeNet();
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<nn::Conv2d> conv1, conv2;
  std::shared_ptr<nn::Linear> fc1, fc2, fc3;
};

// The names of the models make_model knows.
const char* model_names();
// A fresh model with PyTorch's default initialization (from the default
// generator: seed it first). Throws ValueError for an unknown name.
std::shared_ptr<nn::Module> make_model(const std::string& name);

}  // namespace ember::mnist
