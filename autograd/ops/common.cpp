// Shared helpers of the ops (common.h).
#include "common.h"

#include "ember/autograd/engine.h"

namespace ember {

// See Note [Double backward of fused ops].
std::vector<Tensor> composite_backward(const Node& node,
                                       const std::function<Tensor(const std::vector<Tensor>&)>& composite,
                                       const std::vector<Tensor>& inputs, const Tensor& grad) {
  std::vector<Tensor> wanted;
  std::vector<size_t> slots;
  for (size_t i = 0; i < inputs.size(); ++i)
    if (node.needs_input_grad(i) && inputs[i].defined() && inputs[i].requires_grad()) {
      wanted.push_back(inputs[i]);
      slots.push_back(i);
    }
  std::vector<Tensor> grads(inputs.size());
  if (wanted.empty()) return grads;
  std::vector<Tensor> got = autograd::grad({composite(inputs)}, wanted, {grad}, /*retain_graph=*/true,
                                           /*create_graph=*/true, /*allow_unused=*/true);
  for (size_t k = 0; k < slots.size(); ++k) grads[slots[k]] = got[k];
  return grads;
}

}  // namespace ember
