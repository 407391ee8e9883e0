// softmax and log_softmax along one dim: a fused, numerically stable kernel
// forward (max subtracted first); the backward is written with Ember ops.
#include "common.h"

namespace ember {

namespace {

struct SoftmaxBackward final : Node {  // saved: 0 = output
  int64_t dim = 0;
  bool log = false;
  std::string name() const override { return log ? "LogSoftmaxBackward" : "SoftmaxBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    Tensor y = saved(0);
    // softmax:     dx = y * (g - sum(g * y))
    // log_softmax: dx = g - exp(y) * sum(g)
    if (log) return {g[0] - exp(y) * sum(g[0], {dim}, true)};
    return {y * (g[0] - sum(g[0] * y, {dim}, true))};
  }
};

Tensor softmax_impl(const Tensor& a, int64_t dim_in, bool log) {
  const char* name = log ? "log_softmax" : "softmax";
  EMBER_CHECK(is_floating(a.dtype()), DTypeError, name, ": expected a floating tensor, got ", dtype_name(a.dtype()));
  int64_t dim = normalize_dim(dim_in, a.dim(), name);
  Tensor x = prim::contiguous(a);
  Tensor out = prim::empty(a.shape(), a.dtype(), a.device());
  if (a.numel() > 0) prim::backend(a.device()).softmax(prim::view_of(out), prim::view_of(x), a.dim() ? dim : 0, log);
  if (should_record({a})) {
    auto node = std::make_shared<SoftmaxBackward>();
    node->dim = dim;
    node->log = log;
    record(node, {a}, out);
    node->save(out, /*is_output=*/true);
  }
  return out;
}

}  // namespace

Tensor softmax(const Tensor& a, int64_t dim) { return softmax_impl(a, dim, false); }
Tensor log_softmax(const Tensor& a, int64_t dim) { return softmax_impl(a, dim, true); }

}  // namespace ember
