// The CPU thread pool and parallel_for.
//
// One small persistent pool of std::threads serves every CPU kernel. A
// kernel hands it a range [begin, end) and a grain (the smallest chunk worth
// sending to another thread); parallel_for cuts the range into at most
// get_num_threads() contiguous chunks and calls f(chunk_begin, chunk_end) on
// each, the calling thread taking chunks too. It runs f(begin, end) inline,
// on the calling thread, when the range is no bigger than one grain, when
// the pool has one thread, or when called from inside another parallel_for
// (nested calls never wait on the pool, so they cannot deadlock).
//
// Note [Deterministic parallel kernels]
// Which chunks a thread gets depends on the thread count, so a kernel must
// never let its result depend on where the chunk boundaries fall:
// elementwise kernels split over output elements (each written by exactly
// one chunk); reductions over a long range cut it into blocks of a FIXED
// size (independent of the thread count), reduce each block, and combine the
// block partials in block order on the calling thread; GEMM splits over
// output tiles and keeps each tile's K loop in one fixed order. Results are
// then bitwise identical at any thread count (tests/test_parallel.cpp).
#pragma once

#include <cstdint>
#include <type_traits>

namespace ember {

/// Sets the number of threads CPU kernels use (the caller counts as one).
/// Throws ValueError if n < 1 or if called from inside a parallel_for.
void set_num_threads(int n);
/// The current thread count: EMBER_NUM_THREADS if set, else the number of cores.
int get_num_threads();
/// True while the calling thread runs a chunk of a parallel_for.
bool in_parallel_region();

namespace detail {
// The type-erased body: call(ctx, chunk_begin, chunk_end).
struct ChunkFn {
  void (*call)(void* ctx, int64_t begin, int64_t end);
  void* ctx;
};
// Runs the chunks on the pool; rethrows the first exception a chunk threw.
void parallel_run(int64_t begin, int64_t end, int64_t num_chunks, ChunkFn fn);
}  // namespace detail

/// Calls f(chunk_begin, chunk_end) over [begin, end) cut into chunks of at
/// least `grain` elements, in parallel when that gives more than one chunk.
template <typename F>
void parallel_for(int64_t begin, int64_t end, int64_t grain, F&& f) {
  if (end <= begin) return;
  const int64_t n = end - begin, g = grain < 1 ? 1 : grain;
  const int64_t by_grain = (n + g - 1) / g;
  const int64_t threads = get_num_threads();
  const int64_t chunks = by_grain < threads ? by_grain : threads;
  if (chunks <= 1 || in_parallel_region()) {
    f(begin, end);
    return;
  }
  using Fn = std::remove_reference_t<F>;
  detail::ChunkFn fn{[](void* ctx, int64_t b, int64_t e) { (*static_cast<Fn*>(ctx))(b, e); },
                     const_cast<void*>(static_cast<const void*>(&f))};
  detail::parallel_run(begin, end, chunks, fn);
}

}  // namespace ember
