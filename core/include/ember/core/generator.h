// The random number generator: Philox4x32-10 (Salmon et al., "Parallel
// random numbers: as easy as 1, 2, 3", SC'11), the counter-based generator
// cuRAND and PyTorch's CUDA backend use. Its state is just (seed, offset):
// output block k is philox(key = seed, counter = k), so a stream is
// reproducible across runs, machines and thread counts, can be saved in a
// checkpoint as two integers, and can later be computed in parallel on a GPU
// with the same results.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>

namespace ember {

class Generator {
 public:
  explicit Generator(uint64_t seed = 67280421310721ULL) { manual_seed(seed); }

  void manual_seed(uint64_t seed);
  uint64_t seed() const { return seed_; }
  // How many 128-bit blocks have been consumed; with seed() the full state.
  uint64_t offset() const { return offset_; }
  void set_offset(uint64_t offset) { offset_ = offset; }

  // Reserves n consecutive blocks and returns the first block's index; the
  // caller then computes them with philox(). Thread-safe.
  uint64_t reserve(uint64_t n_blocks);

  // One Philox4x32-10 block: four uniformly distributed 32-bit words.
  static std::array<uint32_t, 4> philox(uint64_t key, uint64_t counter);

 private:
  uint64_t seed_ = 0;
  uint64_t offset_ = 0;
  std::mutex mutex_;
};

// The process-wide generator behind rand/randn/randint and manual_seed.
Generator& default_generator();
// Seeds the default generator (like torch.manual_seed).
void manual_seed(uint64_t seed);

}  // namespace ember
