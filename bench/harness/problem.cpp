// run_problem (problem.h): check, then time, every implementation of one
// problem (Note [A problem and its implementations]).
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "problem.h"

namespace ember::bench {

Tensor flat64(const std::vector<Tensor>& parts) {
  std::vector<Tensor> flat;
  for (const Tensor& t : parts) flat.push_back(t.to(Device("cpu")).to(DType::Float64).reshape({t.numel()}));
  return flat.size() == 1 ? flat[0] : cat(flat, 0);
}

double max_rel_error(const Tensor& x, const Tensor& ref) {
  EMBER_CHECK(x.numel() == ref.numel(), ValueError, "max_rel_error: ", x.numel(), " elements against ", ref.numel());
  const Tensor a = flat64({x}), b = flat64({ref});
  const double* pa = a.data_ptr<double>();
  const double* pb = b.data_ptr<double>();
  double diff = 0, scale = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double d = std::abs(pa[i] - pb[i]);
    diff = std::isnan(d) ? INFINITY : std::max(diff, d);  // a NaN result is infinitely wrong
    scale = std::max(scale, std::abs(pb[i]));
  }
  if (diff == 0) return 0;
  return scale > 0 ? diff / scale : INFINITY;
}

namespace {

struct Selected {
  std::function<void()> undo;
  explicit Selected(const Impl& impl) : undo(impl.select()) {}
  ~Selected() { undo(); }
};

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

const Op& op_of(const Instance& in, const Impl& impl) {
  auto it = in.own.find(impl.name);
  return it == in.own.end() ? in.op : it->second;
}

}  // namespace

std::vector<Row> run_problem(const Problem& p, const RunOptions& o) {
  // Fault injection for tests/bench_smoke.sh: every checked result off by
  // one, to prove that a wrong result fails the row and is never timed.
  static const bool corrupt = std::getenv("EMBER_BENCH_CORRUPT") != nullptr;
  std::vector<Row> rows;
  auto row_for = [&](const Impl& impl) {
    Row r;
    r.family = p.family;
    r.name = p.name;
    r.shape = p.shape;
    r.impl = impl.name;
    r.vendor = impl.vendor;
    r.flops = p.flops;
    r.bytes = p.bytes;
    return r;
  };
  std::unique_ptr<Instance> in;
  try {
    in = p.prepare();
  } catch (const std::exception& e) {
    for (const Impl& impl : p.impls) {
      Row r = row_for(impl);
      r.status = std::string("FAILED: preparing the inputs: ") + e.what();
      rows.push_back(r);
    }
    return rows;
  }
  // The vendor's result, once (step 2).
  Tensor vendor_out;
  for (const Impl& impl : p.impls)
    if (impl.vendor && impl.skip.empty()) {
      try {
        Selected s(impl);
        vendor_out = op_of(*in, impl).result();
        // A vendor result is a yardstick only if it passes the reference
        // itself: otherwise right rows would fail against a wrong one.
        if (!(in->error(vendor_out) <= p.tol)) vendor_out = Tensor();
      } catch (const std::exception&) {
        // Its own row reports the failure below.
      }
    }
  double vendor_ms = kNaN;
  // The vendor row first, so that the others can be compared with its time.
  std::vector<const Impl*> order;
  for (const Impl& impl : p.impls)
    if (impl.vendor) order.push_back(&impl);
  for (const Impl& impl : p.impls)
    if (!impl.vendor) order.push_back(&impl);
  std::map<const Impl*, Row> done;
  for (const Impl* impl : order) {
    Row r = row_for(*impl);
    if (!impl->skip.empty()) {
      r.status = "skipped: " + impl->skip;
    } else {
      try {
        Selected s(*impl);
        const Op& op = op_of(*in, *impl);
        Tensor out = op.result();  // step 3: check before timing
        if (corrupt) out = flat64({out}) + 1.0;
        r.max_rel_err = in->error(out);
        if (vendor_out.defined() && !impl->vendor) r.vendor_rel_err = max_rel_error(out, vendor_out);
        if (!(r.max_rel_err <= p.tol))
          r.status = "FAILED: max relative error " + fmt(r.max_rel_err) + " against the reference (tolerance " +
                     fmt(p.tol) + ")";
        else if (!(std::isnan(r.vendor_rel_err) || r.vendor_rel_err <= 2 * p.tol))
          r.status = "FAILED: max relative error " + fmt(r.vendor_rel_err) + " against the vendor's result";
        if (r.ok()) {
          auto clock = o.clock();
          TimingOptions timing = o.timing;
          if (p.hot) timing.cold = false;
          const Timed t = measure(op.run, o.flush, *clock, timing);
          r.ms = t.ms;
          r.converged = t.converged;
        }
      } catch (const std::exception& e) {  // an ember::Error, or bad_alloc: the row fails, the run goes on
        r.status = std::string("FAILED: ") + e.what();
      }
    }
    if (impl->vendor && r.ok()) vendor_ms = r.ms.median;
    r.vendor_ms = vendor_ms;
    if (o.verbose) {
      if (r.ok())
        std::printf("%-11s %-22s %-16s %10.4f ms  IQR %5.1f%%%s  err %.1e\n", r.family.c_str(), r.name.c_str(),
                    r.impl.c_str(), r.ms.median, 100 * r.ms.rel_spread(), r.converged ? " " : "~", r.max_rel_err);
      else std::printf("%-11s %-22s %-16s %s\n", r.family.c_str(), r.name.c_str(), r.impl.c_str(), r.status.c_str());
      std::fflush(stdout);
    }
    done[impl] = r;
  }
  for (const Impl& impl : p.impls) rows.push_back(done[&impl]);  // in the problem's order
  return rows;
}

}  // namespace ember::bench
