// cuda:cudnn's shared pieces (internal header): checked cuDNN and cuBLAS
// calls, one set of library handles per device, the workspace, RAII
// descriptors and scratch buffers, and the entries cudnn_backend.cpp calls.
//
// Note [Vendor entries decline]
// Each entry below returns true when it ran the primitive, and false when
// the library cannot do this call as Ember specifies it (an integer matmul,
// a pooling whose output size cuDNN computes differently, batch norm in
// evaluation mode, a tensor beyond the legacy API's 32-bit sizes, ...). The
// Backend then hands the same call to its base, cuda:ember, through the
// registry: the answer is always Ember's, never an approximation of it. A
// declined call costs nothing on the device; it is decided on the host from
// the shapes alone, before any library call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <mutex>
#include <string>

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "ember/core/backend.h"
#include "ember/core/error.h"

namespace ember::kernels::cudnn {

// "cuda:cudnn conv2d_forward on float32 [2, 3, 8, 8], [4, 3, 3, 3]": what a
// failed library call names.
std::string describe(const char* op, std::initializer_list<TensorView> views);

// A failed status throws DeviceError naming the op and shapes (`what()`),
// the call, the library's own message, file and line.
template <typename What>
void check(cudnnStatus_t s, const char* call, const What& what, const char* file, int line) {
  if (s == CUDNN_STATUS_SUCCESS) return;
  // cuDNN 9 says why a call was refused (NOT_SUPPORTED, BAD_PARAM) in its
  // last error message; the status string alone names only the class.
  char why[512] = {};
  cudnnGetLastErrorString(why, sizeof why);
  throw DeviceError(detail::concat(what(), ": ", call, " failed: ", cudnnGetErrorString(s), why[0] ? " (" : "", why,
                                   why[0] ? ")" : "", " at ", file, ":", line));
}
template <typename What>
void check(cublasStatus_t s, const char* call, const What& what, const char* file, int line) {
  if (s != CUBLAS_STATUS_SUCCESS)
    throw DeviceError(
        detail::concat(what(), ": ", call, " failed: ", cublasGetStatusString(s), " at ", file, ":", line));
}
#define EMBER_VENDOR_CHECK(call, what) ::ember::kernels::cudnn::check((call), #call, (what), __FILE__, __LINE__)

// The handles of the context's device, locked for the duration of one
// entry, pointed at the context's stream (Note [One handle per device] in
// vendor.cpp).
class Session {
 public:
  explicit Session(const ExecContext& ctx);
  cudnnHandle_t cudnn() const { return cudnn_; }
  cublasHandle_t cublas() const { return cublas_; }
  // cuDNN's workspace of at least `bytes` (null for 0): one buffer per
  // device, grown when a call needs more, valid until the next workspace()
  // call of this device.
  void* workspace(size_t bytes);
  int device() const { return device_; }

 private:
  std::unique_lock<std::mutex> lock_;
  int device_;
  cudnnHandle_t cudnn_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
};

// Device memory for a call's temporaries, from the device's caching
// allocator (stream-ordered: freed as soon as the call is queued).
class DeviceBuffer {
 public:
  DeviceBuffer(int device, size_t nbytes);
  ~DeviceBuffer();
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  void* get() const { return ptr_; }

 private:
  Allocator* allocator_;
  size_t nbytes_;
  void* ptr_;
};

// ---- descriptors (RAII) ----

cudnnDataType_t data_type(DType dt);
// 1 and 0 in the scaling type cuDNN and cuBLAS want for dt (double for
// double tensors, float otherwise).
const void* one(DType dt);
const void* zero(DType dt);

// A cuDNN descriptor, created and destroyed with its owner. The types below
// derive from it and set it in their constructor body: if setting fails,
// the base is destroyed all the same.
template <typename T, cudnnStatus_t (*Create)(T*), cudnnStatus_t (*Destroy)(T)>
struct Descriptor {
  T d = nullptr;
  Descriptor() {
    EMBER_VENDOR_CHECK(Create(&d), [] { return std::string("cuda:cudnn: creating a descriptor"); });
  }
  ~Descriptor() { Destroy(d); }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
};

// A packed NCHW tensor.
struct TensorDesc : Descriptor<cudnnTensorDescriptor_t, cudnnCreateTensorDescriptor, cudnnDestroyTensorDescriptor> {
  TensorDesc(DType dt, int64_t n, int64_t c, int64_t h, int64_t w);
};

// Whether every size, and the element count, fits cuDNN's int (and is > 0):
// the legacy API speaks int; beyond it the call is declined.
bool fits_int(const TensorView& v);
bool fits_int(int64_t n);

// ---- the entries (Note [Vendor entries decline]) ----

bool matmul(const ExecContext& ctx, const TensorView& out, const TensorView& a, const TensorView& b);
bool softmax(const ExecContext& ctx, const TensorView& out, const TensorView& a, int64_t dim, bool log);
bool conv2d_forward(const ExecContext& ctx, const TensorView& y, const TensorView& x, const TensorView& weight,
                    const OptionalView& bias, const WindowGeometry& g, int64_t groups);
bool conv2d_backward_input(const ExecContext& ctx, const TensorView& grad_x, const TensorView& grad_y,
                           const TensorView& weight, const WindowGeometry& g, int64_t groups);
bool conv2d_backward_weight(const ExecContext& ctx, const TensorView& grad_weight, const OptionalView& grad_bias,
                            const TensorView& grad_y, const TensorView& x, const WindowGeometry& g, int64_t groups);
bool avg_pool2d_forward(const ExecContext& ctx, const TensorView& y, const TensorView& x, const WindowGeometry& g);
bool avg_pool2d_backward(const ExecContext& ctx, const TensorView& grad_x, const TensorView& grad_y,
                         const WindowGeometry& g);
bool batch_norm_forward(const ExecContext& ctx, const TensorView& y, const TensorView& save_mean,
                        const TensorView& save_invstd, const TensorView& x, const OptionalView& weight,
                        const OptionalView& bias, const OptionalView& running_mean, const OptionalView& running_var,
                        const BatchNormParams& p);
bool batch_norm_backward(const ExecContext& ctx, const OptionalView& grad_x, const OptionalView& grad_weight,
                         const OptionalView& grad_bias, const TensorView& grad_y, const TensorView& x,
                         const OptionalView& weight, const TensorView& save_mean, const TensorView& save_invstd,
                         bool training);

// The convolution algorithms found so far, all devices and directions
// (Note [Find once per shape] in conv.cpp).
size_t conv_algorithm_cache_size();
// The calls of `primitive` the vendor library served (cudnn_backend.cpp).
size_t vendor_calls(const std::string& primitive);

}  // namespace ember::kernels::cudnn
