// Graph pictures: Graphviz DOT text (from graph_to_dot in autograd/, or
// nn::module_graph_to_dot in nn/) rendered to SVG by running Graphviz's
// `dot -Tsvg`, as torchviz does for PyTorch. viz itself knows nothing of
// graphs or modules: it takes the DOT text and hands it to `dot`.
#pragma once

#include <string>

namespace ember::viz {

// Whether `dot` can be run (found on PATH and answers `dot -V`).
bool dot_available();
// Renders DOT text to an SVG document. Throws FileError when `dot` is not
// installed (saying how to install it) and ValueError with dot's own message
// when it rejects the text.
std::string render_dot(const std::string& dot_text);

}  // namespace ember::viz
