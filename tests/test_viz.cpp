// Tests of the viz module: tick generation and scaling, every chart type
// (structure, notes for skipped values, errors with their numbers), the CSV
// logger across a resume, the report, Graphviz rendering of the autograd
// graph and the module tree, TensorBoard framing against a committed byte
// fixture, and the progress bar's plain-line mode. That the SVGs are
// well-formed and render, and that the event files decode, is checked by
// independent tools in check_viz_samples.sh (a CTest entry of its own).
#include "support.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

using namespace ember;
using namespace ember::viz;
namespace fs = std::filesystem;

namespace {

using ember::test::TempDir;

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

// A chart must never print a non-number into a coordinate.
void require_finite_numbers(const std::string& svg) {
  REQUIRE(svg.find("nan") == std::string::npos);
  REQUIRE(svg.find("inf\"") == std::string::npos);
  REQUIRE(svg.rfind("</svg>\n") == svg.size() - 7);
}

template <typename E, typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  FAIL("no exception thrown");
  return "";
}

}  // namespace

// ---- ticks and scales -----------------------------------------------------------

TEST_CASE("nice ticks cover the range with 1-2-5 steps and distinct labels") {
  const std::vector<std::pair<double, double>> ranges = {
      {0.0137, 0.9}, {-3.7, 12.2}, {-250, -10}, {1e-9, 3e-9}, {2e-7, 2.05e-7}, {1e10, 5e10},
      {-1e300, 1e300}, {0.97, 0.9912}, {1.0, 1.0 + 1e-9}, {0, 7}, {42, 42}, {0, 0}, {-1e-12, 0}};
  for (auto [lo, hi] : ranges) {
    INFO("range [" << lo << ", " << hi << "]");
    Ticks t = nice_ticks(lo, hi);
    REQUIRE(t.lo <= lo);
    REQUIRE(t.hi >= hi);
    REQUIRE(t.lo < t.hi);
    REQUIRE(t.values.size() >= 2);
    REQUIRE(t.values.size() <= 12);
    REQUIRE(t.values.size() == t.labels.size());
    const double mant = t.step / std::pow(10.0, std::floor(std::log10(t.step)));
    REQUIRE((std::abs(mant - 1) < 1e-9 || std::abs(mant - 2) < 1e-9 || std::abs(mant - 5) < 1e-9));
    REQUIRE(std::set<std::string>(t.labels.begin(), t.labels.end()).size() == t.labels.size());
    for (size_t i = 1; i < t.values.size(); ++i) REQUIRE(t.values[i] > t.values[i - 1]);
  }
}

TEST_CASE("nice ticks pick the expected values") {
  Ticks t = nice_ticks(0.0137, 0.9);
  REQUIRE(t.labels == std::vector<std::string>{"0.0", "0.2", "0.4", "0.6", "0.8", "1.0"});
  t = nice_ticks(-3.7, 12.2);
  REQUIRE(t.labels == std::vector<std::string>{"-5", "0", "5", "10", "15"});
  t = nice_ticks(1e-9, 3e-9);
  REQUIRE(t.labels.front() == "1e-9");
  REQUIRE(t.labels[1] == "1.5e-9");
  t = nice_ticks(1e10, 5e10);
  REQUIRE(t.labels == std::vector<std::string>{"1e10", "2e10", "3e10", "4e10", "5e10"});
  // Constant series: a range around the value (0 gets [-1, 1]).
  // Whole numbers (epochs) get no ticks between them, also for one epoch.
  REQUIRE(nice_ticks(1, 2, 6, 1).labels == std::vector<std::string>{"1", "2"});
  REQUIRE(nice_ticks(1, 1, 6, 1).labels == std::vector<std::string>{"0", "1", "2"});
  t = nice_ticks(0, 0);
  REQUIRE(t.lo == -1);
  REQUIRE(t.hi == 1);
  t = nice_ticks(0.98, 0.98);
  REQUIRE(t.lo < 0.98);
  REQUIRE(t.hi > 0.98);
  REQUIRE(t.hi - t.lo < 0.5);
}

TEST_CASE("nice ticks refuse bad ranges with the numbers") {
  REQUIRE_THAT(error_of<ValueError>([] { nice_ticks(3, 1); }), Catch::Contains("lo 3 is above hi 1"));
  REQUIRE_THAT(error_of<ValueError>([] { nice_ticks(0, NAN); }), Catch::Contains("not finite"));
  REQUIRE_THAT(error_of<ValueError>([] { log_ticks(0, 10); }), Catch::Contains("0 < lo <= hi, got [0, 10]"));
}

TEST_CASE("log ticks are powers of ten, with 2 and 5 on short ranges") {
  Ticks t = log_ticks(0.003, 20);
  REQUIRE(t.lo == Approx(1e-3));
  REQUIRE(t.hi == Approx(100));
  REQUIRE(t.labels == std::vector<std::string>{"0.001", "0.01", "0.1", "1", "10", "100"});
  t = log_ticks(2, 30);
  REQUIRE(t.labels == std::vector<std::string>{"1", "2", "5", "10", "20", "50", "100"});
  t = log_ticks(1e-30, 1e30);  // many decades: at most ~8 labels
  REQUIRE(t.values.size() <= 9);
  REQUIRE(t.labels.front() == "1e-30");
  t = log_ticks(5, 5);  // a constant series on a log axis
  REQUIRE(t.lo <= 5);
  REQUIRE(t.hi >= 5);
}

TEST_CASE("tick labels use just the decimals the step needs") {
  REQUIRE(format_tick(0.25, 0.05) == "0.25");
  REQUIRE(format_tick(0.2, 0.2) == "0.2");
  REQUIRE(format_tick(1500, 500) == "1500");
  REQUIRE(format_tick(1, 0.2) == "1.0");
  REQUIRE(format_tick(-0.0, 0.1) == "0.0");
  REQUIRE(format_tick(1e-17, 0.1) == "0.0");  // accumulated rounding is zero
  REQUIRE(format_tick(3e-7, 1e-7) == "3e-7");
  REQUIRE(format_tick(2e9, 1e9) == "2e9");
  REQUIRE(format_tick(-2.5e-6, 5e-7) == "-2.5e-6");
}

TEST_CASE("data ranges skip NaN and infinities and count them") {
  DataRange r = data_range({3, NAN, -1, INFINITY, 2});
  REQUIRE(r.lo == -1);
  REQUIRE(r.hi == 3);
  REQUIRE(r.finite == 3);
  REQUIRE(r.skipped == 2);
  r = data_range({3, 0, -1}, /*positive_only=*/true);
  REQUIRE(r.lo == 3);
  REQUIRE(r.skipped == 2);
  DataRange none = data_range({NAN});
  merge(r, none);
  REQUIRE(r.skipped == 3);
  REQUIRE(r.lo == 3);
}

TEST_CASE("scales map data to pixels, linearly and in log10") {
  Scale y{0, 10, 300, 100};  // screen y grows downward
  REQUIRE(y(0) == 300);
  REQUIRE(y(10) == 100);
  REQUIRE(y(5) == 200);
  Scale l{1, 1000, 0, 300, true};
  REQUIRE(l(10) == Approx(100));
  REQUIRE(l(100) == Approx(200));
}

// ---- charts ---------------------------------------------------------------------

TEST_CASE("line chart draws each series with a legend, and escapes text") {
  Series a{"train <loss>", {1, 2, 3}, {0.9, 0.5, 0.3}}, b{"test & co", {1, 2, 3}, {1.0, 0.6, 0.45}, true};
  const std::string svg = line_chart({a, b}, {.title = "Loss \"per\" epoch", .x_label = "epoch", .y_label = "loss"});
  require_finite_numbers(svg);
  REQUIRE(count(svg, "<polyline") == 2);
  REQUIRE(count(svg, "<circle") == 6);  // few points: each is marked
  REQUIRE_THAT(svg, Catch::Contains("train &lt;loss&gt;"));
  REQUIRE_THAT(svg, Catch::Contains("test &amp; co"));
  REQUIRE_THAT(svg, Catch::Contains("Loss &quot;per&quot; epoch"));
  REQUIRE_THAT(svg, Catch::Contains("#0072B2"));  // Okabe–Ito blue, then vermillion
  REQUIRE_THAT(svg, Catch::Contains("#D55E00"));
  REQUIRE_THAT(svg, Catch::Contains("stroke-dasharray"));
  REQUIRE(svg.find("skipped") == std::string::npos);
}

TEST_CASE("line chart skips NaN and non-positive log values with a note") {
  Series s{"lr", {0, 1, 2, 3, 4}, {1e-3, NAN, 3e-3, -1, 0}};
  std::string svg = line_chart({s}, {.title = "t", .log_y = true});
  require_finite_numbers(svg);
  REQUIRE_THAT(svg, Catch::Contains("3 values skipped (NaN, infinite or &lt;= 0 on a log axis)"));
  REQUIRE(count(svg, "<polyline") == 2);  // the line breaks at the gap
  svg = line_chart({s}, {.title = "t"});
  REQUIRE_THAT(svg, Catch::Contains("1 value skipped (NaN or infinite)"));
  // Nothing drawable at all still gives a valid chart.
  svg = line_chart({{"empty", {0, 1}, {NAN, NAN}}}, {.title = "t"});
  require_finite_numbers(svg);
  REQUIRE_THAT(svg, Catch::Contains("no data to draw"));
  svg = line_chart({}, {.title = "nothing"});
  require_finite_numbers(svg);
}

TEST_CASE("line chart handles constant, tiny and huge series") {
  for (auto [lo, hi] : std::vector<std::pair<double, double>>{{5, 5}, {0, 0}, {1e-12, 3e-12}, {1e15, 9e15}, {-7e8, -2e8}}) {
    INFO(lo << " .. " << hi);
    const std::string svg = line_chart({{"s", {0, 1, 2}, {lo, (lo + hi) / 2, hi}}}, {.title = "t"});
    require_finite_numbers(svg);
    REQUIRE(count(svg, "<polyline") == 1);
  }
}

TEST_CASE("line chart smoothing draws a faint raw line under the smoothed one") {
  Series s{"loss", {}, {}};
  for (int i = 0; i < 100; ++i) {
    s.x.push_back(i);
    s.y.push_back(1.0 / (i + 1) + (i % 2 ? 0.1 : -0.1));
  }
  const std::string svg = line_chart({s}, {.title = "t", .smoothing = 0.9});
  require_finite_numbers(svg);
  REQUIRE(count(svg, "<polyline") == 2);
  REQUIRE(count(svg, "stroke-opacity=\"0.25\"") == 1);
  REQUIRE(count(svg, "<circle") == 0);
  REQUIRE_THAT(svg, Catch::Contains("smoothing 0.90"));
  REQUIRE_THAT(error_of<ValueError>([&] { line_chart({s}, {.smoothing = 1.0}); }), Catch::Contains("got 1"));
}

TEST_CASE("line chart errors name the series and the lengths") {
  REQUIRE_THAT(error_of<ValueError>([] { line_chart({{"acc", {1, 2, 3}, {0.5}}}, {}); }),
               Catch::Contains("series 'acc' has 3 x values but 1 y values"));
}

TEST_CASE("exponential smoothing matches TensorBoard's debiased average") {
  REQUIRE(smooth_ema({1, 2, 3}, 0) == std::vector<double>{1, 2, 3});
  const std::vector<double> c = smooth_ema({4, 4, 4, 4}, 0.9);  // debiased: a constant stays constant
  for (double v : c) REQUIRE(v == Approx(4));
  const std::vector<double> s = smooth_ema({1, 0}, 0.5);  // m1 = .5 -> 1; m2 = .25 -> .25/.75
  REQUIRE(s[0] == Approx(1));
  REQUIRE(s[1] == Approx(1.0 / 3));
  const std::vector<double> n = smooth_ema({1, NAN, 1}, 0.5);
  REQUIRE(std::isnan(n[1]));
  REQUIRE(n[2] == Approx(1));
}

TEST_CASE("bar chart groups bars per category with a reference line") {
  const std::string svg = bar_chart({"a", "b", "c"}, {{"ours", {1.2, 0.8, NAN}}, {"cuDNN", {1, 1, 1}}},
                                    {.title = "ratios", .y_label = "ratio", .reference = 1.0, .reference_label = "parity"});
  require_finite_numbers(svg);
  // 5 bars + 2 legend squares + the background, the only other rects.
  REQUIRE(count(svg, "<rect") == 5 + 2 + 1);
  REQUIRE_THAT(svg, Catch::Contains("parity"));
  REQUIRE_THAT(svg, Catch::Contains("1 value skipped"));
  REQUIRE(count(svg, "stroke-dasharray=\"6,4\"") == 2);  // the reference line and its legend entry
  REQUIRE_THAT(error_of<ValueError>([] { bar_chart({"a", "b"}, {{"ours", {1}}}, {}); }),
               Catch::Contains("series 'ours' has 1 values for 2 categories"));
  REQUIRE_THAT(error_of<ValueError>([] { bar_chart({}, {{"ours", {}}}, {}); }), Catch::Contains("no categories"));
  // Log axis, and long category names (turned, still valid).
  const std::vector<std::string> longs{"a long category name 1", "a long category name 2", "a long category name 3",
                                       "a long category name 4", "a long category name 5"};
  const std::string log = bar_chart(longs, {{"x", {0.01, 100, 1, 2, 3}}}, {.title = "log", .log_y = true});
  require_finite_numbers(log);
  REQUIRE_THAT(log, Catch::Contains("rotate(-30"));
}

TEST_CASE("heatmap puts numbers in cells and checks its matrix") {
  const std::string svg = heatmap({{50, 2}, {0, 48}}, {.title = "confusion", .x_label = "predicted", .y_label = "true",
                                                        .row_labels = {"cat", "dog"}, .col_labels = {"cat", "dog"}});
  require_finite_numbers(svg);
  REQUIRE(count(svg, "<rect") == 4 + 1);
  for (const char* v : {">50<", ">2<", ">0<", ">48<", ">cat<", ">dog<", ">predicted<"}) REQUIRE_THAT(svg, Catch::Contains(v));
  REQUIRE_THAT(svg, Catch::Contains("fill=\"#ffffff\">50<"));  // white text on the darkest cell
  const std::string frac = heatmap({{0.125, NAN}}, {});
  require_finite_numbers(frac);
  REQUIRE_THAT(frac, Catch::Contains(">0.125<"));
  REQUIRE_THAT(frac, Catch::Contains("1 value skipped"));
  REQUIRE_THAT(error_of<ValueError>([] { heatmap({{1, 2}, {3}}, {}); }), Catch::Contains("row 1 has 1 cells, row 0 has 2"));
  REQUIRE_THAT(error_of<ValueError>([] { heatmap({{1, 2}}, {.row_labels = {"a", "b"}}); }),
               Catch::Contains("2 row labels for 1 rows"));
  REQUIRE_THAT(error_of<ValueError>([] { heatmap({}, {}); }), Catch::Contains("empty"));
}

TEST_CASE("image grid draws runs of equal pixels and captions") {
  GrayImage flat{2, 3, {0, 0, 0, 0, 0, 0}, "flat"};
  GrayImage bar{2, 3, {0, 1, 1, 0, 0, 0}, "true 1, pred 7"};
  const std::string svg = image_grid({flat, bar}, {.title = "grid"});
  require_finite_numbers(svg);
  // background, one rect per image background, and one run for the bar's "1 1".
  REQUIRE(count(svg, "<rect") == 1 + 2 + 1);
  REQUIRE_THAT(svg, Catch::Contains("fill=\"#ffffff\""));
  REQUIRE_THAT(svg, Catch::Contains("true 1, pred 7"));
  REQUIRE_THAT(svg, Catch::Contains("crispEdges"));
  GrayImage nan{1, 2, {0, NAN}, ""};
  REQUIRE_THAT(image_grid({nan}, {}), Catch::Contains("1 value skipped"));
  REQUIRE_THAT(error_of<ValueError>([] { image_grid({GrayImage{2, 2, {1, 2, 3}, ""}}, {}); }),
               Catch::Contains("image 0 is 1x2x2 but has 3 values"));
  REQUIRE_THAT(error_of<ValueError>([&] { image_grid({flat}, {.columns = 0}); }), Catch::Contains("got 0"));
  require_finite_numbers(image_grid({}, {.title = "none"}));
}

TEST_CASE("image grid draws colour images from their three planes") {
  // 1x3 pixels: red, the same red, then a half-grey; planes R, G, B.
  GrayImage rgb{1, 3, {1, 1, 0.5f, 0, 0, 0.5f, 0, 0, 0.5f}, "true cat, pred dog", 3};
  const std::string svg = image_grid({rgb}, {.normalize_each = false});
  require_finite_numbers(svg);
  // background, the image's black, one run for the two reds, one for the grey.
  REQUIRE(count(svg, "<rect") == 1 + 1 + 1 + 1);
  REQUIRE_THAT(svg, Catch::Contains("fill=\"#ff0000\""));
  REQUIRE_THAT(svg, Catch::Contains("fill=\"#808080\""));
  REQUIRE_THAT(svg, Catch::Contains("true cat, pred dog"));
  // One range for the three planes: a pure-blue image stays blue when stretched.
  GrayImage blue{1, 2, {0, 0, 0, 0, 0.2f, 0.4f}, "", 3};
  REQUIRE_THAT(image_grid({blue}, {}), Catch::Contains("fill=\"#0000ff\""));
  GrayImage nan{1, 1, {0, NAN, 0}, "", 3};
  REQUIRE_THAT(image_grid({nan}, {}), Catch::Contains("1 value skipped"));
  REQUIRE_THAT(error_of<ValueError>([] { image_grid({GrayImage{2, 2, std::vector<float>(8), "", 2}}, {}); }),
               Catch::Contains("image 0 has 2 channels"));
  REQUIRE_THAT(error_of<ValueError>([] { image_grid({GrayImage{2, 2, std::vector<float>(4), "", 3}}, {}); }),
               Catch::Contains("image 0 is 3x2x2 but has 4 values"));
}

TEST_CASE("timeline draws one bar per span on its lane, coloured by group") {
  // Lane "main" (top row): two backward nodes and an optimizer step; lane
  // "comm": an all-reduce overlapping the second node. Groups, not lanes, pick colours.
  const std::vector<TimelineLane> lanes{
      {"main",
       {{0, 4, "LinearBackward", "backward"}, {4, 9.5, "ConvBackward", "backward"}, {9.5, 10, "", "optimizer"}}},
      {"comm", {{4.5, 8, "all_reduce bucket 0", "all_reduce"}, {8, 8, "", "all_reduce"}}}};
  const std::string svg = timeline_chart(lanes, {.title = "overlap <test>", .width = 800});
  require_finite_numbers(svg);
  // 5 bars + 3 legend squares + the background.
  REQUIRE(count(svg, "<rect") == 5 + 3 + 1);
  REQUIRE_THAT(svg, Catch::Contains("overlap &lt;test&gt;"));
  REQUIRE_THAT(svg, Catch::Contains(">time (ms)<"));
  for (const char* s : {">main<", ">comm<", ">backward<", ">all_reduce<", ">ConvBackward<", ">all_reduce bucket 0<"})
    REQUIRE_THAT(svg, Catch::Contains(s));
  // Bars: the first group in the palette's first colour, the second in its second.
  const std::regex bar(
      R"re(<rect x="([0-9.]+)" y="([0-9.]+)" width="([0-9.]+)" height="[0-9.]+" fill="(#[0-9A-Fa-f]{6})" stroke)re");
  std::vector<std::smatch> bars;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), bar); it != std::sregex_iterator(); ++it)
    bars.push_back(*it);
  REQUIRE(bars.size() == 5);
  auto num = [](const std::ssub_match& m) { return std::stod(m.str()); };
  CHECK(bars[0][4] == series_color(0));
  CHECK(bars[1][4] == series_color(0));
  CHECK(bars[2][4] == series_color(1));
  CHECK(bars[3][4] == series_color(2));
  CHECK(bars[4][4] == series_color(2));
  CHECK(num(bars[0][2]) == num(bars[2][2]));  // one lane, one row
  CHECK(num(bars[0][2]) < num(bars[3][2]));   // the first lane is the top row
  CHECK(num(bars[0][1]) + num(bars[0][3]) == Approx(num(bars[1][1])).margin(0.02));  // 4 ms ends where 4 ms starts
  CHECK(num(bars[1][3]) == Approx(num(bars[0][3]) * 5.5 / 4).margin(0.05));         // widths go as durations
  CHECK(num(bars[4][3]) == 0.5);  // an instant is still drawn
  // A label too long for its bar is left out.
  const std::string narrow =
      timeline_chart({{"main", {{0, 1, "a label far too long for a short bar", "g"}, {1, 100, "", "g"}}}}, {});
  REQUIRE(narrow.find("far too long") == std::string::npos);
}

TEST_CASE("timeline skips non-finite times with a note and refuses spans that end before they start") {
  const std::string svg =
      timeline_chart({{"main", {{0, 1, "", "a"}, {NAN, 2, "", "a"}}}, {"comm", {{1, INFINITY, "", "b"}}}}, {});
  require_finite_numbers(svg);
  REQUIRE_THAT(svg, Catch::Contains("2 spans skipped (a NaN or infinite time)"));
  REQUIRE(count(svg, "<rect") == 1 + 1 + 1);  // one bar, one legend entry ("b" drew nothing), the background
  const std::string none = timeline_chart({{"idle", {}}}, {.title = "empty"});
  require_finite_numbers(none);
  REQUIRE_THAT(none, Catch::Contains("no spans to draw"));
  REQUIRE_THAT(error_of<ValueError>([] {
                 timeline_chart({{"main", {{0, 1, "", ""}}}, {"comm", {{0, 1, "", ""}, {3, 2, "x", ""}}}}, {});
               }),
               Catch::Contains("span 1 ('x') of lane 'comm' ends at 2 ms, before it starts at 3 ms"));
  REQUIRE_THAT(error_of<ValueError>([] { timeline_chart({}, {}); }), Catch::Contains("no lanes"));
  REQUIRE_THAT(error_of<ValueError>([] { timeline_chart({{"a", {}}}, {.row_height = 0}); }), Catch::Contains("got 0"));
}

TEST_CASE("svg text escapes markup and drops control characters") {
  REQUIRE(xml_escape("a<b>&\"c'") == "a&lt;b&gt;&amp;&quot;c&apos;");
  REQUIRE(xml_escape(std::string("x\x01y")) == "x y");
  REQUIRE(svg_num(12.5) == "12.5");
  REQUIRE(svg_num(-0.001) == "0");
  REQUIRE(svg_num(3) == "3");
}

// ---- CSV logger ------------------------------------------------------------------

TEST_CASE("csv logger writes a header and flushed rows") {
  TempDir dir;
  CsvLogger log(dir / "m.csv", {"epoch", "loss"});
  log.log({1, 0.5});
  // Flushed per row: a reader sees it while the logger is still open.
  REQUIRE(read_file(dir / "m.csv") == "epoch,loss\n1,0.5\n");
  log.log({2, 0.1});
  log.log({3, NAN});
  REQUIRE(read_file(dir / "m.csv") == "epoch,loss\n1,0.5\n2,0.1\n3,nan\n");
  REQUIRE_THAT(error_of<ValueError>([&] { log.log({1}); }), Catch::Contains("1 values for 2 columns"));
  CsvTable t = read_csv(dir / "m.csv");
  REQUIRE(t.columns == std::vector<std::string>{"epoch", "loss"});
  REQUIRE(t.numbers("loss")[1] == 0.1);
  REQUIRE(std::isnan(t.numbers("loss")[2]));
  REQUIRE_THAT(error_of<ValueError>([&] { t.numbers("acc"); }), Catch::Contains("no column 'acc' (the columns are: epoch, loss)"));
}

TEST_CASE("csv logger resume keeps one header and drops rows past the checkpoint") {
  TempDir dir;
  {
    CsvLogger log(dir / "m.csv", {"epoch", "loss"});
    for (int e = 1; e <= 4; ++e) log.log({double(e), 1.0 / e});
  }
  {
    std::ofstream torn(dir / "m.csv", std::ios::app);
    torn << "5,0.";  // a crash mid-row
  }
  {
    CsvLogger log = CsvLogger::resume(dir / "m.csv", {"epoch", "loss"}, 2);  // the checkpoint of epoch 2
    log.log({3, 0.3});
  }
  REQUIRE(read_file(dir / "m.csv") == "epoch,loss\n1,1\n2,0.5\n3,0.3\n");
  // Resuming twice still gives one header.
  CsvLogger::resume(dir / "m.csv", {"epoch", "loss"}, 3).log({4, 0.25});
  const std::string text = read_file(dir / "m.csv");
  REQUIRE(count(text, "epoch,loss") == 1);
  REQUIRE(read_csv(dir / "m.csv").rows.size() == 4);
  // A different header is refused, naming both.
  REQUIRE_THAT(error_of<FileError>([&] { CsvLogger::resume(dir / "m.csv", {"step", "loss"}, 1); }),
               Catch::Contains("its header is 'epoch,loss' but this run logs 'step,loss'"));
  // A kept row wider than the header would make the resumed log unreadable
  // (found by tests/fuzz/csv.cpp); rows past the checkpoint go unread.
  write_file_atomic(dir / "wide.csv", "epoch,loss\n1,0.5\n2,0.4,9\n3,0.3,9\n");
  REQUIRE_THAT(error_of<FileError>([&] { CsvLogger::resume(dir / "wide.csv", {"epoch", "loss"}, 2); }),
               Catch::Contains("cannot resume") && Catch::Contains("line 3 has 3 cells but the header has 2"));
  REQUIRE(csv_rows_up_to("epoch,loss\n1,0.5\n3,0.3,9\n", {"epoch", "loss"}, 1) == "epoch,loss\n1,0.5\n");
  // No file yet: a fresh log.
  CsvLogger::resume(dir / "new.csv", {"a"}, 0).log({7});
  REQUIRE(read_file(dir / "new.csv") == "a\n7\n");
}

TEST_CASE("read_csv handles quotes and reports bad files") {
  TempDir dir;
  write_file_atomic(dir / "q.csv", "shape,ratio\n\"conv 3x3, s2\",1.5\nplain,x\n");
  CsvTable t = read_csv(dir / "q.csv");
  REQUIRE(t.text("shape")[0] == "conv 3x3, s2");
  REQUIRE(t.numbers("ratio")[0] == 1.5);
  REQUIRE(std::isnan(t.numbers("ratio")[1]));
  REQUIRE_THAT(error_of<FileError>([&] { read_csv(dir / "missing.csv"); }), Catch::Contains("cannot open"));
  write_file_atomic(dir / "empty.csv", "");
  REQUIRE_THAT(error_of<FileError>([&] { read_csv(dir / "empty.csv"); }), Catch::Contains("is empty"));
  write_file_atomic(dir / "wide.csv", "a,b\n1,2,3\n");
  REQUIRE_THAT(error_of<FileError>([&] { read_csv(dir / "wide.csv"); }), Catch::Contains("line 2 has 3 cells but the header has 2"));
}

TEST_CASE("run config is written as JSON beside the log") {
  TempDir dir;
  write_run_config(dir.path, {{"model", "lenet"}, {"lr", 0.001}});
  const nlohmann::json j = nlohmann::json::parse(read_file(dir / "config.json"));
  REQUIRE(j["model"] == "lenet");
  REQUIRE(j["lr"] == 0.001);
  REQUIRE_THAT(error_of<FileError>([&] { write_file_atomic(dir / "no/such/dir/x", "y"); }), Catch::Contains("cannot create the temporary file"));
}

// ---- report ----------------------------------------------------------------------

TEST_CASE("report embeds charts as data URIs and escapes everything") {
  REQUIRE(base64("") == "");
  REQUIRE(base64("f") == "Zg==");
  REQUIRE(base64("fo") == "Zm8=");
  REQUIRE(base64("foobar") == "Zm9vYmFy");
  Report r{.title = "run <1>", .status = "epoch 1 of 2"};
  r.facts = {{"test accuracy", "98.5%"}};
  r.figures = {{"Loss", "<svg/>", "loss.svg", "lower is better"}};
  r.results = {{"epoch", "loss"}, {{"1", "0.5"}}};
  r.config = {{"model", "a&b"}};
  const std::string html = report_html(r);
  REQUIRE(html.rfind("<!DOCTYPE html>", 0) == 0);
  REQUIRE_THAT(html, Catch::Contains("<title>run &lt;1&gt;</title>"));
  REQUIRE_THAT(html, Catch::Contains("src=\"data:image/svg+xml;base64," + base64("<svg/>") + "\""));
  REQUIRE_THAT(html, Catch::Contains("<a href=\"loss.svg\">"));
  REQUIRE_THAT(html, Catch::Contains("<td>a&amp;b</td>"));
  REQUIRE_THAT(html, Catch::Contains("98.5%"));
  // Self-contained: nothing fetched from anywhere.
  REQUIRE(html.find("http") == std::string::npos);
  REQUIRE(html.find("<script") == std::string::npos);
}

// ---- graph pictures --------------------------------------------------------------

TEST_CASE("autograd and module graphs render through Graphviz") {
  INFO("Graphviz's dot must be installed (bash scripts/setup.sh installs it)");
  REQUIRE(dot_available());
  Tensor a = randn({2, 3}, {.requires_grad = true});
  const std::string svg = render_dot(graph_to_dot((a * a + 1).sum()));
  REQUIRE_THAT(svg, Catch::Contains("<svg"));
  REQUIRE_THAT(svg, Catch::Contains("MulBackward"));
  REQUIRE_THAT(error_of<ValueError>([] { render_dot("digraph { a -> }"); }), Catch::Contains("dot rejected the graph"));
}

TEST_CASE("render_dot says how to install Graphviz when dot is missing") {
  const std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  ::setenv("PATH", "/nonexistent", 1);
  const bool available = dot_available();
  const std::string msg = error_of<FileError>([] { render_dot("digraph { a }"); });
  ::setenv("PATH", path.c_str(), 1);
  REQUIRE_FALSE(available);
  REQUIRE_THAT(msg, Catch::Contains("apt-get install graphviz"));
}

TEST_CASE("module graph shows shapes and parameters, collapses repeats and caps depth") {
  using namespace ember::nn;
  auto block = [] { return std::make_shared<BasicBlock>(4, 4); };
  Sequential model(std::initializer_list<ModulePtr>{make<Conv2d>(1, 4, Pair{3, 3}, Conv2dOptions{.padding = {1, 1}}), block(), block(), block(),
                    make<Flatten>(), make<Linear>(4 * 8 * 8, 10)});
  const std::string dot = module_graph_to_dot(model, zeros({2, 1, 8, 8}));
  REQUIRE_THAT(dot, Catch::Contains("0: Conv2d\\nout [2, 4, 8, 8]\\n40 params"));
  REQUIRE_THAT(dot, Catch::Contains("1-3: BasicBlock  x 3\\nout [2, 4, 8, 8]\\n912 params"));  // three equal blocks, one box
  REQUIRE_THAT(dot, Catch::Contains("1-3.conv1: Conv2d"));
  REQUIRE_THAT(dot, Catch::Contains("5: Linear\\nout [2, 10]\\n2570 params"));
  REQUIRE_THAT(dot, Catch::Contains("model: Sequential\\nout [2, 10]\\n" + std::to_string(model.num_parameters()) + " params"));
  // Depth 1: the blocks' insides are folded into their box.
  const std::string shallow = module_graph_to_dot(model, zeros({2, 1, 8, 8}), {.max_depth = 1});
  REQUIRE_THAT(shallow, Catch::Contains("submodules"));
  REQUIRE(shallow.find("conv1") == std::string::npos);
  const std::string all = module_graph_to_dot(model, zeros({2, 1, 8, 8}), {.collapse_repeats = false});
  REQUIRE_THAT(all, Catch::Contains("2: BasicBlock"));
  REQUIRE_THAT(render_dot(dot), Catch::Contains("BasicBlock"));
}

// ---- TensorBoard -----------------------------------------------------------------

TEST_CASE("crc32c matches the standard check value") {
  REQUIRE(crc32c("123456789") == 0xE3069283u);
  REQUIRE(crc32c("") == 0u);
  // TFRecord's mask: rotate right by 15, add a constant.
  const uint32_t c = crc32c("abc");
  REQUIRE(masked_crc32c("abc") == ((c >> 15) | (c << 17)) + 0xa282ead8u);
}

TEST_CASE("event records equal the committed byte fixture") {
  // tests/fixtures/viz/scalar_events.bin was written by tests/tfevents_tool.py,
  // an independent encoder; the events are the tool's FIXTURE list.
  const std::string expected = read_file(fs::path(EMBER_SOURCE_DIR) / "tests/fixtures/viz/scalar_events.bin");
  const std::string ours = tfrecord(event_file_version(1700000000.5)) +
                           tfrecord(event_scalar(1700000000.5, 42, "loss/train", 0.25f)) +
                           tfrecord(event_scalar(1700000001.25, 300, "accuracy/test", 0.9875f));
  REQUIRE(ours.size() == expected.size());
  REQUIRE(ours == expected);
  // The well-known first 12 bytes of every TensorBoard event file: a 24-byte
  // version record and its masked length CRC.
  REQUIRE(ours.substr(0, 12) == std::string("\x18\0\0\0\0\0\0\0\xa3\x7f\x4b\x22", 12));
}

TEST_CASE("tensorboard writer names its file as TensorBoard expects and frames every record") {
  TempDir dir;
  fs::path path;
  {
    TensorBoardWriter tb(dir / "tb");
    tb.add_scalar("loss", 0.5, 1);
    tb.add_scalar("loss", 0.25, 2);
    path = tb.path();
  }
  REQUIRE(std::regex_match(path.filename().string(), std::regex(R"(events\.out\.tfevents\.\d{10}\..+)")));
  const std::string data = read_file(path);
  size_t pos = 0, records = 0;
  while (pos < data.size()) {  // walk the framing, recomputing both CRCs
    REQUIRE(pos + 12 <= data.size());
    uint64_t len = 0;
    for (int i = 7; i >= 0; --i) len = len << 8 | static_cast<unsigned char>(data[pos + i]);
    auto u32 = [&](size_t at) {
      uint32_t v = 0;
      for (int i = 3; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(data[at + i]);
      return v;
    };
    REQUIRE(u32(pos + 8) == masked_crc32c(data.substr(pos, 8)));
    REQUIRE(pos + 16 + len <= data.size());
    REQUIRE(u32(pos + 12 + len) == masked_crc32c(data.substr(pos + 12, len)));
    pos += 16 + len;
    ++records;
  }
  REQUIRE(records == 3);
  REQUIRE_THAT(error_of<FileError>([&] { TensorBoardWriter(dir / "tb" / path.filename() / "x"); }),
               Catch::Contains("cannot create"));
}

// ---- progress bar ----------------------------------------------------------------

TEST_CASE("progress bar prints plain lines when not on a terminal") {
  std::FILE* f = std::tmpfile();
  REQUIRE(f);
  {
    ProgressBar bar(8, "epoch 1", f);
    REQUIRE_FALSE(bar.is_terminal());
    for (int i = 1; i <= 8; ++i) bar.update(i, "loss 0.5");
    bar.finish();
  }
  std::rewind(f);
  std::string text;
  char buf[256];
  while (std::fgets(buf, sizeof buf, f)) text += buf;
  std::fclose(f);
  REQUIRE(count(text, "\n") == 3);  // at 25%, 50% and 75%: the caller prints the end
  REQUIRE_THAT(text, Catch::Contains("epoch 1: 2/8  loss 0.5"));
  REQUIRE(text.find('\r') == std::string::npos);
}
