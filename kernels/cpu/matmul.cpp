// CPU batched matmul. Floating types go through Eigen's GEMM on row-major
// maps of our memory (no copy); integer types use a plain triple loop.
#include <Eigen/Core>

#include "cpu_backend.h"

namespace ember::kernels::cpu {

namespace {
template <typename T>
using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

template <typename T>
void gemm(T* c, const T* a, const T* b, int64_t m, int64_t k, int64_t n) {
  if constexpr (std::is_floating_point_v<T>) {
    Eigen::Map<RowMajor<T>> C(c, m, n);
    Eigen::Map<const RowMajor<T>> A(a, m, k), B(b, k, n);
    C.noalias() = A * B;
  } else {
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        T s = 0;
        for (int64_t p = 0; p < k; ++p) s += a[i * k + p] * b[p * n + j];
        c[i * n + j] = s;
      }
  }
}
}  // namespace

void CpuBackend::matmul(const TensorView& out, const TensorView& a, const TensorView& b) {
  const int64_t batch = a.shape[0], m = a.shape[1], k = a.shape[2], n = b.shape[2];
  EMBER_DISPATCH_ALL(a.dtype, "matmul", [&] {
    if constexpr (std::is_same_v<scalar_t, bool>) {
      throw DTypeError("matmul: bool tensors are not supported");
    } else {
      for (int64_t i = 0; i < batch; ++i)
        gemm<scalar_t>(out.ptr<scalar_t>() + i * m * n, a.ptr<scalar_t>() + i * m * k,
                       b.ptr<scalar_t>() + i * k * n, m, k, n);
    }
  });
}

}  // namespace ember::kernels::cpu
