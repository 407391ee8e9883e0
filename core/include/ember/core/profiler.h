// The op profiler: call counts and time per primitive and per autograd node,
// printed as a table sorted by total time (like torch.profiler's
// key_averages()) and written as CSV.
//
// Note [Profiler at the choke point]
// Every Backend call goes through one prim:: wrapper (Note [One dispatch
// path]), and every backward Node runs from one line of the engine; those
// two places open a profiler::Scope, so nothing else needs instrumenting.
// Off (the default), a Scope costs one relaxed atomic load and one branch.
// On (EMBER_PROFILE=1 in the environment, `ember-mnist --profile`, or
// profiler::set_enabled), each scope reads a steady clock twice and adds
// to a table under a mutex.
//
// What the numbers mean: a primitive's time is its kernel alone, from
// entry to return (output allocation and argument checks are outside it);
// a node's time is the whole of its apply(), which includes the primitives
// it calls. On the CPU the kernel has finished when the call returns. A GPU
// backend queues work and returns early, so its times will be taken with
// device events once CUDA kernels exist.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "ember/core/backend.h"

namespace ember::profiler {

namespace detail {
extern std::atomic<bool> enabled_flag;
}

/// Whether scopes record (EMBER_PROFILE=1 turns it on at start-up).
inline bool enabled() { return detail::enabled_flag.load(std::memory_order_relaxed); }
void set_enabled(bool on);
/// Forgets everything recorded so far.
void reset();

enum class Kind : uint8_t { Primitive, Node };

struct Entry {
  Kind kind;
  std::string name;  // "conv2d_forward", "ConvBackward"
  int64_t calls = 0;
  double total_seconds = 0;
};
/// Everything recorded, sorted by total time, largest first.
std::vector<Entry> entries();
/// Adds one call of `seconds` to (kind, name).
void record(Kind kind, const char* name, double seconds);

/// The table: name, kind, calls, total ms, mean us, % of the kind's total.
std::string table(size_t max_rows = 40);
/// Writes every entry as CSV (kind,name,calls,total_ms,mean_us), replacing
/// `path` atomically (a temporary file renamed into place).
void write_csv(const std::string& path);

/// Times its own lifetime as one call of a backward node (by name) or of a
/// primitive when the profiler is on; costs one relaxed load and a branch
/// when it is off (the name of a primitive is looked up only when recording).
class Scope {
 public:
  Scope(Kind kind, const char* name) : on_(enabled()) {
    if (on_) start(kind, name);
  }
  explicit Scope(Primitive p) : on_(enabled()) {
    if (on_) start(Kind::Primitive, primitive_name(p));
  }
  ~Scope() {
    if (on_) record(kind_, name_, std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  void start(Kind kind, const char* name) {
    kind_ = kind;
    name_ = name;
    start_ = std::chrono::steady_clock::now();
  }
  bool on_;
  Kind kind_{};  // initialized although unread when off: GCC 12 warns otherwise
  const char* name_ = nullptr;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace ember::profiler
