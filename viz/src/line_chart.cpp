// The line chart: several series on shared axes, optional log y, optional
// TensorBoard-style smoothing (faint raw line, smoothed line over it).
#include <cmath>

#include "ember/core/error.h"
#include "ember/viz/charts.h"
#include "frame.h"

namespace ember::viz {

std::vector<double> smooth_ema(const std::vector<double>& values, double weight) {
  EMBER_CHECK(weight >= 0 && weight < 1, ValueError, "smooth_ema: the weight must be in [0, 1), got ", weight);
  std::vector<double> out(values.size());
  double m = 0;
  int n = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      out[i] = values[i];
      continue;
    }
    m = weight * m + (1 - weight) * values[i];
    ++n;
    out[i] = weight == 0 ? values[i] : m / (1 - std::pow(weight, n));
  }
  return out;
}

namespace {

// The drawable points of (x, y) as pixel runs, broken where a value was skipped.
std::vector<std::vector<std::pair<double, double>>> pixel_runs(const std::vector<double>& x,
                                                               const std::vector<double>& y,
                                                               const detail::Plot& p, bool log_y) {
  std::vector<std::vector<std::pair<double, double>>> runs(1);
  for (size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i]) || !std::isfinite(y[i]) || (log_y && y[i] <= 0)) {
      if (!runs.back().empty()) runs.emplace_back();
      continue;
    }
    runs.back().emplace_back(p.x(x[i]), p.y(y[i]));
  }
  return runs;
}

}  // namespace

std::string line_chart(const std::vector<Series>& series, const LineChartOptions& o) {
  EMBER_CHECK(o.smoothing >= 0 && o.smoothing < 1, ValueError, "line_chart: smoothing must be in [0, 1), got ",
              o.smoothing);
  DataRange xr, yr;
  for (const auto& s : series) {
    EMBER_CHECK(s.x.size() == s.y.size(), ValueError, "line_chart: series '", s.name, "' has ", s.x.size(),
                " x values but ", s.y.size(), " y values");
    // A point counts only if both coordinates are drawable.
    std::vector<double> xs, ys;
    size_t skipped = 0;
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (std::isfinite(s.x[i]) && std::isfinite(s.y[i]) && (!o.log_y || s.y[i] > 0)) {
        xs.push_back(s.x[i]);
        ys.push_back(s.y[i]);
      } else {
        ++skipped;
      }
    }
    merge(xr, data_range(xs));
    merge(yr, data_range(ys));
    yr.skipped += skipped;
  }

  detail::FrameSpec spec;
  spec.title = o.title;
  spec.x_label = o.x_label;
  spec.y_label = o.y_label;
  spec.log_y = o.log_y;
  spec.x = xr.finite ? nice_ticks(xr.lo, xr.hi, 6, o.integer_x ? 1 : 0) : nice_ticks(0, 1);
  spec.y = !yr.finite ? (o.log_y ? log_ticks(1, 10) : nice_ticks(0, 1))
           : o.log_y  ? log_ticks(yr.lo, yr.hi)
                      : nice_ticks(yr.lo, yr.hi, 5);
  for (size_t i = 0; i < series.size(); ++i)
    spec.legend.push_back({series[i].name, series_color(i), series[i].dashed});
  std::vector<std::string> notes;
  if (yr.finite == 0) notes.push_back("no data to draw");
  if (yr.skipped) notes.push_back(detail::skipped_note(yr.skipped, o.log_y ? "NaN, infinite or <= 0 on a log axis"
                                                                            : "NaN or infinite"));
  if (o.smoothing > 0) notes.push_back("smoothing " + format_tick(o.smoothing, 0.01) + ": faint lines are the raw values");
  for (size_t i = 0; i < notes.size(); ++i) spec.note += (i ? "; " : "") + notes[i];

  Svg svg(o.width, o.height, o.title);
  const detail::Plot p = detail::draw_frame(svg, spec);
  for (size_t i = 0; i < series.size(); ++i) {
    const Series& s = series[i];
    const std::string color = series_color(i), dash = s.dashed ? "stroke-dasharray=\"7,4\"" : "";
    if (o.smoothing > 0 && s.smooth) {
      for (auto& run : pixel_runs(s.x, s.y, p, o.log_y)) svg.polyline(run, color, 1.5, "stroke-opacity=\"0.25\"");
      for (auto& run : pixel_runs(s.x, smooth_ema(s.y, o.smoothing), p, o.log_y))
        svg.polyline(run, color, 2.25, dash);
      continue;
    }
    const auto runs = pixel_runs(s.x, s.y, p, o.log_y);
    size_t points = 0;
    for (auto& run : runs) {
      svg.polyline(run, color, 2.25, dash);
      points += run.size();
    }
    if (points <= 40)  // few points (one per epoch): mark each one
      for (auto& run : runs)
        for (auto [px, py] : run) svg.circle(px, py, 3.5, color);
  }
  return svg.finish();
}

}  // namespace ember::viz
