// The layers' constructors (parameter shapes and PyTorch's default
// initialization), forward passes and reprs.
#include "ember/nn/layers.h"

#include <cmath>
#include <cstdio>

#include "ember/core/grad_mode.h"
#include "ember/nn/init.h"

namespace ember::nn {

namespace {
std::string pair_str(Pair p) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "(%lld, %lld)", static_cast<long long>(p[0]), static_cast<long long>(p[1]));
  return buf;
}

// PyTorch's Linear/Conv default: weight kaiming_uniform(a = sqrt(5)), which
// is U(+-1/sqrt(fan_in)), and bias U(+-1/sqrt(fan_in)).
void default_init(const Tensor& weight, const Tensor& bias) {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(init::fans(weight).first));
    init::uniform_(bias, -bound, bound);
  }
}
}  // namespace

Linear::Linear(int64_t in, int64_t out, bool with_bias) : in_(in), out_(out) {
  EMBER_CHECK(in > 0 && out > 0, ValueError, "Linear: sizes must be positive, got in=", in, ", out=", out);
  weight = register_parameter("weight", empty({out, in}));
  if (with_bias) bias = register_parameter("bias", empty({out}));
  default_init(weight, bias);
}

Tensor Linear::forward(const Tensor& x) {
  EMBER_CHECK(x.dim() >= 1 && x.size(-1) == in_, ShapeError, "Linear: expected input (..., ", in_, "), got ",
              shape_str(x.shape()));
  Tensor y = matmul(x, weight.t());
  return bias.defined() ? y + bias : y;
}

std::string Linear::extra_repr() const {
  return "in_features=" + std::to_string(in_) + ", out_features=" + std::to_string(out_) +
         ", bias=" + (bias.defined() ? "True" : "False");
}

int64_t Linear::flops(const Shape& in, const Shape&) const { return 2 * numel(in) * out_; }

Conv2d::Conv2d(int64_t in, int64_t out, Pair kernel, Conv2dOptions opts, bool with_bias)
    : in_(in), out_(out), kernel_(kernel), opts_(opts) {
  EMBER_CHECK(in > 0 && out > 0 && opts.groups > 0 && in % opts.groups == 0 && out % opts.groups == 0, ValueError,
              "Conv2d: channels must be positive and divisible by groups (in=", in, ", out=", out, ", groups=",
              opts.groups, ")");
  weight = register_parameter("weight", empty({out, in / opts.groups, kernel[0], kernel[1]}));
  if (with_bias) bias = register_parameter("bias", empty({out}));
  default_init(weight, bias);
}

Tensor Conv2d::forward(const Tensor& x) { return conv2d(x, weight, bias, opts_); }

std::string Conv2d::extra_repr() const {
  std::string s = std::to_string(in_) + ", " + std::to_string(out_) + ", kernel_size=" + pair_str(kernel_) +
                  ", stride=" + pair_str(opts_.stride);
  if (opts_.padding != Pair{0, 0}) s += ", padding=" + pair_str(opts_.padding);
  if (opts_.dilation != Pair{1, 1}) s += ", dilation=" + pair_str(opts_.dilation);
  if (opts_.groups != 1) s += ", groups=" + std::to_string(opts_.groups);
  if (!bias.defined()) s += ", bias=False";
  return s;
}

int64_t Conv2d::flops(const Shape& in, const Shape& out) const {
  // 2 FLOPs per multiply-add: every output element sums (C_in/groups)*kh*kw products.
  return 2 * numel(out) * (in_ / opts_.groups) * kernel_[0] * kernel_[1];
}

MaxPool2d::MaxPool2d(Pair k, Pair s, Pair p) : kernel_(k), stride_(s == Pair{0, 0} ? k : s), padding_(p) {}
std::string MaxPool2d::extra_repr() const {
  return "kernel_size=" + pair_str(kernel_) + ", stride=" + pair_str(stride_) + ", padding=" + pair_str(padding_);
}
AvgPool2d::AvgPool2d(Pair k, Pair s, Pair p) : kernel_(k), stride_(s == Pair{0, 0} ? k : s), padding_(p) {}
std::string AvgPool2d::extra_repr() const {
  return "kernel_size=" + pair_str(kernel_) + ", stride=" + pair_str(stride_) + ", padding=" + pair_str(padding_);
}
std::string AdaptiveAvgPool2d::extra_repr() const { return "output_size=" + pair_str(size_); }

BatchNorm::BatchNorm(int64_t n, int dims, double eps, double momentum)
    : features_(n), dims_(dims), eps_(eps), momentum_(momentum) {
  EMBER_CHECK(n > 0, ValueError, "BatchNorm: num_features must be positive, got ", n);
  weight = register_parameter("weight", ones({n}));
  bias = register_parameter("bias", zeros({n}));
  running_mean = register_buffer("running_mean", zeros({n}));
  running_var = register_buffer("running_var", ones({n}));
  num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, {.dtype = DType::Int64}));
}

Tensor BatchNorm::forward(const Tensor& x) {
  const bool ok = dims_ == 4 ? x.dim() == 4 : (x.dim() == 2 || x.dim() == 3);
  EMBER_CHECK(ok && x.size(1) == features_, ShapeError, type_name(), ": expected input with ", features_,
              " channels in dim 1 and ", dims_ == 4 ? "4 dims" : "2 or 3 dims", ", got ", shape_str(x.shape()));
  if (is_training()) {
    NoGradGuard no_grad;
    num_batches_tracked.add_(1);
  }
  return batch_norm(x, running_mean, running_var, weight, bias, is_training(), momentum_, eps_);
}

std::string BatchNorm::extra_repr() const {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%lld, eps=%g, momentum=%g", static_cast<long long>(features_), eps_, momentum_);
  return buf;
}

std::string Dropout::extra_repr() const { return "p=" + std::to_string(p_).substr(0, 4); }
std::string Flatten::extra_repr() const {
  return "start_dim=" + std::to_string(start_) + ", end_dim=" + std::to_string(end_);
}

Sequential::Sequential(std::initializer_list<ModulePtr> modules) {
  for (auto& m : modules) push_back(m);
}

void Sequential::push_back(ModulePtr m) {
  register_module(std::to_string(layers_.size()), m);
  layers_.push_back(std::move(m));
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (auto& m : layers_) y = (*m)(y);
  return y;
}

BasicBlock::BasicBlock(int64_t in, int64_t out, int64_t stride) {
  const Conv2dOptions s3{.stride = {stride, stride}, .padding = {1, 1}};
  conv1_ = register_module("conv1", make<Conv2d>(in, out, Pair{3, 3}, s3, false));
  bn1_ = register_module("bn1", make<BatchNorm2d>(out));
  conv2_ = register_module("conv2", make<Conv2d>(out, out, Pair{3, 3}, Conv2dOptions{.padding = {1, 1}}, false));
  bn2_ = register_module("bn2", make<BatchNorm2d>(out));
  if (stride != 1 || in != out)
    downsample_ = register_module("downsample", std::make_shared<Sequential>(std::initializer_list<ModulePtr>{
        make<Conv2d>(in, out, Pair{1, 1}, Conv2dOptions{.stride = {stride, stride}}, false), make<BatchNorm2d>(out)}));
}

Tensor BasicBlock::forward(const Tensor& x) {
  Tensor y = relu((*bn1_)((*conv1_)(x)));
  y = (*bn2_)((*conv2_)(y));
  return relu(y + (downsample_ ? (*downsample_)(x) : x));
}

}  // namespace ember::nn
