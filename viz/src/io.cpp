#include "ember/viz/io.h"

#include <fstream>
#include <sstream>

#include "ember/core/atomic_file.h"
#include "ember/core/error.h"

namespace ember::viz {

namespace fs = std::filesystem;

void write_file_atomic(const fs::path& path, const std::string& text) {
  ember::write_file_atomic(path, text, "viz");  // Note [Atomic file replacement]
}

std::string read_file(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  EMBER_CHECK(f, FileError, "cannot open ", path.string());
  std::ostringstream os;
  os << f.rdbuf();
  return os.str();
}

}  // namespace ember::viz
