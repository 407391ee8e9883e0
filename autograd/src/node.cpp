// Nodes, saved tensors, leaf accumulation and the op-recording helpers.
#include "ember/autograd/node.h"

#include <atomic>

#include "ember/autograd/function.h"
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
  if (is_output) {
    // Keep the data, drop the history (it points back at the saving Node).
    data_ = alias_without_history(t);
    if (auto* meta = autograd_meta_or_null(t); meta && meta->grad_fn) {
      requires_grad_ = true;
      grad_fn_ = meta->grad_fn;
      output_nr_ = meta->output_nr;
    }
  } else {
    data_ = t;  // an input: keep its history, for double backward
  }
}

Tensor SavedTensor::unpack(const std::string& op) const {
  if (!data_.defined()) return data_;
  EMBER_CHECK(data_.version() == saved_version_, AutogradError, "a tensor saved for backward by ", op,
              " was modified by an in-place operation (version ", data_.version(), ", expected ", saved_version_,
              "); use an out-of-place op, or clone() the tensor before modifying it");
  if (!is_output_ || !requires_grad_) return data_;
  Tensor t = alias_without_history(data_);
  if (auto fn = grad_fn_.lock()) {
    auto& meta = autograd_meta(t);
    meta.grad_fn = fn;
    meta.output_nr = output_nr_;
  }
  return t;
}

// ---- Node ----

namespace {
std::atomic<uint64_t> next_sequence_nr{0};

// See Note [Iterative graph destruction].
thread_local std::vector<std::shared_ptr<Node>> nodes_to_release;
thread_local bool releasing = false;
}  // namespace

Node::Node() : sequence_nr(next_sequence_nr.fetch_add(1)) {}

Node::~Node() {
  for (auto& e : next_edges)
    if (e.fn) nodes_to_release.push_back(std::move(e.fn));
  // Saved tensors can also hold the last reference to a Node (an input's
  // grad_fn), so they are released inside the guarded region too.
  std::vector<SavedTensor> saved = std::move(saved_);
  if (releasing) return;  // an outer ~Node drains the list; `saved` dies here, one level deep
  releasing = true;
  saved.clear();
  while (!nodes_to_release.empty()) {
    std::shared_ptr<Node> n = std::move(nodes_to_release.back());
    nodes_to_release.pop_back();
    n.reset();  // may run ~Node, which only appends to the list
  }
  releasing = false;
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
  return {};
}

Edge gradient_edge(const Tensor& t) {
  AutogradMeta* meta = autograd_meta_or_null(t);
  if (!meta) return {};
  if (meta->grad_fn) return {meta->grad_fn, meta->output_nr};
  if (!meta->requires_grad) return {};
  std::shared_ptr<Node> acc = meta->grad_accumulator.lock();
  if (!acc) {
    acc = std::make_shared<AccumulateGrad>(t);
    meta->grad_accumulator = acc;
  }
  return {acc, 0};
}

// ---- recording helpers ----

bool should_record(const std::vector<Tensor>& inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

bool should_record(std::initializer_list<Tensor> inputs) { return should_record(std::vector<Tensor>(inputs)); }

void record(const std::shared_ptr<Node>& node, const std::vector<Tensor>& inputs, const Tensor& output) {
  node->next_edges.clear();
  node->input_meta.clear();
  for (const Tensor& t : inputs) {
    node->next_edges.push_back(t.defined() ? gradient_edge(t) : Edge{});
    node->input_meta.push_back(t.defined() ? InputMeta{t.shape(), t.dtype(), t.device()} : InputMeta{{}, kDefaultFloat, kCPU});
  }
  AutogradMeta& meta = autograd_meta(output);
  meta.grad_fn = node;
  meta.output_nr = 0;
}

}  // namespace ember
