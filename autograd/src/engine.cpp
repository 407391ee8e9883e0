// The backward engine.
//
// 1. Walk the graph from the outputs with an explicit stack (never
//    recursion: a 100,000-op chain must not overflow) and count, for each
//    Node, how many edges lead into it: its dependencies.
// 2. Start from the outputs' Nodes with the given gradients. A Node runs once
//    all its dependencies have delivered their gradient; the gradients that
//    arrive along several edges are summed first (so a tensor used twice gets
//    both contributions). Running a Node yields one gradient per input edge,
//    checked against the input's shape, dtype and device.
// 3. AccumulateGrad Nodes at the leaves add into .grad (then run the leaf's
//    post-accumulate-grad hooks), or, for grad(), the gradient is captured
//    instead.
// 4. The callbacks queued during the pass run, in order, before backward()
//    returns (Note [Backward hooks] in hooks.h).
#include "ember/autograd/engine.h"

#include <algorithm>
#include <functional>
#include <unordered_map>
#include <unordered_set>

#include "ember/autograd/anomaly.h"
#include "ember/autograd/function.h"
#include "ember/autograd/hooks.h"
#include "ember/autograd/meta.h"
#include "ember/autograd/node.h"
#include "ember/autograd/ops.h"
#include "ember/autograd/testing.h"
#include "ember/core/grad_mode.h"
#include "ember/core/profiler.h"

namespace ember::autograd {

namespace {

struct Capture {
  Node* fn;
  uint32_t input_nr;
  size_t slot;
};

// The Nodes from which some capture target can be reached (targets
// themselves only if another target lies below them), by an iterative
// post-order walk.
std::unordered_set<Node*> nodes_leading_to(const std::vector<std::pair<Edge, Tensor>>& roots,
                                           const std::vector<Capture>& captures) {
  std::unordered_set<Node*> targets, needed, done;
  for (const Capture& c : captures) targets.insert(c.fn);
  std::vector<std::pair<Node*, size_t>> stack;  // (node, next edge to visit)
  for (const auto& [edge, g] : roots)
    if (g.defined() && done.insert(edge.fn.get()).second) stack.emplace_back(edge.fn.get(), 0);
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < node->next_edges.size()) {
      Node* child = node->next_edges[next++].fn.get();
      if (child && done.insert(child).second) stack.emplace_back(child, 0);
      continue;
    }
    for (const Edge& e : node->next_edges)
      if (e.fn && (targets.count(e.fn.get()) || needed.count(e.fn.get()))) needed.insert(node);
    stack.pop_back();
  }
  return needed;
}

// Checks (and where harmless, fixes) what a Node returned for input i.
Tensor validate(const Node& node, size_t i, Tensor g) {
  if (!g.defined()) return g;
  const InputMeta& m = node.input_meta[i];
  EMBER_CHECK(g.shape() == m.shape, InternalError, "Function ", node.name(), " returned an invalid gradient at index ",
              i, ": got shape ", shape_str(g.shape()), " but expected ", shape_str(m.shape));
  EMBER_CHECK(g.device() == m.device, InternalError, "Function ", node.name(), " returned a gradient on ",
              g.device().str(), " at index ", i, " but the input is on ", m.device.str());
  if (g.dtype() != m.dtype) g = to(g, m.dtype);
  return g;
}

// One backward() or grad() call: its roots, dependency counts, what it
// captures, and the gradients waiting at each Node. run() goes through the
// phases in order.
class GraphTask {
 public:
  GraphTask(bool retain_graph, bool create_graph)
      : retain_graph_(retain_graph || create_graph), create_graph_(create_graph) {}

  // Phase 1: an edge and a gradient for each output (ones for a one-element
  // output given none).
  void seed(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs) {
    EMBER_CHECK(grad_outputs.empty() || grad_outputs.size() == outputs.size(), ValueError, "backward: got ",
                grad_outputs.size(), " gradients for ", outputs.size(), " outputs");
    for (size_t i = 0; i < outputs.size(); ++i) {
      const Tensor& out = outputs[i];
      EMBER_CHECK(out.requires_grad(), AutogradError,
                  "element ", i, " of the outputs does not require grad and has no grad_fn: there is nothing to "
                  "differentiate (did you forget requires_grad_(), or run the forward under NoGradGuard?)");
      Tensor g = grad_outputs.empty() ? Tensor() : grad_outputs[i];
      if (!g.defined()) {
        EMBER_CHECK(out.numel() == 1, AutogradError, "backward: grad can be implicitly created only for "
                    "one-element outputs, but the output has shape ", shape_str(out.shape()));
        g = ones_like(out);
      } else {
        EMBER_CHECK(g.shape() == out.shape(), ShapeError, "backward: gradient has shape ", shape_str(g.shape()),
                    " but the output has shape ", shape_str(out.shape()));
        EMBER_CHECK(g.dtype() == out.dtype() && g.device() == out.device(), DTypeError, "backward: gradient is ",
                    dtype_name(g.dtype()), " on ", g.device().str(), " but the output is ", dtype_name(out.dtype()),
                    " on ", out.device().str());
      }
      roots_.emplace_back(gradient_edge(out), g);
    }
  }

  // Phase 2: how many edges lead into each Node, by an iterative DFS (a
  // 100,000-op chain must not overflow the stack).
  void count_dependencies() {
    std::unordered_set<Node*> seen;
    std::vector<Node*> stack;
    for (auto& [edge, g] : roots_)
      if (seen.insert(edge.fn.get()).second) stack.push_back(edge.fn.get());
    while (!stack.empty()) {
      Node* n = stack.back();
      stack.pop_back();
      for (const Edge& e : n->next_edges) {
        if (!e.valid()) continue;
        deps_[e.fn.get()] += 1;
        if (seen.insert(e.fn.get()).second) stack.push_back(e.fn.get());
      }
    }
  }

  // Phase 3 (grad() only): the gradient arriving at each input's edge is
  // captured, and only Nodes on a path to an input run: the rest of the
  // graph (below the inputs, and the leaves) is left untouched, saved
  // tensors included.
  void plan_captures(const std::vector<Tensor>& inputs) {
    capturing_ = true;
    for (size_t i = 0; i < inputs.size(); ++i) {
      Edge e = gradient_edge(inputs[i]);
      EMBER_CHECK(e.valid(), AutogradError, "grad: input ", i, " does not require grad");
      captures_.push_back({e.fn.get(), e.input_nr, i});
      // Keep the edge's node alive while we run (a leaf's AccumulateGrad may be new).
      roots_.emplace_back(e, Tensor());
    }
    captured_.resize(inputs.size());
    needed_ = nodes_leading_to(roots_, captures_);
  }

  // Phase 4: run Nodes as their dependencies complete, summing the
  // gradients that arrive along several edges before a Node runs.
  void execute() {
    GradModeGuard grad_mode(create_graph_);
    std::vector<Node*> ready;
    for (auto& [edge, g] : roots_)
      if (g.defined()) deliver(edge.fn.get(), edge.input_nr, g);
    for (auto& [edge, g] : roots_)
      if (g.defined() && deps_[edge.fn.get()] == 0 &&
          std::find(ready.begin(), ready.end(), edge.fn.get()) == ready.end())
        ready.push_back(edge.fn.get());
    while (!ready.empty()) {
      Node* node = ready.back();
      ready.pop_back();
      std::vector<Tensor> grads = run_node(node);
      for (size_t i = 0; i < node->next_edges.size(); ++i) {
        const Edge& e = node->next_edges[i];
        if (!e.valid()) continue;
        if (i < grads.size()) deliver(e.fn.get(), e.input_nr, validate(*node, i, grads[i]));
        if (--deps_[e.fn.get()] == 0) ready.push_back(e.fn.get());
      }
    }
  }

  // Phase 5: the final callbacks queued while the pass ran, including any a
  // callback queues.
  void run_callbacks() {
    for (size_t i = 0; i < callbacks_.size(); ++i) {
      std::function<void()> callback = std::move(callbacks_[i]);  // callbacks_ may grow while it runs
      callback();
    }
    callbacks_.clear();
  }
  void queue_callback(std::function<void()> callback) { callbacks_.push_back(std::move(callback)); }

  // Phase 6 (grad() only): what was captured, checking unused inputs.
  std::vector<Tensor> captured(bool allow_unused) const {
    if (!allow_unused)
      for (size_t i = 0; i < captured_.size(); ++i)
        EMBER_CHECK(captured_[i].defined(), AutogradError, "grad: input ", i,
                    " was not used to compute the outputs (pass allow_unused=true if that is expected)");
    return captured_;
  }

 private:
  void deliver(Node* fn, uint32_t input_nr, const Tensor& g) {
    auto& buf = buffers_[fn];
    if (buf.size() < fn->num_outputs) buf.resize(fn->num_outputs);
    if (!g.defined()) return;
    buf[input_nr] = buf[input_nr].defined() ? buf[input_nr] + g : g;
  }

  // The first gradient a Node returns holding a NaN or an Inf, named with the
  // Node and the forward op that made it.
  static void check_anomaly(const Node& node, const std::vector<Tensor>& grads) {
    for (size_t i = 0; i < grads.size(); ++i) {
      const std::string found = autograd::detail::non_finite(grads[i]);
      if (found.empty()) continue;
      std::string shapes;
      for (const InputMeta& m : node.input_meta) shapes += (shapes.empty() ? "" : ", ") + shape_str(m.shape);
      throw AnomalyError(
          ember::detail::concat("anomaly mode: ", node.name(), " returned ", found, " in the gradient for its input ",
                                i, " (shape ", shape_str(grads[i].shape()), "); the node was made by the forward op ",
                                autograd::forward_op_name(node.name()), ", with inputs of shapes ", shapes));
    }
  }

  // Applies one Node to its summed incoming gradients (the profiler times
  // it: Note [Profiler at the choke point]).
  std::vector<Tensor> run_node(Node* node) {
    std::vector<Tensor> inputs = std::move(buffers_[node]);
    buffers_.erase(node);
    inputs.resize(node->num_outputs);
    for (const Capture& c : captures_)
      if (c.fn == node) captured_[c.slot] = inputs[c.input_nr];
    const bool skip = capturing_ && !needed_.count(node);
    bool any = false;
    for (const Tensor& t : inputs) any |= t.defined();
    std::vector<Tensor> grads;
    if (!skip && any) {
      {
        profiler::Scope scope(profiler::Kind::Node, node->name());
        grads = node->apply(std::move(inputs));
      }
      testing::maybe_corrupt(*node, grads);
      if (autograd::anomaly_mode_enabled()) check_anomaly(*node, grads);  // Note [Anomaly mode]
      if (!retain_graph_) node->release_saved();
    }
    EMBER_CHECK(grads.empty() || grads.size() == node->next_edges.size(), InternalError, "Function ", node->name(),
                " returned ", grads.size(), " gradients but has ", node->next_edges.size(), " inputs");
    return grads;
  }

  // The graph recorded by create_graph points into this one: keep it.
  const bool retain_graph_, create_graph_;
  std::vector<std::pair<Edge, Tensor>> roots_;
  std::unordered_map<Node*, int> deps_;
  std::unordered_map<Node*, std::vector<Tensor>> buffers_;
  bool capturing_ = false;
  std::vector<Capture> captures_;
  std::vector<Tensor> captured_;
  std::unordered_set<Node*> needed_;
  std::vector<std::function<void()>> callbacks_;
};

// The pass running on this thread (a hook may run a nested one), for
// queue_callback(); restored however the pass ends.
thread_local GraphTask* current_task = nullptr;

class CurrentTask {
 public:
  explicit CurrentTask(GraphTask* task) : previous_(current_task) { current_task = task; }
  ~CurrentTask() { current_task = previous_; }
  CurrentTask(const CurrentTask&) = delete;
  CurrentTask& operator=(const CurrentTask&) = delete;

 private:
  GraphTask* previous_;
};

std::vector<Tensor> run(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs,
                        bool retain_graph, bool create_graph, const std::vector<Tensor>* capture_inputs,
                        bool allow_unused) {
  GraphTask task(retain_graph, create_graph);
  task.seed(outputs, grad_outputs);
  task.count_dependencies();  // from the outputs only: a capture must not add dependencies
  if (capture_inputs) task.plan_captures(*capture_inputs);
  CurrentTask current(&task);
  task.execute();
  task.run_callbacks();
  return capture_inputs ? task.captured(allow_unused) : std::vector<Tensor>{};
}

}  // namespace

void queue_callback(std::function<void()> callback) {
  EMBER_CHECK(current_task != nullptr, AutogradError,
              "queue_callback: no backward pass is running on this thread (queue final callbacks from a hook)");
  EMBER_CHECK(static_cast<bool>(callback), ValueError, "queue_callback: the callback is empty");
  current_task->queue_callback(std::move(callback));
}

bool in_backward() { return current_task != nullptr; }

void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs, bool retain_graph,
              bool create_graph) {
  run(outputs, grad_outputs, retain_graph, create_graph, nullptr, false);
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, bool retain_graph, bool create_graph,
                         bool allow_unused) {
  return run(outputs, grad_outputs, retain_graph, create_graph, &inputs, allow_unused);
}

}  // namespace ember::autograd
