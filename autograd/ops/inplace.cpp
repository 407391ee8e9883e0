// In-place ops: add_, sub_, mul_, div_, fill_, zero_, copy_.
//
// Note [In-place ops]
// An in-place op writes into the tensor's memory and bumps its version
// counter (Note [Version counter]), so any Node that saved the old value
// refuses to use it. PyTorch's rules apply while grad mode is on:
//  * a leaf that requires grad may not be modified (its .grad would no
//    longer match its value); do it under NoGradGuard (as optimizers do);
//  * a tensor with history is "rebased": the op is recorded on a clone of
//    its old value, and the tensor takes the result's grad_fn, so gradients
//    flow through the modification;
//  * views are not rebased (their base's history would have to change too,
//    which PyTorch does with CopySlices); that case throws instead of
//    computing a wrong gradient;
//  * conversely, a view taken before its base was rebased has a stale
//    grad_fn: using it in the graph throws (gradient_edge in node.cpp,
//    through VersionCounter::rebases), where PyTorch would regenerate it.
// Without grad mode, or when nothing requires grad, nothing is recorded.
#include "common.h"

namespace ember {

namespace {

// Applies the rules above; returns whether the graph must be rebased.
bool check_inplace(const Tensor& self, const char* op, const Tensor& other) {
  for (int64_t d = 0; d < self.dim(); ++d)
    EMBER_CHECK(self.stride(d) != 0 || self.size(d) <= 1, ValueError, op, ": the tensor of shape ",
                shape_str(self.shape()), " has several elements in one memory location (an expand()ed view); "
                "clone() it before writing to it");
  if (!GradMode::is_enabled()) return false;
  const bool self_grad = self.requires_grad();
  if (!self_grad && !(other.defined() && other.requires_grad())) return false;
  EMBER_CHECK(!(self_grad && self.is_leaf()), AutogradError, op,
              ": a leaf tensor that requires grad is being used in an in-place operation; "
              "wrap it in NoGradGuard, or use the out-of-place op");
  EMBER_CHECK(!self.is_view(), AutogradError, op,
              ": in-place operations on a view are not supported while the graph is being recorded "
              "(shape ", shape_str(self.shape()), "); use the out-of-place op");
  return true;
}

// Writes `result` into self's memory and, when rebasing, hands its history to self.
void commit(Tensor& self, const Tensor& result, bool rebase, const char* op) {
  EMBER_CHECK(result.shape() == self.shape(), ShapeError, op, ": output with shape ", shape_str(self.shape()),
              " doesn't match the broadcast shape ", shape_str(result.shape()));
  EMBER_CHECK(!(is_floating(result.dtype()) && !is_floating(self.dtype())), DTypeError, op, ": result type ",
              dtype_name(result.dtype()), " can't be cast to the desired output type ", dtype_name(self.dtype()));
  Tensor value = rebase ? to(result, self.dtype()) : result;
  prim::copy_nograd(self, value);
  self.bump_version();
  if (rebase) {
    AutogradMeta& meta = autograd_meta(self);
    AutogradMeta* from = autograd_meta_or_null(value);
    meta.grad_fn = from ? from->grad_fn : nullptr;
    meta.output_nr = from ? from->output_nr : 0;
    self.impl()->version->rebases.fetch_add(1);
  }
}

// self = op(self, other). With nothing to record it writes straight into
// self's memory (prim::binary_out: no allocation for same-dtype operands);
// otherwise see Note [In-place ops].
Tensor& binary_inplace(Tensor& self, const Tensor& other, BinaryOp op, const char* name,
                       Tensor (*f)(const Tensor&, const Tensor&)) {
  const bool rebase = check_inplace(self, name, other);
  if (!rebase) {
    prim::binary_out(op, self, self, other, name);
    self.bump_version();
    return self;
  }
  // When rebasing, the op runs on a clone so the pre-modification value
  // that backward may need is not the memory being overwritten.
  // `other` may be self, or share its memory (y.mul_(y)): then it is about to
  // be overwritten too, so the recorded op gets a copy of it as well.
  const bool aliased = other.impl()->storage == self.impl()->storage;
  commit(self, f(clone(self), aliased ? clone(other) : other), rebase, name);
  return self;
}

}  // namespace

Tensor& Tensor::add_(const Tensor& other, Scalar alpha) {
  auto plus = [](const Tensor& a, const Tensor& b) { return a + b; };
  if (alpha.to_double() == 1.0) return binary_inplace(*this, other, BinaryOp::Add, "add_", plus);
  return binary_inplace(*this, other * alpha, BinaryOp::Add, "add_", plus);
}
Tensor& Tensor::sub_(const Tensor& other) {
  EMBER_CHECK(dtype() != DType::Bool && other.dtype() != DType::Bool, DTypeError,
              "sub_: subtraction with a bool tensor is not supported (got ", dtype_name(dtype()), " and ",
              dtype_name(other.dtype()), ")");
  return binary_inplace(*this, other, BinaryOp::Sub, "sub_", [](const Tensor& a, const Tensor& b) { return a - b; });
}
Tensor& Tensor::mul_(const Tensor& other) {
  return binary_inplace(*this, other, BinaryOp::Mul, "mul_", [](const Tensor& a, const Tensor& b) { return a * b; });
}
Tensor& Tensor::div_(const Tensor& other) {
  return binary_inplace(*this, other, BinaryOp::Div, "div_", [](const Tensor& a, const Tensor& b) { return a / b; });
}
Tensor& Tensor::add_(Scalar other) { return add_(wrap_scalar(other, *this)); }
Tensor& Tensor::sub_(Scalar other) { return sub_(wrap_scalar(other, *this)); }
Tensor& Tensor::mul_(Scalar other) { return mul_(wrap_scalar(other, *this)); }
Tensor& Tensor::div_(Scalar other) { return div_(wrap_scalar(other, *this)); }

Tensor& Tensor::copy_(const Tensor& src) {
  bool rebase = check_inplace(*this, "copy_", src);
  if (!rebase) {
    prim::copy_nograd(*this, src);
    bump_version();
    return *this;
  }
  commit(*this, ember::expand(ember::to(ember::to(src, device()), is_floating(dtype()) ? dtype() : src.dtype()), shape()), true, "copy_");
  return *this;
}

Tensor& Tensor::fill_(Scalar value) {
  bool rebase = check_inplace(*this, "fill_", Tensor());
  prim::fill_nograd(*this, value);
  bump_version();
  if (rebase) {
    autograd_meta(*this).grad_fn = nullptr;  // now a constant: no history
    impl()->version->rebases.fetch_add(1);
  }
  return *this;
}

Tensor& Tensor::zero_() { return fill_(0); }

}  // namespace ember
