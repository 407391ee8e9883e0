#include "report.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include <ember/viz/charts.h>

namespace ember::bench {

namespace {

// A number for CSV and markdown: "" for NaN, else %.4g (times in ms keep
// four significant digits).
std::string num(double v, const char* fmt = "%.4g") {
  if (std::isnan(v)) return "";
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

// JSON has no NaN: null.
nlohmann::ordered_json jnum(double v) {
  return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr);
}

// The pipe would end a markdown cell.
std::string md_cell(std::string s) {
  for (size_t i = 0; (i = s.find('|', i)) != std::string::npos; i += 2) s.replace(i, 1, "\\|");
  return s;
}

bool compute_bound(const Row& row, const Ceilings& c) {
  const double ridge = c.sgemm_tflops * 1e3 / c.copy_gbps;  // FLOP per byte where the ceilings meet
  return std::isfinite(ridge) && row.intensity() > ridge;
}

}  // namespace

std::string bound_by(const Row& row, const Ceilings& c) {
  if (std::isnan(row.intensity())) return row.bytes > 0 ? "memory" : row.flops > 0 ? "compute" : "";
  if (!std::isfinite(c.sgemm_tflops * 1e3 / c.copy_gbps)) return "";  // no ridge: unknown
  return compute_bound(row, c) ? "compute" : "memory";
}

double ceiling_fraction(const Row& row, const Ceilings& c) {
  if (!row.ok()) return kNaN;
  const std::string bound = bound_by(row, c);
  if (bound == "compute") return row.tflops() / c.sgemm_tflops;
  if (bound == "memory") return row.gbps() / c.copy_gbps;
  return kNaN;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return q + "\"";
}

std::string to_csv(const std::vector<Row>& rows, const Ceilings& c) {
  std::ostringstream out;
  out << "family,case,shape,impl,vendor,status,median_ms,q1_ms,q3_ms,reps,converged,tflops,gbps,intensity,"
         "ratio_to_vendor,ceiling_fraction,bound,max_rel_err,vendor_rel_err\n";
  for (const Row& r : rows) {
    out << csv_field(r.family) << ',' << csv_field(r.name) << ',' << csv_field(r.shape) << ',' << csv_field(r.impl)
        << ',' << (r.vendor ? 1 : 0) << ',' << csv_field(r.status) << ',';
    if (r.ok())
      out << num(r.ms.median, "%.6g") << ',' << num(r.ms.q1, "%.6g") << ',' << num(r.ms.q3, "%.6g") << ',' << r.ms.n
          << ',' << (r.converged ? 1 : 0);
    else out << ",,,,";
    out << ',' << num(r.tflops(), "%.6g") << ',' << num(r.gbps(), "%.6g") << ',' << num(r.intensity(), "%.6g") << ','
        << num(r.ratio(), "%.6g") << ',' << num(ceiling_fraction(r, c), "%.6g") << ',' << bound_by(r, c) << ','
        << num(r.max_rel_err, "%.3g") << ',' << num(r.vendor_rel_err, "%.3g") << '\n';
  }
  return out.str();
}

std::string to_json(const std::vector<Row>& rows, const Meta& meta, const Ceilings& c) {
  nlohmann::ordered_json j;  // the facts keep their order
  nlohmann::ordered_json m = nlohmann::ordered_json::object();
  for (const auto& [k, v] : meta) m[k] = v;
  j["meta"] = m;
  j["ceilings"] = {{"copy_gbps", jnum(c.copy_gbps)}, {"copy_source", c.copy_source},
                   {"sgemm_tflops", jnum(c.sgemm_tflops)}, {"sgemm_source", c.sgemm_source}};
  j["rows"] = nlohmann::ordered_json::array();
  for (const Row& r : rows) {
    nlohmann::ordered_json row = {{"family", r.family}, {"case", r.name}, {"shape", r.shape}, {"impl", r.impl},
                          {"vendor", r.vendor}, {"status", r.status}, {"flops", r.flops}, {"bytes", r.bytes},
                          {"max_rel_err", jnum(r.max_rel_err)}, {"vendor_rel_err", jnum(r.vendor_rel_err)},
                          {"bound", bound_by(r, c)}};
    if (r.ok()) {
      row["ms"] = {{"median", r.ms.median}, {"q1", r.ms.q1}, {"q3", r.ms.q3}, {"min", r.ms.min},
                   {"max", r.ms.max}, {"n", r.ms.n}};
      row["converged"] = r.converged;
      row["tflops"] = jnum(r.tflops());
      row["gbps"] = jnum(r.gbps());
      row["ratio_to_vendor"] = jnum(r.ratio());
      row["ceiling_fraction"] = jnum(ceiling_fraction(r, c));
    }
    j["rows"].push_back(row);
  }
  return j.dump(1) + "\n";
}

std::string to_markdown(const std::vector<Row>& rows, const Meta& meta, const Ceilings& c) {
  std::ostringstream out;
  out << "# ember-bench\n\n";
  for (const auto& [k, v] : meta) out << "- **" << md_cell(k) << "**: " << md_cell(v) << "\n";
  out << "- **ceilings** (measured in this run): bandwidth " << num(c.copy_gbps, "%.1f") << " GB/s ("
      << c.copy_source << "), FLOP/s " << num(c.sgemm_tflops, "%.2f") << " TFLOP/s (" << c.sgemm_source << ")\n\n";
  out << "Times are medians per call, with the interquartile range; the ratio is the vendor's time over this "
         "row's (above 1: faster than the vendor). `~` marks a row whose spread never settled under the noise "
         "bound.\n";
  std::string family;
  for (const Row& r : rows) {
    if (r.family != family) {
      family = r.family;
      out << "\n## " << md_cell(family) << "\n\n"
          << "| case | shape | impl | ms (IQR) | TFLOP/s | GB/s | vs vendor | of ceiling | max rel err |\n"
          << "|---|---|---|---:|---:|---:|---:|---:|---:|\n";
    }
    out << "| " << md_cell(r.name) << " | " << md_cell(r.shape) << " | " << md_cell(r.impl) << (r.vendor ? " *" : "")
        << " | ";
    if (!r.ok()) {
      out << "**" << md_cell(r.status) << "** | | | | | " << num(r.max_rel_err, "%.2g") << " |\n";
      continue;
    }
    out << num(r.ms.median) << " (" << num(r.ms.iqr(), "%.2g") << ")" << (r.converged ? "" : " ~") << " | "
        << num(r.tflops(), "%.3g") << " | " << num(r.gbps(), "%.4g") << " | " << num(r.ratio(), "%.2f") << " | "
        << num(100 * ceiling_fraction(r, c), "%.0f") << (std::isnan(ceiling_fraction(r, c)) ? "" : "%") << " | "
        << num(r.max_rel_err, "%.2g") << " |\n";
  }
  out << "\n`*`: the vendor library's own row.\n";
  return out.str();
}

std::string ratio_chart(const std::vector<Row>& rows, const std::string& family, const std::string& vendor_name) {
  std::vector<std::string> cases, impls;
  std::map<std::pair<std::string, std::string>, double> ratio;
  for (const Row& r : rows) {
    if (r.family != family || r.vendor || std::isnan(r.ratio())) continue;
    const std::string label = r.name;
    if (std::find(cases.begin(), cases.end(), label) == cases.end()) cases.push_back(label);
    if (std::find(impls.begin(), impls.end(), r.impl) == impls.end()) impls.push_back(r.impl);
    ratio[{label, r.impl}] = r.ratio();
  }
  if (cases.empty()) return "";
  std::vector<viz::BarSeries> series;
  for (const std::string& impl : impls) {
    viz::BarSeries s{impl, {}};
    for (const std::string& cs : cases) {
      auto it = ratio.find({cs, impl});
      s.values.push_back(it == ratio.end() ? kNaN : it->second);
    }
    series.push_back(std::move(s));
  }
  viz::BarChartOptions o;
  o.title = family + ": Ember's speed relative to " + vendor_name;
  o.y_label = vendor_name + " time / Ember time";
  o.reference = 1.0;
  o.reference_label = "parity";
  o.log_y = true;
  o.width = std::max(720.0, 90.0 * static_cast<double>(cases.size()) * std::max<size_t>(1, impls.size()) / 3);
  return viz::bar_chart(cases, series, o);
}

std::string roofline_chart(const std::vector<Row>& rows, const Ceilings& c, const std::string& title) {
  std::vector<viz::RooflinePoint> points;
  for (const Row& r : rows)
    if (r.ok() && r.flops > 0 && r.bytes > 0 && r.family != "ceiling")
      points.push_back({r.family, r.intensity(), r.tflops() * 1e3});
  viz::RooflineOptions o;
  o.title = title;
  o.bandwidth_gbps = std::isfinite(c.copy_gbps) ? c.copy_gbps : 0;
  o.peak_gflops = std::isfinite(c.sgemm_tflops) ? c.sgemm_tflops * 1e3 : 0;
  o.bandwidth_label = "copy " + num(c.copy_gbps, "%.0f") + " GB/s";
  o.peak_label = c.sgemm_source + " " + num(c.sgemm_tflops, "%.1f") + " TFLOP/s";
  return viz::roofline_chart(points, o);
}

}  // namespace ember::bench
