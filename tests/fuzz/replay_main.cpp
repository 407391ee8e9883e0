// A plain main() for the fuzz targets, built by any compiler: runs every
// file named on the command line (every regular file in a named folder,
// sorted, so runs are repeatable) through LLVMFuzzerTestOneInput once.
// CTest's fuzz_replay_<name> entries replay tests/fuzz/corpus/<name>/ this
// way in the release and asan trees, so a reproducer committed there fails
// CI if its bug comes back, without Clang or libFuzzer.
//
// A crash is the sanitizer's report or an exception escaping the target;
// the file being run is printed first, so the log names the culprit.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
    return 2;
  }
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    const fs::path arg = argv[i];
    std::error_code ec;
    if (fs::is_directory(arg, ec)) {
      std::vector<fs::path> found;
      for (const auto& entry : fs::directory_iterator(arg))
        if (entry.is_regular_file()) found.push_back(entry.path());
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(arg, ec)) {
      files.push_back(arg);
    } else {
      std::fprintf(stderr, "replay: %s: no such file or folder\n", argv[i]);
      return 2;
    }
  }
  // An empty corpus would pass while testing nothing: a misspelt folder must fail.
  if (files.empty()) {
    std::fprintf(stderr, "replay: no input files found\n");
    return 2;
  }
  for (const fs::path& file : files) {
    std::fprintf(stderr, "replay: %s\n", file.c_str());
    std::ifstream in(file, std::ios::binary);
    const std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    try {
      LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "replay: %s: an exception escaped the target: %s\n", file.c_str(), e.what());
      return 1;
    }
  }
  std::printf("replay: %zu inputs ran without a crash\n", files.size());
  return 0;
}
