// The SIMT emulator, host side: launching a kernel on the CPU (Note [SIMT
// emulator] in simt.h), the launch checks, and the thread schedules.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <source_location>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "simt.h"

namespace ember::simt {

// The stream argument of a launch, which also remembers where the launch
// was written (its implicit conversion happens at the call), so that launch
// errors can name the line.
struct StreamAt {
  void* stream;
  std::source_location where;
  StreamAt(void* s, std::source_location w = std::source_location::current()) : stream(s), where(w) {}
  StreamAt(std::nullptr_t, std::source_location w = std::source_location::current()) : stream(nullptr), where(w) {}
};

struct LaunchConfig {
  dim3 grid, block;
  size_t shared_bytes = 0;
  const void* kernel = nullptr;  // for the dynamic shared memory opt-in
  std::source_location where;
};

// Runs `thread_body` once for every thread of the grid: blocks over Ember's
// thread pool, the threads of a block as fibers on one OS thread. Throws
// DeviceError for a launch over the limits, and rethrows (on the calling
// thread) the first error a thread raised or a check found.
void run_grid(const LaunchConfig& config, const std::function<void()>& thread_body);

// A CUDA graph on the emulator (Note [CUDA graphs] in kernels/cuda/graph.cpp):
// while the calling thread records, its launches, and the runtime's
// device-to-device copies, are appended to the recording instead of run,
// with copies of their arguments, as a graph's kernel nodes hold them.
// Replaying runs the list; no host code of the step runs again.
using Recording = std::vector<std::function<void()>>;
void set_recording(Recording* recording);  // nullptr: stop recording
Recording* recording();

// kernel<<<grid, block, shared_bytes, stream>>>(args...) on the CPU. Each
// thread gets its own copies of the arguments, as on a GPU.
template <typename... Params, typename... Args>
void launch(void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared_bytes, StreamAt stream,
            Args&&... args) {
  static_assert(sizeof...(Params) == sizeof...(Args), "launch: wrong number of kernel arguments");
  const std::tuple<std::decay_t<Params>...> params(std::forward<Args>(args)...);
  const LaunchConfig config{grid, block, shared_bytes, reinterpret_cast<const void*>(kernel), stream.where};
  if (Recording* r = recording()) {
    r->push_back([config, params, kernel] {
      run_grid(config, [&] { std::apply([&](const auto&... p) { kernel(p...); }, params); });
    });
    return;
  }
  run_grid(config, [&] { std::apply([&](const auto&... p) { kernel(p...); }, params); });
}

// The largest dynamic shared memory a launch of `kernel` may ask for, as
// cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
// bytes) allows on the GPU (48 KiB without it, at most 227 KiB on sm_90).
void set_max_dynamic_shared_memory(const void* kernel, size_t bytes);

// Note [SIMT schedules]
// The order in which the warps of a block, and the lanes of each warp, run
// between two barriers (Note [Warps run ahead] in scheduler.cpp): forward
// (0, 1, 2, ...), reverse, or a seeded shuffle (new at every pass and
// block). EMBER_SIMT_SCHEDULE=forward|reverse|random:SEED sets
// it at start-up; CI runs the CUDA tests under forward and the kernels that
// use shared memory or shuffles again under reverse and random:1.
enum class ScheduleKind { Forward, Reverse, Random };
struct Schedule {
  ScheduleKind kind = ScheduleKind::Forward;
  uint64_t seed = 0;
};
Schedule schedule();
void set_schedule(Schedule s);
// "forward", "reverse", "random:7"; ValueError naming `source` otherwise.
Schedule parse_schedule(const std::string& text, const char* source);

// Launch limits of the emulated device (those of sm_90).
constexpr unsigned kMaxThreadsPerBlock = 1024;
constexpr unsigned kMaxBlockDimZ = 64;
constexpr unsigned kMaxGridDimX = 2147483647u, kMaxGridDimYZ = 65535;
constexpr size_t kDefaultMaxSharedBytes = 48 * 1024, kOptInMaxSharedBytes = 227 * 1024;

}  // namespace ember::simt
