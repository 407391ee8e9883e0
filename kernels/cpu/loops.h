// The strided N-d loop every CPU elementwise kernel is built on.
//
// for_each_row walks N tensors of one shape together. It first merges
// adjacent dims that are laid out back to back in every tensor (so a
// contiguous tensor becomes one long row), then calls
//     row(n, offsets, inner_strides)
// once per row of the last dim, with each tensor's element offset of the
// row's first element and its stride along the row. The row body is a
// plain typed loop the compiler can vectorize when the strides are 1.
//
// parallel_for_each_row does the same on the thread pool: it cuts the
// elements (in the merged order) into chunks, so a chunk may start or end
// in the middle of a row. The first tensor is the output: each of its
// elements is written by exactly one chunk, so the result does not depend
// on the thread count (Note [Deterministic parallel kernels]).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "ember/core/parallel.h"
#include "ember/core/shape.h"
#include "ember/core/storage.h"

namespace ember::kernels::cpu {

// Below this many elements a loop stays on the calling thread: waking the
// pool costs a few microseconds, about what 32k simple elements take.
constexpr int64_t kParallelGrain = 32768;

// The iteration space after merging dims; sizes[0] is the innermost dim.
template <size_t N>
struct RowSpace {
  std::vector<int64_t> sizes;
  std::vector<std::array<int64_t, N>> strides;  // strides[k][t] = stride of tensor t in dim k
  int64_t total = 0;
};

template <size_t N>
RowSpace<N> merge_dims(const Shape& shape, const std::array<const Strides*, N>& strides) {
  RowSpace<N> r;
  r.total = numel(shape);
  // Coalesce dims, dropping size-1 dims, from the innermost out.
  for (size_t d = shape.size(); d-- > 0;) {
    if (shape[d] == 1) continue;
    std::array<int64_t, N> s;
    for (size_t t = 0; t < N; ++t) s[t] = (*strides[t])[d];
    if (!r.sizes.empty()) {
      bool mergeable = true;
      for (size_t t = 0; t < N; ++t) mergeable &= s[t] == r.strides.back()[t] * r.sizes.back();
      if (mergeable) {
        r.sizes.back() *= shape[d];
        continue;
      }
    }
    r.sizes.push_back(shape[d]);
    r.strides.push_back(s);
  }
  if (r.sizes.empty()) {  // a single element
    r.sizes.push_back(1);
    r.strides.push_back({});
  }
  return r;
}

// Calls row() for the elements [begin, end) of the space (in merged order),
// one piece of a row at a time.
template <size_t N, typename Row>
void walk_rows(const RowSpace<N>& r, int64_t begin, int64_t end, Row& row) {
  const size_t dims = r.sizes.size();
  std::vector<int64_t> counter(dims, 0);  // the multi-index of `begin`
  std::array<int64_t, N> offsets{};
  int64_t rest = begin;
  for (size_t k = 0; k < dims; ++k) {
    counter[k] = rest % r.sizes[k];
    rest /= r.sizes[k];
    for (size_t t = 0; t < N; ++t) offsets[t] += counter[k] * r.strides[k][t];
  }
  for (int64_t pos = begin; pos < end;) {
    const int64_t n = std::min(r.sizes[0] - counter[0], end - pos);
    row(n, offsets, r.strides[0]);
    pos += n;
    if (pos >= end) break;
    // Back to the start of this row, then an odometer step over the outer dims.
    for (size_t t = 0; t < N; ++t) offsets[t] -= counter[0] * r.strides[0][t];
    counter[0] = 0;
    for (size_t k = 1; k < dims; ++k) {
      if (++counter[k] < r.sizes[k]) {
        for (size_t t = 0; t < N; ++t) offsets[t] += r.strides[k][t];
        break;
      }
      counter[k] = 0;
      for (size_t t = 0; t < N; ++t) offsets[t] -= r.strides[k][t] * (r.sizes[k] - 1);
    }
  }
}

template <size_t N, typename Row>
void for_each_row(const Shape& shape, const std::array<const Strides*, N>& strides, Row&& row) {
  if (numel(shape) == 0) return;
  const RowSpace<N> r = merge_dims(shape, strides);
  walk_rows(r, 0, r.total, row);
}

template <size_t N, typename Row>
void parallel_for_each_row(const Shape& shape, const std::array<const Strides*, N>& strides, Row&& row) {
  if (numel(shape) == 0) return;
  const RowSpace<N> r = merge_dims(shape, strides);
  // An output with a stride-0 dim (several positions, one element) must not
  // be written by two threads at once: stay serial.
  bool distinct = true;
  for (size_t k = 0; k < r.sizes.size(); ++k) distinct &= r.sizes[k] == 1 || r.strides[k][0] != 0;
  if (!distinct) return walk_rows(r, 0, r.total, row);
  parallel_for(0, r.total, kParallelGrain, [&](int64_t b, int64_t e) { walk_rows(r, b, e, row); });
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

// Runs f(i) for i in [0, batch), each one GEMM of `macs` multiply-adds:
// small ones side by side, one per thread (each GEMM single-threaded); large
// ones in turn, each GEMM using every thread. Either way each result is the
// same (Note [Deterministic parallel kernels]).
constexpr int64_t kSmallMatrix = int64_t(128) * 128 * 128;
template <typename F>
void for_each_gemm(int64_t batch, int64_t macs, F&& f) {
  parallel_for(0, batch, macs < kSmallMatrix ? 1 : batch, [&](int64_t b0, int64_t b1) {
    for (int64_t i = b0; i < b1; ++i) f(i);
  });
}

// A kernel's temporary buffer of n elements, from the CPU caching allocator
// (Note [CPU caching allocator]), freed at scope exit. Not zeroed.
template <typename T>
class Scratch {
 public:
  explicit Scratch(int64_t n) : bytes_(static_cast<size_t>(n) * sizeof(T)) {
    data_ = static_cast<T*>(cpu_allocator().allocate(bytes_));
  }
  ~Scratch() { cpu_allocator().deallocate(data_, bytes_); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  T* data() const { return data_; }

 private:
  size_t bytes_;
  T* data_;
};

}  // namespace ember::kernels::cpu
