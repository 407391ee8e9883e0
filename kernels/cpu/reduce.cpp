// CPU reductions (sum, max, min, argmax, argmin) and softmax.
//
// A reduction walks the input once in its own memory order, adding each
// element into an accumulator buffer laid out like the output, where the
// reduced dims get stride 0 (so every element of a reduced group lands on
// the same slot). Floating sums accumulate in double.
//
// On the thread pool (Note [Deterministic parallel kernels]): a reduction to
// one value sums fixed-size blocks and combines them in block order; any
// other reduction gives each thread whole output slots; softmax and
// argmax/argmin give each thread whole rows.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <type_traits>
#include <vector>

#include "cpu_backend.h"
#include "loops.h"
#include "vec.h"

namespace ember::kernels::cpu {

namespace {

template <typename T>
using acc_type = std::conditional_t<std::is_floating_point_v<T>, double, std::conditional_t<std::is_same_v<T, bool>, int64_t, T>>;

// Strides into a contiguous buffer of out's shape, 0 along reduced dims.
Strides accumulator_strides(const TensorView& out, const TensorView& a) {
  Strides s = contiguous_strides(out.shape);
  for (size_t d = 0; d < s.size(); ++d)
    if (out.shape[d] != a.shape[d]) s[d] = 0;
  return s;
}

// A full reduction (to one value) cuts the input into blocks of this many
// elements, reduces each block, then combines the block results in order.
// The block size is fixed, not the thread count's business, so the result
// is the same at any thread count (Note [Deterministic parallel kernels]).
constexpr int64_t kReduceBlock = 32768;

// Folds n elements x[0], x[stride], ... into r. One accumulator would make
// every addition wait for the previous one (a chain of 4-cycle latencies);
// a contiguous row is instead spread over kLanes independent accumulators
// (element i into lane i % kLanes) that are combined in lane order at the
// end. The order is fixed, so the result does not depend on threads either.
constexpr int64_t kLanes = 8;

// A sum of floating values, accumulated in double. Its own type (not a
// lambda) so that reduce_row can recognise it and take the SIMD path.
struct SumDouble {
  double operator()(double x, double y) const { return x + y; }
};

// The floating sum of a contiguous row with SIMD vectors: four vectors of
// 8 double lanes, element i into lane i % 32, the lanes combined in order
// at the end (Note [Portable SIMD with vector extensions]). Four vectors,
// not one, for the same reason as kLanes: independent chains of additions.
template <typename T>
double sum_row_simd(double r, const T* x, int64_t n) {
  vec::f64x8 acc[4] = {};
  const int64_t full = n / 32 * 32;
  for (int64_t i = 0; i < full; i += 32) {
    if constexpr (std::is_same_v<T, float>) {
      for (int j = 0; j < 4; ++j) acc[j] += vec::widen(x + i + 8 * j);
    } else {
      for (int j = 0; j < 4; ++j) acc[j] += vec::load<vec::f64x8>(x + i + 8 * j);
    }
  }
  for (int j = 0; j < 4; ++j) r += vec::sum_lanes(acc[j]);
  for (int64_t i = full; i < n; ++i) r += double(x[i]);
  return r;
}

template <typename T, typename Acc, typename Combine>
Acc reduce_row(Acc r, const T* x, int64_t n, int64_t stride, Combine combine) {
  if constexpr (std::is_same_v<Combine, SumDouble> && (std::is_same_v<T, float> || std::is_same_v<T, double>)) {
    if (stride == 1 && n >= 32) return sum_row_simd(r, x, n);
  }
  if (stride != 1 || n < 4 * kLanes) {
    for (int64_t i = 0; i < n; ++i) r = combine(r, Acc(x[i * stride]));
    return r;
  }
  Acc lane[kLanes];
  for (int64_t j = 0; j < kLanes; ++j) lane[j] = Acc(x[j]);
  const int64_t full = n / kLanes * kLanes;
  for (int64_t i = kLanes; i < full; i += kLanes)
    for (int64_t j = 0; j < kLanes; ++j) lane[j] = combine(lane[j], Acc(x[i + j]));
  for (int64_t j = 0; j < kLanes; ++j) r = combine(r, lane[j]);
  for (int64_t i = full; i < n; ++i) r = combine(r, Acc(x[i]));
  return r;
}

template <typename T, typename Acc, typename Combine>
Acc reduce_all(const TensorView& a, Acc init, Combine combine) {
  const RowSpace<1> space = merge_dims<1>(a.shape, {&a.strides});
  const int64_t blocks = (space.total + kReduceBlock - 1) / kReduceBlock;
  // Not std::vector: for Acc = bool that packs the slots into shared words,
  // and threads writing neighbouring slots would race.
  std::unique_ptr<Acc[]> partial(new Acc[blocks]);
  std::fill(partial.get(), partial.get() + blocks, init);
  const T* pa = a.ptr<T>();
  parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t blk = b0; blk < b1; ++blk) {
      Acc r = init;
      auto row = [&](int64_t n, auto off, auto st) {
        r = reduce_row<T>(r, pa + off[0], n, st[0], combine);
      };
      walk_rows(space, blk * kReduceBlock, std::min(space.total, (blk + 1) * kReduceBlock), row);
      partial[blk] = r;
    }
  });
  Acc r = init;
  for (int64_t b = 0; b < blocks; ++b) r = combine(r, partial[b]);
  return r;
}

// Whether the reduced dims nearest to `dim` on either side (skipping
// size-1 dims) would merge into one row if `dim` were absent: both reduced
// (accumulator stride 0) and contiguous with each other in a.
bool merges_without_dim(const TensorView& a, const Strides& acc_strides, int64_t dim) {
  int64_t prev = dim - 1, next = dim + 1;
  const auto rank = static_cast<int64_t>(a.shape.size());
  while (prev >= 0 && a.shape[prev] == 1) --prev;
  while (next < rank && a.shape[next] == 1) ++next;
  if (prev < 0 || next >= rank) return false;
  return acc_strides[prev] == 0 && acc_strides[next] == 0 && a.strides[prev] == a.strides[next] * a.shape[next];
}

template <typename T, typename Acc, typename Combine>
void reduce_into(const TensorView& out, const TensorView& a, Acc init, Combine combine) {
  // (Not std::vector: for Acc = bool that is a packed bitset without data().)
  const int64_t n_out = numel(out.shape);
  std::unique_ptr<Acc[]> acc(new Acc[n_out]);
  std::fill(acc.get(), acc.get() + n_out, init);
  Strides acc_strides = accumulator_strides(out, a);
  const T* pa = a.ptr<T>();
  if (n_out == 1) {
    acc[0] = reduce_all<T>(a, init, combine);
  } else {
    // Threads take slices of one kept dim (the largest), so each output slot
    // is reduced by one thread, in the same order as on one thread.
    int64_t dim = -1;
    for (size_t d = 0; d < a.shape.size(); ++d)
      if (acc_strides[d] != 0 && (dim < 0 || a.shape[d] > a.shape[dim])) dim = static_cast<int64_t>(d);
    const int64_t per_slice = numel(a.shape) / std::max<int64_t>(1, a.shape[dim]);
    // A slice one index wide drops `dim`, and then the reduced dims on either
    // side of it may merge into one longer row, which reduce_row would fold
    // in another order than a wider slice does. Where that can happen
    // (permuted inputs), slices are always taken one index at a time, so
    // the order never depends on how the range was cut into chunks.
    const bool merges_across = merges_without_dim(a, acc_strides, dim);
    parallel_for(0, a.shape[dim], kParallelGrain / std::max<int64_t>(1, per_slice), [&](int64_t s0, int64_t s1) {
      const int64_t step = merges_across ? 1 : s1 - s0;
      for (int64_t s = s0; s < s1; s += step) {
        Shape slice = a.shape;
        slice[dim] = step;
        Acc* acc0 = acc.get() + s * acc_strides[dim];
        const T* a0 = pa + s * a.strides[dim];
        for_each_row<2>(slice, {&acc_strides, &a.strides}, [&](int64_t n, auto off, auto st) {
          Acc* pacc = acc0 + off[0];
          const T* x = a0 + off[1];
          if (st[0] == 0) {  // the whole row reduces into one slot
            *pacc = reduce_row<T>(*pacc, x, n, st[1], combine);
          } else {
            for (int64_t i = 0; i < n; ++i) pacc[i * st[0]] = combine(pacc[i * st[0]], Acc(x[i * st[1]]));
          }
        });
      }
    });
  }
  // Write the accumulators into out (which may be strided).
  T* po = out.ptr<T>();
  Strides dense = contiguous_strides(out.shape);
  const Acc* src = acc.get();
  parallel_for_each_row<2>(out.shape, {&out.strides, &dense}, [&](int64_t n, auto off, auto st) {
    for (int64_t i = 0; i < n; ++i) po[off[0] + i * st[0]] = static_cast<T>(src[off[1] + i * st[1]]);
  });
}

template <typename T>
bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) return std::isnan(v);
  else return false;
}

template <typename T>
T lowest() {
  if constexpr (std::is_floating_point_v<T>) return -std::numeric_limits<T>::infinity();
  else return std::numeric_limits<T>::lowest();
}
template <typename T>
T highest() {
  if constexpr (std::is_floating_point_v<T>) return std::numeric_limits<T>::infinity();
  else return std::numeric_limits<T>::max();
}

// For argmax/argmin: scans the reduced dim for each output element.
template <typename T, bool IsMax>
void arg_reduce(const TensorView& out, const TensorView& a) {
  int64_t dim = -1;
  for (size_t d = 0; d < out.shape.size(); ++d)
    if (out.shape[d] != a.shape[d]) dim = static_cast<int64_t>(d);
  int64_t* po = out.ptr<int64_t>();
  const T* pa = a.ptr<T>();
  const int64_t len = dim < 0 ? 1 : a.shape[dim];
  const int64_t step = dim < 0 ? 0 : a.strides[dim];
  parallel_for_each_row<2>(out.shape, {&out.strides, &a.strides}, [&](int64_t n, auto off, auto st) {
    for (int64_t i = 0; i < n; ++i) {
      const T* x = pa + off[1] + i * st[1];
      int64_t best = 0;
      T best_v = x[0];
      for (int64_t k = 1; k < len && !is_nan(best_v); ++k) {
        T v = x[k * step];
        bool better = IsMax ? (v > best_v) : (v < best_v);
        if (better || is_nan(v)) {  // NaN wins, as in PyTorch
          best = k;
          best_v = v;
        }
      }
      po[off[0] + i * st[0]] = best;
    }
  });
}

// softmax (or log_softmax) of one contiguous float row, 16 lanes at a time
// with vec::exp, the same three passes as the general loop in softmax()
// below: the max, the exps and their sum (in double, lane i % 16 of two
// vectors), then the scaling. Rows are cut into vectors the same way
// whatever the thread count. Returns false (and does nothing) for double
// rows, which keep the general loop and std::exp.
template <typename T>
bool softmax_row_simd(T* y, const T* x, int64_t n, bool log) {
  if constexpr (!std::is_same_v<T, float>) {
    return false;
  } else {
    using vec::f32x16;
    using vec::f64x8;
    const int64_t full = n / 16 * 16;
    float mx = -std::numeric_limits<float>::infinity();
    if (full > 0) {
      f32x16 m = vec::load<f32x16>(x);
      for (int64_t i = 16; i < full; i += 16) {
        const f32x16 v = vec::load<f32x16>(x + i);
        m = v > m ? v : m;
      }
      mx = vec::max_lanes(m);
    }
    for (int64_t i = full; i < n; ++i) mx = std::max(mx, x[i]);
    // No special case for an infinite max: a row with +inf, or of all -inf,
    // meets inf - inf = NaN and comes out all NaN, as in PyTorch.

    f64x8 acc_lo = {}, acc_hi = {};
    for (int64_t i = 0; i < full; i += 16) {
      const f32x16 e = vec::exp(vec::load<f32x16>(x + i) - mx);
      if (!log) vec::store(y + i, e);
      acc_lo += vec::widen_low(e);
      acc_hi += vec::widen_high(e);
    }
    double sum = vec::sum_lanes(acc_lo) + vec::sum_lanes(acc_hi);
    if (full < n) {  // the tail, through one padded vector
      f32x16 t;
      for (int64_t k = 0; k < 16; ++k) t[k] = full + k < n ? x[full + k] - mx : -std::numeric_limits<float>::infinity();
      const f32x16 e = vec::exp(t);
      for (int64_t k = 0; full + k < n; ++k) {
        if (!log) y[full + k] = e[k];
        sum += double(e[k]);
      }
    }
    if (log) {
      const auto lse = static_cast<float>(std::log(sum));
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] - mx - lse;
    } else {
      const auto inv = static_cast<float>(1.0 / sum);
      for (int64_t i = 0; i < n; ++i) y[i] *= inv;
    }
    return true;
  }
}

}  // namespace

void CpuBackend::reduce(const ExecContext&, ReduceOp op, const TensorView& out, const TensorView& a) {
  EMBER_DISPATCH_ALL(a.dtype, "reduce", [&] {
    using T = scalar_t;
    using Acc = acc_type<T>;
    switch (op) {
      case ReduceOp::Sum:
        if constexpr (std::is_same_v<Acc, double>)
          return reduce_into<T, Acc>(out, a, Acc(0), SumDouble{});
        else
          return reduce_into<T, Acc>(out, a, Acc(0), [](Acc x, Acc y) { return Acc(x + y); });
      case ReduceOp::Max:  // NaN propagates: once r is NaN, nothing replaces it
        return reduce_into<T, T>(out, a, lowest<T>(), [](T r, T x) { return (x > r || is_nan(x)) ? x : r; });
      case ReduceOp::Min:
        return reduce_into<T, T>(out, a, highest<T>(), [](T r, T x) { return (x < r || is_nan(x)) ? x : r; });
      case ReduceOp::ArgMax: return arg_reduce<T, true>(out, a);
      case ReduceOp::ArgMin: return arg_reduce<T, false>(out, a);
    }
  });
}

void CpuBackend::softmax(const ExecContext&, const TensorView& out, const TensorView& a, int64_t dim,
                         bool log) {
  EMBER_DISPATCH_FLOATING(a.dtype, "softmax", [&] {
    using T = scalar_t;
    // Plain copies of the split: Clang before 16 cannot capture structured
    // bindings in a lambda (C++20's P1091), and scripts/fuzz.sh uses clang-14.
    const auto [outer_, size_, inner_] = split_at(a.shape, dim);
    const int64_t outer = outer_, size = size_, inner = inner_;
    const T* x = a.ptr<T>();
    T* y = out.ptr<T>();
    // One row (fixed o and i) at a time; rows are independent, so threads take whole rows.
    parallel_for(0, outer * inner, kParallelGrain / std::max<int64_t>(1, size), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t o = r / inner, i = r % inner;
        const T* xr = x + o * size * inner + i;
        T* yr = y + o * size * inner + i;
        if (inner == 1 && softmax_row_simd(yr, xr, size, log)) continue;
        T mx = -std::numeric_limits<T>::infinity();
        for (int64_t k = 0; k < size; ++k) mx = std::max(mx, xr[k * inner]);
        // An infinite max gives NaN rows, as in PyTorch (see softmax_row_simd).
        // One exp per element, in T (a float exp is several times cheaper
        // than a double one); their sum is accumulated in double. softmax
        // keeps the exps in y and scales them afterwards.
        double sum = 0;
        if (log) {
          for (int64_t k = 0; k < size; ++k) sum += std::exp(xr[k * inner] - mx);
          T lse = static_cast<T>(std::log(sum));
          for (int64_t k = 0; k < size; ++k) yr[k * inner] = xr[k * inner] - mx - lse;
        } else {
          for (int64_t k = 0; k < size; ++k) sum += (yr[k * inner] = std::exp(xr[k * inner] - mx));
          T inv = static_cast<T>(1.0 / sum);
          for (int64_t k = 0; k < size; ++k) yr[k * inner] *= inv;
        }
      }
    });
  });
}

}  // namespace ember::kernels::cpu
