#include "ember/core/generator.h"

#include "ember/core/philox.h"

namespace ember {

void Generator::manual_seed(uint64_t seed) {
  std::lock_guard<std::mutex> lock(mutex_);
  seed_ = seed;
  offset_ = 0;
}

uint64_t Generator::reserve(uint64_t n_blocks) {
  std::lock_guard<std::mutex> lock(mutex_);
  uint64_t first = offset_;
  offset_ += n_blocks;
  return first;
}

std::array<uint32_t, 4> Generator::philox(uint64_t key, uint64_t counter) {
  const PhiloxBlock b = philox4x32_10(key, counter);  // core/philox.h
  return {b.w[0], b.w[1], b.w[2], b.w[3]};
}

Generator& default_generator() {
  static Generator gen;
  return gen;
}

void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

}  // namespace ember
