// Anomaly mode (Note [Anomaly mode] in ember/autograd/anomaly.h).
#include "ember/autograd/anomaly.h"

#include <atomic>
#include <cctype>
#include <cmath>

#include "ember/autograd/ops.h"

namespace ember::autograd {

namespace {
std::atomic<bool> enabled{false};
}  // namespace

bool anomaly_mode_enabled() { return enabled.load(std::memory_order_relaxed); }
void set_anomaly_mode(bool on) { enabled.store(on, std::memory_order_relaxed); }

std::string forward_op_name(const std::string& node_name) {
  std::string base = node_name;
  if (const size_t at = base.rfind("Backward"); at != std::string::npos) base.resize(at);
  // The Nodes whose names are not their ops' own.
  if (base == "Conv") return "conv2d";
  if (base == "Bmm") return "matmul";
  std::string out;  // CamelCase -> snake_case, digits kept with their word ("MaxPool2d")
  for (size_t i = 0; i < base.size(); ++i) {
    const char c = base[i];
    if (std::isupper(static_cast<unsigned char>(c))) {
      if (i > 0) out += '_';
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else {
      out += c;
    }
  }
  return out;
}

namespace detail {

std::string non_finite(const Tensor& t) {
  if (!t.defined() || !is_floating(t.dtype()) || t.numel() == 0) return "";
  const Tensor c = contiguous(t.detach().to(Device("cpu")).to(DType::Float64));
  const double* p = c.data_ptr<double>();
  int64_t nan = 0, inf = 0;
  for (int64_t i = 0; i < c.numel(); ++i) {
    nan += std::isnan(p[i]);
    inf += std::isinf(p[i]);
  }
  if (!nan && !inf) return "";
  std::string what;
  if (nan) what += std::to_string(nan) + " NaN";
  if (nan && inf) what += " and ";
  if (inf) what += std::to_string(inf) + " Inf";
  return what + " of " + std::to_string(c.numel()) + " values";
}

}  // namespace detail

}  // namespace ember::autograd
