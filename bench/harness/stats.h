// The statistics ember-bench reports for a row's repetitions: median and
// interquartile range, not the mean, because timing noise is one-sided (an
// interrupt, a clock dip only ever make a repetition slower) and a mean
// follows its outliers. docs/benchmarks.md, "Reading a row".
#pragma once

#include <cstddef>
#include <limits>
#include <vector>

namespace ember::bench {

struct Summary {
  size_t n = 0;
  double min = std::numeric_limits<double>::quiet_NaN();
  double q1 = min, median = min, q3 = min, max = min;
  double iqr() const { return q3 - q1; }
  // The interquartile range relative to the median: the noise criterion's
  // measure (infinite for an empty or zero-median summary).
  double rel_spread() const {
    return n && median > 0 ? iqr() / median : std::numeric_limits<double>::infinity();
  }
};

// The q-quantile (0 <= q <= 1) of sorted, non-empty `v`, interpolating
// linearly between the two nearest ranks (NumPy's default, Hyndman & Fan's
// type 7): the median of {1, 2, 3, 4} is 2.5, its first quartile 1.75.
double quantile(const std::vector<double>& sorted, double q);

// Sorts a copy of `samples`; ValueError when empty or when a sample is NaN.
Summary summarize(std::vector<double> samples);

}  // namespace ember::bench
