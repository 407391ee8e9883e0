// ResNet's module tree, torchvision's initialization and the forward pass.
#include "ember/nn/resnet.h"

#include <string>

#include "ember/nn/init.h"

namespace ember::nn {

namespace {
std::string blocks_str(const std::vector<int64_t>& blocks) {
  std::string s = "{";
  for (size_t i = 0; i < blocks.size(); ++i) s += (i ? ", " : "") + std::to_string(blocks[i]);
  return s + "}";
}
}  // namespace

ResNet::ResNet(std::vector<int64_t> blocks, ResNetOptions options) : options_(options) {
  bool positive = blocks.size() == 4;
  for (int64_t b : blocks) positive = positive && b > 0;
  EMBER_CHECK(positive, ValueError, "ResNet: blocks_per_stage must be 4 positive counts (one per stage), got ",
              blocks_str(blocks));
  EMBER_CHECK(options.base_width >= 1, ValueError, "ResNet: base_width must be at least 1, got ", options.base_width);
  EMBER_CHECK(options.num_classes >= 1 && options.in_channels >= 1, ValueError,
              "ResNet: num_classes and in_channels must be positive, got num_classes=", options.num_classes,
              ", in_channels=", options.in_channels);
  const int64_t width = options.base_width;
  // Registration order is torchvision's attribute order, which fixes the
  // state_dict's order and the printed tree.
  if (options.cifar_stem)
    conv1_ = register_module("conv1", make<Conv2d>(options.in_channels, width, Pair{3, 3},
                                                   Conv2dOptions{.padding = {1, 1}}, false));
  else
    conv1_ = register_module("conv1", make<Conv2d>(options.in_channels, width, Pair{7, 7},
                                                   Conv2dOptions{.stride = {2, 2}, .padding = {3, 3}}, false));
  bn1_ = register_module("bn1", make<BatchNorm2d>(width));
  relu_ = register_module("relu", make<ReLU>());
  if (!options.cifar_stem) maxpool_ = register_module("maxpool", make<MaxPool2d>(Pair{3, 3}, Pair{2, 2}, Pair{1, 1}));
  std::vector<std::shared_ptr<BasicBlock>> all_blocks;
  int64_t in = width;
  for (size_t k = 0; k < 4; ++k) {
    const int64_t out = width << k, stride = k == 0 ? 1 : 2;
    auto stage = std::make_shared<Sequential>();
    for (int64_t b = 0; b < blocks[k]; ++b) {
      all_blocks.push_back(make<BasicBlock>(b == 0 ? in : out, out, b == 0 ? stride : 1));
      stage->push_back(all_blocks.back());
    }
    stages_.push_back(register_module("layer" + std::to_string(k + 1), stage));
    in = out;
  }
  avgpool_ = register_module("avgpool", make<AdaptiveAvgPool2d>(Pair{1, 1}));
  fc_ = register_module("fc", make<Linear>(in, options.num_classes));

  // Note [torchvision's ResNet init]
  // As torchvision.models.resnet.ResNet.__init__: every conv weight
  // kaiming_normal_(mode="fan_out", nonlinearity="relu"), i.e.
  // N(0, 2 / fan_out) with fan_out = out_channels * kh * kw; every BN
  // weight 1 and bias 0 (BatchNorm's own defaults, set again here as
  // torchvision does); fc keeps Linear's default U(+-1/sqrt(in)). The
  // draws come from Ember's generator, so the numbers differ from
  // PyTorch's for the same seed but the distributions are the same.
  for (const auto& [name, m] : named_modules()) {
    if (const auto* conv = dynamic_cast<const Conv2d*>(m)) {
      init::kaiming_normal_(conv->weight, 0.0, init::FanMode::FanOut);
    } else if (const auto* bn = dynamic_cast<const BatchNorm*>(m)) {
      init::constant_(bn->weight, 1.0);
      init::constant_(bn->bias, 0.0);
    }
  }
  if (options.zero_init_residual)
    for (auto& block : all_blocks) init::constant_(block->bn2().weight, 0.0);
}

Tensor ResNet::forward(const Tensor& x) {
  EMBER_CHECK(x.dim() == 4 && x.size(1) == options_.in_channels, ShapeError, "ResNet: expected input (N, ",
              options_.in_channels, ", H, W), got ", shape_str(x.shape()));
  Tensor y = (*relu_)((*bn1_)((*conv1_)(x)));
  if (maxpool_) y = (*maxpool_)(y);
  for (auto& stage : stages_) y = (*stage)(y);
  return (*fc_)(flatten((*avgpool_)(y), 1));
}

std::shared_ptr<ResNet> resnet18(ResNetOptions options) {
  return make<ResNet>(std::vector<int64_t>{2, 2, 2, 2}, options);
}
std::shared_ptr<ResNet> resnet34(ResNetOptions options) {
  return make<ResNet>(std::vector<int64_t>{3, 4, 6, 3}, options);
}

}  // namespace ember::nn
