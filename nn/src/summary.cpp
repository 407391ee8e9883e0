#include "ember/nn/summary.h"

#include <cstdio>
#include <map>

#include "ember/core/grad_mode.h"

namespace ember::nn {

namespace {
struct Recorder {
  std::map<const Module*, std::string> names;
  std::vector<SummaryRow> rows;
};
thread_local Recorder* active = nullptr;

std::string human(int64_t n) {
  char buf[32];
  if (n >= 1000000000) std::snprintf(buf, sizeof buf, "%.2fG", n / 1e9);
  else if (n >= 1000000) std::snprintf(buf, sizeof buf, "%.2fM", n / 1e6);
  else if (n >= 1000) std::snprintf(buf, sizeof buf, "%.1fK", n / 1e3);
  else std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(n));
  return buf;
}
}  // namespace

namespace detail {
void observe(const Module& m, const Tensor& in, const Tensor& out) {
  if (!active) return;
  auto it = active->names.find(&m);
  int64_t params = 0;
  for (auto& t : m.parameters(/*recurse=*/false)) params += t.numel();
  active->rows.push_back({it == active->names.end() ? "?" : it->second, m.type_name(), out.shape(), params,
                          m.flops(in.shape(), out.shape())});
}
}  // namespace detail

std::vector<SummaryRow> summarize(Module& model, const Tensor& example) {
  Recorder rec;
  for (auto& [name, m] : model.named_modules()) rec.names[m] = name;
  NoGradGuard no_grad;
  active = &rec;
  try {
    model(example);
  } catch (...) {
    active = nullptr;
    throw;
  }
  active = nullptr;
  return rec.rows;  // in completion order: children before the containers that called them
}

std::string summary_table(const std::vector<SummaryRow>& rows) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-28s %-18s %-20s %10s %10s\n", "layer", "type", "output", "params", "FLOPs");
  out += line;
  out += std::string(90, '-') + "\n";
  int64_t params = 0, flops = 0;
  for (const auto& r : rows) {
    std::snprintf(line, sizeof line, "%-28s %-18s %-20s %10s %10s\n", r.name.empty() ? "(model)" : r.name.c_str(),
                  r.type.c_str(), shape_str(r.output).c_str(), r.params ? human(r.params).c_str() : "-",
                  r.flops ? human(r.flops).c_str() : "-");
    out += line;
    params += r.params;
    flops += r.flops;
  }
  out += std::string(90, '-') + "\n";
  std::snprintf(line, sizeof line, "total: %lld parameters, %s FLOPs per forward pass\n", static_cast<long long>(params),
                human(flops).c_str());
  return out + line;
}

}  // namespace ember::nn
