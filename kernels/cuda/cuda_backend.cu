// cuda:ember, the root of the CUDA chain: device discovery, a memory
// allocator, host<->device transfers and synchronize. The kernels themselves
// (elementwise, reductions, GEMM, conv, ...) come with the CUDA kernels
// issues; until then supports() claims none of them, so prim:: fails loudly
// with "has no kernel in cuda:ember yet" (Note [Backend registry]), never a
// silent fallback to the CPU.
//
// This is the only place (with kernels/cudnn later) that includes CUDA
// headers.
#include <cuda_runtime.h>

#include <memory>
#include <vector>

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

class CudaBackend final : public Backend {
 public:
  CudaBackend()
      : Backend(DeviceType::CUDA, "ember", "",
                {Primitive::CopyFromHost, Primitive::CopyToHost, Primitive::Synchronize}) {}

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
  void copy_from_host(const ExecContext& ctx, void* dst, const void* host_src, size_t nbytes) override {
    EMBER_CUDA_CHECK(cudaSetDevice(ctx.device.index));
    if (nbytes) EMBER_CUDA_CHECK(cudaMemcpy(dst, host_src, nbytes, cudaMemcpyHostToDevice));
  }
  void copy_to_host(const ExecContext& ctx, void* host_dst, const void* src, size_t nbytes) override {
    EMBER_CUDA_CHECK(cudaSetDevice(ctx.device.index));
    if (nbytes) EMBER_CUDA_CHECK(cudaMemcpy(host_dst, src, nbytes, cudaMemcpyDeviceToHost));
  }
  void synchronize(const ExecContext& ctx) override {
    EMBER_CUDA_CHECK(cudaSetDevice(ctx.device.index));
    EMBER_CUDA_CHECK(cudaDeviceSynchronize());
  }
};

}  // namespace

Backend* cuda_backend() {
  static CudaBackend backend;
  return &backend;
}

}  // namespace ember::kernels::cuda
