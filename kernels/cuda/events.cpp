// ember::cuda::Event and ember::cuda::device_info (ember/kernels/cuda.h):
// what a benchmark needs to time kernels on the device's own clock and to
// name the device it ran on. On the emulator the kernels run during their
// launch, so the host clock at record() is the time they reached.
#include <chrono>

#include "ember/core/error.h"
#include "ember/kernels/cuda.h"
#include "runtime.h"

namespace ember::cuda {

namespace {
void check_index(int device) {
  const int n = kernels::cuda::device_count();
  EMBER_CHECK(device >= 0 && device < n, DeviceError, "cuda:", device, " is not available (", n,
              " CUDA device(s) visible)");
}
}  // namespace

#ifdef EMBER_SIMT

DeviceInfo device_info(int device) {
  check_index(device);
  DeviceInfo info;
  info.name = "SIMT emulator (no GPU: the kernels run on the CPU)";
  return info;
}

Event::Event(int device) : device_(device) { check_index(device); }
Event::~Event() = default;
void Event::record() {
  host_ms_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
double Event::elapsed_ms(const Event& start, const Event& end) { return end.host_ms_ - start.host_ms_; }

#else

DeviceInfo device_info(int device) {
  check_index(device);
  cudaDeviceProp p{};
  EMBER_CUDA_CHECK(cudaGetDeviceProperties(&p, device));
  DeviceInfo info;
  info.name = p.name;
  info.major = p.major;
  info.minor = p.minor;
  info.multiprocessors = p.multiProcessorCount;
  info.l2_bytes = static_cast<size_t>(p.l2CacheSize);
  info.memory_bytes = p.totalGlobalMem;
  char bus[32] = {};
  EMBER_CUDA_CHECK(cudaDeviceGetPCIBusId(bus, sizeof bus, device));
  info.pci_bus_id = bus;
  EMBER_CUDA_CHECK(cudaDriverGetVersion(&info.driver_version));
  EMBER_CUDA_CHECK(cudaRuntimeGetVersion(&info.runtime_version));
  return info;
}

Event::Event(int device) : device_(device) {
  check_index(device);
  EMBER_CUDA_CHECK(cudaSetDevice(device));
  cudaEvent_t e = nullptr;
  EMBER_CUDA_CHECK(cudaEventCreate(&e));
  event_ = e;
}
Event::~Event() {
  if (event_) cudaEventDestroy(static_cast<cudaEvent_t>(event_));
}
void Event::record() {
  EMBER_CUDA_CHECK(cudaSetDevice(device_));
  EMBER_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(event_),
                                   static_cast<cudaStream_t>(kernels::cuda::device_stream(device_))));
}
double Event::elapsed_ms(const Event& start, const Event& end) {
  EMBER_CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(end.event_)));
  float ms = 0;
  EMBER_CUDA_CHECK(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(start.event_),
                                        static_cast<cudaEvent_t>(end.event_)));
  return ms;
}

#endif

}  // namespace ember::cuda
