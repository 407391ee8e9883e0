// TensorBoard event files, written by hand: no protobuf or TensorFlow library.
//
// An event file (events.out.tfevents.<seconds>.<host>) is a sequence of
// TFRecords, each holding one serialized `Event` protocol buffer:
//
//   record  = uint64 length | uint32 masked_crc32c(length bytes)
//           | data[length]  | uint32 masked_crc32c(data)      (little-endian)
//   masked_crc32c(x) = rotate_right(crc32c(x), 15) + 0xa282ead8
//
// The few protobuf fields needed (tensorflow/core/util/event.proto and
// framework/summary.proto):
//
//   Event   { double wall_time = 1; int64 step = 2; string file_version = 3;
//             Summary summary = 5; }
//   Summary { repeated Value value = 1; }
//   Value   { string tag = 1; float simple_value = 2; }
//
// The first record says file_version "brain.Event:2"; every scalar is then an
// Event whose Summary holds one Value. The encoder (protobuf_*) knows three
// wire types: varint (0), 64-bit (1), length-delimited (2) and 32-bit (5).
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace ember::viz {

// CRC-32C (Castagnoli), as used by TFRecord; crc32c("123456789") == 0xE3069283.
uint32_t crc32c(std::string_view data);
uint32_t masked_crc32c(std::string_view data);
// One TFRecord around `payload`.
std::string tfrecord(std::string_view payload);

// Serialized Event messages.
std::string event_file_version(double wall_time);
std::string event_scalar(double wall_time, int64_t step, std::string_view tag, float value);

class TensorBoardWriter {
 public:
  // Creates `dir` and a new events.out.tfevents.<time>.<host> file in it.
  explicit TensorBoardWriter(const std::filesystem::path& dir);
  // Appends one scalar and flushes, so a running TensorBoard sees it.
  void add_scalar(std::string_view tag, double value, int64_t step);
  const std::filesystem::path& path() const { return path_; }

 private:
  void write(const std::string& event);
  std::filesystem::path path_;
  std::ofstream out_;
};

}  // namespace ember::viz
