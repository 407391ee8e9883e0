// LRScheduler and the simple schedules (StepLR, LinearLR, CosineAnnealingLR,
// SequentialLR), following torch/optim/lr_scheduler.py (PyTorch 1.13): each
// get_lr() is PyTorch's chainable form, each closed_form_lr() its
// _get_closed_form_lr. See Note [Chainable schedulers] in lr_scheduler.h.
// OneCycleLR is in one_cycle.cpp.
#include "ember/optim/lr_scheduler.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace ember::optim {

// ---- LRScheduler ----

LRScheduler::LRScheduler(Optimizer& optimizer, const char* name) : name_(name), optimizer_(&optimizer) {
  for (ParamGroup& g : optimizer.param_groups()) {
    if (!g.has("initial_lr")) g.set("initial_lr", g.lr());
    base_lrs_.push_back(g.get("initial_lr"));
  }
}

void LRScheduler::reset_base_lrs() {
  base_lrs_.clear();
  for (const ParamGroup& g : optimizer_->param_groups()) base_lrs_.push_back(g.get("initial_lr"));
}

void LRScheduler::initial_step() {
  step_count_ = 0;
  step();
}

std::vector<double> LRScheduler::group_lrs() const {
  std::vector<double> out;
  for (const ParamGroup& g : optimizer_->param_groups()) out.push_back(g.lr());
  return out;
}

void LRScheduler::check_groups() const {
  const size_t n = optimizer_->param_groups().size();
  EMBER_CHECK(n == base_lrs_.size(), ValueError, name_, ": the optimizer has ", n,
              " param groups but the scheduler was made for ", base_lrs_.size());
}

void LRScheduler::apply(const std::vector<double>& lrs) {
  auto& groups = optimizer_->param_groups();
  for (size_t g = 0; g < groups.size(); ++g) groups[g].set("lr", lrs[g]);
  last_lr_ = group_lrs();
}

void LRScheduler::step() {
  check_groups();
  ++step_count_;
  ++last_epoch_;
  apply(get_lr());
}

void LRScheduler::step_to(int64_t epoch) {
  check_groups();
  ++step_count_;
  last_epoch_ = epoch;
  std::optional<std::vector<double>> closed = closed_form_lr();
  apply(closed ? *closed : get_lr());
}

StateDict LRScheduler::state_dict() const {
  StateDict out;
  out.scalars.emplace_back("last_epoch", static_cast<double>(last_epoch_));
  out.scalars.emplace_back("step_count", static_cast<double>(step_count_));
  for (size_t g = 0; g < base_lrs_.size(); ++g) out.scalars.emplace_back("base_lrs." + std::to_string(g), base_lrs_[g]);
  for (size_t g = 0; g < last_lr_.size(); ++g) out.scalars.emplace_back("last_lr." + std::to_string(g), last_lr_[g]);
  return out;
}

void LRScheduler::load_state_dict(const StateDict& state) {
  const std::string what = std::string(name_) + ".load_state_dict";
  const double last_epoch = state.require_scalar("last_epoch", what);
  const double step_count = state.require_scalar("step_count", what);
  for (double v : {last_epoch, step_count})
    EMBER_CHECK(v == std::floor(v) && v >= -1 && v < 9007199254740992.0, ValueError, what,
                ": last_epoch and step_count must be whole numbers, got ", v);
  std::vector<double> base(base_lrs_.size()), last(last_lr_.size());
  for (size_t g = 0; g < base.size(); ++g) base[g] = state.require_scalar("base_lrs." + std::to_string(g), what);
  for (size_t g = 0; g < last.size(); ++g) last[g] = state.require_scalar("last_lr." + std::to_string(g), what);
  EMBER_CHECK(!state.scalar("base_lrs." + std::to_string(base.size())), ValueError, what,
              ": the state has more than the scheduler's ", base.size(), " param group(s)");
  last_epoch_ = static_cast<int64_t>(last_epoch);
  step_count_ = static_cast<int64_t>(step_count);
  base_lrs_ = std::move(base);
  last_lr_ = std::move(last);
}

// ---- StepLR ----

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma)
    : LRScheduler(optimizer, "StepLR"), step_size_(step_size), gamma_(gamma) {
  EMBER_CHECK(step_size >= 1, ValueError, "StepLR: invalid step_size ", step_size, " (expected >= 1)");
  EMBER_CHECK(gamma > 0 && std::isfinite(gamma), ValueError, "StepLR: invalid gamma ", gamma, " (expected > 0)");
  initial_step();
}

std::vector<double> StepLR::get_lr() {
  std::vector<double> lrs = group_lrs();
  if (last_epoch() == 0 || last_epoch() % step_size_ != 0) return lrs;
  for (double& lr : lrs) lr *= gamma_;
  return lrs;
}

std::optional<std::vector<double>> StepLR::closed_form_lr() const {
  std::vector<double> lrs;
  for (double base : base_lrs()) lrs.push_back(base * std::pow(gamma_, static_cast<double>(last_epoch() / step_size_)));
  return lrs;
}

// ---- LinearLR ----

LinearLR::LinearLR(Optimizer& optimizer, double start_factor, double end_factor, int64_t total_iters)
    : LRScheduler(optimizer, "LinearLR"), start_factor_(start_factor), end_factor_(end_factor), total_iters_(total_iters) {
  // start_factor 0 would divide by zero in the chainable form (PyTorch 2.x refuses it too).
  EMBER_CHECK(start_factor > 0 && start_factor <= 1, ValueError, "LinearLR: invalid start_factor ", start_factor,
              " (expected 0 < start_factor <= 1)");
  EMBER_CHECK(end_factor >= 0 && end_factor <= 1, ValueError, "LinearLR: invalid end_factor ", end_factor,
              " (expected 0 <= end_factor <= 1)");
  EMBER_CHECK(total_iters >= 1, ValueError, "LinearLR: invalid total_iters ", total_iters, " (expected >= 1)");
  initial_step();
}

std::vector<double> LinearLR::get_lr() {
  std::vector<double> lrs = group_lrs();
  const int64_t e = last_epoch();
  if (e == 0) {
    for (double& lr : lrs) lr *= start_factor_;
  } else if (e <= total_iters_) {
    const double delta = end_factor_ - start_factor_;
    for (double& lr : lrs)
      lr *= 1. + delta / (static_cast<double>(total_iters_) * start_factor_ + static_cast<double>(e - 1) * delta);
  }
  return lrs;
}

std::optional<std::vector<double>> LinearLR::closed_form_lr() const {
  std::vector<double> lrs;
  const double done = static_cast<double>(std::min(total_iters_, last_epoch()));
  for (double base : base_lrs())
    lrs.push_back(base * (start_factor_ + (end_factor_ - start_factor_) * done / static_cast<double>(total_iters_)));
  return lrs;
}

// ---- CosineAnnealingLR ----

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min)
    : LRScheduler(optimizer, "CosineAnnealingLR"), T_max_(T_max), eta_min_(eta_min) {
  EMBER_CHECK(T_max >= 1, ValueError, "CosineAnnealingLR: invalid T_max ", T_max, " (expected >= 1)");
  EMBER_CHECK(eta_min >= 0 && std::isfinite(eta_min), ValueError, "CosineAnnealingLR: invalid eta_min ", eta_min,
              " (expected >= 0)");
  initial_step();
}

std::vector<double> CosineAnnealingLR::get_lr() {
  constexpr double pi = std::numbers::pi;
  const double e = static_cast<double>(last_epoch()), T = static_cast<double>(T_max_);
  std::vector<double> lrs = group_lrs();
  const std::vector<double>& base = base_lrs();
  if (last_epoch() == 0) return lrs;
  for (size_t g = 0; g < lrs.size(); ++g) {
    if (step_count() == 1 && last_epoch() > 0)
      lrs[g] = eta_min_ + (base[g] - eta_min_) * (1 + std::cos(e * pi / T)) / 2;
    else if ((last_epoch() - 1 - T_max_) % (2 * T_max_) == 0)
      lrs[g] = lrs[g] + (base[g] - eta_min_) * (1 - std::cos(pi / T)) / 2;
    else
      lrs[g] = (1 + std::cos(pi * e / T)) / (1 + std::cos(pi * (e - 1) / T)) * (lrs[g] - eta_min_) + eta_min_;
  }
  return lrs;
}

std::optional<std::vector<double>> CosineAnnealingLR::closed_form_lr() const {
  constexpr double pi = std::numbers::pi;
  std::vector<double> lrs;
  for (double base : base_lrs())
    lrs.push_back(eta_min_ + (base - eta_min_) *
                                 (1 + std::cos(pi * static_cast<double>(last_epoch()) / static_cast<double>(T_max_))) /
                                 2);
  return lrs;
}

// ---- SequentialLR ----

SequentialLR::SequentialLR(Optimizer& optimizer, std::vector<std::shared_ptr<LRScheduler>> schedulers,
                           std::vector<int64_t> milestones)
    : LRScheduler(optimizer, "SequentialLR"), schedulers_(std::move(schedulers)), milestones_(std::move(milestones)) {
  EMBER_CHECK(!schedulers_.empty(), ValueError, "SequentialLR: got no schedulers");
  EMBER_CHECK(milestones_.size() + 1 == schedulers_.size(), ValueError, "SequentialLR: expected ",
              schedulers_.size() - 1, " milestone(s) for ", schedulers_.size(), " schedulers, got ", milestones_.size());
  for (size_t k = 0; k < schedulers_.size(); ++k)
    EMBER_CHECK(schedulers_[k] && &schedulers_[k]->optimizer() == &optimizer, ValueError,
                "SequentialLR: scheduler ", k, " does not drive the optimizer given to SequentialLR");
  for (size_t k = 0; k < milestones_.size(); ++k)
    EMBER_CHECK(milestones_[k] >= 1 && (k == 0 || milestones_[k] > milestones_[k - 1]), ValueError,
                "SequentialLR: milestones must be positive and increasing, got ", milestones_[k], " at index ", k);
  // As PyTorch: back to the initial lrs, undo each scheduler's initial step,
  // and redo only the first scheduler's.
  for (ParamGroup& g : optimizer.param_groups()) g.set("lr", g.get("initial_lr"));
  for (auto& s : schedulers_) s->last_epoch_ -= 1;
  schedulers_[0]->initial_step();
  last_epoch_ = 0;
  last_lr_ = schedulers_[0]->get_last_lr();
}

void SequentialLR::step() {
  ++last_epoch_;
  const size_t idx = std::upper_bound(milestones_.begin(), milestones_.end(), last_epoch_) - milestones_.begin();
  LRScheduler& s = *schedulers_[idx];
  if (idx > 0 && milestones_[idx - 1] == last_epoch_)
    s.step_to(0);
  else
    s.step();
  last_lr_ = s.get_last_lr();
}

std::vector<double> SequentialLR::get_lr() { return group_lrs(); }

StateDict SequentialLR::state_dict() const {
  StateDict out = LRScheduler::state_dict();
  for (size_t k = 0; k < schedulers_.size(); ++k)
    out.merge("schedulers." + std::to_string(k) + ".", schedulers_[k]->state_dict());
  return out;
}

void SequentialLR::load_state_dict(const StateDict& state) {
  LRScheduler::load_state_dict(state);
  for (size_t k = 0; k < schedulers_.size(); ++k)
    schedulers_[k]->load_state_dict(state.sub("schedulers." + std::to_string(k) + "."));
}

}  // namespace ember::optim
