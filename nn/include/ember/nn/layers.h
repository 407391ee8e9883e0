// The layers: same names, parameters, buffers, shapes and default
// initialization as their torch.nn namesakes, so state_dicts interchange.
#pragma once

#include <initializer_list>

#include "ember/autograd/functional.h"
#include "ember/nn/module.h"

namespace ember::nn {

// y = x W^T + b; W (out, in) and b (out) start uniform in +-1/sqrt(in)
// (PyTorch's kaiming_uniform(a=sqrt(5)) rule).
class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Linear"; }
  std::string extra_repr() const override;
  int64_t flops(const Shape& in, const Shape& out) const override;
  Tensor weight, bias;

 private:
  int64_t in_, out_;
};

class Conv2d : public Module {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, Pair kernel, Conv2dOptions opts = {}, bool bias = true);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Conv2d"; }
  std::string extra_repr() const override;
  int64_t flops(const Shape& in, const Shape& out) const override;
  Tensor weight, bias;

 private:
  int64_t in_, out_;
  Pair kernel_;
  Conv2dOptions opts_;
};

class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(Pair kernel, Pair stride = {0, 0}, Pair padding = {0, 0});
  Tensor forward(const Tensor& x) override { return max_pool2d(x, kernel_, stride_, padding_); }
  std::string type_name() const override { return "MaxPool2d"; }
  std::string extra_repr() const override;

 private:
  Pair kernel_, stride_, padding_;
};

class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(Pair kernel, Pair stride = {0, 0}, Pair padding = {0, 0});
  Tensor forward(const Tensor& x) override { return avg_pool2d(x, kernel_, stride_, padding_); }
  std::string type_name() const override { return "AvgPool2d"; }
  std::string extra_repr() const override;

 private:
  Pair kernel_, stride_, padding_;
};

class AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(Pair output_size) : size_(output_size) {}
  Tensor forward(const Tensor& x) override { return adaptive_avg_pool2d(x, size_); }
  std::string type_name() const override { return "AdaptiveAvgPool2d"; }
  std::string extra_repr() const override;

 private:
  Pair size_;
};

// Batch normalization over channel dim 1: weight (ones), bias (zeros),
// running_mean (zeros), running_var (ones), num_batches_tracked (int64).
class BatchNorm : public Module {
 public:
  BatchNorm(int64_t num_features, int expected_dims, double eps = 1e-5, double momentum = 0.1);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return dims_ == 4 ? "BatchNorm2d" : "BatchNorm1d"; }
  std::string extra_repr() const override;
  Tensor weight, bias, running_mean, running_var, num_batches_tracked;

 private:
  int64_t features_;
  int dims_;
  double eps_, momentum_;
};
// (N, C) or (N, C, L)
class BatchNorm1d : public BatchNorm {
 public:
  explicit BatchNorm1d(int64_t n, double eps = 1e-5, double momentum = 0.1) : BatchNorm(n, 2, eps, momentum) {}
};
// (N, C, H, W)
class BatchNorm2d : public BatchNorm {
 public:
  explicit BatchNorm2d(int64_t n, double eps = 1e-5, double momentum = 0.1) : BatchNorm(n, 4, eps, momentum) {}
};

class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5) : p_(p) {}
  Tensor forward(const Tensor& x) override { return dropout(x, p_, is_training()); }
  std::string type_name() const override { return "Dropout"; }
  std::string extra_repr() const override;

 private:
  double p_;
};

// Stateless activations.
#define EMBER_ACTIVATION(Name, fn)                                       \
  class Name : public Module {                                           \
   public:                                                               \
    Tensor forward(const Tensor& x) override { return fn(x); }          \
    std::string type_name() const override { return #Name; }             \
  };
EMBER_ACTIVATION(ReLU, relu)
EMBER_ACTIVATION(Sigmoid, sigmoid)
EMBER_ACTIVATION(Tanh, tanh)
EMBER_ACTIVATION(GELU, gelu)
#undef EMBER_ACTIVATION

class Flatten : public Module {
 public:
  explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1) : start_(start_dim), end_(end_dim) {}
  Tensor forward(const Tensor& x) override { return flatten(x, start_, end_); }
  std::string type_name() const override { return "Flatten"; }
  std::string extra_repr() const override;

 private:
  int64_t start_, end_;
};

// Runs its children in order; they are named "0", "1", ...
class Sequential : public Module {
 public:
  Sequential() = default;
  Sequential(std::initializer_list<ModulePtr> modules);
  void push_back(ModulePtr m);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Sequential"; }
  size_t size() const { return layers_.size(); }
  Module& operator[](size_t i) { return *layers_.at(i); }

 private:
  std::vector<ModulePtr> layers_;
};

// ResNet's basic block (torchvision's names: conv1, bn1, conv2, bn2,
// downsample): relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)).
class BasicBlock : public Module {
 public:
  BasicBlock(int64_t in_channels, int64_t out_channels, int64_t stride = 1);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "BasicBlock"; }
  // The block's last batch norm: ResNet's zero_init_residual zeroes its weight.
  BatchNorm2d& bn2() { return *bn2_; }

 private:
  std::shared_ptr<Conv2d> conv1_, conv2_;
  std::shared_ptr<BatchNorm2d> bn1_, bn2_;
  std::shared_ptr<Sequential> downsample_;
};

template <typename M, typename... Args>
std::shared_ptr<M> make(Args&&... args) {
  return std::make_shared<M>(std::forward<Args>(args)...);
}

}  // namespace ember::nn
