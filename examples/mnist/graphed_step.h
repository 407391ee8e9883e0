// A whole training step (forward, loss, backward, optimizer) captured once
// as a CUDA graph and replayed (Note [Graphed training step]).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <ember/ember.h>
#include <ember/kernels/cuda.h>
#include <ember/optim/optim.h>

namespace ember::mnist {

// Note [Graphed training step]
// At batch 64 a small CNN's step is a few hundred short kernels; the GPU
// waits on the host that queues them (Note [CUDA graphs] in
// kernels/cuda/graph.cpp). GraphedStep runs `forward_backward` (forward,
// loss, zero_grad, backward; it returns the tensors the caller wants back,
// the loss first) and the optimizer's update:
//   * eagerly for the first `warmup` steps, which also warm the memory
//     cache the capture draws from and create the optimizer's buffers;
//   * then it copies the batch into static input buffers, captures one
//     step into a graph, and from then on replays it: the batch is copied
//     into the same buffers, the optimizer's host part runs
//     (prepare_step: step counts, learning rate, beta1 and bias corrections
//     into device memory; Note [Capturable optimizer steps]), the Philox
//     base of the step's dropout masks is written to device memory (Note
//     [Graph-safe random streams]), and the graph is launched;
//   * eagerly, as a fallback, for a batch whose shapes differ from the
//     captured ones (the last, partial batch of an epoch), and for every
//     step if the capture failed (failure() says why).
// Every step, eager or replayed, runs the same kernels with the same
// numbers, so the losses and weights are those of an eager run bit for bit
// (tests/cuda_train.cpp checks it). The optimizer must be capturable
// (Adam, AdamW), the model's parameters on the graph's device, and the
// step must not read values on the host (item(), .to(kCPU)). Anything that
// needs the gradients (clipping, logging their norm) belongs inside
// forward_backward: after an eager fallback, param.grad() holds that step's
// gradients, not those of later replays, which live in the graph's memory.
class GraphedStep {
 public:
  using ForwardBackward = std::function<std::vector<Tensor>(const Tensor& x, const Tensor& y)>;
  GraphedStep(optim::Optimizer& optimizer, Device device, int64_t warmup = 2);
  ~GraphedStep();

  // One training step on (x, y); the outputs of forward_backward, as new
  // tensors (a replay overwrites the graph's own).
  std::vector<Tensor> run(const Tensor& x, const Tensor& y, const ForwardBackward& forward_backward);

  // Why the capture failed ("" if it did not): the steps then run eagerly.
  const std::string& failure() const { return failure_; }
  int64_t replays() const { return replays_; }
  int64_t eager_steps() const { return eager_; }

 private:
  std::vector<Tensor> eager(const Tensor& x, const Tensor& y, const ForwardBackward& fb);
  void capture(const Tensor& x, const Tensor& y, const ForwardBackward& fb);
  void write_philox_base(uint64_t offset);
  void relative_to_philox_base(uint64_t offset);

  optim::Optimizer& opt_;
  Device device_;
  int64_t warmup_, eager_ = 0, replays_ = 0;
  Tensor philox_base_;  // one uint64 on the device, as int64
  Tensor static_x_, static_y_;
  std::vector<Tensor> static_out_;
  uint64_t philox_per_step_ = 0;
  std::string failure_;
  std::unique_ptr<cuda::Graph> graph_;
};

}  // namespace ember::mnist
