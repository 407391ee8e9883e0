// ember-dist-steps: what data-parallel training spends on communication
// (docs/distributed.md; bench/distributed_speed.sh runs it under mpirun).
//
// Each rank trains ember-mnist's default CNN wrapped in
// DistributedDataParallel on random 28x28 batches (speed only, no data),
// and times every step: the whole step, the time backward() spent blocked
// waiting for all-reduces at its end (DDP::last_wait_seconds), and, from
// the profiler's trace, the time the all-reduces were in flight on the
// communication thread. An all-reduce in flight while backward still
// computes costs the step nothing; only the blocked part does.
//
//   mpirun -np 2 ember-dist-steps --threads 1 --steps 30 --bucket-mb 0.25 --out DIR
//
// Rank 0 writes DIR/steps.csv (one row per timed step) and, for the last
// step, DIR/trace.json (Chrome trace) and DIR/timeline.svg: the backward
// nodes on the main thread's lane against the all-reduces on the
// communication thread's.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include <CLI/CLI.hpp>
#include <ember/core/profiler.h>
#include <ember/distributed/ddp.h>
#include <ember/distributed/distributed.h>
#include <ember/ember.h>

#include "../examples/mnist/models.h"

using namespace ember;
using Clock = std::chrono::steady_clock;

namespace {

// The time covered by a set of [start, end) intervals, overlaps counted once.
double covered(std::vector<std::pair<double, double>> spans) {
  std::sort(spans.begin(), spans.end());
  double total = 0, end = -1e300;
  for (auto [s, e] : spans) {
    if (s > end) {
      total += e - s;
      end = e;
    } else if (e > end) {
      total += e - end;
      end = e;
    }
  }
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ember-dist-steps: communication time per data-parallel training step"};
  int64_t steps = 30, warmup = 5, batch = 32;
  int threads = 1;
  double bucket_mb = 25;
  std::string out = "dist-steps";
  app.add_option("--steps", steps, "timed steps")->capture_default_str();
  app.add_option("--warmup", warmup, "untimed steps first")->capture_default_str();
  app.add_option("--batch-size", batch, "images per rank per step")->capture_default_str();
  app.add_option("--threads", threads, "CPU threads per rank")->capture_default_str();
  app.add_option("--bucket-mb", bucket_mb, "DDP bucket size cap (MiB)")->capture_default_str();
  app.add_option("--out", out, "folder for steps.csv, trace.json, timeline.svg (rank 0)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    distributed::init();
    const int rank = distributed::rank(), world = distributed::world_size();
    set_num_threads(threads);
    manual_seed(0);
    auto model = mnist::make_model("cnn");
    auto ddp = std::make_shared<distributed::DistributedDataParallel>(model,
                                                                       distributed::DDPOptions{.bucket_cap_mb = bucket_mb});
    optim::AdamW opt(model->parameters(), {.lr = 1e-3});
    Generator gen(1 + rank);
    const Tensor x = randn({batch, 1, 28, 28}, {}, &gen);
    const Tensor y = randint(0, 10, {batch}, {.dtype = DType::Int64}, &gen);
    struct Row {
      double step_ms, wait_ms, inflight_ms, backward_ms;
    };
    std::vector<Row> rows;
    for (int64_t s = 0; s < warmup + steps; ++s) {
      const bool timed = s >= warmup;
      profiler::reset();
      profiler::set_tracing(timed);
      const auto t0 = Clock::now();
      Tensor loss = cross_entropy((*ddp)(x), y);
      opt.zero_grad();
      const auto b0 = Clock::now();
      loss.backward();
      const auto b1 = Clock::now();
      opt.step();
      const auto t1 = Clock::now();
      profiler::set_tracing(false);
      profiler::set_enabled(false);
      if (!timed) continue;
      std::vector<std::pair<double, double>> comm;
      for (const auto& e : profiler::trace_events())
        if (e.kind == profiler::Kind::Span && e.name.rfind("all_reduce", 0) == 0) comm.push_back({e.start_us, e.end_us});
      rows.push_back({std::chrono::duration<double, std::milli>(t1 - t0).count(), ddp->last_wait_seconds() * 1000,
                      covered(comm) / 1000, std::chrono::duration<double, std::milli>(b1 - b0).count()});
    }
    if (rank == 0) {
      std::filesystem::create_directories(out);
      std::ofstream csv(std::filesystem::path(out) / "steps.csv");
      csv << "step,world,threads,batch_per_rank,buckets,step_ms,backward_ms,allreduce_inflight_ms,allreduce_wait_ms\n";
      for (size_t i = 0; i < rows.size(); ++i)
        csv << i + 1 << "," << world << "," << threads << "," << batch << "," << ddp->num_buckets() << ","
            << rows[i].step_ms << "," << rows[i].backward_ms << "," << rows[i].inflight_ms << "," << rows[i].wait_ms
            << "\n";
      // The last step's timeline: backward nodes on the main lane, all-reduces on the comm lane.
      profiler::write_chrome_trace((std::filesystem::path(out) / "trace.json").string());
      const auto events = profiler::trace_events();
      double origin = 1e300;  // the first node or all-reduce: the backward's start
      for (const auto& e : events)
        if (e.kind == profiler::Kind::Node || e.kind == profiler::Kind::Span) origin = std::min(origin, e.start_us);
      std::map<std::string, viz::TimelineLane> lanes;
      for (const auto& e : events) {
        const bool comm = e.kind == profiler::Kind::Span && e.name.rfind("all_reduce", 0) == 0;
        const bool node = e.kind == profiler::Kind::Node;
        if (!comm && !node) continue;
        const std::string lane = comm ? "communication thread" : "main thread (autograd)";
        lanes[lane].label = lane;
        const std::string group = comm ? "all-reduce" : e.name.rfind("DDP", 0) == 0 ? "DDP" : "backward node";
        lanes[lane].spans.push_back({(e.start_us - origin) / 1000, (e.end_us - origin) / 1000,
                                     comm ? e.name.substr(0, e.name.find(' ', 11)) : e.name, group});
      }
      std::vector<viz::TimelineLane> ordered;
      for (const char* name : {"main thread (autograd)", "communication thread"})
        if (lanes.count(name)) ordered.push_back(lanes[name]);
      viz::write_file_atomic(std::filesystem::path(out) / "timeline.svg",
                             viz::timeline_chart(ordered, {.title = "One data-parallel step, rank 0 of " +
                                                                    std::to_string(world) + ": backward and its "
                                                                    "all-reduces"}));
      std::printf("rank 0 of %d: %zu timed steps in %s (%lld buckets)\n", world, rows.size(), out.c_str(),
                  static_cast<long long>(ddp->num_buckets()));
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    distributed::abort(1);
  }
  return 0;
}
