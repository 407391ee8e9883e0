// A build without the CUDA backend has no CUDA problems: ember-bench says
// so before it gets here (--device cuda needs a device).
#include "problems.h"

namespace ember::bench {
std::vector<Problem> cuda_problems(const CudaListOptions&) { return {}; }
}  // namespace ember::bench
