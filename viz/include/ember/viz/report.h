// The HTML report of a run: one page that shows the charts, the run's
// configuration and a table of results. It is self-contained: each chart is
// embedded as a data: URI, the style sheet is inline and there is no
// script, so report.html opens from the file system (or as a mail
// attachment) with no server and nothing fetched.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace ember::viz {

struct Figure {
  std::string title{};
  std::string svg{};      // the SVG document
  std::string file{};     // where it also lies, relative to the report ("loss.svg"), linked
  std::string caption{};  // how to read it, one or two sentences
};

struct Table {
  std::vector<std::string> header{};
  std::vector<std::vector<std::string>> rows{};
};

struct Report {
  std::string title{};                                        // "ember-mnist: lenet on mnist"
  std::string status{};                                       // "epoch 2 of 2 done, ..." under the title
  std::vector<std::pair<std::string, std::string>> facts{};   // headline numbers, shown large
  std::vector<Figure> figures{};
  Table results{};                                            // e.g. one row per epoch
  std::vector<std::pair<std::string, std::string>> config{};  // name, value
  std::vector<std::string> notes{};                           // plain remarks at the end
};

// The report as an HTML5 document (all text escaped).
std::string report_html(const Report& report);
// base64 (RFC 4648, with padding), for data: URIs.
std::string base64(std::string_view bytes);

}  // namespace ember::viz
