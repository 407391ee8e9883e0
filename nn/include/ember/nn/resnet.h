// ResNet-18 and ResNet-34 (He et al. 2015) as torchvision.models.ResNet with
// BasicBlocks: the same module tree, state_dict names ("layer1.0.conv1.weight",
// "layer2.0.downsample.1.running_var", "fc.bias") and initialization, so a
// state_dict written by either loads into the other with strict=True.
// docs/resnet.md walks through the model; tests/test_resnet.cpp checks it
// against fixtures written by tests/make_resnet_fixtures.py.
#pragma once

#include <memory>
#include <vector>

#include "ember/nn/layers.h"

namespace ember::nn {

struct ResNetOptions {
  int64_t num_classes = 1000;
  int64_t in_channels = 3;
  // A 3x3 stride-1 conv1 and no max-pool, for 32x32 inputs (CIFAR); by
  // default ImageNet's 7x7 stride-2 conv1 and a 3x3 stride-2 max-pool.
  bool cifar_stem = false;
  // Channels of layer1, doubling per stage: 64 is torchvision's; tests use 8.
  int64_t base_width = 64;
  // torchvision's option: each block's last BN weight (bn2.weight) starts
  // at 0, so every residual branch starts as zero and each block as identity.
  bool zero_init_residual = false;
};

// conv1 -> bn1 -> relu -> maxpool -> layer1..layer4 -> avgpool -> flatten -> fc.
// Stage k (layer1..layer4) is a Sequential of BasicBlocks ("0", "1", ...)
// with base_width * 2^(k-1) channels; stages 2-4 halve H and W in their
// first block, whose shortcut is a 1x1 conv + BN ("downsample").
class ResNet : public Module {
 public:
  explicit ResNet(std::vector<int64_t> blocks_per_stage, ResNetOptions options = {});
  Tensor forward(const Tensor& x) override;  // (N, C, H, W) -> (N, num_classes)
  std::string type_name() const override { return "ResNet"; }
  const ResNetOptions& options() const { return options_; }

 private:
  ResNetOptions options_;
  std::shared_ptr<Conv2d> conv1_;
  std::shared_ptr<BatchNorm2d> bn1_;
  std::shared_ptr<ReLU> relu_;
  std::shared_ptr<MaxPool2d> maxpool_;  // null with the cifar stem
  std::vector<std::shared_ptr<Sequential>> stages_;
  std::shared_ptr<AdaptiveAvgPool2d> avgpool_;
  std::shared_ptr<Linear> fc_;
};

std::shared_ptr<ResNet> resnet18(ResNetOptions options = {});  // blocks {2, 2, 2, 2}
std::shared_ptr<ResNet> resnet34(ResNetOptions options = {});  // blocks {3, 4, 6, 3}

}  // namespace ember::nn
