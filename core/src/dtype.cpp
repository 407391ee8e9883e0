#include "ember/core/dtype.h"

namespace ember {

const char* dtype_name(DType t) {
  switch (t) {
    case DType::Bool: return "bool";
    case DType::UInt8: return "uint8";
    case DType::Int64: return "int64";
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
  }
  return "?";
}

bool is_floating(DType t) { return t == DType::Float32 || t == DType::Float64; }
bool is_integral(DType t) { return t == DType::UInt8 || t == DType::Int64; }

std::ostream& operator<<(std::ostream& os, DType t) { return os << dtype_name(t); }

namespace {
// 0 = bool, 1 = integral, 2 = floating
int category(DType t) { return t == DType::Bool ? 0 : is_integral(t) ? 1 : 2; }
}  // namespace

// The enum is ordered by width within each category, and bool < uint8 <
// int64 < float32 < float64 is exactly PyTorch's promotion lattice for
// these five types.
DType promote_types(DType a, DType b) { return static_cast<uint8_t>(a) >= static_cast<uint8_t>(b) ? a : b; }

// See Note [Type promotion].
DType result_type(const PromotionOperand& a, const PromotionOperand& b) {
  int cat = std::max(category(a.dtype), category(b.dtype));
  // The highest tier holding an operand of the winning category decides.
  auto candidate = [&](const PromotionOperand& x) { return category(x.dtype) == cat; };
  Tier top = Tier::Scalar;
  if (candidate(a)) top = std::max(top, a.tier);
  if (candidate(b)) top = std::max(top, b.tier);
  bool have = false;
  DType out = DType::Bool;
  for (const auto* x : {&a, &b}) {
    if (!candidate(*x) || x->tier != top) continue;
    DType t = x->dtype;
    // A wrapped float becomes the default float (float32), not float64.
    if (x->tier == Tier::Scalar && cat == 2) t = kDefaultFloat;
    out = have ? promote_types(out, t) : t;
    have = true;
  }
  // A floating wrapped number meeting only integral tensors: default float.
  return out;
}

}  // namespace ember
