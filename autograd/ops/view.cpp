// View ops: a new shape/strides/offset over the same storage (see
// Note [Tensor layout]). Each records a Node whose backward maps the
// gradient back to the input's shape, again with view ops.
#include <algorithm>
#include <numeric>
#include <optional>

#include "view_common.h"

namespace ember {

namespace {

// Resolves one -1 in a requested shape.
Shape infer_shape(const Shape& requested, int64_t numel_in, const Shape& from, const char* op) {
  Shape shape = requested;
  int64_t known = 1;
  std::optional<size_t> infer;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      EMBER_CHECK(!infer, ShapeError, op, ": only one dimension can be -1, got ", shape_str(requested));
      infer = i;
    } else {
      EMBER_CHECK(shape[i] >= 0, ShapeError, op, ": invalid size in shape ", shape_str(requested));
      known *= shape[i];
    }
  }
  if (infer) {
    EMBER_CHECK(known != 0 && numel_in % known == 0, ShapeError, op, ": shape ", shape_str(requested),
                " is invalid for input of shape ", shape_str(from));
    shape[*infer] = numel_in / known;
  }
  EMBER_CHECK(numel(shape) == numel_in, ShapeError, op, ": shape ", shape_str(requested),
              " is invalid for input of shape ", shape_str(from), " (", numel_in, " elements)");
  return shape;
}

// Strides that let `shape` view memory laid out as (old_shape, old_strides),
// or nothing if a copy is needed. Each run of old dims that is contiguous
// in memory may be split into any new dims of the same total size.
std::optional<Strides> view_strides(const Shape& old_shape, const Strides& old_strides, const Shape& shape) {
  Strides out(shape.size());
  if (numel(old_shape) == 0 || old_shape.empty()) return contiguous_strides(shape);
  int64_t view_d = static_cast<int64_t>(shape.size()) - 1;
  int64_t chunk_base_stride = old_strides.empty() ? 1 : old_strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = static_cast<int64_t>(old_shape.size()) - 1; d >= 0; --d) {
    tensor_numel *= old_shape[d];
    // At the start of a contiguous chunk (or the first dim), fill new dims.
    if (d == 0 || (old_shape[d - 1] != 1 && old_strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
        out[view_d] = view_numel * chunk_base_stride;
        view_numel *= shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (d > 0) {
        chunk_base_stride = old_strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return out;
}

std::vector<int64_t> inverse_permutation(const std::vector<int64_t>& p) {
  std::vector<int64_t> inv(p.size());
  for (size_t i = 0; i < p.size(); ++i) inv[p[i]] = static_cast<int64_t>(i);
  return inv;
}

// view, squeeze and unsqueeze only regroup dims: their gradient is the
// incoming one reshaped back to the input's shape.
struct ViewBackward final : BackwardNode<ViewBackward> {
  static constexpr const char* kName = "ViewBackward";
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override { return {reshape(g[0], input_meta[0].shape)}; }
};
struct SqueezeBackward final : BackwardNode<SqueezeBackward> {
  static constexpr const char* kName = "SqueezeBackward";
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override { return {reshape(g[0], input_meta[0].shape)}; }
};
struct UnsqueezeBackward final : BackwardNode<UnsqueezeBackward> {
  static constexpr const char* kName = "UnsqueezeBackward";
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override { return {reshape(g[0], input_meta[0].shape)}; }
};

struct PermuteBackward final : BackwardNode<PermuteBackward> {
  static constexpr const char* kName = "PermuteBackward";
  std::vector<int64_t> inverse;  // the permutation that undoes the forward one
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override { return {permute(g[0], inverse)}; }
};

}  // namespace

Tensor view(const Tensor& a, const Shape& requested) {
  Shape shape = infer_shape(requested, a.numel(), a.shape(), "view");
  auto strides = view_strides(a.shape(), a.strides(), shape);
  EMBER_CHECK(strides.has_value(), ShapeError, "view: shape ", shape_str(shape),
              " is not compatible with the input's size and strides (shape ", shape_str(a.shape()), ", strides ",
              shape_str(a.strides()), "); use reshape(), which copies when it must");
  return make_view_op<ViewBackward>(a, shape, *strides, a.offset());
}

Tensor reshape(const Tensor& a, const Shape& requested) {
  Shape shape = infer_shape(requested, a.numel(), a.shape(), "reshape");
  if (view_strides(a.shape(), a.strides(), shape)) return view(a, shape);
  return view(contiguous(a), shape);
}

Tensor permute(const Tensor& a, const std::vector<int64_t>& dims) {
  EMBER_CHECK(static_cast<int64_t>(dims.size()) == a.dim(), ShapeError, "permute: got ", dims.size(),
              " dims for a tensor of shape ", shape_str(a.shape()));
  std::vector<int64_t> p(dims.size());
  std::vector<bool> seen(dims.size(), false);
  Shape shape(dims.size());
  Strides strides(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) {
    p[i] = normalize_dim(dims[i], a.dim(), "permute");
    EMBER_CHECK(!seen[p[i]], IndexError, "permute: dim ", dims[i], " repeats in ", shape_str(dims));
    seen[p[i]] = true;
    shape[i] = a.shape()[p[i]];
    strides[i] = a.strides()[p[i]];
  }
  return make_view_op<PermuteBackward>(a, shape, strides, a.offset(),
                                       [&](PermuteBackward& n) { n.inverse = inverse_permutation(p); });
}

Tensor transpose(const Tensor& a, int64_t dim0, int64_t dim1) {
  if (a.dim() == 0) return a;
  std::vector<int64_t> p(a.dim());
  std::iota(p.begin(), p.end(), 0);
  std::swap(p[normalize_dim(dim0, a.dim(), "transpose")], p[normalize_dim(dim1, a.dim(), "transpose")]);
  return permute(a, p);
}

Tensor unsqueeze(const Tensor& a, int64_t dim) {
  int64_t d = normalize_dim(dim, a.dim() + 1, "unsqueeze");
  Shape shape = a.shape();
  Strides strides = a.strides();
  int64_t stride = d < a.dim() ? shape[d] * strides[d] : 1;
  shape.insert(shape.begin() + d, 1);
  strides.insert(strides.begin() + d, stride);
  return make_view_op<UnsqueezeBackward>(a, shape, strides, a.offset());
}

Tensor squeeze(const Tensor& a, int64_t dim) {
  if (a.dim() == 0) {
    normalize_dim(dim, 0, "squeeze");
    return a;
  }
  int64_t d = normalize_dim(dim, a.dim(), "squeeze");
  if (a.shape()[d] != 1) return a;  // like PyTorch: squeezing a non-1 dim is a no-op
  Shape shape = a.shape();
  Strides strides = a.strides();
  shape.erase(shape.begin() + d);
  strides.erase(strides.begin() + d);
  return make_view_op<SqueezeBackward>(a, shape, strides, a.offset());
}

Tensor squeeze(const Tensor& a) {
  Shape shape;
  Strides strides;
  for (int64_t d = 0; d < a.dim(); ++d)
    if (a.shape()[d] != 1) {
      shape.push_back(a.shape()[d]);
      strides.push_back(a.strides()[d]);
    }
  return make_view_op<SqueezeBackward>(a, shape, strides, a.offset());
}

}  // namespace ember
