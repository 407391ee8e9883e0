#include "ember/core/storage.h"

#include <cstdlib>
#include <new>

#include "ember/core/error.h"

namespace ember {

namespace {
class CpuAllocator final : public Allocator {
 public:
  void* allocate(size_t nbytes) override {
    if (nbytes == 0) return nullptr;
    size_t rounded = (nbytes + 63) / 64 * 64;  // aligned_alloc wants a multiple of the alignment
    void* p = std::aligned_alloc(64, rounded);
    EMBER_CHECK(p != nullptr, Error, "out of CPU memory allocating ", nbytes, " bytes");
    return p;
  }
  void deallocate(void* ptr, size_t) override { std::free(ptr); }
};
}  // namespace

Allocator& cpu_allocator() {
  static CpuAllocator alloc;
  return alloc;
}

Storage::Storage(size_t nbytes, Device device, Allocator& allocator)
    : data_(allocator.allocate(nbytes)), nbytes_(nbytes), device_(device), allocator_(allocator) {}

Storage::~Storage() {
  if (data_) allocator_.deallocate(data_, nbytes_);
}

}  // namespace ember
