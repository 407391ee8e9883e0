// CUDA index_select / index_add (its adjoint) and gather / scatter_add (its
// adjoint). Note [Kernels then launchers] in device.h.
//
// One thread per element of the output (select, gather) or of the source
// (the adds), grid-stride. An index out of range is never read or written
// through: the kernel records it in the device error flag (Note [Device
// error flag]) and skips the element, and the host raises the IndexError at
// its next synchronization. The adds use atomics, since indices may repeat:
// their floating results may then differ in the last bits from run to run.
// Every dtype is taken; bool and uint8 adds go through Note [Byte atomics].
#include <atomic>
#include <cstdint>
#include <type_traits>

#include "launchers.h"

namespace ember::kernels::cuda {

namespace {

// ---- atomics for every dtype the adds take ----

// Note [Byte atomics]
// CUDA has no 8-bit atomicAdd. A bool or uint8 add is a compare-and-swap
// loop on the aligned 32-bit word that holds the byte, changing that byte
// only (bool add is "or", uint8 wraps, as on the CPU). Device allocations
// are 512-byte granular, so the word never leaves its allocation. The
// emulator's allocations under ASan are exact-sized, so there the byte
// itself is updated through std::atomic_ref instead of its word.
template <typename T>
EMBER_DEVICE void atomic_add_byte(T* address, T value) {
#ifdef EMBER_SIMT
  std::atomic_ref<T> ref(*address);
  T old = ref.load();
  while (!ref.compare_exchange_weak(old, static_cast<T>(std::is_same_v<T, bool> ? (old || value) : old + value))) {
  }
#else
  const uintptr_t at = reinterpret_cast<uintptr_t>(address);
  unsigned int* word = reinterpret_cast<unsigned int*>(at & ~uintptr_t(3));
  const unsigned int shift = static_cast<unsigned int>(at & 3) * 8;
  unsigned int old = *word, assumed;
  do {
    assumed = old;
    const unsigned int byte = (assumed >> shift) & 0xFFu;
    const unsigned int sum = std::is_same_v<T, bool> ? unsigned(byte != 0 || value) : (byte + unsigned(value)) & 0xFFu;
    old = atomicCAS(word, assumed, (assumed & ~(0xFFu << shift)) | (sum << shift));
  } while (old != assumed);
#endif
}

template <typename T>
EMBER_DEVICE void atomic_add(T* address, T value) {
  if constexpr (std::is_same_v<T, int64_t>)
    atomicAdd(reinterpret_cast<unsigned long long*>(address), static_cast<unsigned long long>(value));
  else if constexpr (sizeof(T) == 1) atomic_add_byte(address, value);  // bool, uint8
  else atomicAdd(address, value);  // float, double
}

// ---- kernels ----

// out (outer, n_idx, inner) = a (outer, size, inner) picked along the middle dim.
template <typename T>
__global__ void index_select_kernel(T* out, const T* a, const int64_t* index, int64_t n_idx, int64_t size,
                                    int64_t inner, int64_t n, DeviceErrorFlag* flag) {
  EMBER_GRID_STRIDE_LOOP(e, n) {
    const int64_t i = e % inner, j = e / inner % n_idx, o = e / (inner * n_idx);
    const int64_t idx = index[j];
    if (idx < 0 || idx >= size) {
      report_index_error(flag, DeviceErrorCode::IndexSelect, idx, size);
      continue;
    }
    out[e] = a[(o * size + idx) * inner + i];
  }
}

// out (outer, size, inner) += src (outer, n_idx, inner) at the indices.
template <typename T>
__global__ void index_add_kernel(T* out, const T* src, const int64_t* index, int64_t n_idx, int64_t size,
                                 int64_t inner, int64_t n, DeviceErrorFlag* flag) {
  EMBER_GRID_STRIDE_LOOP(e, n) {
    const int64_t i = e % inner, j = e / inner % n_idx, o = e / (inner * n_idx);
    const int64_t idx = index[j];
    if (idx < 0 || idx >= size) {
      report_index_error(flag, DeviceErrorCode::IndexAdd, idx, size);
      continue;
    }
    atomic_add(&out[(o * size + idx) * inner + i], src[e]);
  }
}

// out = a.gather(dim, index): walk out's shape (offsets of out, index, and
// a with its stride along dim zeroed), then step along dim by the index.
template <typename T>
__global__ void gather_kernel(T* out, const T* a, const int64_t* index, Indexer<3> ix, int64_t a_size, int64_t a_step,
                              int64_t n, DeviceErrorFlag* flag) {
  EMBER_GRID_STRIDE_LOOP(e, n) {
    int64_t off[3];
    ix.offsets(e, off);
    const int64_t idx = index[off[1]];
    if (idx < 0 || idx >= a_size) {
      report_index_error(flag, DeviceErrorCode::Gather, idx, a_size);
      continue;
    }
    out[off[0]] = a[off[2] + idx * a_step];
  }
}

// out[index[e]] (along dim) += src[e], walking index's shape.
template <typename T>
__global__ void scatter_add_kernel(T* out, const T* src, const int64_t* index, Indexer<3> ix, int64_t o_size,
                                   int64_t o_step, int64_t n, DeviceErrorFlag* flag) {
  EMBER_GRID_STRIDE_LOOP(e, n) {
    int64_t off[3];
    ix.offsets(e, off);
    const int64_t idx = index[off[1]];
    if (idx < 0 || idx >= o_size) {
      report_index_error(flag, DeviceErrorCode::ScatterAdd, idx, o_size);
      continue;
    }
    atomic_add(&out[off[0] + idx * o_step], src[off[2]]);
  }
}

struct Split {
  int64_t outer = 1, size = 1, inner = 1;
};
Split split_at(const Shape& shape, int64_t dim) {
  Split s;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    if (d < dim) s.outer *= shape[d];
    else if (d == dim) s.size = shape[d];
    else s.inner *= shape[d];
  }
  return s;
}

}  // namespace

// ---- launchers ----

void index_select(const ExecContext& ctx, const TensorView& out, const TensorView& a, int64_t dim,
                  const TensorView& index) {
  const Split src = split_at(a.shape, dim);
  const int64_t n_idx = out.shape[dim], n = out.numel();
  const Shape1d s = shape_for(n);
  EMBER_DISPATCH_ALL(a.dtype, "index_select", [&] {
    launch(index_select_kernel<scalar_t>, s.grid, s.block, 0, ctx.stream, out.ptr<scalar_t>(), a.ptr<scalar_t>(),
           index.ptr<int64_t>(), n_idx, src.size, src.inner, n, error_flag(ctx.device.index));
  });
}

void index_add(const ExecContext& ctx, const TensorView& out, int64_t dim, const TensorView& index,
               const TensorView& src) {
  const Split dst = split_at(out.shape, dim);
  const int64_t n_idx = src.shape[dim], n = src.numel();
  const Shape1d s = shape_for(n);
  EMBER_DISPATCH_ALL(out.dtype, "index_add", [&] {
    launch(index_add_kernel<scalar_t>, s.grid, s.block, 0, ctx.stream, out.ptr<scalar_t>(), src.ptr<scalar_t>(),
           index.ptr<int64_t>(), n_idx, dst.size, dst.inner, n, error_flag(ctx.device.index));
  });
}

void gather(const ExecContext& ctx, const TensorView& out, const TensorView& a, int64_t dim, const TensorView& index) {
  Strides a_strides = a.strides;
  a_strides[dim] = 0;
  const Indexer<3> ix = make_indexer<3>(out.shape, {&out.strides, &index.strides, &a_strides}, "gather");
  const int64_t n = out.numel();
  const Shape1d s = shape_for(n);
  EMBER_DISPATCH_ALL(a.dtype, "gather", [&] {
    launch(gather_kernel<scalar_t>, s.grid, s.block, 0, ctx.stream, out.ptr<scalar_t>(), a.ptr<scalar_t>(),
           index.ptr<int64_t>(), ix, a.shape[dim], a.strides[dim], n, error_flag(ctx.device.index));
  });
}

void scatter_add(const ExecContext& ctx, const TensorView& out, int64_t dim, const TensorView& index,
                 const TensorView& src) {
  Strides o_strides = out.strides;
  o_strides[dim] = 0;
  const Indexer<3> ix = make_indexer<3>(index.shape, {&o_strides, &index.strides, &src.strides}, "scatter_add");
  const int64_t n = index.numel();
  const Shape1d s = shape_for(n);
  EMBER_DISPATCH_ALL(out.dtype, "scatter_add", [&] {
    launch(scatter_add_kernel<scalar_t>, s.grid, s.block, 0, ctx.stream, out.ptr<scalar_t>(), src.ptr<scalar_t>(),
           index.ptr<int64_t>(), ix, out.shape[dim], out.strides[dim], n, error_flag(ctx.device.index));
  });
}

}  // namespace ember::kernels::cuda
