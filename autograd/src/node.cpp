// Nodes, saved tensors, leaf accumulation and the op-recording helpers.
#include "ember/autograd/node.h"

#include <cxxabi.h>

#include <atomic>
#include <cstdlib>
#include <mutex>

#include "ember/autograd/anomaly.h"
#include "ember/autograd/function.h"
#include "ember/autograd/hooks.h"
#include "ember/autograd/meta.h"
#include "ember/autograd/ops.h"
#include "ember/core/grad_mode.h"

namespace ember {

// ---- AutogradMeta ----

AutogradMeta& autograd_meta(const Tensor& t) {
  EMBER_CHECK(t.defined(), ValueError, "autograd: tensor is undefined");
  auto& meta = t.impl()->autograd;
  if (!meta) meta = std::make_shared<AutogradMeta>();
  return *meta;
}

AutogradMeta* autograd_meta_or_null(const Tensor& t) { return t.defined() ? t.impl()->autograd.get() : nullptr; }

Tensor alias_without_history(const Tensor& t) {
  auto impl = std::make_shared<TensorImpl>(*t.impl());
  impl->autograd = nullptr;
  return Tensor(std::move(impl));
}

// ---- SavedTensor ----

SavedTensor::SavedTensor(const Tensor& t, bool is_output)
    : saved_version_(t.defined() ? t.version() : 0), is_output_(is_output) {
  if (!t.defined()) return;
  AutogradMeta* meta = autograd_meta_or_null(t);
  if (!meta || !meta->grad_fn) {
    // A leaf: keep the tensor itself, so that a double backward through
    // the unpacked value still reaches its AccumulateGrad.
    data_ = t;
    return;
  }
  // Keep the data and the grad_fn *as of now*, not the live tensor: an
  // in-place op may later hand the tensor a new grad_fn that leads back to
  // this very Node, and holding the live tensor would close a cycle. An op's
  // own output holds the saving Node itself, so that reference is weak.
  data_ = alias_without_history(t);
  requires_grad_ = true;
  output_nr_ = meta->output_nr;
  if (is_output) grad_fn_weak_ = meta->grad_fn;
  else grad_fn_ = meta->grad_fn;
}

Tensor SavedTensor::unpack(const std::string& op) const {
  if (!data_.defined()) return data_;
  EMBER_CHECK(data_.version() == saved_version_, AutogradError, "a tensor saved for backward by ", op,
              " was modified by an in-place operation (version ", data_.version(), ", expected ", saved_version_,
              "); use an out-of-place op, or clone() the tensor before modifying it");
  if (!requires_grad_) return data_;
  Tensor t = alias_without_history(data_);
  if (auto fn = is_output_ ? grad_fn_weak_.lock() : grad_fn_) {
    auto& meta = autograd_meta(t);
    meta.grad_fn = fn;
    meta.output_nr = output_nr_;
  }
  return t;
}

// ---- Node ----

namespace {
std::atomic<uint64_t> next_sequence_nr{0};

// See Note [Iterative graph destruction]. Points at the list of the
// outermost ~Node running on this thread, or is null. (A raw pointer, not a
// thread_local vector: that could be destroyed before a static Tensor whose
// graph dies at exit.)
thread_local std::vector<std::shared_ptr<Node>>* nodes_to_release = nullptr;
}  // namespace

Node::Node() : sequence_nr(next_sequence_nr.fetch_add(1)) {}

Node::~Node() {
  std::vector<std::shared_ptr<Node>> own;
  const bool outermost = nodes_to_release == nullptr;
  auto& pending = outermost ? own : *nodes_to_release;
  for (auto& e : next_edges)
    if (e.fn) pending.push_back(std::move(e.fn));
  // Saved tensors can hold the last reference to a Node too (a saved
  // input's grad_fn): they are released while the list is in place.
  std::vector<SavedTensor> saved = std::move(saved_);
  if (!outermost) return;  // `saved` dies here, one level deep, into the outer list
  nodes_to_release = &own;
  saved.clear();
  while (!own.empty()) {
    std::shared_ptr<Node> n = std::move(own.back());
    own.pop_back();
    n.reset();  // may run ~Node, which only appends to `own`
  }
  nodes_to_release = nullptr;
}

size_t Node::save(const Tensor& t, bool is_output) {
  saved_.emplace_back(t, is_output);
  return saved_.size() - 1;
}

Tensor Node::saved(size_t i) const {
  EMBER_CHECK(!released_, AutogradError, "trying to backward through the graph a second time (", name(),
              " has already freed its saved tensors); pass retain_graph=true to the first backward");
  EMBER_ASSERT(i < saved_.size());
  return saved_[i].unpack(name());
}

void Node::release_saved() {
  saved_.clear();
  released_ = true;
}

// Note [Leaf gradients accumulate]
// A leaf used twice (b = a * a) receives a gradient along each edge; the
// engine sums them before AccumulateGrad runs, and successive backward()
// calls add into .grad (as PyTorch does) until the user zeroes it.
std::vector<Tensor> AccumulateGrad::apply(std::vector<Tensor>&& grads) {
  const Tensor& g = grads[0];
  if (!g.defined()) return {};
  AutogradMeta& meta = autograd_meta(leaf_);
  // .grad must be a dense tensor of its own: the incoming gradient may share
  // memory with a user's tensor, or be an expand()ed view (stride 0) whose
  // elements share one memory slot, and optimizers update .grad in place.
  const bool owned = g.impl_ptr().use_count() == 1 && g.impl()->storage.use_count() == 1 && g.is_contiguous();
  // Without create_graph, .grad holds plain numbers, no history.
  Tensor incoming = GradMode::is_enabled() ? g : alias_without_history(g);
  if (!meta.grad.defined()) meta.grad = owned ? incoming : clone(incoming);
  else meta.grad = meta.grad + incoming;
  autograd::detail::run_post_accumulate_grad_hooks(leaf_, meta);  // Note [Backward hooks]
  return {};
}

Edge gradient_edge(const Tensor& t) {
  AutogradMeta* meta = autograd_meta_or_null(t);
  if (!meta) return {};
  if (meta->grad_fn) {
    EMBER_CHECK(!meta->is_differentiable_view || meta->rebases_at_view == t.impl()->version->rebases.load(),
                AutogradError, "a view (", meta->grad_fn->name(), ", shape ", shape_str(t.shape()),
                ") was taken before an in-place op changed its base's history, so its gradient would be wrong; "
                "take the view again after the in-place op (Note [In-place ops])");
    return {meta->grad_fn, meta->output_nr};
  }
  if (!meta->requires_grad) return {};
  std::shared_ptr<Node> acc = meta->grad_accumulator.lock();
  if (!acc) {
    acc = std::make_shared<AccumulateGrad>(t);
    meta->grad_accumulator = acc;
  }
  return {acc, 0};
}

// ---- the registry of node types: Note [Defining a backward node] ----

namespace {
struct NodeTypes {
  std::mutex mutex;
  std::vector<NodeType> types;
};
NodeTypes& node_types() {
  static NodeTypes* t = new NodeTypes();  // filled during static initialization, never destroyed
  return *t;
}
}  // namespace

bool register_node_type(const char* name, const std::type_info& type) {
  int status = 0;
  char* demangled = abi::__cxa_demangle(type.name(), nullptr, nullptr, &status);
  NodeType entry{name, status == 0 && demangled ? demangled : type.name()};
  std::free(demangled);
  std::lock_guard<std::mutex> lock(node_types().mutex);
  node_types().types.push_back(std::move(entry));
  return true;
}

std::vector<NodeType> registered_node_types() {
  std::lock_guard<std::mutex> lock(node_types().mutex);
  return node_types().types;
}

// ---- recording helpers ----

namespace {
template <typename Range>
bool any_requires_grad(const Range& inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}
}  // namespace

bool should_record(const std::vector<Tensor>& inputs) { return any_requires_grad(inputs); }

// Every op asks, so no vector is built from the list (an allocation per op).
bool should_record(std::initializer_list<Tensor> inputs) { return any_requires_grad(inputs); }

void record(const std::shared_ptr<Node>& node, const std::vector<Tensor>& inputs, const Tensor& output) {
  node->next_edges.clear();
  node->input_meta.clear();
  for (const Tensor& t : inputs) {
    node->next_edges.push_back(t.defined() ? gradient_edge(t) : Edge{});
    node->input_meta.push_back(t.defined() ? InputMeta{t.shape(), t.dtype(), t.device()}
                                           : InputMeta{{}, kDefaultFloat, kCPU});
  }
  AutogradMeta& meta = autograd_meta(output);
  meta.grad_fn = node;
  meta.output_nr = 0;
  if (autograd::anomaly_mode_enabled()) {  // Note [Anomaly mode]
    if (const std::string found = autograd::detail::non_finite(output); !found.empty()) {
      std::string shapes;
      for (const Tensor& t : inputs)
        shapes += (shapes.empty() ? "" : ", ") + (t.defined() ? shape_str(t.shape()) : "none");
      throw AnomalyError(detail::concat("anomaly mode: ", autograd::forward_op_name(node->name()), " produced ", found,
                                        " in its output of shape ", shape_str(output.shape()),
                                        ", from inputs of shapes ", shapes, " (the first op to do so)"));
    }
  }
}

}  // namespace ember
