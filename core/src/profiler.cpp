// The op profiler's table; see Note [Profiler at the choke point].
#include "ember/core/profiler.h"

#include "ember/core/atomic_file.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>

#include "ember/core/error.h"

namespace ember::profiler {

namespace {

struct Table {
  std::mutex mutex;
  std::map<std::pair<Kind, std::string>, Entry> entries;
};

Table& table_data() {
  static Table* t = new Table();  // never destroyed: the exit report reads it
  return *t;
}

const char* kind_name(Kind k) { return k == Kind::Primitive ? "primitive" : k == Kind::Node ? "node" : "span"; }

bool env_on(const char* name) {
  const char* env = std::getenv(name);
  return env && *env && std::string(env) != "0";
}

// EMBER_PROFILE=1 (or EMBER_PROFILE_TRACE=1, which implies it): on from the
// start, and the table goes to stderr at exit (unless the program reported
// and reset it itself, as ember-mnist does).
bool from_environment() {
  if (!env_on("EMBER_PROFILE") && !env_on("EMBER_PROFILE_TRACE")) return false;
  std::atexit([] {
    if (!entries().empty()) std::fprintf(stderr, "%s", table().c_str());
  });
  return true;
}

}  // namespace

namespace detail {
std::atomic<bool> enabled_flag{from_environment()};
}

void set_enabled(bool on) { detail::enabled_flag.store(on, std::memory_order_relaxed); }

void reset() {
  {
    std::lock_guard<std::mutex> lock(table_data().mutex);
    table_data().entries.clear();
  }
  detail::reset_trace();
}

void detail::finish_scope(Kind kind, const char* name, Clock::time_point start, bool traced) {
  const Clock::time_point end = Clock::now();
  record(kind, name, std::chrono::duration<double>(end - start).count());
  if (traced) record_event(kind, name, start, end);
}

void record(Kind kind, const char* name, double seconds) {
  Table& t = table_data();
  std::lock_guard<std::mutex> lock(t.mutex);
  Entry& e = t.entries[{kind, name}];
  if (e.calls == 0) {
    e.kind = kind;
    e.name = name;
  }
  e.calls += 1;
  e.total_seconds += seconds;
}

std::vector<Entry> entries() {
  std::vector<Entry> out;
  {
    std::lock_guard<std::mutex> lock(table_data().mutex);
    for (const auto& [key, e] : table_data().entries) out.push_back(e);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Entry& a, const Entry& b) { return a.total_seconds > b.total_seconds; });
  return out;
}

std::string table(size_t max_rows) {
  const std::vector<Entry> all = entries();
  double kind_total[3] = {0, 0, 0};
  for (const Entry& e : all) kind_total[static_cast<int>(e.kind)] += e.total_seconds;
  std::string s;
  char line[160];
  std::snprintf(line, sizeof line, "%-28s %-9s %10s %12s %12s %7s\n", "name", "kind", "calls", "total ms", "mean us",
                "% kind");
  s += line;
  s += std::string(83, '-') + "\n";
  size_t shown = 0;
  for (const Entry& e : all) {
    if (shown++ == max_rows) break;
    const double total = kind_total[static_cast<int>(e.kind)];
    std::snprintf(line, sizeof line, "%-28s %-9s %10lld %12.3f %12.3f %6.1f%%\n", e.name.c_str(), kind_name(e.kind),
                  static_cast<long long>(e.calls), e.total_seconds * 1e3, e.total_seconds * 1e6 / e.calls,
                  total > 0 ? 100 * e.total_seconds / total : 0.0);
    s += line;
  }
  if (all.size() > max_rows) s += "... " + std::to_string(all.size() - max_rows) + " more rows in the CSV\n";
  std::snprintf(line, sizeof line,
                "primitives: %.3f ms in all; nodes (which include the primitives they call): %.3f ms\n",
                kind_total[0] * 1e3, kind_total[1] * 1e3);
  s += line;
  return s;
}

void write_csv(const std::string& path) {
  std::string text = "kind,name,calls,total_ms,mean_us\n";
  char line[200];
  for (const Entry& e : entries()) {
    std::snprintf(line, sizeof line, "%s,%s,%lld,%.6f,%.6f\n", kind_name(e.kind), e.name.c_str(),
                  static_cast<long long>(e.calls), e.total_seconds * 1e3, e.total_seconds * 1e6 / e.calls);
    text += line;
  }
  write_file_atomic(path, text, "profiler");
}

}  // namespace ember::profiler
