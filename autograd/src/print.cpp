// Tensor::to_string: a readable form close to PyTorch's repr, e.g.
//   tensor([[ 0.5000, -1.2500],
//           [ 3.0000,  4.0000]], requires_grad=True)
// Floats use 4 decimals, or scientific notation when the magnitudes span a
// wide range; whole-number floats print as "1."; big tensors are summarized
// with "..." (3 items at each end of each dim).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "ember/autograd/ops.h"
#include "ember/core/grad_mode.h"

namespace ember {

namespace {

constexpr int64_t kSummarizeAbove = 1000;
constexpr int64_t kEdgeItems = 3;

struct Formatter {
  enum class Style { Int, Bool, WholeFloat, Fixed, Sci } style = Style::Fixed;
  int width = 0;

  std::string format(double v) const {
    char buf[64];
    switch (style) {
      case Style::Bool: return v != 0 ? "True" : "False";
      case Style::Int: std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v)); break;
      case Style::WholeFloat:
        if (std::isfinite(v)) std::snprintf(buf, sizeof buf, "%.0f.", v);
        else std::snprintf(buf, sizeof buf, "%s", std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf"));
        break;
      case Style::Fixed:
        if (std::isfinite(v)) std::snprintf(buf, sizeof buf, "%.4f", v);
        else std::snprintf(buf, sizeof buf, "%s", std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf"));
        break;
      case Style::Sci:
        if (std::isfinite(v)) std::snprintf(buf, sizeof buf, "%.4e", v);
        else std::snprintf(buf, sizeof buf, "%s", std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf"));
        break;
    }
    return buf;
  }
};

Formatter choose(const std::vector<double>& v, DType dtype) {
  Formatter f;
  if (dtype == DType::Bool) f.style = Formatter::Style::Bool;
  else if (!is_floating(dtype)) f.style = Formatter::Style::Int;
  else {
    bool whole = true;
    double lo = INFINITY, hi = 0;
    for (double x : v) {
      if (!std::isfinite(x)) continue;
      whole &= x == std::round(x);
      double a = std::abs(x);
      if (a != 0) lo = std::min(lo, a);
      hi = std::max(hi, a);
    }
    if (whole && hi < 1e8) f.style = Formatter::Style::WholeFloat;
    else if (hi >= 1e8 || (lo < 1e-4 && lo > 0) || (lo > 0 && hi / lo > 1000)) f.style = Formatter::Style::Sci;
  }
  for (double x : v) f.width = std::max(f.width, static_cast<int>(f.format(x).size()));
  return f;
}

// Which indices of a dim of `size` are printed (-1 marks the "..." gap).
std::vector<int64_t> shown(int64_t size, bool summarize) {
  std::vector<int64_t> idx;
  if (!summarize || size <= 2 * kEdgeItems) {
    for (int64_t i = 0; i < size; ++i) idx.push_back(i);
  } else {
    for (int64_t i = 0; i < kEdgeItems; ++i) idx.push_back(i);
    idx.push_back(-1);
    for (int64_t i = size - kEdgeItems; i < size; ++i) idx.push_back(i);
  }
  return idx;
}

void print_dim(std::ostream& os, const std::vector<double>& v, const Shape& shape, size_t d, int64_t base,
               const Formatter& f, bool summarize, int indent) {
  const Strides strides = contiguous_strides(shape);
  if (d == shape.size()) {
    std::string s = f.format(v[base]);
    os << std::string(f.width - s.size(), ' ') << s;
    return;
  }
  os << '[';
  auto idx = shown(shape[d], summarize);
  for (size_t k = 0; k < idx.size(); ++k) {
    if (k > 0) {
      os << ',';
      if (d + 1 == shape.size()) os << ' ';
      else os << std::string(shape.size() - d - 1, '\n') << std::string(indent + d + 1, ' ');
    }
    if (idx[k] < 0) os << "...";
    else print_dim(os, v, shape, d + 1, base + idx[k] * strides[d], f, summarize, indent);
  }
  os << ']';
}

}  // namespace

std::string Tensor::to_string() const {
  if (!defined()) return "tensor(undefined)";
  NoGradGuard no_grad;
  std::vector<double> v = ember::to(ember::to(detach(), kCPU), DType::Float64).to_vector<double>();
  const bool summarize = numel() > kSummarizeAbove;
  Formatter f = choose(v, dtype());
  std::ostringstream os;
  os << "tensor(";
  if (numel() == 0) os << "[]";
  else print_dim(os, v, shape(), 0, 0, f, summarize, 7);
  if (numel() == 0 && dim() != 1) os << ", size=" << shape_str(shape());
  if (dtype() != kDefaultFloat && dtype() != DType::Int64 && dtype() != DType::Bool) os << ", dtype=" << dtype_name(dtype());
  if (!device().is_cpu()) os << ", device='" << device().str() << "'";
  if (!grad_fn_name().empty()) os << ", grad_fn=<" << grad_fn_name() << ">";
  else if (requires_grad()) os << ", requires_grad=True";
  os << ')';
  return os.str();
}

}  // namespace ember
