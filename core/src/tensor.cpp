// Tensor's metadata accessors and the two constructors every op builds on.
// The computing methods are in autograd/src/tensor_methods.cpp; see
// Note [Where Tensor methods live].
#include "ember/core/tensor.h"

#include "ember/core/backend.h"

namespace ember {

namespace {
const TensorImpl& checked(const std::shared_ptr<TensorImpl>& impl, const char* what) {
  EMBER_CHECK(impl != nullptr, ValueError, what, ": tensor is undefined");
  return *impl;
}
}  // namespace

const Shape& Tensor::shape() const { return checked(impl_, "shape").shape(); }
const Strides& Tensor::strides() const { return checked(impl_, "strides").strides(); }
int64_t Tensor::dim() const { return static_cast<int64_t>(shape().size()); }
int64_t Tensor::size(int64_t d) const {
  EMBER_CHECK(dim() > 0, IndexError, "size: a 0-dim tensor has no dim ", d);
  return shape()[normalize_dim(d, dim(), "size")];
}
int64_t Tensor::stride(int64_t d) const {
  EMBER_CHECK(dim() > 0, IndexError, "stride: a 0-dim tensor has no dim ", d);
  return strides()[normalize_dim(d, dim(), "stride")];
}
int64_t Tensor::numel() const { return ember::numel(shape()); }
DType Tensor::dtype() const { return checked(impl_, "dtype").dtype; }
Device Tensor::device() const { return checked(impl_, "device").storage->device(); }
int64_t Tensor::offset() const { return checked(impl_, "offset").offset(); }
bool Tensor::is_view() const { return checked(impl_, "is_view").is_view; }

bool Tensor::is_contiguous() const {
  const auto& s = shape();
  if (ember::numel(s) == 0) return true;  // no elements: any strides will do (as PyTorch)
  const auto& st = strides();
  int64_t expected = 1;
  for (size_t i = s.size(); i-- > 0;) {
    if (s[i] == 1) continue;  // a size-1 dim's stride never matters
    if (st[i] != expected) return false;
    expected *= s[i];
  }
  return true;
}

void* Tensor::raw_data() const {
  const auto& impl = checked(impl_, "data");
  auto* base = static_cast<char*>(impl.storage->data());
  if (base == nullptr) return nullptr;  // an empty tensor
  return base + impl.offset() * static_cast<int64_t>(dtype_size(impl.dtype));
}

// See Note [Checked layout].
void TensorImpl::set_layout(Shape shape, Strides strides, int64_t offset) {
  EMBER_CHECK(shape.size() == strides.size(), InternalError, "set_layout: shape ", shape_str(shape), " and strides ",
              shape_str(strides), " differ in length");
  EMBER_CHECK(offset >= 0, InternalError, "set_layout: negative offset ", offset);
  int64_t last = offset;  // the highest element index the layout reaches
  bool empty = false;
  for (size_t d = 0; d < shape.size(); ++d) {
    EMBER_CHECK(shape[d] >= 0 && strides[d] >= 0, InternalError, "set_layout: negative size or stride in shape ",
                shape_str(shape), ", strides ", shape_str(strides));
    empty |= shape[d] == 0;
    if (shape[d] > 0) last += (shape[d] - 1) * strides[d];
  }
  const int64_t capacity = storage ? static_cast<int64_t>(storage->nbytes() / dtype_size(dtype)) : 0;
  EMBER_CHECK(empty || last < capacity, InternalError, "set_layout: shape ", shape_str(shape), ", strides ",
              shape_str(strides), " and offset ", offset, " reach element ", last, " of a storage holding ", capacity,
              " ", dtype_name(dtype), " elements");
  shape_ = std::move(shape);
  strides_ = std::move(strides);
  offset_ = offset;
}

void TensorImpl::set_dense_layout(Shape shape) {
  strides_ = contiguous_strides(shape);
  shape_ = std::move(shape);
  offset_ = 0;
}

uint32_t Tensor::version() const { return checked(impl_, "version").version->value.load(); }
void Tensor::bump_version() const { checked(impl_, "bump_version").version->value.fetch_add(1); }

namespace {
Tensor empty_on(const Shape& shape, DType dtype, Device device, Allocator& allocator) {
  int64_t n = 1;
  for (int64_t s : shape)
    EMBER_CHECK(!__builtin_mul_overflow(n, s, &n), ShapeError, "empty: shape ", shape_str(shape), " has too many elements");
  size_t nbytes = 0;
  EMBER_CHECK(!__builtin_mul_overflow(static_cast<size_t>(n), dtype_size(dtype), &nbytes), ShapeError, "empty: shape ",
              shape_str(shape), " is too large");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(nbytes, device, allocator);
  impl->dtype = dtype;
  impl->set_dense_layout(shape);  // the storage was sized for exactly this
  return Tensor(std::move(impl));
}
void check_sizes(const Shape& shape) {
  for (int64_t s : shape)
    EMBER_CHECK(s >= 0, ShapeError, "empty: negative size in shape ", shape_str(shape));
}
}  // namespace

Tensor make_empty(const Shape& shape, DType dtype, Device device) {
  check_sizes(shape);
  // CPU memory is core's own (cpu_allocator), so data loaders can make CPU
  // tensors without the kernels; other devices' memory comes from their
  // Backend.
  Allocator* allocator = &cpu_allocator();
  if (!device.is_cpu()) {
    Backend& backend = device_backend(device.type);
    EMBER_CHECK(device.index >= 0 && device.index < backend.device_count(), DeviceError, "device ", device.str(),
                " is not available (", backend.device_count(), " such device(s) visible)");
    allocator = &backend.allocator(device.index);
  }
  return empty_on(shape, dtype, device, *allocator);
}

Tensor make_empty_host(const Shape& shape, DType dtype, Allocator& allocator) {
  check_sizes(shape);
  return empty_on(shape, dtype, kCPU, allocator);
}

Tensor make_view(const Tensor& base, const Shape& shape, const Strides& strides, int64_t offset) {
  EMBER_ASSERT(shape.size() == strides.size());
  const TensorImpl& b = checked(base.impl_ptr(), "view");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = b.storage;
  impl->dtype = b.dtype;
  impl->set_layout(shape, strides, offset);
  impl->version = b.version;
  impl->is_view = true;
  return Tensor(std::move(impl));
}

}  // namespace ember
