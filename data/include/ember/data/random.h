// The data pipeline's randomness: epoch shuffles and augmentation draws.
//
// Note [Data randomness]
// Every random choice the data pipeline makes is a pure function of the
// loader's seed, the epoch number and (for augmentation) the example's
// dataset index. Nothing depends on a running generator state, on thread
// timing, or on how many epochs ran before. So a run resumed at epoch e
// from a checkpoint sees exactly the batches an uninterrupted run sees, and
// prefetching on another thread cannot change a single bit.
//
// It is Philox4x32-10 (core's Generator::philox), counter-based: a block is
// philox(key, counter), no state. Each use gets its own key, derived from
// the seed and a stream id with a SplitMix64 mix, so streams never overlap:
//
//   shuffle of epoch e:          key = derive_key(seed, kShuffleStream)
//                                counter = e * 2^32 + b   for blocks b = 0, 1, ...
//   shift of example i in e:     key = derive_key(seed, kShiftStream)
//                                counter = e * 2^32 + i   (one block)
//   flip of example i in e:      key = derive_key(seed, kFlipStream)
//                                counter = e * 2^32 + i   (one block)
//   crop of example i in e:      key = derive_key(seed, kCropStream)
//                                counter = e * 2^32 + i   (one block)
//
// Hence epochs and indices must be below 2^32. The shuffle is Fisher-Yates
// with exact (rejection-sampled, Lemire) uniform draws from the stream's
// 32-bit words.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace ember::data {

inline constexpr uint64_t kShuffleStream = 1;
inline constexpr uint64_t kShiftStream = 2;
inline constexpr uint64_t kFlipStream = 3;
inline constexpr uint64_t kCropStream = 4;

/// SplitMix64 of seed and stream: a well-mixed Philox key per stream.
uint64_t derive_key(uint64_t seed, uint64_t stream);

/// 32-bit words from Philox blocks (key, base + 0), (key, base + 1), ...
class PhiloxWords {
 public:
  PhiloxWords(uint64_t key, uint64_t counter_base) : key_(key), counter_(counter_base) {}
  uint32_t next();
  /// Uniform in [0, bound) without bias (Lemire's multiply-and-reject).
  uint32_t below(uint32_t bound);

 private:
  uint64_t key_, counter_;
  uint32_t words_[4] = {};
  int used_ = 4;
};

/// A permutation of 0..n-1 that depends only on (seed, epoch).
std::vector<int64_t> shuffled_indices(int64_t n, uint64_t seed, int64_t epoch);

/// (dx, dy), each uniform in [-max_shift, max_shift], for example `index`
/// in `epoch`: a function of (seed, epoch, index) only.
std::pair<int64_t, int64_t> shift_offsets(uint64_t seed, int64_t epoch, int64_t index, int64_t max_shift);

/// Whether example `index` is mirrored in `epoch` (probability 1/2): a
/// function of (seed, epoch, index) only.
bool flip_draw(uint64_t seed, int64_t epoch, int64_t index);

/// (top, left) of a random crop, uniform in [0, max_top] x [0, max_left]
/// (top drawn first, as torchvision's RandomCrop.get_params), for example
/// `index` in `epoch`: a function of (seed, epoch, index) only.
std::pair<int64_t, int64_t> crop_offsets(uint64_t seed, int64_t epoch, int64_t index, int64_t max_top,
                                         int64_t max_left);

}  // namespace ember::data
