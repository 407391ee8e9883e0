// OneCycleLR, following torch/optim/lr_scheduler.py's OneCycleLR (PyTorch
// 1.13): two phases (or three with three_phase) between the group options
// initial_lr, max_lr and min_lr, which the constructor writes into every
// param group as PyTorch does, so that they are checkpointed with the
// optimizer; momentum (SGD) or beta1 (Adam) moves against the lr.
#include <cmath>
#include <numbers>

#include "ember/optim/lr_scheduler.h"

namespace ember::optim {

OneCycleLR::OneCycleLR(Optimizer& optimizer, double max_lr, OneCycleOptions options)
    : OneCycleLR(optimizer, std::vector<double>(optimizer.param_groups().size(), max_lr), options) {}

OneCycleLR::OneCycleLR(Optimizer& optimizer, std::vector<double> max_lrs, OneCycleOptions options)
    : LRScheduler(optimizer, "OneCycleLR"), options_(options) {
  const OneCycleOptions& o = options_;
  EMBER_CHECK(o.total_steps >= 1, ValueError, "OneCycleLR: invalid total_steps ", o.total_steps,
              " (expected a positive number of steps)");
  EMBER_CHECK(o.pct_start >= 0 && o.pct_start <= 1, ValueError, "OneCycleLR: invalid pct_start ", o.pct_start,
              " (expected 0 <= pct_start <= 1)");
  EMBER_CHECK(o.div_factor > 0 && o.final_div_factor > 0, ValueError, "OneCycleLR: div_factor (", o.div_factor,
              ") and final_div_factor (", o.final_div_factor, ") must be > 0");
  EMBER_CHECK(max_lrs.size() == optimizer.param_groups().size(), ValueError, "OneCycleLR: expected ",
              optimizer.param_groups().size(), " values for max_lr, got ", max_lrs.size());
  for (double lr : max_lrs)
    EMBER_CHECK(lr >= 0 && std::isfinite(lr), ValueError, "OneCycleLR: invalid max_lr ", lr, " (expected >= 0)");
  const double total = static_cast<double>(o.total_steps), pct = o.pct_start;
  if (o.three_phase)
    phases_ = {{pct * total - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"},
               {2 * pct * total - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"},
               {total - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"}};
  else
    phases_ = {{pct * total - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"},
               {total - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"}};
  set_group_options(max_lrs);
  initial_step();
}

void OneCycleLR::set_group_options(const std::vector<double>& max_lrs) {
  auto& groups = optimizer().param_groups();
  if (options_.cycle_momentum) {
    const Options& defaults = optimizer().defaults();
    EMBER_CHECK(defaults.count("momentum") || defaults.count("beta1"), ValueError, "OneCycleLR: ",
                optimizer().name(), " has no momentum or beta1 to cycle; pass cycle_momentum = false");
    momentum_key_ = defaults.count("beta1") ? "beta1" : "momentum";
  }
  for (size_t g = 0; g < groups.size(); ++g) {
    groups[g].set("initial_lr", max_lrs[g] / options_.div_factor);
    groups[g].set("max_lr", max_lrs[g]);
    groups[g].set("min_lr", groups[g].get("initial_lr") / options_.final_div_factor);
    if (momentum_key_) {
      groups[g].set(momentum_key_, options_.max_momentum);
      groups[g].set("max_momentum", options_.max_momentum);
      groups[g].set("base_momentum", options_.base_momentum);
    }
  }
  // The base class read initial_lr before it was set here; PyTorch's base
  // constructor runs after these lines, so read it again.
  reset_base_lrs();
}

double OneCycleLR::anneal(double start, double end, double pct) const {
  if (options_.anneal_strategy == AnnealStrategy::Linear) return (end - start) * pct + start;
  const double cos_out = std::cos(std::numbers::pi * pct) + 1;
  return end + (start - end) / 2.0 * cos_out;
}

std::vector<double> OneCycleLR::get_lr() {
  const int64_t step_num = last_epoch();
  EMBER_CHECK(step_num <= options_.total_steps, ValueError, "OneCycleLR: tried to step ", step_num + 1,
              " times; total_steps is ", options_.total_steps);
  std::vector<double> lrs;
  for (ParamGroup& group : optimizer().param_groups()) {
    double start_step = 0;
    for (size_t i = 0; i < phases_.size(); ++i) {
      const Phase& phase = phases_[i];
      if (static_cast<double>(step_num) <= phase.end_step || i + 1 == phases_.size()) {
        const double pct = (static_cast<double>(step_num) - start_step) / (phase.end_step - start_step);
        lrs.push_back(anneal(group.get(phase.start_lr), group.get(phase.end_lr), pct));
        if (momentum_key_)
          group.set(momentum_key_, anneal(group.get(phase.start_momentum), group.get(phase.end_momentum), pct));
        break;
      }
      start_step = phase.end_step;
    }
  }
  return lrs;
}

}  // namespace ember::optim
