// Hooks into a backward pass: what a bucketed gradient all-reduce
// (distributed/src/ddp.cpp) needs from the engine, as PyTorch has them.
//
// Note [Backward hooks]
// - A post-accumulate-grad hook (PyTorch's
//   Tensor.register_post_accumulate_grad_hook) belongs to a leaf that
//   requires grad. It runs inside AccumulateGrad, right after the pass's
//   gradient has been added into the leaf's .grad, with the leaf as its
//   argument: once per backward() that reaches the leaf (the engine sums a
//   leaf's incoming gradients first, so a leaf used twice still fires once),
//   in registration order. grad() never touches .grad and fires none.
//   A hook may read and write .grad; it must not start a backward that
//   reaches the same graph.
// - A final callback (PyTorch's Variable._execution_engine.queue_callback)
//   is queued during a backward pass, usually by a hook, and runs once when
//   that pass has run its last Node, before backward() returns, in the
//   order queued (a callback may queue more; they run too). Queuing outside
//   a backward pass is an AutogradError.
// - An exception thrown by a hook, a Node or a callback ends the pass: it
//   propagates out of backward() unchanged, the pass's callbacks not yet run
//   are dropped, and the next backward() starts clean.
// DDP's reducer uses both: each parameter's hook marks it ready and starts
// its bucket's all-reduce while backward goes on; the first hook of a pass
// queues the callback that waits for every bucket and writes the averaged
// gradients back, so they are in .grad when backward() returns.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "ember/core/tensor.h"

namespace ember {
struct AutogradMeta;
}

namespace ember::autograd {

using PostAccumulateGradHook = std::function<void(const Tensor& leaf)>;

// Removes the hook it was returned for (idempotent; a no-op once the leaf
// is gone). Dropping the handle leaves the hook in place, as in PyTorch.
class HookHandle {
 public:
  HookHandle() = default;
  HookHandle(std::weak_ptr<AutogradMeta> meta, uint64_t id) : meta_(std::move(meta)), id_(id) {}
  void remove();

 private:
  std::weak_ptr<AutogradMeta> meta_;
  uint64_t id_ = 0;
};

// Runs `hook(leaf)` after each backward pass accumulates into leaf.grad.
// AutogradError unless `leaf` is a leaf that requires grad.
HookHandle register_post_accumulate_grad_hook(const Tensor& leaf, PostAccumulateGradHook hook);

// Runs `callback` once, when the backward pass now running ends.
void queue_callback(std::function<void()> callback);
// Whether a backward() or grad() is running on this thread.
bool in_backward();

namespace detail {
// Called by AccumulateGrad after it updated leaf's .grad.
void run_post_accumulate_grad_hooks(const Tensor& leaf, AutogradMeta& meta);
}  // namespace detail

}  // namespace ember::autograd
