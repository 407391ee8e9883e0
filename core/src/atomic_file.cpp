// Note [Atomic file replacement] in ember/core/atomic_file.h.
#include "ember/core/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "ember/core/error.h"
#include "ember/core/fault.h"

namespace ember {

namespace fs = std::filesystem;

namespace {

// The injected fault at `point`, if any: kill here, or report ENOSPC.
bool injected_no_space(std::string_view point, const fs::path& target) {
  switch (fault::arrive(point, target)) {
    case fault::Action::Kill: fault::kill_now();
    case fault::Action::NoSpace: return true;
    case fault::Action::None: break;
  }
  return false;
}

}  // namespace

AtomicFile::AtomicFile(const fs::path& target, std::string context) : target_(target), context_(std::move(context)) {
  static std::atomic<uint64_t> counter{0};
  for (int attempt = 0; attempt < 100 && fd_ < 0; ++attempt) {  // EEXIST: a crashed run's file, same pid
    const std::string name = detail::concat(".", target.filename().string(), ".tmp.", ::getpid(), ".", counter++);
    path_ = target.parent_path() / name;
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ < 0 && errno != EEXIST) break;
  }
  if (fd_ < 0) {
    const int err = errno;  // before the message's allocation can touch it
    fail("cannot create the temporary file " + path_.string(), err);
  }
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(path_.c_str());
}

void AtomicFile::write(const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  // A file counts once at the "write" point, at its first write, so that N
  // means the N-th file as at fsync and rename (save_safetensors writes a
  // file in many pieces: the header, then each tensor).
  fault::Action injected = fault::Action::None;
  if (n > 0 && !write_counted_) {
    write_counted_ = true;
    injected = fault::arrive("write", target_);
  }
  if (injected != fault::Action::None) {
    write_all(p, n / 2);  // half the bytes land, as when a disk fills (or the power goes) mid-write
    if (injected == fault::Action::Kill) fault::kill_now();
    fail("cannot write " + path_.string(), ENOSPC);
  }
  write_all(p, n);
}

void AtomicFile::write_all(const char* p, size_t n) {
  while (n > 0) {
    const ssize_t k = ::write(fd_, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) {
      const int err = k == 0 ? EIO : errno;
      fail("cannot write " + path_.string(), err);
    }
    p += k;
    n -= static_cast<size_t>(k);
  }
}

void AtomicFile::commit() {
  if (injected_no_space("fsync", target_)) fail("cannot flush " + path_.string(), ENOSPC);
  if (::fsync(fd_) != 0) {
    const int err = errno;
    fail("cannot flush " + path_.string(), err);
  }
  const int rc = ::close(fd_), close_err = errno;
  fd_ = -1;
  if (rc != 0) fail("cannot close " + path_.string(), close_err);
  if (injected_no_space("rename", target_)) fail("cannot rename " + path_.string() + " onto it", ENOSPC);
  if (std::rename(path_.c_str(), target_.c_str()) != 0) {
    const int err = errno;
    fail("cannot rename " + path_.string() + " onto it", err);
  }
  committed_ = true;
  if (fault::arrive("renamed", target_) == fault::Action::Kill) fault::kill_now();  // kill only: parse refuses enospc
  const fs::path dir = target_.parent_path().empty() ? fs::path(".") : target_.parent_path();
  // Make the rename durable. A directory that cannot be opened or flushed
  // is not reported: the file is in place and whole either way, and only a
  // power cut in the next seconds could undo the rename.
  if (int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
}

void AtomicFile::fail(const std::string& what, int err) const {
  throw FileError(context_ + ": " + target_.string() + ": " + what + ": " + std::strerror(err));
}

void write_file_atomic(const fs::path& path, std::string_view bytes, const std::string& context) {
  AtomicFile file(path, context);
  file.write(bytes);
  file.commit();
}

}  // namespace ember
