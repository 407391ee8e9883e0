// Joining (cat, stack) and indexing (index_select, gather). Backward of an
// index op adds the gradient back at the indexed positions (index_add,
// scatter_add); those are differentiable ops too, whose gradients are the
// original selections, so double backward works.
#include "common.h"

namespace ember {

namespace {

Tensor check_index(const Tensor& index, const Tensor& a, const char* op) {
  EMBER_CHECK(index.dtype() == DType::Int64, DTypeError, op, ": index must be int64, got ", dtype_name(index.dtype()));
  prim::check_same_device(op, a, index);
  return prim::contiguous(index);
}

// zeros(shape).index_add(dim, index, g)
Tensor index_add_zeros(const Tensor& g, const Shape& shape, int64_t dim, const Tensor& index);
// zeros(shape).scatter_add(dim, index, g)
Tensor scatter_add_zeros(const Tensor& g, const Shape& shape, int64_t dim, const Tensor& index);

struct IndexSelectBackward final : Node {  // saved: 0 = index
  int64_t dim = 0;
  std::string name() const override { return "IndexSelectBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    return {index_add_zeros(g[0], input_meta[0].shape, dim, saved(0)), Tensor()};
  }
};

struct IndexAddBackward final : Node {  // saved: 0 = index
  int64_t dim = 0;
  std::string name() const override { return "IndexAddBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override { return {index_select(g[0], dim, saved(0))}; }
};

struct GatherBackward final : Node {  // saved: 0 = index
  int64_t dim = 0;
  std::string name() const override { return "GatherBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    return {scatter_add_zeros(g[0], input_meta[0].shape, dim, saved(0)), Tensor()};
  }
};

struct ScatterAddBackward final : Node {  // saved: 0 = index
  int64_t dim = 0;
  std::string name() const override { return "ScatterAddBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override { return {gather(g[0], dim, saved(0))}; }
};

Tensor index_add_zeros(const Tensor& g, const Shape& shape, int64_t dim, const Tensor& index) {
  Tensor out = zeros(shape, {.dtype = g.dtype(), .device = g.device()});
  prim::backend(g.device()).index_add(prim::view_of(out), dim, prim::view_of(index), prim::view_of(prim::contiguous(g)));
  if (should_record({g})) {
    auto node = std::make_shared<IndexAddBackward>();
    node->dim = dim;
    node->save(index);
    record(node, {g}, out);
  }
  return out;
}

Tensor scatter_add_zeros(const Tensor& g, const Shape& shape, int64_t dim, const Tensor& index) {
  Tensor out = zeros(shape, {.dtype = g.dtype(), .device = g.device()});
  prim::backend(g.device()).scatter_add(prim::view_of(out), dim, prim::view_of(index), prim::view_of(g));
  if (should_record({g})) {
    auto node = std::make_shared<ScatterAddBackward>();
    node->dim = dim;
    node->save(index);
    record(node, {g}, out);
  }
  return out;
}

struct CatBackward final : Node {
  int64_t dim = 0;
  std::vector<int64_t> sizes;  // each input's size along dim
  std::string name() const override { return "CatBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    std::vector<Tensor> grads;
    int64_t start = 0;
    for (size_t i = 0; i < sizes.size(); ++i) {
      if (needs_input_grad(i)) grads.push_back(reduce_grad(narrow(g[0], dim, start, sizes[i]), input_meta[i]));
      else grads.emplace_back();
      start += sizes[i];
    }
    return grads;
  }
};

}  // namespace

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  EMBER_CHECK(!tensors.empty(), ValueError, "cat: expected a non-empty list of tensors");
  const Tensor& first = tensors[0];
  EMBER_CHECK(first.dim() > 0, ShapeError, "cat: zero-dim tensors cannot be concatenated");
  int64_t d = normalize_dim(dim, first.dim(), "cat");
  Shape shape = first.shape();
  shape[d] = 0;
  DType dt = first.dtype();
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    prim::check_same_device("cat", first, t);
    bool same = t.dim() == first.dim();
    for (int64_t k = 0; same && k < t.dim(); ++k) same = k == d || t.shape()[k] == first.shape()[k];
    EMBER_CHECK(same, ShapeError, "cat: tensor ", i, " has shape ", shape_str(t.shape()),
                " but tensor 0 has shape ", shape_str(first.shape()), " (only dim ", d, " may differ)");
    shape[d] += t.shape()[d];
    dt = promote_types(dt, t.dtype());
  }
  Tensor out = prim::empty(shape, dt, first.device());
  std::vector<int64_t> sizes;
  int64_t start = 0;
  for (const Tensor& t : tensors) {
    Strides strides = out.strides();
    Shape part = out.shape();
    part[d] = t.shape()[d];
    prim::copy_(make_view(out, part, strides, start * strides[d]), t);
    sizes.push_back(t.shape()[d]);
    start += t.shape()[d];
  }
  if (should_record(tensors)) {
    auto node = std::make_shared<CatBackward>();
    node->dim = d;
    node->sizes = sizes;
    record(node, tensors, out);
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  EMBER_CHECK(!tensors.empty(), ValueError, "stack: expected a non-empty list of tensors");
  int64_t d = normalize_dim(dim, tensors[0].dim() + 1, "stack");
  std::vector<Tensor> expanded;
  for (size_t i = 0; i < tensors.size(); ++i) {
    EMBER_CHECK(tensors[i].shape() == tensors[0].shape(), ShapeError, "stack: tensor ", i, " has shape ",
                shape_str(tensors[i].shape()), " but tensor 0 has shape ", shape_str(tensors[0].shape()));
    expanded.push_back(unsqueeze(tensors[i], d));
  }
  return cat(expanded, d);
}

Tensor index_select(const Tensor& a, int64_t dim, const Tensor& index_in) {
  Tensor index = check_index(index_in, a, "index_select");
  EMBER_CHECK(index.dim() <= 1, ShapeError, "index_select: index must be 0-D or 1-D, got shape ",
              shape_str(index.shape()));
  EMBER_CHECK(a.dim() > 0, ShapeError, "index_select: input must have at least 1 dim");
  Tensor x = prim::contiguous(a);
  int64_t d = normalize_dim(dim, x.dim(), "index_select");
  Shape shape = x.shape();
  shape[d] = index.numel();
  Tensor out = prim::empty(shape, a.dtype(), a.device());
  prim::backend(a.device()).index_select(prim::view_of(out), prim::view_of(x), d, prim::view_of(index));
  if (should_record({a})) {
    auto node = std::make_shared<IndexSelectBackward>();
    node->dim = d;
    node->save(reshape(index, {-1}));
    record(node, {a, index_in}, out);
  }
  return out;
}

Tensor gather(const Tensor& a, int64_t dim, const Tensor& index_in) {
  Tensor index = check_index(index_in, a, "gather");
  EMBER_CHECK(a.dim() > 0, ShapeError, "gather: input must have at least 1 dim");
  int64_t d = normalize_dim(dim, a.dim(), "gather");
  EMBER_CHECK(index.dim() == a.dim(), ShapeError, "gather: index has shape ", shape_str(index.shape()),
              " but input has shape ", shape_str(a.shape()), " (they need the same number of dims)");
  for (int64_t k = 0; k < a.dim(); ++k)
    EMBER_CHECK(k == d || index.shape()[k] <= a.shape()[k], ShapeError, "gather: index shape ",
                shape_str(index.shape()), " exceeds input shape ", shape_str(a.shape()), " at dim ", k);
  Tensor out = prim::empty(index.shape(), a.dtype(), a.device());
  prim::backend(a.device()).gather(prim::view_of(out), prim::view_of(a), d, prim::view_of(index));
  if (should_record({a})) {
    auto node = std::make_shared<GatherBackward>();
    node->dim = d;
    node->save(index);
    record(node, {a, index_in}, out);
  }
  return out;
}

}  // namespace ember
