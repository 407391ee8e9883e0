// AutogradMeta: the autograd fields of a tensor. core only forward-declares
// it (TensorImpl::autograd), so that core knows nothing of Nodes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "ember/autograd/node.h"

namespace ember {

struct AutogradMeta {
  bool requires_grad = false;  // set by the user on leaves
  Tensor grad;                 // accumulated gradient (leaves only)
  std::shared_ptr<Node> grad_fn;  // the op that produced this tensor; null for leaves
  uint32_t output_nr = 0;         // which output of grad_fn this is
  std::weak_ptr<Node> grad_accumulator;  // leaves: the AccumulateGrad, made on first use
  // Views with history: VersionCounter::rebases when the view was taken. If
  // the memory's history was replaced since, the view's grad_fn is stale.
  bool is_differentiable_view = false;
  uint32_t rebases_at_view = 0;
  // Leaves: Note [Backward hooks] (autograd/hooks.h), with their ids for
  // HookHandle::remove, in registration order.
  std::vector<std::pair<uint64_t, std::function<void(const Tensor&)>>> post_accumulate_grad_hooks;
};

// The tensor's AutogradMeta, created if it has none.
AutogradMeta& autograd_meta(const Tensor& t);
// Null when the tensor has never been part of the graph.
AutogradMeta* autograd_meta_or_null(const Tensor& t);

}  // namespace ember
