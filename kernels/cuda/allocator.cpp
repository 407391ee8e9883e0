// The CUDA caching allocator; see Note [CUDA caching allocator] in allocator.h.
#include "allocator.h"

#include <algorithm>

#include "ember/core/error.h"

namespace ember::kernels::cuda {

namespace {
size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }
}  // namespace

CachingAllocator::CachingAllocator(std::string device_name, std::function<void*(size_t)> raw_alloc,
                                   std::function<void(void*)> raw_free, bool caching)
    : device_name_(std::move(device_name)), raw_alloc_(std::move(raw_alloc)), raw_free_(std::move(raw_free)),
      caching_(caching) {}

CachingAllocator::~CachingAllocator() {
  // Tensors may outlive static destruction; blocks still live are left to the process's end.
  std::lock_guard<std::mutex> lock(mutex_);
  capturing_ = 0;
  for (auto& [pool, blocks] : pool_free_)  // graphs outliving the allocator: their free blocks go too
    for (Block* b : blocks) {
      b->pool = 0;
      return_to_cache(b);
    }
  pool_free_.clear();
  release_free_segments();
}

void* CachingAllocator::allocate(size_t nbytes) {
  if (nbytes == 0) return nullptr;
  std::lock_guard<std::mutex> lock(mutex_);
  if (capturing_) return allocate_in_pool(nbytes);
  // Without caching every block is a segment of its exact size, so that the
  // sanitizers see an overrun by one element.
  const size_t size = caching_ ? round_up(nbytes, kRound) : nbytes;
  const bool small = size <= kSmallRequest;
  Block* b = caching_ ? find_free(size, small) : nullptr;
  if (b) {
    ++stats_.cache_hits;
  } else {
    b = new_segment(caching_ ? (small ? kSmallSegment : round_up(size, kSmallSegment)) : size, small, nbytes);
  }
  (small ? free_small_ : free_large_).erase(b);
  if (caching_) split(b, size);
  b->free = false;
  live_[b->ptr] = b;
  stats_.allocated += b->size;
  stats_.peak = std::max(stats_.peak, stats_.allocated);
  return b->ptr;
}

void CachingAllocator::deallocate(void* ptr, size_t) {
  if (!ptr) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = live_.find(static_cast<char*>(ptr));
  if (it == live_.end()) return;  // never throws from a destructor; not ours
  Block* b = it->second;
  live_.erase(it);
  stats_.allocated -= b->size;
  b->free = true;
  // A block from before the capture, freed during it: the captured kernels
  // may have used it, so the graph keeps it (Note [Graph memory pools]).
  if (b->pool == 0 && capturing_) b->pool = capturing_;
  if (b->pool) {  // Note [Graph memory pools]: back to its pool
    // Free neighbours of the same pool merge, as in the cache.
    auto& own = pool_free_[b->pool];
    if (b->prev && b->prev->free && b->prev->pool == b->pool) {
      Block* p = b->prev;
      own.erase(p);
      merge_into(p, b);
      b = p;
    }
    if (b->next && b->next->free && b->next->pool == b->pool) {
      own.erase(b->next);
      merge_into(b, b->next);
    }
    own.insert(b);
    return;
  }
  return_to_cache(b);
}

void CachingAllocator::return_to_cache(Block* b) {
  if (!caching_) {  // the block is its segment: give it back now
    raw_free_(b->ptr);
    stats_.reserved -= b->size;
    delete b;
    return;
  }
  // A free neighbour in a graph's pool stays apart (Note [Graph memory pools]).
  if (b->prev && b->prev->free && b->prev->pool == 0) {
    Block* p = b->prev;
    (p->small ? free_small_ : free_large_).erase(p);
    merge_into(p, b);
    b = p;
  }
  if (b->next && b->next->free && b->next->pool == 0) {
    (b->small ? free_small_ : free_large_).erase(b->next);
    merge_into(b, b->next);
  }
  (b->small ? free_small_ : free_large_).insert(b);
}

// Note [Graph memory pools]
void* CachingAllocator::allocate_in_pool(size_t nbytes) {
  const size_t size = caching_ ? round_up(nbytes, kRound) : nbytes;
  const bool small = size <= kSmallRequest;
  Block* b = nullptr;
  auto& own = pool_free_[capturing_];
  if (caching_) {
    Block key{nullptr, size};
    for (auto it = own.lower_bound(&key); it != own.end(); ++it)  // the pool's smallest fit of the class
      if ((*it)->small == small) {
        b = *it;
        own.erase(it);
        ++stats_.cache_hits;
        break;
      }
    if (b) split_in_pool(b, size);
  }
  if (!b) {
    b = caching_ ? find_free(size, small) : nullptr;
    if (!b && caching_) b = adopt_neighbours(size, small);
    if (b) ++stats_.cache_hits;
    EMBER_CHECK(b || !caching_, DeviceError, device_name_, ": a CUDA graph capture needs ", nbytes,
                " bytes that the memory cache does not hold, and may not ask the device for more (cudaMalloc is "
                "not allowed during capture); run the step eagerly first, so that the cache holds what it needs");
    if (!b) b = new_segment(size, small, nbytes);
    (small ? free_small_ : free_large_).erase(b);
    if (caching_) split(b, size);
    b->pool = capturing_;
  }
  b->free = false;
  live_[b->ptr] = b;
  stats_.allocated += b->size;
  stats_.peak = std::max(stats_.peak, stats_.allocated);
  return b->ptr;
}

int CachingAllocator::begin_capture_pool() {
  std::lock_guard<std::mutex> lock(mutex_);
  EMBER_CHECK(capturing_ == 0, DeviceError, device_name_, ": a CUDA graph capture is already under way");
  capturing_ = next_pool_++;
  pool_free_[capturing_];
  return capturing_;
}

void CachingAllocator::end_capture_pool() {
  std::lock_guard<std::mutex> lock(mutex_);
  capturing_ = 0;
}

void CachingAllocator::release_pool(int pool) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (capturing_ == pool) capturing_ = 0;
  for (auto& [ptr, b] : live_)
    if (b->pool == pool) b->pool = 0;  // freed later, to the cache
  auto it = pool_free_.find(pool);
  if (it == pool_free_.end()) return;
  for (Block* b : it->second) {
    b->pool = 0;
    return_to_cache(b);
  }
  pool_free_.erase(it);
}

// Cuts b (a block of a pool) to `size` if the rest is worth keeping apart;
// the rest stays in b's pool, free.
void CachingAllocator::split_in_pool(Block* b, size_t size) {
  if (b->size - size < (b->small ? kRound : kLargeSplitMin)) return;
  Block* r = new Block{b->ptr + size, b->size - size};
  r->small = b->small;
  r->pool = b->pool;
  r->prev = b;
  r->next = b->next;
  if (b->next) b->next->prev = r;
  b->next = r;
  b->size = size;
  pool_free_[b->pool].insert(r);
}

// No single free block fits a capture's request: one of the pool's free
// blocks together with the free cached memory around it may. The eager step
// the capture repeats would have put the tensor across both (a freed block
// and its free neighbour merge in the cache, but a pool's block stays apart
// from the cache's), so without this the capture could need memory the
// eager steps never did. The pool adopts those neighbours (nothing else
// allocates during a capture); the merged block leaves the pool's free set,
// cut to the request, its rest staying in the pool (part of it may be memory
// the captured kernels used). An adopted cached neighbour much larger than
// the request stays the pool's until the graph goes: memory kept, never
// wrong memory.
CachingAllocator::Block* CachingAllocator::adopt_neighbours(size_t size, bool small) {
  auto& own = pool_free_[capturing_];
  auto adoptable = [&](Block* n) { return n && n->free && n->pool == 0; };
  for (Block* b : own) {
    if (b->small != small) continue;
    size_t total = b->size;
    if (adoptable(b->prev)) total += b->prev->size;
    if (adoptable(b->next)) total += b->next->size;
    if (total < size) continue;
    own.erase(b);
    if (adoptable(b->prev)) {
      Block* p = b->prev;
      (p->small ? free_small_ : free_large_).erase(p);
      merge_into(p, b);
      b = p;
    }
    if (adoptable(b->next)) {
      (b->small ? free_small_ : free_large_).erase(b->next);
      merge_into(b, b->next);
    }
    b->pool = capturing_;
    split_in_pool(b, size);  // the rest stays the pool's: captured kernels may have used part of it
    return b;
  }
  return nullptr;
}

CachingAllocator::Block* CachingAllocator::find_free(size_t size, bool small) {
  auto& pool = small ? free_small_ : free_large_;
  Block key{nullptr, size};
  auto it = pool.lower_bound(&key);  // the smallest block of at least `size` bytes
  return it == pool.end() ? nullptr : *it;
}

CachingAllocator::Block* CachingAllocator::new_segment(size_t size, bool small, size_t requested) {
  void* p = (limit_ && stats_.reserved + size > limit_) ? nullptr : raw_alloc_(size);
  if (!p && caching_) {  // give back what is cached, and try once more
    release_free_segments();
    p = (limit_ && stats_.reserved + size > limit_) ? nullptr : raw_alloc_(size);
  }
  EMBER_CHECK(p != nullptr, OutOfMemory, device_name_, ": out of memory allocating ", requested,
              " bytes (a segment of ", size, "; allocated ", stats_.allocated, ", reserved ", stats_.reserved,
              ", peak ", stats_.peak, ", ", stats_.segments, " segments requested",
              limit_ ? detail::concat(", limit ", limit_) : std::string(), ")");
  ++stats_.segments;
  stats_.reserved += size;
  Block* b = new Block{static_cast<char*>(p), size};
  b->small = small;
  (small ? free_small_ : free_large_).insert(b);
  return b;
}

// Keeps the first `size` bytes of free block b (already out of its pool)
// and returns the rest to the pool, if the rest is worth keeping.
void CachingAllocator::split(Block* b, size_t size) {
  const size_t rest = b->size - size;
  if (rest < (b->small ? kRound : kLargeSplitMin)) return;
  Block* r = new Block{b->ptr + size, rest};
  r->small = b->small;
  r->prev = b;
  r->next = b->next;
  if (b->next) b->next->prev = r;
  b->next = r;
  b->size = size;
  (r->small ? free_small_ : free_large_).insert(r);
}

// Absorbs the free `neighbour` (just after b in its segment) into b.
void CachingAllocator::merge_into(Block* b, Block* neighbour) {
  b->size += neighbour->size;
  b->next = neighbour->next;
  if (b->next) b->next->prev = b;
  delete neighbour;
}

void CachingAllocator::release_free_segments() {
  for (auto* pool : {&free_small_, &free_large_})
    for (auto it = pool->begin(); it != pool->end();) {
      Block* b = *it;
      if (b->prev || b->next) {  // part of a segment that is still in use
        ++it;
        continue;
      }
      raw_free_(b->ptr);
      stats_.reserved -= b->size;
      it = pool->erase(it);
      delete b;
    }
}

MemoryStats CachingAllocator::stats() {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mutex_);
  release_free_segments();
}

void CachingAllocator::set_limit(size_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  limit_ = bytes;
}

}  // namespace ember::kernels::cuda
