// CPU batched matmul. Floating types go through gemm() (ember/kernels/gemm.h:
// our packed GEMM, or Eigen when selected) on strided views of our memory,
// no copies; integer types use a plain triple loop.
#include "cpu_backend.h"
#include "ember/core/parallel.h"
#include "ember/kernels/gemm.h"

namespace ember::kernels::cpu {

namespace {

// Below this many multiply-adds per matrix, a batch runs one matrix per
// thread (each GEMM single-threaded); above it, the matrices go one after
// the other, each GEMM using every thread. Either way each matrix's result
// is the same (Note [Deterministic parallel kernels]).
constexpr int64_t kSmallMatrix = int64_t(128) * 128 * 128;

template <typename T>
void integer_gemm(T* c, const T* a, const T* b, int64_t m, int64_t k, int64_t n) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      T s = 0;
      for (int64_t p = 0; p < k; ++p) s += a[i * k + p] * b[p * n + j];
      c[i * n + j] = s;
    }
}

}  // namespace

void CpuBackend::matmul(const TensorView& out, const TensorView& a, const TensorView& b) {
  const int64_t batch = a.shape[0], m = a.shape[1], k = a.shape[2], n = b.shape[2];
  EMBER_DISPATCH_ALL(a.dtype, "matmul", [&] {
    using T = scalar_t;
    if constexpr (std::is_same_v<T, bool>) {
      throw DTypeError("matmul: bool tensors are not supported");
    } else {
      const T* pa = a.ptr<T>();
      const T* pb = b.ptr<T>();
      T* pc = out.ptr<T>();
      auto one = [&](int64_t i) {
        if constexpr (std::is_floating_point_v<T>) {
          gemm<T>(m, n, k, T(1), pa + i * a.strides[0], a.strides[1], a.strides[2], pb + i * b.strides[0],
                  b.strides[1], b.strides[2], T(0), pc + i * out.strides[0], out.strides[1], out.strides[2]);
        } else {  // the ops layer passes contiguous tensors
          integer_gemm(pc + i * m * n, pa + i * m * k, pb + i * k * n, m, k, n);
        }
      };
      const bool small = m * n * k < kSmallMatrix;
      parallel_for(0, batch, small ? 1 : batch, [&](int64_t b0, int64_t b1) {
        for (int64_t i = b0; i < b1; ++i) one(i);
      });
    }
  });
}

}  // namespace ember::kernels::cpu
