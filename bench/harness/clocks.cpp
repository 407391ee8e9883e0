#include "clocks.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace ember::bench {

namespace {
// A whole number, or -1.
int number(std::string s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.erase(s.begin());
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r')) s.pop_back();
  if (s.empty()) return -1;
  for (char c : s)
    if (c < '0' || c > '9') return -1;
  return std::atoi(s.c_str());
}
}  // namespace

GpuClocks parse_clocks(const std::string& line) {
  GpuClocks c;
  const size_t comma = line.find(',');
  if (comma == std::string::npos) return c;
  c.sm_mhz = number(line.substr(0, comma));
  c.max_sm_mhz = number(line.substr(comma + 1));
  return c;
}

GpuClocks read_gpu_clocks(const std::string& bus_id) {
  for (char c : bus_id)  // it goes into a command line
    if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.')) return {};
  if (bus_id.empty()) return {};
  const std::string cmd = "nvidia-smi -i " + bus_id +
                          " --query-gpu=clocks.sm,clocks.max.sm --format=csv,noheader,nounits 2>/dev/null";
  std::FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {};
  char buf[256] = {};
  const bool got = std::fgets(buf, sizeof buf, p) != nullptr;
  const int rc = pclose(p);
  return got && rc == 0 ? parse_clocks(buf) : GpuClocks{};
}

std::string throttle_warning(const GpuClocks& before, const GpuClocks& after, double tolerance) {
  if (!before.known() || !after.known()) return "";
  std::ostringstream w;
  if (after.sm_mhz < tolerance * before.sm_mhz)
    w << "the SM clock fell from " << before.sm_mhz << " MHz to " << after.sm_mhz << " MHz during the run";
  else return "";
  w << ": the GPU throttled (heat or power), and the rows timed late are slower than the kernels are";
  return w.str();
}

}  // namespace ember::bench
