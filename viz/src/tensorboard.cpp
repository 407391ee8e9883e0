#include "ember/viz/tensorboard.h"

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>

#include "ember/core/error.h"

namespace ember::viz {

namespace fs = std::filesystem;

// ---- CRC-32C and TFRecord framing -------------------------------------------

uint32_t crc32c(std::string_view data) {
  // The table for the reflected Castagnoli polynomial 0x82F63B78, built once.
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char b : data) crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

uint32_t masked_crc32c(std::string_view data) {
  const uint32_t c = crc32c(data);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

namespace {

// Little-endian fixed-width integers (TFRecord and protobuf's fixed fields).
template <typename T>
void put_le(std::string& out, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}

// ---- a protobuf wire encoder, just enough for Event -------------------------

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}
void put_key(std::string& out, int field, int wire_type) { put_varint(out, (static_cast<uint64_t>(field) << 3) | wire_type); }
void put_double(std::string& out, int field, double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  put_key(out, field, 1);
  put_le(out, bits);
}
void put_float(std::string& out, int field, float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  put_key(out, field, 5);
  put_le(out, bits);
}
void put_int64(std::string& out, int field, int64_t v) {
  put_key(out, field, 0);
  put_varint(out, static_cast<uint64_t>(v));  // int64: two's complement, 10 bytes when negative
}
void put_bytes(std::string& out, int field, std::string_view bytes) {  // strings and sub-messages
  put_key(out, field, 2);
  put_varint(out, bytes.size());
  out += bytes;
}

}  // namespace

std::string tfrecord(std::string_view payload) {
  std::string len, out;
  put_le<uint64_t>(len, payload.size());
  out = len;
  put_le<uint32_t>(out, masked_crc32c(len));
  out += payload;
  put_le<uint32_t>(out, masked_crc32c(payload));
  return out;
}

std::string event_file_version(double wall_time) {
  std::string e;
  put_double(e, 1, wall_time);
  put_bytes(e, 3, "brain.Event:2");
  return e;
}

std::string event_scalar(double wall_time, int64_t step, std::string_view tag, float value) {
  std::string v, summary, e;
  put_bytes(v, 1, tag);       // Value.tag
  put_float(v, 2, value);     // Value.simple_value
  put_bytes(summary, 1, v);   // Summary.value
  put_double(e, 1, wall_time);
  put_int64(e, 2, step);
  put_bytes(e, 5, summary);   // Event.summary
  return e;
}

// ---- the writer -----------------------------------------------------------------

namespace {
double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}
}  // namespace

TensorBoardWriter::TensorBoardWriter(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  EMBER_CHECK(!ec, FileError, "--tensorboard: cannot create ", dir.string(), ": ", ec.message());
  char host[256] = "localhost";
  ::gethostname(host, sizeof host - 1);
  const double t = now_seconds();
  // TensorBoard's layout; a suffix only if a run in the same second took the name.
  const std::string name = "events.out.tfevents." + std::to_string(static_cast<long long>(t)) + "." + host;
  path_ = dir / name;
  for (int i = 1; fs::exists(path_); ++i) path_ = dir / (name + "." + std::to_string(i));
  out_.open(path_, std::ios::binary | std::ios::trunc);
  EMBER_CHECK(out_, FileError, "--tensorboard: cannot write ", path_.string());
  write(event_file_version(t));
}

void TensorBoardWriter::add_scalar(std::string_view tag, double value, int64_t step) {
  write(event_scalar(now_seconds(), step, tag, static_cast<float>(value)));
}

void TensorBoardWriter::write(const std::string& event) {
  out_ << tfrecord(event);
  out_.flush();
  EMBER_CHECK(out_, FileError, "writing ", path_.string(), " failed (disk full?)");
}

}  // namespace ember::viz
