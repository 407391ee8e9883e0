// ember::prim: the one road from an op to a Backend. No function here
// records the autograd graph.
//
// Note [One dispatch path]
// Every Backend entry (core/include/ember/core/backend.h) is reached through
// exactly one wrapper below, named after the entry. The wrapper owns what the
// kernel may take for granted: it allocates the outputs, makes inputs
// contiguous where the entry asks for it, checks devices, dtypes and shapes
// (ember::Error naming the op), picks the backend that runs the primitive
// (Note [Backend registry]) and times the call when the profiler is on
// (core/include/ember/core/profiler.h). No op file calls a Backend itself.
//
// Naming: a wrapper is named after its Backend entry. Where an ember:: op of
// the same name exists (which records the graph), the prim one ends in
// _nograd, so that `contiguous(x)` and `prim::contiguous_nograd(x)` cannot be
// mistaken for each other. The ops in autograd/ops/ compute with these and
// add the graph on top; optim/ calls the optimizer entries directly.
#pragma once

#include <optional>
#include <utility>
#include <vector>

#include "ember/core/backend.h"
#include "ember/core/generator.h"
#include "ember/core/tensor.h"
#include "ember/kernels/register.h"

namespace ember::prim {

// ---- helpers ----

// Makes sure the built-in backends are registered: on every dispatch, so
// inline (one guard check after the first call).
inline void ensure_backends() {
  static const bool registered = (kernels::register_backends(), true);
  (void)registered;
}
// Whether the active backends of `device`'s type can run `p` (never throws).
bool has_kernel(Primitive p, Device device);
TensorView view_of(const Tensor& t);
OptionalView optional_view(const Tensor& t);  // empty for an undefined tensor
Tensor empty(const Shape& shape, DType dtype, Device device);
void check_same_device(const char* op, const Tensor& a, const Tensor& b);
// Result dtype of a binary op per Note [Type promotion].
DType result_type(const Tensor& a, const Tensor& b);
// The shape after reducing `dims` (keepdim: size 1; else removed).
Shape reduced_shape(const Shape& shape, const std::vector<int64_t>& dims, bool keepdim);
// A stride-0 view of t broadcast to `shape`, without history.
Tensor broadcast_to_nograd(const Tensor& t, const Shape& shape, const char* op);
// t in `dtype` (t itself if it already is).
Tensor cast_nograd(const Tensor& t, DType dtype);
// t itself if contiguous, else a dense copy.
Tensor contiguous_nograd(const Tensor& t);
// Always a new dense copy.
Tensor clone_nograd(const Tensor& t);

// ---- memory ----

// dst = src (src broadcast to dst's shape, cast to dst's dtype, moved
// across devices if needed).
void copy_nograd(const Tensor& dst, const Tensor& src);
void fill_nograd(const Tensor& dst, Scalar value);
// A new 1-D tensor start, start + step, ... (n elements).
Tensor arange(int64_t n, double start, double step, DType dtype, Device device);

// ---- elementwise, reductions, GEMM ----

// op(a, b) with type promotion and broadcasting; `name` is the op for errors.
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b, const char* name);
// Writes op(a, b) into `out`, which must have the broadcast shape and a dtype
// the result casts to (out = a for a.add_(b)). Where the backend cannot write
// in place (another dtype, or b partly overlapping out) it goes through a
// temporary; otherwise nothing is allocated. out may not overlap itself.
void binary_out(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b, const char* name);
Tensor unary(UnaryOp op, const Tensor& a);
Tensor where_nograd(const Tensor& cond, const Tensor& a, const Tensor& b);
// Reduces over normalized `dims`; the result keeps them as size 1 unless
// keepdim is false. ArgMax/ArgMin take exactly one dim.
Tensor reduce(ReduceOp op, const Tensor& a, const std::vector<int64_t>& dims, bool keepdim, const char* name);
// (B, M, K) @ (B, K, N), same dtype and device.
Tensor matmul_nograd(const Tensor& a, const Tensor& b);
Tensor softmax_nograd(const Tensor& a, int64_t dim, bool log);

// ---- indexing ----

Tensor index_select_nograd(const Tensor& a, int64_t dim, const Tensor& index);
// out[..index[j]..] += src[..j..] along dim, in place.
void index_add_nograd(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src);
Tensor gather_nograd(const Tensor& a, int64_t dim, const Tensor& index);
// out[index[i]] += src[i] along dim, in place.
void scatter_add_nograd(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src);

// ---- sliding windows ----

Tensor im2col(const Tensor& x, const WindowGeometry& g);
Tensor col2im(const Tensor& cols, const Shape& x_shape, const WindowGeometry& g);
Tensor conv2d_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, const WindowGeometry& g,
                      int64_t groups);
Tensor conv2d_backward_input(const Tensor& grad_y, const Tensor& weight, const Shape& x_shape,
                             const WindowGeometry& g, int64_t groups);
// (grad_weight, grad_bias); grad_bias is undefined unless with_bias.
std::pair<Tensor, Tensor> conv2d_backward_weight(const Tensor& grad_y, const Tensor& x, const Shape& weight_shape,
                                                 bool with_bias, const WindowGeometry& g, int64_t groups);
// (values, int64 indices).
std::pair<Tensor, Tensor> max_pool2d_forward(const Tensor& x, const WindowGeometry& g);
Tensor max_pool2d_backward(const Tensor& grad_y, const Tensor& indices, const Shape& x_shape,
                           const WindowGeometry& g);
Tensor avg_pool2d_forward(const Tensor& x, const WindowGeometry& g);
Tensor avg_pool2d_backward(const Tensor& grad_y, const Shape& x_shape, const WindowGeometry& g);

// ---- fused normalization and loss ----

struct BatchNormForward {
  Tensor y, save_mean, save_invstd;
};
// Updates running_mean/running_var in place when training and defined.
BatchNormForward batch_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                    const Tensor& running_mean, const Tensor& running_var, const BatchNormParams& p);
struct BatchNormGrads {
  Tensor x, weight, bias;  // undefined where not asked for
};
BatchNormGrads batch_norm_backward(const Tensor& grad_y, const Tensor& x, const Tensor& weight,
                                   const Tensor& save_mean, const Tensor& save_invstd, bool training,
                                   std::array<bool, 3> needed);
// (per-sample loss (N), log-sum-exp (N)).
std::pair<Tensor, Tensor> cross_entropy_forward(const Tensor& logits, const Tensor& target, double label_smoothing);
Tensor cross_entropy_backward(const Tensor& grad_loss, const Tensor& logits, const Tensor& lse, const Tensor& target,
                              double label_smoothing);

// ---- random numbers (Note [Philox streams] in core/generator.h) ----

// Each reserves its blocks from `gen` and fills a new tensor. On a device
// whose backends have no such kernel yet the numbers are made by the CPU's
// and copied over: the same bits either way.
Tensor random_uniform(const Shape& shape, DType dtype, Device device, Generator& gen);
Tensor random_normal(const Shape& shape, DType dtype, Device device, Generator& gen);
Tensor dropout_mask(const Shape& shape, DType dtype, Device device, double p, Generator& gen);

// ---- optimizer updates (in place; bump the version counters) ----

void sgd_update(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, const SgdParams& p);
void adam_update(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                 const Tensor& max_exp_avg_sq, const AdamParams& p);

// Waits for the device's queued work (a no-op on the CPU).
void synchronize(Device device);

}  // namespace ember::prim
