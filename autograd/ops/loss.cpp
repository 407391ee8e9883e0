// Loss functions. cross_entropy is a fused primitive each way (log-softmax
// and the picked log-likelihood in one pass, its gradient softmax - one_hot
// in one more); the other losses are written with Ember ops, so their
// gradients come from the ops they use.
#include "common.h"
#include "ember/autograd/functional.h"

namespace ember {

namespace {

Tensor reduce(const Tensor& loss, Reduction r) {
  switch (r) {
    case Reduction::None: return loss;
    case Reduction::Sum: return sum(loss);
    case Reduction::Mean: return mean(loss);
  }
  return loss;
}

void check_classification(const Tensor& scores, const Tensor& target, const char* op) {
  EMBER_CHECK(scores.dim() == 2, ShapeError, op, ": expected scores (N, C), got ", shape_str(scores.shape()));
  EMBER_CHECK(target.dtype() == DType::Int64, DTypeError, op, ": target must hold int64 class indices, got ",
              dtype_name(target.dtype()));
  EMBER_CHECK(target.dim() == 1 && target.size(0) == scores.size(0), ShapeError, op, ": target of shape ",
              shape_str(target.shape()), " for scores of shape ", shape_str(scores.shape()));
  EMBER_CHECK(is_floating(scores.dtype()), DTypeError, op, ": expected floating scores, got ",
              dtype_name(scores.dtype()));
}

// Target classes outside [0, C), checked on the host so that the error
// names the loss (the fused cross-entropy kernel checks its own).
void check_classes(const Tensor& scores, const Tensor& target, const char* op) {
  if (target.numel() == 0) return;
  const int64_t lo = min(target).item<int64_t>(), hi = max(target).item<int64_t>();
  EMBER_CHECK(lo >= 0 && hi < scores.size(1), IndexError, op, ": target class ", lo < 0 ? lo : hi,
              " is out of range for ", scores.size(1), " classes");
}

void check_same_shape(const Tensor& a, const Tensor& b, const char* op) {
  EMBER_CHECK(a.shape() == b.shape(), ShapeError, op, ": input of shape ", shape_str(a.shape()),
              " and target of shape ", shape_str(b.shape()), " differ");
}

// -log_probs[i, target[i]] for each row i.
Tensor picked(const Tensor& log_probs, const Tensor& target) {
  return -squeeze(gather(log_probs, 1, unsqueeze(target, 1)), 1);
}

// The per-sample cross-entropy written with differentiable ops, for the
// double backward (Note [Double backward of fused ops]).
Tensor cross_entropy_composite(const Tensor& logits, const Tensor& target, double label_smoothing) {
  Tensor logp = log_softmax(logits, 1);
  Tensor loss = picked(logp, target);
  if (label_smoothing > 0) loss = (1 - label_smoothing) * loss - label_smoothing * mean(logp, {1});
  return loss;
}

// saved: 0 = logits, 1 = target, 2 = each row's log-sum-exp
struct CrossEntropyBackward final : BackwardNode<CrossEntropyBackward> {
  static constexpr const char* kName = "CrossEntropyBackward";
  double label_smoothing = 0;
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    Tensor logits = saved(0), target = saved(1);
    if (GradMode::is_enabled())
      return composite_backward(
          *this,
          [&](const std::vector<Tensor>& in) { return cross_entropy_composite(in[0], target, label_smoothing); },
          {logits}, grads[0]);
    return {prim::cross_entropy_backward(grads[0], logits, saved(2), target, label_smoothing)};
  }
};

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& target, double label_smoothing, Reduction reduction) {
  check_classification(logits, target, "cross_entropy");
  EMBER_CHECK(label_smoothing >= 0 && label_smoothing <= 1, ValueError,
              "cross_entropy: label_smoothing must be in [0, 1], got ", label_smoothing);
  auto [loss, lse] = prim::cross_entropy_forward(logits, target, label_smoothing);  // checks the classes
  if (should_record({logits})) {
    auto node = std::make_shared<CrossEntropyBackward>();
    node->label_smoothing = label_smoothing;
    node->save(logits);
    node->save(target);
    node->save(lse);
    record(node, {logits}, loss);
  }
  return reduce(loss, reduction);
}

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction) {
  check_classification(log_probs, target, "nll_loss");
  check_classes(log_probs, target, "nll_loss");
  return reduce(picked(log_probs, target), reduction);
}

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  check_same_shape(input, target, "mse_loss");
  Tensor d = input - target;
  return reduce(d * d, reduction);
}

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, double beta, Reduction reduction) {
  check_same_shape(input, target, "smooth_l1_loss");
  EMBER_CHECK(beta >= 0, ValueError, "smooth_l1_loss: beta must be non-negative, got ", beta);
  Tensor d = abs(input - target);
  if (beta == 0) return reduce(d, reduction);
  return reduce(where(lt(d, beta), 0.5 * d * d / beta, d - 0.5 * beta), reduction);
}

// max(x, 0) - x*y + log(1 + exp(-|x|)): never exponentiates a large number,
// and log1p keeps the digits of the last term when exp(-|x|) is tiny.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, Reduction reduction) {
  check_same_shape(logits, target, "binary_cross_entropy_with_logits");
  return reduce(relu(logits) - logits * target + log1p(exp(-abs(logits))), reduction);
}

}  // namespace ember
