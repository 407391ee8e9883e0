// cuda:cudnn's shared pieces (vendor.h): the per-device handles and
// workspace, scratch buffers, descriptors, and the library versions that
// ember/kernels/cudnn.h reports.
#include "vendor.h"

#include <climits>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "../cuda/device.h"
#include "../cuda/graph.h"
#include "../cuda/runtime.h"
#include "ember/kernels/cudnn.h"

namespace ember::kernels::cudnn {

namespace {

// Note [One handle per device]
// A cuDNN or cuBLAS handle holds per-device state and is costly to create
// (milliseconds), so each device gets one of each, made at its first call
// and kept for the life of the process (never destroyed, as the device
// runtime's state: tensors may outlive static destruction). Setting a
// handle's stream is cheap, so every call points the handles at its
// context's stream: Ember queues a device's work on one stream, and a call
// never has to know which. One mutex per device is held for the whole of a
// call, from setting the stream to queuing the last kernel, so two host
// threads never interleave on a handle or the workspace.
//
// cublasSetStream resets the handle's workspace to cuBLAS's own pool,
// which cuBLAS fills with cudaMalloc on first use, and cudaMalloc is not
// allowed while a CUDA graph is being captured. So each call hands cuBLAS
// a workspace of ours again, after the stream: 32 MiB from the caching
// allocator, made with the handle (what cuBLAS recommends on Hopper).
constexpr size_t kCublasWorkspace = size_t(32) << 20;

struct DeviceHandles {
  std::mutex mutex;  // held by a Session
  cudnnHandle_t cudnn = nullptr;
  cublasHandle_t cublas = nullptr;
  void* cublas_workspace = nullptr;  // kCublasWorkspace bytes
  void* workspace = nullptr;         // cuDNN's, Note [Find once per shape] in conv.cpp
  size_t workspace_bytes = 0;
  // Outgrown workspaces, never freed: Note [A workspace outlives its graphs].
  std::vector<std::pair<void*, size_t>> retired;
};

DeviceHandles& handles_of(int device) {
  static std::mutex mutex;
  static auto* all = new std::map<int, std::unique_ptr<DeviceHandles>>();  // never destroyed
  std::lock_guard<std::mutex> lock(mutex);
  std::unique_ptr<DeviceHandles>& h = (*all)[device];
  if (!h) h = std::make_unique<DeviceHandles>();
  return *h;
}

}  // namespace

Session::Session(const ExecContext& ctx) : device_(ctx.device.index) {
  DeviceHandles& h = handles_of(device_);
  lock_ = std::unique_lock<std::mutex>(h.mutex);
  auto what = [&] { return detail::concat("cuda:cudnn on cuda:", device_); };
  EMBER_CUDA_CHECK(cudaSetDevice(device_));
  // Creating the handles and cuBLAS's workspace asks the driver and the
  // device for memory: not something a capture may record.
  if (!h.cudnn || !h.cublas || !h.cublas_workspace) cuda::check_not_capturing(device_, "cuda:cudnn's first call");
  if (!h.cudnn) {
    // A cuDNN of another major version, or built for another CUDA runtime,
    // fails in ways far from the cause (a crash in a convolution); say so here.
    const size_t cudnn_loaded = cudnnGetVersion(), cudart_of_cudnn = cudnnGetCudartVersion();
    int cudart = 0;
    EMBER_CUDA_CHECK(cudaRuntimeGetVersion(&cudart));
    EMBER_CHECK(cudnn_loaded / 10000 == CUDNN_MAJOR && cudnn_loaded >= CUDNN_VERSION, DeviceError,
                "cuda:cudnn: the cuDNN loaded is version ", cudnn_loaded, " but Ember was built against ",
                CUDNN_VERSION, " (same major, at least as new, needed)");
    EMBER_CHECK(cudart_of_cudnn / 1000 == static_cast<size_t>(cudart) / 1000, DeviceError,
                "cuda:cudnn: the cuDNN loaded was built for CUDA runtime ", cudart_of_cudnn, ", this process runs ",
                cudart, " (install the cuDNN for this CUDA major)");
    EMBER_VENDOR_CHECK(cudnnCreate(&h.cudnn), what);
  }
  if (!h.cublas) {
    EMBER_VENDOR_CHECK(cublasCreate(&h.cublas), what);
    // No TF32 or lower precision: Note [No TF32] in matmul.cpp.
    EMBER_VENDOR_CHECK(cublasSetMathMode(h.cublas, CUBLAS_DEFAULT_MATH), what);
  }
  if (!h.cublas_workspace) h.cublas_workspace = cuda::device_allocator(device_).allocate(kCublasWorkspace);
  cudaStream_t stream = static_cast<cudaStream_t>(ctx.stream);
  EMBER_VENDOR_CHECK(cudnnSetStream(h.cudnn, stream), what);
  EMBER_VENDOR_CHECK(cublasSetStream(h.cublas, stream), what);
  EMBER_VENDOR_CHECK(cublasSetWorkspace(h.cublas, h.cublas_workspace, kCublasWorkspace), what);
  cudnn_ = h.cudnn;
  cublas_ = h.cublas;
}

// Note [A workspace outlives its graphs]
// A CUDA graph that captured a convolution holds its workspace's address and
// writes there at every replay. Were an outgrown workspace handed back to
// the caching allocator, the next tensor given that block would be
// overwritten by the graph's scratch data: the rule of Note [Graph memory
// pools] ("nobody else may get that memory") broken by the back door. So an
// outgrown workspace is retired, never freed. Workspaces only grow, so the
// retired ones together are smaller than the live one; a process holds at
// most about twice its largest workspace.
void* Session::workspace(size_t bytes) {
  DeviceHandles& h = handles_of(device_);
  if (bytes > h.workspace_bytes) {
    if (h.workspace) h.retired.emplace_back(h.workspace, h.workspace_bytes);
    h.workspace = nullptr;
    h.workspace_bytes = 0;
    h.workspace = cuda::device_allocator(device_).allocate(bytes);
    h.workspace_bytes = bytes;
  }
  return h.workspace;
}

DeviceBuffer::DeviceBuffer(int device, size_t nbytes)
    : allocator_(&cuda::device_allocator(device)), nbytes_(nbytes),
      ptr_(nbytes ? allocator_->allocate(nbytes) : nullptr) {}

DeviceBuffer::~DeviceBuffer() {
  if (ptr_) allocator_->deallocate(ptr_, nbytes_);
}

std::string describe(const char* op, std::initializer_list<TensorView> views) {
  std::string s = detail::concat("cuda:cudnn ", op);
  bool first = true;
  for (const TensorView& v : views) {
    s += first ? detail::concat(" on ", dtype_name(v.dtype), " ") : std::string(", ");
    s += shape_str(v.shape);
    first = false;
  }
  return s;
}

cudnnDataType_t data_type(DType dt) {
  switch (dt) {
    case DType::Float32: return CUDNN_DATA_FLOAT;
    case DType::Float64: return CUDNN_DATA_DOUBLE;
    default: break;
  }
  throw InternalError(detail::concat("cuda:cudnn: no cuDNN data type for ", dtype_name(dt)));
}

const void* one(DType dt) {
  static const float f = 1.0f;
  static const double d = 1.0;
  return dt == DType::Float64 ? static_cast<const void*>(&d) : static_cast<const void*>(&f);
}

const void* zero(DType dt) {
  static const float f = 0.0f;
  static const double d = 0.0;
  return dt == DType::Float64 ? static_cast<const void*>(&d) : static_cast<const void*>(&f);
}

TensorDesc::TensorDesc(DType dt, int64_t n, int64_t c, int64_t h, int64_t w) {
  auto what = [&] { return detail::concat("cuda:cudnn tensor descriptor (", n, ", ", c, ", ", h, ", ", w, ")"); };
  EMBER_VENDOR_CHECK(cudnnSetTensor4dDescriptor(d, CUDNN_TENSOR_NCHW, data_type(dt), static_cast<int>(n),
                                                static_cast<int>(c), static_cast<int>(h), static_cast<int>(w)),
                     what);
}

bool fits_int(int64_t n) { return n > 0 && n <= INT_MAX; }

bool fits_int(const TensorView& v) {
  for (int64_t s : v.shape)
    if (!fits_int(s)) return false;
  return fits_int(v.numel());
}

}  // namespace ember::kernels::cudnn

namespace ember::cuda {

namespace {
std::string version_of(int major, int minor, int patch) { return detail::concat(major, ".", minor, ".", patch); }
}  // namespace

bool vendor_built() { return true; }

std::string cudnn_version() {
  int v[3] = {};
  const libraryPropertyType parts[3] = {MAJOR_VERSION, MINOR_VERSION, PATCH_LEVEL};
  for (int i = 0; i < 3; ++i)
    if (cudnnGetProperty(parts[i], &v[i]) != CUDNN_STATUS_SUCCESS) return "unknown";
  return version_of(v[0], v[1], v[2]);
}

std::string cublas_version() {
  int v[3] = {};
  const libraryPropertyType parts[3] = {MAJOR_VERSION, MINOR_VERSION, PATCH_LEVEL};
  for (int i = 0; i < 3; ++i)
    if (cublasGetProperty(parts[i], &v[i]) != CUBLAS_STATUS_SUCCESS) return "unknown";
  return version_of(v[0], v[1], v[2]);
}

size_t cudnn_cached_algorithms() { return kernels::cudnn::conv_algorithm_cache_size(); }
size_t cudnn_vendor_calls(const std::string& primitive) { return kernels::cudnn::vendor_calls(primitive); }

}  // namespace ember::cuda
