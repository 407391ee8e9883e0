// What the view ops share (internal header): making a view and recording
// its backward Node.
#pragma once

#include "common.h"

namespace ember {

// A view of `a` with the given layout. When recording, a new NodeT becomes
// the view's grad_fn (after `init` has filled in what its backward needs),
// and the view is marked differentiable (Note [In-place ops]).
template <typename NodeT, typename Init = void (*)(NodeT&)>
Tensor make_view_op(const Tensor& a, const Shape& shape, const Strides& strides, int64_t offset,
                    Init init = [](NodeT&) {}) {
  Tensor out = make_view(a, shape, strides, offset);
  if (should_record({a})) {
    auto node = std::make_shared<NodeT>();
    init(*node);
    record(node, {a}, out);
    AutogradMeta& meta = autograd_meta(out);
    meta.is_differentiable_view = true;
    meta.rebases_at_view = out.impl()->version->rebases.load();
  }
  return out;
}

}  // namespace ember
