// Element types and PyTorch's type-promotion rules.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>

#include "ember/core/error.h"

namespace ember {

enum class DType : uint8_t { Bool, UInt8, Int64, Float32, Float64 };

// Bytes per element. Inline: every allocation and layout check asks.
constexpr size_t dtype_size(DType t) {
  switch (t) {
    case DType::Bool: return 1;
    case DType::UInt8: return 1;
    case DType::Int64: return 8;
    case DType::Float32: return 4;
    case DType::Float64: return 8;
  }
  return 0;
}
const char* dtype_name(DType t);  // "float32", ...
bool is_floating(DType t);
bool is_integral(DType t);  // uint8, int64 (not bool)
std::ostream& operator<<(std::ostream& os, DType t);

// The C++ type of a dtype and back.
template <typename T> struct dtype_of;
template <> struct dtype_of<bool> { static constexpr DType value = DType::Bool; };
template <> struct dtype_of<uint8_t> { static constexpr DType value = DType::UInt8; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::Int64; };
template <> struct dtype_of<float> { static constexpr DType value = DType::Float32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::Float64; };

// The default dtype for floating results (float32, as in PyTorch).
constexpr DType kDefaultFloat = DType::Float32;

// Note [Type promotion]
// result_type follows torch.result_type. Operands fall in three priority
// tiers: tensors with at least one dim, zero-dim tensors, and wrapped C++
// numbers (scalars). The category (bool < integral < floating) of the result
// is the highest category of any operand; within that category, the dtype
// comes from the highest tier that has an operand of that category, taking
// the wider dtype inside a tier. So int64_tensor + 2.5 is float32 (the
// default float), float32_tensor + float64_zero_dim is float32, and
// uint8_tensor + int64_tensor is int64.
enum class Tier : uint8_t { Scalar = 0, ZeroDim = 1, Dimensioned = 2 };
struct PromotionOperand {
  DType dtype;
  Tier tier;
};
DType result_type(const PromotionOperand& a, const PromotionOperand& b);
// The wider of two dtypes regardless of tier (plain promote_types).
DType promote_types(DType a, DType b);

}  // namespace ember

// Note [Dtype dispatch]
// The one place where a runtime dtype becomes a C++ type. The body sees the
// type as `scalar_t`:
//   EMBER_DISPATCH_ALL(t.dtype(), "sum", [&] { sum_kernel<scalar_t>(...); });
#define EMBER_DISPATCH_CASE(enum_value, type, ...) \
  case enum_value: {                               \
    using scalar_t = type;                         \
    return __VA_ARGS__();                          \
  }

#define EMBER_DISPATCH_ALL(dtype, opname, ...)                                          \
  [&] {                                                                                 \
    switch (dtype) {                                                                    \
      EMBER_DISPATCH_CASE(::ember::DType::Bool, bool, __VA_ARGS__)                      \
      EMBER_DISPATCH_CASE(::ember::DType::UInt8, uint8_t, __VA_ARGS__)                  \
      EMBER_DISPATCH_CASE(::ember::DType::Int64, int64_t, __VA_ARGS__)                  \
      EMBER_DISPATCH_CASE(::ember::DType::Float32, float, __VA_ARGS__)                  \
      EMBER_DISPATCH_CASE(::ember::DType::Float64, double, __VA_ARGS__)                 \
    }                                                                                   \
    throw ::ember::DTypeError(std::string(opname) + ": unknown dtype");                 \
  }()

#define EMBER_DISPATCH_FLOATING(dtype, opname, ...)                                     \
  [&] {                                                                                 \
    switch (dtype) {                                                                    \
      EMBER_DISPATCH_CASE(::ember::DType::Float32, float, __VA_ARGS__)                  \
      EMBER_DISPATCH_CASE(::ember::DType::Float64, double, __VA_ARGS__)                 \
      default: break;                                                                   \
    }                                                                                   \
    throw ::ember::DTypeError(std::string(opname) + ": expected a floating dtype, got " + \
                              ::ember::dtype_name(dtype));                              \
  }()
