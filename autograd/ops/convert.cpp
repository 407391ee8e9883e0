// Copies and conversions: contiguous, clone, to(dtype), to(device), and the
// whole-tensor comparisons allclose/equal.
#include "common.h"

namespace ember {

namespace {

struct CloneBackward final : BackwardNode<CloneBackward> {
  static constexpr const char* kName = "CloneBackward";
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override { return {g[0]}; }
};

// to(dtype) and to(device): the gradient goes back the same way.
struct ToBackward final : BackwardNode<ToBackward> {
  static constexpr const char* kName = "ToBackward";
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    return {to(to(g[0], input_meta[0].device), input_meta[0].dtype)};
  }
};

template <typename NodeT>
Tensor copy_with_grad(const Tensor& a, const Tensor& out) {
  if (should_record({a})) record(std::make_shared<NodeT>(), {a}, out);
  return out;
}

}  // namespace

Tensor clone(const Tensor& a) {
  return copy_with_grad<CloneBackward>(a, prim::clone_nograd(a));
}

Tensor contiguous(const Tensor& a) { return a.is_contiguous() ? a : clone(a); }

Tensor to(const Tensor& a, DType dtype) {
  if (a.dtype() == dtype) return a;
  EMBER_CHECK(is_floating(dtype) || !a.requires_grad(), DTypeError, "to: cannot convert a tensor that requires grad to ",
              dtype_name(dtype), " (only floating tensors carry gradients); detach() it first");
  return copy_with_grad<ToBackward>(a, prim::cast_nograd(a, dtype));
}

Tensor to(const Tensor& a, Device device) {
  if (a.device() == device) return a;
  Tensor out = prim::empty(a.shape(), a.dtype(), device);
  prim::copy_nograd(out, a);
  return copy_with_grad<ToBackward>(a, out);
}

bool allclose(const Tensor& a, const Tensor& b, double rtol, double atol, bool equal_nan) {
  EMBER_CHECK(a.shape() == b.shape(), ShapeError, "allclose: shapes ", shape_str(a.shape()), " and ",
              shape_str(b.shape()), " differ");
  NoGradGuard no_grad;
  auto x = to(to(a, kCPU), DType::Float64).to_vector<double>();
  auto y = to(to(b, kCPU), DType::Float64).to_vector<double>();
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i]) || std::isnan(y[i])) {
      if (!(equal_nan && std::isnan(x[i]) && std::isnan(y[i]))) return false;
      continue;
    }
    if (x[i] == y[i]) continue;  // also equal infinities
    if (!(std::abs(x[i] - y[i]) <= atol + rtol * std::abs(y[i]))) return false;
  }
  return true;
}

bool equal(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) return false;
  return allclose(a, b, 0.0, 0.0);
}

}  // namespace ember
