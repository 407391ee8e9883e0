// The Node shared by all view ops (internal header).
#pragma once

#include <functional>

#include "common.h"

namespace ember {

// The backward of a view, as a function of the incoming gradient (itself
// written with differentiable ops).
struct ViewBackward final : Node {
  std::string op_name;
  std::function<Tensor(const Tensor&)> grad;
  std::string name() const override { return op_name; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override { return {grad(g[0])}; }
};

// A view of `a` with the given layout, recording `grad` as its backward.
inline Tensor make_view_op(const Tensor& a, const Shape& shape, const Strides& strides, int64_t offset,
                           const char* name, std::function<Tensor(const Tensor&)> grad) {
  Tensor out = make_view(a, shape, strides, offset);
  if (should_record({a})) {
    auto node = std::make_shared<ViewBackward>();
    node->op_name = name;
    node->grad = std::move(grad);
    record(node, {a}, out);
    AutogradMeta& meta = autograd_meta(out);
    meta.is_differentiable_view = true;
    meta.rebases_at_view = out.impl()->version->rebases.load();
  }
  return out;
}

}  // namespace ember
