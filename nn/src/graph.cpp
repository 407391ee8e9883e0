#include "ember/nn/graph.h"

#include <map>
#include <sstream>

#include "ember/nn/summary.h"

namespace ember::nn {

namespace {

// Type and arguments of a module and its whole subtree: equal signatures
// mean the same structure (weights aside).
std::string signature(const Module& m) {
  std::string s = m.type_name() + "(" + m.extra_repr() + ")[";
  for (const auto& [name, child] : m.named_children()) s += signature(*child) + ";";
  return s + "]";
}

int64_t count_modules(const Module& m) {
  int64_t n = 0;
  for (const auto& [name, child] : m.named_children()) n += 1 + count_modules(*child);
  return n;
}

// A DOT string: quotes and backslashes escaped, line breaks as DOT's \\n.
std::string esc(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

struct Writer {
  const std::map<std::string, Shape>& shapes;
  const ModuleGraphOptions& options;
  std::ostringstream os;
  int next_id = 0;

  // Writes the box for module `m` and its subtree; returns the box's id.
  // `full` is its dotted name (for the shape); `shown` what the box says,
  // which differs for a collapsed run ("layer1.0-2").
  int write(const std::string& shown, const std::string& full, const Module& m, int depth, int64_t times) {
    const int id = next_id++;
    std::string label = (shown.empty() ? std::string("model") : shown) + ": " + m.type_name();
    // (Appended piece by piece: GCC 12 warns wrongly about "literal" + std::string&&.)
    if (times > 1) label.append("  x ").append(std::to_string(times));
    if (auto it = shapes.find(full); it != shapes.end()) label.append("\nout ").append(shape_str(it->second));
    label.append("\n").append(std::to_string(m.num_parameters() * times)).append(" params");
    const auto children = m.named_children();
    const bool folded = depth >= options.max_depth && !children.empty();
    if (folded) label.append("\n+ ").append(std::to_string(count_modules(m))).append(" submodules");
    const char* fill = children.empty() || folded ? "#e8f1fa" : "#f4f4f4";
    os << "  m" << id << " [label=\"" << esc(label) << "\", fillcolor=\"" << fill << "\"];\n";
    if (folded) return id;
    const std::string prefix = full.empty() ? "" : full + ".", shown_prefix = shown.empty() ? "" : shown + ".";
    for (size_t i = 0; i < children.size();) {
      size_t j = i + 1;  // the run of structurally equal siblings starting at i
      if (options.collapse_repeats)
        while (j < children.size() && signature(*children[j].second) == signature(*children[i].second)) ++j;
      // A run is drawn as its last member, whose output the next layer sees.
      const auto& [last_name, last] = children[j - 1];
      const std::string run = shown_prefix + (j - i > 1 ? children[i].first + "-" + last_name : last_name);
      const int child = write(run, prefix + last_name, *last, depth + 1, static_cast<int64_t>(j - i));
      os << "  m" << id << " -> m" << child << ";\n";
      i = j;
    }
    return id;
  }
};

}  // namespace

std::string module_graph_to_dot(Module& model, const Tensor& example, const ModuleGraphOptions& options) {
  std::map<std::string, Shape> shapes;
  for (const SummaryRow& row : summarize(model, example)) shapes[row.name] = row.output;  // last call wins
  Writer w{shapes, options, {}, 0};
  w.os << "digraph ember_model {\n  rankdir=LR;\n"
       << "  node [shape=box, style=\"filled,rounded\", fontname=\"Helvetica\", fontsize=11];\n"
       << "  edge [color=\"#999999\", arrowsize=0.6];\n";
  w.os << "  input [label=\"input\\n" << shape_str(example.shape()) << "\", fillcolor=\"#c7e9c0\"];\n";
  w.write("", "", model, 0, 1);
  w.os << "  input -> m0 [style=dashed];\n}\n";
  return w.os.str();
}

}  // namespace ember::nn
