// ember-mnist train --distributed: data-parallel training across the ranks
// `mpirun -np N` starts (docs/distributed.md).
//
// Note [Data-parallel ember-mnist]
// Every rank builds the same model (rank 0's weights are broadcast when
// DistributedDataParallel wraps it), takes its shard of each epoch's
// permutation (the loader's DistributedSampling: PyTorch's padding and
// interleaving) in batches of --batch-size, and after each backward holds
// the gradients averaged over all ranks, so every replica takes the same
// step. --batch-size is per rank, as in PyTorch: N ranks train on batches
// of N x --batch-size in all.
//   - Only rank 0 writes: logs, CSV files, checkpoints, model, report. The
//     other ranks print nothing to stdout (errors still reach stderr).
//   - Every number logged is over all ranks: the step losses are averaged,
//     right answers and counts summed, after every --sync-every steps; the
//     test set is split between the ranks and its sums all-reduced.
//   - A stop signal on any rank stops every rank after the same step: each
//     rank's signal rides in the metrics' all-reduce at every flush.
//   - Dropout draws come from each rank's generator, seeded alike, so all
//     ranks draw the same masks (for different images) and stay in step:
//     rank 0's checkpointed generator state is every rank's, which is what
//     makes --resume exact.
//   - Batch norm normalises with each rank's own batch statistics; the
//     running statistics are rank 0's, broadcast by DDP at every training
//     forward (PyTorch's default), so rank 0's saved ones are every rank's.
#pragma once

#include <vector>

#include "trainer.h"

namespace ember::mnist {

struct DataParallel {
  bool on = false;  // --distributed
  int rank = 0, world = 1;
  bool writer() const { return rank == 0; }
};

// Joins the world for --distributed (a world of one without mpirun), and
// silences stdout on ranks other than 0.
DataParallel start_data_parallel(const Config& c);
// The config a rank trains with: the world's size in world_size, and
// --device cuda (no index) as cuda:<local rank>, so that the ranks of one
// machine take one GPU each.
Config with_rank_device(const Config& c, const DataParallel& dp);
// "world 2, backend mpi, batch 32 per rank (64 in all)", or "" when off.
std::string data_parallel_line(const DataParallel& dp, const Config& c);
// values[i] becomes its sum over the ranks, and the ranks agree on a stop:
// the result is the largest signal any rank passed as `stop` (0 when none).
// One all-reduce, which every rank must make at the same point; when off,
// nothing is sent and `stop` comes back.
int sum_over_ranks(const DataParallel& dp, std::vector<double>& values, int stop = 0);
// The stop signal every rank agrees on, alone (sum_over_ranks of nothing).
int agreed_stop(const DataParallel& dp, int local);

}  // namespace ember::mnist
