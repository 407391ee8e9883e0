// IDX reader and writer (see Note [IDX format] in idx.h). Reading parses
// bytes held in memory (parse_idx); read_idx loads the file and hands its
// bytes over, so files and memory share one parser and every check. Gzip
// input is inflated in memory with zlib's inflate, piece by piece, so a
// header is validated before any memory is sized from it: a raw input's
// length must match it, and a gzip input must be large enough to hold it,
// so a corrupt header cannot make us allocate gigabytes. Writing goes
// through zlib's gzFile API, whose mode "wbT" writes raw bytes through the
// same calls as gzip.
#include "ember/data/idx.h"

#include <zlib.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fstream>
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

[[noreturn]] void fail(const char* op, const std::string& source, const std::string& what) {
  throw FileError(detail::concat(op, ": ", source, ": ", what));
}

std::string hex(unsigned v) {
  const char* digits = "0123456789abcdef";
  return std::string("0x") + digits[(v >> 4) & 15] + digits[v & 15];
}

// The input's bytes as the IDX parser sees them: raw input passes through,
// gzip input (magic 1f 8b) is inflated on demand, one gzip member after
// another as gzread does. read() returns fewer bytes than asked only at a
// clean end; a truncated or corrupt stream throws FileError.
class IdxBytes {
 public:
  IdxBytes(std::string_view in, const char* op, const std::string& source)
      : in_(in), op_(op), source_(source),
        gzip_(in.size() >= 2 && uint8_t(in[0]) == 0x1f && uint8_t(in[1]) == 0x8b) {
    if (!gzip_) return;
    // 16 + MAX_WBITS: a gzip wrapper (header, CRC32 and length trailer) around deflate.
    if (inflateInit2(&z_, 16 + MAX_WBITS) != Z_OK) throw OutOfMemory(detail::concat(op, ": zlib cannot start"));
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(std::min<size_t>(in.size(), kChunk));
  }
  ~IdxBytes() {
    if (gzip_) inflateEnd(&z_);
  }
  IdxBytes(const IdxBytes&) = delete;
  IdxBytes& operator=(const IdxBytes&) = delete;

  bool gzip() const { return gzip_; }

  size_t read(uint8_t* dst, size_t n) {
    if (!gzip_) {
      const size_t k = std::min(n, in_.size() - raw_at_);
      if (k > 0) std::memcpy(dst, in_.data() + raw_at_, k);
      raw_at_ += k;
      return k;
    }
    size_t done = 0;
    while (done < n && !finished_) {
      refill();
      z_.next_out = dst + done;
      z_.avail_out = static_cast<uInt>(std::min<size_t>(n - done, kChunk));
      const uInt before = z_.avail_out;
      const int rc = inflate(&z_, Z_NO_FLUSH);
      done += before - z_.avail_out;
      if (rc == Z_STREAM_END) {
        refill();
        if (z_.avail_in == 0) finished_ = true;  // the last member ended where the input does
        else inflateReset(&z_);                  // another member follows
      } else if (rc == Z_BUF_ERROR) {  // no progress with room to write: the input ran out
        fail(op_, source_, "truncated gzip stream (unexpected end of file)");
      } else if (rc != Z_OK) {
        fail(op_, source_, detail::concat("corrupt gzip stream (", z_.msg ? z_.msg : "zlib error", ")"));
      }
    }
    return done;
  }

 private:
  static constexpr size_t kChunk = size_t{1} << 30;  // zlib counts in 32-bit uInt
  // zlib sees at most kChunk input bytes at a time; give it the next piece.
  void refill() {
    if (z_.avail_in > 0) return;
    const size_t used = static_cast<size_t>(reinterpret_cast<const char*>(z_.next_in) - in_.data());
    z_.avail_in = static_cast<uInt>(std::min(in_.size() - used, kChunk));
  }

  std::string_view in_;
  const char* op_;
  const std::string& source_;
  const bool gzip_;
  z_stream z_{};
  size_t raw_at_ = 0;
  bool finished_ = false;
};

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

// The whole IDX parse; `op` and `source` name the input in every error.
Tensor parse(std::string_view bytes, const char* op, const std::string& source) {
  IdxBytes in(bytes, op, source);
  uint8_t head[4];
  if (in.read(head, 4) < 4) fail(op, source, "too short for an IDX header (needs 4 bytes)");
  if (head[0] != 0 || head[1] != 0)
    fail(op, source, detail::concat("bad magic ", hex(head[0]), " ", hex(head[1]),
                                    " (an IDX file starts with 0x00 0x00)"));
  const IdxType* type = idx_type(head[2]);
  if (!type)
    fail(op, source, detail::concat("unknown IDX type code ", hex(head[2]),
                                    " (known: 0x08 uint8, 0x09 int8, 0x0b int16, 0x0c int32, "
                                    "0x0d float32, 0x0e float64)"));
  const int ndim = head[3];
  if (ndim == 0) fail(op, source, "header has 0 dims");

  std::vector<uint8_t> dims_raw(4 * static_cast<size_t>(ndim));
  if (in.read(dims_raw.data(), dims_raw.size()) < dims_raw.size())
    fail(op, source, detail::concat("truncated header (", ndim, " dims announced)"));
  // `span` is the product of the non-zero dims: the strides reach it even
  // when a zero dim makes the tensor empty, so it is what must stay small
  // ([0, 2^31, 2^31] holds nothing, yet its strides overflow int64).
  Shape shape(ndim);
  uint64_t count = 1, span = 1;
  for (int d = 0; d < ndim; ++d) {
    shape[d] = static_cast<int64_t>(load_be(&dims_raw[4 * d], 4));
    count *= static_cast<uint64_t>(shape[d]);  // <= span: cannot overflow
    if (__builtin_mul_overflow(span, std::max<uint64_t>(shape[d], 1), &span) || span > (uint64_t{1} << 40))
      fail(op, source, detail::concat("header dims ", shape_str(shape), " are implausibly large"));
  }
  const uint64_t header_bytes = 4 + 4 * static_cast<uint64_t>(ndim);
  const uint64_t payload = count * type->bytes;

  // Bound the payload before sizing memory from it: a raw input's length
  // must match the header exactly, and deflate expands at most 1032:1, so
  // a gzip input cannot hold more than ~1032 times its own size.
  const uint64_t size = bytes.size();
  if (!in.gzip() && size != header_bytes + payload)
    fail(op, source, detail::concat(size < header_bytes + payload ? "truncated: " : "size mismatch: ", "file has ",
                                    size, " bytes but header dims ", shape_str(shape), " of ", type->name, " need ",
                                    header_bytes + payload));
  if (in.gzip() && payload > 1100 * size)
    fail(op, source, detail::concat("header dims ", shape_str(shape), " of ", type->name, " need ", payload,
                                    " bytes, more than a gzip file of ", size, " bytes can hold"));

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
  if (size_t got = in.read(dst, static_cast<size_t>(payload)); got < payload)
    fail(op, source, detail::concat("truncated: data has ", got, " bytes but header dims ", shape_str(shape), " of ",
                                    type->name, " need ", payload));
  // One more byte must hit a clean end: this also makes zlib check the gzip
  // trailer's CRC and length, which a read of exactly `payload` bytes skips.
  uint8_t extra[4096];
  size_t trailing = 0, got = 0;
  while ((got = in.read(extra, sizeof extra)) > 0) trailing += got;
  if (trailing > 0)
    fail(op, source, detail::concat("size mismatch: ", trailing, " bytes after the data that header dims ",
                                    shape_str(shape), " of ", type->name, " describe"));
  if (type->code != 0x08) decode(buffer, *type, out);
  return out;
}

}  // namespace

Tensor parse_idx(std::string_view bytes, const std::string& source) { return parse(bytes, "parse_idx", source); }

Tensor read_idx(const fs::path& path) {
  std::error_code ec;
  EMBER_CHECK(fs::is_regular_file(path, ec), FileError, "read_idx: ", path.string(), ": no such file");
  std::ifstream file(path, std::ios::binary);
  if (!file) fail("read_idx", path, "cannot open for reading");
  std::string bytes(fs::file_size(path, ec), '\0');
  if (ec || !file.read(bytes.data(), static_cast<std::streamsize>(bytes.size())) || file.peek() != EOF)
    fail("read_idx", path, "cannot read the whole file (did it change while being read?)");
  return parse(bytes, "read_idx", path.string());
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
