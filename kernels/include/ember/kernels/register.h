// The explicit registration of every backend built into this library (see
// core/include/ember/core/backend.h for why it is explicit).
#pragma once

namespace ember::kernels {

// Registers cpu:ember, cpu:eigen and, when Ember was built with CUDA,
// cuda:ember; then applies EMBER_BACKEND (DEVICE:IMPL[,DEVICE:IMPL]) if set,
// throwing ValueError for an unknown name. Idempotent and thread-safe; the
// ops layer calls it before first use (ember::prim::ensure_backends).
void register_backends();

// Whether this build contains the CUDA backend (EMBER_CUDA found nvcc).
bool built_with_cuda();

}  // namespace ember::kernels
