// The grouped bar chart: one group per category (a benchmark shape), one
// bar per series (ours, cuDNN), and an optional reference line (1.0 = parity).
#include <cmath>
#include <cstdio>

#include "ember/core/error.h"
#include "ember/viz/charts.h"
#include "frame.h"

namespace ember::viz {

std::string bar_chart(const std::vector<std::string>& categories, const std::vector<BarSeries>& series,
                      const BarChartOptions& o) {
  EMBER_CHECK(!categories.empty(), ValueError, "bar_chart: no categories");
  EMBER_CHECK(!series.empty(), ValueError, "bar_chart: no series");
  DataRange yr;
  for (const auto& s : series) {
    EMBER_CHECK(s.values.size() == categories.size(), ValueError, "bar_chart: series '", s.name, "' has ",
                s.values.size(), " values for ", categories.size(), " categories");
    merge(yr, data_range(s.values, o.log_y));
  }
  // Bars grow from 0 on a linear axis, so 0 is in range; the reference too.
  std::vector<double> extra;
  if (!o.log_y) extra.push_back(0);
  if (o.reference && std::isfinite(*o.reference) && (!o.log_y || *o.reference > 0)) extra.push_back(*o.reference);
  const DataRange er = data_range(extra);
  merge(yr, er);

  detail::FrameSpec spec;
  spec.title = o.title;
  spec.y_label = o.y_label;
  spec.categories = categories;
  spec.log_y = o.log_y;
  spec.y = !yr.finite ? nice_ticks(0, 1) : o.log_y ? log_ticks(yr.lo, yr.hi) : nice_ticks(yr.lo, yr.hi, 5);
  for (size_t i = 0; i < series.size(); ++i) spec.legend.push_back({series[i].name, series_color(i), false, true});
  if (o.reference)
    spec.legend.push_back({o.reference_label.empty() ? "reference" : o.reference_label, style::kInk, true});
  spec.note = detail::skipped_note(yr.skipped, o.log_y ? "NaN, infinite or <= 0 on a log axis" : "NaN or infinite");

  Svg svg(o.width, o.height, o.title);
  const detail::Plot p = detail::draw_frame(svg, spec);
  const double group = p.band * 0.8, bar = group / static_cast<double>(series.size());
  const double base = o.log_y ? p.bottom : p.y(0);
  for (size_t c = 0; c < categories.size(); ++c) {
    for (size_t s = 0; s < series.size(); ++s) {
      const double v = series[s].values[c];
      if (!std::isfinite(v) || (o.log_y && v <= 0)) continue;
      const double x = p.band_center(c) - group / 2 + bar * static_cast<double>(s), y = p.y(v);
      svg.rect(x + 1, std::min(y, base), bar - 2, std::abs(base - y), series_color(s));
      if (bar >= 30) {  // room for the value above (or below) the bar
        char label[32];
        std::snprintf(label, sizeof label, "%.3g", v);
        svg.text(x + bar / 2, y < base ? y - 4 : y + 13, label, style::kNoteSize, Svg::Anchor::Middle);
      }
    }
  }
  if (o.reference && std::isfinite(*o.reference) && (!o.log_y || *o.reference > 0))
    svg.line(p.left, p.y(*o.reference), p.right, p.y(*o.reference), style::kInk, 1.5, "stroke-dasharray=\"6,4\"");
  return svg.finish();
}

}  // namespace ember::viz
