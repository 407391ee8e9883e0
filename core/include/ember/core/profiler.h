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
//
// Note [Profiler trace]
// The table keeps totals; a trace keeps a timeline, for questions totals
// cannot answer ("does the gradient all-reduce overlap backward?"). With
// tracing on (EMBER_PROFILE_TRACE=1, or set_tracing(true); either turns the
// profiler on too), every Scope also records an event: its name, kind, the
// lane of the thread that ran it, and its start and end in microseconds
// since the trace started (set_tracing(true) on an empty trace, or reset()).
// Span records an event of kind Span for any named stretch of work, from any
// thread: a communication thread wraps each bucket's all-reduce in one, so
// its lane shows beside the main thread's backward nodes.
//   - Lanes are small integers, one per OS thread, given in the order
//     threads first record (or name their lane) and kept for the process's
//     life, so they stay stable across reset(). A Span's second argument, or
//     set_lane_name, names the calling thread's lane ("comm").
//   - Scopes on one thread nest, so do their events: a node's event contains
//     those of the primitives it calls, on the same lane. trace_events()
//     sorts by start, an enclosing event before the events it contains.
//   - Events are kept under one mutex, up to a cap (trace_capacity(),
//     1,000,000 by default, about 100 MB); past it they are dropped and
//     counted (trace_dropped()), never silently.
//   - write_chrome_trace writes the Chrome trace-event JSON format (complete
//     "X" events, one tid per lane, thread_name metadata), which
//     chrome://tracing and ui.perfetto.dev open; viz::timeline_chart draws
//     the same events as an SVG once the caller groups them into lanes.
// Off, tracing adds nothing to a Scope's cost: the tracing flag is read only
// once the profiler is known to be on.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ember/core/backend.h"

namespace ember::profiler {

namespace detail {
extern std::atomic<bool> enabled_flag;
extern std::atomic<bool> tracing_flag;
}

/// Whether scopes record (EMBER_PROFILE=1 turns it on at start-up).
inline bool enabled() { return detail::enabled_flag.load(std::memory_order_relaxed); }
void set_enabled(bool on);
/// Forgets everything recorded so far: the table, the trace's events and its
/// dropped count; the trace's clock starts again at 0.
void reset();

/// Whether scopes and spans also record trace events (Note [Profiler trace]).
inline bool tracing() { return detail::tracing_flag.load(std::memory_order_relaxed); }
/// Turning tracing on turns the profiler on too (and starts the trace's clock
/// when it holds no events); turning it off leaves the profiler as it is.
void set_tracing(bool on);

/// Span: a user's named stretch of work (trace only; not in the table).
enum class Kind : uint8_t { Primitive, Node, Span };

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

struct TraceEvent {
  Kind kind;
  std::string name;
  int lane = 0;             // the recording thread's lane (Note [Profiler trace])
  std::string lane_name{};  // "" unless the lane was named
  double start_us = 0, end_us = 0;  // since the trace started
};
/// The events kept, sorted by start (an enclosing event first).
std::vector<TraceEvent> trace_events();
/// Events not kept because the trace was full, since the last reset().
size_t trace_dropped();
inline constexpr size_t kDefaultTraceCapacity = 1'000'000;
/// How many events the trace keeps; later ones are counted as dropped.
size_t trace_capacity();
void set_trace_capacity(size_t max_events);
/// Names the calling thread's lane in the trace ("main", "comm").
void set_lane_name(std::string_view name);
/// Writes the trace as Chrome trace-event JSON, replacing `path` atomically.
void write_chrome_trace(const std::string& path);

namespace detail {
using Clock = std::chrono::steady_clock;
// A closed Scope: its row of the table, and its event when `traced`.
void finish_scope(Kind kind, const char* name, Clock::time_point start, bool traced);
// Appends one event, on the calling thread's lane.
void record_event(Kind kind, std::string_view name, Clock::time_point start, Clock::time_point end);
void reset_trace();  // reset()'s half for the trace
}  // namespace detail

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
    if (on_) detail::finish_scope(kind_, name_, start_, traced_);
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  void start(Kind kind, const char* name) {
    kind_ = kind;
    name_ = name;
    traced_ = tracing();
    start_ = detail::Clock::now();
  }
  bool on_;
  bool traced_ = false;
  Kind kind_{};  // initialized although unread when off: GCC 12 warns otherwise
  const char* name_ = nullptr;
  detail::Clock::time_point start_;
};

/// Records its own lifetime as one trace event of kind Span when tracing is
/// on, from any thread; `lane`, when given, names the calling thread's lane:
///   profiler::Span s("all_reduce bucket 3", "comm");
/// Off, it costs one relaxed load and a branch (the name is copied only when
/// tracing). Spans go to the trace alone, not to the table of totals.
/// Records a span that is over, from `start` to `end` (steady clock), on
/// the calling thread's lane, when tracing is on: for work whose start was
/// seen earlier, e.g. a collective the communication thread started and
/// later found complete.
inline void record_span(std::string_view name, std::chrono::steady_clock::time_point start,
                        std::chrono::steady_clock::time_point end) {
  if (tracing()) detail::record_event(Kind::Span, name, start, end);
}

class Span {
 public:
  explicit Span(std::string_view name, std::string_view lane = {}) : on_(tracing()) {
    if (on_) {
      if (!lane.empty()) set_lane_name(lane);
      name_ = name;
      start_ = detail::Clock::now();
    }
  }
  ~Span() {
    if (on_) detail::record_event(Kind::Span, name_, start_, detail::Clock::now());
  }
  Span(const Span&) = delete;
  Span& operator=(const Span&) = delete;

 private:
  bool on_;
  std::string name_;
  detail::Clock::time_point start_;
};

}  // namespace ember::profiler
