// Anomaly mode, after torch.autograd.detect_anomaly: while it is on, the
// first NaN or Inf that training makes is named where it is made.
//
//   {
//     ember::autograd::AnomalyMode anomaly;  // on for this scope
//     Tensor loss = model(x).log().mean();   // AnomalyError: "log ... produced NaN"
//     loss.backward();                       // or: "SqrtBackward returned ... Inf"
//   }
//
// Note [Anomaly mode]
// Forward: every op that records a Node for autograd (record() in
// autograd/src/node.cpp, the one place every differentiable op passes
// through) has its output scanned; the first one holding a NaN or an Inf
// is an AnomalyError naming the op (from its Node: LogBackward is `log`,
// ConvBackward `conv2d`) and its inputs' shapes. Ops on tensors that need
// no gradient record nothing and are not scanned: this is a tool for
// training, where every activation is recorded.
// Backward: the engine scans the gradients each Node returns; the first
// holding a NaN or an Inf is an AnomalyError naming the Node, the input it
// was for, and the forward op that created the Node.
// Off, it costs one relaxed atomic load per recorded op and per Node. On,
// each scan copies the tensor to the CPU: slow, which is why it is a mode.
#pragma once

#include <string>

#include "ember/core/tensor.h"

namespace ember::autograd {

bool anomaly_mode_enabled();
void set_anomaly_mode(bool enabled);

// On for its scope, restoring what was before.
class AnomalyMode {
 public:
  explicit AnomalyMode(bool enabled = true) : prev_(anomaly_mode_enabled()) { set_anomaly_mode(enabled); }
  ~AnomalyMode() { set_anomaly_mode(prev_); }
  AnomalyMode(const AnomalyMode&) = delete;
  AnomalyMode& operator=(const AnomalyMode&) = delete;

 private:
  bool prev_;
};

// The forward op a Node's name stands for: "LogBackward" -> "log",
// "MaxPool2dBackward" -> "max_pool2d", "ConvBackward" -> "conv2d".
std::string forward_op_name(const std::string& node_name);

namespace detail {
// "" when every element of `t` is finite (or it is not floating); otherwise
// what was found: "NaN", "Inf" or "NaN and Inf", with counts.
std::string non_finite(const Tensor& t);
}  // namespace detail

}  // namespace ember::autograd
