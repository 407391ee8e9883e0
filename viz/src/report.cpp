#include "ember/viz/report.h"

#include "ember/viz/svg.h"

namespace ember::viz {

std::string base64(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t n = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}

namespace {

// The same font and ink as the charts, so page and pictures read as one.
constexpr const char* kStyle = R"(
body { font-family: DejaVu Sans, Helvetica, Arial, sans-serif; color: #222; margin: 2em auto; max-width: 1500px; padding: 0 1.5em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
.status { color: #666; margin-top: 0; }
.facts { display: flex; flex-wrap: wrap; gap: 2.5em; margin: 1.2em 0; }
.fact .value { font-size: 1.8em; font-weight: bold; color: #0072B2; }
.fact .name { color: #666; font-size: 0.9em; }
.figures { display: flex; flex-wrap: wrap; gap: 1.5em; align-items: flex-start; }
figure { margin: 0; border: 1px solid #e3e3e3; padding: 0.6em; box-sizing: border-box; flex: 0 1 calc(50% - 0.75em); }
figure img { max-width: 100%; height: auto; display: block; margin: 0 auto; }
figcaption { color: #444; font-size: 0.9em; max-width: 720px; margin-top: 0.4em; }
table { border-collapse: collapse; font-size: 0.95em; }
th, td { padding: 0.25em 0.9em; border-bottom: 1px solid #e3e3e3; text-align: right; }
th { background: #f4f4f4; }
td:first-child, th:first-child, table.config td, table.config th { text-align: left; }
ul { color: #444; }
)";

void table_html(std::string& out, const Table& t, const char* css_class = "") {
  out += std::string("<table class=\"") + css_class + "\">\n<tr>";
  for (const auto& h : t.header) out += "<th>" + xml_escape(h) + "</th>";
  out += "</tr>\n";
  for (const auto& row : t.rows) {
    out += "<tr>";
    for (const auto& cell : row) out += "<td>" + xml_escape(cell) + "</td>";
    out += "</tr>\n";
  }
  out += "</table>\n";
}

}  // namespace

std::string report_html(const Report& r) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>" +
                    xml_escape(r.title) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n";
  out += "<h1>" + xml_escape(r.title) + "</h1>\n<p class=\"status\">" + xml_escape(r.status) + "</p>\n";
  if (!r.facts.empty()) {
    out += "<div class=\"facts\">\n";
    for (const auto& [name, value] : r.facts)
      out += "<div class=\"fact\"><div class=\"value\">" + xml_escape(value) + "</div><div class=\"name\">" +
             xml_escape(name) + "</div></div>\n";
    out += "</div>\n";
  }
  if (!r.figures.empty()) {
    out += "<h2>Charts</h2>\n<div class=\"figures\">\n";
    for (const auto& f : r.figures) {
      out += "<figure>\n<img alt=\"" + xml_escape(f.title) + "\" src=\"data:image/svg+xml;base64," + base64(f.svg) + "\">\n";
      out += "<figcaption><b>" + xml_escape(f.title) + ".</b> " + xml_escape(f.caption);
      if (!f.file.empty()) out += " <a href=\"" + xml_escape(f.file) + "\">" + xml_escape(f.file) + "</a>";
      out += "</figcaption>\n</figure>\n";
    }
    out += "</div>\n";
  }
  if (!r.results.header.empty()) {
    out += "<h2>Results</h2>\n";
    table_html(out, r.results);
  }
  if (!r.config.empty()) {
    out += "<h2>Configuration</h2>\n";
    Table t{{"setting", "value"}, {}};
    for (const auto& [k, v] : r.config) t.rows.push_back({k, v});
    table_html(out, t, "config");
  }
  if (!r.notes.empty()) {
    out += "<h2>Notes</h2>\n<ul>\n";
    for (const auto& n : r.notes) out += "<li>" + xml_escape(n) + "</li>\n";
    out += "</ul>\n";
  }
  return out + "</body>\n</html>\n";
}

}  // namespace ember::viz
