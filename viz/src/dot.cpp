// Runs Graphviz's dot as a child process. posix_spawnp with an argument
// vector, not system(): no shell, so no quoting problems with odd paths.
// Input and output travel through temporary files, which avoids the
// deadlock of a child that fills one pipe while we are writing the other.
#include "ember/viz/dot.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "ember/core/error.h"
#include "ember/viz/io.h"

extern char** environ;

namespace ember::viz {

namespace fs = std::filesystem;

namespace {

constexpr const char* kInstallHint = "Graphviz's `dot` was not found on PATH; install it (apt-get install graphviz) "
                                     "or render the .dot file elsewhere";

// Runs `argv` with stdout and stderr sent to files; returns the exit status,
// or -1 when the program could not be started (errno in *spawn_errno).
int run(const std::vector<std::string>& args, const fs::path& out, const fs::path& err, int* spawn_errno) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid;
  const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    *spawn_errno = rc;
    return -1;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  // glibc's posix_spawnp reports a missing program as exit status 127.
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// A scratch folder removed at scope exit.
struct Scratch {
  fs::path dir;
  Scratch() {
    static int counter = 0;
    dir = fs::temp_directory_path() / ("ember_dot_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(dir);
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

}  // namespace

bool dot_available() {
  Scratch s;
  int spawn_errno = 0;
  return run({"dot", "-V"}, s.dir / "out", s.dir / "err", &spawn_errno) == 0;
}

std::string render_dot(const std::string& dot_text) {
  Scratch s;
  write_file_atomic(s.dir / "graph.dot", dot_text);
  int spawn_errno = 0;
  const int rc = run({"dot", "-Tsvg", (s.dir / "graph.dot").string()}, s.dir / "graph.svg", s.dir / "err", &spawn_errno);
  if (rc == -1 || rc == 127) throw FileError(std::string(kInstallHint) + (rc == -1 ? std::string(" (") + std::strerror(spawn_errno) + ")" : ""));
  if (rc != 0) throw ValueError("dot rejected the graph (exit status " + std::to_string(rc) + "): " + read_file(s.dir / "err"));
  return read_file(s.dir / "graph.svg");
}

}  // namespace ember::viz
