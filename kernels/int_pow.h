// Integer power for the pow op, shared by the CPU loops
// (cpu/elementwise.cpp) and the CUDA kernels (cuda/elementwise.cu), so both
// give the same wrapped results (internal header).
#pragma once

#include <type_traits>

#include "ember/core/host_device.h"

namespace ember::kernels {

// a^b by squaring. Unsigned arithmetic, so overflow wraps (as in PyTorch)
// instead of being UB; a negative exponent gives 0, or +-1 for a base of
// +-1.
template <typename T>
EMBER_HOST_DEVICE inline T int_pow(T a, T b) {
  if constexpr (std::is_signed_v<T>)
    if (b < 0) return a == 1 ? T(1) : (a == T(-1) ? ((b & 1) ? T(-1) : T(1)) : T(0));
  using U = std::make_unsigned_t<T>;
  U r = 1, base = static_cast<U>(a);
  for (; b; b >>= 1) {
    if (b & 1) r *= base;
    if (b > 1) base *= base;
  }
  return static_cast<T>(r);
}

}  // namespace ember::kernels
