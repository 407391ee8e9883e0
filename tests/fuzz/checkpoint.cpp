// Fuzz target: ember-mnist's training checkpoint (Note [Checkpoint format]
// in examples/mnist/checkpoint.h): safetensors bytes whose metadata holds
// the position, the epoch's sums, the generator, the optimizer and
// scheduler scalars and the run's config. check_checkpoint_bytes builds a
// fresh model, optimizer and schedule from that config and restores the
// file into them, as --resume does; anything malformed must be an
// ember::Error. Seeds: corpus/checkpoint/ (tests/fuzz/make_corpus.py).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include <ember/core/error.h>

#include "../../examples/mnist/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ember::mnist::TrainingPosition p;
  try {
    p = ember::mnist::check_checkpoint_bytes({reinterpret_cast<const char*>(data), size});
  } catch (const ember::Error&) {
    return 0;
  }
  // What restored is a position a run can be at.
  if (p.epoch < 0 || p.batch < 0 || p.step < 0 || p.seen < 0 || p.correct < 0 || p.correct > p.seen) {
    std::fprintf(stderr, "checkpoint: restored an impossible position\n");
    std::abort();
  }
  return 0;
}
