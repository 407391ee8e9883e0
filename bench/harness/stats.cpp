#include "stats.h"

#include <algorithm>
#include <cmath>

#include <ember/core/error.h>

namespace ember::bench {

double quantile(const std::vector<double>& sorted, double q) {
  EMBER_CHECK(!sorted.empty(), ValueError, "quantile: no samples");
  EMBER_CHECK(q >= 0 && q <= 1, ValueError, "quantile: q must be in [0, 1], got ", q);
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

Summary summarize(std::vector<double> samples) {
  EMBER_CHECK(!samples.empty(), ValueError, "summarize: no samples");
  for (double s : samples) EMBER_CHECK(!std::isnan(s), ValueError, "summarize: a sample is NaN");
  std::sort(samples.begin(), samples.end());
  Summary s;
  s.n = samples.size();
  s.min = samples.front();
  s.max = samples.back();
  s.q1 = quantile(samples, 0.25);
  s.median = quantile(samples, 0.5);
  s.q3 = quantile(samples, 0.75);
  return s;
}

}  // namespace ember::bench
