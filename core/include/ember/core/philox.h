// Philox4x32-10 (Salmon et al., "Parallel Random Numbers: As Easy as 1, 2,
// 3", SC 2011): one block of four 32-bit words from a 64-bit key and a
// 64-bit counter. A header so that the CPU (Generator::philox) and the CUDA
// kernels (kernels/cuda/random.cu) run this one function and make the same
// bits (Note [Philox streams] in generator.h).
#pragma once

#include <cstdint>

#include "ember/core/host_device.h"

namespace ember {

struct PhiloxBlock {
  uint32_t w[4];
};

// Ten rounds of two 32x32->64-bit multiplies mixing a 128-bit counter with
// the key, which is bumped by the Weyl constants each round.
EMBER_HOST_DEVICE inline PhiloxBlock philox4x32_10(uint64_t key, uint64_t counter) {
  constexpr uint32_t kMul0 = 0xD2511F53, kMul1 = 0xCD9E8D57;
  constexpr uint32_t kWeyl0 = 0x9E3779B9, kWeyl1 = 0xBB67AE85;
  uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = static_cast<uint64_t>(kMul0) * c0;
    const uint64_t p1 = static_cast<uint64_t>(kMul1) * c2;
    const uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1 ^ k0;
    const uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3 ^ k1;
    c1 = static_cast<uint32_t>(p1);
    c3 = static_cast<uint32_t>(p0);
    c0 = n0;
    c2 = n2;
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
  return {{c0, c1, c2, c3}};
}

}  // namespace ember
