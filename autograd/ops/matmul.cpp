// Matrix products. bmm is the one primitive (batched GEMM with its
// backward); matmul handles 1-D operands and batch broadcasting with views
// around it, so its gradient comes for free.
#include "common.h"

namespace ember {

namespace {

struct BmmBackward final : BackwardNode<BmmBackward> {  // saved: 0 = a, 1 = b
  static constexpr const char* kName = "BmmBackward";
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    Tensor ga, gb;
    if (needs_input_grad(0)) ga = bmm(g[0], transpose(saved(1), 1, 2));  // dA = dC B^T
    if (needs_input_grad(1)) gb = bmm(transpose(saved(0), 1, 2), g[0]);  // dB = A^T dC
    return {ga, gb};
  }
};

}  // namespace

Tensor bmm(const Tensor& a, const Tensor& b) {
  Tensor out = prim::matmul_nograd(a, b);
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
