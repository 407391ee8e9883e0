// Adam and AdamW, with torch.optim.Adam's and AdamW's updates (PyTorch 1.13,
// single-tensor path): bias-corrected moment estimates, optional AMSGrad,
// L2 weight decay added to the gradient (Adam) or decoupled weight decay
// applied to the parameter (AdamW). The math is in docs/optim.md; the code
// in optim/src/adam.cpp.
#pragma once

#include <vector>

#include "ember/core/backend.h"
#include "ember/optim/optimizer.h"

namespace ember::optim {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;    // torch's betas[0]; OneCycleLR cycles it
  double beta2 = 0.999;  // torch's betas[1]
  double eps = 1e-8;
  double weight_decay = 0;  // L2 penalty, added to the gradient
  bool amsgrad = false;
  bool maximize = false;
};

/// AdamOptions with PyTorch's AdamW default weight_decay = 1e-2 (a separate
/// struct so that AdamW(params, {.lr = 1e-3}) keeps that default).
struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;  // decoupled: shrinks the parameter by lr * weight_decay
  bool amsgrad = false;
  bool maximize = false;
};

class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> params, AdamOptions options = {});
  /// Groups' options override `defaults` by name: lr, beta1, beta2, eps,
  /// weight_decay, amsgrad, maximize.
  Adam(std::vector<ParamGroup> groups, AdamOptions defaults = {});

 protected:
  Adam(const char* name, bool decoupled, std::vector<ParamGroup> groups, AdamOptions defaults);
  void validate(const Options& options, const std::string& where) const override;
  void update(Tensor& param, const Tensor& grad, const ParamGroup& group, ParamState& state) override;
  bool supports_capturable() const override { return true; }
  std::vector<double> step_scalars(const ParamGroup& group, const ParamState& state) const override;
  void update_captured(Tensor& param, const Tensor& grad, const ParamGroup& group, ParamState& state,
                       const double* device_scalars) override;

 private:
  struct Moments {
    Tensor *exp_avg, *exp_avg_sq;
    Tensor max_sq;  // AMSGrad's, or undefined
    bool fusable;
  };
  Moments moments(Tensor& param, const Tensor& grad, ParamState& state, bool amsgrad);
  AdamParams fixed_params(const ParamGroup& group) const;

  bool decoupled_;  // AdamW: weight decay shrinks the parameter, not the gradient
};

class AdamW : public Adam {
 public:
  AdamW(std::vector<Tensor> params, AdamWOptions options = {});
  /// Groups' options override `defaults` by name, as Adam's.
  AdamW(std::vector<ParamGroup> groups, AdamWOptions defaults = {});
};

}  // namespace ember::optim
