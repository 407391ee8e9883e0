#include "ember/viz/io.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "ember/core/error.h"

namespace ember::viz {

namespace fs = std::filesystem;

void write_file_atomic(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    EMBER_CHECK(f, FileError, "cannot write ", tmp.string(), " (does the folder exist and is it writable?)");
    f << text;
    f.flush();
    EMBER_CHECK(f, FileError, "writing ", tmp.string(), " failed after ", text.size(), " bytes (disk full?)");
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw FileError("cannot rename " + tmp.string() + " onto " + path.string() + ": " + ec.message());
  }
}

std::string read_file(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  EMBER_CHECK(f, FileError, "cannot open ", path.string());
  std::ostringstream os;
  os << f.rdbuf();
  return os.str();
}

}  // namespace ember::viz
