// A model summary: each layer's output shape, parameter count and FLOPs,
// found by running one forward pass and watching every Module call.
#pragma once

#include <string>
#include <vector>

#include "ember/nn/module.h"

namespace ember::nn {

struct SummaryRow {
  std::string name;  // dotted, "" for the model itself
  std::string type;
  Shape output;
  int64_t params = 0;  // this module's own parameters
  int64_t flops = 0;   // this module's own work, for the example batch
};

// Runs model(example) without recording a graph and returns one row per
// module call, in call order.
std::vector<SummaryRow> summarize(Module& model, const Tensor& example);
// The rows as an aligned text table with totals.
std::string summary_table(const std::vector<SummaryRow>& rows);

namespace detail {
// Called by Module::operator() after forward: records a row when a summary
// is being taken on this thread.
void observe(const Module& m, const Tensor& in, const Tensor& out);
}  // namespace detail

}  // namespace ember::nn
