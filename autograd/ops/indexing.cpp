// Joining (cat, stack) and indexing (index_select, gather) with their
// adjoints (index_add, scatter_add). The backward of an index op adds the
// gradient back at the indexed positions; those adds are differentiable ops
// too, whose gradients are the original selections, so double backward works.
#include "common.h"

namespace ember {

namespace {

void check_index(const Tensor& index, const Tensor& a, const char* op) {
  EMBER_CHECK(index.dtype() == DType::Int64, DTypeError, op, ": index must be int64, got ", dtype_name(index.dtype()));
  prim::check_same_device(op, a, index);
  EMBER_CHECK(a.dim() > 0, ShapeError, op, ": input must have at least 1 dim");
}

// index_add and scatter_add into `out`, a fresh tensor holding a's values
// (a clone, or zeros made for the purpose), recorded as the op on `a`.
Tensor index_add_into(Tensor out, const Tensor& a, int64_t dim, const Tensor& index, const Tensor& src);
Tensor scatter_add_into(Tensor out, const Tensor& a, int64_t dim, const Tensor& index, const Tensor& src);

Tensor zeros_for(const InputMeta& input, const Tensor& like) {
  return zeros(input.shape, {.dtype = like.dtype(), .device = like.device()});
}

struct IndexSelectBackward final : BackwardNode<IndexSelectBackward> {  // saved: 0 = index
  static constexpr const char* kName = "IndexSelectBackward";
  int64_t dim = 0;
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    Tensor base = zeros_for(input_meta[0], g[0]);
    return {index_add_into(base, base, dim, saved(0), g[0]), Tensor()};
  }
};

// out = a.index_add(dim, index, src): a's gradient passes through; src's is
// the selection at the same indices.
struct IndexAddBackward final : BackwardNode<IndexAddBackward> {  // saved: 0 = index
  static constexpr const char* kName = "IndexAddBackward";
  int64_t dim = 0;
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    Tensor g_src = needs_input_grad(2) ? index_select(g[0], dim, saved(0)) : Tensor();
    return {g[0], Tensor(), g_src};
  }
};

struct GatherBackward final : BackwardNode<GatherBackward> {  // saved: 0 = index
  static constexpr const char* kName = "GatherBackward";
  int64_t dim = 0;
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    Tensor base = zeros_for(input_meta[0], g[0]);
    return {scatter_add_into(base, base, dim, saved(0), g[0]), Tensor()};
  }
};

struct ScatterAddBackward final : BackwardNode<ScatterAddBackward> {  // saved: 0 = index
  static constexpr const char* kName = "ScatterAddBackward";
  int64_t dim = 0;
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    Tensor g_src = needs_input_grad(2) ? gather(g[0], dim, saved(0)) : Tensor();
    return {g[0], Tensor(), g_src};
  }
};

struct CatBackward final : BackwardNode<CatBackward> {
  static constexpr const char* kName = "CatBackward";
  int64_t dim = 0;
  std::vector<int64_t> sizes;  // each input's size along dim
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

Tensor index_add_into(Tensor out, const Tensor& a, int64_t dim, const Tensor& index, const Tensor& src) {
  prim::index_add_nograd(out, dim, index, src);
  if (should_record({a, src})) {
    auto node = std::make_shared<IndexAddBackward>();
    node->dim = dim;
    node->save(index);
    record(node, {a, index, src}, out);
  }
  return out;
}

Tensor scatter_add_into(Tensor out, const Tensor& a, int64_t dim, const Tensor& index, const Tensor& src) {
  prim::scatter_add_nograd(out, dim, index, src);
  if (should_record({a, src})) {
    auto node = std::make_shared<ScatterAddBackward>();
    node->dim = dim;
    node->save(index);
    record(node, {a, index, src}, out);
  }
  return out;
}

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
    prim::copy_nograd(make_view(out, part, strides, start * strides[d]), t);
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
  check_index(index_in, a, "index_select");
  EMBER_CHECK(index_in.dim() <= 1, ShapeError, "index_select: index must be 0-D or 1-D, got shape ",
              shape_str(index_in.shape()));
  const int64_t d = normalize_dim(dim, a.dim(), "index_select");
  Tensor index = reshape(index_in, {-1});
  Tensor out = prim::index_select_nograd(a, d, index);
  if (should_record({a})) {
    auto node = std::make_shared<IndexSelectBackward>();
    node->dim = d;
    node->save(index);
    record(node, {a, index_in}, out);
  }
  return out;
}

Tensor index_add(const Tensor& a, int64_t dim, const Tensor& index_in, const Tensor& src) {
  check_index(index_in, a, "index_add");
  prim::check_same_device("index_add", a, src);
  EMBER_CHECK(index_in.dim() <= 1, ShapeError, "index_add: index must be 0-D or 1-D, got shape ",
              shape_str(index_in.shape()));
  const int64_t d = normalize_dim(dim, a.dim(), "index_add");
  Tensor index = reshape(index_in, {-1});
  Shape want = a.shape();
  want[d] = index.numel();
  EMBER_CHECK(src.shape() == want, ShapeError, "index_add: src has shape ", shape_str(src.shape()), " but ",
              index.numel(), " indices into dim ", d, " of ", shape_str(a.shape()), " need ", shape_str(want));
  return index_add_into(prim::clone_nograd(a), a, d, index, src);
}

Tensor gather(const Tensor& a, int64_t dim, const Tensor& index) {
  check_index(index, a, "gather");
  const int64_t d = normalize_dim(dim, a.dim(), "gather");
  EMBER_CHECK(index.dim() == a.dim(), ShapeError, "gather: index has shape ", shape_str(index.shape()),
              " but input has shape ", shape_str(a.shape()), " (they need the same number of dims)");
  for (int64_t k = 0; k < a.dim(); ++k)
    EMBER_CHECK(k == d || index.shape()[k] <= a.shape()[k], ShapeError, "gather: index shape ",
                shape_str(index.shape()), " exceeds input shape ", shape_str(a.shape()), " at dim ", k);
  Tensor out = prim::gather_nograd(a, d, index);
  if (should_record({a})) {
    auto node = std::make_shared<GatherBackward>();
    node->dim = d;
    node->save(index);
    record(node, {a, index}, out);
  }
  return out;
}

Tensor scatter_add(const Tensor& a, int64_t dim, const Tensor& index, const Tensor& src) {
  check_index(index, a, "scatter_add");
  prim::check_same_device("scatter_add", a, src);
  const int64_t d = normalize_dim(dim, a.dim(), "scatter_add");
  EMBER_CHECK(index.dim() == a.dim() && src.shape() == index.shape(), ShapeError, "scatter_add: index ",
              shape_str(index.shape()), " and src ", shape_str(src.shape()), " need one shape, with as many dims as ",
              "input ", shape_str(a.shape()));
  for (int64_t k = 0; k < a.dim(); ++k)
    EMBER_CHECK(k == d || index.shape()[k] <= a.shape()[k], ShapeError, "scatter_add: index shape ",
                shape_str(index.shape()), " exceeds input shape ", shape_str(a.shape()), " at dim ", k);
  return scatter_add_into(prim::clone_nograd(a), a, d, index, src);
}

}  // namespace ember
