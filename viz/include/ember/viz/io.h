// Files that viz writes are replaced whole: written to a temporary file in
// the same folder, flushed to disk, then renamed over the old one (atomic on
// POSIX; Note [Atomic file replacement] in ember/core/atomic_file.h). A
// browser reloading report.html mid-run, or a crash, never sees half a chart.
#pragma once

#include <filesystem>
#include <string>

namespace ember::viz {

// Writes `text` to `path` through a temporary file; FileError on failure.
void write_file_atomic(const std::filesystem::path& path, const std::string& text);
// The whole file as a string; FileError if it cannot be read.
std::string read_file(const std::filesystem::path& path);

}  // namespace ember::viz
