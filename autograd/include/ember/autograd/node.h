// The autograd graph: Nodes (one per recorded op) joined by Edges.
//
// A Node is the backward of one forward op. Its apply() takes the gradients
// of the op's outputs and returns the gradients of its inputs, one per entry
// of next_edges. An Edge names the Node that produced an input and which of
// that Node's outputs it was; an input that is a leaf requiring grad has an
// edge to its AccumulateGrad node; an input that needs no gradient has an
// invalid edge, and apply() may return an undefined Tensor for it.
//
// Note [Iterative graph destruction]
// A chain of 100,000 ops is a chain of 100,000 shared_ptr<Node>. Destroying
// its head would run 100,000 nested destructors and overflow the stack.
// ~Node therefore moves its edges onto a list owned by the outermost ~Node
// on the stack, which releases them one at a time in a loop (PyTorch had
// exactly this bug once).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <typeinfo>
#include <vector>

#include "ember/core/tensor.h"

namespace ember {

class Node;

struct Edge {
  std::shared_ptr<Node> fn;
  uint32_t input_nr = 0;  // which output of fn this edge carries the gradient of
  bool valid() const { return fn != nullptr; }
};

// What backward must return for one input: checked by the engine.
struct InputMeta {
  Shape shape;
  DType dtype;
  Device device;
};

// A tensor kept for backward, with the version it had when saved; see
// Note [Version counter]. A non-leaf is kept as its data plus the grad_fn
// it had when saved (held weakly for an op's own output, whose grad_fn is
// the saving Node: a strong reference would be a cycle), and unpacks to a
// tensor with that history.
class SavedTensor {
 public:
  SavedTensor() = default;
  SavedTensor(const Tensor& t, bool is_output);
  // The saved tensor; throws AutogradError if it was modified in place
  // since, naming `op`.
  Tensor unpack(const std::string& op) const;
  bool defined() const { return data_.defined(); }

 private:
  Tensor data_;
  uint32_t saved_version_ = 0;
  bool is_output_ = false;
  bool requires_grad_ = false;
  uint32_t output_nr_ = 0;
  std::shared_ptr<Node> grad_fn_;     // saved inputs with history
  std::weak_ptr<Node> grad_fn_weak_;  // saved outputs
};

class Node {
 public:
  Node();
  virtual ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // "MulBackward": shown in errors, repr, graph pictures and the profiler.
  virtual const char* name() const = 0;
  // grads[i] is the gradient of this op's output i.
  virtual std::vector<Tensor> apply(std::vector<Tensor>&& grads) = 0;

  // Whether input i needs a gradient (backward can skip the work if not).
  bool needs_input_grad(size_t i) const { return i < next_edges.size() && next_edges[i].valid(); }

  // Saves a tensor for backward; returns its slot for saved().
  size_t save(const Tensor& t, bool is_output = false);
  // Unpacks slot i, checking its version; throws once released.
  Tensor saved(size_t i) const;
  // Frees saved tensors after backward (unless retain_graph).
  void release_saved();

  std::vector<Edge> next_edges;
  std::vector<InputMeta> input_meta;  // one per next_edge
  uint32_t num_outputs = 1;
  uint64_t sequence_nr;  // creation order, for stable graph printing

 private:
  std::vector<SavedTensor> saved_;
  bool released_ = false;
};

// The node at a leaf that requires grad: adds the incoming gradient into
// the leaf's .grad. See Note [Leaf gradients accumulate].
class AccumulateGrad final : public Node {
 public:
  explicit AccumulateGrad(Tensor leaf) : leaf_(std::move(leaf)) {}
  const char* name() const override { return "AccumulateGrad"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override;
  const Tensor& leaf() const { return leaf_; }

 private:
  Tensor leaf_;
};

// Note [Defining a backward node]
// Every op's backward is one named struct, derived from BackwardNode of
// itself, with its own name as kName, so that grepping "MulBackward" finds
// the struct, its op, and the gradcheck row that tests it:
//
//   struct MulBackward final : BackwardNode<MulBackward> {  // saved: 0 = a, 1 = b
//     static constexpr const char* kName = "MulBackward";
//     std::vector<Tensor> apply(std::vector<Tensor>&& g) override { ... }
//   };
//
// Parameters the backward needs (a dim, a window, a scalar) are fields of
// the struct; tensors are saved with save() (Note [Version counter]).
// BackwardNode supplies name() and registers the type when the op's object
// file is linked, so registered_node_types() lists every backward there is;
// tests/test_gradcheck_bites.cpp requires a gradcheck row for each one.
struct NodeType {
  const char* name;       // kName
  std::string type_name;  // the demangled C++ type, e.g. "ember::(anonymous namespace)::MulBackward"
};
// Called by BackwardNode; returns true.
bool register_node_type(const char* name, const std::type_info& type);
// Every node type registered so far, in registration order.
std::vector<NodeType> registered_node_types();

template <typename Derived>
class BackwardNode : public Node {
 public:
  BackwardNode() { (void)registered_; }  // an odr-use: instantiates (and runs) the registration
  const char* name() const final { return Derived::kName; }

 private:
  static inline const bool registered_ = register_node_type(Derived::kName, typeid(Derived));
};

// The edge a gradient for `t` flows along: its grad_fn, its AccumulateGrad
// if it is a leaf that requires grad, or an invalid edge.
Edge gradient_edge(const Tensor& t);

}  // namespace ember
