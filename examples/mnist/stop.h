// Ctrl-C and `kill` during training: finish the step, save, then exit.
//
// Note [Graceful stop]
// A signal handler may do almost nothing safely: no allocation, no locks,
// no I/O beyond write(2). So the first SIGINT or SIGTERM only records which
// signal came (a lock-free atomic) and says on stderr that the run will stop
// after the current step. The training loop polls stop_requested() between
// steps; when it is set, the loop drains the step metrics, writes a
// mid-epoch checkpoint (Note [Checkpoint format]: the loader's position and
// the epoch's running sums) and the report, prints the command that resumes,
// and ember-mnist exits with 128 + the signal (130 for SIGINT, 143 for
// SIGTERM), as a shell reports a process the signal killed. A second signal
// means "now": the handler puts the default action back and raises the
// signal again, so the process dies at once; the last checkpoint written
// (the previous epoch's or an earlier stop's) is still whole, as saving is
// atomic.
//
// A checkpoint written by a stop resumes exactly: `--resume` starts the
// epoch at the saved batch (DataLoader::epoch(e, first_batch)), with the
// same shuffle, augmentation and dropout draws, so the final weights and
// metrics.csv equal an uninterrupted run's (tests/signal_test.sh).
#pragma once

#include <string>

namespace ember::mnist {

// Installs the SIGINT and SIGTERM handlers for its lifetime and puts the
// previous ones back after; a signal ignored on entry (nohup, a script's
// `&`) stays ignored. Clears any earlier stop request. One at a time.
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
};

// The signal that asked for a stop (SIGINT or SIGTERM), or 0.
int stop_requested();

// "SIGINT", "SIGTERM", or "signal N": for messages.
std::string signal_name(int sig);

}  // namespace ember::mnist
