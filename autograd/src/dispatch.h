// The last step of every prim:: wrapper (internal header): find the backend
// that runs a primitive on a device, give it its ExecContext, and time the
// call when the profiler is on (Note [Profiler at the choke point]).
#pragma once

#include "ember/autograd/prim.h"
#include "ember/core/profiler.h"

namespace ember::prim::detail {

template <typename F>
void dispatch(Primitive p, Device device, F&& call) {
  ensure_backends();
  Backend& backend = backend_for(p, device.type);
  const ExecContext ctx{device, device.is_cpu() ? nullptr : backend.stream(device.index)};
  profiler::Scope scope(p);
  call(backend, ctx);
}

}  // namespace ember::prim::detail
