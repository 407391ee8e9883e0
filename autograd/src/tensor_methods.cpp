// The Tensor methods declared in core/tensor.h that compute or touch the
// graph; see Note [Where Tensor methods live]. Most forward to ops.h.
#include <cstring>

#include "ember/autograd/engine.h"
#include "ember/autograd/meta.h"
#include "ember/autograd/ops.h"
#include "ember/core/grad_mode.h"
#include "ember/autograd/prim.h"

namespace ember {

// ---- autograd ----

bool Tensor::requires_grad() const {
  const AutogradMeta* meta = autograd_meta_or_null(*this);
  return meta && (meta->requires_grad || meta->grad_fn);
}

Tensor& Tensor::requires_grad_(bool value) {
  EMBER_CHECK(is_leaf(), AutogradError, "requires_grad_: can only change the flag of a leaf tensor; this one has "
              "grad_fn ", grad_fn_name(), " (use detach() to get a leaf)");
  EMBER_CHECK(!value || is_floating(dtype()), DTypeError, "requires_grad_: only floating tensors can require "
              "gradients, got ", dtype_name(dtype()));
  autograd_meta(*this).requires_grad = value;
  return *this;
}

bool Tensor::is_leaf() const {
  const AutogradMeta* meta = autograd_meta_or_null(*this);
  return !meta || !meta->grad_fn;
}

Tensor Tensor::grad() const {
  const AutogradMeta* meta = autograd_meta_or_null(*this);
  return meta ? meta->grad : Tensor();
}

void Tensor::set_grad(const Tensor& grad) const {
  EMBER_CHECK(!grad.defined() || grad.shape() == shape(), ShapeError, "set_grad: gradient of shape ",
              shape_str(grad.shape()), " for a tensor of shape ", shape_str(shape()));
  autograd_meta(*this).grad = grad;
}

void Tensor::backward(const Tensor& gradient, bool retain_graph, bool create_graph) const {
  autograd::backward({*this}, {gradient}, retain_graph, create_graph);
}

Tensor Tensor::detach() const {
  auto impl = std::make_shared<TensorImpl>(*impl_);
  impl->autograd = nullptr;
  impl->is_view = false;  // shares memory and version counter, but starts a new history
  return Tensor(std::move(impl));
}

std::string Tensor::grad_fn_name() const {
  const AutogradMeta* meta = autograd_meta_or_null(*this);
  return meta && meta->grad_fn ? meta->grad_fn->name() : "";
}

// ---- conversion ----

Tensor Tensor::to(DType dt) const { return ember::to(*this, dt); }
Tensor Tensor::to(Device d) const { return ember::to(*this, d); }
Tensor Tensor::contiguous() const { return ember::contiguous(*this); }
Tensor Tensor::clone() const { return ember::clone(*this); }

Scalar Tensor::item() const {
  EMBER_CHECK(numel() == 1, ValueError, "item: a tensor with ", numel(), " elements (shape ", shape_str(shape()),
              ") cannot be converted to a scalar");
  Tensor host = ember::to(detach(), kCPU);
  return EMBER_DISPATCH_ALL(dtype(), "item", [&]() -> Scalar { return Scalar(*host.data_ptr<scalar_t>()); });
}

template <typename T>
std::vector<T> Tensor::to_vector() const {
  NoGradGuard no_grad;
  Tensor host = prim::contiguous_nograd(ember::to(ember::to(*this, kCPU), dtype_of<T>::value));
  const T* p = host.data_ptr<T>();
  return std::vector<T>(p, p + host.numel());
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;
template std::vector<uint8_t> Tensor::to_vector<uint8_t>() const;
template std::vector<bool> Tensor::to_vector<bool>() const;

// ---- views ----

Tensor Tensor::view(const Shape& s) const { return ember::view(*this, s); }
Tensor Tensor::reshape(const Shape& s) const { return ember::reshape(*this, s); }
Tensor Tensor::permute(const std::vector<int64_t>& dims) const { return ember::permute(*this, dims); }
Tensor Tensor::transpose(int64_t d0, int64_t d1) const { return ember::transpose(*this, d0, d1); }
Tensor Tensor::t() const {
  EMBER_CHECK(dim() <= 2, ShapeError, "t: expected a tensor with at most 2 dims, got shape ", shape_str(shape()));
  return dim() < 2 ? *this : ember::transpose(*this, 0, 1);
}
Tensor Tensor::unsqueeze(int64_t d) const { return ember::unsqueeze(*this, d); }
Tensor Tensor::squeeze() const { return ember::squeeze(*this); }
Tensor Tensor::squeeze(int64_t d) const { return ember::squeeze(*this, d); }
Tensor Tensor::narrow(int64_t d, int64_t start, int64_t length) const { return ember::narrow(*this, d, start, length); }
Tensor Tensor::slice(int64_t d, int64_t start, int64_t end, int64_t step) const {
  return ember::slice(*this, d, start, end, step);
}
Tensor Tensor::select(int64_t d, int64_t index) const { return ember::select(*this, d, index); }
Tensor Tensor::expand(const Shape& s) const { return ember::expand(*this, s); }
Tensor Tensor::flatten(int64_t s, int64_t e) const { return ember::flatten(*this, s, e); }

// ---- reductions ----

Tensor Tensor::sum(const std::vector<int64_t>& dims, bool keepdim) const { return ember::sum(*this, dims, keepdim); }
Tensor Tensor::mean(const std::vector<int64_t>& dims, bool keepdim) const { return ember::mean(*this, dims, keepdim); }
Tensor Tensor::max(const std::vector<int64_t>& dims, bool keepdim) const { return ember::max(*this, dims, keepdim); }
Tensor Tensor::min(const std::vector<int64_t>& dims, bool keepdim) const { return ember::min(*this, dims, keepdim); }
Tensor Tensor::argmax(int64_t d, bool keepdim) const { return ember::argmax(*this, d, keepdim); }
Tensor Tensor::var(const std::vector<int64_t>& dims, int64_t correction, bool keepdim) const {
  return ember::var(*this, dims, correction, keepdim);
}

// ---- elementwise ----

Tensor Tensor::neg() const { return ember::neg(*this); }
Tensor Tensor::exp() const { return ember::exp(*this); }
Tensor Tensor::log() const { return ember::log(*this); }
Tensor Tensor::sqrt() const { return ember::sqrt(*this); }
Tensor Tensor::abs() const { return ember::abs(*this); }
Tensor Tensor::relu() const { return ember::relu(*this); }
Tensor Tensor::sigmoid() const { return ember::sigmoid(*this); }
Tensor Tensor::tanh() const { return ember::tanh(*this); }
Tensor Tensor::pow(const Tensor& e) const { return ember::pow(*this, e); }
Tensor Tensor::pow(Scalar e) const { return ember::pow(*this, e); }
Tensor Tensor::matmul(const Tensor& other) const { return ember::matmul(*this, other); }
Tensor Tensor::softmax(int64_t d) const { return ember::softmax(*this, d); }
Tensor Tensor::log_softmax(int64_t d) const { return ember::log_softmax(*this, d); }

}  // namespace ember
