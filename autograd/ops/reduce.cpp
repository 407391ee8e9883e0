// Reductions over any dims (empty = all), with keepdim. The backward of a
// reduction broadcasts the gradient back over the reduced dims.
#include "common.h"

namespace ember {

namespace {

// g has the reduced shape (keepdim or not): reshape it to keepdim form,
// then broadcast to the input's shape.
Tensor expand_back(const Tensor& g, const Shape& in_shape, const std::vector<int64_t>& dims) {
  return expand(reshape(g, prim::reduced_shape(in_shape, dims, true)), in_shape);
}

struct SumBackward final : BackwardNode<SumBackward> {
  static constexpr const char* kName = "SumBackward";
  std::vector<int64_t> dims;
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    return {expand_back(g[0], input_meta[0].shape, dims)};
  }
};

// Ties share the gradient equally (torch.amax semantics): the gradient goes
// to every input equal to its group's extreme, divided by their count.
Tensor extreme_grad(const Tensor& g, const Tensor& x, const Tensor& extreme_out, const Shape& shape,
                    const std::vector<int64_t>& dims) {
  Tensor extreme = expand_back(extreme_out, shape, dims);
  Tensor mask = to(eq(x, extreme), g.dtype());
  Tensor count = sum(mask, dims, /*keepdim=*/true);
  return expand_back(g, shape, dims) * mask / count;
}

struct MaxBackward final : BackwardNode<MaxBackward> {  // saved: 0 = input, 1 = output
  static constexpr const char* kName = "MaxBackward";
  std::vector<int64_t> dims;
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    return {extreme_grad(g[0], saved(0), saved(1), input_meta[0].shape, dims)};
  }
};

struct MinBackward final : BackwardNode<MinBackward> {  // saved: 0 = input, 1 = output
  static constexpr const char* kName = "MinBackward";
  std::vector<int64_t> dims;
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    return {extreme_grad(g[0], saved(0), saved(1), input_meta[0].shape, dims)};
  }
};

template <typename NodeT>
Tensor max_or_min(ReduceOp op, const Tensor& a, const std::vector<int64_t>& dims_in, bool keepdim, const char* name) {
  auto dims = normalize_dims(dims_in, a.dim(), name);
  Tensor out = prim::reduce(op, a, dims, keepdim, name);
  if (should_record({a})) {
    auto node = std::make_shared<NodeT>();
    node->dims = dims;
    node->save(a);
    record(node, {a}, out);
    node->save(out, /*is_output=*/true);
  }
  return out;
}

int64_t count_reduced(const Tensor& a, const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= a.shape()[d];
  return n;
}

}  // namespace

Tensor sum(const Tensor& a, const std::vector<int64_t>& dims_in, bool keepdim) {
  auto dims = normalize_dims(dims_in, a.dim(), "sum");
  // Integer and bool sums are int64, as in PyTorch.
  Tensor x = is_floating(a.dtype()) ? a : prim::cast_nograd(a, DType::Int64);
  Tensor out = prim::reduce(ReduceOp::Sum, x, dims, keepdim, "sum");
  if (should_record({a})) {
    auto node = std::make_shared<SumBackward>();
    node->dims = dims;
    record(node, {a}, out);
  }
  return out;
}

Tensor mean(const Tensor& a, const std::vector<int64_t>& dims_in, bool keepdim) {
  EMBER_CHECK(is_floating(a.dtype()), DTypeError, "mean: expected a floating tensor, got ", dtype_name(a.dtype()));
  auto dims = normalize_dims(dims_in, a.dim(), "mean");
  return sum(a, dims, keepdim) / static_cast<double>(count_reduced(a, dims));
}

Tensor max(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim) {
  return max_or_min<MaxBackward>(ReduceOp::Max, a, dims, keepdim, "max");
}
Tensor min(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim) {
  return max_or_min<MinBackward>(ReduceOp::Min, a, dims, keepdim, "min");
}

Tensor argmax(const Tensor& a, int64_t dim, bool keepdim) {
  int64_t d = normalize_dim(dim, a.dim(), "argmax");
  return prim::reduce(ReduceOp::ArgMax, a, a.dim() == 0 ? std::vector<int64_t>{} : std::vector<int64_t>{d}, keepdim,
                      "argmax");
}

Tensor argmin(const Tensor& a, int64_t dim, bool keepdim) {
  int64_t d = normalize_dim(dim, a.dim(), "argmin");
  return prim::reduce(ReduceOp::ArgMin, a, a.dim() == 0 ? std::vector<int64_t>{} : std::vector<int64_t>{d}, keepdim,
                      "argmin");
}

// Composite: its gradient comes from mean, sub, mul and sum.
Tensor var(const Tensor& a, const std::vector<int64_t>& dims_in, int64_t correction, bool keepdim) {
  EMBER_CHECK(is_floating(a.dtype()), DTypeError, "var: expected a floating tensor, got ", dtype_name(a.dtype()));
  auto dims = normalize_dims(dims_in, a.dim(), "var");
  Tensor centered = a - mean(a, dims, /*keepdim=*/true);
  // As PyTorch: max(0, N - correction); 0 gives inf or nan, not a negative variance.
  double denom = static_cast<double>(std::max<int64_t>(0, count_reduced(a, dims) - correction));
  return sum(centered * centered, dims, keepdim) / denom;
}

Tensor sum_to(const Tensor& a, const Shape& shape) {
  if (a.shape() == shape) return a;
  const int64_t lead = a.dim() - static_cast<int64_t>(shape.size());
  EMBER_CHECK(lead >= 0, ShapeError, "sum_to: cannot sum shape ", shape_str(a.shape()), " to ", shape_str(shape));
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < a.dim(); ++d) {
    if (d < lead) {
      dims.push_back(d);
      continue;
    }
    int64_t target = shape[d - lead];
    EMBER_CHECK(target == a.shape()[d] || target == 1, ShapeError, "sum_to: cannot sum shape ",
                shape_str(a.shape()), " to ", shape_str(shape));
    if (target == 1 && a.shape()[d] != 1) dims.push_back(d);
  }
  Tensor r = dims.empty() ? a : sum(a, dims, /*keepdim=*/true);
  return reshape(r, shape);
}

}  // namespace ember
