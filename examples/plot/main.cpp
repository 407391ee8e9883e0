// ember-plot: charts columns of CSV files as SVG, from the command line.
//
//   ember-plot runs/a/metrics.csv runs/b/metrics.csv -x epoch -y test_accuracy -o acc.svg
//       one line per (file, column): compare runs on one chart
//   ember-plot runs/a/steps.csv -x step -y loss --smooth 0.9 --log-y
//       a noisy per-step curve, smoothed as TensorBoard does
//   ember-plot bench/results/conv.csv --bars -x shape -y ratio --reference 1
//       grouped bars, one group per row (named by the -x column)
//
// It uses only viz (CsvTable, line_chart, bar_chart), so it charts any CSV
// with a header, not only Ember's.
#include <cstdio>
#include <filesystem>

#include <CLI/CLI.hpp>

#include <ember/core/error.h>
#include <ember/viz/charts.h>
#include <ember/viz/csv_logger.h>
#include <ember/viz/io.h>

namespace fs = std::filesystem;
using namespace ember;

namespace {

struct Args {
  std::vector<std::string> files, y;
  std::string x, out = "plot.svg", title, x_label, y_label;
  bool bars = false, log_y = false;
  double smooth = 0;
  std::optional<double> reference;
};

// How a file is named in the legend: its stem, or its folder when every file
// has the same name (runs/a/metrics.csv, runs/b/metrics.csv).
std::vector<std::string> run_names(const std::vector<std::string>& files) {
  bool same = true;
  for (const auto& f : files) same = same && fs::path(f).filename() == fs::path(files[0]).filename();
  std::vector<std::string> names;
  for (const auto& f : files) {
    const fs::path p = fs::absolute(f);
    names.push_back(same && files.size() > 1 ? p.parent_path().filename().string() : p.stem().string());
  }
  return names;
}

std::string plot(const Args& a) {
  std::vector<viz::CsvTable> tables;
  for (const auto& f : a.files) tables.push_back(viz::read_csv(f));
  const std::vector<std::string> names = run_names(a.files);
  auto label = [&](size_t file, const std::string& column) {
    if (a.files.size() == 1) return column;
    return a.y.size() == 1 ? names[file] : names[file] + ": " + column;
  };
  const std::string x = a.x.empty() ? tables[0].columns[0] : a.x;
  std::string title = a.title;
  if (title.empty())
    for (size_t i = 0; i < a.y.size(); ++i) title += (i ? ", " : "") + a.y[i];

  if (a.bars) {
    const std::vector<std::string> categories = tables[0].text(x);
    std::vector<viz::BarSeries> series;
    for (size_t f = 0; f < tables.size(); ++f) {
      EMBER_CHECK(tables[f].rows.size() == categories.size(), ValueError, "--bars: ", a.files[f], " has ",
                  tables[f].rows.size(), " rows but ", a.files[0], " has ", categories.size());
      for (const auto& col : a.y) series.push_back({label(f, col), tables[f].numbers(col)});
    }
    return viz::bar_chart(categories, series, {.title = title, .y_label = a.y_label, .reference = a.reference,
                                               .reference_label = a.reference ? "reference" : "", .log_y = a.log_y});
  }
  std::vector<viz::Series> series;
  for (size_t f = 0; f < tables.size(); ++f)
    for (const auto& col : a.y) series.push_back({label(f, col), tables[f].numbers(x), tables[f].numbers(col)});
  return viz::line_chart(series, {.title = title, .x_label = a.x_label.empty() ? x : a.x_label, .y_label = a.y_label,
                                  .log_y = a.log_y, .smoothing = a.smooth});
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ember-plot: chart columns of CSV files (metrics.csv, steps.csv, bench results) as SVG"};
  Args a;
  app.add_option("files", a.files, "CSV files with a header line; several files overlay their runs")
      ->required()->check(CLI::ExistingFile);
  app.add_option("-y,--y", a.y, "column(s) to plot")->required();
  app.add_option("-x,--x", a.x, "x column (default: the first); with --bars, the column naming each group");
  app.add_option("-o,--out", a.out, "output SVG file")->capture_default_str();
  app.add_flag("--bars", a.bars, "a grouped bar chart instead of lines");
  app.add_flag("--log-y", a.log_y, "logarithmic y axis");
  app.add_option("--smooth", a.smooth, "exponential smoothing weight in [0, 1), as TensorBoard's slider");
  app.add_option("--reference", a.reference, "bar charts: a dashed line at this value (1 for ratios)");
  app.add_option("--title", a.title, "chart title (default: the y columns)");
  app.add_option("--x-label", a.x_label, "x axis label (default: the x column)");
  app.add_option("--y-label", a.y_label, "y axis label");
  CLI11_PARSE(app, argc, argv);
  try {
    ember::viz::write_file_atomic(a.out, plot(a));
    std::printf("wrote %s\n", a.out.c_str());
  } catch (const ember::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
