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
  if (fd_ < 0) fail("cannot create the temporary file " + path_.string(), errno);
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(path_.c_str());
}

void AtomicFile::write(const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  if (const fault::Action injected = n > 0 ? fault::arrive("write", target_) : fault::Action::None;
      injected != fault::Action::None) {
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
    if (k <= 0) fail("cannot write " + path_.string(), k == 0 ? EIO : errno);
    p += k;
    n -= static_cast<size_t>(k);
  }
}

void AtomicFile::commit() {
  if (injected_no_space("fsync", target_)) fail("cannot flush " + path_.string(), ENOSPC);
  if (::fsync(fd_) != 0) fail("cannot flush " + path_.string(), errno);
  const int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) fail("cannot close " + path_.string(), errno);
  if (injected_no_space("rename", target_)) fail("cannot rename " + path_.string() + " onto it", ENOSPC);
  if (std::rename(path_.c_str(), target_.c_str()) != 0) fail("cannot rename " + path_.string() + " onto it", errno);
  committed_ = true;
  if (injected_no_space("renamed", target_)) fail("renamed, but cannot flush its directory", ENOSPC);
  const fs::path dir = target_.parent_path().empty() ? fs::path(".") : target_.parent_path();
  if (int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {  // make the rename durable
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
