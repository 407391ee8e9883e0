#include "prim.h"

#include <algorithm>

#include "ember/kernels/register.h"

namespace ember::prim {

Backend& backend(Device device) {
  static const bool registered = (kernels::register_backends(), true);
  (void)registered;
  return backend_for(device.type);
}

TensorView view_of(const Tensor& t) { return TensorView{t.raw_data(), t.dtype(), t.shape(), t.strides()}; }

Tensor empty(const Shape& shape, DType dtype, Device device) {
  backend(device);  // make sure the backends are registered
  return make_empty(shape, dtype, device);
}

void check_same_device(const char* op, const Tensor& a, const Tensor& b) {
  EMBER_CHECK(a.device() == b.device(), DeviceError, op, ": expected all tensors on the same device, got ",
              a.device().str(), " and ", b.device().str());
}

DType result_type(const Tensor& a, const Tensor& b) {
  auto operand = [](const Tensor& t) {
    return PromotionOperand{t.dtype(), t.dim() == 0 ? Tier::ZeroDim : Tier::Dimensioned};
  };
  return ember::result_type(operand(a), operand(b));
}

void copy_(const Tensor& dst, const Tensor& src) {
  if (dst.device() == src.device()) {
    // Source and destination in one storage may overlap (a.slice(0, 1, 5)
    // .copy_(a.slice(0, 0, 4))): read from a copy, never from memory that
    // is being written.
    Tensor from = dst.impl()->storage == src.impl()->storage ? contiguous_copy(src) : src;
    Tensor s = broadcast_to(from, dst.shape(), "copy_");
    backend(dst.device()).copy(view_of(dst), view_of(s));
    return;
  }
  // Across devices: make src dense in dst's dtype and shape on its own
  // device, move the bytes, then scatter into dst's layout if needed.
  Tensor dense = contiguous(cast(broadcast_to(src, dst.shape(), "copy_"), dst.dtype()));
  Tensor landing = dst.is_contiguous() ? dst : empty(dst.shape(), dst.dtype(), dst.device());
  size_t nbytes = static_cast<size_t>(dense.numel()) * dtype_size(dense.dtype());
  if (src.device().is_cpu()) backend(dst.device()).copy_from_host(landing.raw_data(), dense.raw_data(), nbytes);
  else if (dst.device().is_cpu()) backend(src.device()).copy_to_host(landing.raw_data(), dense.raw_data(), nbytes);
  else throw DeviceError("copy_: copies between two GPUs are not supported yet (" + src.device().str() + " -> " +
                         dst.device().str() + ")");
  if (!landing.is_same(dst)) backend(dst.device()).copy(view_of(dst), view_of(landing));
}

void fill_(const Tensor& dst, Scalar value) { backend(dst.device()).fill(view_of(dst), value); }

Tensor cast(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return t;
  Tensor out = empty(t.shape(), dtype, t.device());
  backend(t.device()).copy(view_of(out), view_of(t));
  return out;
}

Tensor contiguous_copy(const Tensor& t) {
  Tensor out = empty(t.shape(), t.dtype(), t.device());
  backend(t.device()).copy(view_of(out), view_of(t));
  return out;
}

Tensor contiguous(const Tensor& t) { return t.is_contiguous() ? t : contiguous_copy(t); }

Tensor broadcast_to(const Tensor& t, const Shape& shape, const char* op) {
  if (t.shape() == shape) return t;
  const Shape& in = t.shape();
  EMBER_CHECK(in.size() <= shape.size(), ShapeError, op, ": cannot broadcast shape ", shape_str(in), " to ",
              shape_str(shape));
  size_t lead = shape.size() - in.size();
  Strides strides(shape.size(), 0);
  for (size_t i = 0; i < in.size(); ++i) {
    EMBER_CHECK(in[i] == shape[lead + i] || in[i] == 1, ShapeError, op, ": cannot broadcast shape ",
                shape_str(in), " to ", shape_str(shape));
    strides[lead + i] = in[i] == 1 ? 0 : t.strides()[i];
  }
  return make_view(t, shape, strides, t.offset());
}

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b, const char* name) {
  check_same_device(name, a, b);
  DType common = result_type(a, b);
  if (op == BinaryOp::Div && !is_floating(common)) common = kDefaultFloat;  // true division
  Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  bool comparison = op >= BinaryOp::Eq;
  Tensor out = empty(shape, comparison ? DType::Bool : common, a.device());
  Tensor ea = broadcast_to(cast(a, common), shape, name);
  Tensor eb = broadcast_to(cast(b, common), shape, name);
  backend(a.device()).binary(op, view_of(out), view_of(ea), view_of(eb));
  return out;
}

Tensor unary(UnaryOp op, const Tensor& a) {
  Tensor out = empty(a.shape(), a.dtype(), a.device());
  backend(a.device()).unary(op, view_of(out), view_of(a));
  return out;
}

Shape reduced_shape(const Shape& shape, const std::vector<int64_t>& dims, bool keepdim) {
  Shape out;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    bool reduced = std::find(dims.begin(), dims.end(), d) != dims.end();
    if (!reduced) out.push_back(shape[d]);
    else if (keepdim) out.push_back(1);
  }
  return out;
}

Tensor reduce(ReduceOp op, const Tensor& a, const std::vector<int64_t>& dims, bool keepdim, const char* name) {
  bool is_arg = op == ReduceOp::ArgMax || op == ReduceOp::ArgMin;
  if (op != ReduceOp::Sum)  // max, min, argmax of nothing are undefined (a sum of nothing is 0)
    for (int64_t d : dims)
      EMBER_CHECK(a.shape()[d] > 0, IndexError, name, ": cannot reduce over dim ", d, " of size 0 (shape ",
                  shape_str(a.shape()), ")");
  Shape kept = reduced_shape(a.shape(), dims, true);
  Tensor out = empty(kept, is_arg ? DType::Int64 : a.dtype(), a.device());
  backend(a.device()).reduce(op, view_of(out), view_of(a));
  if (keepdim) return out;
  // Drop the reduced dims from the fresh output (it is not a view of anything).
  out.impl()->shape = reduced_shape(a.shape(), dims, false);
  out.impl()->strides = contiguous_strides(out.impl()->shape);
  return out;
}

}  // namespace ember::prim
