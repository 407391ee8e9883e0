// ember-mnist's data-parallel glue (data_parallel.h).
#include "data_parallel.h"

#include <algorithm>
#include <cstdio>

#include <ember/autograd/ops.h>
#include <ember/distributed/distributed.h>

namespace ember::mnist {

DataParallel start_data_parallel(const Config& c) {
  DataParallel dp;
  if (!c.distributed) return dp;
  distributed::init();
  dp.on = true;
  dp.rank = distributed::rank();
  dp.world = distributed::world_size();
  if (!dp.writer()) {  // rank 0 speaks for the job; errors still reach stderr
    std::fflush(stdout);
    if (!std::freopen("/dev/null", "w", stdout)) std::fprintf(stderr, "rank %d: cannot silence stdout\n", dp.rank);
  }
  return dp;
}

Config with_rank_device(const Config& c, const DataParallel& dp) {
  Config out = c;
  out.world_size = dp.world;
  if (dp.on && c.device == "cuda") out.device = "cuda:" + std::to_string(distributed::local_rank());
  return out;
}

std::string data_parallel_line(const DataParallel& dp, const Config& c) {
  if (!dp.on) return "";
  return "data-parallel: world " + std::to_string(dp.world) + ", backend " +
         distributed::backend_name(Device(c.device)) + ", batch " + std::to_string(c.batch_size) + " per rank (" +
         std::to_string(c.batch_size * dp.world) + " in all)";
}

int sum_over_ranks(const DataParallel& dp, std::vector<double>& values, int stop) {
  if (!dp.on || dp.world == 1) return stop;
  // The values, then one slot per rank for its stop signal: the largest
  // signal wins (a sum would mix SIGINT and SIGTERM).
  const auto n = static_cast<int64_t>(values.size());
  Tensor t = zeros({n + dp.world}, {.dtype = DType::Float64});
  double* p = t.data_ptr<double>();
  std::copy(values.begin(), values.end(), p);
  p[n + dp.rank] = stop;
  distributed::all_reduce(t);
  std::copy(p, p + n, values.begin());
  return static_cast<int>(*std::max_element(p + n, p + n + dp.world));
}

int agreed_stop(const DataParallel& dp, int local) {
  std::vector<double> none;
  return sum_over_ranks(dp, none, local);
}

}  // namespace ember::mnist
