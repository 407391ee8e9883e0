// The timeline chart (charts.h): lanes as rows, spans as bars against a
// time axis; the figure of Note [Profiler trace] in core's profiler.h, from
// numbers the caller takes out of the trace.
//
// The frame is the shared one (frame.h) with the lanes as y "ticks" at
// half-integers: lane i of n sits at y = n - i - 0.5, so the first lane is
// the top row and its name is the tick label.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "ember/core/error.h"
#include "ember/viz/charts.h"
#include "frame.h"

namespace ember::viz {

namespace {

// White text on a dark fill, ink on a light one (Okabe-Ito's orange, sky
// blue and yellow are light). `hex` is "#rrggbb".
bool is_dark(const std::string& hex) {
  const long rgb = std::strtol(hex.c_str() + 1, nullptr, 16);
  const double luma = 0.299 * (rgb >> 16 & 0xff) + 0.587 * (rgb >> 8 & 0xff) + 0.114 * (rgb & 0xff);
  return luma < 140;
}

}  // namespace

std::string timeline_chart(const std::vector<TimelineLane>& lanes, const TimelineOptions& o) {
  EMBER_CHECK(!lanes.empty(), ValueError, "timeline_chart: no lanes");
  EMBER_CHECK(o.row_height > 0 && o.width > 0, ValueError,
              "timeline_chart: the row height and width must be positive, got ", o.row_height, " and ", o.width);
  std::vector<std::string> groups;  // in first-seen order
  std::vector<double> times;
  size_t skipped = 0;
  for (size_t l = 0; l < lanes.size(); ++l)
    for (size_t i = 0; i < lanes[l].spans.size(); ++i) {
      const TimelineSpan& s = lanes[l].spans[i];
      if (!std::isfinite(s.start) || !std::isfinite(s.end)) {
        ++skipped;
        continue;
      }
      EMBER_CHECK(s.end >= s.start, ValueError, "timeline_chart: span ", i, " ('", s.label, "') of lane '",
                  lanes[l].label, "' ends at ", s.end, " ms, before it starts at ", s.start, " ms");
      times.push_back(s.start);
      times.push_back(s.end);
      if (std::find(groups.begin(), groups.end(), s.group) == groups.end()) groups.push_back(s.group);
    }
  const DataRange xr = data_range(times);
  const size_t n = lanes.size();

  detail::FrameSpec spec;
  spec.title = o.title;
  spec.x_label = o.x_label;
  spec.x = xr.finite ? nice_ticks(xr.lo, xr.hi, std::max(3, static_cast<int>(o.width / 110))) : nice_ticks(0, 1);
  spec.y.lo = 0;
  spec.y.hi = static_cast<double>(n);
  for (size_t i = 0; i < n; ++i) {
    spec.y.values.push_back(static_cast<double>(i) + 0.5);
    spec.y.labels.push_back(lanes[n - 1 - i].label);
  }
  for (size_t g = 0; g < groups.size(); ++g)
    spec.legend.push_back({groups[g].empty() ? "(no group)" : groups[g], series_color(g), false, true});
  spec.note = times.empty()  ? "no spans to draw"
              : skipped == 0 ? ""
                             : std::to_string(skipped) + (skipped == 1 ? " span" : " spans") +
                                   " skipped (a NaN or infinite time)";

  // The plot's height is n rows; the frame's margins (draw_frame) around it.
  const double top = o.title.empty() ? 16 : 44;
  const double bottom = 30 + (o.x_label.empty() ? 0 : 22) + (spec.note.empty() ? 0 : 16);
  const double legend_h = 16 + 22.0 * static_cast<double>(groups.size());
  const double height = top + std::max(o.row_height * static_cast<double>(n), legend_h) + bottom;
  Svg svg(o.width, height, o.title);
  const detail::Plot p = detail::draw_frame(svg, spec);
  const double row = (p.bottom - p.top) / static_cast<double>(n), bar_h = row * 0.7;
  for (size_t l = 0; l < n; ++l) {
    const double y = p.y(static_cast<double>(n - l) - 0.5) - bar_h / 2;
    for (const TimelineSpan& s : lanes[l].spans) {
      if (!std::isfinite(s.start) || !std::isfinite(s.end)) continue;
      const size_t g = static_cast<size_t>(std::find(groups.begin(), groups.end(), s.group) - groups.begin());
      const std::string colour = series_color(g);
      const double x0 = p.x(s.start), w = std::max(p.x(s.end) - x0, 0.5);  // an instant still shows
      svg.rect(x0, y, w, bar_h, colour, "stroke=\"#ffffff\" stroke-width=\"0.5\"");
      const double font = std::min(style::kNoteSize, bar_h * 0.7);
      if (!s.label.empty() && detail::text_width(s.label, font) + 6 <= w)
        svg.text(x0 + w / 2, y + bar_h / 2 + font * 0.35, s.label, font, Svg::Anchor::Middle,
                 is_dark(colour) ? "fill=\"#ffffff\"" : "");
    }
  }
  return svg.finish();
}

}  // namespace ember::viz
