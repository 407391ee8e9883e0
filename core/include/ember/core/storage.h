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

// 64-byte aligned host memory (a cache line, and an AVX-512 vector).
Allocator& cpu_allocator();

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
