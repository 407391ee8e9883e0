// The heatmap: a matrix of coloured cells with their numbers (a confusion
// matrix: rows are the true class, columns the predicted one).
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "ember/core/error.h"
#include "ember/viz/charts.h"
#include "frame.h"

namespace ember::viz {

namespace {

// White to dark blue. t in [0, 1].
std::string blues(double t) {
  const int r = static_cast<int>(std::lround(255 + t * (8 - 255)));
  const int g = static_cast<int>(std::lround(255 + t * (48 - 255)));
  const int b = static_cast<int>(std::lround(255 + t * (107 - 255)));
  char buf[16];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", r, g, b);
  return buf;
}

std::string cell_text(double v, bool integers) {
  char buf[32];
  if (integers) std::snprintf(buf, sizeof buf, "%.0f", v);
  else std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

}  // namespace

std::string heatmap(const std::vector<std::vector<double>>& cells, const HeatmapOptions& o) {
  EMBER_CHECK(!cells.empty() && !cells[0].empty(), ValueError, "heatmap: the matrix is empty");
  const size_t rows = cells.size(), cols = cells[0].size();
  for (size_t r = 0; r < rows; ++r)
    EMBER_CHECK(cells[r].size() == cols, ValueError, "heatmap: row ", r, " has ", cells[r].size(),
                " cells, row 0 has ", cols);
  EMBER_CHECK(o.row_labels.empty() || o.row_labels.size() == rows, ValueError, "heatmap: ", o.row_labels.size(),
              " row labels for ", rows, " rows");
  EMBER_CHECK(o.col_labels.empty() || o.col_labels.size() == cols, ValueError, "heatmap: ", o.col_labels.size(),
              " column labels for ", cols, " columns");
  EMBER_CHECK(o.cell > 0, ValueError, "heatmap: the cell size must be positive, got ", o.cell);
  DataRange range;
  bool integers = true;
  for (const auto& row : cells) {
    merge(range, data_range(row));
    for (double v : row) integers = integers && (!std::isfinite(v) || v == std::round(v));
  }
  auto label = [](const std::vector<std::string>& names, size_t i) { return names.empty() ? std::to_string(i) : names[i]; };
  double row_w = 0;
  for (size_t r = 0; r < rows; ++r) row_w = std::max(row_w, detail::text_width(label(o.row_labels, r), style::kTickSize));

  const std::string note = detail::skipped_note(range.skipped);
  const double left = 24 + (o.y_label.empty() ? 0 : 20) + row_w, top = o.title.empty() ? 16 : 44;
  const double width = std::max(left + o.cell * cols + 24, detail::text_width(o.title, style::kTitleSize) + 40);
  const double height = top + o.cell * rows + 30 + (o.x_label.empty() ? 0 : 22) + (note.empty() ? 0 : 16);
  Svg svg(width, height, o.title);
  detail::draw_title(svg, o.title);
  // Colour by the square root of the value's place in the range, so that the
  // few errors of a good confusion matrix still show next to its diagonal.
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < cols; ++c) {
      const double v = cells[r][c], x = left + o.cell * c, y = top + o.cell * r;
      if (!std::isfinite(v)) {
        svg.rect(x, y, o.cell, o.cell, "#d9d9d9", "stroke=\"#ffffff\"");
        continue;
      }
      const double t = range.hi > range.lo ? std::sqrt((v - range.lo) / (range.hi - range.lo)) : 0;
      svg.rect(x, y, o.cell, o.cell, blues(t), "stroke=\"#ffffff\"");
      if (o.show_values && o.cell >= 18)
        svg.text(x + o.cell / 2, y + o.cell / 2 + 4.5, cell_text(v, integers), std::min(style::kTickSize, o.cell * 0.4),
                 Svg::Anchor::Middle, t > 0.6 ? "fill=\"#ffffff\"" : v == 0 ? "fill=\"#999999\"" : "");  // zeros recede
    }
  for (size_t r = 0; r < rows; ++r)
    svg.text(left - 6, top + o.cell * (r + 0.5) + 4, label(o.row_labels, r), style::kTickSize, Svg::Anchor::End);
  for (size_t c = 0; c < cols; ++c)
    svg.text(left + o.cell * (c + 0.5), top + o.cell * rows + 18, label(o.col_labels, c), style::kTickSize,
             Svg::Anchor::Middle);
  if (!o.x_label.empty())
    svg.text(left + o.cell * cols / 2, top + o.cell * rows + 42, o.x_label, style::kLabelSize, Svg::Anchor::Middle);
  if (!o.y_label.empty()) {
    const double x = 18, y = top + o.cell * rows / 2;
    svg.text(x, y, o.y_label, style::kLabelSize, Svg::Anchor::Middle,
             "transform=\"rotate(-90 " + svg_num(x) + " " + svg_num(y) + ")\"");
  }
  detail::draw_note(svg, note);
  return svg.finish();
}

}  // namespace ember::viz
