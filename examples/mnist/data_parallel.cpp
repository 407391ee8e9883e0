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

int agreed_stop(const DataParallel& dp, int local) {
  if (!dp.on || dp.world == 1) return local;
  // The largest signal number any rank saw: a sum would mix SIGINT and SIGTERM.
  Tensor flags = zeros({dp.world}, {.dtype = DType::Float64});
  flags.data_ptr<double>()[dp.rank] = local;
  distributed::all_reduce(flags);
  int agreed = 0;
  for (int r = 0; r < dp.world; ++r) agreed = std::max(agreed, static_cast<int>(flags.data_ptr<double>()[r]));
  return agreed;
}

void sum_over_ranks(const DataParallel& dp, std::vector<double>& values) {
  if (!dp.on || dp.world == 1 || values.empty()) return;
  Tensor t = make_empty({static_cast<int64_t>(values.size())}, DType::Float64, kCPU);
  std::copy(values.begin(), values.end(), t.data_ptr<double>());
  distributed::all_reduce(t);
  std::copy(t.data_ptr<double>(), t.data_ptr<double>() + values.size(), values.begin());
}

}  // namespace ember::mnist
