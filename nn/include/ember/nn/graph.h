// The module tree of a model as Graphviz DOT text: one box per module with
// its name, type, output shape and parameter count. viz renders the text to
// SVG (viz::render_dot); nn only writes it, so nn needs no viz and viz no nn.
#pragma once

#include <string>

#include "ember/nn/module.h"

namespace ember::nn {

struct ModuleGraphOptions {
  // Modules deeper than this are folded into their ancestor at this depth,
  // whose box then counts their parameters ("+ 3 submodules").
  int max_depth = 3;
  // Consecutive siblings of the same structure (type and arguments, all the
  // way down) become one box marked "x N", as repeated ResNet blocks would.
  bool collapse_repeats = true;
};

// Runs model(example) once (no graph recorded) for the output shapes.
std::string module_graph_to_dot(Module& model, const Tensor& example, const ModuleGraphOptions& options = {});

}  // namespace ember::nn
