// CUDA copy (with dtype conversion, any strides), fill and arange.
// Note [Kernels then launchers] in device.h.
#include <type_traits>

#include "launchers.h"
#include "runtime.h"

namespace ember::kernels::cuda {

namespace {

// ---- kernels ----

template <typename To, typename From>
EMBER_HD To convert(From v) {
  if constexpr (std::is_same_v<To, bool>) return v != From(0);
  else return static_cast<To>(v);
}

// One element per thread of a grid-stride loop; each side's element found
// through its strides (Note [Strided indexing on the device]).
template <typename To, typename From>
__global__ void copy_kernel(To* dst, const From* src, Indexer<2> ix, int64_t n) {
  EMBER_GRID_STRIDE_LOOP(i, n) {
    int64_t off[2];
    ix.offsets(i, off);
    dst[off[0]] = convert<To>(src[off[1]]);
  }
}

// Both sides dense: index by i, and let the compiler vectorize the loads.
template <typename To, typename From>
__global__ void copy_contiguous_kernel(To* __restrict__ dst, const From* __restrict__ src, int64_t n) {
  EMBER_GRID_STRIDE_LOOP(i, n) dst[i] = convert<To>(src[i]);
}

// A float32 fill of a dense, 16-byte aligned tensor whose size is a
// multiple of 4: 16 bytes per store.
__global__ void fill_float4_kernel(float4* dst, float v, int64_t n4) {
  EMBER_GRID_STRIDE_LOOP(i, n4) dst[i] = make_float4(v, v, v, v);
}

template <typename T>
__global__ void fill_kernel(T* dst, Indexer<1> ix, T v, int64_t n) {
  EMBER_GRID_STRIDE_LOOP(i, n) {
    int64_t off[1];
    ix.offsets(i, off);
    dst[off[0]] = v;
  }
}

template <typename T>
__global__ void arange_kernel(T* out, double start, double step, int64_t n) {
  EMBER_GRID_STRIDE_LOOP(i, n) out[i] = convert<T>(start + static_cast<double>(i) * step);
}

}  // namespace

// ---- launchers ----

void copy(const ExecContext& ctx, const TensorView& dst, const TensorView& src) {
  const int64_t n = dst.numel();
  if (n == 0) return;
  const Indexer<2> ix = make_indexer<2>(dst.shape, {&dst.strides, &src.strides}, "copy");
  if (dst.dtype == src.dtype && all_contiguous(ix))
    return copy_on_device(ctx.device.index, dst.data, src.data, static_cast<size_t>(n) * dtype_size(dst.dtype));
  const Shape1d s = shape_for(n);
  EMBER_DISPATCH_ALL(dst.dtype, "copy", [&] {
    using To = scalar_t;
    EMBER_DISPATCH_ALL(src.dtype, "copy", [&] {
      using From = scalar_t;
      if (all_contiguous(ix))
        launch(copy_contiguous_kernel<To, From>, s.grid, s.block, 0, ctx.stream, dst.ptr<To>(), src.ptr<From>(), n);
      else
        launch(copy_kernel<To, From>, s.grid, s.block, 0, ctx.stream, dst.ptr<To>(), src.ptr<From>(), ix, n);
    });
  });
}

void fill(const ExecContext& ctx, const TensorView& dst, Scalar value) {
  const int64_t n = dst.numel();
  if (n == 0) return;
  const Indexer<1> ix = make_indexer<1>(dst.shape, {&dst.strides}, "fill");
  if (dst.dtype == DType::Float32 && all_contiguous(ix) && n % 4 == 0 &&
      reinterpret_cast<uintptr_t>(dst.data) % 16 == 0) {
    const Shape1d s = shape_for(n / 4);
    return launch(fill_float4_kernel, s.grid, s.block, 0, ctx.stream, static_cast<float4*>(dst.data),
                  value.to<float>(), n / 4);
  }
  const Shape1d s = shape_for(n);
  EMBER_DISPATCH_ALL(dst.dtype, "fill", [&] {
    launch(fill_kernel<scalar_t>, s.grid, s.block, 0, ctx.stream, dst.ptr<scalar_t>(), ix, value.to<scalar_t>(), n);
  });
}

void arange(const ExecContext& ctx, const TensorView& out, double start, double step) {
  const int64_t n = out.numel();
  const Shape1d s = shape_for(n);
  EMBER_DISPATCH_ALL(out.dtype, "arange", [&] {
    launch(arange_kernel<scalar_t>, s.grid, s.block, 0, ctx.stream, out.ptr<scalar_t>(), start, step, n);
  });
}

}  // namespace ember::kernels::cuda
