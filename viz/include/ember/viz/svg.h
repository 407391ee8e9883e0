// A minimal SVG 1.1 writer, and the one visual style every chart shares.
//
// Charts are built from a handful of shapes (rect, line, polyline, circle,
// text), so the writer is a string builder that escapes text and rounds
// coordinates to hundredths. Text stays real SVG <text>: it scales, can be
// selected and searched, and screen readers see it. Colours come from the
// Okabe–Ito palette, designed to stay distinct for colour-blind readers.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ember::viz {

// The shared look: sizes in px, chosen to read well on a laptop screen.
namespace style {
inline constexpr const char* kFont = "DejaVu Sans, Helvetica, Arial, sans-serif";
inline constexpr double kTitleSize = 16, kLabelSize = 13, kTickSize = 12, kNoteSize = 11;
inline constexpr const char* kInk = "#222222";    // text and axes
inline constexpr const char* kGrid = "#e3e3e3";   // grid lines
inline constexpr const char* kMuted = "#666666";  // notes, secondary text
}  // namespace style

// Okabe & Ito's colour-blind-safe palette, in the order series use it
// (blue, vermillion, bluish green, orange, reddish purple, sky blue, yellow,
// black). Yellow comes late: it is the faintest on white.
const char* series_color(size_t i);

// Escapes &, <, >, " and ' for use in XML text and attribute values.
std::string xml_escape(std::string_view text);
// A coordinate or length: at most two decimals, no trailing zeros ("12.5").
std::string svg_num(double v);

class Svg {
 public:
  enum class Anchor { Start, Middle, End };

  // `title` becomes the document's <title> (shown as a tooltip, read by
  // screen readers).
  Svg(double width, double height, std::string_view title);

  void rect(double x, double y, double w, double h, std::string_view fill, std::string_view extra = {});
  void line(double x1, double y1, double x2, double y2, std::string_view stroke, double width = 1,
            std::string_view extra = {});
  void polyline(const std::vector<std::pair<double, double>>& points, std::string_view stroke, double width,
                std::string_view extra = {});
  void circle(double cx, double cy, double r, std::string_view fill, std::string_view extra = {});
  // `extra`: more attributes, e.g. "font-weight=\"bold\"" or a transform.
  void text(double x, double y, std::string_view s, double size, Anchor anchor = Anchor::Start,
            std::string_view extra = {});
  void open_group(std::string_view attributes);
  void close_group();

  double width() const { return width_; }
  double height() const { return height_; }
  // The finished document (closes open groups and the <svg> element).
  std::string finish();

 private:
  std::string out_;
  double width_, height_;
  int open_groups_ = 0;
};

}  // namespace ember::viz
