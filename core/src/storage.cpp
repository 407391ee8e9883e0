#include "ember/core/storage.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "ember/core/error.h"

namespace ember {

namespace {

// See Note [CPU caching allocator].
class CpuAllocator final : public Allocator {
 public:
  CpuAllocator() {
#ifdef EMBER_SANITIZE
    caching_ = false;
#endif
    if (const char* env = std::getenv("EMBER_CPU_CACHE"); env && std::string(env) == "0") caching_ = false;
  }
  ~CpuAllocator() override { empty_cache(); }

  void* allocate(size_t nbytes) override {
    if (nbytes == 0) return nullptr;
    // Beyond 2^62 bytes the size class (the next power of two) would not fit
    // in a size_t; no machine has that memory anyway.
    if (nbytes > kMaxRequest) throw OutOfMemory(out_of_memory_message(nbytes));
    const size_t size = size_class(nbytes);
    std::lock_guard<std::mutex> lock(mutex_);
    void* p = nullptr;
    auto& list = free_[size];
    if (caching_ && !list.empty()) {
      p = list.back();
      list.pop_back();
      cached_ -= size;
      ++stats_.cache_hits;
    } else {
      p = std::aligned_alloc(64, size);
      if (!p && cached_ > 0) {  // what the cache holds may be what is missing: give it back, try once more
        release_cache_locked();
        p = std::aligned_alloc(64, size);
      }
      if (!p) throw OutOfMemory(out_of_memory_message(nbytes));
      ++stats_.cache_misses;
    }
    stats_.allocated += size;
    stats_.peak = std::max(stats_.peak, stats_.allocated);
    return p;
  }

  void deallocate(void* ptr, size_t nbytes) override {
    if (!ptr) return;
    const size_t size = size_class(nbytes);
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.allocated -= size;
    if (caching_ && cached_ + size <= kMaxCached) {
      free_[size].push_back(ptr);
      cached_ += size;
    } else {
      std::free(ptr);
    }
  }

  CpuMemoryStats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    CpuMemoryStats s = stats_;
    s.reserved = s.allocated + cached_;
    return s;
  }

  void empty_cache() {
    std::lock_guard<std::mutex> lock(mutex_);
    release_cache_locked();
  }

  bool set_caching(bool on) {
    bool old;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      old = caching_;
      caching_ = on;
    }
    if (!on) empty_cache();
    return old;
  }

 private:
  // The next power of two, at least 64 bytes: at most 2x waste, and few
  // classes, so blocks are reused often.
  static size_t size_class(size_t n) { return std::max<size_t>(64, std::bit_ceil(n)); }
  static constexpr size_t kMaxRequest = size_t(1) << 62;

  void release_cache_locked() {
    for (auto& [size, list] : free_)
      for (void* p : list) std::free(p);
    free_.clear();
    cached_ = 0;
  }

  // "out of CPU memory allocating 1125899906842624 bytes (1 PiB)": the exact
  // count for scripts, a readable one for people.
  static std::string out_of_memory_message(size_t nbytes) {
    const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = static_cast<double>(nbytes);
    int u = 0;
    while (v >= 1024 && u < 6) v /= 1024, ++u;
    char readable[32];
    std::snprintf(readable, sizeof readable, "%.4g %s", v, units[u]);
    return detail::concat("out of CPU memory allocating ", nbytes, " bytes (", readable,
                          "): the system refused it");
  }
  static constexpr size_t kMaxCached = size_t(4) << 30;  // never cache more than 4 GiB

  std::mutex mutex_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  size_t cached_ = 0;
  CpuMemoryStats stats_;
  bool caching_ = true;
};

CpuAllocator& the_cpu_allocator() {
  static CpuAllocator* alloc = new CpuAllocator();  // never destroyed: tensors may outlive static destructors
  return *alloc;
}

}  // namespace

Allocator& cpu_allocator() { return the_cpu_allocator(); }
CpuMemoryStats cpu_memory_stats() { return the_cpu_allocator().stats(); }
void cpu_empty_cache() { the_cpu_allocator().empty_cache(); }
bool set_cpu_caching(bool enabled) { return the_cpu_allocator().set_caching(enabled); }

Storage::Storage(size_t nbytes, Device device, Allocator& allocator)
    : data_(allocator.allocate(nbytes)), nbytes_(nbytes), device_(device), allocator_(allocator) {}

Storage::~Storage() {
  if (data_) allocator_.deallocate(data_, nbytes_);
}

}  // namespace ember
