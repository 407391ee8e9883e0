#include "ember/viz/progress.h"

#include <unistd.h>

#include <algorithm>

namespace ember::viz {

ProgressBar::ProgressBar(int64_t total, std::string label, std::FILE* out)
    : total_(std::max<int64_t>(total, 1)), label_(std::move(label)), out_(out), tty_(::isatty(::fileno(out)) == 1),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

void ProgressBar::update(int64_t done, const std::string& status) {
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double eta = done > 0 ? elapsed * static_cast<double>(total_ - done) / static_cast<double>(done) : 0;
  if (!tty_) {  // plain lines at 25%, 50%, 75% (the caller prints the end)
    const int64_t quarter = done * 4 / total_;
    if (quarter > last_quarter_ && done < total_) {
      last_quarter_ = quarter;
      std::fprintf(out_, "%s: %lld/%lld  %s  ETA %.0fs\n", label_.c_str(), static_cast<long long>(done),
                   static_cast<long long>(total_), status.c_str(), eta);
      std::fflush(out_);
    }
    return;
  }
  // A terminal: redraw at most ten times a second, and at the end.
  if (done < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const int width = 30, filled = static_cast<int>(width * std::clamp<int64_t>(done, 0, total_) / total_);
  const int n = std::fprintf(out_, "\r%s [%s%s] %lld/%lld  %s  ETA %.0fs", label_.c_str(),
                             std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(),
                             static_cast<long long>(done), static_cast<long long>(total_), status.c_str(), eta);
  if (n < last_width_) std::fprintf(out_, "%s", std::string(last_width_ - n, ' ').c_str());  // erase a longer old line
  last_width_ = std::max(n, last_width_);
  std::fflush(out_);
}

void ProgressBar::finish() {
  if (tty_ && last_width_ > 0) std::fprintf(out_, "\r%s\r", std::string(last_width_, ' ').c_str());
  std::fflush(out_);
  last_width_ = 0;
}

}  // namespace ember::viz
