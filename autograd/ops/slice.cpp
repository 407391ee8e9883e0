// Slicing and broadcasting views: slice, narrow, select, expand, flatten.
// The gradient of a slice is the incoming gradient placed into zeros of the
// input's shape (slice_scatter below), whose own gradient is a slice again.
#include "view_common.h"

namespace ember {

namespace {

struct SliceSpec {
  int64_t dim, start, end, step;
};

Tensor slice_scatter(const Tensor& g, const Shape& shape, const SliceSpec& s);

struct SliceScatterBackward final : Node {
  SliceSpec spec;
  std::string name() const override { return "SliceScatterBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    return {slice(g[0], spec.dim, spec.start, spec.end, spec.step)};
  }
};

// zeros(shape) with g written into [start:end:step] along dim.
Tensor slice_scatter(const Tensor& g, const Shape& shape, const SliceSpec& s) {
  Tensor out = zeros(shape, {.dtype = g.dtype(), .device = g.device()});
  {
    NoGradGuard no_grad;
    prim::copy_(slice(out, s.dim, s.start, s.end, s.step), g);
  }
  if (should_record({g})) {
    auto node = std::make_shared<SliceScatterBackward>();
    node->spec = s;
    record(node, {g}, out);
  }
  return out;
}

}  // namespace

Tensor slice(const Tensor& a, int64_t dim, int64_t start, int64_t end, int64_t step) {
  EMBER_CHECK(a.dim() > 0, IndexError, "slice: cannot slice a 0-dim tensor");
  int64_t d = normalize_dim(dim, a.dim(), "slice");
  EMBER_CHECK(step > 0, ValueError, "slice: step must be positive, got ", step);
  const int64_t size = a.shape()[d];
  // Python semantics: negative bounds count from the end, then clamp.
  if (start < 0) start += size;
  if (end < 0) end += size;
  start = std::clamp<int64_t>(start, 0, size);
  end = std::clamp<int64_t>(end, start, size);
  Shape shape = a.shape();
  Strides strides = a.strides();
  shape[d] = end > start ? (end - start - 1) / step + 1 : 0;
  strides[d] *= step;
  SliceSpec spec{d, start, end, step};
  Shape in_shape = a.shape();
  return make_view_op(a, shape, strides, a.offset() + start * a.strides()[d], "SliceBackward",
                      [in_shape, spec](const Tensor& g) { return slice_scatter(g, in_shape, spec); });
}

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
  Shape in_shape = a.shape();
  return make_view_op(a, shape, strides, a.offset(), "ExpandBackward",
                      [in_shape](const Tensor& g) { return sum_to(g, in_shape); });
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
