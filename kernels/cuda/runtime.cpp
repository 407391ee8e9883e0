// The CUDA device runtime (runtime.h): the real one on GPUs, and its
// host-memory stand-in on the SIMT emulator (EMBER_SIMT).
#include "runtime.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "ember/core/error.h"
#include "graph.h"

namespace ember::kernels::cuda {

namespace {

const char* op_of(DeviceErrorCode code) {
  switch (code) {
    case DeviceErrorCode::IndexSelect: return "index_select";
    case DeviceErrorCode::IndexAdd: return "index_add";
    case DeviceErrorCode::Gather: return "gather";
    case DeviceErrorCode::ScatterAdd: return "scatter_add";
    case DeviceErrorCode::CrossEntropy: return "cross_entropy (a target class)";
    case DeviceErrorCode::None: break;
  }
  return "a CUDA kernel";
}

[[noreturn]] void throw_flagged(const DeviceErrorFlag& f) {
  throw IndexError(detail::concat(op_of(static_cast<DeviceErrorCode>(f.code)), ": index ", f.value,
                                  " is out of range for a dim of size ", f.bound,
                                  " (found on the device by the kernel; reported at the next synchronization)"));
}

std::string device_name(int device) { return "cuda:" + std::to_string(device); }

}  // namespace

#ifdef EMBER_SIMT
// ---- the emulator: one device backed by host memory ----

namespace {

struct EmulatedDevice {
  // Exactly n bytes (64-byte aligned): under the sanitizers, where nothing
  // is cached, ASan then sees an overrun by a single byte.
  CachingAllocator allocator{"cuda:0 (emulated)",
                             [](size_t n) { return ::operator new(n, std::align_val_t(64), std::nothrow); },
                             [](void* p) { ::operator delete(p, std::align_val_t(64)); },
#ifdef EMBER_SANITIZE
                             /*caching=*/false
#else
                             /*caching=*/true
#endif
  };
  DeviceErrorFlag flag{};
};

EmulatedDevice& emulated() {
  static EmulatedDevice* d = new EmulatedDevice();  // never destroyed: tensors may outlive static destruction
  return *d;
}

void check_device(int device) {
  EMBER_CHECK(device == 0, DeviceError, device_name(device), " is not available (the emulator has one device, cuda:0)");
}

}  // namespace

int device_count() { return 1; }
CachingAllocator& device_allocator(int device) {
  check_device(device);
  return emulated().allocator;
}
void* device_stream(int) { return nullptr; }
DeviceErrorFlag* error_flag(int device) {
  check_device(device);
  return &emulated().flag;
}
void copy_from_host(int device, void* dst, const void* src, size_t n) {
  check_not_capturing(device, "a copy from the host");
  if (n) std::memcpy(dst, src, n);
}
void copy_to_host(int device, void* dst, const void* src, size_t n) {
  check_not_capturing(device, "a copy to the host");
  if (n) std::memcpy(dst, src, n);
  check_error_flag(device);
}
void copy_on_device(int, void* dst, const void* src, size_t n) {
  if (n == 0) return;
  if (simt::Recording* r = simt::recording()) {  // Note [CUDA graphs]: a copy node
    r->push_back([dst, src, n] { std::memmove(dst, src, n); });
    return;
  }
  std::memmove(dst, src, n);
}
void* start_upload(int device, void* dst, const void* src, size_t n) {
  copy_from_host(device, dst, src, n);
  return nullptr;
}
void finish_upload(int, void*) {}
void synchronize(int device) { check_error_flag(device); }
void check_error_flag(int device) {
  check_not_capturing(device, "synchronize (or the device error flag's check)");
  DeviceErrorFlag& f = *error_flag(device);
  if (f.code == 0) return;
  const DeviceErrorFlag seen = f;
  f = DeviceErrorFlag{};
  throw_flagged(seen);
}
Allocator& pinned_allocator() { return cpu_allocator(); }
void after_launch(void*, const char*, int) {}  // the emulator throws from the launch itself

#else
// ---- real GPUs ----

namespace {

// EMBER_CUDA_SYNC=1: synchronize after every launch, so that a fault is
// reported at the launch that caused it.
bool sync_after_launch() {
  static const bool on = [] {
    const char* env = std::getenv("EMBER_CUDA_SYNC");
    return env && *env && std::string(env) != "0";
  }();
  return on;
}

// The streams of the devices set up so far (device_state), for the pinned
// allocator's events.
std::mutex streams_mutex;
std::vector<cudaStream_t> streams;

std::vector<cudaStream_t> live_streams() {
  std::lock_guard<std::mutex> lock(streams_mutex);
  return streams;
}

// Page-locked host memory: reused only once the copies that read it are done
// (an event recorded on every device's stream when the block was freed), so
// that a batch freed right after its asynchronous upload cannot be
// overwritten while the copy still reads it.
class PinnedAllocator final : public Allocator {
 public:
  void* allocate(size_t nbytes) override {
    if (nbytes == 0) return nullptr;
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = free_.begin(); it != free_.end(); ++it)
      if (it->size >= nbytes && it->size <= 2 * nbytes && done(*it)) {
        char* p = it->ptr;
        live_[p] = it->size;
        for (cudaEvent_t e : it->done) cudaEventDestroy(e);
        free_.erase(it);
        return p;
      }
    void* p = nullptr;
    EMBER_CUDA_CHECK(cudaHostAlloc(&p, nbytes, cudaHostAllocDefault));
    live_[static_cast<char*>(p)] = nbytes;
    return p;
  }
  void deallocate(void* ptr, size_t) override {
    if (!ptr) return;
    std::lock_guard<std::mutex> lock(mutex_);
    const auto live = live_.find(static_cast<char*>(ptr));
    if (live == live_.end()) return;  // not ours (never happens: Storage frees through its own allocator)
    FreeBlock block{live->first, live->second, {}};
    live_.erase(live);
    for (cudaStream_t s : live_streams()) {  // never throws here: a failed event leaks the block
      // A stream under graph capture would make the event part of the graph
      // (Note [CUDA graphs]); its copies are not this block's.
      cudaStreamCaptureStatus capturing = cudaStreamCaptureStatusNone;
      if (cudaStreamIsCapturing(s, &capturing) == cudaSuccess && capturing != cudaStreamCaptureStatusNone) continue;
      cudaEvent_t e = nullptr;
      if (cudaEventCreateWithFlags(&e, cudaEventDisableTiming) != cudaSuccess || cudaEventRecord(e, s) != cudaSuccess) {
        cudaGetLastError();
        if (e) cudaEventDestroy(e);
        for (cudaEvent_t d : block.done) cudaEventDestroy(d);
        return;
      }
      block.done.push_back(e);
    }
    free_.push_back(std::move(block));
  }
  // Whether [ptr, ptr + n) lies in one live pinned block (a batch, or a view of one).
  bool holds(const void* ptr, size_t n) {
    std::lock_guard<std::mutex> lock(mutex_);
    const char* p = static_cast<const char*>(ptr);
    auto it = live_.upper_bound(const_cast<char*>(p));
    if (it == live_.begin()) return false;
    --it;
    return p + n <= it->first + it->second;
  }

 private:
  struct FreeBlock {
    char* ptr;
    size_t size;
    std::vector<cudaEvent_t> done;  // one per device stream
  };
  static bool done(const FreeBlock& b) {
    for (cudaEvent_t e : b.done)
      if (cudaEventQuery(e) != cudaSuccess) {
        cudaGetLastError();  // "not ready" is not an error
        return false;
      }
    return true;
  }
  std::mutex mutex_;
  std::vector<FreeBlock> free_;
  std::map<char*, size_t> live_;  // by address, for holds()
};

PinnedAllocator& pinned() {
  static PinnedAllocator* a = new PinnedAllocator();
  return *a;
}

// A ring of pinned buffers for host transfers of ordinary (pageable) memory.
constexpr size_t kStagingBytes = size_t(4) << 20;
constexpr int kStagingBuffers = 4;

struct Device {
  int index = 0;
  std::unique_ptr<CachingAllocator> allocator;
  cudaStream_t stream = nullptr;
  cudaStream_t copy_stream = nullptr;  // Note [Overlapped uploads]
  DeviceErrorFlag* flag = nullptr;  // in device memory
  char* staging[kStagingBuffers] = {};
  cudaEvent_t staged[kStagingBuffers] = {};
  int next_staging = 0;
  std::mutex staging_mutex;
};

Device& device_state(int device) {
  static const int count = device_count();
  static std::vector<std::unique_ptr<Device>>* devices = new std::vector<std::unique_ptr<Device>>(count);
  static std::vector<std::once_flag>* once = new std::vector<std::once_flag>(count);
  EMBER_CHECK(device >= 0 && device < count, DeviceError, device_name(device), " is not available (", count,
              " CUDA device(s) visible)");
  std::call_once((*once)[device], [device] {
    auto d = std::make_unique<Device>();
    d->index = device;
    EMBER_CUDA_CHECK(cudaSetDevice(device));
    EMBER_CUDA_CHECK(cudaStreamCreateWithFlags(&d->stream, cudaStreamNonBlocking));
    EMBER_CUDA_CHECK(cudaStreamCreateWithFlags(&d->copy_stream, cudaStreamNonBlocking));
    {
      std::lock_guard<std::mutex> lock(streams_mutex);
      streams.push_back(d->stream);
      streams.push_back(d->copy_stream);  // pinned blocks are reused only after its copies too
    }
    d->allocator = std::make_unique<CachingAllocator>(
        device_name(device),
        [device](size_t n) -> void* {
          void* p = nullptr;
          if (cudaSetDevice(device) != cudaSuccess || cudaMalloc(&p, n) != cudaSuccess) {
            cudaGetLastError();  // an out-of-memory is reported by the allocator, with its statistics
            return nullptr;
          }
          return p;
        },
        [device](void* p) {
          cudaSetDevice(device);
          cudaFree(p);
        },
        /*caching=*/true);
    EMBER_CUDA_CHECK(cudaMalloc(&d->flag, sizeof(DeviceErrorFlag)));
    EMBER_CUDA_CHECK(cudaMemsetAsync(d->flag, 0, sizeof(DeviceErrorFlag), d->stream));
    for (int i = 0; i < kStagingBuffers; ++i) {
      EMBER_CUDA_CHECK(cudaHostAlloc(reinterpret_cast<void**>(&d->staging[i]), kStagingBytes, cudaHostAllocDefault));
      EMBER_CUDA_CHECK(cudaEventCreateWithFlags(&d->staged[i], cudaEventDisableTiming));
    }
    (*devices)[device] = std::move(d);
  });
  return *(*devices)[device];
}

}  // namespace

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device" error
    return 0;
  }
  return n;
}

CachingAllocator& device_allocator(int device) { return *device_state(device).allocator; }
void* device_stream(int device) { return device_state(device).stream; }
DeviceErrorFlag* error_flag(int device) { return device_state(device).flag; }

void copy_from_host(int device, void* dst, const void* src, size_t n) {
  check_not_capturing(device, "a copy from the host");
  Device& d = device_state(device);
  EMBER_CUDA_CHECK(cudaSetDevice(device));
  if (n > 0 && pinned().holds(src, n)) {  // Note [Pinned batches] in data/loader.h: no staging
    EMBER_CUDA_CHECK(cudaMemcpyAsync(dst, src, n, cudaMemcpyHostToDevice, d.stream));
    return;
  }
  std::lock_guard<std::mutex> lock(d.staging_mutex);
  for (size_t off = 0; off < n; off += kStagingBytes) {
    const size_t len = std::min(kStagingBytes, n - off);
    const int i = d.next_staging;
    d.next_staging = (i + 1) % kStagingBuffers;
    EMBER_CUDA_CHECK(cudaEventSynchronize(d.staged[i]));  // the buffer's last copy is done
    std::memcpy(d.staging[i], static_cast<const char*>(src) + off, len);
    EMBER_CUDA_CHECK(cudaMemcpyAsync(static_cast<char*>(dst) + off, d.staging[i], len, cudaMemcpyHostToDevice, d.stream));
    EMBER_CUDA_CHECK(cudaEventRecord(d.staged[i], d.stream));
  }
}

void* start_upload(int device, void* dst, const void* src, size_t n) {
  check_not_capturing(device, "an upload");
  Device& d = device_state(device);
  EMBER_CUDA_CHECK(cudaSetDevice(device));
  if (n == 0 || !pinned().holds(src, n)) {  // pageable memory goes through the staging ring, in stream order
    copy_from_host(device, dst, src, n);
    return nullptr;
  }
  // The events are destroyed on every path (a destroyed event is released
  // once the work waiting on it is done).
  struct Event {
    cudaEvent_t e = nullptr;
    ~Event() {
      if (e) cudaEventDestroy(e);
    }
  } after_queued, copied;
  EMBER_CUDA_CHECK(cudaEventCreateWithFlags(&after_queued.e, cudaEventDisableTiming));
  EMBER_CUDA_CHECK(cudaEventRecord(after_queued.e, d.stream));
  EMBER_CUDA_CHECK(cudaStreamWaitEvent(d.copy_stream, after_queued.e, 0));
  EMBER_CUDA_CHECK(cudaMemcpyAsync(dst, src, n, cudaMemcpyHostToDevice, d.copy_stream));
  EMBER_CUDA_CHECK(cudaEventCreateWithFlags(&copied.e, cudaEventDisableTiming));
  EMBER_CUDA_CHECK(cudaEventRecord(copied.e, d.copy_stream));
  return std::exchange(copied.e, nullptr);
}

void finish_upload(int device, void* upload) {
  if (!upload) return;
  check_not_capturing(device, "waiting for an upload");
  Device& d = device_state(device);
  cudaEvent_t copied = static_cast<cudaEvent_t>(upload);
  EMBER_CUDA_CHECK(cudaStreamWaitEvent(d.stream, copied, 0));
  EMBER_CUDA_CHECK(cudaEventDestroy(copied));
}

void copy_to_host(int device, void* dst, const void* src, size_t n) {
  check_not_capturing(device, "a copy to the host");
  Device& d = device_state(device);
  EMBER_CUDA_CHECK(cudaSetDevice(device));
  {
    std::lock_guard<std::mutex> lock(d.staging_mutex);
    for (size_t off = 0; off < n; off += kStagingBytes) {
      const size_t len = std::min(kStagingBytes, n - off);
      const int i = d.next_staging;
      d.next_staging = (i + 1) % kStagingBuffers;
      EMBER_CUDA_CHECK(cudaMemcpyAsync(d.staging[i], static_cast<const char*>(src) + off, len, cudaMemcpyDeviceToHost,
                                       d.stream));
      EMBER_CUDA_CHECK(cudaStreamSynchronize(d.stream));
      std::memcpy(static_cast<char*>(dst) + off, d.staging[i], len);
    }
    if (n == 0) EMBER_CUDA_CHECK(cudaStreamSynchronize(d.stream));
  }
  check_error_flag(device);
}

void copy_on_device(int device, void* dst, const void* src, size_t n) {
  if (n) EMBER_CUDA_CHECK(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToDevice, device_state(device).stream));
}

void synchronize(int device) {
  check_not_capturing(device, "synchronize");
  Device& d = device_state(device);  // first: it checks the index
  EMBER_CUDA_CHECK(cudaSetDevice(device));
  EMBER_CUDA_CHECK(cudaStreamSynchronize(d.stream));
  check_error_flag(device);
}

// On the device's own stream (non-blocking, so the legacy default stream
// would not be ordered with its kernels): the read waits for every kernel
// queued so far, and the clear comes before any queued later.
void check_error_flag(int device) {
  check_not_capturing(device, "the device error flag's check");
  Device& d = device_state(device);
  DeviceErrorFlag seen{};
  EMBER_CUDA_CHECK(cudaMemcpyAsync(&seen, d.flag, sizeof seen, cudaMemcpyDeviceToHost, d.stream));
  EMBER_CUDA_CHECK(cudaStreamSynchronize(d.stream));
  if (seen.code == 0) return;
  EMBER_CUDA_CHECK(cudaMemsetAsync(d.flag, 0, sizeof(DeviceErrorFlag), d.stream));
  throw_flagged(seen);
}

Allocator& pinned_allocator() { return pinned(); }

void after_launch(void* stream, const char* file, int line) {
  const cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess)
    throw DeviceError(detail::concat("kernel launch failed: ", cudaGetErrorString(err), " at ", file, ":", line));
  if (sync_after_launch() && !any_capture()) {  // a capturing stream may not be synchronized
    const cudaError_t sync = cudaStreamSynchronize(static_cast<cudaStream_t>(stream));
    if (sync != cudaSuccess)
      throw DeviceError(detail::concat("kernel failed (EMBER_CUDA_SYNC=1): ", cudaGetErrorString(sync), " in the launch at ",
                                       file, ":", line));
  }
}

#endif

}  // namespace ember::kernels::cuda
