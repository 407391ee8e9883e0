#include "ember/viz/ticks.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "ember/core/error.h"

namespace ember::viz {

namespace {

// The nice step (1, 2 or 5 x 10^k) nearest above raw / about raw.
double nice_step(double raw) {
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / mag;  // in [1, 10)
  const double nice = norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10;
  return nice * mag;
}

// "1e-7" rather than printf's "1e-07".
std::string scientific(double v, int digits) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*e", digits, v);
  std::string s = buf;
  const size_t e = s.find('e');
  std::string mant = s.substr(0, e), expo = s.substr(e + 1);
  if (mant.find('.') != std::string::npos) {  // trim trailing zeros of the mantissa
    while (mant.back() == '0') mant.pop_back();
    if (mant.back() == '.') mant.pop_back();
  }
  const bool neg = expo[0] == '-';
  expo = expo.substr(1);
  expo.erase(0, std::min(expo.find_first_not_of('0'), expo.size() - 1));
  return mant + "e" + (neg ? "-" : "") + expo;
}

}  // namespace

std::string format_tick(double value, double step) {
  if (std::abs(value) < step * 1e-9) value = 0;  // no "-0" or "1e-17" where zero is meant
  const double mag = std::max(std::abs(value), step);
  if (mag >= 1e7 || mag < 1e-4) {
    if (value == 0) return "0";
    // Enough mantissa digits to tell neighbouring ticks apart.
    const int digits = std::clamp(static_cast<int>(std::ceil(std::log10(mag / step) - 1e-9)), 0, 15);
    return scientific(value, digits);
  }
  // Every label of an axis gets the same decimals: 0.0, 0.5, 1.0.
  const int decimals = std::clamp(static_cast<int>(std::ceil(-std::log10(step) - 1e-9)), 0, 15);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

Ticks nice_ticks(double lo, double hi, int target, double min_step) {
  EMBER_CHECK(std::isfinite(lo) && std::isfinite(hi), ValueError, "nice_ticks: the range [", lo, ", ", hi,
              "] is not finite");
  EMBER_CHECK(lo <= hi, ValueError, "nice_ticks: lo ", lo, " is above hi ", hi);
  target = std::max(target, 1);
  // A constant series (or one below double resolution) gets a range of its own.
  const double scale = std::max(std::abs(lo), std::abs(hi));
  if (hi - lo <= scale * 1e-12) {
    const double pad = scale == 0 ? 1 : scale * 0.1;
    lo -= pad;
    hi += pad;
  }
  // hi/target - lo/target rather than (hi - lo)/target: no overflow near DBL_MAX.
  Ticks t;
  t.step = std::max(nice_step(hi / target - lo / target), min_step);
  const double first = std::floor(lo / t.step), last = std::ceil(hi / t.step);
  t.lo = first * t.step;
  t.hi = last * t.step;
  for (double k = first; k <= last + 0.5; ++k) {
    t.values.push_back(k * t.step);  // multiplied, not accumulated: no drift
    t.labels.push_back(format_tick(k * t.step, t.step));
  }
  return t;
}

Ticks log_ticks(double lo, double hi) {
  EMBER_CHECK(std::isfinite(lo) && std::isfinite(hi) && lo > 0 && lo <= hi, ValueError,
              "log_ticks: need 0 < lo <= hi, got [", lo, ", ", hi, "]");
  int e0 = static_cast<int>(std::floor(std::log10(lo) + 1e-9));
  int e1 = static_cast<int>(std::ceil(std::log10(hi) - 1e-9));
  if (e1 == e0) ++e1;
  Ticks t;
  t.lo = std::pow(10.0, e0);
  t.hi = std::pow(10.0, e1);
  const int span = e1 - e0;
  const int every = std::max(1, (span + 7) / 8);  // at most ~8 labelled decades
  for (int e = e0; e <= e1; ++e) {
    const double p = std::pow(10.0, e);
    if ((e - e0) % every == 0) {
      t.values.push_back(p);
      t.labels.push_back(e >= -3 && e <= 4 ? format_tick(p, p) : scientific(p, 0));
    }
    if (span <= 2 && e < e1)  // a short range: 2 and 5 between the powers
      for (double m : {2.0, 5.0}) {
        t.values.push_back(m * p);
        t.labels.push_back(e >= -3 && e <= 3 ? format_tick(m * p, p) : scientific(m * p, 0));
      }
  }
  return t;
}

DataRange data_range(const std::vector<double>& values, bool positive_only) {
  DataRange r;
  for (double v : values) {
    if (!std::isfinite(v) || (positive_only && v <= 0)) {
      ++r.skipped;
      continue;
    }
    r.lo = r.finite ? std::min(r.lo, v) : v;
    r.hi = r.finite ? std::max(r.hi, v) : v;
    ++r.finite;
  }
  return r;
}

void merge(DataRange& r, const DataRange& other) {
  if (other.finite) {
    r.lo = r.finite ? std::min(r.lo, other.lo) : other.lo;
    r.hi = r.finite ? std::max(r.hi, other.hi) : other.hi;
  }
  r.finite += other.finite;
  r.skipped += other.skipped;
}

double Scale::operator()(double v) const {
  const double a = log ? std::log10(d0) : d0, b = log ? std::log10(d1) : d1, x = log ? std::log10(v) : v;
  // Ticks always give d0 < d1; the guard keeps a degenerate scale finite.
  return b == a ? (r0 + r1) / 2 : r0 + (x - a) / (b - a) * (r1 - r0);
}

}  // namespace ember::viz
