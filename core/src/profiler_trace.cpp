// The op profiler's trace: events on per-thread lanes, and the Chrome
// trace-event JSON file; see Note [Profiler trace] in profiler.h.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

#include "ember/core/atomic_file.h"
#include "ember/core/profiler.h"

namespace ember::profiler {

namespace {

using detail::Clock;

// As kept: times in ns since the trace's epoch, the name owned.
struct StoredEvent {
  Kind kind;
  int lane;
  int64_t start_ns, end_ns;
  std::string name;
};

struct Trace {
  std::mutex mutex;
  std::vector<StoredEvent> events;  // in the order they ended
  std::vector<std::string> lane_names;  // index = lane; "" when unnamed
  size_t capacity = kDefaultTraceCapacity;
  size_t dropped = 0;
  Clock::time_point epoch = Clock::now();
};

Trace& trace_data() {
  static Trace* t = new Trace();  // never destroyed: other threads may record during exit
  return *t;
}

// The calling thread's lane, given on first use under the trace's mutex.
// Lanes outlive reset(), so a cached number never goes stale.
thread_local int this_thread_lane = -1;

int lane_locked(Trace& t) {
  if (this_thread_lane < 0) {
    this_thread_lane = static_cast<int>(t.lane_names.size());
    t.lane_names.emplace_back();
  }
  return this_thread_lane;
}

bool tracing_from_environment() {
  const char* env = std::getenv("EMBER_PROFILE_TRACE");
  return env && *env && std::string(env) != "0";
}

const char* category(Kind k) { return k == Kind::Primitive ? "primitive" : k == Kind::Node ? "node" : "span"; }

// A JSON string literal: quotes, backslashes and control characters escaped.
std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

namespace detail {
std::atomic<bool> tracing_flag{tracing_from_environment()};

void record_event(Kind kind, std::string_view name, Clock::time_point start, Clock::time_point end) {
  Trace& t = trace_data();
  std::lock_guard<std::mutex> lock(t.mutex);
  const int lane = lane_locked(t);
  if (t.events.size() >= t.capacity) {
    ++t.dropped;
    return;
  }
  // A scope opened before the last reset() starts at the new epoch.
  const auto ns = [&](Clock::time_point p) {
    return std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::nanoseconds>(p - t.epoch).count());
  };
  t.events.push_back({kind, lane, ns(start), ns(end), std::string(name)});
}

void reset_trace() {
  Trace& t = trace_data();
  std::lock_guard<std::mutex> lock(t.mutex);
  t.events.clear();
  t.events.shrink_to_fit();
  t.dropped = 0;
  t.epoch = Clock::now();
}
}  // namespace detail

void set_tracing(bool on) {
  if (on) {
    Trace& t = trace_data();
    std::lock_guard<std::mutex> lock(t.mutex);
    if (t.events.empty() && t.dropped == 0) t.epoch = Clock::now();  // a fresh trace starts now
    set_enabled(true);
  }
  detail::tracing_flag.store(on, std::memory_order_relaxed);
}

std::vector<TraceEvent> trace_events() {
  std::vector<TraceEvent> out;
  {
    Trace& t = trace_data();
    std::lock_guard<std::mutex> lock(t.mutex);
    out.reserve(t.events.size());
    for (const StoredEvent& e : t.events)
      out.push_back({e.kind, e.name, e.lane, t.lane_names[static_cast<size_t>(e.lane)], e.start_ns * 1e-3,
                     e.end_ns * 1e-3});
  }
  // By start; of two that start together, the longer (enclosing) one first.
  std::stable_sort(out.begin(), out.end(), [](const TraceEvent& a, const TraceEvent& b) {
    if (a.start_us != b.start_us) return a.start_us < b.start_us;
    if (a.end_us != b.end_us) return a.end_us > b.end_us;
    return a.lane < b.lane;
  });
  return out;
}

size_t trace_dropped() {
  std::lock_guard<std::mutex> lock(trace_data().mutex);
  return trace_data().dropped;
}

size_t trace_capacity() {
  std::lock_guard<std::mutex> lock(trace_data().mutex);
  return trace_data().capacity;
}

void set_trace_capacity(size_t max_events) {
  std::lock_guard<std::mutex> lock(trace_data().mutex);
  trace_data().capacity = max_events;
}

void set_lane_name(std::string_view name) {
  Trace& t = trace_data();
  std::lock_guard<std::mutex> lock(t.mutex);
  t.lane_names[static_cast<size_t>(lane_locked(t))] = name;
}

// One process (pid 1), one tid per lane; lanes get a thread_name (their name,
// or "thread N") and a thread_sort_index, so viewers list them in lane order.
void write_chrome_trace(const std::string& path) {
  const std::vector<TraceEvent> events = trace_events();
  std::vector<std::string> lane_names;
  {
    std::lock_guard<std::mutex> lock(trace_data().mutex);
    lane_names = trace_data().lane_names;
  }
  std::vector<bool> used(lane_names.size(), false);
  std::string text = "{\"displayTimeUnit\": \"ms\", \"otherData\": {\"dropped_events\": " +
                     std::to_string(trace_dropped()) + "},\n\"traceEvents\": [\n";
  char buf[160];
  bool first = true;
  for (const TraceEvent& e : events) {
    used[static_cast<size_t>(e.lane)] = true;
    std::snprintf(buf, sizeof buf, "\", \"ph\": \"X\", \"ts\": %.3f, \"dur\": %.3f, \"pid\": 1, \"tid\": %d}",
                  e.start_us, e.end_us - e.start_us, e.lane);
    text += std::string(first ? "" : ",\n") + "{\"name\": " + json_string(e.name) + ", \"cat\": \"" +
            category(e.kind) + buf;
    first = false;
  }
  for (size_t lane = 0; lane < lane_names.size(); ++lane) {
    if (!used[lane]) continue;
    const std::string name = lane_names[lane].empty() ? "thread " + std::to_string(lane) : lane_names[lane];
    const std::string tid = std::to_string(lane);
    text += std::string(first ? "" : ",\n") + "{\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": 1, \"tid\": " +
            tid + ", \"args\": {\"name\": " + json_string(name) + "}},\n" +
            "{\"name\": \"thread_sort_index\", \"ph\": \"M\", \"pid\": 1, \"tid\": " + tid +
            ", \"args\": {\"sort_index\": " + tid + "}}";
    first = false;
  }
  text += "\n]}\n";
  write_file_atomic(path, text, "profiler trace");
}

}  // namespace ember::profiler
