// Note [Graceful stop] in stop.h.
#include "stop.h"

#include <unistd.h>

#include <atomic>
#include <csignal>

#include <ember/core/error.h>

namespace ember::mnist {

namespace {

std::atomic<int> g_requested{0};
static_assert(std::atomic<int>::is_always_lock_free, "the handler may only touch a lock-free atomic");

struct sigaction g_old_int, g_old_term;
bool g_installed = false;

void write_stderr(const char* s) {
  size_t n = 0;
  while (s[n]) ++n;
  (void)!::write(STDERR_FILENO, s, n);
}

extern "C" void on_stop_signal(int sig) {
  int expected = 0;
  if (g_requested.compare_exchange_strong(expected, sig)) {
    write_stderr(sig == SIGINT
                     ? "\nSIGINT: stopping after this step to save a checkpoint (Ctrl-C again: stop now)\n"
                     : "\nSIGTERM: stopping after this step to save a checkpoint (again: stop now)\n");
    return;
  }
  // The second signal: die of it, now.
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

}  // namespace

StopSignals::StopSignals() {
  EMBER_CHECK(!g_installed, ValueError, "StopSignals: already installed");
  g_requested.store(0);  // a request belongs to the run it stopped
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // reads and writes in progress carry on rather than fail with EINTR
  // A signal the parent set to be ignored stays ignored (a job started with
  // `nohup` or `&` from a script must not stop at the terminal's Ctrl-C),
  // as Python does with its KeyboardInterrupt handler.
  ::sigaction(SIGINT, nullptr, &g_old_int);
  ::sigaction(SIGTERM, nullptr, &g_old_term);
  if (g_old_int.sa_handler != SIG_IGN) ::sigaction(SIGINT, &sa, nullptr);
  if (g_old_term.sa_handler != SIG_IGN) ::sigaction(SIGTERM, &sa, nullptr);
  g_installed = true;
}

StopSignals::~StopSignals() {
  ::sigaction(SIGINT, &g_old_int, nullptr);
  ::sigaction(SIGTERM, &g_old_term, nullptr);
  g_installed = false;
}

int stop_requested() { return g_requested.load(std::memory_order_relaxed); }

std::string signal_name(int sig) {
  return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "signal " + std::to_string(sig);
}

}  // namespace ember::mnist
