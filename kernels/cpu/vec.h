// Short SIMD vectors for the CPU kernels that the compiler will not
// vectorize by itself: a sum that must keep a fixed order, and exp.
//
// Note [Portable SIMD with vector extensions]
// GCC and Clang let a type hold N values side by side
// (`float __attribute__((vector_size(64)))` is 16 floats), with +, -, *, /,
// comparisons and ?: working lane by lane. The compiler maps such a vector
// onto whatever the target has: one zmm register with AVX-512, two ymm with
// AVX2, four xmm with plain x86-64. Unlike intrinsics, the same source then
// builds everywhere; unlike a plain loop, nothing depends on the
// auto-vectorizer (which may not reorder a floating-point sum, and whose SLP
// half is off on GCC 12, Note [GCC 12 AVX-512 SLP miscompile]).
//
// Each lane computes what the source says, in the order it says, so a
// result never depends on where the thread pool cut the work (Note
// [Deterministic parallel kernels]). Between builds for different
// instruction sets the last bit may differ: GCC's default
// -ffp-contract=fast fuses a * b + c into one FMA instruction where the
// target has one, as it does in any other C++ code.
//
// Include it only from kernel sources built with the project's flags, never
// under a `#pragma GCC target(...)` (the GEMM micro-kernel files): these
// inline functions may be emitted out of line (at -O0, say), and the linker
// keeps one copy for the whole program, which must not use instructions
// other files' CPUs may lack (Note [Micro-kernel per instruction set]).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#ifdef __AVX512F__
#include <immintrin.h>
#endif

namespace ember::kernels::cpu::vec {

using f32x8 = float __attribute__((vector_size(32)));
using f32x16 = float __attribute__((vector_size(64)));
using f64x8 = double __attribute__((vector_size(64)));
using i32x16 = int32_t __attribute__((vector_size(64)));

// Loads and stores through memcpy: no alignment needed, and no aliasing
// questions; the compiler turns them into single unaligned moves.
template <typename V, typename T>
V load(const T* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <typename V, typename T>
void store(T* p, V v) {
  std::memcpy(p, &v, sizeof v);
}

// float -> double, 8 lanes: exact, so any instruction gives the same bits.
// GCC 12 lowers the portable __builtin_convertvector of 8 lanes into four
// 4-lane conversions and shuffles; with AVX-512, cvt8 uses one vcvtps2pd.
// (The zero-masking form, because the plain intrinsic's undefined
// pass-through lanes make GCC 12 warn.)
inline f64x8 cvt8(f32x8 v) {
#ifdef __AVX512F__
  return reinterpret_cast<f64x8>(_mm512_maskz_cvtps_pd(0xFF, reinterpret_cast<__m256>(v)));
#else
  return __builtin_convertvector(v, f64x8);
#endif
}
inline f64x8 widen(const float* p) { return cvt8(load<f32x8>(p)); }
inline f64x8 widen_low(f32x16 v) { return cvt8(__builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7)); }
inline f64x8 widen_high(f32x16 v) { return cvt8(__builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15)); }

// The lanes of v added in lane order (0 + 1 + ... + 7).
inline double sum_lanes(f64x8 v) {
  double s = v[0];
  for (int i = 1; i < 8; ++i) s += v[i];
  return s;
}

// 8 values from p as doubles (exact).
inline f64x8 load8_as_double(const float* p) { return widen(p); }
inline f64x8 load8_as_double(const double* p) { return load<f64x8>(p); }

// A sum in double of runs of values, or of term(a[i], b[i]) for two runs
// read side by side: 16 values at a time into two 8-lane accumulators, the
// rest of each run into a scalar one. A single serial double sum waits on
// each add's latency (four cycles a value); this keeps sixteen adds in
// flight. The order depends only on the lengths of the runs added, so the
// result does not depend on how a caller's threads were split (Note
// [Deterministic parallel kernels]). term takes doubles or f64x8 vectors.
struct LaneSum {
  f64x8 acc0 = {}, acc1 = {};
  double tail = 0;
  template <typename T, typename Term>
  void add(const T* a, const T* b, int64_t n, Term term) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
      acc0 += term(load8_as_double(a + i), load8_as_double(b + i));
      acc1 += term(load8_as_double(a + i + 8), load8_as_double(b + i + 8));
    }
    for (; i + 8 <= n; i += 8) acc0 += term(load8_as_double(a + i), load8_as_double(b + i));
    for (; i < n; ++i) tail += term(double(a[i]), double(b[i]));
  }
  template <typename T>
  void add(const T* a, int64_t n) {
    add(a, a, n, [](auto v, auto) { return v; });
  }
  double total() const { return sum_lanes(acc0) + sum_lanes(acc1) + tail; }
};

inline float max_lanes(f32x16 v) {
  float m = v[0];
  for (int i = 1; i < 16; ++i) m = v[i] > m ? v[i] : m;
  return m;
}

// exp of 16 floats at once, within 1 ulp of the correctly rounded value (checked
// against a double exp over the whole float range in tests/test_ops_forward.cpp).
//
// Cephes' method: write x = n ln2 + r with n an integer and |r| <= ln2 / 2,
// so exp(x) = 2^n exp(r). exp(r) on that small range is a degree-7
// polynomial; 2^n is built directly from its exponent bits. Subtracting n ln2
// in two parts (ln2 = C1 + C2, C1 with few mantissa bits so n * C1 is exact)
// keeps r accurate. Scaling by 2^n as two halves, 2^(n/2) * 2^(n - n/2),
// lets results below FLT_MIN come out as denormals, as std::exp's do.
inline f32x16 exp(f32x16 x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kC1 = 0.693359375f, kC2 = -2.12194440e-4f;
  constexpr float kHi = 88.7228394f;   // the first float whose exp overflows
  constexpr float kLo = -103.972084f;  // exp below this rounds to 0
  // Clamped, and NaN replaced by 0, so that the integer steps below only
  // ever see small values (NaN lanes are put back at the end).
  const f32x16 xc = x < kLo ? kLo : (x > kHi ? kHi : (x == x ? x : 0.0f));
  // n = floor(x log2e + 1/2): round to nearest (the float->int conversion
  // truncates toward zero, so step down where that rounded up).
  const f32x16 t = xc * kLog2e + 0.5f;
  i32x16 n = __builtin_convertvector(t, i32x16);
  n += __builtin_convertvector(n, f32x16) > t;  // a true comparison is -1
  const f32x16 fn = __builtin_convertvector(n, f32x16);
  const f32x16 r = xc - fn * kC1 - fn * kC2;
  f32x16 p = r * 1.9875691500e-4f + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  // Each half in [-75, 64], the exponent of a normal float.
  const i32x16 n1 = n / 2, n2 = n - n1;
  f32x16 s1, s2;
  const i32x16 b1 = (n1 + 127) << 23, b2 = (n2 + 127) << 23;
  std::memcpy(&s1, &b1, sizeof s1);
  std::memcpy(&s2, &b2, sizeof s2);
  f32x16 y = p * s1 * s2;
  y = x > kHi ? std::numeric_limits<float>::infinity() : y;
  y = x < kLo ? 0.0f : y;
  return x != x ? x : y;  // NaN stays NaN
}

}  // namespace ember::kernels::cpu::vec
