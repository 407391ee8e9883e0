// The gradcheck table: one row per differentiable op, with the backward
// Node names it exercises (so test_gradcheck_bites.cpp can corrupt exactly
// those and see the row fail, and can require a row for every Node type
// there is). Inputs are float64; several rows use transposed, strided or
// broadcast inputs so that a wrong stride or a missing sum over a broadcast
// dim cannot pass. The rows run on every backend whose own primitives they
// exercise (Note [Tables on every backend]; the primitives come from the
// nodes, primitives_of_node below): the function receives its inputs on the
// backend's device.
//
// How to add an op: add a row with a lambda over the inputs, the input
// shapes, and the Node names its backward uses; a new Node type also needs
// its primitives in primitives_of_node.
#pragma once

#include <map>

#include "support.h"

namespace ember::test {

// The primitives a backward Node's op and formula run on (a view's on
// none but the copies around it).
inline std::vector<Primitive> primitives_of_node(const std::string& node) {
  using P = Primitive;
  static const std::map<std::string, std::vector<Primitive>> table = {
      {"AddBackward", {P::Binary}}, {"MulBackward", {P::Binary}}, {"DivBackward", {P::Binary}},
      {"PowBackward", {P::Binary}}, {"MaximumBackward", {P::Binary}}, {"MinimumBackward", {P::Binary}},
      {"WhereBackward", {P::Where}}, {"SumBackward", {P::Reduce}}, {"MaxBackward", {P::Reduce}},
      {"MinBackward", {P::Reduce}}, {"SoftmaxBackward", {P::Softmax}}, {"LogSoftmaxBackward", {P::Softmax}},
      {"BmmBackward", {P::Matmul}}, {"IndexSelectBackward", {P::IndexSelect, P::IndexAdd}},
      {"IndexAddBackward", {P::IndexAdd, P::IndexSelect}}, {"GatherBackward", {P::Gather, P::ScatterAdd}},
      {"ScatterAddBackward", {P::ScatterAdd, P::Gather}}, {"UnfoldBackward", {P::Im2col, P::Col2im}},
      {"FoldBackward", {P::Col2im, P::Im2col}},
      {"ConvBackward", {P::Conv2dForward, P::Conv2dBackwardInput, P::Conv2dBackwardWeight}},
      {"MaxPool2dBackward", {P::MaxPool2dForward, P::MaxPool2dBackward}},
      {"AvgPool2dBackward", {P::AvgPool2dForward, P::AvgPool2dBackward}},
      {"BatchNormBackward", {P::BatchNormForward, P::BatchNormBackward}},
      {"CrossEntropyBackward", {P::CrossEntropyForward, P::CrossEntropyBackward}},
      // elementwise unary ops
      {"NegBackward", {P::Unary}}, {"ExpBackward", {P::Unary}}, {"LogBackward", {P::Unary}},
      {"Log1pBackward", {P::Unary}}, {"SqrtBackward", {P::Unary}}, {"AbsBackward", {P::Unary}},
      {"ReluBackward", {P::Unary, P::Binary}}, {"ReluGradBackward", {P::Unary, P::Binary}},
      {"SigmoidBackward", {P::Unary}}, {"TanhBackward", {P::Unary}},
      {"GeluBackward", {P::Unary}}, {"ErfBackward", {P::Unary}},
      // views and copies: no kernel of their own beyond copy
      {"ViewBackward", {P::Copy}}, {"SqueezeBackward", {P::Copy}}, {"UnsqueezeBackward", {P::Copy}},
      {"PermuteBackward", {P::Copy}}, {"SliceBackward", {P::Copy}}, {"ExpandBackward", {P::Copy}},
      {"CloneBackward", {P::Copy}}, {"ToBackward", {P::Copy}}, {"CatBackward", {P::Copy}},
      {"SliceScatterBackward", {P::Copy}},
  };
  auto it = table.find(node);
  return it == table.end() ? std::vector<Primitive>{} : it->second;  // test_gradcheck_bites requires an entry
}

struct GradCase {
  std::string name;
  std::vector<std::string> nodes;  // backward Nodes this row must exercise
  std::function<Tensor(const std::vector<Tensor>&)> fn;
  std::vector<Shape> shapes;
  Layout layout = Layout::Contiguous;
  double lo = -2, hi = 2;
  bool gradgrad = true;  // also check the gradient of the gradient
  GradcheckOptions opts = {};
  std::vector<Primitive> primitives() const {
    std::vector<Primitive> out;
    for (const std::string& n : nodes)
      for (Primitive p : primitives_of_node(n)) out.push_back(p);
    return out;
  }
};

// Fresh float64 leaves for a case.
inline std::vector<Tensor> grad_inputs(const GradCase& c) {
  std::vector<Tensor> inputs;
  uint64_t seed = 11;
  for (const Shape& s : c.shapes) {
    Tensor t = random_input(s, DType::Float64, c.layout, c.lo, c.hi, seed++);
    // Keep the layout: the leaf is the (possibly non-contiguous) view's data.
    t = t.detach();
    t.requires_grad_();
    inputs.push_back(t);
  }
  return inputs;
}

inline const std::vector<GradCase>& grad_cases() {
  using V = const std::vector<Tensor>&;
  static const std::vector<GradCase> cases = {
      {"add broadcast", {"AddBackward"}, [](V x) { return x[0] + x[1]; }, {{3, 4}, {4}}},
      {"add alpha", {"AddBackward"}, [](V x) { return add(x[0], x[1], 3.0); }, {{2, 3}, {2, 3}}, Layout::Transposed},
      {"sub broadcast", {"AddBackward"}, [](V x) { return x[0] - x[1]; }, {{3, 1}, {1, 4}}},
      {"mul broadcast", {"MulBackward"}, [](V x) { return x[0] * x[1]; }, {{2, 3, 4}, {3, 1}}, Layout::Strided},
      {"div", {"DivBackward"}, [](V x) { return x[0] / x[1]; }, {{3, 4}, {3, 4}}, Layout::Transposed, 0.5, 2},
      {"pow", {"PowBackward"}, [](V x) { return pow(x[0], x[1]); }, {{3, 4}, {4}}, Layout::Contiguous, 0.5, 2},
      {"pow scalar", {"PowBackward"}, [](V x) { return pow(x[0], 3); }, {{5}}},
      {"maximum", {"MaximumBackward"}, [](V x) { return maximum(x[0], x[1]); }, {{3, 4}, {3, 4}}, Layout::Strided},
      {"minimum", {"MinimumBackward"}, [](V x) { return minimum(x[0], x[1]); }, {{3, 4}, {4}}},
      {"where", {"WhereBackward"}, [](V x) { return where(gt(x[0], 0), x[0], x[1] * 2); }, {{3, 4}, {4}},
       Layout::Contiguous},
      {"neg", {"NegBackward"}, [](V x) { return -x[0]; }, {{3, 4}}, Layout::Transposed},
      {"exp", {"ExpBackward"}, [](V x) { return exp(x[0]); }, {{3, 4}}, Layout::Strided},
      {"log", {"LogBackward"}, [](V x) { return log(x[0]); }, {{3, 4}}, Layout::Transposed, 0.5, 3},
      {"sqrt", {"SqrtBackward"}, [](V x) { return sqrt(x[0]); }, {{3, 4}}, Layout::Contiguous, 0.5, 3},
      {"abs", {"AbsBackward"}, [](V x) { return abs(x[0]); }, {{3, 4}}, Layout::Strided, 0.2, 2},
      {"relu", {"ReluBackward"}, [](V x) { return relu(x[0]); }, {{3, 4}}, Layout::Transposed},
      // relu's gradient as a function of the incoming gradient x[1] (create_graph): ReluGradBackward.
      {"relu's gradient", {"ReluGradBackward"},
       [](V x) {
         GradModeGuard on(true);  // gradcheck's numerical passes run without grad mode
         Tensor a = x[0].requires_grad() ? x[0] : x[0].detach().requires_grad_();
         return autograd::grad({relu(a)}, {a}, {x[1]}, true, true)[0];
       },
       {{3, 4}, {3, 4}}},
      {"sigmoid", {"SigmoidBackward"}, [](V x) { return sigmoid(x[0]); }, {{3, 4}}},
      {"tanh", {"TanhBackward"}, [](V x) { return tanh(x[0]); }, {{3, 4}}, Layout::Strided},
      {"gelu", {"GeluBackward"}, [](V x) { return gelu(x[0]); }, {{3, 4}}, Layout::Transposed},
      {"erf", {"ErfBackward"}, [](V x) { return erf(x[0]); }, {{3, 4}}},
      {"sum all", {"SumBackward"}, [](V x) { return sum(x[0]); }, {{3, 4}}, Layout::Transposed},
      {"sum dims", {"SumBackward"}, [](V x) { return sum(x[0], {0, 2}); }, {{2, 3, 4}}, Layout::Strided},
      {"sum keepdim", {"SumBackward"}, [](V x) { return sum(x[0], {1}, true); }, {{2, 3, 4}}},
      {"mean", {"SumBackward"}, [](V x) { return mean(x[0], {-1}); }, {{3, 4}}, Layout::Transposed},
      {"max dim", {"MaxBackward"}, [](V x) { return max(x[0], {1}); }, {{3, 4}}, Layout::Strided},
      {"max all", {"MaxBackward"}, [](V x) { return max(x[0]); }, {{3, 4}}},
      {"min keepdim", {"MinBackward"}, [](V x) { return min(x[0], {0}, true); }, {{3, 4}}, Layout::Transposed},
      {"var", {"SumBackward", "MulBackward", "AddBackward"}, [](V x) { return var(x[0], {1}); }, {{3, 5}}},
      {"softmax", {"SoftmaxBackward"}, [](V x) { return softmax(x[0], 1); }, {{3, 4}}, Layout::Transposed},
      {"softmax dim0", {"SoftmaxBackward"}, [](V x) { return softmax(x[0], 0); }, {{3, 4}}, Layout::Strided},
      {"log_softmax", {"LogSoftmaxBackward"}, [](V x) { return log_softmax(x[0], -1); }, {{3, 4}}},
      {"matmul 2d", {"BmmBackward"}, [](V x) { return matmul(x[0], x[1]); }, {{3, 4}, {4, 5}}, Layout::Transposed},
      {"matmul batched broadcast", {"BmmBackward", "ExpandBackward"}, [](V x) { return matmul(x[0], x[1]); },
       {{2, 3, 4}, {4, 2}}, Layout::Strided},
      {"matmul vector", {"BmmBackward"}, [](V x) { return matmul(x[0], x[1]); }, {{4}, {4, 3}}},
      {"view", {"ViewBackward"}, [](V x) { return x[0].view({6, 2}) * 1; }, {{3, 4}}},
      {"reshape copy", {"ViewBackward", "CloneBackward"}, [](V x) { return x[0].reshape({12}); }, {{3, 4}},
       Layout::Transposed},
      {"permute", {"PermuteBackward"}, [](V x) { return x[0].permute({2, 0, 1}); }, {{2, 3, 4}}},
      {"transpose", {"PermuteBackward"}, [](V x) { return x[0].transpose(0, 1); }, {{3, 4}}, Layout::Strided},
      {"unsqueeze", {"UnsqueezeBackward"}, [](V x) { return x[0].unsqueeze(1); }, {{3, 4}}},
      {"squeeze", {"SqueezeBackward"}, [](V x) { return x[0].squeeze(); }, {{3, 1, 4}}},
      {"slice", {"SliceBackward"}, [](V x) { return x[0].slice(1, 1, 4, 2); }, {{3, 5}}, Layout::Transposed},
      {"narrow", {"SliceBackward"}, [](V x) { return x[0].narrow(0, 1, 2); }, {{3, 4}}},
      {"select", {"SliceBackward"}, [](V x) { return x[0].select(1, 2); }, {{3, 4}}, Layout::Strided},
      {"expand", {"ExpandBackward"}, [](V x) { return x[0].expand({2, 3, 4}); }, {{3, 1}}},
      {"flatten", {"ViewBackward"}, [](V x) { return x[0].flatten(); }, {{2, 3, 4}}},
      {"cat", {"CatBackward"}, [](V x) { return cat({x[0], x[1]}, 1); }, {{3, 2}, {3, 4}}, Layout::Transposed},
      {"stack", {"CatBackward"}, [](V x) { return stack({x[0], x[1]}, 0); }, {{3, 4}, {3, 4}}},
      {"index_select", {"IndexSelectBackward"},
       [](V x) { return index_select(x[0], 0, from_vector<int64_t>({2, 0, 2}).to(x[0].device())); }, {{3, 4}},
       Layout::Transposed},
      {"gather", {"GatherBackward"},
       [](V x) { return gather(x[0], 1, from_vector<int64_t>({0, 3, 3, 1, 2, 2}, {3, 2}).to(x[0].device())); },
       {{3, 4}}},
      {"to float32 and back", {"ToBackward"},
       [](V x) { return (x[0].to(DType::Float32) * 1).to(DType::Float64); }, {{3}}, Layout::Contiguous, -2, 2,
       false, {.eps = 1e-3, .atol = 1e-3, .rtol = 1e-2}},  // float32 rounding needs a bigger step
      {"clone", {"CloneBackward"}, [](V x) { return x[0].clone(); }, {{3, 4}}, Layout::Transposed},
      {"contiguous", {"CloneBackward"}, [](V x) { return x[0].contiguous(); }, {{3, 4}}, Layout::Transposed},
      {"log1p", {"Log1pBackward"}, [](V x) { return log1p(x[0]); }, {{3, 4}}, Layout::Transposed, -0.5, 2},
      {"softplus", {"Log1pBackward", "MinimumBackward", "WhereBackward"},
       [](V x) { return softplus(x[0] * 4, 2.0, 6.0); }, {{3, 4}}, Layout::Strided},
      {"squeeze dim", {"SqueezeBackward"}, [](V x) { return x[0].squeeze(1); }, {{3, 1, 4}}},
      {"index_add", {"IndexAddBackward"},
       [](V x) { return index_add(x[0], 0, from_vector<int64_t>({3, 0, 3}).to(x[0].device()), x[1]); },
       {{4, 3}, {3, 3}}, Layout::Transposed},
      {"scatter_add", {"ScatterAddBackward"},
       [](V x) {
         return scatter_add(x[0], 1, from_vector<int64_t>({0, 3, 3, 1, 2, 2}, {3, 2}).to(x[0].device()), x[1]);
       },
       {{3, 4}, {3, 2}}},
      {"slice_scatter", {"SliceScatterBackward"}, [](V x) { return slice_scatter(x[0], x[1], 1, 1, 5, 2); },
       {{3, 6}, {3, 2}}, Layout::Strided},
      {"unfold2d", {"UnfoldBackward"}, [](V x) { return unfold2d(x[0], {2, 3}, {2, 1}, {1, 1}, {1, 2}); },
       {{2, 2, 5, 6}}, Layout::Transposed},
      {"fold2d", {"FoldBackward"}, [](V x) { return fold2d(x[0], {5, 6}, {2, 3}, {2, 1}, {1, 1}, {1, 2}); },
       {{2, 12, 12}}},
      {"conv2d", {"ConvBackward"},
       [](V x) { return conv2d(x[0], x[1], x[2], {.stride = {2, 1}, .padding = {1, 1}}); },
       {{2, 3, 5, 4}, {3, 3, 3, 3}, {3}}, Layout::Transposed, -1, 1},
      // Stride 1, few input channels: the CPU's direct kernel (kernels/cpu/conv_direct.cpp).
      {"conv2d stride 1, 3 input channels", {"ConvBackward"},
       [](V x) { return conv2d(x[0], x[1], x[2], {.padding = {1, 2}}); }, {{2, 3, 5, 4}, {5, 3, 3, 2}, {5}},
       Layout::Strided, -1, 1},
      {"conv2d groups dilation, no bias", {"ConvBackward"},
       [](V x) { return conv2d(x[0], x[1], Tensor(), {.padding = {2, 1}, .dilation = {2, 1}, .groups = 2}); },
       {{2, 4, 6, 5}, {6, 2, 3, 2}}, Layout::Strided, -1, 1},
      {"max_pool2d", {"MaxPool2dBackward"}, [](V x) { return max_pool2d(x[0], {2, 2}); }, {{2, 3, 6, 4}},
       Layout::Transposed},
      {"max_pool2d padded, strided, dilated", {"MaxPool2dBackward"},
       [](V x) { return max_pool2d(x[0], {3, 2}, {2, 1}, {1, 1}, {1, 2}); }, {{1, 2, 7, 6}}},
      {"avg_pool2d", {"AvgPool2dBackward"}, [](V x) { return avg_pool2d(x[0], {3, 3}, {2, 2}, {1, 1}); },
       {{1, 3, 5, 4}}, Layout::Transposed},
      {"batch_norm training", {"BatchNormBackward"},
       [](V x) { return batch_norm(x[0], Tensor(), Tensor(), x[1], x[2], true); }, {{4, 3, 2, 2}, {3}, {3}},
       Layout::Strided},
      {"batch_norm training, (N, C), no affine", {"BatchNormBackward"},
       [](V x) { return batch_norm(x[0], Tensor(), Tensor(), Tensor(), Tensor(), true); }, {{5, 3}}},
      {"batch_norm evaluation", {"BatchNormBackward"},
       [](V x) {
         const Tensor mean = from_vector<double>({0.1, -0.2, 0.3}).to(x[0].device());
         const Tensor var = from_vector<double>({0.5, 1.5, 2.0}).to(x[0].device());
         return batch_norm(x[0], mean, var, x[1], x[2], false);
       },
       {{4, 3, 2, 2}, {3}, {3}}},
      {"cross_entropy", {"CrossEntropyBackward"},
       [](V x) { return cross_entropy(x[0], from_vector<int64_t>({2, 0, 4}).to(x[0].device()), 0.0, Reduction::None); },
       {{3, 5}}, Layout::Transposed, -3, 3},
      {"cross_entropy smoothed, mean", {"CrossEntropyBackward"},
       [](V x) { return cross_entropy(x[0], from_vector<int64_t>({1, 1, 0, 3}).to(x[0].device()), 0.2); },
       {{4, 5}}, Layout::Contiguous, -3, 3},
      {"dropout", {"MulBackward"},
       [](V x) {
         Generator gen(5);  // a fresh generator per call: the same mask every time
         return dropout(x[0], 0.4, true, &gen);
       },
       {{3, 4}}},
  };
  return cases;
}

}  // namespace ember::test
