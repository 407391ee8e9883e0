// What the CUDA benchmark programs share (bench/cuda_*.cpp): seeded uniform
// inputs, the median, and timing one call between two synchronizations.
#pragma once

#include <algorithm>
#include <chrono>
#include <vector>

#include <ember/ember.h>
#include <ember/kernels/cuda.h>

namespace ember::bench {

// Uniform values in [lo, hi), from a generator of its own.
inline Tensor uniform(const Shape& shape, uint64_t seed, double lo = -1, double hi = 1) {
  Generator g(seed);
  return rand(shape, {}, &g) * (hi - lo) + lo;
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// One warm-up call, then `repeat` samples of one call between two
// synchronizations of the device: the median, in milliseconds.
template <typename F>
double median_ms_of_calls(int repeat, F&& call) {
  call();
  cuda::synchronize();
  std::vector<double> samples;
  for (int r = 0; r < repeat; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    call();
    cuda::synchronize();
    samples.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return median(samples);
}

}  // namespace ember::bench
