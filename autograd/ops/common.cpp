// Shared helpers of the ops (common.h).
#include "common.h"

#include "ember/autograd/engine.h"

namespace ember {

Tensor bias_stand_in(const InputMeta& bias, bool needed) {
  Tensor zero = zeros(bias.shape, {.dtype = bias.dtype, .device = bias.device});
  return needed ? zero.requires_grad_() : zero;
}

// See Note [Double backward of fused ops].
std::vector<Tensor> composite_backward(const Node& node,
                                       const std::function<Tensor(const std::vector<Tensor>&)>& composite,
                                       const std::vector<Tensor>& inputs, const Tensor& grad) {
  // Each input enters the composite through a view of its own, and the
  // gradients are captured at those views. Capturing at the inputs
  // themselves would go wrong when one depends on another (bias = 0.5 *
  // weight): autograd::grad would also run the path between them and count
  // it here, and the engine outside counts it again. Through the views the
  // result still depends on the original inputs, for the next derivative.
  std::vector<Tensor> own(inputs.size()), wanted;
  std::vector<size_t> slots;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined()) continue;
    own[i] = inputs[i].requires_grad() ? view(inputs[i], inputs[i].shape()) : inputs[i];
    if (node.needs_input_grad(i) && inputs[i].requires_grad()) {
      wanted.push_back(own[i]);
      slots.push_back(i);
    }
  }
  std::vector<Tensor> grads(inputs.size());
  if (wanted.empty()) return grads;
  std::vector<Tensor> got = autograd::grad({composite(own)}, wanted, {grad}, /*retain_graph=*/true,
                                           /*create_graph=*/true, /*allow_unused=*/true);
  for (size_t k = 0; k < slots.size(); ++k) grads[slots[k]] = got[k];
  return grads;
}

}  // namespace ember
