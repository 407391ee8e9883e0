// Storage: one block of device memory shared by a tensor and all its views.
//
// An Allocator hands out raw blocks for one device. Storage owns one block
// (RAII: freed when the last tensor using it goes away). CPU memory comes
// from the CPU allocator below; the CUDA allocator lives in kernels/cuda and
// is reached through the backend registry, so core never includes a CUDA
// header.
#pragma once

#include <cstddef>
#include <memory>

#include "ember/core/device.h"

namespace ember {

class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual void* allocate(size_t nbytes) = 0;
  virtual void deallocate(void* ptr, size_t nbytes) = 0;
};

// Note [CPU caching allocator]
// Host memory, 64-byte aligned (a cache line, an AVX-512 vector), from a
// caching allocator: a freed block goes onto a free list for its size class
// (sizes are rounded up to a power of two) and the next request of that
// class reuses it. On virtual machines touching fresh pages costs
// microseconds per 4 KiB, which for a training step's many large
// temporaries (im2col buffers, gradients) can cost more than the
// arithmetic. Sanitizer builds (EMBER_SANITIZE) and EMBER_CPU_CACHE=0 in the
// environment bypass the cache, so AddressSanitizer still sees every
// use-after-free.
Allocator& cpu_allocator();

struct CpuMemoryStats {
  size_t allocated = 0;  // bytes in live tensors (rounded to size classes)
  size_t reserved = 0;   // allocated + cached for reuse
  size_t peak = 0;       // highest `allocated` so far
  size_t cache_hits = 0, cache_misses = 0;
};
CpuMemoryStats cpu_memory_stats();
// Returns every cached block to the system.
void cpu_empty_cache();
// Turns caching on or off (off also empties the cache); returns the old setting.
bool set_cpu_caching(bool enabled);

class Storage {
 public:
  Storage(size_t nbytes, Device device, Allocator& allocator);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

 private:
  void* data_;
  size_t nbytes_;
  Device device_;
  Allocator& allocator_;
};

}  // namespace ember
