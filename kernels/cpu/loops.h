// The strided N-d loop every CPU elementwise kernel is built on.
//
// for_each_row walks N tensors of one shape together. It first merges
// adjacent dims that are laid out back to back in every tensor (so a
// contiguous tensor becomes one long row), then calls
//     row(n, offsets, inner_strides)
// once per row of the last dim, with each tensor's element offset of the
// row's first element and its stride along the row. The row body is a
// plain typed loop the compiler can vectorize when the strides are 1.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "ember/core/shape.h"

namespace ember::kernels::cpu {

template <size_t N, typename Row>
void for_each_row(const Shape& shape, const std::array<const Strides*, N>& strides, Row&& row) {
  int64_t total = numel(shape);
  if (total == 0) return;
  // Coalesce dims, dropping size-1 dims, from the innermost out.
  std::vector<int64_t> sizes;
  std::vector<std::array<int64_t, N>> st;  // st[k][t] = stride of tensor t in dim k
  for (size_t d = shape.size(); d-- > 0;) {
    if (shape[d] == 1) continue;
    std::array<int64_t, N> s;
    for (size_t t = 0; t < N; ++t) s[t] = (*strides[t])[d];
    if (!sizes.empty()) {
      bool mergeable = true;
      for (size_t t = 0; t < N; ++t) mergeable &= s[t] == st.back()[t] * sizes.back();
      if (mergeable) {
        sizes.back() *= shape[d];
        continue;
      }
    }
    sizes.push_back(shape[d]);
    st.push_back(s);
  }
  if (sizes.empty()) {  // a single element
    sizes.push_back(1);
    st.push_back({});
  }
  // Now sizes[0] is the innermost dim. Iterate the outer dims with a counter.
  const int64_t n = sizes[0];
  const std::array<int64_t, N> inner = st[0];
  std::vector<int64_t> counter(sizes.size(), 0);
  std::array<int64_t, N> offsets{};
  for (int64_t done = 0; done < total; done += n) {
    row(n, offsets, inner);
    for (size_t k = 1; k < sizes.size(); ++k) {  // odometer increment
      if (++counter[k] < sizes[k]) {
        for (size_t t = 0; t < N; ++t) offsets[t] += st[k][t];
        break;
      }
      counter[k] = 0;
      for (size_t t = 0; t < N; ++t) offsets[t] -= st[k][t] * (sizes[k] - 1);
    }
  }
}

// Splits a contiguous shape around `dim` into (outer, size, inner), the
// layout softmax, index_select and friends loop over.
struct OuterDimInner {
  int64_t outer = 1, size = 1, inner = 1;
};
inline OuterDimInner split_at(const Shape& shape, int64_t dim) {
  OuterDimInner r;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    if (d < dim) r.outer *= shape[d];
    else if (d == dim) r.size = shape[d];
    else r.inner *= shape[d];
  }
  return r;
}

}  // namespace ember::kernels::cpu
