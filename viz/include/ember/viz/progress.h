// A progress bar for long loops. On a terminal it redraws one line in place
// ("epoch 3 [#########.....] 120/250  loss 0.1234  ETA 12s"); when stdout is
// a file or a pipe (CI logs, `| tee`) it prints a plain line at each quarter
// instead, so logs stay readable and small.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace ember::viz {

class ProgressBar {
 public:
  // `total` steps; `label` starts the line ("epoch 3").
  ProgressBar(int64_t total, std::string label, std::FILE* out = stdout);
  // Reports `done` steps (of total) with a status ("loss 0.1234  900 samples/s").
  void update(int64_t done, const std::string& status);
  // Clears the bar (terminal); the caller prints its summary line next.
  void finish();
  bool is_terminal() const { return tty_; }

 private:
  int64_t total_, last_quarter_ = 0;
  std::string label_;
  std::FILE* out_;
  bool tty_;
  int last_width_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace ember::viz
