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

  // Note [Graph-safe random streams]
  // A CUDA graph freezes the Philox offset each random kernel was launched
  // with, so every replay would draw the same dropout masks. While a device
  // base is set, reserve() still advances offset(), but the random
  // primitives pass the kernels offset - base_offset and a pointer to a
  // uint64 in device memory (ExecContext::philox_base) that the kernel adds
  // when it runs. The host writes the step's first offset there before the
  // work runs, eagerly or as a replay, so the masks are the eager ones, bit
  // for bit, on every replay. examples/mnist/graphed_step.cpp drives it.
  void set_device_base(const uint64_t* device_base, uint64_t base_offset) {
    device_base_ = device_base;
    base_offset_ = base_offset;
  }
  const uint64_t* device_base() const { return device_base_; }
  uint64_t base_offset() const { return base_offset_; }

 private:
  uint64_t seed_ = 0;
  uint64_t offset_ = 0;
  const uint64_t* device_base_ = nullptr;
  uint64_t base_offset_ = 0;
  std::mutex mutex_;
};

// Note [Philox streams]
// Every random tensor is made from consecutive Philox blocks, reserved from
// a Generator (reserve(n) returns the first block's index, the offset):
//  * uniform element i is block offset + i/2's words (2(i%2), 2(i%2)+1),
//    joined as 64 bits and cut to 53, times 2^-53: a double in [0, 1),
//    then rounded to the tensor's dtype;
//  * normal elements 2k and 2k+1 are Box-Muller of block offset + k's two
//    doubles (u1, u2): r = sqrt(-2 log1p(-u1)), theta = 2 pi u2, then
//    r cos(theta) and r sin(theta), computed in double and rounded;
//  * dropout's mask at element i is T(1)/T(1 - p) where T(u_i) < T(1 - p),
//    else 0 (T the tensor's dtype).
// Two numbers per block, so n numbers take (n + 1) / 2 blocks. Element i
// depends on (seed, offset, i) alone: any thread or GPU lane can make it,
// and every backend gives the same bits for uniforms and masks. Normals are
// the same bits where a backend uses the same log, sin and cos as the CPU
// (the C library's); a backend with its own (CUDA's) may differ by up to 2
// ulp, which tests/op_tables_nn.cpp allows off the CPU. These are the bits
// the CPU made before the random entries were primitives, so checkpoints
// and exact resume carry over.
//
// The process-wide generator behind rand/randn/randint and manual_seed.
Generator& default_generator();
// Seeds the default generator (like torch.manual_seed).
void manual_seed(uint64_t seed);

}  // namespace ember
