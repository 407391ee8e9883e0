// Learning-rate schedulers with torch.optim.lr_scheduler's semantics
// (PyTorch 1.13): StepLR, LinearLR (warm-up), CosineAnnealingLR, OneCycleLR
// and SequentialLR (one schedule after another, e.g. warm-up then cosine).
//
// Note [Chainable schedulers]
// As in PyTorch, a scheduler owns no learning rate: each step() reads the
// optimizer groups' current "lr" and writes the next one ("chainable"
// form), so the values carry PyTorch's exact rounding. Constructing a
// scheduler already performs step 0 (last_epoch 0), and sets each group's
// "initial_lr" (the base lr) when it has none. Call optimizer.step() then
// scheduler.step() once per iteration (or per epoch, as you choose).
// SequentialLR jumps a schedule to epoch 0 at its milestone with the
// closed form (closed_form_lr), as PyTorch's step(0) does.
//
// A scheduler keeps a pointer to its optimizer: the optimizer must outlive it.
//
// Checkpoint: state_dict() holds last_epoch, the step count, base and last
// lrs (SequentialLR adds its schedulers under "schedulers.<k>."). The lrs
// themselves live in the optimizer's state_dict, so restore both.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "ember/optim/optimizer.h"

namespace ember::optim {

class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  /// Advances one epoch (or iteration) and writes the new lrs into the optimizer.
  virtual void step();
  /// The lr of each group, as set by the last step().
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  int64_t last_epoch() const { return last_epoch_; }
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  Optimizer& optimizer() const { return *optimizer_; }

  virtual StateDict state_dict() const;
  virtual void load_state_dict(const StateDict& state);

 protected:
  LRScheduler(Optimizer& optimizer, const char* name);
  /// Step 0; the derived constructor calls it once its own fields are set.
  void initial_step();
  /// The next lrs from the groups' current ones (Note [Chainable schedulers]).
  virtual std::vector<double> get_lr() = 0;
  /// The lrs at last_epoch as a formula of base_lrs, where one exists.
  virtual std::optional<std::vector<double>> closed_form_lr() const { return std::nullopt; }
  /// Like PyTorch's step(epoch): jump to `epoch` (SequentialLR uses 0).
  void step_to(int64_t epoch);
  /// Every group's current "lr".
  std::vector<double> group_lrs() const;
  /// Re-reads base_lrs from the groups' "initial_lr" (OneCycleLR sets them).
  void reset_base_lrs();
  /// step() calls since construction (or since initial_step()).
  int64_t step_count() const { return step_count_; }
  const char* name_;

 private:
  void check_groups() const;  // the optimizer still has one group per base lr
  void apply(const std::vector<double>& lrs);
  friend class SequentialLR;

  Optimizer* optimizer_;
  std::vector<double> base_lrs_;
  int64_t last_epoch_ = -1;
  int64_t step_count_ = 0;
  std::vector<double> last_lr_;
};

/// lr = lr * gamma every step_size epochs.
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1);

 protected:
  std::vector<double> get_lr() override;
  std::optional<std::vector<double>> closed_form_lr() const override;

 private:
  int64_t step_size_;
  double gamma_;
};

/// Linear warm-up: the factor on base_lr goes from start_factor to
/// end_factor over total_iters epochs, then stays.
class LinearLR : public LRScheduler {
 public:
  LinearLR(Optimizer& optimizer, double start_factor = 1.0 / 3, double end_factor = 1.0, int64_t total_iters = 5);

 protected:
  std::vector<double> get_lr() override;
  std::optional<std::vector<double>> closed_form_lr() const override;

 private:
  double start_factor_, end_factor_;
  int64_t total_iters_;
};

/// Half a cosine from base_lr down to eta_min over T_max epochs (and back up
/// after, as PyTorch's SGDR-style recursion does).
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min = 0);

 protected:
  std::vector<double> get_lr() override;
  std::optional<std::vector<double>> closed_form_lr() const override;

 private:
  int64_t T_max_;
  double eta_min_;
};

enum class AnnealStrategy { Cos, Linear };

struct OneCycleOptions {
  int64_t total_steps = 0;  // required: the number of step() calls planned
  double pct_start = 0.3;
  AnnealStrategy anneal_strategy = AnnealStrategy::Cos;
  bool cycle_momentum = true;  // SGD's "momentum" or Adam's "beta1", inversely to lr
  double base_momentum = 0.85;
  double max_momentum = 0.95;
  double div_factor = 25;         // initial_lr = max_lr / div_factor
  double final_div_factor = 1e4;  // min_lr = initial_lr / final_div_factor
  bool three_phase = false;
};

/// The 1cycle policy: lr rises from max_lr/div_factor to max_lr over
/// pct_start of total_steps, then anneals to min_lr; momentum moves the
/// other way. Stepping past total_steps throws.
class OneCycleLR : public LRScheduler {
 public:
  OneCycleLR(Optimizer& optimizer, double max_lr, OneCycleOptions options);
  /// One max_lr per parameter group.
  OneCycleLR(Optimizer& optimizer, std::vector<double> max_lrs, OneCycleOptions options);

 protected:
  std::vector<double> get_lr() override;

 private:
  struct Phase {
    double end_step;
    const char *start_lr, *end_lr, *start_momentum, *end_momentum;  // group option keys
  };
  double anneal(double start, double end, double pct) const;
  void set_group_options(const std::vector<double>& max_lrs);

  OneCycleOptions options_;
  std::vector<Phase> phases_;
  const char* momentum_key_ = nullptr;  // "momentum" or "beta1" when cycling
};

/// Runs schedulers[0] until milestones[0], then schedulers[1], ...; each
/// later schedule restarts at its epoch 0 at its milestone. All must drive
/// `optimizer`; construct them just before this (each one's constructor
/// steps it once; SequentialLR undoes that, as PyTorch does).
class SequentialLR : public LRScheduler {
 public:
  SequentialLR(Optimizer& optimizer, std::vector<std::shared_ptr<LRScheduler>> schedulers,
               std::vector<int64_t> milestones);
  void step() override;
  StateDict state_dict() const override;
  void load_state_dict(const StateDict& state) override;

 protected:
  std::vector<double> get_lr() override;

 private:
  std::vector<std::shared_ptr<LRScheduler>> schedulers_;
  std::vector<int64_t> milestones_;
};

}  // namespace ember::optim
