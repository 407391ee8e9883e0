// Axis ticks and scales: which numbers an axis shows, and where a value lands.
//
// "Nice" ticks are 1, 2 or 5 times a power of ten (Heckbert, "Nice numbers
// for graph labels", Graphics Gems, 1990): an axis from 0.0137 to 0.9 reads
// 0.0, 0.2, 0.4, ..., 1.0, never 0.0137, 0.1910, .... The axis range is widened
// to whole steps, so every data point lies inside it. Log axes tick at
// powers of ten (and 2 and 5 between them when the range spans little).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace ember::viz {

struct Ticks {
  double lo = 0, hi = 1;            // the axis range (a whole number of steps)
  double step = 0;                  // linear axes: the distance between ticks
  std::vector<double> values;       // ascending, from lo to hi
  std::vector<std::string> labels;  // one per value, as printed
};

// Nice ticks whose range covers [lo, hi] with about `target` intervals.
// lo == hi (a constant series) widens to a small range around the value.
// `min_step` keeps steps from getting finer (1 for whole numbers such as
// epochs). Throws ValueError for non-finite bounds or lo > hi.
Ticks nice_ticks(double lo, double hi, int target = 5, double min_step = 0);
// Ticks for a log10 axis covering [lo, hi]; needs 0 < lo <= hi.
Ticks log_ticks(double lo, double hi);
// A tick label with just the decimals `step` needs: format_tick(0.25, 0.05)
// is "0.25", format_tick(1, 0.2) "1.0" (one axis, one number of decimals),
// format_tick(3e-7, 1e-7) is "3e-7", format_tick(2e9, 1e9) "2e9".
std::string format_tick(double value, double step);

// The finite values' range, and how many values were skipped because they
// were NaN or infinite (charts say so in a note). With `positive_only`
// (log axes), values <= 0 are skipped too.
struct DataRange {
  double lo = 0, hi = 0;
  size_t finite = 0, skipped = 0;
};
DataRange data_range(const std::vector<double>& values, bool positive_only = false);
// Widens `r` to include `other`'s values (counts add up).
void merge(DataRange& r, const DataRange& other);

// Maps data values [d0, d1] to pixels [r0, r1], linearly or in log10.
// Screen y grows downward, so a y scale has r0 at the bottom (r0 > r1).
struct Scale {
  double d0 = 0, d1 = 1, r0 = 0, r1 = 1;
  bool log = false;
  double operator()(double v) const;
};

}  // namespace ember::viz
