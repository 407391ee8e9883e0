// CPU batched matmul for cpu:ember (our packed GEMM) and cpu:eigen (Eigen's):
// floating types go through the GEMM on strided views of our memory, no
// copies; integer types use a plain triple loop.
#include "cpu_backend.h"
#include "loops.h"
#include "ember/kernels/gemm.h"

namespace ember::kernels::cpu {

namespace {

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

void batched_gemm(const TensorView& out, const TensorView& a, const TensorView& b, GemmFlavor flavor) {
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
          auto* product = flavor == GemmFlavor::Eigen ? &gemm_eigen<T> : &gemm<T>;
          product(m, n, k, T(1), pa + i * a.strides[0], a.strides[1], a.strides[2], pb + i * b.strides[0],
                  b.strides[1], b.strides[2], T(0), pc + i * out.strides[0], out.strides[1], out.strides[2]);
        } else {  // the ops layer passes contiguous tensors
          integer_gemm(pc + i * m * n, pa + i * m * k, pb + i * k * n, m, k, n);
        }
      };
      for_each_gemm(batch, m * n * k, one);
    }
  });
}

void CpuBackend::matmul(const ExecContext&, const TensorView& out, const TensorView& a, const TensorView& b) {
  batched_gemm(out, a, b, GemmFlavor::Ember);
}

void EigenBackend::matmul(const ExecContext&, const TensorView& out, const TensorView& a, const TensorView& b) {
  batched_gemm(out, a, b, GemmFlavor::Eigen);
}

}  // namespace ember::kernels::cpu
