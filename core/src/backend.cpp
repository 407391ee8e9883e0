#include "ember/core/backend.h"

#include <array>

#include "ember/core/error.h"

namespace ember {

namespace {
std::array<Backend*, kNumDeviceTypes>& registry() {
  static std::array<Backend*, kNumDeviceTypes> backends{};
  return backends;
}
}  // namespace

void register_backend(DeviceType type, Backend* backend) { registry()[static_cast<int>(type)] = backend; }

bool has_backend(DeviceType type) { return registry()[static_cast<int>(type)] != nullptr; }

Backend& backend_for(DeviceType type) {
  Backend* b = registry()[static_cast<int>(type)];
  if (b == nullptr) {
    if (type == DeviceType::CUDA)
      throw DeviceError("CUDA was requested but this build of Ember has no CUDA backend (configure with EMBER_CUDA=ON)");
    throw DeviceError("no backend registered for the CPU (ember::kernels::register_backends was not called)");
  }
  return *b;
}

}  // namespace ember
