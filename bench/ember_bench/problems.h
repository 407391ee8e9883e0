// ember-bench's problem lists (Note [A problem and its implementations]).
#pragma once

#include <vector>

#include "problem.h"

namespace ember::bench {

// The CPU mode (cpu_problems.cpp).
std::vector<Problem> cpu_problems();

// The CUDA families (cuda_problems.cpp). `quick`: fewer sizes, for
// scripts/gpu_check.sh's time budget and for the emulator's smoke run;
// `emulated`: shapes cut down further, since the emulator runs a kernel
// thousands of times slower than a GPU.
struct CudaListOptions {
  bool quick = false, emulated = false;
};
std::vector<Problem> cuda_problems(const CudaListOptions& o);

}  // namespace ember::bench
