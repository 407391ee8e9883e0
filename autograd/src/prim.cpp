// The prim:: wrappers for memory, elementwise, reduction, GEMM and indexing
// entries (the window, fused, random and optimizer entries are in
// prim_nn.cpp); see Note [One dispatch path] in ember/autograd/prim.h.
#include "ember/autograd/prim.h"

#include <algorithm>

#include "dispatch.h"
#include "ember/kernels/register.h"

namespace ember::prim {

bool has_kernel(Primitive p, Device device) {
  ensure_backends();
  return ember::has_kernel(p, device.type);
}

TensorView view_of(const Tensor& t) { return TensorView{t.raw_data(), t.dtype(), t.shape(), t.strides()}; }

OptionalView optional_view(const Tensor& t) { return t.defined() ? OptionalView(view_of(t)) : std::nullopt; }

Tensor empty(const Shape& shape, DType dtype, Device device) {
  ensure_backends();  // a CUDA tensor's memory comes from its backend
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

Shape reduced_shape(const Shape& shape, const std::vector<int64_t>& dims, bool keepdim) {
  Shape out;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    bool reduced = std::find(dims.begin(), dims.end(), d) != dims.end();
    if (!reduced) out.push_back(shape[d]);
    else if (keepdim) out.push_back(1);
  }
  return out;
}

Tensor broadcast_to_nograd(const Tensor& t, const Shape& shape, const char* op) {
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

Tensor cast_nograd(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return t;
  Tensor out = empty(t.shape(), dtype, t.device());
  detail::dispatch(Primitive::Copy, t.device(), [&](Backend& b, const ExecContext& ctx) {
    b.copy(ctx, view_of(out), view_of(t));
  });
  return out;
}

Tensor clone_nograd(const Tensor& t) {
  Tensor out = empty(t.shape(), t.dtype(), t.device());
  detail::dispatch(Primitive::Copy, t.device(), [&](Backend& b, const ExecContext& ctx) {
    b.copy(ctx, view_of(out), view_of(t));
  });
  return out;
}

Tensor contiguous_nograd(const Tensor& t) { return t.is_contiguous() ? t : clone_nograd(t); }

// ---- memory ----

void copy_nograd(const Tensor& dst, const Tensor& src) {
  if (dst.device() == src.device()) {
    // Source and destination in one storage may overlap (a.slice(0, 1, 5)
    // .copy_(a.slice(0, 0, 4))): read from a copy, never from memory that
    // is being written.
    Tensor from = dst.impl()->storage == src.impl()->storage ? clone_nograd(src) : src;
    Tensor s = broadcast_to_nograd(from, dst.shape(), "copy_");
    detail::dispatch(Primitive::Copy, dst.device(), [&](Backend& b, const ExecContext& ctx) {
      b.copy(ctx, view_of(dst), view_of(s));
    });
    return;
  }
  // Across devices: make src dense in dst's dtype and shape on its own
  // device, move the bytes, then scatter into dst's layout if needed.
  Tensor dense = contiguous_nograd(cast_nograd(broadcast_to_nograd(src, dst.shape(), "copy_"), dst.dtype()));
  Tensor landing = dst.is_contiguous() ? dst : empty(dst.shape(), dst.dtype(), dst.device());
  const size_t nbytes = static_cast<size_t>(dense.numel()) * dtype_size(dense.dtype());
  if (src.device().is_cpu()) {
    detail::dispatch(Primitive::CopyFromHost, dst.device(), [&](Backend& b, const ExecContext& ctx) {
      b.copy_from_host(ctx, landing.raw_data(), dense.raw_data(), nbytes);
    });
  } else if (dst.device().is_cpu()) {
    detail::dispatch(Primitive::CopyToHost, src.device(), [&](Backend& b, const ExecContext& ctx) {
      b.copy_to_host(ctx, landing.raw_data(), dense.raw_data(), nbytes);
    });
  } else {
    throw DeviceError("copy_: copies between two GPUs are not supported yet (" + src.device().str() + " -> " +
                      dst.device().str() + ")");
  }
  if (!landing.is_same(dst)) copy_nograd(dst, landing);
}

void fill_nograd(const Tensor& dst, Scalar value) {
  detail::dispatch(Primitive::Fill, dst.device(), [&](Backend& b, const ExecContext& ctx) {
    b.fill(ctx, view_of(dst), value);
  });
}

Tensor arange(int64_t n, double start, double step, DType dtype, Device device) {
  Tensor t = empty({n}, dtype, device);
  if (n > 0)
    detail::dispatch(Primitive::Arange, device, [&](Backend& b, const ExecContext& ctx) {
      b.arange(ctx, view_of(t), start, step);
    });
  return t;
}

// ---- elementwise ----

namespace {

// The dtype op(a, b) computes in: true division makes integers floating.
DType compute_type(BinaryOp op, const Tensor& a, const Tensor& b) {
  DType common = result_type(a, b);
  if (op == BinaryOp::Div && !is_floating(common)) common = kDefaultFloat;
  return common;
}

bool is_comparison(BinaryOp op) { return op >= BinaryOp::Eq; }

// Whether `in` may be read while `out` is written element for element:
// other memory, or exactly out's own elements in out's order.
bool safe_to_read_while_writing(const Tensor& in, const Tensor& out) {
  if (in.impl()->storage != out.impl()->storage || in.numel() == 0) return true;
  return in.offset() == out.offset() && in.shape() == out.shape() && in.strides() == out.strides();
}

}  // namespace

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b, const char* name) {
  check_same_device(name, a, b);
  const DType common = compute_type(op, a, b);
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = empty(shape, is_comparison(op) ? DType::Bool : common, a.device());
  Tensor ea = broadcast_to_nograd(cast_nograd(a, common), shape, name);
  Tensor eb = broadcast_to_nograd(cast_nograd(b, common), shape, name);
  detail::dispatch(Primitive::Binary, a.device(), [&](Backend& be, const ExecContext& ctx) {
    be.binary(ctx, op, view_of(out), view_of(ea), view_of(eb));
  });
  return out;
}

void binary_out(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b, const char* name) {
  check_same_device(name, a, b);
  check_same_device(name, out, a);
  const DType common = compute_type(op, a, b);
  const DType result = is_comparison(op) ? DType::Bool : common;
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  EMBER_CHECK(out.shape() == shape, ShapeError, name, ": output with shape ", shape_str(out.shape()),
              " doesn't match the broadcast shape ", shape_str(shape));
  EMBER_CHECK(!(is_floating(result) && !is_floating(out.dtype())), DTypeError, name, ": result type ",
              dtype_name(result), " can't be cast to the desired output type ", dtype_name(out.dtype()));
  for (int64_t d = 0; d < out.dim(); ++d)
    EMBER_CHECK(out.stride(d) != 0 || out.size(d) <= 1, ValueError, name, ": the output of shape ",
                shape_str(out.shape()), " has several elements in one memory location (an expand()ed view); "
                "clone() it before writing to it");
  Tensor ea = broadcast_to_nograd(cast_nograd(a, common), shape, name);
  Tensor eb = broadcast_to_nograd(cast_nograd(b, common), shape, name);
  if (result != out.dtype() || !safe_to_read_while_writing(ea, out) || !safe_to_read_while_writing(eb, out)) {
    copy_nograd(out, binary(op, a, b, name));  // through a temporary
    return;
  }
  detail::dispatch(Primitive::Binary, out.device(), [&](Backend& be, const ExecContext& ctx) {
    be.binary(ctx, op, view_of(out), view_of(ea), view_of(eb));
  });
}

Tensor unary(UnaryOp op, const Tensor& a) {
  Tensor out = empty(a.shape(), a.dtype(), a.device());
  detail::dispatch(Primitive::Unary, a.device(), [&](Backend& b, const ExecContext& ctx) {
    b.unary(ctx, op, view_of(out), view_of(a));
  });
  return out;
}

Tensor where_nograd(const Tensor& cond, const Tensor& a, const Tensor& b) {
  EMBER_CHECK(cond.dtype() == DType::Bool, DTypeError, "where: condition must be a bool tensor, got ",
              dtype_name(cond.dtype()));
  check_same_device("where", cond, a);
  check_same_device("where", a, b);
  const Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  const DType dt = result_type(a, b);
  Tensor out = empty(shape, dt, a.device());
  Tensor ec = broadcast_to_nograd(cond, shape, "where");
  Tensor ea = broadcast_to_nograd(cast_nograd(a, dt), shape, "where");
  Tensor eb = broadcast_to_nograd(cast_nograd(b, dt), shape, "where");
  detail::dispatch(Primitive::Where, a.device(), [&](Backend& be, const ExecContext& ctx) {
    be.where(ctx, view_of(out), view_of(ec), view_of(ea), view_of(eb));
  });
  return out;
}

// ---- reductions and GEMM ----

Tensor reduce(ReduceOp op, const Tensor& a, const std::vector<int64_t>& dims, bool keepdim, const char* name) {
  const bool is_arg = op == ReduceOp::ArgMax || op == ReduceOp::ArgMin;
  if (op != ReduceOp::Sum)  // max, min, argmax of nothing are undefined (a sum of nothing is 0)
    for (int64_t d : dims)
      EMBER_CHECK(a.shape()[d] > 0, IndexError, name, ": cannot reduce over dim ", d, " of size 0 (shape ",
                  shape_str(a.shape()), ")");
  Tensor out = empty(reduced_shape(a.shape(), dims, true), is_arg ? DType::Int64 : a.dtype(), a.device());
  detail::dispatch(Primitive::Reduce, a.device(), [&](Backend& b, const ExecContext& ctx) {
    b.reduce(ctx, op, view_of(out), view_of(a));
  });
  if (keepdim) return out;
  // Drop the reduced dims from the fresh output (it is not a view of anything).
  out.impl()->set_dense_layout(reduced_shape(a.shape(), dims, false));
  return out;
}

Tensor matmul_nograd(const Tensor& a, const Tensor& b) {
  EMBER_CHECK(a.dim() == 3 && b.dim() == 3 && a.size(0) == b.size(0) && a.size(2) == b.size(1), ShapeError,
              "bmm: expected (B, M, K) and (B, K, N), got ", shape_str(a.shape()), " and ", shape_str(b.shape()));
  EMBER_CHECK(a.dtype() == b.dtype(), DTypeError, "bmm: dtypes differ (", dtype_name(a.dtype()), " and ",
              dtype_name(b.dtype()), ")");
  EMBER_CHECK(a.dtype() != DType::Bool, DTypeError, "bmm: bool tensors are not supported");
  check_same_device("bmm", a, b);
  Tensor out = empty({a.size(0), a.size(1), b.size(2)}, a.dtype(), a.device());
  if (a.size(2) == 0) {
    fill_nograd(out, 0);
  } else if (out.numel() > 0) {
    // Floating operands go as they are: transposed, expanded (batch stride
    // 0) or strided views cost no copy, since the GEMM takes any strides.
    Tensor ca = is_floating(a.dtype()) ? a : contiguous_nograd(a);
    Tensor cb = is_floating(b.dtype()) ? b : contiguous_nograd(b);
    detail::dispatch(Primitive::Matmul, a.device(), [&](Backend& be, const ExecContext& ctx) {
      be.matmul(ctx, view_of(out), view_of(ca), view_of(cb));
    });
  }
  return out;
}

Tensor softmax_nograd(const Tensor& a, int64_t dim, bool log) {
  const char* name = log ? "log_softmax" : "softmax";
  EMBER_CHECK(is_floating(a.dtype()), DTypeError, name, ": expected a floating tensor, got ", dtype_name(a.dtype()));
  Tensor x = contiguous_nograd(a);
  Tensor out = empty(a.shape(), a.dtype(), a.device());
  if (a.numel() > 0)
    detail::dispatch(Primitive::Softmax, a.device(), [&](Backend& b, const ExecContext& ctx) {
      b.softmax(ctx, view_of(out), view_of(x), a.dim() ? dim : 0, log);
    });
  return out;
}

// ---- indexing ----

namespace {
Tensor checked_index(const Tensor& index, const Tensor& a, const char* op) {
  EMBER_CHECK(index.dtype() == DType::Int64, DTypeError, op, ": index must be int64, got ", dtype_name(index.dtype()));
  check_same_device(op, a, index);
  return index;
}
}  // namespace

Tensor index_select_nograd(const Tensor& a, int64_t dim, const Tensor& index_in) {
  Tensor index = contiguous_nograd(checked_index(index_in, a, "index_select"));
  Tensor x = contiguous_nograd(a);
  Shape shape = x.shape();
  shape[dim] = index.numel();
  Tensor out = empty(shape, a.dtype(), a.device());
  if (out.numel() > 0)
    detail::dispatch(Primitive::IndexSelect, a.device(), [&](Backend& b, const ExecContext& ctx) {
      b.index_select(ctx, view_of(out), view_of(x), dim, view_of(index));
    });
  return out;
}

void index_add_nograd(const Tensor& out, int64_t dim, const Tensor& index_in, const Tensor& src) {
  Tensor index = contiguous_nograd(checked_index(index_in, out, "index_add"));
  check_same_device("index_add", out, src);
  EMBER_ASSERT(out.is_contiguous());
  Tensor s = contiguous_nograd(cast_nograd(src, out.dtype()));
  if (s.numel() > 0)
    detail::dispatch(Primitive::IndexAdd, out.device(), [&](Backend& b, const ExecContext& ctx) {
      b.index_add(ctx, view_of(out), dim, view_of(index), view_of(s));
    });
}

Tensor gather_nograd(const Tensor& a, int64_t dim, const Tensor& index_in) {
  Tensor index = checked_index(index_in, a, "gather");
  Tensor out = empty(index.shape(), a.dtype(), a.device());
  if (out.numel() > 0)
    detail::dispatch(Primitive::Gather, a.device(), [&](Backend& b, const ExecContext& ctx) {
      b.gather(ctx, view_of(out), view_of(a), dim, view_of(index));
    });
  return out;
}

void scatter_add_nograd(const Tensor& out, int64_t dim, const Tensor& index_in, const Tensor& src) {
  Tensor index = checked_index(index_in, out, "scatter_add");
  check_same_device("scatter_add", out, src);
  Tensor s = cast_nograd(src, out.dtype());
  if (index.numel() > 0)
    detail::dispatch(Primitive::ScatterAdd, out.device(), [&](Backend& b, const ExecContext& ctx) {
      b.scatter_add(ctx, view_of(out), dim, view_of(index), view_of(s));
    });
}

}  // namespace ember::prim
