// The CUDA caching allocator (host-side bookkeeping; internal header).
//
// Note [CUDA caching allocator]
// cudaMalloc and cudaFree are slow (cudaFree synchronizes the device), and a
// training step frees and re-allocates the same sizes thousands of times.
// So freed blocks are kept and reused:
//   * requests are rounded up to 512 bytes, and served from segments that
//     the allocator gets from the device: 2 MiB segments for requests up to
//     1 MiB (the small pool), a segment of the request's own size (rounded
//     to 2 MiB) for larger ones (the large pool);
//   * a request takes the smallest free block that fits (best fit) and
//     splits off what it does not need when the rest is worth keeping (at
//     least 512 bytes in the small pool, 1 MiB in the large), and a freed
//     block merges with free neighbours of its segment;
//   * Ember runs each device's work on one stream, so a block freed on the
//     host may be handed out again at once: any kernel that still reads it
//     was queued earlier on the same stream and runs first (stream-ordered
//     reuse);
//   * statistics: bytes allocated (in live blocks), reserved (in segments),
//     the peak of allocated, and how many segments were requested;
//     empty_cache() gives back every segment that is entirely free;
//   * when the device refuses a segment, the cache is emptied and the
//     request tried once more, then OutOfMemory names the size and the
//     statistics.
//
// Note [Graph memory pools]
// A CUDA graph (Note [CUDA graphs] in runtime.h) bakes the addresses its
// kernels touch into the graph: between replays nobody else may get that
// memory. So while a graph is captured, its allocations come from a
// private pool: a block the capture allocates (from the pool's own free
// blocks first, split if worth it, then from the cache) belongs to the
// pool, and so does a block from before the capture that is freed during
// it (the captured kernels may have used it); freed, during the capture or
// after it, a pool's block returns to the pool, never to the cache: other
// allocations never see it. Inside the capture blocks are reused in
// stream order, as in an eager step, and the graph replays them in the
// same order. A capture may not get new device memory (cudaMalloc is not
// allowed during stream capture): the eager steps before it must have
// warmed the cache; otherwise the capture fails with a DeviceError. Without
// caching (the sanitizer builds) capture allocations are new segments, and
// freed ones are kept until the pool is released, so a replay never writes
// freed memory. release_pool (the graph's destructor) hands the pool's
// free blocks back to the cache and its live ones to it when they are freed.
// The same class serves the emulator (Note [SIMT emulator]) with host memory
// behind it; under the sanitizers it keeps nothing (every block is a segment
// of its own, returned when freed), so AddressSanitizer sees every overrun
// and use after free, as with the CPU allocator.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>

#include "ember/core/storage.h"
#include "ember/kernels/cuda.h"

namespace ember::kernels::cuda {

using ember::cuda::MemoryStats;  // ember/kernels/cuda.h

class CachingAllocator final : public Allocator {
 public:
  // raw_alloc returns nullptr when the device has no memory left.
  CachingAllocator(std::string device_name, std::function<void*(size_t)> raw_alloc,
                   std::function<void(void*)> raw_free, bool caching);
  ~CachingAllocator() override;

  void* allocate(size_t nbytes) override;
  void deallocate(void* ptr, size_t nbytes) override;
  MemoryStats stats();
  // Gives every entirely free segment back to the device.
  void empty_cache();
  // Refuses segments beyond this many bytes reserved (0: no limit), as a
  // full device would (ember::cuda::set_memory_limit).
  void set_limit(size_t bytes);

  // Note [Graph memory pools]: allocations go to a new private pool until
  // end_capture_pool(); the pool's id.
  int begin_capture_pool();
  void end_capture_pool();
  void release_pool(int pool);

  static constexpr size_t kRound = 512;
  static constexpr size_t kSmallRequest = size_t(1) << 20;  // up to 1 MiB: the small pool
  static constexpr size_t kSmallSegment = size_t(2) << 20;
  static constexpr size_t kLargeSplitMin = size_t(1) << 20;

 private:
  struct Block {
    char* ptr;
    size_t size;
    bool free = true;
    bool small = true;
    Block* prev = nullptr;  // neighbours in the same segment
    Block* next = nullptr;
    int pool = 0;  // 0: the cache; otherwise a graph's private pool
  };
  struct BySize {
    bool operator()(const Block* a, const Block* b) const {
      return a->size != b->size ? a->size < b->size : a->ptr < b->ptr;
    }
  };

  Block* find_free(size_t size, bool small);
  Block* adopt_neighbours(size_t size, bool small);  // Note [Graph memory pools]
  void split_in_pool(Block* b, size_t size);
  Block* new_segment(size_t size, bool small, size_t requested);
  void split(Block* b, size_t size);
  void merge_into(Block* b, Block* neighbour);
  void release_free_segments();
  void* allocate_in_pool(size_t nbytes);
  void return_to_cache(Block* b);

  std::string device_name_;
  std::function<void*(size_t)> raw_alloc_;
  std::function<void(void*)> raw_free_;
  bool caching_;
  size_t limit_ = 0;
  std::mutex mutex_;
  std::set<Block*, BySize> free_small_, free_large_;
  std::unordered_map<char*, Block*> live_;  // allocated blocks by address
  int capturing_ = 0;                       // the pool captures allocate from (0: none)
  int next_pool_ = 1;
  std::map<int, std::set<Block*, BySize>> pool_free_;  // each pool's freed blocks
  MemoryStats stats_;
};

}  // namespace ember::kernels::cuda
