// Optimizer: the base of SGD, Adam and AdamW, shaped like torch.optim's.
//
// Parameters are plain leaf Tensors (what nn's Module::parameters() hands
// out); the optimizer reads their .grad() and updates them in place under
// NoGradGuard. They come in parameter groups, each with its own
// hyper-parameters held by name ("lr", "momentum", "beta1", ...) exactly as
// PyTorch's param_group dicts, so that schedulers can rewrite "lr" (and
// OneCycleLR "momentum"/"beta1") between steps. Per-parameter state
// (moment buffers, a step counter) is created on a parameter's first update.
//
// Note [Optimizer state checkpoint]
// state_dict() numbers parameters 0..n-1 across groups in order, as PyTorch
// does, and exports
//   tensors  state.<i>.<buffer>     exp_avg, exp_avg_sq, max_exp_avg_sq, momentum_buffer
//   scalars  state.<i>.step         updates applied to parameter i
//            param_groups.<g>.size  how many parameters group g holds
//            param_groups.<g>.<key> every hyper-parameter (lr, initial_lr, beta1, ...)
// load_state_dict() checks all of it against this optimizer before changing
// anything, then replaces the state with copies: training resumed from a
// loaded state continues bit for bit as if it had never stopped.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "ember/core/tensor.h"
#include "ember/optim/state_dict.h"

namespace ember::optim {

/// Hyper-parameters by name. Booleans (nesterov, amsgrad, maximize) are 0 or 1.
using Options = std::map<std::string, double>;

/// Parameters that share hyper-parameters. Keys missing from `options` take
/// the optimizer's defaults when the group is added.
struct ParamGroup {
  std::vector<Tensor> params;
  Options options;

  /// The option `key`; throws ValueError when the group has none.
  double get(const std::string& key) const;
  void set(const std::string& key, double value) { options[key] = value; }
  bool has(const std::string& key) const { return options.count(key) != 0; }
  double lr() const { return get("lr"); }
};

/// What an optimizer keeps for one parameter.
struct ParamState {
  int64_t step = 0;                       // updates applied so far
  std::map<std::string, Tensor> buffers;  // e.g. "exp_avg"; same shape as the parameter
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// Updates every parameter whose gradient is defined (others are skipped,
  /// as PyTorch skips grad None), under NoGradGuard.
  void step();
  /// set_to_none (the default, as PyTorch 2.x): gradients become undefined,
  /// so the next backward() allocates them and step() skips parameters that
  /// got none. Otherwise they are filled with zeros in place (PyTorch 1.13's
  /// default), and step() still updates those parameters (weight decay,
  /// momentum).
  void zero_grad(bool set_to_none = true);
  /// Adds a group; its missing options are taken from the defaults. Throws
  /// ValueError for a non-leaf or duplicated parameter or a bad or unknown
  /// hyper-parameter, DTypeError for a non-floating parameter.
  void add_param_group(ParamGroup group);

  std::vector<ParamGroup>& param_groups() { return groups_; }
  const std::vector<ParamGroup>& param_groups() const { return groups_; }
  const Options& defaults() const { return defaults_; }
  const std::string& name() const { return name_; }
  /// Whether step() may run the backend's fused update (Backend::sgd_update,
  /// adam_update; Note [Fused optimizer updates] in kernels/cpu/optim.cpp)
  /// where it applies (parameter, gradient and buffers contiguous, of one
  /// floating dtype, on one device, whose backends have the entry). On by
  /// default; off, every update goes op by op (the reference path, same
  /// results).
  void set_fused(bool on) { fused_ = on; }
  bool fused() const { return fused_; }

  /// Note [Capturable optimizer steps]
  /// A CUDA graph (Note [CUDA graphs]) freezes every kernel argument, but a
  /// step's learning rate (a schedule's), beta1 (OneCycleLR's) and bias
  /// corrections change from step to step. A capturable optimizer therefore
  /// splits step() in two: prepare_step() is the host's part (count the
  /// step, compute each parameter's scalars, and write them all to one
  /// float64 tensor on the parameters' device in a single copy), and
  /// launch_step() queues the fused update kernels, which read the scalars
  /// from that tensor when they run (AdamParams::device_scalars). step() is
  /// the two in turn, so an eager step computes what a replay does, bit for
  /// bit. A graph captures launch_step() alone, and each replay follows a
  /// prepare_step(). Adam and AdamW are capturable; set_capturable(true) on
  /// another optimizer is a ValueError, as is a capturable step whose
  /// parameters cannot take the fused update.
  void set_capturable(bool on);
  bool capturable() const { return capturable_; }
  void prepare_step();
  void launch_step();
  /// The state of `param`, or nullptr before its first update.
  const ParamState* state(const Tensor& param) const;

  /// See Note [Optimizer state checkpoint].
  StateDict state_dict() const;
  void load_state_dict(const StateDict& state);

 protected:
  Optimizer(std::string name, Options defaults);
  /// Adds the groups (derived constructors call it, once validate() works).
  void init_groups(std::vector<ParamGroup> groups);
  /// Throws ValueError naming `where` and the first bad hyper-parameter of
  /// `options` (all keys present, all finite: checked before).
  virtual void validate(const Options& options, const std::string& where) const = 0;
  /// One update of `param` with its defined gradient `grad`; `state.step`
  /// already counts this update.
  virtual void update(Tensor& param, const Tensor& grad, const ParamGroup& group, ParamState& state) = 0;
  /// Capturable optimizers: the four scalars of this step's update of a
  /// parameter (for Adam: lr, beta1, step_size, bias_correction2_sqrt), and
  /// the update itself reading them from `device_scalars`.
  virtual bool supports_capturable() const { return false; }
  virtual std::vector<double> step_scalars(const ParamGroup& group, const ParamState& state) const;
  virtual void update_captured(Tensor& param, const Tensor& grad, const ParamGroup& group, ParamState& state,
                               const double* device_scalars);

  /// Whether the fused update entries may take these tensors: all defined,
  /// contiguous, of the first one's floating dtype and device.
  static bool fusable(std::initializer_list<const Tensor*> tensors);
  /// The buffer `key` of `state`, created as zeros like `param` on first use.
  static Tensor& buffer(ParamState& state, const std::string& key, const Tensor& param);

  /// The per-parameter buffers this optimizer may keep (load_state_dict
  /// refuses others).
  std::vector<std::string> buffer_names_;

 private:
  void check_options(const Options& options, const std::string& where) const;
  std::unordered_map<const TensorImpl*, ParamState> load_param_states(const StateDict& state) const;
  std::vector<Options> load_group_options(const StateDict& state) const;

  std::string name_;
  bool fused_ = true;
  bool capturable_ = false;
  Tensor step_scalars_;  // (parameters, 4) float64 on the parameters' device: Note [Capturable optimizer steps]
  std::vector<Tensor> retired_scalars_;  // earlier buffers, which a captured graph may still read
  Options defaults_;
  std::vector<ParamGroup> groups_;
  // Keyed by the parameter's TensorImpl: every handle of it shares one.
  std::unordered_map<const TensorImpl*, ParamState> state_;
};

/// Checks shared by the optimizers, each throwing ValueError that names
/// `where` (the optimizer, and the group), the option and its value.
void check_non_negative(const Options& options, const std::string& key, const std::string& where);
void check_in_unit_interval(const Options& options, const std::string& key, const std::string& where);  // [0, 1)
void check_flag(const Options& options, const std::string& key, const std::string& where);              // 0 or 1

}  // namespace ember::optim
