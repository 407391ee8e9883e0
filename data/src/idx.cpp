// IDX reader and writer (see Note [IDX format] in idx.h). Both go through
// zlib's gzFile API: on reading it decompresses gzip and passes any other
// file through unchanged ("transparent" mode), so one code path serves raw
// and .gz files; on writing, mode "wbT" writes raw bytes through the same
// calls. A header is validated before any memory is sized from it: a raw
// file's length must match it, and a gzip file must be large enough to hold
// it, so a corrupt header cannot make us allocate gigabytes.
#include "ember/data/idx.h"

#include <zlib.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace ember::data {
namespace fs = std::filesystem;

namespace {

struct GzCloser {
  void operator()(gzFile f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

// How the data of one IDX type code is stored and what Ember makes of it.
struct IdxType {
  uint8_t code;
  const char* name;
  size_t bytes;  // per element in the file
  DType dtype;   // of the tensor read_idx returns
};
constexpr IdxType kIdxTypes[] = {
    {0x08, "uint8", 1, DType::UInt8},     {0x09, "int8", 1, DType::Int64},
    {0x0B, "int16", 2, DType::Int64},     {0x0C, "int32", 4, DType::Int64},
    {0x0D, "float32", 4, DType::Float32}, {0x0E, "float64", 8, DType::Float64},
};

const IdxType* idx_type(uint8_t code) {
  for (const IdxType& t : kIdxTypes)
    if (t.code == code) return &t;
  return nullptr;
}

[[noreturn]] void fail(const char* op, const fs::path& path, const std::string& what) {
  throw FileError(detail::concat(op, ": ", path.string(), ": ", what));
}

std::string hex(unsigned v) {
  const char* digits = "0123456789abcdef";
  return std::string("0x") + digits[(v >> 4) & 15] + digits[v & 15];
}

// zlib's description of the stream's state after a short or failed read.
std::string gz_problem(gzFile f) {
  int code = Z_OK;
  const char* msg = gzerror(f, &code);
  if (code == Z_BUF_ERROR) return "truncated gzip stream (unexpected end of file)";
  if (code == Z_OK) return "";
  std::string text = msg ? msg : "zlib error";
  if (size_t at = text.rfind(": "); at != std::string::npos) text = text.substr(at + 2);  // zlib prefixes the path
  return detail::concat("corrupt gzip stream (", text, ")");
}

// Reads up to n bytes; throws on a zlib error, returns fewer at end of file.
size_t read_bytes(gzFile f, uint8_t* dst, size_t n, const fs::path& path) {
  size_t done = 0;
  while (done < n) {
    unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - done, 1u << 30));
    int got = gzread(f, dst + done, chunk);
    if (got < 0) fail("read_idx", path, gz_problem(f));
    if (got == 0) break;
    done += static_cast<size_t>(got);
  }
  return done;
}

uint64_t load_be(const uint8_t* p, size_t bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}

// Turns the file's big-endian payload into the tensor's elements (types
// wider than a byte; uint8 is read in place).
void decode(const std::vector<uint8_t>& bytes, const IdxType& type, const Tensor& out) {
  size_t n = static_cast<size_t>(out.numel());
  const uint8_t* src = bytes.data();
  switch (type.code) {
    case 0x09:
    case 0x0B:
    case 0x0C: {
      int64_t* dst = out.data_ptr<int64_t>();
      unsigned shift = 64 - 8 * static_cast<unsigned>(type.bytes);
      for (size_t i = 0; i < n; ++i)  // sign-extend from the file's width
        dst[i] = static_cast<int64_t>(load_be(src + i * type.bytes, type.bytes) << shift) >> shift;
      break;
    }
    case 0x0D: {
      float* dst = out.data_ptr<float>();
      for (size_t i = 0; i < n; ++i) {
        uint32_t bits = static_cast<uint32_t>(load_be(src + 4 * i, 4));
        std::memcpy(dst + i, &bits, 4);
      }
      break;
    }
    case 0x0E: {
      double* dst = out.data_ptr<double>();
      for (size_t i = 0; i < n; ++i) {
        uint64_t bits = load_be(src + 8 * i, 8);
        std::memcpy(dst + i, &bits, 8);
      }
      break;
    }
  }
}

}  // namespace

Tensor read_idx(const fs::path& path) {
  std::error_code ec;
  EMBER_CHECK(fs::is_regular_file(path, ec), FileError, "read_idx: ", path.string(), ": no such file");
  GzFile file(gzopen(path.c_str(), "rb"));
  if (!file) fail("read_idx", path, "cannot open for reading");
  gzbuffer(file.get(), 1 << 17);

  uint8_t head[4];
  if (read_bytes(file.get(), head, 4, path) < 4) {
    std::string why = gz_problem(file.get());
    fail("read_idx", path, why.empty() ? "too short for an IDX header (needs 4 bytes)" : why);
  }
  if (head[0] != 0 || head[1] != 0)
    fail("read_idx", path, detail::concat("bad magic ", hex(head[0]), " ", hex(head[1]),
                                          " (an IDX file starts with 0x00 0x00)"));
  const IdxType* type = idx_type(head[2]);
  if (!type)
    fail("read_idx", path, detail::concat("unknown IDX type code ", hex(head[2]),
                                          " (known: 0x08 uint8, 0x09 int8, 0x0b int16, 0x0c int32, "
                                          "0x0d float32, 0x0e float64)"));
  const int ndim = head[3];
  if (ndim == 0) fail("read_idx", path, "header has 0 dims");

  std::vector<uint8_t> dims_raw(4 * static_cast<size_t>(ndim));
  if (read_bytes(file.get(), dims_raw.data(), dims_raw.size(), path) < dims_raw.size()) {
    std::string why = gz_problem(file.get());
    fail("read_idx", path, why.empty() ? detail::concat("truncated header (", ndim, " dims announced)") : why);
  }
  Shape shape(ndim);
  uint64_t count = 1;
  for (int d = 0; d < ndim; ++d) {
    shape[d] = static_cast<int64_t>(load_be(&dims_raw[4 * d], 4));
    if (__builtin_mul_overflow(count, static_cast<uint64_t>(shape[d]), &count) || count > (uint64_t{1} << 40))
      fail("read_idx", path, detail::concat("header dims ", shape_str(shape), " are implausibly large"));
  }
  const uint64_t header_bytes = 4 + 4 * static_cast<uint64_t>(ndim);
  const uint64_t payload = count * type->bytes;

  // Bound the payload before sizing memory from it: a raw file's length
  // must match the header exactly, and deflate expands at most 1032:1, so
  // a gzip file cannot hold more than ~1032 times its own size.
  const uint64_t file_size = fs::file_size(path, ec);
  if (!ec && gzdirect(file.get()) && file_size != header_bytes + payload)
    fail("read_idx", path, detail::concat(file_size < header_bytes + payload ? "truncated: " : "size mismatch: ",
                                          "file has ", file_size, " bytes but header dims ", shape_str(shape), " of ",
                                          type->name, " need ", header_bytes + payload));
  if (!ec && !gzdirect(file.get()) && payload > 1100 * file_size)
    fail("read_idx", path, detail::concat("header dims ", shape_str(shape), " of ", type->name, " need ", payload,
                                          " bytes, more than a gzip file of ", file_size, " bytes can hold"));

  // uint8 data goes straight into the tensor; wider types via a byte buffer.
  Tensor out = make_empty(shape, type->dtype, kCPU);
  std::vector<uint8_t> buffer;
  uint8_t* dst = nullptr;
  if (type->code == 0x08) {
    dst = out.data_ptr<uint8_t>();
  } else {
    buffer.resize(static_cast<size_t>(payload));
    dst = buffer.data();
  }
  if (size_t got = read_bytes(file.get(), dst, static_cast<size_t>(payload), path); got < payload) {
    std::string why = gz_problem(file.get());
    fail("read_idx", path, detail::concat(why.empty() ? "truncated" : why, ": data has ", got,
                                          " bytes but header dims ", shape_str(shape), " of ", type->name, " need ",
                                          payload));
  }
  // One more byte must hit a clean end: this also makes zlib check the gzip
  // trailer's CRC and length, which a read of exactly `payload` bytes skips.
  uint8_t extra[4096];
  size_t trailing = 0, got = 0;
  while ((got = read_bytes(file.get(), extra, sizeof extra, path)) > 0) trailing += got;
  if (std::string why = gz_problem(file.get()); !why.empty()) fail("read_idx", path, why);
  if (trailing > 0)
    fail("read_idx", path, detail::concat("size mismatch: ", trailing, " bytes after the data that header dims ",
                                          shape_str(shape), " of ", type->name, " describe"));
  if (type->code != 0x08) decode(buffer, *type, out);
  return out;
}

namespace {

// The tensor's elements in row-major order, big-endian, as type `code`.
std::vector<uint8_t> encode(const Tensor& t, const IdxType& type, const fs::path& path) {
  const size_t n = static_cast<size_t>(t.numel()), in_size = dtype_size(t.dtype());
  std::vector<uint8_t> out(n * type.bytes);
  const auto* base = static_cast<const uint8_t*>(t.raw_data());
  const Shape& shape = t.shape();
  const Strides& strides = t.strides();
  std::vector<int64_t> idx(shape.size(), 0);
  int64_t at = 0;  // element offset of idx from base
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* src = base + at * static_cast<int64_t>(in_size);
    uint64_t bits = 0;
    if (type.code == 0x08) {
      bits = *src;
    } else if (type.code == 0x0C) {
      int64_t v;
      std::memcpy(&v, src, 8);
      if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max())
        fail("write_idx", path, detail::concat("int64 value ", v, " at flat index ", i, " does not fit in IDX int32"));
      bits = static_cast<uint32_t>(static_cast<int32_t>(v));
    } else {
      std::memcpy(&bits, src, type.bytes);  // little-endian host: low bytes hold the value
    }
    for (size_t b = 0; b < type.bytes; ++b) out[i * type.bytes + b] = static_cast<uint8_t>(bits >> (8 * (type.bytes - 1 - b)));
    for (size_t d = shape.size(); d-- > 0;) {  // odometer step to the next row-major index
      at += strides[d];
      if (++idx[d] < shape[d]) break;
      at -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
  return out;
}

}  // namespace

void write_idx(const fs::path& path, const Tensor& tensor) {
  EMBER_CHECK(tensor.defined(), ValueError, "write_idx: ", path.string(), ": tensor is undefined");
  EMBER_CHECK(tensor.device().is_cpu(), DeviceError, "write_idx: ", path.string(), ": tensor is on ",
              tensor.device().str(), "; move it to the CPU first");
  EMBER_CHECK(tensor.dim() >= 1 && tensor.dim() <= 255, ValueError, "write_idx: ", path.string(),
              ": IDX needs 1 to 255 dims, tensor has ", tensor.dim());
  uint8_t code = 0;
  switch (tensor.dtype()) {
    case DType::Bool:
    case DType::UInt8: code = 0x08; break;
    case DType::Int64: code = 0x0C; break;
    case DType::Float32: code = 0x0D; break;
    case DType::Float64: code = 0x0E; break;
  }
  const IdxType& type = *idx_type(code);
  std::vector<uint8_t> bytes = {0, 0, code, static_cast<uint8_t>(tensor.dim())};
  for (int64_t s : tensor.shape()) {
    EMBER_CHECK(s <= std::numeric_limits<uint32_t>::max(), ValueError, "write_idx: ", path.string(), ": dim size ", s,
                " does not fit in IDX's uint32");
    for (int b = 3; b >= 0; --b) bytes.push_back(static_cast<uint8_t>(static_cast<uint64_t>(s) >> (8 * b)));
  }
  std::vector<uint8_t> data = encode(tensor, type, path);
  bytes.insert(bytes.end(), data.begin(), data.end());

  static std::atomic<unsigned> counter{0};
  fs::path tmp = path;
  tmp += detail::concat(".tmp.", ::getpid(), ".", counter++);
  const bool gz = path.extension() == ".gz";
  {
    GzFile file(gzopen(tmp.c_str(), gz ? "wb6" : "wbT"));
    if (!file) fail("write_idx", path, detail::concat("cannot open ", tmp.string(), " for writing"));
    size_t done = 0;
    while (done < bytes.size()) {
      unsigned chunk = static_cast<unsigned>(std::min<size_t>(bytes.size() - done, 1u << 30));
      if (gzwrite(file.get(), bytes.data() + done, chunk) != static_cast<int>(chunk)) {
        int code = Z_OK;
        std::string why = gzerror(file.get(), &code);
        file.reset();
        std::error_code ignored;
        fs::remove(tmp, ignored);
        fail("write_idx", path, "write failed: " + why);
      }
      done += chunk;
    }
    if (gzclose(file.release()) != Z_OK) {
      std::error_code ignored;
      fs::remove(tmp, ignored);
      fail("write_idx", path, "write failed while closing (disk full?)");
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    fail("write_idx", path, "cannot rename the temporary file into place: " + ec.message());
  }
}

}  // namespace ember::data
