// A benchmark run's rows and what they are written as: CSV (one row per
// line, for scripts), JSON (rows plus the run's facts, for tools), a
// markdown table (for people and bench/results/), an SVG chart of the
// ratios per family, and a roofline. docs/benchmarks.md, "Reading a row".
#pragma once

#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "stats.h"

namespace ember::bench {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Row {
  std::string family, name, shape, impl;  // "sgemm", "square_4096", "4096x4096x4096", "warp_tiled"
  // "ok", or why the row has no time: "FAILED: ..." (the result was
  // checked and is wrong, or the op threw: never timed) or "skipped: ..."
  // (too slow a rung for this size, the run's time limit). A build without
  // the vendor library has no vendor rows at all.
  std::string status = "ok";
  bool vendor = false;                 // this row is the vendor library itself
  Summary ms;                          // per call
  bool converged = true;               // the noise criterion was met
  double flops = 0, bytes = 0;         // per call: FLOPs, and bytes read plus written
  double max_rel_err = kNaN;           // against the reference (the CPU's, in float64)
  double vendor_rel_err = kNaN;        // against the vendor library's result
  double vendor_ms = kNaN;             // the vendor row's median for the same problem
  bool ok() const { return status == "ok"; }
  double tflops() const { return ok() && flops > 0 ? flops / (ms.median * 1e-3) / 1e12 : kNaN; }
  double gbps() const { return ok() && bytes > 0 ? bytes / (ms.median * 1e-3) / 1e9 : kNaN; }
  double intensity() const { return flops > 0 && bytes > 0 ? flops / bytes : kNaN; }
  // The vendor's time over ours: above 1, Ember is faster.
  double ratio() const { return ok() && !vendor ? vendor_ms / ms.median : kNaN; }
};

// The ceilings measured in the same run: a device-to-device copy for
// bandwidth (bytes read plus written), the vendor SGEMM for FLOP/s.
struct Ceilings {
  double copy_gbps = kNaN, sgemm_tflops = kNaN;
  std::string copy_source, sgemm_source;  // what was timed: "cudaMemcpy 1 GiB", "cuBLAS 8192^3"
};

// A row's fraction of the ceiling that bounds it: the FLOP ceiling when its
// intensity is past the ridge (compute-bound), the bandwidth one otherwise.
double ceiling_fraction(const Row& row, const Ceilings& c);
// "compute" or "memory": which ceiling bounds it, by the same rule.
std::string bound_by(const Row& row, const Ceilings& c);

// The run's facts, in order: device, driver, CUDA, cuDNN, cuBLAS, clocks,
// date, commit...
using Meta = std::vector<std::pair<std::string, std::string>>;

std::string to_csv(const std::vector<Row>& rows, const Ceilings& c);
std::string to_json(const std::vector<Row>& rows, const Meta& meta, const Ceilings& c);
std::string to_markdown(const std::vector<Row>& rows, const Meta& meta, const Ceilings& c);
// One chart per family with any ratio: Ember's implementations' speed
// relative to the vendor's, per problem (empty string when there is none).
std::string ratio_chart(const std::vector<Row>& rows, const std::string& family, const std::string& vendor_name);
// Every timed row with FLOPs and bytes, under the two measured ceilings.
std::string roofline_chart(const std::vector<Row>& rows, const Ceilings& c, const std::string& title);
// A CSV field: quoted when it holds a comma, quote or newline.
std::string csv_field(const std::string& s);

}  // namespace ember::bench
