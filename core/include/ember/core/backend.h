// Dispatch: the Backend interface, one entry per primitive, and the registry
// of implementations keyed by (device type, name).
//
// A primitive works on raw strided views (pointer, dtype, shape, strides) and
// knows nothing about autograd. Every call reaches a Backend through exactly
// one wrapper in ember::prim (autograd/include/ember/autograd/prim.h), which
// allocates outputs, promotes dtypes, broadcasts (stride 0), makes inputs
// contiguous where an entry asks for it, checks shapes, dtypes and devices,
// and times the call when the profiler is on. A Backend therefore trusts
// its arguments: what each entry may assume is written next to it.
//
// Note [Backend registry]
// Several implementations may serve one device type: "cpu:ember" (Ember's
// own kernels), "cpu:eigen" (Eigen's GEMM), later "cuda:ember" and
// "cuda:cudnn". One of them is active per device type (set_backend,
// EMBER_BACKEND=DEVICE:IMPL, `ember-mnist --kernels IMPL`). A backend may be
// partial: it lists the primitives that are its own (supports()), and every
// other entry falls through to its base backend, by name, until one that
// supports it is found (ggml's BLAS backend works this way). The root of a
// chain has no base; it owns the device's memory (allocator, device count,
// host transfers) and must support every primitive it can, or the call fails
// loudly: a primitive nobody in the chain supports is a DeviceError, never a
// silent trip to another device.
//
// Backends are registered by an explicit call (ember::kernels::register_backends,
// made by the ops layer before first use), not by static initializers: a
// static library's object file that nothing references is dropped by the
// linker, and a self-registering backend with it.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ember/core/device.h"
#include "ember/core/dtype.h"
#include "ember/core/scalar.h"
#include "ember/core/shape.h"
#include "ember/core/storage.h"

namespace ember {

// What a kernel sees of a tensor. `data` already includes the offset.
struct TensorView {
  void* data = nullptr;
  DType dtype = kDefaultFloat;
  Shape shape;
  Strides strides;
  template <typename T>
  T* ptr() const { return static_cast<T*>(data); }
  int64_t numel() const { return ember::numel(shape); }
};
// An optional operand (a conv bias, a batch-norm weight): absent when empty.
using OptionalView = std::optional<TensorView>;

// Where a primitive runs: the device (its index picks the GPU) and, for
// CUDA, the stream to enqueue on (a cudaStream_t; null means the device's
// default stream). Every entry gets one, so a backend needs no globals to
// know which device or stream it is serving.
struct ExecContext {
  Device device;
  void* stream = nullptr;
  // The random entries (random_uniform, random_normal, dropout_mask): when
  // set, the Philox offset the kernel uses is *philox_base + the offset
  // argument, read when it runs, from memory of `device` (Note [Graph-safe
  // random streams] in core/generator.h).
  const uint64_t* philox_base = nullptr;
};

// One value per Backend entry; supports() and the profiler speak in these.
enum class Primitive : uint8_t {
  Copy, CopyFromHost, CopyToHost, Fill, Arange,
  Binary, Unary, Where, Reduce, Matmul, Softmax,
  IndexSelect, IndexAdd, Gather, ScatterAdd,
  Im2col, Col2im,
  Conv2dForward, Conv2dBackwardInput, Conv2dBackwardWeight,
  MaxPool2dForward, MaxPool2dBackward, AvgPool2dForward, AvgPool2dBackward,
  BatchNormForward, BatchNormBackward,
  CrossEntropyForward, CrossEntropyBackward,
  RandomUniform, RandomNormal, DropoutMask,
  SgdUpdate, AdamUpdate,
  Synchronize,
};
constexpr int kNumPrimitives = static_cast<int>(Primitive::Synchronize) + 1;
// "conv2d_forward": the name the profiler and error messages use.
const char* primitive_name(Primitive p);

enum class BinaryOp {
  Add, Sub, Mul, Div, Pow, Maximum, Minimum,  // result has the inputs' dtype
  ReluGrad,  // a where b > 0, else 0 (b <= 0 ? 0 : a): relu's backward in one pass, b being relu's output
  Eq, Ne, Lt, Le, Gt, Ge,                     // result is bool
};
enum class UnaryOp { Neg, Exp, Log, Log1p, Sqrt, Abs, Relu, Sigmoid, Tanh, Gelu, Erf, Sign };
enum class ReduceOp { Sum, Max, Min, ArgMax, ArgMin };

// The window geometry shared by im2col/col2im, convolution and pooling:
// kernel (kh, kw), stride, zero padding and dilation, for an input plane
// (h, w) giving an output plane (out_h, out_w).
struct WindowGeometry {
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
  int64_t h = 0, w = 0, out_h = 0, out_w = 0;
};

struct BatchNormParams {
  bool training = true;  // batch statistics (and the running-stat update) or running statistics
  double momentum = 0.1;
  double eps = 1e-5;
};

// Hyper-parameters of one SGD update (torch.optim.SGD, PyTorch 1.13).
struct SgdParams {
  double lr = 0, momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false, maximize = false;
  bool first = false;  // the momentum buffer is new: it starts as the gradient
};

// One Adam or AdamW update (torch.optim.Adam/AdamW, PyTorch 1.13); step_size
// and bias_correction2_sqrt are computed by the optimizer from the step count.
struct AdamParams {
  double lr = 0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  double step_size = 0, bias_correction2_sqrt = 1;
  bool maximize = false;
  bool decoupled = false;  // AdamW: the decay multiplies the weights, not the gradient
  // Capturable (Note [Capturable optimizer steps] in optim/optimizer.h): when
  // set, the kernel reads lr, beta1, step_size and bias_correction2_sqrt, in
  // that order, from these four doubles in the parameter's device memory
  // when it runs, and ignores those fields; a CUDA graph can then replay the
  // update while the host rewrites them between steps.
  const double* device_scalars = nullptr;
};

class Backend {
 public:
  // `own`: the primitives this backend implements; the others fall through
  // to the backend named `base` of the same device type ("" for a root).
  Backend(DeviceType device, std::string name, std::string base, std::vector<Primitive> own);
  virtual ~Backend() = default;
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  DeviceType device_type() const { return device_; }
  const std::string& name() const { return name_; }  // "ember"
  std::string full_name() const;                     // "cpu:ember"
  const std::string& base_name() const { return base_; }
  // Whether `p` is this backend's own entry (not a fall-through).
  bool supports(Primitive p) const { return own_[static_cast<int>(p)]; }

  // ---- the device's memory (root backends; others ask their base) ----
  virtual Allocator& allocator(int device_index);
  // How many devices of this type are usable (1 for the CPU, 0 for CUDA
  // when no GPU is visible).
  virtual int device_count() const;
  // The stream a call on this device should use (null: the default one).
  virtual void* stream(int device_index) { return nullptr; }
  // Page-locked host memory that this device's transfers read and write
  // directly, without a staging copy (the DataLoader's pin_memory); null if
  // the device has none (the CPU). Non-root backends ask their root.
  virtual Allocator* pinned_allocator();

  // Each entry below throws InternalError unless overridden; prim:: only
  // calls entries that supports() claims.

  // ---- memory ----
  // dst = src, both on this device, same shape, any strides; casts dtype.
  virtual void copy(const ExecContext& ctx, const TensorView& dst, const TensorView& src);
  // Contiguous transfers between this device and host memory.
  virtual void copy_from_host(const ExecContext& ctx, void* dst, const void* host_src, size_t nbytes);
  virtual void copy_to_host(const ExecContext& ctx, void* host_dst, const void* src, size_t nbytes);
  // Any strides; dst may not overlap itself (no stride-0 dims).
  virtual void fill(const ExecContext& ctx, const TensorView& dst, Scalar value);
  // out[i] = start + i * step, out contiguous 1-D.
  virtual void arange(const ExecContext& ctx, const TensorView& out, double start, double step);

  // ---- elementwise, reductions, GEMM ----
  // out = op(a, b). a and b have out's shape (broadcast dims have stride 0)
  // and the same dtype; out has that dtype, or bool for comparisons. out
  // may be a itself (in-place ops), element for element, never a partial
  // overlap.
  virtual void binary(const ExecContext& ctx, BinaryOp op, const TensorView& out, const TensorView& a,
                      const TensorView& b);
  // out = op(a), same shape and dtype (out may be a).
  virtual void unary(const ExecContext& ctx, UnaryOp op, const TensorView& out, const TensorView& a);
  // out = cond ? a : b; all of out's shape, a/b of out's dtype, cond bool.
  virtual void where(const ExecContext& ctx, const TensorView& out, const TensorView& cond, const TensorView& a,
                     const TensorView& b);
  // Reduces `a` over the dims where out has size 1 and a has not (out keeps
  // all dims, contiguous). ArgMax/ArgMin reduce exactly one dim and write int64.
  virtual void reduce(const ExecContext& ctx, ReduceOp op, const TensorView& out, const TensorView& a);
  // Batched GEMM: (B, M, K) @ (B, K, N) -> (B, M, N), out contiguous, K > 0.
  // Floating a and b may have any strides (transposed, expanded batch with
  // stride 0): a backend that needs them contiguous copies them itself.
  // Integer a and b arrive contiguous.
  virtual void matmul(const ExecContext& ctx, const TensorView& out, const TensorView& a, const TensorView& b);
  // Softmax (or log-softmax) of contiguous floating `a` along `dim`.
  virtual void softmax(const ExecContext& ctx, const TensorView& out, const TensorView& a, int64_t dim, bool log);

  // ---- indexing (index values are checked by the kernel: IndexError) ----
  // out = a.index_select(dim, index); a, out contiguous; index int64 1-D.
  virtual void index_select(const ExecContext& ctx, const TensorView& out, const TensorView& a, int64_t dim,
                            const TensorView& index);
  // out[..i..] += src[..j..] for i = index[j] along dim (index_select's
  // adjoint); out and src contiguous.
  virtual void index_add(const ExecContext& ctx, const TensorView& out, int64_t dim, const TensorView& index,
                         const TensorView& src);
  // out = a.gather(dim, index); index int64 with out's shape; any strides.
  virtual void gather(const ExecContext& ctx, const TensorView& out, const TensorView& a, int64_t dim,
                      const TensorView& index);
  // out[index[i]] (along dim) += src[i] (gather's adjoint); any strides.
  virtual void scatter_add(const ExecContext& ctx, const TensorView& out, int64_t dim, const TensorView& index,
                           const TensorView& src);

  // ---- sliding windows; every tensor contiguous, floating ----
  // im2col: x (N, C, H, W) -> cols (N, C*kh*kw, out_h*out_w) as torch's
  // unfold: column l holds output position l's receptive field, rows
  // ordered (c, i, j), zeros where it reaches into the padding.
  virtual void im2col(const ExecContext& ctx, const TensorView& cols, const TensorView& x, const WindowGeometry& g);
  // col2im, im2col's adjoint: x (written whole) gets the sum of every
  // column entry that was read from each position.
  virtual void col2im(const ExecContext& ctx, const TensorView& x, const TensorView& cols, const WindowGeometry& g);
  // y (N, C_out, out_h, out_w) = x (N, C_in, H, W) cross-correlated with
  // weight (C_out, C_in/groups, kh, kw), plus bias (C_out) if present.
  virtual void conv2d_forward(const ExecContext& ctx, const TensorView& y, const TensorView& x,
                              const TensorView& weight, const OptionalView& bias, const WindowGeometry& g,
                              int64_t groups);
  // grad_x (N, C_in, H, W), written whole, from grad_y and weight.
  virtual void conv2d_backward_input(const ExecContext& ctx, const TensorView& grad_x, const TensorView& grad_y,
                                     const TensorView& weight, const WindowGeometry& g, int64_t groups);
  // grad_weight (like weight) and, if present, grad_bias (C_out), written
  // whole, from grad_y and x.
  virtual void conv2d_backward_weight(const ExecContext& ctx, const TensorView& grad_weight,
                                      const OptionalView& grad_bias, const TensorView& grad_y, const TensorView& x,
                                      const WindowGeometry& g, int64_t groups);
  // y and indices (N, C, out_h, out_w): each window's largest element and
  // its flat position h*W + w within its plane. Padding never wins; the
  // first NaN does, then the first of equal maxima (as PyTorch). The ops
  // layer makes sure every window holds at least one real element.
  virtual void max_pool2d_forward(const ExecContext& ctx, const TensorView& y, const TensorView& indices,
                                  const TensorView& x, const WindowGeometry& g);
  // grad_x (N, C, H, W), written whole: grad_y added at the indices.
  virtual void max_pool2d_backward(const ExecContext& ctx, const TensorView& grad_x, const TensorView& grad_y,
                                   const TensorView& indices, const WindowGeometry& g);
  // Window means with padded zeros counted (count_include_pad), no dilation.
  virtual void avg_pool2d_forward(const ExecContext& ctx, const TensorView& y, const TensorView& x,
                                  const WindowGeometry& g);
  virtual void avg_pool2d_backward(const ExecContext& ctx, const TensorView& grad_x, const TensorView& grad_y,
                                   const WindowGeometry& g);

  // ---- fused normalization and loss; contiguous, floating ----
  // x (N, C, S) viewed so, per channel c. Training: mean and invstd =
  // 1/sqrt(biased var + eps) of the batch are written to save_mean and
  // save_invstd (C), and the running statistics, when present, are updated
  // in place with momentum (running_var with the unbiased variance).
  // Evaluation: save_mean/save_invstd get the running mean and
  // 1/sqrt(running_var + eps). Then y = (x - mean) * invstd * weight + bias.
  virtual void batch_norm_forward(const ExecContext& ctx, const TensorView& y, const TensorView& save_mean,
                                  const TensorView& save_invstd, const TensorView& x, const OptionalView& weight,
                                  const OptionalView& bias, const OptionalView& running_mean,
                                  const OptionalView& running_var, const BatchNormParams& p);
  // The gradients that are present, written whole. Training differentiates
  // through the batch statistics; evaluation treats them as constants.
  virtual void batch_norm_backward(const ExecContext& ctx, const OptionalView& grad_x, const OptionalView& grad_weight,
                                   const OptionalView& grad_bias, const TensorView& grad_y, const TensorView& x,
                                   const OptionalView& weight, const TensorView& save_mean,
                                   const TensorView& save_invstd, bool training);
  // logits (N, C), target int64 (N): loss (N) per sample,
  //   -(1 - s) * log_softmax(logits)[target] - s/C * sum_c log_softmax(logits)[c]
  // with s the label smoothing, and each row's log-sum-exp in lse (N).
  // A target outside [0, C) is an IndexError naming cross_entropy.
  virtual void cross_entropy_forward(const ExecContext& ctx, const TensorView& loss, const TensorView& lse,
                                     const TensorView& logits, const TensorView& target, double label_smoothing);
  // grad_logits (N, C) = grad_loss[n] * (softmax - (1 - s) one_hot - s/C).
  virtual void cross_entropy_backward(const ExecContext& ctx, const TensorView& grad_logits,
                                      const TensorView& grad_loss, const TensorView& logits, const TensorView& lse,
                                      const TensorView& target, double label_smoothing);

  // ---- counter-based random numbers; see Note [Philox streams] ----
  // out (contiguous, floating) element i = the uniform double of Philox
  // block offset + i/2 (words 2(i%2), 2(i%2)+1: 53 bits), cast to out's dtype.
  virtual void random_uniform(const ExecContext& ctx, const TensorView& out, uint64_t seed, uint64_t offset);
  // Box-Muller on block offset + i/2's two doubles (u1, u2): element 2k is
  // r cos(2 pi u2), element 2k+1 r sin(2 pi u2), r = sqrt(-2 log1p(-u1)).
  virtual void random_normal(const ExecContext& ctx, const TensorView& out, uint64_t seed, uint64_t offset);
  // Dropout's scaled keep mask: with u_i as in random_uniform, cast to T,
  // mask[i] = u_i < T(1 - p) ? T(1) / T(1 - p) : 0.
  virtual void dropout_mask(const ExecContext& ctx, const TensorView& mask, double p, uint64_t seed,
                            uint64_t offset);

  // ---- optimizer updates, in place; contiguous, one floating dtype ----
  // momentum_buffer is absent when momentum == 0.
  virtual void sgd_update(const ExecContext& ctx, const TensorView& param, const TensorView& grad,
                          const OptionalView& momentum_buffer, const SgdParams& p);
  // max_exp_avg_sq is present for AMSGrad only.
  virtual void adam_update(const ExecContext& ctx, const TensorView& param, const TensorView& grad,
                           const TensorView& exp_avg, const TensorView& exp_avg_sq,
                           const OptionalView& max_exp_avg_sq, const AdamParams& p);

  // Waits until all work queued on the device is done (no-op on the CPU).
  virtual void synchronize(const ExecContext& ctx);

 private:
  [[noreturn]] void missing(Primitive p) const;
  DeviceType device_;
  std::string name_, base_;
  std::array<bool, kNumPrimitives> own_{};
};

// ---- the registry: Note [Backend registry] ----

// Adds a backend (not owned; it must outlive every call). Throws ValueError
// if that (device type, name) is taken or its base is not registered yet.
// The first backend of a device type becomes its active one.
void register_backend(Backend* backend);
bool has_backend(DeviceType type);
// The names registered so far for a device type, in registration order.
std::vector<std::string> backend_names(DeviceType type);
// Makes `name` the active implementation for `type` (no registration first).
void select_backend(DeviceType type, const std::string& name);
// Applies a selection written as DEVICE:IMPL ("cuda:cudnn"), or several
// separated by commas; `source` names where it came from in errors.
void set_backends_from_string(const std::string& spec, const char* source);

// The user-facing pair. They register the built-in backends first, so they
// work before any op has run; defined in kernels/register.cpp, which knows
// them (as Tensor's computing methods live above core, Note [Where Tensor
// methods live]).
// Makes `name` ("ember", "eigen", "cudnn") the active implementation for
// `type`. An unknown name throws ValueError listing the registered ones.
void set_backend(DeviceType type, const std::string& name);
// The names registered for a device type ("ember", "eigen").
std::vector<std::string> registered_backends(DeviceType type);

// The registered backend `name` of a device type; ValueError listing the
// registered ones if there is none.
Backend& backend_named(DeviceType type, const std::string& name);
// The active backend of a device type; throws DeviceError if none is
// registered (for CUDA: Ember was built without it).
Backend& active_backend(DeviceType type);
// The root of the active backend's chain: the one that owns the memory.
Backend& device_backend(DeviceType type);
// The backend that runs `p` on `type`: the active one if it supports p,
// else the first base in its chain that does; DeviceError naming the
// primitive and the chain if none does.
Backend& backend_for(Primitive p, DeviceType type);
// Whether some backend in the active chain of `type` runs `p` (never throws).
bool has_kernel(Primitive p, DeviceType type);
// The pinned host allocator of `type`'s devices, or null when it has none,
// no backend is registered for it yet, or no device is visible (never throws).
Allocator* pinned_host_allocator(DeviceType type);
// "cpu:eigen (falls back to cpu:ember)": for startup lines.
std::string describe_active_backend(DeviceType type);

}  // namespace ember
