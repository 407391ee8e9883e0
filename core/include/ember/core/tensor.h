// Tensor: a cheap handle to a TensorImpl, which is a strided view of a
// Storage. Copying a Tensor aliases it (as in PyTorch); use clone() to copy
// data.
//
// Note [Tensor layout]
// Element i_0..i_{n-1} of a tensor lives at
//     storage.data + (offset + sum_k i_k * strides[k]) * dtype_size
// Views (permute, transpose, slice, expand, ...) make a new TensorImpl with
// other shape/strides/offset over the same Storage; nothing is copied.
// expand and broadcasting use stride 0, so one element is read many times.
//
// Note [Where Tensor methods live]
// This header declares the whole Tensor API, but core only defines the
// metadata accessors (tensor.cpp). Every method that computes or touches the
// autograd graph is defined in autograd/ (src/tensor_methods.cpp), beside the
// free functions it forwards to (ops.h). Core itself never calls them, so
// core stays a pure data layer with no dependency upward; users link
// ember::ember and get both.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ember/core/device.h"
#include "ember/core/dtype.h"
#include "ember/core/error.h"
#include "ember/core/scalar.h"
#include "ember/core/shape.h"
#include "ember/core/storage.h"

namespace ember {

struct AutogradMeta;  // defined in autograd/; core only holds a pointer

// Note [Version counter]
// Shared by a tensor, its views and its detach()es: they all alias the same
// memory. In-place ops bump it. A tensor saved for backward remembers the
// version it had, and backward throws if it changed, instead of silently
// computing a wrong gradient from overwritten data.
struct VersionCounter {
  std::atomic<uint32_t> value{0};
  // How many in-place ops gave these tensors a new autograd history (see
  // Note [In-place ops]): a view whose history predates one is stale.
  std::atomic<uint32_t> rebases{0};
};

// Note [Checked layout]
// shape, strides and offset are private: every change goes through
// set_layout(), which checks that they agree with each other and that every
// element they reach lies inside the storage. A wrong stride would
// otherwise read or write out of bounds silently, far from the bug. The one
// exception is set_dense_layout(), for a fresh storage sized for exactly
// that shape, which cannot be wrong (and is on every allocation's path).
class TensorImpl {
 public:
  std::shared_ptr<Storage> storage;
  DType dtype = kDefaultFloat;
  std::shared_ptr<VersionCounter> version = std::make_shared<VersionCounter>();
  // True for a view made by a view op (it looks at another tensor's memory).
  // A flag, not a pointer to the base: holding the base would keep its
  // autograd graph alive as long as any view of it.
  bool is_view = false;
  // requires_grad, grad, grad_fn. Null while a tensor has never been part of
  // the graph (most tensors).
  std::shared_ptr<AutogradMeta> autograd;

  const Shape& shape() const { return shape_; }
  const Strides& strides() const { return strides_; }
  int64_t offset() const { return offset_; }
  // Sets the layout after checking it against `storage` and `dtype` (set
  // those first); throws InternalError naming the layout if it does not fit.
  void set_layout(Shape shape, Strides strides, int64_t offset = 0);
  // The dense row-major layout of `shape` at offset 0, for a storage made
  // to hold exactly that (make_empty): right by construction, so unchecked.
  void set_dense_layout(Shape shape);

 private:
  Shape shape_;
  Strides strides_;  // INVARIANT: same length as shape_; in elements; non-negative
  int64_t offset_ = 0;  // in elements, from storage->data()
};

class Tensor {
 public:
  Tensor() = default;  // an undefined tensor (like an empty optional)
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- metadata (core/src/tensor.cpp) ----
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int64_t size(int64_t dim) const;  // negative dims count from the end
  const Strides& strides() const;
  int64_t stride(int64_t dim) const;
  int64_t dim() const;
  int64_t numel() const;
  DType dtype() const;
  Device device() const;
  int64_t offset() const;
  bool is_contiguous() const;
  bool is_view() const;
  // Address of element [0, ..., 0]; checks that T matches the dtype.
  template <typename T>
  T* data_ptr() const;
  void* raw_data() const;
  uint32_t version() const;
  void bump_version() const;
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }

  // ---- autograd (autograd/src/tensor_methods.cpp) ----
  bool requires_grad() const;
  // Marks a leaf as needing .grad; like torch's requires_grad_().
  Tensor& requires_grad_(bool value = true);
  bool is_leaf() const;
  Tensor grad() const;  // undefined until a backward() reaches it
  void set_grad(const Tensor& grad) const;
  // Computes d(this)/d(leaves) and accumulates it into the leaves' .grad.
  // `gradient` may be left undefined for a one-element tensor (it is 1).
  void backward(const Tensor& gradient = Tensor(), bool retain_graph = false,
                bool create_graph = false) const;
  // Same data, no history (shares the version counter).
  Tensor detach() const;
  std::string grad_fn_name() const;  // "MulBackward", or "" for a leaf

  // ---- conversion and printing ----
  Tensor to(DType dtype) const;
  Tensor to(Device device) const;
  Tensor contiguous() const;
  Tensor clone() const;
  Scalar item() const;  // the value of a one-element tensor
  template <typename T>
  T item() const { return item().to<T>(); }
  template <typename T>
  std::vector<T> to_vector() const;  // all elements in row-major order
  std::string to_string() const;     // like PyTorch's repr

  // ---- views (share storage; see Note [Tensor layout]) ----
  Tensor view(const Shape& shape) const;     // needs compatible strides
  Tensor reshape(const Shape& shape) const;  // a view when possible, else a copy
  Tensor permute(const std::vector<int64_t>& dims) const;
  Tensor transpose(int64_t dim0, int64_t dim1) const;
  Tensor t() const;  // transpose of a 2-D tensor
  Tensor unsqueeze(int64_t dim) const;
  Tensor squeeze() const;
  Tensor squeeze(int64_t dim) const;
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor select(int64_t dim, int64_t index) const;
  Tensor expand(const Shape& shape) const;
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;

  // ---- reductions (empty dims = all dims) ----
  Tensor sum(const std::vector<int64_t>& dims = {}, bool keepdim = false) const;
  Tensor mean(const std::vector<int64_t>& dims = {}, bool keepdim = false) const;
  Tensor max(const std::vector<int64_t>& dims = {}, bool keepdim = false) const;
  Tensor min(const std::vector<int64_t>& dims = {}, bool keepdim = false) const;
  Tensor argmax(int64_t dim, bool keepdim = false) const;
  Tensor var(const std::vector<int64_t>& dims = {}, int64_t correction = 1, bool keepdim = false) const;

  // ---- elementwise and friends (same as the free functions in ops.h) ----
  Tensor neg() const;
  Tensor exp() const;
  Tensor log() const;
  Tensor sqrt() const;
  Tensor abs() const;
  Tensor relu() const;
  Tensor sigmoid() const;
  Tensor tanh() const;
  Tensor pow(const Tensor& exponent) const;
  Tensor pow(Scalar exponent) const;
  Tensor matmul(const Tensor& other) const;
  Tensor softmax(int64_t dim) const;
  Tensor log_softmax(int64_t dim) const;

  // ---- in-place (bump the version counter; see Note [In-place ops]) ----
  Tensor& add_(const Tensor& other, Scalar alpha = 1);
  Tensor& add_(Scalar other);
  Tensor& sub_(const Tensor& other);
  Tensor& sub_(Scalar other);
  Tensor& mul_(const Tensor& other);
  Tensor& mul_(Scalar other);
  Tensor& div_(const Tensor& other);
  Tensor& div_(Scalar other);
  Tensor& zero_();
  Tensor& fill_(Scalar value);
  Tensor& copy_(const Tensor& src);

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// Allocates a dense, contiguous tensor with uninitialized memory. The memory
// comes from the allocator registered for `device` (see backend.h).
Tensor make_empty(const Shape& shape, DType dtype, Device device);
// The same on the CPU, with memory from `allocator` (pinned host memory).
Tensor make_empty_host(const Shape& shape, DType dtype, Allocator& allocator);
// A new TensorImpl over `base`'s storage with other shape/strides/offset,
// sharing its version counter. No autograd: the ops layer adds the graph.
Tensor make_view(const Tensor& base, const Shape& shape, const Strides& strides, int64_t offset);

template <typename T>
T* Tensor::data_ptr() const {
  EMBER_CHECK(defined(), ValueError, "data_ptr: tensor is undefined");
  EMBER_CHECK(dtype_of<T>::value == dtype(), DTypeError, "data_ptr: tensor has dtype ", dtype_name(dtype()),
              " but ", dtype_name(dtype_of<T>::value), " was asked for");
  return static_cast<T*>(raw_data());
}

}  // namespace ember
