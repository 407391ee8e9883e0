// Slicing and broadcasting views: slice, narrow, select, expand, flatten;
// and slice_scatter, which writes a tensor into a slice of a copy. The
// gradient of a slice is the incoming gradient placed into zeros of the
// input's shape (a slice_scatter), whose own gradient is a slice again.
#include "view_common.h"

namespace ember {

namespace {

struct SliceSpec {
  int64_t dim, start, end, step;
};

// zeros(shape) with g written into [start:end:step] along dim; recorded.
Tensor slice_into_zeros(const Tensor& g, const Shape& shape, const SliceSpec& s);
// slice_scatter into `out`, a fresh tensor holding base's values (a clone,
// or zeros made for the purpose), recorded as slice_scatter(base, src).
Tensor slice_scatter_into(Tensor out, const Tensor& base, const Tensor& src, const SliceSpec& s);

struct SliceBackward final : BackwardNode<SliceBackward> {
  static constexpr const char* kName = "SliceBackward";
  SliceSpec spec;
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    return {slice_into_zeros(g[0], input_meta[0].shape, spec)};
  }
};

// slice_scatter's backward: the base gets the gradient outside the slice,
// the source the slice of it.
struct SliceScatterBackward final : BackwardNode<SliceScatterBackward> {
  static constexpr const char* kName = "SliceScatterBackward";
  SliceSpec spec;
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    Tensor window = slice(g[0], spec.dim, spec.start, spec.end, spec.step), g_base;
    if (needs_input_grad(0)) g_base = slice_scatter(g[0], zeros_like(window), spec.dim, spec.start, spec.end, spec.step);
    return {g_base, needs_input_grad(1) ? window : Tensor()};
  }
};

struct ExpandBackward final : BackwardNode<ExpandBackward> {
  static constexpr const char* kName = "ExpandBackward";
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override { return {sum_to(g[0], input_meta[0].shape)}; }
};

Tensor slice_into_zeros(const Tensor& g, const Shape& shape, const SliceSpec& s) {
  Tensor base = zeros(shape, {.dtype = g.dtype(), .device = g.device()});
  return slice_scatter_into(base, base, g, s);
}

// Python semantics: negative bounds count from the end, then clamp.
SliceSpec normalize_slice(const Tensor& a, int64_t dim, int64_t start, int64_t end, int64_t step, const char* op) {
  EMBER_CHECK(a.dim() > 0, IndexError, op, ": cannot slice a 0-dim tensor");
  const int64_t d = normalize_dim(dim, a.dim(), op);
  EMBER_CHECK(step > 0, ValueError, op, ": step must be positive, got ", step);
  const int64_t size = a.shape()[d];
  if (start < 0) start += size;
  if (end < 0) end += size;
  start = std::clamp<int64_t>(start, 0, size);
  end = std::clamp<int64_t>(end, start, size);
  return {d, start, end, step};
}

}  // namespace

Tensor slice(const Tensor& a, int64_t dim, int64_t start, int64_t end, int64_t step) {
  const SliceSpec spec = normalize_slice(a, dim, start, end, step, "slice");
  Shape shape = a.shape();
  Strides strides = a.strides();
  shape[spec.dim] = spec.end > spec.start ? (spec.end - spec.start - 1) / step + 1 : 0;
  strides[spec.dim] *= step;
  return make_view_op<SliceBackward>(a, shape, strides, a.offset() + spec.start * a.strides()[spec.dim],
                                     [&](SliceBackward& n) { n.spec = spec; });
}

Tensor slice_scatter(const Tensor& base, const Tensor& src, int64_t dim, int64_t start, int64_t end, int64_t step) {
  const SliceSpec spec = normalize_slice(base, dim, start, end, step, "slice_scatter");
  prim::check_same_device("slice_scatter", base, src);
  return slice_scatter_into(prim::clone_nograd(base), base, src, spec);
}

namespace {
Tensor slice_scatter_into(Tensor out, const Tensor& base, const Tensor& src, const SliceSpec& spec) {
  {
    NoGradGuard no_grad;  // a plain write into a fresh tensor; the graph is recorded below
    Tensor window = slice(out, spec.dim, spec.start, spec.end, spec.step);
    EMBER_CHECK(src.shape() == window.shape(), ShapeError, "slice_scatter: src of shape ", shape_str(src.shape()),
                " does not fit the slice of shape ", shape_str(window.shape()), " of a tensor of shape ",
                shape_str(base.shape()));
    prim::copy_nograd(window, src);
  }
  if (should_record({base, src})) {
    auto node = std::make_shared<SliceScatterBackward>();
    node->spec = spec;
    record(node, {base, src}, out);
  }
  return out;
}
}  // namespace

Tensor narrow(const Tensor& a, int64_t dim, int64_t start, int64_t length) {
  EMBER_CHECK(a.dim() > 0, IndexError, "narrow: cannot narrow a 0-dim tensor");
  int64_t d = normalize_dim(dim, a.dim(), "narrow");
  const int64_t size = a.shape()[d];
  if (start < 0) start += size;
  EMBER_CHECK(start >= 0 && length >= 0 && length <= size - start, IndexError, "narrow: start ", start,
              " and length ", length, " are out of range for dim ", d, " of shape ", shape_str(a.shape()));
  return slice(a, d, start, start + length);
}

Tensor select(const Tensor& a, int64_t dim, int64_t index) {
  EMBER_CHECK(a.dim() > 0, IndexError, "select: cannot select from a 0-dim tensor");
  int64_t d = normalize_dim(dim, a.dim(), "select");
  const int64_t size = a.shape()[d];
  EMBER_CHECK(index >= -size && index < size, IndexError, "select: index ", index, " is out of range for dim ", d,
              " of shape ", shape_str(a.shape()));
  if (index < 0) index += size;
  return squeeze(slice(a, d, index, index + 1), d);
}

Tensor expand(const Tensor& a, const Shape& requested) {
  EMBER_CHECK(requested.size() >= a.shape().size(), ShapeError, "expand: cannot expand shape ",
              shape_str(a.shape()), " to ", shape_str(requested), " (fewer dims)");
  const size_t lead = requested.size() - a.shape().size();
  Shape shape = requested;
  Strides strides(requested.size(), 0);
  for (size_t i = 0; i < requested.size(); ++i) {
    if (i < lead) {
      EMBER_CHECK(requested[i] >= 0, ShapeError, "expand: -1 is not allowed in a new leading dim (",
                  shape_str(requested), ")");
      continue;
    }
    int64_t have = a.shape()[i - lead];
    EMBER_CHECK(requested[i] >= -1, ShapeError, "expand: invalid size ", requested[i], " in ", shape_str(requested));
    if (requested[i] == -1) shape[i] = have;
    EMBER_CHECK(shape[i] == have || have == 1, ShapeError, "expand: cannot expand shape ", shape_str(a.shape()),
                " to ", shape_str(requested), " (dim ", i, ": ", have, " vs ", requested[i], ")");
    strides[i] = shape[i] == have ? a.strides()[i - lead] : 0;
  }
  if (shape == a.shape()) return a;
  return make_view_op<ExpandBackward>(a, shape, strides, a.offset());
}

Tensor flatten(const Tensor& a, int64_t start_dim, int64_t end_dim) {
  if (a.dim() == 0) return reshape(a, {1});
  int64_t s = normalize_dim(start_dim, a.dim(), "flatten"), e = normalize_dim(end_dim, a.dim(), "flatten");
  EMBER_CHECK(s <= e, IndexError, "flatten: start_dim ", start_dim, " comes after end_dim ", end_dim);
  Shape shape(a.shape().begin(), a.shape().begin() + s);
  int64_t n = 1;
  for (int64_t d = s; d <= e; ++d) n *= a.shape()[d];
  shape.push_back(n);
  shape.insert(shape.end(), a.shape().begin() + e + 1, a.shape().end());
  return reshape(a, shape);
}

}  // namespace ember
