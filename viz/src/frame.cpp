#include "frame.h"

#include <algorithm>

namespace ember::viz::detail {

double text_width(const std::string& s, double font_size) {
  return 0.6 * font_size * static_cast<double>(s.size());  // average glyph of a sans font
}

void draw_title(Svg& svg, const std::string& title) {
  svg.text(svg.width() / 2, 26, title, style::kTitleSize, Svg::Anchor::Middle, "font-weight=\"bold\"");
}

void draw_note(Svg& svg, const std::string& note) {
  if (note.empty()) return;
  svg.text(12, svg.height() - 8, note, style::kNoteSize, Svg::Anchor::Start,
           std::string("fill=\"") + style::kMuted + "\" font-style=\"italic\"");
}

std::string skipped_note(size_t skipped, const char* why) {
  if (skipped == 0) return "";
  return std::to_string(skipped) + (skipped == 1 ? " value" : " values") + " skipped (" + why + ")";
}

namespace {

double legend_width(const std::vector<LegendEntry>& legend) {
  double w = 0;
  for (const auto& e : legend) w = std::max(w, text_width(e.name, style::kLabelSize));
  return legend.empty() ? 0 : w + 44;
}

void draw_legend(Svg& svg, const std::vector<LegendEntry>& legend, double x, double y) {
  for (const auto& e : legend) {
    if (e.box) svg.rect(x, y - 6, 14, 12, e.color);
    else svg.line(x, y, x + 22, y, e.color, 2.5, e.dashed ? "stroke-dasharray=\"6,4\"" : "");
    svg.text(x + 30, y + 4.5, e.name, style::kLabelSize);
    y += 22;
  }
}

}  // namespace

Plot draw_frame(Svg& svg, const FrameSpec& spec) {
  const bool categorical = !spec.categories.empty();
  // Margins from the text they must hold.
  double y_label_w = 0, x_label_w = 0;
  for (const auto& l : spec.y.labels) y_label_w = std::max(y_label_w, text_width(l, style::kTickSize));
  for (const auto& c : spec.categories) x_label_w = std::max(x_label_w, text_width(c, style::kTickSize));
  Plot p;
  p.left = 24 + (spec.y_label.empty() ? 0 : 20) + y_label_w;
  p.top = spec.title.empty() ? 16 : 44;
  p.right = svg.width() - 24 - legend_width(spec.legend);
  p.bottom = svg.height() - 30 - (spec.x_label.empty() ? 0 : 22) - (spec.note.empty() ? 0 : 16);
  // Long category names are turned 30 degrees so they do not overlap.
  double band = categorical ? (p.right - p.left) / spec.categories.size() : 0;
  const bool turn = categorical && x_label_w > band * 0.95;
  if (turn) {
    p.bottom -= std::min(x_label_w * 0.5, svg.height() * 0.3);
    // A turned name runs down and left from its band's centre, cos 30 deg of
    // its width: the first one must stay inside the picture.
    const double first_reach = text_width(spec.categories[0], style::kTickSize) * 0.87 + 8;
    if (first_reach - band / 2 > p.left) {
      p.left = std::min(first_reach - band / 2, svg.width() * 0.4);
      band = (p.right - p.left) / spec.categories.size();
    }
  }

  p.y = {spec.y.lo, spec.y.hi, p.bottom, p.top, spec.log_y};
  p.x = {spec.x.lo, spec.x.hi, p.left, p.right, spec.log_x};
  p.band = band;

  draw_title(svg, spec.title);
  // Horizontal grid and y ticks.
  for (size_t i = 0; i < spec.y.values.size(); ++i) {
    const double y = p.y(spec.y.values[i]);
    svg.line(p.left, y, p.right, y, style::kGrid);
    svg.text(p.left - 6, y + 4, spec.y.labels[i], style::kTickSize, Svg::Anchor::End);
  }
  // Vertical grid and x ticks, or category names.
  if (categorical) {
    for (size_t i = 0; i < spec.categories.size(); ++i) {
      const double x = p.band_center(i), y = p.bottom + 18;
      if (turn)
        svg.text(x, y, spec.categories[i], style::kTickSize, Svg::Anchor::End,
                 "transform=\"rotate(-30 " + svg_num(x) + " " + svg_num(y) + ")\"");
      else svg.text(x, y, spec.categories[i], style::kTickSize, Svg::Anchor::Middle);
    }
  } else {
    for (size_t i = 0; i < spec.x.values.size(); ++i) {
      const double x = p.x(spec.x.values[i]);
      svg.line(x, p.top, x, p.bottom, style::kGrid);
      svg.text(x, p.bottom + 18, spec.x.labels[i], style::kTickSize, Svg::Anchor::Middle);
    }
  }
  // Axes over the grid.
  svg.line(p.left, p.bottom, p.right, p.bottom, style::kInk);
  svg.line(p.left, p.top, p.left, p.bottom, style::kInk);
  if (!spec.x_label.empty())
    svg.text((p.left + p.right) / 2, svg.height() - 14 - (spec.note.empty() ? 0 : 16), spec.x_label,
             style::kLabelSize, Svg::Anchor::Middle);
  if (!spec.y_label.empty()) {
    const double x = 18, y = (p.top + p.bottom) / 2;
    svg.text(x, y, spec.y_label, style::kLabelSize, Svg::Anchor::Middle,
             "transform=\"rotate(-90 " + svg_num(x) + " " + svg_num(y) + ")\"");
  }
  draw_legend(svg, spec.legend, p.right + 16, p.top + 8);
  draw_note(svg, spec.note);
  return p;
}

}  // namespace ember::viz::detail
