// How ember-bench times one row (docs/benchmarks.md, "How a row is timed"):
// the way NVIDIA's nvbench and Triton's do_bench do it.
//
// Note [Timing a row]
// 1. One untimed call: lazy set-up (a cuDNN algorithm search, the memory
//    cache's first segment) must not land in a sample.
// 2. An estimate: three flushed, timed repetitions; their median sizes the
//    rest, so a 5 µs kernel and a 50 ms GEMM both get a sensible count.
//    The host's clock around them gives what one repetition costs the time
//    limit, the flush included.
// 3. Warm-up: repetitions for `warmup_ms` (at least one), untimed. A GPU
//    ramps its clock up under load; the first calls also fill the TLBs and
//    the instruction cache.
// 4. Repetitions for `rep_ms` (clamped to [min_reps, max_reps]), each with
//    its own start and end mark. Cold (the default): the cache flush runs
//    before each one, outside the marks, so every repetition reads its
//    inputs from memory, not from the previous repetition's L2 (a 4096^2
//    float matrix is 64 MiB; the H200's L2 holds most of it). Hot: no
//    flush, for kernels whose data lives in cache in real use.
// 5. The noise criterion: while the interquartile range is more than
//    `noise_bound` of the median, add another batch, until the row's time
//    limit (`max_row_s`, everything above included) or max_reps is reached.
//    A row that never settles is reported with `converged` false, not
//    dropped.
// On a GPU the marks are CUDA events on the device's stream, recorded
// without waiting in between, so the host queues work ahead and the launch
// latency is hidden, as it is in a training step; the events are read once
// the batch is done. On the CPU they are the steady clock.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "stats.h"

namespace ember::bench {

struct TimingOptions {
  double warmup_ms = 25;      // do_bench's default
  double rep_ms = 100;        // the first batch of repetitions
  int min_reps = 5, max_reps = 10000;
  double noise_bound = 0.05;  // IQR / median
  double max_row_s = 2;       // the whole row, estimate and warm-up included
  bool cold = true;           // flush the cache before each repetition
};

// Marks the start and end of numbered repetitions, and reads their times.
class RepClock {
 public:
  virtual ~RepClock() = default;
  // Repetitions 0 .. reps-1 are about to be marked.
  virtual void reset(int reps) = 0;
  virtual void begin(int rep) = 0;
  virtual void end(int rep) = 0;
  // Each repetition's time in milliseconds (waits for the device).
  virtual std::vector<double> elapsed_ms() = 0;
};

// The host's steady clock (the CPU mode).
class HostClock final : public RepClock {
 public:
  void reset(int reps) override;
  void begin(int rep) override;
  void end(int rep) override;
  std::vector<double> elapsed_ms() override;

 private:
  std::vector<std::chrono::steady_clock::time_point> begin_, end_;
};

// CUDA events on cuda:`device`'s stream (ember::cuda::Event).
std::unique_ptr<RepClock> make_event_clock(int device);

struct Timed {
  Summary ms;              // per repetition
  int warmup = 0;          // warm-up repetitions run
  bool converged = false;  // the noise criterion was met
  double wall_s = 0;       // the row's whole time
};

// Times `run` (Note [Timing a row]). `flush` evicts the cache (unused when
// hot); `seconds` is the clock the time limit reads (a parameter so the
// tests can drive the loop).
Timed measure(const std::function<void()>& run, const std::function<void()>& flush, RepClock& clock,
              const TimingOptions& options, const std::function<double()>& seconds = {});

// Note [Flushing the cache]
// A buffer twice the size of the cache, written whole and then read whole
// before a cold repetition. Twice: replacement is not strict LRU, and
// Hopper's L2 is two partitions whose data may be duplicated, so touching
// exactly its size is not enough. Written then read: after the reads the
// cache holds clean lines, so the timed call's misses do not also write
// back the flush's dirty ones on the call's clock. Rounded up to whole MiB,
// at least 1 MiB (a cache of unknown size still gets a buffer).
size_t flush_bytes(size_t cache_bytes);
// A sysfs cache size, "32768K", "1M" or "512", in bytes; 0 if malformed.
size_t parse_cache_size(const std::string& text);
// The largest cache of CPU 0 that sysfs lists under `dir` (index*/size); 0
// if none can be read.
size_t cpu_cache_bytes(const std::string& dir = "/sys/devices/system/cpu/cpu0/cache");

}  // namespace ember::bench
