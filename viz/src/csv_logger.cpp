#include "ember/viz/csv_logger.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <sstream>

#include "ember/core/error.h"
#include "ember/core/fault.h"
#include "ember/viz/io.h"

namespace ember::viz {

namespace fs = std::filesystem;

namespace {

std::string join(const std::vector<std::string>& cells) {
  std::string s;
  for (size_t i = 0; i < cells.size(); ++i) s += (i ? "," : "") + cells[i];
  return s;
}

// One CSV line into cells; "..." protects commas, "" inside is a quote.
std::vector<std::string> split_line(const std::string& line) {
  std::vector<std::string> cells(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == '"' && quoted && i + 1 < line.size() && line[i + 1] == '"') cells.back() += line[++i];
    else if (c == '"') quoted = !quoted;
    else if (c == ',' && !quoted) cells.emplace_back();
    else if (c != '\r') cells.back() += c;
  }
  return cells;
}

bool parse_number(const std::string& cell, double& v) {
  if (cell.empty()) return false;
  char* end = nullptr;
  v = std::strtod(cell.c_str(), &end);
  return end == cell.c_str() + cell.size();
}

}  // namespace

CsvLogger::CsvLogger(const fs::path& path, std::vector<std::string> columns, bool append)
    : path_(path), columns_(std::move(columns)) {
  EMBER_CHECK(!columns_.empty(), ValueError, "CsvLogger: no columns for ", path.string());
  if (!append) write_file_atomic(path_, join(columns_) + "\n");
  out_.open(path_, std::ios::app);
  EMBER_CHECK(out_, FileError, "CsvLogger: cannot open ", path_.string(), " for appending");
}

CsvLogger::CsvLogger(const fs::path& path, std::vector<std::string> columns)
    : CsvLogger(path, std::move(columns), false) {}

std::string csv_rows_up_to(std::string_view text, const std::vector<std::string>& columns, double keep_up_to,
                           const std::string& source) {
  std::istringstream in{std::string(text)};
  std::string header, line, kept;
  std::getline(in, header);
  if (!header.empty() && header.back() == '\r') header.pop_back();
  EMBER_CHECK(header == join(columns), FileError, "cannot resume ", source, ": its header is '", header,
              "' but this run logs '", join(columns), "'");
  kept = header + "\n";
  for (size_t n = 2; std::getline(in, line); ++n) {
    // A torn last line (a disk that filled or a process that died mid-row)
    // goes: it has no newline, and may lack cells or hold a cut number.
    if (line.empty() || in.eof()) continue;
    const std::vector<std::string> cells = split_line(line);
    double key;
    if (!parse_number(cells[0], key) || !(key <= keep_up_to)) continue;
    // A kept row must read back (read_csv refuses rows wider than the header).
    EMBER_CHECK(cells.size() <= columns.size(), FileError, "cannot resume ", source, ": line ", n, " has ",
                cells.size(), " cells but the header has ", columns.size());
    if (cells.size() == columns.size()) kept += line + "\n";  // one with cells missing was torn too
  }
  return kept;
}

CsvLogger CsvLogger::resume(const fs::path& path, std::vector<std::string> columns, double keep_up_to) {
  if (!fs::exists(path)) return CsvLogger(path, std::move(columns), false);
  write_file_atomic(path, csv_rows_up_to(read_file(path), columns, keep_up_to, path.string()));
  return CsvLogger(path, std::move(columns), true);
}

void CsvLogger::log(const std::vector<double>& row) {
  EMBER_CHECK(row.size() == columns_.size(), ValueError, "CsvLogger::log: ", row.size(), " values for ",
              columns_.size(), " columns of ", path_.string());
  std::string line;
  char buf[64];
  for (size_t i = 0; i < row.size(); ++i) {
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, row[i]);  // shortest round-trip form
    if (i) line += ',';
    line.append(buf, end);
  }
  line += '\n';
  // Note [Fault injection]: half the row lands, then the "disk" is full or the process dies.
  if (const fault::Action f = fault::arrive("append", path_); f != fault::Action::None) {
    out_ << line.substr(0, line.size() / 2) << std::flush;
    if (f == fault::Action::Kill) fault::kill_now();
    throw FileError("CsvLogger: writing a row to " + path_.string() + " failed: " + std::strerror(ENOSPC));
  }
  errno = 0;
  out_ << line << std::flush;
  const int err = errno;  // before the message's allocations can touch it
  EMBER_CHECK(out_, FileError, "CsvLogger: writing a row to ", path_.string(), " failed: ",
              err ? std::strerror(err) : "the stream is in error (disk full?)");
}

void CsvLogger::sync() {
  out_.flush();
  // Any descriptor of the file flushes its data; the stream does not show its own.
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  const int rc = fd < 0 ? -1 : ::fsync(fd), err = errno;
  if (fd >= 0) ::close(fd);
  EMBER_CHECK(rc == 0, FileError, "CsvLogger: cannot flush ", path_.string(), " to disk: ", std::strerror(err));
}

size_t CsvTable::index(const std::string& column) const {
  for (size_t i = 0; i < columns.size(); ++i)
    if (columns[i] == column) return i;
  std::string all;
  for (const auto& c : columns) all += (all.empty() ? "" : ", ") + c;
  throw ValueError("no column '" + column + "' (the columns are: " + all + ")");
}

std::vector<double> CsvTable::numbers(const std::string& column) const {
  const size_t i = index(column);
  std::vector<double> out;
  for (const auto& row : rows) {
    double v;
    out.push_back(parse_number(row[i], v) ? v : std::numeric_limits<double>::quiet_NaN());
  }
  return out;
}

std::vector<std::string> CsvTable::text(const std::string& column) const {
  const size_t i = index(column);
  std::vector<std::string> out;
  for (const auto& row : rows) out.push_back(row[i]);
  return out;
}

CsvTable parse_csv(std::string_view text, const std::string& source) {
  std::istringstream in{std::string(text)};
  CsvTable t;
  std::string line;
  EMBER_CHECK(std::getline(in, line) && !line.empty(), FileError, "read_csv: ", source,
              " is empty (expected a header line)");
  t.columns = split_line(line);
  for (size_t n = 2; std::getline(in, line); ++n) {
    if (line.empty() || line == "\r") continue;
    std::vector<std::string> cells = split_line(line);
    EMBER_CHECK(cells.size() <= t.columns.size(), FileError, "read_csv: ", source, " line ", n, " has ",
                cells.size(), " cells but the header has ", t.columns.size());
    cells.resize(t.columns.size());
    t.rows.push_back(std::move(cells));
  }
  return t;
}

CsvTable read_csv(const fs::path& path) { return parse_csv(read_file(path), path.string()); }

void write_run_config(const fs::path& dir, const nlohmann::json& config) {
  write_file_atomic(dir / "config.json", config.dump(2) + "\n");
}

}  // namespace ember::viz
