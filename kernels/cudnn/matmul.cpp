// cuda:cudnn's matmul: batched GEMM through cuBLAS.
//
// Note [Row-major GEMM in cuBLAS]
// cuBLAS is column-major: a matrix (r, c) with leading dimension ld has
// element (i, j) at i + j * ld. Ember's out (B, M, N) is row-major and
// contiguous, which is the same memory as the column-major (N, M) matrix
// out^T with ld = N. So cuBLAS computes out^T = b^T a^T: m = N, n = M,
// k = K, its first operand is b, its second a, each given as op(X^T):
//   * a view whose columns are adjacent (stride 1 along the last dim) is,
//     read column-major with ld = its row stride, already X^T: CUBLAS_OP_N;
//   * a view whose rows are adjacent (a transposed view, stride 1 along the
//     row dim) is, read column-major with ld = its column stride, X itself:
//     CUBLAS_OP_T;
//   * anything else (both strides > 1, a zero stride inside a matrix) is
//     copied contiguous first, by cuda:ember's copy, into a temporary.
// The batch dim needs no copy: strided-batched GEMM takes any batch stride,
// 0 included (a broadcast operand), and a batch of one has stride 0.
//
// Note [No TF32]
// Since Ampere, float32 GEMMs may run on tensor cores in TF32 (10-bit
// mantissa), about 1e-3 relative error: fast, and not what Ember's float32
// kernels compute. The handle keeps CUBLAS_DEFAULT_MATH (TF32 is opt-in
// there, through CUBLAS_TF32_TENSOR_OP_MATH) and the call asks for
// CUBLAS_COMPUTE_32F, whose result is full float32 (CUBLAS_COMPUTE_32F_FAST_TF32
// would be the TF32 one). float64 uses CUBLAS_COMPUTE_64F. Integer matmuls
// (cuBLAS has no int64 GEMM) and shapes beyond cuBLAS's int sizes are
// declined (Note [Vendor entries decline] in vendor.h).
#include <algorithm>
#include <climits>
#include <optional>

#include "vendor.h"

namespace ember::kernels::cudnn {

namespace {

// How cuBLAS reads one (B, rows, cols) operand.
struct Operand {
  const void* data;
  cublasOperation_t op;
  int64_t ld;
  int64_t batch_stride;
};

// The operand as op(X^T) (Note [Row-major GEMM in cuBLAS]), or nothing when
// its strides cannot be said to cuBLAS. A size-1 dim's stride is free: the
// packed value is taken.
std::optional<Operand> operand_of(const TensorView& v) {
  const int64_t rows = v.shape[1], cols = v.shape[2];
  const int64_t batch = v.shape[0] == 1 ? 0 : v.strides[0];
  if (cols == 1 || v.strides[2] == 1) {  // element (i, j) at i * ld + j
    const int64_t ld = rows == 1 ? cols : v.strides[1];
    if (ld >= cols && ld <= INT_MAX) return Operand{v.data, CUBLAS_OP_N, ld, batch};
  }
  if (rows == 1 || v.strides[1] == 1) {  // element (i, j) at i + j * ld
    const int64_t ld = cols == 1 ? rows : v.strides[2];
    if (ld >= rows && ld <= INT_MAX) return Operand{v.data, CUBLAS_OP_T, ld, batch};
  }
  return std::nullopt;
}

// A contiguous copy of `v` in `buffer`, made by cuda:ember's copy.
TensorView packed_copy(const ExecContext& ctx, const TensorView& v, const DeviceBuffer& buffer) {
  TensorView packed{buffer.get(), v.dtype, v.shape, contiguous_strides(v.shape)};
  backend_named(DeviceType::CUDA, "ember").copy(ctx, packed, v);
  return packed;
}

}  // namespace

bool matmul(const ExecContext& ctx, const TensorView& out, const TensorView& a, const TensorView& b) {
  if (a.dtype != DType::Float32 && a.dtype != DType::Float64) return false;
  const int64_t batch = a.shape[0], m = a.shape[1], k = a.shape[2], n = b.shape[2];
  if (out.numel() == 0) return true;  // nothing to write (K > 0 by the contract)
  for (int64_t s : {batch, m, k, n})
    if (!fits_int(s)) return false;

  const size_t elem = dtype_size(a.dtype);
  std::optional<Operand> oa = operand_of(a), ob = operand_of(b);
  // Temporaries for operands cuBLAS cannot read as they are; empty otherwise.
  DeviceBuffer a_copy(ctx.device.index, oa ? 0 : static_cast<size_t>(a.numel()) * elem);
  DeviceBuffer b_copy(ctx.device.index, ob ? 0 : static_cast<size_t>(b.numel()) * elem);
  if (!oa) oa = operand_of(packed_copy(ctx, a, a_copy));
  if (!ob) ob = operand_of(packed_copy(ctx, b, b_copy));

  const bool dbl = a.dtype == DType::Float64;
  const cudaDataType type = dbl ? CUDA_R_64F : CUDA_R_32F;
  const cublasComputeType_t compute = dbl ? CUBLAS_COMPUTE_64F : CUBLAS_COMPUTE_32F;  // Note [No TF32]
  Session s(ctx);
  auto what = [&] { return describe("matmul", {a, b}); };
  EMBER_VENDOR_CHECK(cublasGemmStridedBatchedEx(s.cublas(), ob->op, oa->op, static_cast<int>(n), static_cast<int>(m),
                                                static_cast<int>(k), one(a.dtype), ob->data, type,
                                                static_cast<int>(ob->ld), ob->batch_stride, oa->data, type,
                                                static_cast<int>(oa->ld), oa->batch_stride, zero(a.dtype), out.data,
                                                type, static_cast<int>(n), m * n, static_cast<int>(batch), compute,
                                                CUBLAS_GEMM_DEFAULT),
                     what);
  return true;
}

}  // namespace ember::kernels::cudnn
