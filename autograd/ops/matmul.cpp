// Matrix products. bmm is the one primitive (batched GEMM with its
// backward); matmul handles 1-D operands and batch broadcasting with views
// around it, so its gradient comes for free.
#include "common.h"

namespace ember {

namespace {

struct BmmBackward final : Node {  // saved: 0 = a, 1 = b
  std::string name() const override { return "BmmBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    Tensor ga, gb;
    if (needs_input_grad(0)) ga = bmm(g[0], transpose(saved(1), 1, 2));  // dA = dC B^T
    if (needs_input_grad(1)) gb = bmm(transpose(saved(0), 1, 2), g[0]);  // dB = A^T dC
    return {ga, gb};
  }
};

// What the backend's matmul takes: floating tensors with any strides,
// integer ones contiguous (Backend::matmul).
Tensor gemm_operand(const Tensor& t) { return is_floating(t.dtype()) ? t : prim::contiguous(t); }

}  // namespace

Tensor bmm(const Tensor& a, const Tensor& b) {
  EMBER_CHECK(a.dim() == 3 && b.dim() == 3 && a.size(0) == b.size(0) && a.size(2) == b.size(1), ShapeError,
              "bmm: expected (B, M, K) and (B, K, N), got ", shape_str(a.shape()), " and ", shape_str(b.shape()));
  EMBER_CHECK(a.dtype() == b.dtype(), DTypeError, "bmm: dtypes differ (", dtype_name(a.dtype()), " and ",
              dtype_name(b.dtype()), ")");
  EMBER_CHECK(a.dtype() != DType::Bool, DTypeError, "bmm: bool tensors are not supported");
  prim::check_same_device("bmm", a, b);
  Tensor out = prim::empty({a.size(0), a.size(1), b.size(2)}, a.dtype(), a.device());
  if (a.size(2) == 0) prim::fill_(out, 0);
  else if (out.numel() > 0)
    // Floating operands go as they are: transposed, expanded (batch stride
    // 0) or strided views cost no copy, since the GEMM takes any strides.
    prim::backend(a.device()).matmul(prim::view_of(out), prim::view_of(gemm_operand(a)),
                                     prim::view_of(gemm_operand(b)));
  if (should_record({a, b})) {
    auto node = std::make_shared<BmmBackward>();
    node->save(a);
    node->save(b);
    record(node, {a, b}, out);
  }
  return out;
}

// Follows torch.matmul: 1-D x 1-D is a dot product; a 1-D left operand is
// a row (removed after), a 1-D right operand a column; other dims broadcast
// as a batch.
Tensor matmul(const Tensor& a, const Tensor& b) {
  EMBER_CHECK(a.dim() >= 1 && b.dim() >= 1, ShapeError, "matmul: both operands need at least 1 dim, got ",
              shape_str(a.shape()), " and ", shape_str(b.shape()));
  Tensor a2 = a.dim() == 1 ? unsqueeze(a, 0) : a;   // (k) -> (1, k)
  Tensor b2 = b.dim() == 1 ? unsqueeze(b, 1) : b;   // (k) -> (k, 1)
  const int64_t m = a2.size(-2), k = a2.size(-1), k2 = b2.size(-2), n = b2.size(-1);
  EMBER_CHECK(k == k2, ShapeError, "matmul: shapes ", shape_str(a.shape()), " and ", shape_str(b.shape()),
              " cannot be multiplied (", k, " vs ", k2, ")");
  DType dt = promote_types(a.dtype(), b.dtype());
  if (a2.dtype() != dt) a2 = to(a2, dt);
  if (b2.dtype() != dt) b2 = to(b2, dt);
  Shape batch_a(a2.shape().begin(), a2.shape().end() - 2), batch_b(b2.shape().begin(), b2.shape().end() - 2);
  Shape batch = broadcast_shapes(batch_a, batch_b, "matmul");
  const int64_t nb = numel(batch);
  Shape ea = batch, eb = batch;
  ea.insert(ea.end(), {m, k});
  eb.insert(eb.end(), {k, n});
  Tensor out = bmm(reshape(expand(a2, ea), {nb, m, k}), reshape(expand(b2, eb), {nb, k, n}));
  Shape out_shape = batch;
  if (a.dim() > 1) out_shape.push_back(m);
  if (b.dim() > 1) out_shape.push_back(n);
  return reshape(out, out_shape);
}

}  // namespace ember
