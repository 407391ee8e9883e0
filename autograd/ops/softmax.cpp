// softmax and log_softmax along one dim: a fused, numerically stable kernel
// forward (max subtracted first); the backward is written with Ember ops.
#include "common.h"

namespace ember {

namespace {

struct SoftmaxBackward final : BackwardNode<SoftmaxBackward> {  // saved: 0 = output y
  static constexpr const char* kName = "SoftmaxBackward";
  int64_t dim = 0;
  // dx = y * (g - sum(g * y))
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    Tensor y = saved(0);
    return {y * (g[0] - sum(g[0] * y, {dim}, true))};
  }
};

struct LogSoftmaxBackward final : BackwardNode<LogSoftmaxBackward> {  // saved: 0 = output y
  static constexpr const char* kName = "LogSoftmaxBackward";
  int64_t dim = 0;
  // dx = g - exp(y) * sum(g)
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    return {g[0] - exp(saved(0)) * sum(g[0], {dim}, true)};
  }
};

template <typename NodeT>
Tensor softmax_impl(const Tensor& a, int64_t dim_in, bool log) {
  const char* name = log ? "log_softmax" : "softmax";
  EMBER_CHECK(is_floating(a.dtype()), DTypeError, name, ": expected a floating tensor, got ", dtype_name(a.dtype()));
  int64_t dim = normalize_dim(dim_in, a.dim(), name);
  Tensor out = prim::softmax_nograd(a, dim, log);
  if (should_record({a})) {
    auto node = std::make_shared<NodeT>();
    node->dim = dim;
    record(node, {a}, out);
    node->save(out, /*is_output=*/true);
  }
  return out;
}

}  // namespace

Tensor softmax(const Tensor& a, int64_t dim) { return softmax_impl<SoftmaxBackward>(a, dim, false); }
Tensor log_softmax(const Tensor& a, int64_t dim) { return softmax_impl<LogSoftmaxBackward>(a, dim, true); }

}  // namespace ember
