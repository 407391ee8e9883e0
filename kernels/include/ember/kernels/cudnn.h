// The vendor backend cuda:cudnn (kernels/cudnn/, docs/cuda.md "The vendor
// backend: cuda:cudnn") from the user's side: whether it is built, and the
// library versions a benchmark report or a startup line names. Every build
// has these functions; without the backend they say so (false, "").
//
//   if (ember::cuda::vendor_built()) {
//     ember::set_backend(ember::DeviceType::CUDA, "cudnn");
//     std::printf("cuDNN %s, cuBLAS %s\n", ember::cuda::cudnn_version().c_str(),
//                 ember::cuda::cublas_version().c_str());
//   }
#pragma once

#include <cstddef>
#include <string>

namespace ember::cuda {

// Whether this build has the cuda:cudnn backend (real CUDA, cuDNN and
// cuBLAS found at configure time; EMBER_CUDNN).
bool vendor_built();
// The cuDNN and cuBLAS libraries loaded at run time, "9.19.0" and
// "13.1.0"; "" when the backend is not built.
std::string cudnn_version();
std::string cublas_version();
// How many convolution algorithms cuda:cudnn has found and cached so far,
// one per (device, direction, dtype, shapes, geometry, groups); 0 when not
// built. For tests and the curious: the search runs once per shape.
size_t cudnn_cached_algorithms();
// How many calls of `primitive` ("conv2d_forward", "batch_norm_backward":
// primitive_name's spelling) cuda:cudnn has served with the vendor library
// itself, not handed back to cuda:ember (Note [Vendor entries decline]);
// 0 when not built. The tests use it to tell "cuDNN ran and was right"
// from "cuDNN declined and Ember was right".
size_t cudnn_vendor_calls(const std::string& primitive);

}  // namespace ember::cuda
