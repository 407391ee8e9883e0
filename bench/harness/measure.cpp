#include "measure.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <ember/core/error.h>
#include <ember/kernels/cuda.h>

namespace ember::bench {

void HostClock::reset(int reps) {
  begin_.assign(static_cast<size_t>(reps), {});
  end_.assign(static_cast<size_t>(reps), {});
}
void HostClock::begin(int rep) { begin_.at(static_cast<size_t>(rep)) = std::chrono::steady_clock::now(); }
void HostClock::end(int rep) { end_.at(static_cast<size_t>(rep)) = std::chrono::steady_clock::now(); }
std::vector<double> HostClock::elapsed_ms() {
  std::vector<double> out;
  for (size_t i = 0; i < begin_.size(); ++i)
    out.push_back(std::chrono::duration<double, std::milli>(end_[i] - begin_[i]).count());
  return out;
}

namespace {

class EventClock final : public RepClock {
 public:
  explicit EventClock(int device) : device_(device) {}
  void reset(int reps) override {
    // Events are reused across batches: creating one costs a driver call.
    while (begin_.size() < static_cast<size_t>(reps)) {
      begin_.push_back(std::make_unique<cuda::Event>(device_));
      end_.push_back(std::make_unique<cuda::Event>(device_));
    }
    reps_ = reps;
  }
  void begin(int rep) override { begin_.at(static_cast<size_t>(rep))->record(); }
  void end(int rep) override { end_.at(static_cast<size_t>(rep))->record(); }
  std::vector<double> elapsed_ms() override {
    std::vector<double> out;
    for (int i = 0; i < reps_; ++i) out.push_back(cuda::Event::elapsed_ms(*begin_[i], *end_[i]));
    return out;
  }

 private:
  int device_, reps_ = 0;
  std::vector<std::unique_ptr<cuda::Event>> begin_, end_;
};

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// `reps` marked repetitions, each after a flush when cold.
std::vector<double> batch(int reps, const std::function<void()>& run, const std::function<void()>& flush,
                          RepClock& clock, bool cold) {
  clock.reset(reps);
  for (int r = 0; r < reps; ++r) {
    if (cold && flush) flush();
    clock.begin(r);
    run();
    clock.end(r);
  }
  return clock.elapsed_ms();
}

}  // namespace

std::unique_ptr<RepClock> make_event_clock(int device) { return std::make_unique<EventClock>(device); }

Timed measure(const std::function<void()>& run, const std::function<void()>& flush, RepClock& clock,
              const TimingOptions& o, const std::function<double()>& seconds_fn) {
  EMBER_CHECK(o.min_reps >= 1 && o.max_reps >= o.min_reps, ValueError, "measure: need 1 <= min_reps <= max_reps, got ",
              o.min_reps, " and ", o.max_reps);
  const auto seconds = seconds_fn ? seconds_fn : std::function<double()>(steady_seconds);
  const double t0 = seconds();
  auto left_s = [&] { return o.max_row_s - (seconds() - t0); };
  Timed t;
  run();  // 1: lazy set-up, untimed
  // 2: the estimate. Its marks give the call's time; the host's clock around
  // the whole batch gives what a repetition costs the row's time limit,
  // flush and marks included (a flush of twice the cache can cost more than
  // the call it precedes).
  const double e0 = seconds();
  std::vector<double> samples = batch(3, run, flush, clock, o.cold);
  const double est_ms = std::max(summarize(samples).median, 1e-6);
  const double rep_cost_ms = std::max((seconds() - e0) * 1e3 / 3, est_ms);
  // Counts computed in double and clamped before the cast: a tiny estimate
  // and a long time limit would overflow an int.
  auto count = [](double v, double lo, double hi) { return static_cast<int>(std::clamp(std::floor(v), lo, hi)); };
  // 3: warm-up, within a quarter of what is left.
  t.warmup = count(std::min(std::ceil(o.warmup_ms / est_ms), left_s() * 250 / est_ms), 1, 1e6);
  for (int w = 0; w < t.warmup; ++w) run();
  samples.clear();
  // 4 and 5: batches until the spread settles or time runs out.
  const int want = count(std::ceil(o.rep_ms / est_ms), o.min_reps, o.max_reps);
  while (true) {
    const int affordable = count(left_s() * 1e3 / rep_cost_ms, 0, o.max_reps);
    const int room = o.max_reps - static_cast<int>(samples.size());
    int reps = std::min({want, affordable, room});
    if (samples.empty()) reps = std::max(reps, o.min_reps);  // a row always gets min_reps samples
    if (reps <= 0) break;
    const std::vector<double> more = batch(reps, run, flush, clock, o.cold);
    samples.insert(samples.end(), more.begin(), more.end());
    t.ms = summarize(samples);
    t.converged = t.ms.rel_spread() <= o.noise_bound;
    if (t.converged) break;
  }
  t.wall_s = seconds() - t0;
  return t;
}

size_t flush_bytes(size_t cache_bytes) {
  constexpr size_t kMiB = size_t(1) << 20;
  const size_t want = std::max(2 * cache_bytes, kMiB);
  return (want + kMiB - 1) / kMiB * kMiB;
}

size_t parse_cache_size(const std::string& text) {
  size_t i = 0, value = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') value = value * 10 + size_t(text[i++] - '0');
  if (i == 0) return 0;
  std::string unit = text.substr(i);
  while (!unit.empty() && (unit.back() == '\n' || unit.back() == ' ')) unit.pop_back();
  if (unit.empty()) return value;
  if (unit == "K") return value << 10;
  if (unit == "M") return value << 20;
  if (unit == "G") return value << 30;
  return 0;
}

size_t cpu_cache_bytes(const std::string& dir) {
  namespace fs = std::filesystem;
  size_t best = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().filename().string().rfind("index", 0) != 0) continue;
    std::ifstream in(entry.path() / "size");
    std::string text;
    if (std::getline(in, text)) best = std::max(best, parse_cache_size(text));
  }
  return best;
}

}  // namespace ember::bench
