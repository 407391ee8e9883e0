// The parts every chart shares (private to viz/src): title, plot frame with
// grid, ticks and axis labels, legend, and the note under a chart. A chart
// describes its axes in a FrameSpec, gets back a Plot with the scales that
// map data to pixels, and draws only its own marks (lines, bars, cells).
#pragma once

#include <string>
#include <vector>

#include "ember/viz/svg.h"
#include "ember/viz/ticks.h"

namespace ember::viz::detail {

struct LegendEntry {
  std::string name, color;
  bool dashed = false;  // drawn as a dashed line
  bool box = false;     // drawn as a filled square (bars)
};

struct FrameSpec {
  std::string title, x_label, y_label;
  Ticks x, y;                           // numeric axes (x unused with categories)
  std::vector<std::string> categories;  // a categorical x axis, one band each
  bool log_y = false, log_x = false;
  std::vector<LegendEntry> legend;
  std::string note;  // under the plot, e.g. "3 NaN values skipped"
};

// Where the plot area landed, and the data-to-pixel scales for it.
struct Plot {
  double left = 0, top = 0, right = 0, bottom = 0;
  Scale x, y;
  double band = 0;  // with categories: the width of one category
  double band_center(size_t i) const { return left + band * (static_cast<double>(i) + 0.5); }
};

// Draws the title, grid, axes, tick labels, axis labels, legend and note.
Plot draw_frame(Svg& svg, const FrameSpec& spec);
void draw_title(Svg& svg, const std::string& title);
void draw_note(Svg& svg, const std::string& note);
// "3 values skipped (NaN or infinite)", or "" when none were.
std::string skipped_note(size_t skipped, const char* why = "NaN or infinite");
// A rough text width in px (SVG has no text metrics before rendering).
double text_width(const std::string& s, double font_size);

}  // namespace ember::viz::detail
