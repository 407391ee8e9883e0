// Note [Graphed training step] in graphed_step.h.
#include "graphed_step.h"

namespace ember::mnist {

GraphedStep::GraphedStep(optim::Optimizer& optimizer, Device device, int64_t warmup)
    : opt_(optimizer), device_(device), warmup_(std::max<int64_t>(warmup, 1)) {
  EMBER_CHECK(device.is_cuda(), ValueError, "GraphedStep: CUDA graphs need a cuda device, got ", device.str());
  opt_.set_capturable(true);
  philox_base_ = zeros({1}, {.dtype = DType::Int64, .device = device});
}

GraphedStep::~GraphedStep() {
  default_generator().set_device_base(nullptr, 0);
  graph_.reset();  // the graph's memory goes back to the cache before its tensors are dropped
}

// Note [Graph-safe random streams]: the step's first Philox offset, where
// its random kernels read it (before an eager step and each replay), and
// the generator told to launch them relative to it (an eager step, the
// capture).
void GraphedStep::write_philox_base(uint64_t offset) {
  philox_base_.copy_(from_vector<int64_t>({static_cast<int64_t>(offset)}));
}
void GraphedStep::relative_to_philox_base(uint64_t offset) {
  default_generator().set_device_base(reinterpret_cast<const uint64_t*>(philox_base_.data_ptr<int64_t>()), offset);
}

std::vector<Tensor> GraphedStep::eager(const Tensor& x, const Tensor& y, const ForwardBackward& fb) {
  Generator& gen = default_generator();
  write_philox_base(gen.offset());
  relative_to_philox_base(gen.offset());
  std::vector<Tensor> out = fb(x, y);
  opt_.prepare_step();
  opt_.launch_step();
  gen.set_device_base(nullptr, 0);
  ++eager_;
  return out;
}

void GraphedStep::capture(const Tensor& x, const Tensor& y, const ForwardBackward& fb) {
  static_x_.copy_(x);
  static_y_.copy_(y);
  Generator& gen = default_generator();
  const uint64_t before = gen.offset();
  relative_to_philox_base(before);  // the base itself is written before each replay
  auto graph = std::make_unique<cuda::Graph>(device_.index);
  try {
    graph->capture_begin();
    static_out_ = fb(static_x_, static_y_);
    opt_.launch_step();  // the host part runs before each replay
    graph->capture_end();
  } catch (const Error& e) {
    // Nothing of the step ran, and the host state it touched is restored
    // below: training goes on eagerly (the trainer prints the reason).
    graph.reset();  // abandons the capture
    static_out_.clear();
    gen.set_offset(before);
    gen.set_device_base(nullptr, 0);
    failure_ = e.what();
    return;
  }
  // Nothing ran: the generator is where it was, and each replay advances it
  // by what the captured step reserved.
  philox_per_step_ = gen.offset() - before;
  gen.set_offset(before);
  gen.set_device_base(nullptr, 0);
  graph_ = std::move(graph);
}

std::vector<Tensor> GraphedStep::run(const Tensor& x, const Tensor& y, const ForwardBackward& fb) {
  // The capture's input buffers exist before the warm-up steps, so that the
  // memory cache those steps warm is the one the capture finds: allocated
  // just before the capture, they would split the very cached blocks the
  // step's own tensors need (Note [Graph memory pools]).
  if (!static_x_.defined()) {
    static_x_ = x.clone();
    static_y_ = y.clone();
  }
  if (!graph_ && (eager_ < warmup_ || !failure_.empty())) return eager(x, y, fb);
  if (!graph_ && (x.shape() != static_x_.shape() || y.shape() != static_y_.shape()))
    return eager(x, y, fb);  // a partial batch: capture on the next full one
  if (!graph_) capture(x, y, fb);
  if (!graph_) return eager(x, y, fb);  // the capture failed
  if (x.shape() != static_x_.shape() || y.shape() != static_y_.shape() || x.dtype() != static_x_.dtype() ||
      y.dtype() != static_y_.dtype())
    return eager(x, y, fb);  // the fallback: a partial batch
  static_x_.copy_(x);
  static_y_.copy_(y);
  opt_.prepare_step();
  Generator& gen = default_generator();
  write_philox_base(gen.offset());
  graph_->replay();
  gen.set_offset(gen.offset() + philox_per_step_);
  ++replays_;
  std::vector<Tensor> out;
  for (const Tensor& t : static_out_) out.push_back(t.clone());
  return out;
}

}  // namespace ember::mnist
