// SGD with momentum, dampening, Nesterov momentum, L2 weight decay and
// maximize, with torch.optim.SGD's update (PyTorch 1.13, single-tensor path).
// The update rule, as math, is in docs/optim.md; the code in optim/src/sgd.cpp.
#pragma once

#include <vector>

#include "ember/optim/optimizer.h"

namespace ember::optim {

struct SGDOptions {
  double lr = 1e-3;  // PyTorch 1.13 requires lr; 2.x defaults it to 1e-3, as here
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;  // needs momentum > 0 and dampening == 0
  bool maximize = false;
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, SGDOptions options = {});
  /// Groups' options override `defaults` by name: lr, momentum, dampening,
  /// weight_decay, nesterov, maximize.
  SGD(std::vector<ParamGroup> groups, SGDOptions defaults = {});

 protected:
  void validate(const Options& options, const std::string& where) const override;
  void update(Tensor& param, const Tensor& grad, const ParamGroup& group, ParamState& state) override;

 private:
  /// The same update as one CPU loop; false (nothing done) where it does not apply.
  bool update_fused(Tensor& param, const Tensor& grad, const ParamGroup& group, ParamState& state);
};

}  // namespace ember::optim
