// A C++ number passed to an op (`t + 1`, `fill_(t, 0.5)`): a "wrapped number"
// in the terms of Note [Type promotion]. It remembers whether it was a
// bool, an integer or a floating value, which decides the result dtype.
#pragma once

#include <cstdint>
#include <type_traits>

#include "ember/core/dtype.h"

namespace ember {

class Scalar {
 public:
  Scalar() : Scalar(int64_t{0}) {}
  Scalar(bool v) : kind_(DType::Bool), i_(v), d_(v) {}
  template <typename T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  Scalar(T v) : kind_(DType::Int64), i_(static_cast<int64_t>(v)), d_(static_cast<double>(v)) {}
  template <typename T, std::enable_if_t<std::is_floating_point_v<T>, int> = 0>
  Scalar(T v) : kind_(DType::Float64), i_(saturate(static_cast<double>(v))), d_(static_cast<double>(v)) {}

  // Bool, Int64 or Float64: the category this number was written in.
  DType kind() const { return kind_; }
  bool is_floating() const { return kind_ == DType::Float64; }
  double to_double() const { return d_; }
  int64_t to_int() const { return i_; }
  template <typename T>
  T to() const {
    if constexpr (std::is_floating_point_v<T>) return static_cast<T>(d_);
    else if constexpr (std::is_same_v<T, bool>) return kind_ == DType::Float64 ? d_ != 0.0 : i_ != 0;
    else return static_cast<T>(i_);
  }

 private:
  // double -> int64 without undefined behaviour: NaN is 0, out of range clamps.
  static int64_t saturate(double v) {
    if (!(v == v)) return 0;
    if (v >= 9.2233720368547758e18) return INT64_MAX;
    if (v <= -9.2233720368547758e18) return INT64_MIN;
    return static_cast<int64_t>(v);
  }
  DType kind_;
  int64_t i_;
  double d_;
};

}  // namespace ember
