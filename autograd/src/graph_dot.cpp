#include "ember/autograd/graph_dot.h"

#include <sstream>
#include <unordered_map>
#include <vector>

#include "ember/autograd/meta.h"
#include "ember/autograd/node.h"

namespace ember {

std::string graph_to_dot(const Tensor& t, size_t max_nodes) {
  std::ostringstream os;
  os << "digraph ember_graph {\n"
     << "  rankdir=BT;\n"
     << "  node [shape=box, style=filled, fillcolor=\"#f0f0f0\", fontname=\"Helvetica\", fontsize=11];\n";
  os << "  out [label=\"output\\n" << shape_str(t.shape()) << "\", fillcolor=\"#c7e9c0\"];\n";
  AutogradMeta* meta = autograd_meta_or_null(t);
  if (!meta || !meta->grad_fn) {
    os << "}\n";
    return os.str();
  }
  std::unordered_map<const Node*, size_t> ids;
  std::vector<const Node*> queue{meta->grad_fn.get()};
  ids[meta->grad_fn.get()] = 0;
  size_t cut = 0;
  for (size_t head = 0; head < queue.size(); ++head) {  // breadth first, iterative
    const Node* n = queue[head];
    const size_t id = ids[n];
    if (auto* acc = dynamic_cast<const AccumulateGrad*>(n))
      os << "  n" << id << " [label=\"" << shape_str(acc->leaf().shape()) << "\", fillcolor=\"#c6dbef\"];\n";
    else
      os << "  n" << id << " [label=\"" << n->name() << "\"];\n";
    for (const Edge& e : n->next_edges) {
      if (!e.valid()) continue;
      auto it = ids.find(e.fn.get());
      if (it == ids.end()) {
        if (queue.size() >= max_nodes) {
          ++cut;
          continue;
        }
        it = ids.emplace(e.fn.get(), queue.size()).first;
        queue.push_back(e.fn.get());
      }
      os << "  n" << it->second << " -> n" << id << ";\n";
    }
  }
  os << "  n0 -> out;\n";
  if (cut > 0)
    os << "  cut [shape=note, label=\"graph cut at " << max_nodes << " nodes (" << cut << " more edges)\"];\n";
  os << "}\n";
  return os.str();
}

}  // namespace ember
