// CUDA graphs (internal header): capture and replay of one device's
// stream, on a GPU and on the emulator (Note [CUDA graphs] in graph.cpp).
#pragma once

#include <cstddef>

#include "device.h"

namespace ember::kernels::cuda {

// Whether a capture is under way on `device` (any device).
bool capturing(int device);
bool any_capture();
// DeviceError naming `what` while `device` is being captured.
void check_not_capturing(int device, const char* what);

class CapturedGraph {
 public:
  explicit CapturedGraph(int device);
  ~CapturedGraph();  // abandons a capture under way; releases the memory pool
  CapturedGraph(const CapturedGraph&) = delete;
  CapturedGraph& operator=(const CapturedGraph&) = delete;

  void begin();   // DeviceError if captured already, or another capture is under way
  void end();     // instantiates the graph
  void replay();  // queues the whole graph on the device's stream
  bool captured() const { return state_ == State::Captured; }
  // How many launches and copies the graph holds (the emulator's count; 0
  // on a GPU, where the driver owns the graph).
  size_t nodes() const;
  int device() const { return device_; }

 private:
  void abort();
  enum class State { Empty, Capturing, Captured };
  int device_;
  State state_ = State::Empty;
  int pool_ = 0;
#ifdef EMBER_SIMT
  simt::Recording launches_;
#else
  void* exec_ = nullptr;  // cudaGraphExec_t
#endif
};

}  // namespace ember::kernels::cuda
