// Fuzz target: the metrics CSV that ember-mnist reads back. On --resume,
// CsvLogger::resume keeps the rows up to the checkpoint (csv_rows_up_to),
// and the report reads the log with read_csv (parse_csv here), column by
// column. The columns are metrics.csv's, as the trainer passes them, so
// inputs that keep the seeds' header reach the row filtering. What resume
// writes back must read again with the same header (else abort).
// Seeds: corpus/csv/.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <ember/core/error.h>
#include <ember/viz/csv_logger.h>

namespace {

// examples/mnist/trainer.cpp's kEpochColumns.
const std::vector<std::string> kColumns = {"epoch", "step", "train_loss", "train_accuracy", "test_loss",
                                           "test_accuracy", "lr", "epoch_seconds", "samples_per_second"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const ember::viz::CsvTable table = ember::viz::parse_csv(text, "metrics.csv");
    for (const std::string& column : table.columns) {
      (void)table.numbers(column);
      (void)table.text(column);
    }
  } catch (const ember::Error&) {
  }
  std::string kept;
  try {
    kept = ember::viz::csv_rows_up_to(text, kColumns, 3, "metrics.csv");
  } catch (const ember::Error&) {
    return 0;
  }
  try {
    if (ember::viz::parse_csv(kept, "resumed metrics.csv").columns == kColumns) return 0;
  } catch (const ember::Error&) {
  }
  std::fprintf(stderr, "csv: the log resume wrote does not read back with its header\n");
  std::abort();
}
