// The explicit registration of every backend built into this library (see
// core/include/ember/core/backend.h for why it is explicit).
#pragma once

namespace ember::kernels {

// Registers the CPU backend, and the CUDA backend when Ember was built with
// it. Idempotent and thread-safe; the ops layer calls it before first use.
void register_backends();

// Whether this build contains the CUDA backend (EMBER_CUDA found nvcc).
bool built_with_cuda();

}  // namespace ember::kernels
