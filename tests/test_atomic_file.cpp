// Files replaced whole or not at all (Note [Atomic file replacement] in
// core/atomic_file.h) under injected faults (Note [Fault injection] in
// core/fault.h): a failed write names the file and the reason and leaves
// the old file as it was, and a torn log row is dropped on resume.
#include <ember/core/atomic_file.h>
#include <ember/core/fault.h>
#include <ember/viz/csv_logger.h>
#include <ember/viz/io.h>

#include "support.h"

using namespace ember;
using namespace ember::test;

namespace {

// Sets a fault for one scope and turns faults off after.
struct Fault {
  explicit Fault(const std::string& spec) { fault::configure(spec); }
  ~Fault() { fault::configure(""); }
};

std::string slurp(const std::filesystem::path& p) { return viz::read_file(p); }

}  // namespace

TEST_CASE("AtomicFile replaces a file whole and leaves no temporary file", "[atomic_file]") {
  TempDir dir;
  write_file_atomic(dir / "a.txt", "old contents", "test");
  write_file_atomic(dir / "a.txt", "new", "test");
  CHECK(slurp(dir / "a.txt") == "new");
  CHECK(dir.names() == std::vector<std::string>{"a.txt"});
  {
    AtomicFile abandoned(dir / "a.txt", "test");
    abandoned.write("never committed");
  }
  CHECK(slurp(dir / "a.txt") == "new");
  CHECK(dir.names() == std::vector<std::string>{"a.txt"});
  REQUIRE_THROWS_WITH_ALL(write_file_atomic(dir / "no" / "such" / "dir.txt", "x", "test"), FileError, "test: ",
                          "dir.txt", "cannot create the temporary file", "No such file or directory");
}

TEST_CASE("A full disk at any step of a write keeps the old file, and the error names file and reason",
          "[atomic_file]") {
  TempDir dir;
  const auto target = dir / "checkpoint.safetensors";
  save_safetensors(target, {{"w", full({3}, 1.0)}});
  const std::string before = slurp(target);
  for (const char* point : {"write", "fsync", "rename"}) {
    INFO(point);
    Fault fault(std::string("enospc@") + point + ":checkpoint#1");
    REQUIRE_THROWS_WITH_ALL(save_safetensors(target, {{"w", full({1000}, 2.0)}}), FileError, "save_safetensors",
                            "checkpoint.safetensors", "No space left on device");
    CHECK(slurp(target) == before);
    CHECK(dir.names() == std::vector<std::string>{"checkpoint.safetensors"});
    CHECK(load_safetensors(target).at("w").to_vector<float>() == std::vector<float>{1, 1, 1});
  }
  // The name filter: a fault for another file leaves this one alone.
  Fault other("enospc@write:report#1");
  save_safetensors(target, {{"w", full({2}, 3.0)}});
  CHECK(load_safetensors(target).at("w").to_vector<float>() == std::vector<float>{3, 3});
}

TEST_CASE("The N-th arrival is the one that fails", "[atomic_file]") {
  TempDir dir;
  Fault fault("enospc@write:log#3");
  write_file_atomic(dir / "log.txt", "1", "test");
  write_file_atomic(dir / "other.txt", "not counted", "test");
  write_file_atomic(dir / "log.txt", "2", "test");
  REQUIRE_THROWS_AS(write_file_atomic(dir / "log.txt", "3", "test"), FileError);
  write_file_atomic(dir / "log.txt", "4", "test");  // only the third
  CHECK(slurp(dir / "log.txt") == "4");
}

TEST_CASE("A row torn by a full disk is reported, and resume drops it", "[atomic_file]") {
  TempDir dir;
  const auto path = dir / "metrics.csv";
  {
    viz::CsvLogger log(path, {"epoch", "loss", "accuracy"});
    log.log({1, 0.5, 0.75});
    Fault fault("enospc@append:metrics#2");
    log.log({2, 0.25, 0.875});
    REQUIRE_THROWS_WITH_ALL(log.log({3, 0.125, 0.9375}), FileError, "metrics.csv", "No space left on device");
  }
  const std::string torn = slurp(path);
  REQUIRE(torn.back() != '\n');  // half a row, as a full disk leaves it
  CHECK(torn.find("3,0.1") != std::string::npos);
  viz::CsvLogger::resume(path, {"epoch", "loss", "accuracy"}, 10).log({3, 0.125, 0.9375});
  CHECK(slurp(path) == "epoch,loss,accuracy\n1,0.5,0.75\n2,0.25,0.875\n3,0.125,0.9375\n");
  // Torn in the last cell: every cell is there, but the number is cut short.
  write_file_atomic(path, "epoch,loss,accuracy\n1,0.5,0.75\n2,0.25,0.8", "test");
  viz::CsvLogger::resume(path, {"epoch", "loss", "accuracy"}, 10);
  CHECK(slurp(path) == "epoch,loss,accuracy\n1,0.5,0.75\n");
  // A short row that does end in a newline is torn too (cells missing).
  write_file_atomic(path, "epoch,loss,accuracy\n1,0.5,0.75\n2,0.2\n", "test");
  viz::CsvLogger::resume(path, {"epoch", "loss", "accuracy"}, 10);
  CHECK(slurp(path) == "epoch,loss,accuracy\n1,0.5,0.75\n");
}

TEST_CASE("A malformed EMBER_FAULT is a ValueError naming the variable and the form", "[atomic_file]") {
  for (const char* bad : {"kill", "boom@write#1", "kill@flush#1", "kill@write#0", "kill@write#x", "enospc@renamed#1"})
    REQUIRE_THROWS_WITH_ALL(fault::configure(bad), ValueError, "EMBER_FAULT", bad, "ACTION@POINT[:NAME]#N");
  fault::configure("kill@renamed:ckpt#2");  // well formed: no throw
  fault::configure("");
}
