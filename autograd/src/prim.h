// Primitives without autograd: allocate outputs, promote dtypes, broadcast,
// check shapes and devices, then call the device's Backend. The ops in
// autograd/ops/ compute with these and add the graph on top. (Internal
// header: not installed.)
#pragma once

#include <vector>

#include "ember/core/backend.h"
#include "ember/core/tensor.h"

namespace ember::prim {

// The backend for t's device (registering the built-in backends once).
Backend& backend(Device device);
TensorView view_of(const Tensor& t);

Tensor empty(const Shape& shape, DType dtype, Device device);
// t in `dtype` (t itself if it already is).
Tensor cast(const Tensor& t, DType dtype);
// t if contiguous, else a dense copy.
Tensor contiguous(const Tensor& t);
// Always a new dense copy.
Tensor contiguous_copy(const Tensor& t);
// A stride-0 view of t broadcast to `shape` (no checks beyond compatibility).
Tensor broadcast_to(const Tensor& t, const Shape& shape, const char* op);
void check_same_device(const char* op, const Tensor& a, const Tensor& b);
// Result dtype of a binary op per Note [Type promotion].
DType result_type(const Tensor& a, const Tensor& b);

// dst = src (src broadcast to dst's shape, cast to dst's dtype).
void copy_(const Tensor& dst, const Tensor& src);
void fill_(const Tensor& dst, Scalar value);

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b, const char* name);
Tensor unary(UnaryOp op, const Tensor& a);
// Reduces over normalized `dims`; the result keeps them as size 1 unless
// keepdim is false. ArgMax/ArgMin take exactly one dim.
Tensor reduce(ReduceOp op, const Tensor& a, const std::vector<int64_t>& dims, bool keepdim, const char* name);
// The shape after reducing `dims` (keepdim: size 1; else removed).
Shape reduced_shape(const Shape& shape, const std::vector<int64_t>& dims, bool keepdim);

}  // namespace ember::prim
