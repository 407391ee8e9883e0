// The device axis of the op tables: the registered (device, implementation)
// pairs a table runs on, and the helpers that put a test's inputs there.
//
// Note [Tables on every backend]
// A table row names the primitives it exercises. It runs on a backend when
// that backend implements at least one of them itself (Backend::supports):
// for cpu:ember every row, for cpu:eigen (matmul only) the matmul rows, for
// a CUDA backend the rows of the kernels it has, as long as every primitive
// the row names has a kernel on that device. Rows that fall through to
// a base backend would only test the base again. Inputs are made on the CPU
// (Philox, so identical everywhere), moved to the backend's device, laid out
// there (transposed, strided, broadcast), and the results are moved back and
// compared with float64 references written as plain loops, with per-dtype
// tolerances (tests/op_tables.h).
#pragma once

#include <string>
#include <vector>

#include <ember/kernels/register.h>

#include "support.h"

namespace ember::test {

struct BackendUnderTest {
  Device device;
  std::string impl;  // "ember", "eigen"
  std::string label() const { return device.str() + " " + impl; }
  // Whether this backend implements any of `prims` itself.
  bool owns_any(const std::vector<Primitive>& prims) const {
    kernels::register_backends();
    const Backend& b = backend_named(device.type, impl);
    for (Primitive p : prims)
      if (b.supports(p)) return true;
    return false;
  }
  // Whether this backend or a base of it has a kernel for each of `prims`.
  bool runs_all(const std::vector<Primitive>& prims) const {
    kernels::register_backends();
    for (Primitive p : prims) {
      const Backend* b = &backend_named(device.type, impl);
      while (!b->supports(p) && !b->base_name().empty()) b = &backend_named(device.type, b->base_name());
      if (!b->supports(p)) return false;
    }
    return true;
  }
  // Whether a table row exercising `prims` is this backend's to test: it
  // owns one of them and can run them all (a device whose kernels are not
  // all written yet skips the rows it cannot finish).
  bool tests_row(const std::vector<Primitive>& prims) const { return owns_any(prims) && runs_all(prims); }
};

// Every implementation registered for `type`, on device index 0.
inline std::vector<BackendUnderTest> backends_under_test(DeviceType type) {
  std::vector<BackendUnderTest> out;
  for (const std::string& name : registered_backends(type)) out.push_back({Device(type, 0), name});
  return out;
}

// Makes a backend the active one for its device type while alive.
class UseBackend {
 public:
  explicit UseBackend(const BackendUnderTest& b) : type_(b.device.type), old_(active_backend(b.device.type).name()) {
    set_backend(type_, b.impl);
  }
  ~UseBackend() { set_backend(type_, old_); }
  UseBackend(const UseBackend&) = delete;
  UseBackend& operator=(const UseBackend&) = delete;

 private:
  DeviceType type_;
  std::string old_;
};

// The inputs moved to `device`, keeping requires_grad leaves differentiable
// (the move is a recorded op, so gradients flow back to the CPU leaves).
inline std::vector<Tensor> on_device(const std::vector<Tensor>& inputs, Device device) {
  std::vector<Tensor> out;
  for (const Tensor& t : inputs) out.push_back(t.defined() ? t.to(device) : t);
  return out;
}

}  // namespace ember::test
