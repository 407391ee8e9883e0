// Tests of ember-bench's harness (bench/harness/): the statistics, the
// timing loop driven by a scripted clock (warm-up, batches, the noise
// criterion, the time limit, the flush before each cold repetition), the
// flush buffer's sizing and the cache sizes it reads, the GPU clock
// parsing and throttle warning, the CSV, JSON and markdown writers, the
// charts, and run_problem's rule that a wrong result is never timed. That
// the SVGs are well-formed and render is checked by check_viz_samples.sh.
#include "support.h"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "clocks.h"
#include "measure.h"
#include "problem.h"
#include "report.h"

using namespace ember;
using namespace ember::bench;

namespace {

// A clock that reports scripted times, and a fake wall clock that each
// repetition advances by its own time.
struct ScriptedClock final : RepClock {
  std::vector<double> script;  // ms, consumed in order, the last repeated
  size_t next = 0;
  double* wall_s = nullptr;
  int reps = 0, batches = 0;
  std::vector<double> out;
  void reset(int n) override {
    reps = n;
    ++batches;
    out.clear();
  }
  void begin(int) override {}
  void end(int) override {
    const double ms = script[std::min(next++, script.size() - 1)];
    out.push_back(ms);
    *wall_s += ms / 1e3;
  }
  std::vector<double> elapsed_ms() override { return out; }
};

}  // namespace

TEST_CASE("quantiles interpolate between ranks as NumPy's default does", "[bench]") {
  const Summary s = summarize({4, 1, 3, 2});
  REQUIRE(s.n == 4);
  REQUIRE(s.min == 1);
  REQUIRE(s.max == 4);
  REQUIRE(s.median == 2.5);
  REQUIRE(s.q1 == 1.75);
  REQUIRE(s.q3 == 3.25);
  REQUIRE(s.iqr() == 1.5);
  REQUIRE(s.rel_spread() == 0.6);
  REQUIRE(summarize({7}).median == 7);
  REQUIRE(quantile({1, 2, 3, 4, 5}, 0.5) == 3);
  REQUIRE(quantile({10, 20}, 0.1) == Approx(11));
  REQUIRE_THROWS_WITH_ALL(summarize({}), ValueError, "no samples");
  REQUIRE_THROWS_WITH_ALL(summarize({1, std::nan("")}), ValueError, "NaN");
  REQUIRE_THROWS_WITH_ALL(quantile({1}, 1.5), ValueError, "q must be in [0, 1]");
}

TEST_CASE("a steady kernel is timed in one batch sized by the estimate, after a timed warm-up", "[bench]") {
  double wall = 0;
  ScriptedClock clock;
  clock.script = {1.0};  // every repetition 1 ms
  clock.wall_s = &wall;
  int runs = 0, flushes = 0;
  TimingOptions o;
  o.warmup_ms = 10;
  o.rep_ms = 20;
  const Timed t = measure([&] { ++runs; }, [&] { ++flushes; }, clock, o, [&] { return wall; });
  REQUIRE(t.converged);
  REQUIRE(t.ms.median == 1.0);
  REQUIRE(t.ms.n == 20);    // rep_ms / estimate
  REQUIRE(t.warmup == 10);  // warmup_ms / estimate
  REQUIRE(clock.batches == 2);  // the estimate, then one batch
  REQUIRE(runs == 1 + 3 + 10 + 20);
  REQUIRE(flushes == 3 + 20);  // before every marked repetition, never before warm-up calls
}

TEST_CASE("a noisy kernel gets more batches until the time limit, and says it never settled", "[bench]") {
  double wall = 0;
  ScriptedClock clock;
  for (int i = 0; i < 10000; ++i) clock.script.push_back(i % 2 ? 1.0 : 2.0);  // IQR/median far above 5%
  clock.wall_s = &wall;
  TimingOptions o;
  o.warmup_ms = 0;
  o.rep_ms = 10;
  o.max_row_s = 0.2;
  const Timed t = measure([] {}, [] {}, clock, o, [&] { return wall; });
  REQUIRE_FALSE(t.converged);
  REQUIRE(clock.batches > 3);      // it tried again
  REQUIRE(t.wall_s <= 0.2 + 0.02);  // and stopped at the limit (one batch of slack at most)
  REQUIRE(t.ms.n >= 5);
}

TEST_CASE("a flush slower than the call counts against the row's time limit", "[bench]") {
  double wall = 0;
  ScriptedClock clock;
  for (int i = 0; i < 10000; ++i) clock.script.push_back(i % 2 ? 1.0 : 2.0);  // noisy: only the limit stops it
  clock.wall_s = &wall;
  int flushes = 0;
  TimingOptions o;
  o.warmup_ms = 0;
  o.rep_ms = 1000;
  o.max_row_s = 0.5;
  const Timed t = measure([] {}, [&] { ++flushes, wall += 0.01; }, clock, o, [&] { return wall; });  // 10 ms a flush
  REQUIRE_FALSE(t.converged);
  REQUIRE(t.wall_s <= 0.5 + 0.05);  // not 1000 repetitions of 11 ms
  REQUIRE(flushes < 50);
}

TEST_CASE("noise that settles stops the reruns, and a hot row never flushes", "[bench]") {
  double wall = 0;
  ScriptedClock clock;
  clock.script = {1, 1, 1, 1, 3, 1, 3, 1, 3, 1};  // the first batch is noisy
  for (int i = 0; i < 100; ++i) clock.script.push_back(1.0);
  clock.wall_s = &wall;
  int flushes = 0;
  TimingOptions o;
  o.warmup_ms = 0;
  o.rep_ms = 6;
  o.min_reps = 6;
  o.cold = false;
  const Timed t = measure([] {}, [&] { ++flushes; }, clock, o, [&] { return wall; });
  REQUIRE(t.converged);
  REQUIRE(clock.batches >= 3);
  REQUIRE(flushes == 0);
  TimingOptions bad;
  bad.min_reps = 0;
  REQUIRE_THROWS_WITH_ALL(measure([] {}, [] {}, clock, bad), ValueError, "min_reps");
}

TEST_CASE("the flush buffer is twice the cache in whole MiB, and cache sizes are read from sysfs", "[bench]") {
  constexpr size_t MiB = size_t(1) << 20;
  REQUIRE(flush_bytes(50 * MiB) == 100 * MiB);  // an H100/H200 L2
  REQUIRE(flush_bytes(0) == MiB);               // unknown: still a buffer
  REQUIRE(flush_bytes(1) == MiB);
  REQUIRE(flush_bytes(40 * MiB + 1) == 81 * MiB);
  REQUIRE(parse_cache_size("32768K\n") == 32 * MiB);
  REQUIRE(parse_cache_size("1M") == MiB);
  REQUIRE(parse_cache_size("512") == 512);
  REQUIRE(parse_cache_size("junk") == 0);
  REQUIRE(parse_cache_size("12Q") == 0);
  test::TempDir dir;
  for (auto [index, size] : {std::pair{"index0", "48K"}, {"index2", "1024K"}, {"index3", "32768K"}}) {
    std::filesystem::create_directories(dir.path / index);
    std::ofstream(dir.path / index / "size") << size << "\n";
  }
  std::filesystem::create_directories(dir.path / "power");  // not a cache
  REQUIRE(cpu_cache_bytes(dir.path.string()) == 32 * MiB);
  REQUIRE(cpu_cache_bytes((dir.path / "missing").string()) == 0);
}

TEST_CASE("GPU clocks parse from nvidia-smi, and a falling clock is a warning", "[bench]") {
  const GpuClocks c = parse_clocks("1980, 1980\n");
  REQUIRE(c.sm_mhz == 1980);
  REQUIRE(c.max_sm_mhz == 1980);
  REQUIRE_FALSE(parse_clocks("[N/A], 1980").known());
  REQUIRE_FALSE(parse_clocks("").known());
  REQUIRE(throttle_warning({1980, 1980}, {1965, 1980}) == "");
  const std::string w = throttle_warning({1980, 1980}, {1400, 1980});
  REQUIRE(w.find("1980 MHz to 1400 MHz") != std::string::npos);
  REQUIRE(throttle_warning({}, {1400, 1980}) == "");  // nothing to compare with
}

namespace {

Row row(const char* family, const char* name, const char* shape, const char* impl) {
  Row r;
  r.family = family;
  r.name = name;
  r.shape = shape;
  r.impl = impl;
  return r;
}

Impl impl(const char* name, bool vendor = false, const char* skip = "") {
  Impl i;
  i.name = name;
  i.vendor = vendor;
  i.skip = skip;
  return i;
}

std::vector<Row> sample_rows() {
  Row vendor = row("sgemm", "square_1024", "1024x1024x1024", "cuBLAS");
  vendor.vendor = true;
  vendor.ms = summarize({1.0, 1.0, 1.0});
  vendor.flops = 2e9;
  vendor.bytes = 12e6;
  Row ours = vendor;
  ours.impl = "warp_tiled";
  ours.vendor = false;
  ours.ms = summarize({2.0, 2.0, 2.0});
  ours.vendor_ms = 1.0;
  ours.max_rel_err = 1e-6;
  Row failed = ours;
  failed.impl = "naive";
  failed.status = "FAILED: max relative error 0.5, against \"the\" reference";
  Row add = row("add", "add", "67108864", "ember");
  add.ms = summarize({1.0});
  add.bytes = 3e9;  // 3 GB in 1 ms: 3000 GB/s
  add.flops = 1e6;
  return {vendor, ours, failed, add};
}

Ceilings sample_ceilings() {
  Ceilings c;
  c.copy_gbps = 4000;
  c.sgemm_tflops = 50;
  c.copy_source = "copy";
  c.sgemm_source = "cuBLAS 8192^3";
  return c;
}

}  // namespace

TEST_CASE("a row's rates, ratio and fraction of the bounding ceiling", "[bench]") {
  const auto rows = sample_rows();
  const Ceilings c = sample_ceilings();
  REQUIRE(rows[1].tflops() == Approx(1.0));
  REQUIRE(rows[1].ratio() == Approx(0.5));  // the vendor twice as fast
  REQUIRE(std::isnan(rows[0].ratio()));     // the vendor's own row
  REQUIRE(std::isnan(rows[2].tflops()));    // a failed row has no rate
  REQUIRE(bound_by(rows[1], c) == "compute");  // 2e9 / 12e6 = 167 FLOP/B, past the ridge at 12.5
  REQUIRE(ceiling_fraction(rows[1], c) == Approx(1.0 / 50));
  REQUIRE(bound_by(rows[3], c) == "memory");
  REQUIRE(ceiling_fraction(rows[3], c) == Approx(3000.0 / 4000));
  Ceilings no_flops = c;
  no_flops.sgemm_tflops = kNaN;  // no FLOP ceiling: no ridge, so the bound is unknown, not "memory"
  REQUIRE(bound_by(rows[1], no_flops) == "");
  REQUIRE(std::isnan(ceiling_fraction(rows[1], no_flops)));
}

TEST_CASE("the CSV has a header, one line per row, quotes where needed and no time for a failure", "[bench]") {
  const std::string csv = to_csv(sample_rows(), sample_ceilings());
  std::vector<std::string> lines;
  std::istringstream in(csv);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  REQUIRE(lines.size() == 5);
  REQUIRE(lines[0].rfind("family,case,shape,impl,vendor,status,median_ms,", 0) == 0);
  REQUIRE(lines[1].rfind("sgemm,square_1024,1024x1024x1024,cuBLAS,1,ok,1,", 0) == 0);
  REQUIRE(lines[2].find(",0.5,") != std::string::npos);  // ratio_to_vendor
  REQUIRE(lines[3].find("naive,0,\"FAILED: max relative error 0.5, against \"\"the\"\" reference\",,,,,") !=
          std::string::npos);
  REQUIRE(csv_field("a,b") == "\"a,b\"");
  REQUIRE(csv_field("plain") == "plain");
}

TEST_CASE("the JSON carries the facts, the ceilings and every row, with null for no value", "[bench]") {
  const Meta meta{{"device", "NVIDIA H200"}, {"date", "2026-12-01"}};
  const auto j = nlohmann::json::parse(to_json(sample_rows(), meta, sample_ceilings()));
  REQUIRE(j["meta"]["device"] == "NVIDIA H200");
  REQUIRE(j["ceilings"]["sgemm_tflops"] == 50);
  REQUIRE(j["rows"].size() == 4);
  REQUIRE(j["rows"][1]["ratio_to_vendor"].get<double>() == Approx(0.5));
  REQUIRE(j["rows"][0]["ratio_to_vendor"].is_null());
  REQUIRE(j["rows"][2]["status"].get<std::string>().rfind("FAILED", 0) == 0);
  REQUIRE_FALSE(j["rows"][2].contains("ms"));  // never timed
  REQUIRE(j["rows"][3]["bound"] == "memory");
}

TEST_CASE("the markdown has the facts, a table per family, failures in bold and pipes escaped", "[bench]") {
  const Meta meta{{"device", "a|b"}};
  const std::string md = to_markdown(sample_rows(), meta, sample_ceilings());
  REQUIRE(md.find("- **device**: a\\|b") != std::string::npos);
  REQUIRE(md.find("## sgemm") != std::string::npos);
  REQUIRE(md.find("## add") != std::string::npos);
  REQUIRE(md.find("| square_1024 | 1024x1024x1024 | warp_tiled | 2 (0) | 1 | ") != std::string::npos);
  REQUIRE(md.find("| 0.50 | 2% |") != std::string::npos);
  REQUIRE(md.find("**FAILED: max relative error 0.5") != std::string::npos);
  REQUIRE(md.find("cuBLAS *") != std::string::npos);
}

TEST_CASE("the ratio chart has a bar per timed non-vendor row, the roofline a marker per rated row", "[bench]") {
  auto rows = sample_rows();
  const std::string bars = ratio_chart(rows, "sgemm", "cuBLAS");
  REQUIRE(bars.find("<svg") != std::string::npos);
  REQUIRE(bars.find("warp_tiled") != std::string::npos);
  REQUIRE(bars.find(">naive<") == std::string::npos);  // failed: no bar, no legend entry
  REQUIRE(ratio_chart(rows, "add", "cuBLAS").empty());  // no vendor, no ratio
  Row ceiling = rows[3];
  ceiling.family = "ceiling";
  rows.push_back(ceiling);
  const std::string roof = roofline_chart(rows, sample_ceilings(), "Roofline");
  size_t circles = 0;
  for (size_t p = roof.find("<circle"); p != std::string::npos; p = roof.find("<circle", p + 1)) ++circles;
  REQUIRE(circles == 3);  // vendor, ours, add: not the failure, not the ceiling
  REQUIRE(roof.find("cuBLAS 8192^3 50.0 TFLOP/s") != std::string::npos);
}

TEST_CASE("run_problem never times a wrong result, puts the vendor first, and reports every row", "[bench]") {
  int timed = 0;
  Problem p;
  p.family = "toy";
  p.name = "double";
  p.tol = 1e-6;
  const Tensor x = from_vector(std::vector<float>{1, 2, 3}, {3});
  p.prepare = [&] {
    auto in = std::make_unique<Instance>();
    in->op = {[&] { ++timed; }, [x] { return x * 2; }};
    in->own["wrong"] = {[&] { ++timed; }, [x] { return x * 2 + 1e-3; }};
    in->own["vendor"] = {[&] { ++timed; }, [x] { return x * 2; }};
    const Tensor ref = from_vector(std::vector<double>{2, 4, 6}, {3});
    in->error = [ref](const Tensor& out) { return max_rel_error(out, ref); };
    return in;
  };
  p.impls = {impl("right"), impl("wrong"), impl("skipped", false, "too slow"), impl("vendor", true)};
  RunOptions o;
  o.timing.max_row_s = 0.05;
  o.timing.warmup_ms = 0;
  o.flush = [] {};
  o.clock = [] { return std::unique_ptr<RepClock>(new HostClock); };
  o.verbose = false;
  const std::vector<Row> rows = run_problem(p, o);
  REQUIRE(rows.size() == 4);
  REQUIRE(rows[0].impl == "right");  // in the problem's order
  REQUIRE(rows[0].ok());
  REQUIRE(rows[0].max_rel_err == 0);
  REQUIRE(rows[0].vendor_rel_err == 0);
  REQUIRE(rows[0].vendor_ms == rows[3].ms.median);  // the vendor ran first
  REQUIRE(rows[1].status.rfind("FAILED: max relative error", 0) == 0);
  REQUIRE(rows[1].ms.n == 0);  // never timed
  REQUIRE(rows[2].status == "skipped: too slow");
  REQUIRE(rows[3].vendor);
  REQUIRE(timed > 0);
  p.prepare = [] () -> std::unique_ptr<Instance> { throw ValueError("no memory for the inputs"); };
  const std::vector<Row> failed = run_problem(p, o);
  REQUIRE(failed.size() == 4);
  for (const Row& r : failed) REQUIRE(r.status.find("no memory for the inputs") != std::string::npos);
}

TEST_CASE("max_rel_error is relative to the reference's scale and infinite for NaN", "[bench]") {
  const Tensor ref = from_vector(std::vector<double>{0, 10, -20}, {3});
  REQUIRE(max_rel_error(from_vector(std::vector<float>{0, 10, -20}, {3}), ref) == 0);
  REQUIRE(max_rel_error(from_vector(std::vector<float>{0.2f, 10, -20}, {3}), ref) == Approx(0.01));
  REQUIRE(std::isinf(max_rel_error(from_vector(std::vector<float>{NAN, 10, -20}, {3}), ref)));
  REQUIRE_THROWS_WITH_ALL(max_rel_error(ref, from_vector(std::vector<double>{1}, {1})), ValueError, "3 elements");
}
