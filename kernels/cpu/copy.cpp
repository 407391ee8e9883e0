// CPU copy (with dtype conversion), host transfers, fill and arange.
#include <cstring>

#include "cpu_backend.h"
#include "loops.h"

namespace ember::kernels::cpu {

template <typename To, typename From>
static To convert(From v) {
  if constexpr (std::is_same_v<To, bool>) return v != From(0);
  else return static_cast<To>(v);
}

void CpuBackend::copy(const ExecContext&, const TensorView& dst, const TensorView& src) {
  EMBER_DISPATCH_ALL(dst.dtype, "copy", [&] {
    using dst_t = scalar_t;
    EMBER_DISPATCH_ALL(src.dtype, "copy", [&] {
      using src_t = scalar_t;
      auto* d = dst.ptr<dst_t>();
      const auto* s = src.ptr<src_t>();
      parallel_for_each_row<2>(dst.shape, {&dst.strides, &src.strides}, [&](int64_t n, auto off, auto st) {
        dst_t* dp = d + off[0];
        const src_t* sp = s + off[1];
        if (st[0] == 1 && st[1] == 1) {
          if constexpr (std::is_same_v<dst_t, src_t>) std::memcpy(dp, sp, n * sizeof(dst_t));
          else for (int64_t i = 0; i < n; ++i) dp[i] = convert<dst_t>(sp[i]);
        } else {
          for (int64_t i = 0; i < n; ++i) dp[i * st[0]] = convert<dst_t>(sp[i * st[1]]);
        }
      });
    });
  });
}

void CpuBackend::copy_from_host(const ExecContext&, void* dst, const void* host_src, size_t nbytes) {
  if (nbytes) std::memcpy(dst, host_src, nbytes);
}
void CpuBackend::copy_to_host(const ExecContext&, void* host_dst, const void* src, size_t nbytes) {
  if (nbytes) std::memcpy(host_dst, src, nbytes);
}

void CpuBackend::fill(const ExecContext&, const TensorView& dst, Scalar value) {
  EMBER_DISPATCH_ALL(dst.dtype, "fill", [&] {
    const scalar_t v = value.to<scalar_t>();
    auto* d = dst.ptr<scalar_t>();
    parallel_for_each_row<1>(dst.shape, {&dst.strides}, [&](int64_t n, auto off, auto st) {
      for (int64_t i = 0; i < n; ++i) d[off[0] + i * st[0]] = v;
    });
  });
}

void CpuBackend::arange(const ExecContext&, const TensorView& out, double start, double step) {
  EMBER_DISPATCH_ALL(out.dtype, "arange", [&] {
    auto* d = out.ptr<scalar_t>();
    for (int64_t i = 0; i < out.shape[0]; ++i) d[i] = convert<scalar_t>(start + static_cast<double>(i) * step);
  });
}

}  // namespace ember::kernels::cpu
