// The CUDA caching allocator's bookkeeping (Note [CUDA caching allocator]
// in kernels/cuda/allocator.h), on a fake device: host memory behind
// counted allocate/free functions and a capacity, so that rounding, reuse,
// splitting, merging, statistics, empty_cache and out-of-memory are checked
// in every preset, with or without CUDA.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <map>

#include "allocator.h"
#include "support.h"

using namespace ember;
using ember::kernels::cuda::CachingAllocator;

namespace {

constexpr size_t KiB = 1024, MiB = 1024 * 1024;

// A device of `capacity` bytes that counts its segments.
struct FakeDevice {
  size_t capacity, used = 0;
  int mallocs = 0, frees = 0;
  std::map<void*, size_t> live;
  explicit FakeDevice(size_t cap) : capacity(cap) {}
  CachingAllocator allocator(bool caching = true) {
    return CachingAllocator(
        "cuda:7 (fake)",
        [this](size_t n) -> void* {
          if (used + n > capacity) return nullptr;
          void* p = std::aligned_alloc(512, (n + 511) / 512 * 512);
          used += n;
          ++mallocs;
          live[p] = n;
          return p;
        },
        [this](void* p) {
          used -= live.at(p);
          live.erase(p);
          ++frees;
          std::free(p);
        },
        caching);
  }
};

// The allocator under test, giving back whatever a test leaves allocated
// (and then every segment), so that LeakSanitizer sees no leak.
class Pool {
 public:
  explicit Pool(FakeDevice& dev, bool caching = true) : a_(dev.allocator(caching)) {}
  ~Pool() {
    for (auto [p, n] : live_) a_.deallocate(p, n);
    a_.empty_cache();
  }
  void* allocate(size_t n) {
    void* p = a_.allocate(n);
    live_[p] = n;
    return p;
  }
  void deallocate(void* p, size_t n) {
    live_.erase(p);
    a_.deallocate(p, n);
  }
  ember::cuda::MemoryStats stats() { return a_.stats(); }
  void empty_cache() { a_.empty_cache(); }
  void set_limit(size_t n) { a_.set_limit(n); }
  int begin_capture_pool() { return a_.begin_capture_pool(); }
  void end_capture_pool() { a_.end_capture_pool(); }
  void release_pool(int pool) { a_.release_pool(pool); }

 private:
  CachingAllocator a_;
  std::map<void*, size_t> live_;
};

}  // namespace

TEST_CASE("the caching allocator rounds requests and carves small ones from 2 MiB segments", "[cuda_allocator]") {
  FakeDevice dev(64 * MiB);
  Pool a(dev);
  char* p = static_cast<char*>(a.allocate(1));
  CHECK(a.stats().allocated == 512);
  CHECK(a.stats().reserved == 2 * MiB);
  CHECK(a.stats().segments == 1);
  char* q = static_cast<char*>(a.allocate(700));  // 1024 after rounding, split off the same segment
  CHECK(q == p + 512);
  CHECK(a.stats().allocated == 512 + 1024);
  CHECK(a.stats().segments == 1);
  CHECK(dev.mallocs == 1);
  a.deallocate(q, 700);
  a.deallocate(p, 1);
  CHECK(a.stats().allocated == 0);
  CHECK(a.stats().peak == 1536);
}

TEST_CASE("the caching allocator reuses freed blocks, best fit, and merges free neighbours", "[cuda_allocator]") {
  FakeDevice dev(64 * MiB);
  Pool a(dev);
  char* x = static_cast<char*>(a.allocate(512));
  char* y = static_cast<char*>(a.allocate(512));
  char* z = static_cast<char*>(a.allocate(4 * KiB));
  char* w = static_cast<char*>(a.allocate(1 * KiB));
  char* keep = static_cast<char*>(a.allocate(512));  // keeps the tail of the segment in use
  REQUIRE(y == x + 512);
  a.deallocate(z, 4 * KiB);
  a.deallocate(w, 1 * KiB);  // merges with z's block: 5 KiB free at z
  a.deallocate(x, 512);
  a.deallocate(y, 512);  // merges with x: 1 KiB free at x
  // Every request after the first was served from the segment (a hit).
  const size_t hits = a.stats().cache_hits;
  CHECK(hits == 4);
  // Best fit: 1 KiB comes from the 1 KiB hole at x, not the 5 KiB one at z.
  CHECK(a.allocate(1 * KiB) == x);
  CHECK(a.stats().cache_hits == hits + 1);
  // The 5 KiB hole (z and w merged) serves 5 KiB whole.
  CHECK(a.allocate(5 * KiB) == z);
  CHECK(a.stats().cache_hits == hits + 2);
  CHECK(dev.mallocs == 1);
  (void)keep;
}

TEST_CASE("the caching allocator serves large requests from their own segments, split when worth it",
          "[cuda_allocator]") {
  FakeDevice dev(64 * MiB);
  Pool a(dev);
  char* big = static_cast<char*>(a.allocate(3 * MiB));  // a 4 MiB segment
  CHECK(a.stats().reserved == 4 * MiB);
  a.deallocate(big, 3 * MiB);
  char* again = static_cast<char*>(a.allocate(2 * MiB + 1));  // reuses it; the rest (2 MiB - 512) is split off
  CHECK(again == big);
  char* rest = static_cast<char*>(a.allocate(1 * MiB + 512));
  CHECK(rest == big + 2 * MiB + 512);
  CHECK(dev.mallocs == 1);
  CHECK(a.stats().reserved == 4 * MiB);
}

TEST_CASE("empty_cache gives back only the segments that hold no live block", "[cuda_allocator]") {
  FakeDevice dev(64 * MiB);
  Pool a(dev);
  void* small = a.allocate(1 * KiB);
  void* big = a.allocate(8 * MiB);
  void* other = a.allocate(3 * MiB);
  a.deallocate(big, 8 * MiB);
  a.empty_cache();
  CHECK(dev.frees == 1);
  CHECK(a.stats().reserved == 2 * MiB + 4 * MiB);
  a.deallocate(small, 1 * KiB);
  a.deallocate(other, 3 * MiB);
  a.empty_cache();
  CHECK(a.stats().reserved == 0);
  CHECK(dev.live.empty());
}

TEST_CASE("out of memory: the cache is emptied and the request retried, then OutOfMemory with the statistics",
          "[cuda_allocator]") {
  FakeDevice dev(10 * MiB);
  Pool a(dev);
  void* p = a.allocate(6 * MiB);
  a.deallocate(p, 6 * MiB);  // cached: the device is 6 MiB full of nothing
  void* q = a.allocate(8 * MiB);  // fits only once the cached segment is given back
  CHECK(q != nullptr);
  CHECK(a.stats().reserved == 8 * MiB);
  REQUIRE_THROWS_WITH_ALL(a.allocate(4 * MiB - 100), OutOfMemory,
                          "cuda:7 (fake): out of memory allocating 4194204 bytes", "a segment of 4194304",
                          "allocated 8388608", "reserved 8388608", "peak 8388608", "2 segments requested");
  a.deallocate(q, 8 * MiB);
  CHECK(a.allocate(4 * MiB) != nullptr);  // the failed request left the allocator usable
}

TEST_CASE("a memory limit makes the allocator refuse segments beyond it", "[cuda_allocator]") {
  FakeDevice dev(64 * MiB);
  Pool a(dev);
  a.set_limit(4 * MiB);
  void* p = a.allocate(1 * MiB);
  CHECK(p != nullptr);
  REQUIRE_THROWS_WITH_ALL(a.allocate(3 * MiB), OutOfMemory, "out of memory allocating 3145728 bytes",
                          "a segment of 4194304", "limit 4194304");
  a.set_limit(0);
  CHECK(a.allocate(3 * MiB) != nullptr);
}

TEST_CASE("without caching every block is an exact-sized segment, returned when freed", "[cuda_allocator]") {
  FakeDevice dev(64 * MiB);
  Pool a(dev, /*caching=*/false);
  void* p = a.allocate(10);
  void* q = a.allocate(10);
  CHECK(dev.live.at(p) == 10);  // an overrun of one byte is past the segment: ASan sees it
  CHECK(a.stats().segments == 2);
  a.deallocate(p, 10);
  a.deallocate(q, 10);
  CHECK(dev.live.empty());
  CHECK(a.stats().reserved == 0);
  CHECK(a.stats().cache_hits == 0);
}

TEST_CASE("a graph's pool keeps its blocks from other allocations until it is released", "[cuda_allocator]") {
  FakeDevice dev(64 * MiB);
  Pool a(dev);
  void* warm = a.allocate(8 * KiB);  // an eager step warms the cache
  a.deallocate(warm, 8 * KiB);
  const int pool = a.begin_capture_pool();
  char* x = static_cast<char*>(a.allocate(1 * KiB));  // from the cache, now the pool's
  a.deallocate(x, 1 * KiB);                            // freed during the capture: back to the pool
  CHECK(a.allocate(1 * KiB) == x);                     // reused inside the capture, in stream order
  char* kept = static_cast<char*>(a.allocate(2 * KiB));
  a.deallocate(kept, 2 * KiB);
  // No new device memory during a capture: the cache must be warm.
  REQUIRE_THROWS_WITH_ALL(a.allocate(16 * MiB), DeviceError, "CUDA graph capture", "cudaMalloc",
                          "run the step eagerly first");
  a.end_capture_pool();
  CHECK(dev.mallocs == 1);
  // After the capture nobody else gets the pool's blocks, freed or not.
  for (int i = 0; i < 8; ++i) {
    void* p = a.allocate(2 * KiB);
    CHECK(p != kept);
    CHECK(p != x);
  }
  a.deallocate(x, 1 * KiB);  // freed after the capture: still the pool's
  CHECK(a.allocate(1 * KiB) != x);
  a.release_pool(pool);  // the graph is gone: its free blocks return to the cache
  bool reused = false;
  for (int i = 0; i < 64 && !reused; ++i) {
    void* p = a.allocate(2 * KiB);
    reused = p == kept || p == x;  // x's hole and kept's may have merged
  }
  CHECK(reused);
  const int second = a.begin_capture_pool();
  REQUIRE_THROWS_WITH(a.begin_capture_pool(), Catch::Contains("already under way"));
  a.end_capture_pool();
  a.release_pool(second);
}

TEST_CASE("a capture puts a tensor across its pool's freed block and the free cache beside it", "[cuda_allocator]") {
  // The eager step would have: p1 freed merges with the free p2 in the
  // cache. In a capture p1 goes to the pool, p2 stays the cache's, and
  // neither alone holds 1 MiB; the pool adopts p2.
  FakeDevice dev(64 * MiB);
  Pool a(dev);
  char* p1 = static_cast<char*>(a.allocate(512 * KiB));  // one 2 MiB segment, filled
  void* p2 = a.allocate(512 * KiB);
  void* p3 = a.allocate(1 * MiB);
  a.deallocate(p2, 512 * KiB);
  const int pool = a.begin_capture_pool();
  a.deallocate(p1, 512 * KiB);
  CHECK(a.allocate(1 * MiB) == p1);
  a.end_capture_pool();
  CHECK(dev.mallocs == 1);
  a.release_pool(pool);
  a.deallocate(p3, 1 * MiB);
}

TEST_CASE("without caching a graph's freed blocks are kept until the pool is released", "[cuda_allocator]") {
  FakeDevice dev(64 * MiB);
  Pool a(dev, /*caching=*/false);
  const int pool = a.begin_capture_pool();
  void* p = a.allocate(100);  // a new exact segment: the sanitizer builds may
  a.deallocate(p, 100);       // ... but a replay still writes it: kept
  a.end_capture_pool();
  CHECK(dev.live.count(p) == 1);
  a.release_pool(pool);
  CHECK(dev.live.empty());
}

TEST_CASE("a block from before a capture, freed during it, stays the graph's", "[cuda_allocator]") {
  FakeDevice dev(64 * MiB);
  Pool a(dev);
  void* old = a.allocate(4 * KiB);  // a tensor the captured kernels may read, then drop
  const int pool = a.begin_capture_pool();
  a.deallocate(old, 4 * KiB);
  a.end_capture_pool();
  bool taken = false;
  for (int i = 0; i < 8; ++i) taken |= a.allocate(4 * KiB) == old;
  CHECK_FALSE(taken);  // a replay may still touch it
  a.release_pool(pool);
  CHECK(a.allocate(4 * KiB) == old);
}
