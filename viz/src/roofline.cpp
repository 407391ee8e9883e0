// The roofline chart (charts.h): log-log, achieved GFLOP/s against
// arithmetic intensity, under the measured memory and compute ceilings.
#include <algorithm>
#include <cmath>

#include "ember/core/error.h"
#include "ember/viz/charts.h"
#include "frame.h"

namespace ember::viz {

std::string roofline_chart(const std::vector<RooflinePoint>& points, const RooflineOptions& o) {
  EMBER_CHECK(o.bandwidth_gbps >= 0 && o.peak_gflops >= 0, ValueError,
              "roofline_chart: the ceilings must be >= 0, got bandwidth ", o.bandwidth_gbps, " GB/s and peak ",
              o.peak_gflops, " GFLOP/s");
  std::vector<double> xs, ys;
  std::vector<size_t> group_of;  // each drawn point's index in `groups`
  size_t skipped = 0;
  std::vector<std::string> groups;  // in first-seen order
  for (const auto& pt : points) {
    if (!(pt.intensity > 0) || !(pt.gflops > 0) || !std::isfinite(pt.intensity) || !std::isfinite(pt.gflops)) {
      ++skipped;
      continue;
    }
    xs.push_back(pt.intensity);
    ys.push_back(pt.gflops);
    auto g = std::find(groups.begin(), groups.end(), pt.group);
    if (g == groups.end()) g = groups.insert(groups.end(), pt.group);
    group_of.push_back(static_cast<size_t>(g - groups.begin()));
  }
  const bool roof = o.bandwidth_gbps > 0 && o.peak_gflops > 0;
  const double ridge = roof ? o.peak_gflops / o.bandwidth_gbps : 1;  // where the two ceilings meet
  // The axes hold the points and the ridge, with the peak a little below the top.
  DataRange xr = data_range(xs, true), yr = data_range(ys, true);
  if (roof) {
    merge(xr, data_range({ridge / 10, ridge * 10}, true));
    merge(yr, data_range({o.peak_gflops * 1.5}, true));
  } else if (o.peak_gflops > 0) {
    merge(yr, data_range({o.peak_gflops * 1.5}, true));
  }
  detail::FrameSpec spec;
  spec.title = o.title;
  spec.x_label = "arithmetic intensity (FLOP per byte moved)";
  spec.y_label = "GFLOP/s";
  spec.log_x = spec.log_y = true;
  spec.x = xr.finite ? log_ticks(xr.lo, xr.hi) : log_ticks(0.1, 100);
  spec.y = yr.finite ? log_ticks(yr.lo, yr.hi) : log_ticks(1, 1000);
  for (size_t i = 0; i < groups.size(); ++i) spec.legend.push_back({groups[i], series_color(i), false, true});
  if (o.bandwidth_gbps > 0)
    spec.legend.push_back({o.bandwidth_label.empty() ? "memory ceiling" : o.bandwidth_label, style::kInk, true});
  if (o.peak_gflops > 0)
    spec.legend.push_back({o.peak_label.empty() ? "compute ceiling" : o.peak_label, style::kMuted, false});
  spec.note = xs.empty() ? "no data to draw" : detail::skipped_note(skipped, "<= 0 or not finite on a log axis");

  Svg svg(o.width, o.height, o.title);
  const detail::Plot p = detail::draw_frame(svg, spec);
  const double x_lo = spec.x.lo, x_hi = spec.x.hi;
  if (o.bandwidth_gbps > 0) {  // the slanted roof, up to the ridge (or the plot's edge)
    const double end = roof ? std::min(ridge, x_hi) : x_hi;
    svg.line(p.x(x_lo), p.y(std::max(o.bandwidth_gbps * x_lo, spec.y.lo)), p.x(end),
             p.y(std::min(o.bandwidth_gbps * end, spec.y.hi)), style::kInk, 2, "stroke-dasharray=\"6,4\"");
  }
  if (o.peak_gflops > 0)  // the flat roof, from the ridge on
    svg.line(p.x(roof ? std::max(ridge, x_lo) : x_lo), p.y(o.peak_gflops), p.x(x_hi), p.y(o.peak_gflops),
             style::kMuted, 2);
  for (size_t i = 0; i < xs.size(); ++i) svg.circle(p.x(xs[i]), p.y(ys[i]), 4, series_color(group_of[i]),
                                                     "fill-opacity=\"0.8\"");
  return svg.finish();
}

}  // namespace ember::viz
