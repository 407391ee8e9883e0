// Loss functions, written with Ember ops. cross_entropy is log_softmax (a
// fused, stable kernel) followed by picking each row's target entry with
// gather, so its gradient is softmax - one_hot, as expected.
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

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& target, double label_smoothing, Reduction reduction) {
  check_classification(logits, target, "cross_entropy");
  EMBER_CHECK(label_smoothing >= 0 && label_smoothing <= 1, ValueError,
              "cross_entropy: label_smoothing must be in [0, 1], got ", label_smoothing);
  Tensor logp = log_softmax(logits, 1);
  Tensor loss = picked(logp, target);
  if (label_smoothing > 0) loss = (1 - label_smoothing) * loss - label_smoothing * mean(logp, {1});
  return reduce(loss, reduction);
}

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction) {
  check_classification(log_probs, target, "nll_loss");
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

// max(x, 0) - x*y + log(1 + exp(-|x|)): never exponentiates a large number.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, Reduction reduction) {
  check_same_shape(logits, target, "binary_cross_entropy_with_logits");
  return reduce(relu(logits) - logits * target + log(1 + exp(-abs(logits))), reduction);
}

}  // namespace ember
