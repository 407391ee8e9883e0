// Elementwise unary ops: forward and backward side by side. Transcendental
// ops on integer tensors compute in the default float dtype, as PyTorch does.
// Each backward is written with Ember ops (so it is itself differentiable)
// from the saved input x (slot 0) and output y (slot 1).
#include "common.h"

namespace ember {

namespace {

constexpr double kSqrt1_2 = 0.70710678118654752440;     // 1/sqrt(2)
constexpr double kInvSqrt2Pi = 0.39894228040143267794;  // 1/sqrt(2 pi)
constexpr double k2InvSqrtPi = 1.12837916709551257390;  // 2/sqrt(pi)

// Every unary backward saves x and y: slot 0 and slot 1.
struct NegBackward final : BackwardNode<NegBackward> {
  static constexpr const char* kName = "NegBackward";
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override { return {-g[0]}; }
};
struct ExpBackward final : BackwardNode<ExpBackward> {
  static constexpr const char* kName = "ExpBackward";
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override { return {g[0] * saved(1)}; }
};
struct LogBackward final : BackwardNode<LogBackward> {
  static constexpr const char* kName = "LogBackward";
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override { return {g[0] / saved(0)}; }
};
struct Log1pBackward final : BackwardNode<Log1pBackward> {
  static constexpr const char* kName = "Log1pBackward";
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override { return {g[0] / (saved(0) + 1)}; }
};
struct SqrtBackward final : BackwardNode<SqrtBackward> {
  static constexpr const char* kName = "SqrtBackward";
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override { return {g[0] / (2 * saved(1))}; }
};
struct AbsBackward final : BackwardNode<AbsBackward> {
  static constexpr const char* kName = "AbsBackward";
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override { return {g[0] * sign(saved(0))}; }
};
// relu's gradient in one pass, as PyTorch's threshold_backward: g where the
// output y is positive, else 0 (a NaN y passes g on). Linear in g, so its
// own gradient is the same mask; y only selects, so it gets none.
Tensor relu_grad(const Tensor& g, const Tensor& y);
struct ReluGradBackward final : BackwardNode<ReluGradBackward> {  // saved: 0 = y
  static constexpr const char* kName = "ReluGradBackward";
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override { return {relu_grad(g[0], saved(0)), Tensor()}; }
};
Tensor relu_grad(const Tensor& g, const Tensor& y) {
  Tensor out = prim::binary(BinaryOp::ReluGrad, g, y, "relu_backward");
  if (should_record({g, y})) {
    auto node = std::make_shared<ReluGradBackward>();
    node->save(y);
    record(node, {g, y}, out);
  }
  return out;
}
struct ReluBackward final : BackwardNode<ReluBackward> {
  static constexpr const char* kName = "ReluBackward";
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override { return {relu_grad(g[0], saved(1))}; }
};
struct SigmoidBackward final : BackwardNode<SigmoidBackward> {
  static constexpr const char* kName = "SigmoidBackward";
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    Tensor y = saved(1);
    return {g[0] * y * (1 - y)};
  }
};
struct TanhBackward final : BackwardNode<TanhBackward> {
  static constexpr const char* kName = "TanhBackward";
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    Tensor y = saved(1);
    return {g[0] * (1 - y * y)};
  }
};
struct ErfBackward final : BackwardNode<ErfBackward> {
  static constexpr const char* kName = "ErfBackward";
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    Tensor x = saved(0);
    return {g[0] * k2InvSqrtPi * exp(-(x * x))};
  }
};
// gelu'(x) = Phi(x) + x * phi(x), with Phi the normal CDF and phi its density.
struct GeluBackward final : BackwardNode<GeluBackward> {
  static constexpr const char* kName = "GeluBackward";
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    Tensor x = saved(0);
    Tensor cdf = 0.5 * (1 + erf(x * kSqrt1_2));
    Tensor pdf = kInvSqrt2Pi * exp(-0.5 * (x * x));
    return {g[0] * (cdf + x * pdf)};
  }
};

Tensor floating(const Tensor& a) { return is_floating(a.dtype()) ? a : prim::cast_nograd(a, kDefaultFloat); }

// Computes op(a) (in floating point if `needs_float`) and records NodeT.
template <typename NodeT>
Tensor unary_op(UnaryOp op, const Tensor& a, bool needs_float) {
  Tensor out = prim::unary(op, needs_float ? floating(a) : a);
  if (should_record({a})) {
    auto node = std::make_shared<NodeT>();
    node->save(a);
    record(node, {a}, out);
    node->save(out, /*is_output=*/true);
  }
  return out;
}

}  // namespace

Tensor neg(const Tensor& a) {
  EMBER_CHECK(a.dtype() != DType::Bool, DTypeError, "neg: negating a bool tensor is not supported");
  return unary_op<NegBackward>(UnaryOp::Neg, a, false);
}
Tensor exp(const Tensor& a) { return unary_op<ExpBackward>(UnaryOp::Exp, a, true); }
Tensor log(const Tensor& a) { return unary_op<LogBackward>(UnaryOp::Log, a, true); }
Tensor log1p(const Tensor& a) { return unary_op<Log1pBackward>(UnaryOp::Log1p, a, true); }
Tensor sqrt(const Tensor& a) { return unary_op<SqrtBackward>(UnaryOp::Sqrt, a, true); }
Tensor abs(const Tensor& a) {
  EMBER_CHECK(a.dtype() != DType::Bool, DTypeError, "abs: bool tensors are not supported");
  return unary_op<AbsBackward>(UnaryOp::Abs, a, false);
}
Tensor sign(const Tensor& a) { return prim::unary(UnaryOp::Sign, a); }
Tensor relu(const Tensor& a) { return unary_op<ReluBackward>(UnaryOp::Relu, a, false); }
Tensor sigmoid(const Tensor& a) { return unary_op<SigmoidBackward>(UnaryOp::Sigmoid, a, true); }
Tensor tanh(const Tensor& a) { return unary_op<TanhBackward>(UnaryOp::Tanh, a, true); }
Tensor erf(const Tensor& a) { return unary_op<ErfBackward>(UnaryOp::Erf, a, true); }
Tensor gelu(const Tensor& a) { return unary_op<GeluBackward>(UnaryOp::Gelu, a, true); }

// A composite, written with other ops, so its gradient (and the gradient of
// that) comes from theirs. log1p, not log(1 + e): for very negative x, 1 + e
// rounds to 1 and log(1 + e) loses every digit of the tiny answer. exp's
// argument is clamped to the threshold, so the branch where() discards
// cannot overflow to inf, whose gradient (0 * inf) would be NaN.
Tensor softplus(const Tensor& x, double beta, double threshold) {
  EMBER_CHECK(beta > 0, ValueError, "softplus: beta must be positive, got ", beta);
  Tensor bx = floating(x) * beta;
  Tensor smooth = log1p(exp(minimum(bx, full_like(bx, threshold)))) / beta;
  return where(gt(bx, threshold), floating(x), smooth);
}

}  // namespace ember
