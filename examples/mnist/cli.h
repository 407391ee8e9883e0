// ember-mnist's command line, parsed into a Config without printing or
// exiting, so that main() and tests/fuzz/cli.cpp run the same parser.
// CLI11 reports every problem (and --help) as a CLI::ParseError; main turns
// it into CLI11's usual message and exit code with CommandLine::exit.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "trainer.h"

namespace ember::mnist {

// What the command line asked for: train with `config`, or evaluate `file`.
struct Command {
  bool train = false;
  Config config;
  std::string file;  // eval's checkpoint or model file
  EvalRequest eval;  // eval's --model, and whether --dataset was given
};

// Text for --help that comes from the engine (main passes the registered
// backends and model names; the fuzz target passes fixed strings, so that it
// needs no kernels).
struct CliChoices {
  std::string kernels;  // "cpu: ember, eigen; cuda: ember"
  std::string models;   // "cnn, lenet, ..."
};

class CommandLine {
 public:
  explicit CommandLine(const CliChoices& choices);
  CommandLine(const CommandLine&) = delete;  // the app's options point into this object
  CommandLine& operator=(const CommandLine&) = delete;

  /// Parses argv (argv[0] is the program). Throws CLI::ParseError for bad
  /// arguments and for --help (CLI::CallForHelp); prints nothing.
  Command parse(int argc, const char* const* argv);
  /// CLI11's report of `e` (help on stdout, an error on stderr) and its exit code.
  int exit(const CLI::ParseError& e) { return app_.exit(e); }

 private:
  CLI::App app_;
  Config config_;
  int64_t epochs_ = 0;  // 0: the dataset's default (default_epochs)
  std::string file_, eval_model_;
  CLI::App* train_ = nullptr;
  CLI::App* eval_ = nullptr;
};

}  // namespace ember::mnist
