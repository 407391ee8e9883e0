// Charts as SVG text, from plain numbers: a line chart (training curves), a
// grouped bar chart (benchmark ratios), a heatmap (confusion matrix), an
// image grid (filters, misclassified digits) and a timeline (what each
// thread was doing when). Each function returns a whole
// SVG 1.1 document; write it with write_file_atomic (io.h).
//
// NaN and infinite values are skipped, and the chart says how many in a note
// under the plot, so a diverged run still draws. Bad arguments (mismatched
// lengths, a ragged matrix, an image whose pixel count is not h*w) throw
// ValueError with the sizes involved.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ember::viz {

// ---- line chart -------------------------------------------------------------

struct Series {
  std::string name{};          // legend entry
  std::vector<double> x{}, y{};  // same length; x ascending reads best
  bool dashed = false;       // a second cue besides colour (e.g. test vs train)
  bool smooth = true;        // with LineChartOptions::smoothing; off for sparse series (one point per epoch)
};

struct LineChartOptions {
  std::string title{}, x_label{}, y_label{};
  bool log_y = false;
  bool integer_x = false;  // x values are whole numbers (epochs): no ticks between them
  // TensorBoard's exponential smoothing, in [0, 1): 0 draws the data as is;
  // above 0 each series with `smooth` is drawn faint, its smoothed curve over it.
  double smoothing = 0;
  double width = 720, height = 420;
};

std::string line_chart(const std::vector<Series>& series, const LineChartOptions& options);

// The exponential moving average TensorBoard draws, debiased so the first
// points are not pulled toward zero: s_t = m_t / (1 - w^t) with
// m_t = w m_{t-1} + (1 - w) v_t. Non-finite values pass through unsmoothed.
std::vector<double> smooth_ema(const std::vector<double>& values, double weight);

// ---- grouped bar chart ------------------------------------------------------

struct BarSeries {
  std::string name{};            // legend entry ("ours", "cuDNN")
  std::vector<double> values{};  // one per category
};

struct BarChartOptions {
  std::string title{}, y_label{};
  std::optional<double> reference{};  // a dashed line across, e.g. 1.0 for ratios
  std::string reference_label{};      // its legend entry ("parity")
  bool log_y = false;
  double width = 720, height = 420;
};

// One group of bars per category, one bar per series.
std::string bar_chart(const std::vector<std::string>& categories, const std::vector<BarSeries>& series,
                      const BarChartOptions& options);

// ---- roofline ---------------------------------------------------------------

// A kernel's measurement: its arithmetic intensity (FLOPs per byte of
// memory traffic) and the FLOP rate it reached.
struct RooflinePoint {
  std::string group{};  // legend entry and colour ("sgemm", "conv2d")
  double intensity = 0, gflops = 0;
};

struct RooflineOptions {
  std::string title{};
  double bandwidth_gbps = 0;  // the memory ceiling's slope (GB/s); drawn when > 0
  double peak_gflops = 0;     // the compute ceiling (GFLOP/s); drawn when > 0
  std::string bandwidth_label{}, peak_label{};  // their legend entries
  double width = 760, height = 460;
};

// Williams, Waterman and Patterson's roofline, both axes logarithmic: one
// marker per point, coloured by group, under the two measured ceilings
// min(bandwidth * intensity, peak). A point near the slanted line is bound
// by memory, near the flat one by arithmetic. Points that cannot go on a
// log axis (<= 0, NaN) are skipped and counted in the note.
std::string roofline_chart(const std::vector<RooflinePoint>& points, const RooflineOptions& options);

// ---- heatmap ----------------------------------------------------------------

struct HeatmapOptions {
  std::string title{}, x_label{}, y_label{};  // e.g. "predicted", "true"
  std::vector<std::string> row_labels{}, col_labels{};  // default: 0, 1, ...
  bool show_values = true;  // numbers in the cells
  double cell = 40;         // cell size in px
};

// cells[r][c]; rows are drawn top to bottom. Colour runs from white (the
// smallest value) to dark blue (the largest).
std::string heatmap(const std::vector<std::vector<double>>& cells, const HeatmapOptions& options);

// ---- image grid -------------------------------------------------------------

// One image of the grid: grey (channels = 1) or colour (channels = 3: red,
// green and blue planes, as a CHW tensor holds them).
struct GrayImage {
  int64_t height = 0, width = 0;
  std::vector<float> pixels{};  // channels planes, each row-major height*width
  std::string caption{};        // under the image, e.g. "true 4, pred 9"
  int64_t channels = 1;         // 1 or 3
};

struct ImageGridOptions {
  std::string title{};
  int columns = 8;
  double pixel = 3;  // px per image pixel
  // Each image is stretched to black..white over its own min..max (filters
  // have arbitrary ranges); otherwise over the whole grid's min..max. A
  // colour image's three planes share one range, so its hues stay as they are.
  bool normalize_each = true;
};

std::string image_grid(const std::vector<GrayImage>& images, const ImageGridOptions& options);

// ---- timeline ---------------------------------------------------------------

struct TimelineSpan {
  double start = 0, end = 0;  // in ms; end >= start
  std::string label{};        // drawn inside the bar when it fits ("ConvBackward")
  std::string group{};        // legend entry and colour ("backward", "all_reduce")
};

struct TimelineLane {
  std::string label{};  // the row's name ("main", "comm")
  std::vector<TimelineSpan> spans{};
};

struct TimelineOptions {
  std::string title{}, x_label = "time (ms)";
  double row_height = 28;  // px per lane; the chart's height follows from it
  double width = 900;
};

// A Gantt-style timeline: one row per lane, top to bottom in the given
// order, each span a bar from start to end against a time axis with nice
// ticks, coloured by group (legend in first-seen order). Spans that overlap
// on one lane are drawn in order, later over earlier, so give a lane one
// level of nesting (or split levels into lanes). Viz knows nothing of the
// profiler: the caller turns profiler::trace_events() into lanes (times in
// us / 1000). A span with a NaN or infinite time is skipped and counted in
// the note; end < start throws ValueError naming the lane and the span.
std::string timeline_chart(const std::vector<TimelineLane>& lanes, const TimelineOptions& options);

}  // namespace ember::viz
