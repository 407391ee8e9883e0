// Elementwise unary ops: forward and backward side by side. Transcendental
// ops on integer tensors compute in the default float dtype, as PyTorch does.
#include "common.h"

namespace ember {

namespace {

// One Node type for all unary ops; `grad` maps (g, input, output) to the
// input's gradient with Ember ops, so it is itself differentiable.
using UnaryGrad = Tensor (*)(const Tensor& g, const Tensor& x, const Tensor& y);

struct UnaryBackward final : Node {  // saved: 0 = input, 1 = output
  const char* op_name;
  UnaryGrad grad;
  UnaryBackward(const char* n, UnaryGrad f) : op_name(n), grad(f) {}
  std::string name() const override { return op_name; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override { return {grad(g[0], saved(0), saved(1))}; }
};

Tensor floating(const Tensor& a) { return is_floating(a.dtype()) ? a : prim::cast(a, kDefaultFloat); }

Tensor unary_op(UnaryOp op, const Tensor& a, const char* backward_name, UnaryGrad grad, bool needs_float) {
  Tensor x = needs_float ? floating(a) : a;
  Tensor out = prim::unary(op, x);
  if (grad && should_record({a})) {
    auto node = std::make_shared<UnaryBackward>(backward_name, grad);
    node->save(a);
    record(node, {a}, out);
    node->save(out, /*is_output=*/true);
  }
  return out;
}

constexpr double kSqrt1_2 = 0.70710678118654752440;  // 1/sqrt(2)
constexpr double kInvSqrt2Pi = 0.39894228040143267794;  // 1/sqrt(2 pi)
constexpr double k2InvSqrtPi = 1.12837916709551257390;  // 2/sqrt(pi)

}  // namespace

Tensor neg(const Tensor& a) {
  EMBER_CHECK(a.dtype() != DType::Bool, DTypeError, "neg: negating a bool tensor is not supported");
  return unary_op(UnaryOp::Neg, a, "NegBackward", [](const Tensor& g, const Tensor&, const Tensor&) { return -g; },
                  false);
}
Tensor exp(const Tensor& a) {
  return unary_op(UnaryOp::Exp, a, "ExpBackward", [](const Tensor& g, const Tensor&, const Tensor& y) { return g * y; },
                  true);
}
Tensor log(const Tensor& a) {
  return unary_op(UnaryOp::Log, a, "LogBackward", [](const Tensor& g, const Tensor& x, const Tensor&) { return g / x; },
                  true);
}
Tensor sqrt(const Tensor& a) {
  return unary_op(UnaryOp::Sqrt, a, "SqrtBackward",
                  [](const Tensor& g, const Tensor&, const Tensor& y) { return g / (2 * y); }, true);
}
Tensor abs(const Tensor& a) {
  EMBER_CHECK(a.dtype() != DType::Bool, DTypeError, "abs: bool tensors are not supported");
  return unary_op(UnaryOp::Abs, a, "AbsBackward",
                  [](const Tensor& g, const Tensor& x, const Tensor&) { return g * sign(x); }, false);
}
Tensor sign(const Tensor& a) { return prim::unary(UnaryOp::Sign, a); }
Tensor relu(const Tensor& a) {
  return unary_op(UnaryOp::Relu, a, "ReluBackward",
                  [](const Tensor& g, const Tensor&, const Tensor& y) { return g * to(gt(y, 0), g.dtype()); }, false);
}
Tensor sigmoid(const Tensor& a) {
  return unary_op(UnaryOp::Sigmoid, a, "SigmoidBackward",
                  [](const Tensor& g, const Tensor&, const Tensor& y) { return g * y * (1 - y); }, true);
}
Tensor tanh(const Tensor& a) {
  return unary_op(UnaryOp::Tanh, a, "TanhBackward",
                  [](const Tensor& g, const Tensor&, const Tensor& y) { return g * (1 - y * y); }, true);
}
Tensor erf(const Tensor& a) {
  return unary_op(UnaryOp::Erf, a, "ErfBackward",
                  [](const Tensor& g, const Tensor& x, const Tensor&) { return g * k2InvSqrtPi * exp(-(x * x)); },
                  true);
}
// gelu'(x) = Phi(x) + x * phi(x), with Phi the normal CDF and phi its density.
Tensor gelu(const Tensor& a) {
  return unary_op(UnaryOp::Gelu, a, "GeluBackward",
                  [](const Tensor& g, const Tensor& x, const Tensor&) {
                    Tensor cdf = 0.5 * (1 + erf(x * kSqrt1_2));
                    Tensor pdf = kInvSqrt2Pi * exp(-0.5 * (x * x));
                    return g * (cdf + x * pdf);
                  },
                  true);
}

}  // namespace ember
