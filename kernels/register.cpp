// The built-in backends: what each one implements, and their explicit
// registration (Note [Backend registry] in core/include/ember/core/backend.h).
#include "ember/kernels/register.h"

#include <cstdlib>
#include <mutex>
#include <string>

#include "cpu/cpu_backend.h"
#include "ember/core/error.h"

#ifdef EMBER_HAVE_CUDA
namespace ember::kernels::cuda {
Backend* cuda_backend();  // kernels/cuda/cuda_backend.cpp
}
#endif
#ifdef EMBER_HAVE_CUDNN
namespace ember::kernels::cudnn {
Backend* cudnn_backend();  // kernels/cudnn/cudnn_backend.cpp: cuda:cudnn, based on cuda:ember
}
#endif

namespace ember::kernels {

namespace cpu {

// cpu:ember is the root of the CPU chain: every entry is its own.
CpuBackend::CpuBackend()
    : Backend(DeviceType::CPU, "ember", "",
              {Primitive::Copy, Primitive::CopyFromHost, Primitive::CopyToHost, Primitive::Fill, Primitive::Arange,
               Primitive::Binary, Primitive::Unary, Primitive::Where, Primitive::Reduce, Primitive::Matmul,
               Primitive::Softmax, Primitive::IndexSelect, Primitive::IndexAdd, Primitive::Gather,
               Primitive::ScatterAdd, Primitive::Im2col, Primitive::Col2im, Primitive::Conv2dForward,
               Primitive::Conv2dBackwardInput, Primitive::Conv2dBackwardWeight, Primitive::MaxPool2dForward,
               Primitive::MaxPool2dBackward, Primitive::AvgPool2dForward, Primitive::AvgPool2dBackward,
               Primitive::BatchNormForward, Primitive::BatchNormBackward, Primitive::CrossEntropyForward,
               Primitive::CrossEntropyBackward, Primitive::RandomUniform, Primitive::RandomNormal,
               Primitive::DropoutMask, Primitive::SgdUpdate, Primitive::AdamUpdate, Primitive::Synchronize}) {}

// cpu:eigen: only matmul is its own; the rest falls through to cpu:ember.
EigenBackend::EigenBackend() : Backend(DeviceType::CPU, "eigen", "ember", {Primitive::Matmul}) {}

}  // namespace cpu

void register_backends() {
  static std::once_flag registered;
  std::call_once(registered, [] {
    static cpu::CpuBackend ember_cpu;
    static cpu::EigenBackend eigen_cpu;
    register_backend(&ember_cpu);
    register_backend(&eigen_cpu);
#ifdef EMBER_HAVE_CUDA
    register_backend(cuda::cuda_backend());
#endif
#ifdef EMBER_HAVE_CUDNN
    register_backend(cudnn::cudnn_backend());  // after its base
#endif
  });
  // The environment's selection, once. A bad one throws, and since call_once
  // counts a throw as not done, every later use throws again: loudly wrong,
  // never silently on the default backend.
  static std::once_flag selected;
  std::call_once(selected, [] {
    // EMBER_GEMM=eigen was the switch before backends could be selected.
    const char* gemm = std::getenv("EMBER_GEMM");
    EMBER_CHECK(!gemm || !*gemm || std::string(gemm) == "packed", ValueError, "EMBER_GEMM=", gemm,
                " is no longer read: select Eigen's GEMM with EMBER_BACKEND=cpu:eigen");
    if (const char* env = std::getenv("EMBER_BACKEND"); env && *env) set_backends_from_string(env, "EMBER_BACKEND");
  });
}

bool built_with_cuda() {
#ifdef EMBER_HAVE_CUDA
  return true;
#else
  return false;
#endif
}

}  // namespace ember::kernels

namespace ember {

void set_backend(DeviceType type, const std::string& name) {
  kernels::register_backends();
  select_backend(type, name);
}

std::vector<std::string> registered_backends(DeviceType type) {
  kernels::register_backends();
  return backend_names(type);
}

}  // namespace ember
