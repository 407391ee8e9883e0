// Run logs as CSV: CsvLogger appends one row per step or epoch and flushes
// each row, so a crash loses nothing; read_csv reads such files back (for
// the report and for ember-plot). Beside the log, write_run_config stores
// the run's configuration as JSON.
//
// Note [Resuming a log]
// A run resumed from the checkpoint of epoch k must continue the log as if
// it had never stopped: rows written after that checkpoint (epochs k+1...
// of the interrupted run) are dropped, the header is kept once, and new
// rows are appended. CsvLogger::resume does this by the first column's
// value (the epoch or step), rewriting the file atomically.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace ember::viz {

class CsvLogger {
 public:
  // A fresh log: truncates `path` and writes the header.
  CsvLogger(const std::filesystem::path& path, std::vector<std::string> columns);
  // Continues an existing log (Note [Resuming a log]): keeps the rows whose
  // first column is <= keep_up_to. The file's header must equal `columns`
  // (FileError naming both otherwise). A missing file starts a fresh log.
  static CsvLogger resume(const std::filesystem::path& path, std::vector<std::string> columns, double keep_up_to);

  // Appends one row (as many values as columns; ValueError otherwise) and
  // flushes it. Numbers are written in the shortest form that reads back
  // to the same double ("0.1", "3", "nan").
  void log(const std::vector<double>& row);

  // Flushes the rows written so far to the disk itself (fsync), not just to
  // the kernel: before a checkpoint that counts them. FileError on failure.
  void sync();

  const std::filesystem::path& path() const { return path_; }
  const std::vector<std::string>& columns() const { return columns_; }

 private:
  CsvLogger(const std::filesystem::path& path, std::vector<std::string> columns, bool append);
  std::filesystem::path path_;
  std::vector<std::string> columns_;
  std::ofstream out_;
};

// A CSV file read back: the header, and the cells as text.
struct CsvTable {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  // The column's index; ValueError listing the columns if there is none.
  size_t index(const std::string& column) const;
  // A column as numbers: cells that are not numbers become NaN.
  std::vector<double> numbers(const std::string& column) const;
  std::vector<std::string> text(const std::string& column) const;
};
// Reads a CSV with a header line. Cells are split at commas; double quotes
// around a cell are honoured ("a, b"). FileError if the file cannot be read,
// is empty, or a row has more cells than the header.
CsvTable read_csv(const std::filesystem::path& path);
// The same parse for CSV text held in memory; `source` names it in errors.
CsvTable parse_csv(std::string_view text, const std::string& source = "<memory>");

// The text CsvLogger::resume writes back for a log holding `text`: its
// header line (FileError unless it equals `columns`), then the rows whose
// first cell is a number <= keep_up_to (Note [Resuming a log]). A kept row
// with more cells than the header is a FileError: read_csv would refuse it.
std::string csv_rows_up_to(std::string_view text, const std::vector<std::string>& columns, double keep_up_to,
                           const std::string& source = "<memory>");

// Writes `config` as indented JSON to `dir`/config.json (atomically).
void write_run_config(const std::filesystem::path& dir, const nlohmann::json& config);

}  // namespace ember::viz
