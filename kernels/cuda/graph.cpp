// CUDA graphs: capturing the work a thread queues on a device's stream, and
// replaying it, on a GPU and on the emulator.
//
// Note [CUDA graphs]
// A small CNN's training step at batch 64 is a few hundred kernel launches
// of a few microseconds each: the GPU waits for the CPU to queue them. A
// CUDA graph records the launches once (stream capture) and replays the
// whole list with one call, so the host's per-launch cost (and all the host
// code of the step: autograd, the optimizer's loops) is paid once.
//
// What capture means for Ember:
//   * the kernels' arguments are frozen at capture: pointers, sizes and
//     scalars. Whatever changes from step to step must live in device memory
//     that the host rewrites between replays (the optimizer's learning rate
//     and bias corrections, the Philox offset of dropout), and the inputs
//     are copied into the same buffers before each replay;
//   * the memory the graph touches is its own (Note [Graph memory pools] in
//     allocator.h), and the capture may not ask the device for more;
//   * nothing during capture may wait for the device: a copy to or from the
//     host, synchronize and the error-flag check are DeviceErrors ("not
//     allowed while a CUDA graph is captured");
//   * on a GPU this is cudaStreamBeginCapture (thread-local mode) /
//     cudaStreamEndCapture / cudaGraphInstantiate / cudaGraphLaunch; on the
//     emulator a graph is the list of recorded launches and copies
//     (simt::Recording), replayed in order without running any host code of
//     the step again.
// A capture is the device's, not only the capturing thread's: while it is
// under way, every allocation on the device goes to the graph's pool and
// every host copy to or from it is refused, so other threads must not use
// the device meanwhile (ember-mnist's loader threads only fill host memory).
// The public face is ember::cuda::Graph (ember/kernels/cuda.h), after
// torch.cuda.CUDAGraph.
#include "graph.h"

#include <array>
#include <atomic>

#include "runtime.h"

namespace ember::kernels::cuda {

namespace {

constexpr int kMaxDevices = 64;
std::array<std::atomic<bool>, kMaxDevices> capture_flags{};
std::atomic<int> captures_under_way{0};

std::string device_name_of(int device) { return "cuda:" + std::to_string(device); }

}  // namespace

bool capturing(int device) { return device >= 0 && device < kMaxDevices && capture_flags[device].load(); }
bool any_capture() { return captures_under_way.load() > 0; }

void check_not_capturing(int device, const char* what) {
  EMBER_CHECK(!capturing(device), DeviceError, device_name_of(device), ": ", what,
              " is not allowed while a CUDA graph is captured (it would wait for the device, or read the host "
              "at capture time only); do it before capture_begin or after capture_end");
}

CapturedGraph::CapturedGraph(int device) : device_(device) {}

CapturedGraph::~CapturedGraph() {
  if (state_ == State::Capturing) abort();
#ifndef EMBER_SIMT
  if (exec_) cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(exec_));
#endif
  if (pool_) device_allocator(device_).release_pool(pool_);
}

void CapturedGraph::begin() {
  EMBER_CHECK(state_ == State::Empty, DeviceError, "cuda graph: capture_begin on a graph that was captured already");
  EMBER_CHECK(device_ >= 0 && device_ < kMaxDevices && device_ < device_count(), DeviceError,
              device_name_of(device_), " is not available for a CUDA graph");
  check_not_capturing(device_, "another capture");
  if (pool_) device_allocator(device_).release_pool(pool_);  // an earlier capture that failed to end
  pool_ = device_allocator(device_).begin_capture_pool();
#ifdef EMBER_SIMT
  simt::set_recording(&launches_);
#else
  cudaError_t err = cudaSetDevice(device_);
  if (err == cudaSuccess)
    err = cudaStreamBeginCapture(static_cast<cudaStream_t>(device_stream(device_)),
                                 cudaStreamCaptureModeThreadLocal);
  if (err != cudaSuccess) {
    device_allocator(device_).end_capture_pool();
    EMBER_CUDA_CHECK(err);
  }
#endif
  capture_flags[device_] = true;
  ++captures_under_way;
  state_ = State::Capturing;
}

void CapturedGraph::end() {
  EMBER_CHECK(state_ == State::Capturing, DeviceError, "cuda graph: capture_end without capture_begin");
  capture_flags[device_] = false;
  --captures_under_way;
  device_allocator(device_).end_capture_pool();
  state_ = State::Empty;  // until the graph exists
#ifdef EMBER_SIMT
  simt::set_recording(nullptr);
#else
  cudaGraph_t graph = nullptr;
  EMBER_CUDA_CHECK(cudaSetDevice(device_));
  EMBER_CUDA_CHECK(cudaStreamEndCapture(static_cast<cudaStream_t>(device_stream(device_)), &graph));
  cudaGraphExec_t exec = nullptr;
  const cudaError_t err = cudaGraphInstantiate(&exec, graph, 0);
  cudaGraphDestroy(graph);
  EMBER_CUDA_CHECK(err);
  exec_ = exec;
#endif
  state_ = State::Captured;
}

void CapturedGraph::abort() {
  capture_flags[device_] = false;
  --captures_under_way;
  device_allocator(device_).end_capture_pool();
  state_ = State::Empty;
#ifdef EMBER_SIMT
  simt::set_recording(nullptr);
  launches_.clear();
#else
  cudaGraph_t graph = nullptr;
  if (cudaStreamEndCapture(static_cast<cudaStream_t>(device_stream(device_)), &graph) == cudaSuccess && graph)
    cudaGraphDestroy(graph);
  cudaGetLastError();  // an invalidated capture is what is being abandoned
#endif
}

void CapturedGraph::replay() {
  EMBER_CHECK(state_ == State::Captured, DeviceError, "cuda graph: replay before capture_end");
  check_not_capturing(device_, "replaying a graph");
#ifdef EMBER_SIMT
  for (const auto& step : launches_) step();
#else
  EMBER_CUDA_CHECK(cudaSetDevice(device_));
  EMBER_CUDA_CHECK(cudaGraphLaunch(static_cast<cudaGraphExec_t>(exec_),
                                   static_cast<cudaStream_t>(device_stream(device_))));
#endif
}

size_t CapturedGraph::nodes() const {
#ifdef EMBER_SIMT
  return launches_.size();
#else
  return 0;  // not tracked on a GPU: the driver owns the graph
#endif
}

}  // namespace ember::kernels::cuda
