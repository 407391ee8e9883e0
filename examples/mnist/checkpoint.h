// ember-mnist's training checkpoint: everything a run needs to continue
// exactly where it stopped (Note [Exact resume] in trainer.h), in one
// safetensors file.
//
// Note [Checkpoint format]
// Tensors: "model.<name>" for the module's state_dict (parameters and
// buffers), "optimizer.<name>" for the optimizer's (moments, step counts).
// Metadata (strings, as safetensors requires):
//   format              "ember-mnist-checkpoint-2" (1: written before
//                       mid-epoch checkpoints existed, still read)
//   epoch               epochs completed
//   batch               batches of the next epoch already trained (2 only;
//                       0 at an epoch boundary, > 0 after a stop mid-epoch)
//   step                optimizer steps taken in all
//   epoch_sums          that partial epoch's running sums as JSON (2 only):
//                       loss (sum of loss x batch size), correct, seen,
//                       seconds, so its metrics.csv row comes out as if the
//                       epoch had never been cut
//   rng_seed, rng_offset   the default generator (dropout), Note [Philox]
//   optimizer_scalars, scheduler_scalars   JSON of "%.17g" strings
//   config              the run's Config as JSON
// Doubles travel as "%.17g" text, which reads back to the same bits.
// Saving is atomic (a temporary file, fsync, rename; nn/safetensors.h): a
// crash or a full disk mid-write leaves the previous checkpoint whole.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>

#include <ember/ember.h>
#include <ember/optim/optim.h>

#include "trainer.h"

namespace ember::mnist {

// Where training stands: the resume point a checkpoint records.
struct TrainingPosition {
  int64_t epoch = 0;  // epochs completed
  int64_t batch = 0;  // batches of epoch `epoch` (0-based) done
  int64_t step = 0;   // optimizer steps in all
  // The partial epoch's running sums (all zero at an epoch boundary).
  double loss_sum = 0, seconds = 0;
  int64_t correct = 0, seen = 0;
};

// What a checkpoint restores into. The schedule may be null (--schedule none).
struct TrainingState {
  nn::Module& model;
  optim::Optimizer& optimizer;
  optim::LRScheduler* schedule;
};

// Writes the checkpoint atomically; FileError naming the file and the reason.
void save_checkpoint(const std::filesystem::path& path, const Config& config, const TrainingState& state,
                     const TrainingPosition& position);

// Restores model, optimizer, schedule and the default generator from a
// checkpoint file, and returns its position. Anything malformed (a missing
// or unreadable key, an unknown format, tensors that do not fit the model)
// is an ember::Error naming the file and what is wrong. With `saved`, also
// the config the checkpoint was written with.
TrainingPosition load_checkpoint(const std::filesystem::path& path, const TrainingState& state,
                                 Config* saved = nullptr);
TrainingPosition restore_checkpoint(const SafetensorsContents& file, const std::string& source,
                                    const TrainingState& state, Config* saved = nullptr);

// The fuzz target's entry (tests/fuzz/checkpoint.cpp): parses `bytes` as a
// checkpoint and restores it into a fresh model, optimizer and schedule made
// from the config it carries. Returns its position; throws ember::Error on
// anything malformed.
TrainingPosition check_checkpoint_bytes(std::string_view bytes);

}  // namespace ember::mnist
