// CPU index_select / index_add (its adjoint) and gather / scatter_add (its
// adjoint). Index values are checked here, where they are read: an index out
// of range throws IndexError instead of reading or writing out of bounds.
#include "cpu_backend.h"
#include "loops.h"

namespace ember::kernels::cpu {

namespace {
void check_index(int64_t idx, int64_t size, const char* op, int64_t dim) {
  EMBER_CHECK(idx >= 0 && idx < size, IndexError, op, ": index ", idx, " is out of range for dim ", dim,
              " of size ", size);
}

// out and a contiguous; out's dim has index.numel() entries.
template <typename T>
void index_select_impl(const TensorView& out, const TensorView& a, int64_t dim, const int64_t* index) {
  auto src = split_at(a.shape, dim);
  const int64_t n_idx = out.shape[dim];
  const T* pa = a.ptr<T>();
  T* po = out.ptr<T>();
  for (int64_t j = 0; j < n_idx; ++j) check_index(index[j], src.size, "index_select", dim);
  for (int64_t o = 0; o < src.outer; ++o)
    for (int64_t j = 0; j < n_idx; ++j) {
      const T* from = pa + (o * src.size + index[j]) * src.inner;
      T* to = po + (o * n_idx + j) * src.inner;
      std::copy(from, from + src.inner, to);
    }
}
}  // namespace

void CpuBackend::index_select(const ExecContext&, const TensorView& out, const TensorView& a, int64_t dim,
                              const TensorView& index) {
  EMBER_DISPATCH_ALL(a.dtype, "index_select",
                     [&] { index_select_impl<scalar_t>(out, a, dim, index.ptr<int64_t>()); });
}

void CpuBackend::index_add(const ExecContext&, const TensorView& out, int64_t dim, const TensorView& index,
                           const TensorView& src) {
  EMBER_DISPATCH_ALL(out.dtype, "index_add", [&] {
    if constexpr (!std::is_same_v<scalar_t, bool>) {
      auto dst = split_at(out.shape, dim);
      const int64_t n_idx = src.shape[dim];
      const int64_t* idx = index.ptr<int64_t>();
      for (int64_t j = 0; j < n_idx; ++j) check_index(idx[j], dst.size, "index_add", dim);
      const scalar_t* ps = src.ptr<scalar_t>();
      scalar_t* po = out.ptr<scalar_t>();
      for (int64_t o = 0; o < dst.outer; ++o)
        for (int64_t j = 0; j < n_idx; ++j) {
          scalar_t* to = po + (o * dst.size + idx[j]) * dst.inner;
          const scalar_t* from = ps + (o * n_idx + j) * dst.inner;
          for (int64_t i = 0; i < dst.inner; ++i) to[i] += from[i];
        }
    } else {
      throw DTypeError("index_add: bool tensors are not supported");
    }
  });
}

void CpuBackend::gather(const ExecContext&, const TensorView& out, const TensorView& a, int64_t dim,
                        const TensorView& index) {
  // Walk out's shape with a's strides, then jump along dim by the index.
  Strides a_strides = a.strides;
  a_strides[dim] = 0;
  const int64_t a_size = a.shape[dim], a_step = a.strides[dim];
  EMBER_DISPATCH_ALL(a.dtype, "gather", [&] {
    scalar_t* po = out.ptr<scalar_t>();
    const scalar_t* pa = a.ptr<scalar_t>();
    const int64_t* pi = index.ptr<int64_t>();
    for_each_row<3>(out.shape, {&out.strides, &index.strides, &a_strides}, [&](int64_t n, auto off, auto st) {
      for (int64_t i = 0; i < n; ++i) {
        int64_t idx = pi[off[1] + i * st[1]];
        check_index(idx, a_size, "gather", dim);
        po[off[0] + i * st[0]] = pa[off[2] + i * st[2] + idx * a_step];
      }
    });
  });
}

void CpuBackend::scatter_add(const ExecContext&, const TensorView& out, int64_t dim, const TensorView& index,
                             const TensorView& src) {
  Strides o_strides = out.strides;
  o_strides[dim] = 0;
  const int64_t o_size = out.shape[dim], o_step = out.strides[dim];
  EMBER_DISPATCH_ALL(out.dtype, "scatter_add", [&] {
    if constexpr (!std::is_same_v<scalar_t, bool>) {
      scalar_t* po = out.ptr<scalar_t>();
      const scalar_t* ps = src.ptr<scalar_t>();
      const int64_t* pi = index.ptr<int64_t>();
      for_each_row<3>(index.shape, {&o_strides, &index.strides, &src.strides}, [&](int64_t n, auto off, auto st) {
        for (int64_t i = 0; i < n; ++i) {
          int64_t idx = pi[off[1] + i * st[1]];
          check_index(idx, o_size, "scatter_add", dim);
          po[off[0] + i * st[0] + idx * o_step] += ps[off[2] + i * st[2]];
        }
      });
    } else {
      throw DTypeError("scatter_add: bool tensors are not supported");
    }
  });
}

}  // namespace ember::kernels::cpu
