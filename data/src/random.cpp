// Shuffles and augmentation draws from Philox (see Note [Data randomness] in
// random.h).
#include "ember/data/random.h"

#include <numeric>

#include "ember/core/error.h"
#include "ember/core/generator.h"

namespace ember::data {

namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

constexpr int64_t kMax32 = int64_t{1} << 32;

}  // namespace

uint64_t derive_key(uint64_t seed, uint64_t stream) { return splitmix64(seed ^ splitmix64(stream)); }

uint32_t PhiloxWords::next() {
  if (used_ == 4) {
    auto block = Generator::philox(key_, counter_++);
    for (int i = 0; i < 4; ++i) words_[i] = block[i];
    used_ = 0;
  }
  return words_[used_++];
}

uint32_t PhiloxWords::below(uint32_t bound) {
  EMBER_ASSERT(bound > 0);
  // Lemire, "Fast random integer generation in an interval" (2019): the
  // high half of word * bound is uniform once the low half is past the
  // (2^32 mod bound) values that would make some results more likely.
  uint64_t m = static_cast<uint64_t>(next()) * bound;
  if (static_cast<uint32_t>(m) < bound) {
    const uint32_t threshold = static_cast<uint32_t>(-bound) % bound;
    while (static_cast<uint32_t>(m) < threshold) m = static_cast<uint64_t>(next()) * bound;
  }
  return static_cast<uint32_t>(m >> 32);
}

std::vector<int64_t> shuffled_indices(int64_t n, uint64_t seed, int64_t epoch) {
  EMBER_CHECK(n >= 0 && n < kMax32, ValueError, "shuffle: dataset size ", n, " must be in [0, 2^32)");
  EMBER_CHECK(epoch >= 0 && epoch < kMax32, ValueError, "shuffle: epoch ", epoch, " must be in [0, 2^32)");
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  PhiloxWords words(derive_key(seed, kShuffleStream), static_cast<uint64_t>(epoch) << 32);
  for (int64_t i = n - 1; i > 0; --i) {  // Fisher-Yates: position i takes a uniform pick of 0..i
    const int64_t j = words.below(static_cast<uint32_t>(i + 1));
    std::swap(order[i], order[j]);
  }
  return order;
}

std::pair<int64_t, int64_t> shift_offsets(uint64_t seed, int64_t epoch, int64_t index, int64_t max_shift) {
  EMBER_CHECK(epoch >= 0 && epoch < kMax32, ValueError, "random shift: epoch ", epoch, " must be in [0, 2^32)");
  EMBER_CHECK(index >= 0 && index < kMax32, ValueError, "random shift: index ", index, " must be in [0, 2^32)");
  EMBER_CHECK(max_shift >= 0 && max_shift < 1024, ValueError, "random shift: max_shift ", max_shift,
              " must be in [0, 1024)");
  if (max_shift == 0) return {0, 0};
  const auto span = static_cast<uint32_t>(2 * max_shift + 1);
  PhiloxWords words(derive_key(seed, kShiftStream), (static_cast<uint64_t>(epoch) << 32) | static_cast<uint64_t>(index));
  // Rejection leaves the block with probability < 1e-8 per draw; the
  // counter then moves into index + 1's block, which stays deterministic.
  const int64_t dx = static_cast<int64_t>(words.below(span)) - max_shift;
  const int64_t dy = static_cast<int64_t>(words.below(span)) - max_shift;
  return {dx, dy};
}

bool flip_draw(uint64_t seed, int64_t epoch, int64_t index) {
  EMBER_CHECK(epoch >= 0 && epoch < kMax32, ValueError, "random flip: epoch ", epoch, " must be in [0, 2^32)");
  EMBER_CHECK(index >= 0 && index < kMax32, ValueError, "random flip: index ", index, " must be in [0, 2^32)");
  PhiloxWords words(derive_key(seed, kFlipStream), (static_cast<uint64_t>(epoch) << 32) | static_cast<uint64_t>(index));
  return (words.next() & 1u) != 0;
}

std::pair<int64_t, int64_t> crop_offsets(uint64_t seed, int64_t epoch, int64_t index, int64_t max_top,
                                         int64_t max_left) {
  EMBER_CHECK(epoch >= 0 && epoch < kMax32, ValueError, "random crop: epoch ", epoch, " must be in [0, 2^32)");
  EMBER_CHECK(index >= 0 && index < kMax32, ValueError, "random crop: index ", index, " must be in [0, 2^32)");
  EMBER_CHECK(max_top >= 0 && max_top < kMax32 - 1 && max_left >= 0 && max_left < kMax32 - 1, ValueError,
              "random crop: offset ranges [0, ", max_top, "] and [0, ", max_left, "] must be within [0, 2^32 - 2]");
  PhiloxWords words(derive_key(seed, kCropStream), (static_cast<uint64_t>(epoch) << 32) | static_cast<uint64_t>(index));
  // As in shift_offsets, a rare rejection runs on into the next counter.
  const int64_t top = words.below(static_cast<uint32_t>(max_top + 1));
  const int64_t left = words.below(static_cast<uint32_t>(max_left + 1));
  return {top, left};
}

}  // namespace ember::data
