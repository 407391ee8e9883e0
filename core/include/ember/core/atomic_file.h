// Files replaced whole or not at all: a checkpoint, a report, a chart.
//
// Note [Atomic file replacement]
// Writing a file in place has a window in which it is half old, half new,
// or (disk full, power cut, SIGKILL) half written for good. So every file
// Ember writes for keeps goes through AtomicFile:
//   1. create "<dir>/.<name>.tmp.<pid>.<n>" (O_EXCL: never someone else's);
//   2. write the bytes, retrying short writes; any error throws FileError;
//   3. fsync the temporary file, so its bytes are on disk before its name;
//   4. rename it onto the target: POSIX makes this atomic, so a reader sees
//      the old file or the new one, never a mix;
//   5. fsync the directory, so the rename itself survives a power cut.
// A failure or an exception before 4 removes the temporary file and leaves
// the old target untouched. Only SIGKILL or a crash can leave a temporary
// file behind: harmless, hidden, and named by pid so it never collides.
//
// Each step is also a fault-injection point (Note [Fault injection] in
// fault.h), which is how tests/full_disk_test.sh and scripts/kill_resume.sh
// fail or kill a write at every one of them.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace ember {

class AtomicFile {
 public:
  // `context` starts every error message (e.g. "save_safetensors").
  AtomicFile(const std::filesystem::path& target, std::string context);
  ~AtomicFile();  // removes the temporary file unless commit() renamed it
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t n);
  void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }
  // fsync, close, rename onto the target, fsync the directory.
  void commit();

  const std::filesystem::path& temporary_path() const { return path_; }

 private:
  void write_all(const char* p, size_t n);
  [[noreturn]] void fail(const std::string& what, int err) const;
  std::filesystem::path target_, path_;
  std::string context_;
  int fd_ = -1;
  bool committed_ = false;
  bool write_counted_ = false;  // Note [Fault injection]: one "write" arrival per file
};

// The whole file in one go, through AtomicFile.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes, const std::string& context);

}  // namespace ember
