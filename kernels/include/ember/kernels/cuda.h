// The CUDA device from the user's side, as torch.cuda: whether it is there,
// its memory statistics and cache, synchronization, and the choice of
// SGEMM kernel. docs/cuda.md.
//
//   if (ember::cuda::is_available()) {
//     model.to(ember::Device("cuda:0"));
//     ...
//     auto s = ember::cuda::memory_stats();  // s.peak: the high-water mark
//   }
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "ember/core/tensor.h"

namespace ember::cuda {

// The device's memory as the caching allocator sees it (Note [CUDA caching
// allocator] in kernels/cuda/allocator.h).
struct MemoryStats {
  size_t allocated = 0;   // bytes in live tensors (rounded up to 512)
  size_t reserved = 0;    // bytes held from the device (cudaMalloc'd segments)
  size_t peak = 0;        // the highest `allocated` so far
  size_t segments = 0;    // segments requested from the device (cudaMalloc calls)
  size_t cache_hits = 0;  // requests served from cached memory
};

// Whether this build has a CUDA backend (EMBER_CUDA=ON/AUTO with nvcc, or EMULATE).
bool is_built();
// Whether that backend is the SIMT emulator: cuda:0 is host memory and the
// kernels run on the CPU (docs/cuda.md).
bool is_emulated();
// Whether cuda:0 can be used: built, and a GPU visible (or the emulator).
bool is_available();
// The number of usable devices (0 if none; never throws).
int device_count();

// The statistics of cuda:`device`. DeviceError if it is not available.
MemoryStats memory_stats(int device = 0);
// Gives the device every cached segment that holds no live tensor.
void empty_cache(int device = 0);
// Caps the bytes this process holds on the device (0: no cap); beyond it an
// allocation raises ember::OutOfMemory, as a full device does. For sharing
// a GPU, and for testing the out-of-memory path.
void set_memory_limit(size_t bytes, int device = 0);
// Waits for the device's queued work; raises the errors its kernels
// recorded (an index out of range: Note [Device error flag]).
void synchronize(int device = 0);

// What a benchmark report names about a device (ember-bench): on a GPU the
// driver's answers; on the emulator its name says so, and the sizes are 0.
struct DeviceInfo {
  std::string name;                   // "NVIDIA H200"
  int major = 0, minor = 0;           // compute capability
  int multiprocessors = 0;
  size_t l2_bytes = 0;                // the L2 cache
  size_t memory_bytes = 0;            // global memory
  std::string pci_bus_id;             // "0000:3B:00.0": what nvidia-smi -i takes
  int driver_version = 0;             // cudaDriverGetVersion: 13000 is 13.0
  int runtime_version = 0;            // cudaRuntimeGetVersion
};
// DeviceError if cuda:`device` is not available.
DeviceInfo device_info(int device = 0);

// A timing event on the device's stream (cudaEvent_t), for timing kernels
// without the host's round trip: record() marks the point in the stream
// that the work queued so far reaches; elapsed_ms(start, end) is the device
// time between two recorded events, waiting for `end`. On the emulator,
// where kernels run during their launch, record() reads the host clock.
class Event {
 public:
  explicit Event(int device = 0);
  ~Event();
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  void record();
  static double elapsed_ms(const Event& start, const Event& end);

 private:
  int device_;
  void* event_ = nullptr;  // cudaEvent_t
  double host_ms_ = 0;     // the emulator's timestamp
};

// The SGEMM kernel float32 matmuls use, one rung of the ladder (Note [SGEMM
// ladder] in kernels/cuda/gemm.h): "naive", "coalesced", "smem_tiled",
// "reg_tiled_1d", "reg_tiled_2d", "vec4", "warp_tiled". The default is
// warp_tiled, or EMBER_SGEMM=<name> at start-up. ValueError for an unknown
// name, listing the names.
std::vector<std::string> sgemm_variants();
std::string sgemm();
void set_sgemm(const std::string& name);

// The kernel conv2d's forward uses (docs/cuda.md, "The kernels"): "auto"
// (the default: the direct kernel where output channels or taps are too few
// to fill a GEMM tile, the implicit GEMM otherwise), "direct" or
// "implicit_gemm". ValueError for an unknown name, listing the names.
std::vector<std::string> conv_algorithms();
std::string conv_algorithm();
void set_conv_algorithm(const std::string& name);

// An upload that runs beside the kernels (Note [Overlapped uploads] in
// kernels/cuda/runtime.h): a contiguous host tensor, best pinned
// (DataLoaderOptions::pin_memory), copied to `device` on its copy stream
// after the work queued so far. get() makes the work queued after it wait
// for the copy, and returns the device tensor (later calls return the same
// tensor). Start the next batch's upload before queuing this step's work,
// and get() it at the next step: the copy runs beside this step.
class Upload {
 public:
  Upload() = default;
  Upload(const Tensor& host, Device device);
  ~Upload();
  Upload(Upload&&) noexcept;
  Upload& operator=(Upload&&) noexcept;
  Tensor get();
  bool valid() const { return tensor_.defined(); }

 private:
  Tensor tensor_, host_;  // host_ keeps the source alive until the copy is waited for
  void* pending_ = nullptr;
};

// A CUDA graph (Note [CUDA graphs] in kernels/cuda/graph.cpp), after
// torch.cuda.CUDAGraph: between capture_begin() and capture_end() the work
// this thread queues on the device is recorded rather than run, its memory
// drawn from the graph's own pool; replay() queues all of it again, with the
// same arguments, on the same memory. Between replays, rewrite the inputs
// and any per-step state in place (copy_). During capture, reading a
// value on the host, synchronize and new device memory are DeviceErrors:
// run the work once eagerly first, so that the memory cache is warm. On
// the emulator a graph is the list of recorded launches.
class Graph {
 public:
  explicit Graph(int device = 0);
  ~Graph();
  Graph(Graph&&) noexcept;
  Graph& operator=(Graph&&) noexcept;
  void capture_begin();
  void capture_end();
  void replay();
  bool captured() const;
  // The launches and copies recorded (on the emulator; 0 on a GPU).
  size_t nodes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ember::cuda
