#include "ember/viz/svg.h"

#include <cmath>
#include <cstdio>

#include "ember/core/error.h"

namespace ember::viz {

const char* series_color(size_t i) {
  static constexpr const char* kOkabeIto[] = {"#0072B2", "#D55E00", "#009E73", "#E69F00",
                                               "#CC79A7", "#56B4E9", "#F0E442", "#000000"};
  return kOkabeIto[i % 8];
}

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // Control characters other than tab/newline are not allowed in XML 1.0.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n') out += ' ';
        else out += c;
    }
  }
  return out;
}

std::string svg_num(double v) {
  // A NaN or infinity here would make the document invalid: chart code must
  // have dropped non-finite data before it reaches the writer.
  EMBER_ASSERT(std::isfinite(v));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s == "-0" ? "0" : s;
}

Svg::Svg(double width, double height, std::string_view title) : width_(width), height_(height) {
  out_ = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
         "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" + svg_num(width) + "\" height=\"" +
         svg_num(height) + "\" viewBox=\"0 0 " + svg_num(width) + " " + svg_num(height) + "\" font-family=\"" +
         style::kFont + "\">\n<title>" + xml_escape(title) + "</title>\n";
  rect(0, 0, width, height, "#ffffff");  // an opaque background, also in dark-mode viewers
}

void Svg::rect(double x, double y, double w, double h, std::string_view fill, std::string_view extra) {
  out_ += "<rect x=\"" + svg_num(x) + "\" y=\"" + svg_num(y) + "\" width=\"" + svg_num(w) + "\" height=\"" +
          svg_num(h) + "\" fill=\"" + std::string(fill) + "\"";
  if (!extra.empty()) out_ += " " + std::string(extra);
  out_ += "/>\n";
}

void Svg::line(double x1, double y1, double x2, double y2, std::string_view stroke, double width,
               std::string_view extra) {
  out_ += "<line x1=\"" + svg_num(x1) + "\" y1=\"" + svg_num(y1) + "\" x2=\"" + svg_num(x2) + "\" y2=\"" +
          svg_num(y2) + "\" stroke=\"" + std::string(stroke) + "\" stroke-width=\"" + svg_num(width) + "\"";
  if (!extra.empty()) out_ += " " + std::string(extra);
  out_ += "/>\n";
}

void Svg::polyline(const std::vector<std::pair<double, double>>& points, std::string_view stroke, double width,
                   std::string_view extra) {
  if (points.empty()) return;
  out_ += "<polyline fill=\"none\" stroke=\"" + std::string(stroke) + "\" stroke-width=\"" + svg_num(width) +
          "\" stroke-linejoin=\"round\" stroke-linecap=\"round\"";
  if (!extra.empty()) out_ += " " + std::string(extra);
  out_ += " points=\"";
  for (size_t i = 0; i < points.size(); ++i)
    out_ += (i ? " " : "") + svg_num(points[i].first) + "," + svg_num(points[i].second);
  out_ += "\"/>\n";
}

void Svg::circle(double cx, double cy, double r, std::string_view fill, std::string_view extra) {
  out_ += "<circle cx=\"" + svg_num(cx) + "\" cy=\"" + svg_num(cy) + "\" r=\"" + svg_num(r) + "\" fill=\"" +
          std::string(fill) + "\"";
  if (!extra.empty()) out_ += " " + std::string(extra);
  out_ += "/>\n";
}

void Svg::text(double x, double y, std::string_view s, double size, Anchor anchor, std::string_view extra) {
  const char* a = anchor == Anchor::Start ? "start" : anchor == Anchor::Middle ? "middle" : "end";
  out_ += "<text x=\"" + svg_num(x) + "\" y=\"" + svg_num(y) + "\" font-size=\"" + svg_num(size) +
          "\" text-anchor=\"" + a + "\"";
  // The ink colour unless `extra` brings its own (an attribute may appear only once).
  if (extra.find("fill=") == std::string_view::npos) out_ += " fill=\"" + std::string(style::kInk) + "\"";
  if (!extra.empty()) out_ += " " + std::string(extra);
  out_ += ">" + xml_escape(s) + "</text>\n";
}

void Svg::open_group(std::string_view attributes) {
  out_ += "<g " + std::string(attributes) + ">\n";
  ++open_groups_;
}

void Svg::close_group() {
  EMBER_ASSERT(open_groups_ > 0);
  out_ += "</g>\n";
  --open_groups_;
}

std::string Svg::finish() {
  while (open_groups_ > 0) close_group();
  return out_ + "</svg>\n";
}

}  // namespace ember::viz
