// Fuzz target: ember-mnist's command line (CommandLine::parse, which main
// calls). The input is split into argv words at newlines and NULs, after
// "ember-mnist". CLI::ParseError is how CLI11 reports a bad command line
// (main prints it and exits with its code), so it is caught here with
// ember::Error; anything else escaping is a finding. Seeds: corpus/cli/,
// one command line per file, one word per line.
#include <cstdint>
#include <string>
#include <vector>

#include <ember/core/error.h>

#include "cli.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> words{"ember-mnist"};
  std::string word;
  for (size_t i = 0; i <= size; ++i) {
    if (i == size || data[i] == '\n' || data[i] == '\0') {
      if (i < size || !word.empty()) words.push_back(word);
      word.clear();
    } else {
      word += static_cast<char>(data[i]);
    }
  }
  std::vector<const char*> argv;
  for (const std::string& w : words) argv.push_back(w.c_str());
  try {
    ember::mnist::CommandLine cli({"cpu: ember, eigen", "cnn, lenet, mlp"});
    (void)cli.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError&) {
  } catch (const ember::Error&) {
  }
  return 0;
}
