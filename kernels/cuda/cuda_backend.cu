// The CUDA Backend's slot in the dispatch table: device discovery, a memory
// allocator and host<->device transfers. The kernels themselves (elementwise,
// reductions, GEMM, conv, ...) come with the CUDA kernels issue; until then
// each compute entry throws a DeviceError saying so, never a silent
// fallback to the CPU.
//
// This is the only place (with kernels/cudnn later) that includes CUDA
// headers.
#include <cuda_runtime.h>

#include "ember/core/backend.h"
#include "ember/core/error.h"

namespace ember::kernels::cuda {

namespace {

// Every CUDA call is checked; the message names the call, file and line.
#define EMBER_CUDA_CHECK(call)                                                                       \
  do {                                                                                               \
    cudaError_t err_ = (call);                                                                       \
    if (err_ != cudaSuccess)                                                                         \
      throw ::ember::DeviceError(::ember::detail::concat(#call, " failed: ", cudaGetErrorString(err_), \
                                                         " at ", __FILE__, ":", __LINE__));          \
  } while (0)

class CudaAllocator final : public Allocator {
 public:
  explicit CudaAllocator(int device) : device_(device) {}
  void* allocate(size_t nbytes) override {
    if (nbytes == 0) return nullptr;
    EMBER_CUDA_CHECK(cudaSetDevice(device_));
    void* p = nullptr;
    EMBER_CUDA_CHECK(cudaMalloc(&p, nbytes));
    return p;
  }
  void deallocate(void* ptr, size_t) override { cudaFree(ptr); }  // never throws from a destructor

 private:
  int device_;
};

[[noreturn]] void not_yet(const char* op) {
  throw DeviceError(detail::concat("cuda: ", op, " has no CUDA kernel yet; move the tensor to the CPU with .to(\"cpu\")"));
}

class CudaBackend final : public Backend {
 public:
  const char* name() const override { return "cuda"; }
  int device_count() const override {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();  // clear the sticky "no device" error
      return 0;
    }
    return n;
  }
  Allocator& allocator(int device) override {
    static std::vector<std::unique_ptr<CudaAllocator>> allocators = [this] {
      std::vector<std::unique_ptr<CudaAllocator>> v;
      for (int i = 0; i < device_count(); ++i) v.push_back(std::make_unique<CudaAllocator>(i));
      return v;
    }();
    EMBER_CHECK(device >= 0 && device < static_cast<int>(allocators.size()), DeviceError, "cuda:", device,
                " is not available (", allocators.size(), " CUDA device(s) visible)");
    return *allocators[device];
  }
  void copy_from_host(void* dst, const void* host_src, size_t nbytes) override {
    if (nbytes) EMBER_CUDA_CHECK(cudaMemcpy(dst, host_src, nbytes, cudaMemcpyHostToDevice));
  }
  void copy_to_host(void* host_dst, const void* src, size_t nbytes) override {
    if (nbytes) EMBER_CUDA_CHECK(cudaMemcpy(host_dst, src, nbytes, cudaMemcpyDeviceToHost));
  }
  void copy(const TensorView&, const TensorView&) override { not_yet("copy"); }
  void fill(const TensorView&, Scalar) override { not_yet("fill"); }
  void arange(const TensorView&, double, double) override { not_yet("arange"); }
  void binary(BinaryOp, const TensorView&, const TensorView&, const TensorView&) override { not_yet("binary ops"); }
  void unary(UnaryOp, const TensorView&, const TensorView&) override { not_yet("unary ops"); }
  void where(const TensorView&, const TensorView&, const TensorView&, const TensorView&) override { not_yet("where"); }
  void reduce(ReduceOp, const TensorView&, const TensorView&) override { not_yet("reductions"); }
  void matmul(const TensorView&, const TensorView&, const TensorView&) override { not_yet("matmul"); }
  void softmax(const TensorView&, const TensorView&, int64_t, bool) override { not_yet("softmax"); }
  void index_select(const TensorView&, const TensorView&, int64_t, const TensorView&) override {
    not_yet("index_select");
  }
  void index_add(const TensorView&, int64_t, const TensorView&, const TensorView&) override { not_yet("index_add"); }
  void gather(const TensorView&, const TensorView&, int64_t, const TensorView&) override { not_yet("gather"); }
  void scatter_add(const TensorView&, int64_t, const TensorView&, const TensorView&) override {
    not_yet("scatter_add");
  }
  void im2col(const TensorView&, const TensorView&, const WindowGeometry&) override { not_yet("im2col"); }
  void col2im(const TensorView&, const TensorView&, const WindowGeometry&) override { not_yet("col2im"); }
  void max_pool2d_indices(const TensorView&, const TensorView&, const WindowGeometry&) override {
    not_yet("max_pool2d");
  }
};

}  // namespace

Backend* cuda_backend() {
  static CudaBackend backend;
  return &backend;
}

}  // namespace ember::kernels::cuda
