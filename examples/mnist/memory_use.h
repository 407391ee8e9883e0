// How much memory a training run takes, as issue 15 measures it: the
// process's peak resident set (RSS) minus its RSS once the data and the
// model are ready. Importing a framework (torch alone costs hundreds of
// MiB) and loading the images then count on neither side, and
// bench/torch_lenet_speed.py measures PyTorch the same way.
// Linux: /proc/self/status's VmRSS (now) and VmHWM (the peak so far).
#pragma once

#include <cstdio>
#include <fstream>
#include <string>

namespace ember::mnist {

struct MemoryUse {
  double rss_mib = 0, peak_mib = 0;  // 0 where /proc/self/status is missing
  static MemoryUse now() {
    MemoryUse m;
    std::ifstream f("/proc/self/status");
    std::string key;
    double kib = 0;
    std::string unit;
    while (f >> key) {
      if (key == "VmRSS:" && f >> kib >> unit) m.rss_mib = kib / 1024;
      else if (key == "VmHWM:" && f >> kib >> unit) m.peak_mib = kib / 1024;
      else f.ignore(1 << 20, '\n');
    }
    return m;
  }
};

// "memory: peak RSS 412.3 MiB, 380.1 MiB with the data and model ready: training took 32.2 MiB more"
inline std::string memory_line(const MemoryUse& ready) {
  const MemoryUse end = MemoryUse::now();
  char line[200];
  std::snprintf(line, sizeof line, "memory: peak RSS %.1f MiB, %.1f MiB with the data and model ready: "
                "training took %.1f MiB more", end.peak_mib, ready.rss_mib, end.peak_mib - ready.rss_mib);
  return line;
}

}  // namespace ember::mnist
