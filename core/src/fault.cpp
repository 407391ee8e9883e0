// Note [Fault injection] in ember/core/fault.h.
#include "ember/core/fault.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <string>

#include "ember/core/error.h"

namespace ember::fault {

namespace {

struct Spec {
  Action action = Action::None;
  std::string point, name;
  long long nth = 0;
};

Spec parse(const std::string& text) {
  const auto bad = [&](const std::string& why) -> Spec {
    throw ValueError("EMBER_FAULT='" + text + "': " + why +
                     " (the form is ACTION@POINT[:NAME]#N, e.g. kill@rename:checkpoint#2)");
  };
  Spec s;
  const size_t at = text.find('@'), hash = text.rfind('#');
  if (at == std::string::npos || hash == std::string::npos || hash < at) return bad("no '@' and '#'");
  const std::string action = text.substr(0, at);
  if (action == "kill") s.action = Action::Kill;
  else if (action == "enospc") s.action = Action::NoSpace;
  else return bad("the action must be kill or enospc");
  std::string where = text.substr(at + 1, hash - at - 1);
  if (const size_t colon = where.find(':'); colon != std::string::npos) {
    s.name = where.substr(colon + 1);
    where.resize(colon);
  }
  if (where != "write" && where != "fsync" && where != "rename" && where != "renamed" && where != "append")
    return bad("the point must be write, fsync, rename, renamed or append");
  if (where == "renamed" && s.action != Action::Kill) return bad("after the rename there is only kill");
  s.point = where;
  const std::string n = text.substr(hash + 1);
  char* end = nullptr;
  s.nth = std::strtoll(n.c_str(), &end, 10);
  if (n.empty() || *end != '\0' || s.nth < 1) return bad("N must be a whole number >= 1");
  return s;
}

// EMBER_FAULT, read at the first arrival; configure() replaces it. Specs
// live as long as the process (a deque never moves them): a writer on
// another thread may still be reading the one replaced.
std::mutex g_mu;
std::deque<Spec> g_specs;  // guarded by g_mu
std::atomic<const Spec*> g_spec{nullptr};
std::once_flag g_from_env;
std::atomic<long long> g_arrivals{0};

const Spec* keep(Spec s) {
  std::lock_guard<std::mutex> lock(g_mu);
  return &g_specs.emplace_back(std::move(s));
}

const Spec* spec() {
  std::call_once(g_from_env, [] {
    const char* env = std::getenv("EMBER_FAULT");
    if (env && *env) g_spec.store(keep(parse(env)));
  });
  return g_spec.load();
}

}  // namespace

Action arrive(std::string_view point, const std::filesystem::path& file) {
  const Spec* s = spec();
  if (!s || point != s->point) return Action::None;
  if (!s->name.empty() && file.filename().string().find(s->name) == std::string::npos) return Action::None;
  return g_arrivals.fetch_add(1) + 1 == s->nth ? s->action : Action::None;
}

void configure(const std::string& text) {
  spec();  // EMBER_FAULT has had its turn
  g_spec.store(text.empty() ? nullptr : keep(parse(text)));
  g_arrivals.store(0);
}

void kill_now() {
  ::kill(::getpid(), SIGKILL);
  for (;;) ::pause();  // SIGKILL is delivered before kill() returns for the calling thread; just in case
}

}  // namespace ember::fault
