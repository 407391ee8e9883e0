// Elementwise binary ops with broadcasting: forward and backward side by side.
// Gradients of broadcast inputs are summed back to the input's shape
// (reduce_grad); comparisons have no gradient.
#include "common.h"

namespace ember {

namespace {

struct AddBackward final : BackwardNode<AddBackward> {
  static constexpr const char* kName = "AddBackward";
  Scalar alpha;  // out = a + alpha * b
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    Tensor ga, gb;
    if (needs_input_grad(0)) ga = reduce_grad(g[0], input_meta[0]);
    if (needs_input_grad(1)) gb = reduce_grad(alpha.to_double() == 1.0 ? g[0] : g[0] * alpha, input_meta[1]);
    return {ga, gb};
  }
};

struct MulBackward final : BackwardNode<MulBackward> {  // saved: 0 = a, 1 = b
  static constexpr const char* kName = "MulBackward";
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    Tensor ga, gb;
    if (needs_input_grad(0)) ga = reduce_grad(g[0] * saved(1), input_meta[0]);
    if (needs_input_grad(1)) gb = reduce_grad(g[0] * saved(0), input_meta[1]);
    return {ga, gb};
  }
};

struct DivBackward final : BackwardNode<DivBackward> {  // saved: 0 = a, 1 = b
  static constexpr const char* kName = "DivBackward";
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    Tensor a = saved(0), b = saved(1), ga, gb;
    if (needs_input_grad(0)) ga = reduce_grad(g[0] / b, input_meta[0]);
    if (needs_input_grad(1)) gb = reduce_grad(-g[0] * a / (b * b), input_meta[1]);
    return {ga, gb};
  }
};

struct PowBackward final : BackwardNode<PowBackward> {  // saved: 0 = a, 1 = b, 2 = out
  static constexpr const char* kName = "PowBackward";
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    Tensor a = saved(0), b = saved(1), ga, gb;
    // d(a^b)/da = b a^(b-1); taken as 0 where b == 0 (avoids 0 * inf at a == 0).
    if (needs_input_grad(0))
      ga = reduce_grad(where(eq(b, 0), zeros_like(g[0]), g[0] * b * pow(a, b - 1)), input_meta[0]);
    if (needs_input_grad(1)) {
      // d(a^b)/db = a^b log a; taken as 0 where a == 0 (as PyTorch does).
      Tensor out = saved(2);
      Tensor zero = zeros_like(out);
      gb = reduce_grad(g[0] * where(eq(a, 0), zero, out * log(a)), input_meta[1]);
    }
    return {ga, gb};
  }
};

// maximum/minimum: the gradient goes to the larger (smaller) input; ties
// split it in half, as PyTorch does. `wins` is where a beats b.
std::vector<Tensor> extremum_grads(const Node& node, const Tensor& g, const Tensor& a, const Tensor& b,
                                   const Tensor& wins) {
  Tensor share = where(eq(a, b), full_like(g, 0.5), to(wins, g.dtype()));
  Tensor ga, gb;
  if (node.needs_input_grad(0)) ga = reduce_grad(g * share, node.input_meta[0]);
  if (node.needs_input_grad(1)) gb = reduce_grad(g * (1 - share), node.input_meta[1]);
  return {ga, gb};
}

struct MaximumBackward final : BackwardNode<MaximumBackward> {  // saved: 0 = a, 1 = b
  static constexpr const char* kName = "MaximumBackward";
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    Tensor a = saved(0), b = saved(1);
    return extremum_grads(*this, g[0], a, b, gt(a, b));
  }
};

struct MinimumBackward final : BackwardNode<MinimumBackward> {  // saved: 0 = a, 1 = b
  static constexpr const char* kName = "MinimumBackward";
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    Tensor a = saved(0), b = saved(1);
    return extremum_grads(*this, g[0], a, b, lt(a, b));
  }
};

struct WhereBackward final : BackwardNode<WhereBackward> {  // saved: 0 = cond
  static constexpr const char* kName = "WhereBackward";
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    Tensor cond = saved(0), zero = zeros_like(g[0]), ga, gb;
    if (needs_input_grad(1)) ga = reduce_grad(where(cond, g[0], zero), input_meta[1]);
    if (needs_input_grad(2)) gb = reduce_grad(where(cond, zero, g[0]), input_meta[2]);
    return {Tensor(), ga, gb};
  }
};

template <typename NodeT>
Tensor binary_with_grad(BinaryOp op, const char* name, const Tensor& a, const Tensor& b, bool save_out = false) {
  Tensor out = prim::binary(op, a, b, name);
  if (should_record({a, b})) {
    auto node = std::make_shared<NodeT>();
    node->save(a);
    node->save(b);
    record(node, {a, b}, out);
    if (save_out) node->save(out, /*is_output=*/true);
  }
  return out;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b, Scalar alpha) {
  EMBER_CHECK(!alpha.is_floating() || is_floating(result_type(a, b)), DTypeError,
              "add: a floating alpha needs a floating result, but the inputs are ", dtype_name(a.dtype()), " and ",
              dtype_name(b.dtype()));
  Tensor scaled_b = alpha.to_double() == 1.0 ? b : prim::binary(BinaryOp::Mul, b, wrap_scalar(alpha, b), "add");
  Tensor out = prim::binary(BinaryOp::Add, a, scaled_b, "add");
  if (should_record({a, b})) {
    auto node = std::make_shared<AddBackward>();
    node->alpha = alpha;
    record(node, {a, b}, out);
  }
  return out;
}

Tensor& add_out(Tensor& out, const Tensor& a, const Tensor& b) {
  EMBER_CHECK(!GradMode::is_enabled() || !(a.requires_grad() || b.requires_grad() || out.requires_grad()),
              AutogradError, "add_out: writing into out= is not differentiable, but an argument requires grad; "
              "use add(), or wrap the call in NoGradGuard");
  const DType dt = prim::result_type(a, b);  // out= takes exactly a + b's dtype, as PyTorch
  EMBER_CHECK(out.dtype() == dt, DTypeError, "add_out: out is ", dtype_name(out.dtype()), " but a + b is ",
              dtype_name(dt));
  prim::binary_out(BinaryOp::Add, out, a, b, "add_out");
  out.bump_version();
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b, Scalar alpha) {
  EMBER_CHECK(a.dtype() != DType::Bool && b.dtype() != DType::Bool, DTypeError,
              "sub: subtraction with a bool tensor is not supported (got ", dtype_name(a.dtype()), " and ",
              dtype_name(b.dtype()), ")");
  return add(a, b, alpha.is_floating() ? Scalar(-alpha.to_double()) : Scalar(-alpha.to_int()));
}

Tensor mul(const Tensor& a, const Tensor& b) { return binary_with_grad<MulBackward>(BinaryOp::Mul, "mul", a, b); }
Tensor div(const Tensor& a, const Tensor& b) { return binary_with_grad<DivBackward>(BinaryOp::Div, "div", a, b); }
Tensor pow(const Tensor& a, const Tensor& b) {
  return binary_with_grad<PowBackward>(BinaryOp::Pow, "pow", a, b, /*save_out=*/true);
}
Tensor pow(const Tensor& a, Scalar exponent) { return pow(a, wrap_scalar(exponent, a)); }
Tensor pow(Scalar base, const Tensor& exponent) { return pow(wrap_scalar(base, exponent), exponent); }

Tensor maximum(const Tensor& a, const Tensor& b) {
  return binary_with_grad<MaximumBackward>(BinaryOp::Maximum, "maximum", a, b);
}
Tensor minimum(const Tensor& a, const Tensor& b) {
  return binary_with_grad<MinimumBackward>(BinaryOp::Minimum, "minimum", a, b);
}

Tensor eq(const Tensor& a, const Tensor& b) { return prim::binary(BinaryOp::Eq, a, b, "eq"); }
Tensor ne(const Tensor& a, const Tensor& b) { return prim::binary(BinaryOp::Ne, a, b, "ne"); }
Tensor lt(const Tensor& a, const Tensor& b) { return prim::binary(BinaryOp::Lt, a, b, "lt"); }
Tensor le(const Tensor& a, const Tensor& b) { return prim::binary(BinaryOp::Le, a, b, "le"); }
Tensor gt(const Tensor& a, const Tensor& b) { return prim::binary(BinaryOp::Gt, a, b, "gt"); }
Tensor ge(const Tensor& a, const Tensor& b) { return prim::binary(BinaryOp::Ge, a, b, "ge"); }
Tensor eq(const Tensor& a, Scalar b) { return eq(a, wrap_scalar(b, a)); }
Tensor ne(const Tensor& a, Scalar b) { return ne(a, wrap_scalar(b, a)); }
Tensor lt(const Tensor& a, Scalar b) { return lt(a, wrap_scalar(b, a)); }
Tensor le(const Tensor& a, Scalar b) { return le(a, wrap_scalar(b, a)); }
Tensor gt(const Tensor& a, Scalar b) { return gt(a, wrap_scalar(b, a)); }
Tensor ge(const Tensor& a, Scalar b) { return ge(a, wrap_scalar(b, a)); }

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  Tensor out = prim::where_nograd(cond, a, b);
  if (should_record({a, b})) {
    auto node = std::make_shared<WhereBackward>();
    node->save(cond);
    record(node, {cond, a, b}, out);
  }
  return out;
}

DType result_type(const Tensor& a, const Tensor& b) { return prim::result_type(a, b); }

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator+(const Tensor& a, Scalar b) { return add(a, wrap_scalar(b, a)); }
Tensor operator-(const Tensor& a, Scalar b) { return sub(a, wrap_scalar(b, a)); }
Tensor operator*(const Tensor& a, Scalar b) { return mul(a, wrap_scalar(b, a)); }
Tensor operator/(const Tensor& a, Scalar b) { return div(a, wrap_scalar(b, a)); }
Tensor operator+(Scalar a, const Tensor& b) { return add(wrap_scalar(a, b), b); }
Tensor operator-(Scalar a, const Tensor& b) { return sub(wrap_scalar(a, b), b); }
Tensor operator*(Scalar a, const Tensor& b) { return mul(wrap_scalar(a, b), b); }
Tensor operator/(Scalar a, const Tensor& b) { return div(wrap_scalar(a, b), b); }
Tensor operator-(const Tensor& a) { return neg(a); }

}  // namespace ember
