// ember-bench's unit of work (Note [A problem and its implementations]).
//
// Note [A problem and its implementations]
// A Problem is one op on one shape ("sgemm square_4096", "conv2d_fwd
// resnet18.layer1 b32"): its inputs, made once on the device, the call to
// time, its FLOPs and bytes, and how to check a result. Its Impls are the
// ways to run it: a rung of the SGEMM ladder, a conv algorithm, a backend
// (cuda:cudnn, cpu:eigen: the vendor rows), or a plain loop (the CPU's
// naive reference). Running a problem (run_problem) goes:
//   1. the reference, once per problem: the op in float64 on the CPU, or
//      float64 entries sampled from it where the whole is too slow;
//   2. the vendor's result, once, when a vendor row exists;
//   3. for each implementation, selected in turn: one call whose result is
//      checked against both; a result off by more than the tolerance makes
//      the row FAILED and it is not timed; a good one is timed (Note
//      [Timing a row]) and its ratio to the vendor's time computed.
// Every row a problem lists comes out, timed or marked: a failure is
// visible, never a gap.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <ember/ember.h>

#include "measure.h"
#include "report.h"

namespace ember::bench {

// One way of running the op. select() makes it the active one and returns
// what undoes that (set_sgemm back, set_backend back).
struct Impl {
  std::string name;
  bool vendor = false;
  std::string skip;  // non-empty: reported as "skipped: <skip>", never run
  std::function<std::function<void()>()> select = [] { return [] {}; };
};

// An op, as run by one implementation: the timed call, and a call whose
// result (a CPU tensor) is checked.
struct Op {
  std::function<void()> run;
  std::function<Tensor()> result;
};

// The inputs of a problem, made once, and its ops.
struct Instance {
  Op op;                                 // run under each implementation's selection
  std::map<std::string, Op> own;         // implementations that are their own code (naive)
  // The maximum relative error of `result` against the reference (computed
  // and cached by the instance on first use).
  std::function<double(const Tensor&)> error;
};

struct Problem {
  std::string family, name, shape;
  double flops = 0, bytes = 0;
  double tol = 1e-4;  // the largest max-relative-error accepted
  // Timed hot whatever the run's mode: ops whose time is dispatch, not
  // memory traffic (a flush would only add noise to a microsecond).
  bool hot = false;
  std::function<std::unique_ptr<Instance>()> prepare;
  std::vector<Impl> impls;
};

// How problems are run (from the command line).
struct RunOptions {
  TimingOptions timing;
  std::function<void()> flush;  // evicts the cache before a cold repetition
  std::function<std::unique_ptr<RepClock>()> clock;
  bool verbose = true;
};

// The rows of one problem (Note [A problem and its implementations]).
std::vector<Row> run_problem(const Problem& p, const RunOptions& o);

// max |x - ref| / max |ref| over all elements, in float64; both CPU
// tensors of the same number of elements (shapes may differ: results are
// compared flattened). 0 for an all-zero reference matched exactly.
double max_rel_error(const Tensor& x, const Tensor& ref);
// Flattened, float64, on the CPU, concatenated: a problem with several
// outputs (a gradient and its bias) checks them as one.
Tensor flat64(const std::vector<Tensor>& parts);

}  // namespace ember::bench
