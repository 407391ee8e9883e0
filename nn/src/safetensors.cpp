// safetensors reading and writing (see safetensors.h and docs/serialization.md).
//
// Reading parses the JSON header into Entry records (name, dtype, shape, byte
// range), checks every rule against the real file size (parse_entry,
// check_layout), and only then allocates tensors, so allocation is bounded by
// the file size. Files and in-memory bytes share every check. Writing plans
// layout and header first (plan_layout), so bad input is refused before the
// disk is touched, then streams one dense CPU copy of a tensor at a time into
// a temporary file that is renamed into place (ember/core/atomic_file.h).
#include "ember/nn/safetensors.h"

#include <sys/stat.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "ember/autograd/ops.h"
#include "ember/core/atomic_file.h"

namespace ember {
namespace {

// Tensor bytes are copied as they are in memory; the format is little-endian.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

using json = nlohmann::json;
namespace fs = std::filesystem;

// The reference implementation refuses larger headers; real ones are a few MB.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
constexpr const char* kMetadataKey = "__metadata__";

// Every dtype the format names, with its element size in bytes. `ember` is
// empty for those Ember lacks: they are recognised (a clear "not supported")
// but not loaded.
struct FileDType { const char* name; uint64_t size; std::optional<DType> ember; };
constexpr FileDType kDTypes[] = {
    {"BOOL", 1, DType::Bool}, {"U8", 1, DType::UInt8},   {"I64", 8, DType::Int64}, {"F32", 4, DType::Float32},
    {"F64", 8, DType::Float64}, {"I8", 1, {}},           {"I16", 2, {}},           {"U16", 2, {}},
    {"I32", 4, {}},           {"U32", 4, {}},            {"U64", 8, {}},           {"F16", 2, {}},
    {"BF16", 2, {}},          {"F8_E4M3", 1, {}},        {"F8_E5M2", 1, {}},
};

const char* file_dtype_name(DType t) {
  for (const auto& d : kDTypes)
    if (d.ember == t) return d.name;
  throw DTypeError(detail::concat("safetensors: no file dtype for ", dtype_name(t)));
}

// One tensor of the header. Offsets are relative to the data buffer.
struct Entry { std::string name; DType dtype = DType::Float32; Shape shape; uint64_t begin = 0, end = 0; };
struct Header { std::vector<Entry> entries; SafetensorsMetadata metadata; };  // entries sorted by name

// `where` is "load_safetensors: <path>"; every problem reads the same way.
[[noreturn]] void bad_file(const std::string& where, const std::string& what) {
  throw FileError(where + ": " + what);
}

// A name as it appears in JSON (quoted, escaped): safe to print whatever it holds.
std::string quoted(const std::string& s) { return json(s).dump(); }

// ---- reading: the header ----

// Deepest {/[ nesting outside strings. A valid header needs 3 (the header,
// a tensor entry, its shape), so anything deeper is refused before parsing:
// a hostile header of 100 MB of '[' must not make the parser build a huge tree.
int nesting_depth(std::string_view text) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return deepest;
}

// Parses the header text, refusing duplicate keys at any depth: the spec
// forbids them, and nlohmann, like most parsers, would silently keep the last.
json parse_json(std::string_view text, const std::string& where) {
  if (text.empty() || text.front() != '{')
    bad_file(where, "the header must start with '{' (a JSON object)");
  if (nesting_depth(text) > 3) bad_file(where, "the header nests JSON deeper than a safetensors header can");
  std::vector<std::set<std::string>> keys(4);  // keys[d]: those seen in the open object whose keys sit at depth d
  std::string problem;
  auto on_event = [&](int depth, json::parse_event_t event, json& parsed) {
    const auto d = static_cast<size_t>(depth);
    if (event == json::parse_event_t::object_start && d + 1 < keys.size()) {
      keys[d + 1].clear();
    } else if (event == json::parse_event_t::key && d < keys.size() && problem.empty()) {
      if (!keys[d].insert(parsed.get<std::string>()).second)
        problem = "duplicate key " + parsed.dump() + (d == 1 ? " (two tensors with one name)" : "");
    }
    return true;
  };
  json root;
  try {
    root = json::parse(text.begin(), text.end(), on_event);
  } catch (const json::exception& e) {
    std::string msg = e.what();  // "[json.exception.parse_error.101] parse error at ..."
    if (auto cut = msg.find("] "); cut != std::string::npos) msg = msg.substr(cut + 2);
    bad_file(where, "the header is not valid JSON: " + msg);
  }
  if (!problem.empty()) bad_file(where, problem);
  EMBER_ASSERT(root.is_object());
  return root;
}

SafetensorsMetadata parse_metadata(const json& value, const std::string& where) {
  if (!value.is_object())
    bad_file(where, std::string("\"__metadata__\" must be an object of strings, not ") + value.type_name());
  SafetensorsMetadata metadata;
  for (const auto& [key, v] : value.items()) {
    if (!v.is_string())
      bad_file(where, "\"__metadata__\" value for key " + quoted(key) + " must be a string, not " + v.type_name());
    metadata.emplace(key, v.get<std::string>());
  }
  return metadata;
}

// Reads one {"dtype", "shape", "data_offsets"} entry and checks it on its own:
// a known dtype, non-negative integer dims, a range inside the buffer whose
// length is exactly numel * element size. Unknown extra fields are ignored,
// as the reference implementation does.
Entry parse_entry(const std::string& name, const json& info, uint64_t buffer_size, const std::string& where) {
  const std::string who = "tensor " + quoted(name) + ": ";
  if (!info.is_object())
    bad_file(where,
             who + "expected an object with \"dtype\", \"shape\" and \"data_offsets\", got " + info.type_name());
  auto field = [&](const char* key) -> const json& {
    auto it = info.find(key);
    if (it == info.end()) bad_file(where, who + "missing \"" + key + "\"");
    return *it;
  };
  Entry e;
  e.name = name;
  const json& dtype = field("dtype");
  if (!dtype.is_string()) bad_file(where, who + "\"dtype\" must be a string, got " + dtype.dump());
  const FileDType* fd = nullptr;
  for (const auto& d : kDTypes)
    if (dtype.get_ref<const std::string&>() == d.name) fd = &d;
  if (fd == nullptr) bad_file(where, who + "unknown dtype " + dtype.dump());
  if (!fd->ember)
    bad_file(where, who + "dtype " + fd->name +
                        " is valid safetensors but Ember has no such dtype (it has BOOL, U8, I64, F32, F64)");
  e.dtype = *fd->ember;

  const json& shape = field("shape");
  if (!shape.is_array()) bad_file(where, who + "\"shape\" must hold non-negative integers, got " + shape.dump());
  // `bound` is the product of the non-zero dims times the element size: it
  // must fit in int64 so strides cannot overflow even when numel is 0.
  int64_t bound = static_cast<int64_t>(fd->size);
  bool has_zero = false;
  for (const json& dim : shape) {
    if (!dim.is_number_unsigned() || dim.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))
      bad_file(where, who + "\"shape\" must hold non-negative integers, got " + shape.dump());
    const auto s = dim.get<int64_t>();
    e.shape.push_back(s);
    has_zero |= s == 0;
    if (s != 0 && __builtin_mul_overflow(bound, s, &bound))
      bad_file(where, who + "shape " + shape.dump() + " is too large");
  }
  const uint64_t nbytes = has_zero ? 0 : static_cast<uint64_t>(bound);

  const json& offsets = field("data_offsets");
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned())
    bad_file(where, who + "\"data_offsets\" must be [begin, end] with non-negative integers, got " + offsets.dump());
  e.begin = offsets[0].get<uint64_t>();
  e.end = offsets[1].get<uint64_t>();
  if (e.begin > e.end) bad_file(where, who + "data_offsets " + offsets.dump() + " end before they begin");
  if (e.end > buffer_size)
    bad_file(where, who + "data_offsets " + offsets.dump() + " run past the end of the data buffer (" +
                        std::to_string(buffer_size) + " bytes)");
  if (e.end - e.begin != nbytes)
    bad_file(where, who + fd->name + " with shape " + shape.dump() + " needs " + std::to_string(nbytes) +
                        " bytes but data_offsets " + offsets.dump() + " span " + std::to_string(e.end - e.begin));
  return e;
}

// The ranges, sorted by offset, must tile the data buffer exactly: start at
// 0, each begin where the previous ended (no overlap, no gap), and the last
// end at the end of the file (no trailing bytes).
void check_layout(const std::vector<Entry>& entries, uint64_t buffer_size, const std::string& where) {
  std::vector<const Entry*> by_offset;
  for (const auto& e : entries) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const Entry* a, const Entry* b) { return std::tie(a->begin, a->end) < std::tie(b->begin, b->end); });
  uint64_t covered = 0;
  const Entry* prev = nullptr;
  auto range = [](const Entry* e) { return detail::concat("[", e->begin, ", ", e->end, "]"); };
  for (const Entry* e : by_offset) {
    if (e->begin < covered)
      bad_file(where, "tensor " + quoted(e->name) + " data_offsets " + range(e) + " overlap tensor " +
                          quoted(prev->name) + " " + range(prev));
    if (e->begin > covered)
      bad_file(where, detail::concat("bytes [", covered, ", ", e->begin,
                                     ") of the data buffer belong to no tensor (a gap before tensor ",
                                     quoted(e->name), ")"));
    covered = e->end;
    prev = e;
  }
  if (covered != buffer_size)
    bad_file(where, detail::concat("trailing garbage: the tensors cover ", covered, " bytes of data but ",
                                   buffer_size - covered, " more follow"));
}

Header parse_header(std::string_view text, uint64_t buffer_size, const std::string& where) {
  json root = parse_json(text, where);
  Header h;
  for (const auto& [key, value] : root.items()) {  // std::map order: by name
    if (key == kMetadataKey) h.metadata = parse_metadata(value, where);
    else h.entries.push_back(parse_entry(key, value, buffer_size, where));
  }
  check_layout(h.entries, buffer_size, where);
  return h;
}

// The header length N from the first 8 bytes, checked against the file size.
uint64_t header_length(const unsigned char bytes[8], uint64_t file_size, const std::string& where) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = n << 8 | bytes[i];
  if (n > kMaxHeaderBytes)
    bad_file(where, detail::concat("header length ", n, " exceeds the ", kMaxHeaderBytes, "-byte limit"));
  if (n > file_size - 8)
    bad_file(where, detail::concat("header length ", n, " runs past the end of the file (", file_size - 8,
                                   " bytes follow the length)"));
  return n;
}

// ---- reading: the data ----

// Allocates each tensor and lets `read(dst, begin, n)` fill it, in offset
// order (so a file is read front to back).
template <typename Read>
SafetensorsContents load_tensors(Header h, Read&& read, std::string source, const std::string& where) {
  std::vector<size_t> order(h.entries.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return h.entries[a].begin < h.entries[b].begin; });
  std::vector<Tensor> tensors(h.entries.size());
  for (size_t i : order) {
    const Entry& e = h.entries[i];
    Tensor t = make_empty(e.shape, e.dtype, kCPU);
    if (e.end > e.begin) read(t.raw_data(), e.begin, e.end - e.begin);
    if (e.dtype == DType::Bool) {  // any other byte would be undefined behaviour as a C++ bool
      const auto* bytes = static_cast<const unsigned char*>(t.raw_data());
      for (uint64_t k = 0; k < e.end - e.begin; ++k)
        if (bytes[k] > 1)
          bad_file(where, detail::concat("tensor ", quoted(e.name), ": BOOL element ", k, " holds byte ",
                                         int(bytes[k]), "; BOOL bytes must be 0 or 1"));
    }
    tensors[i] = std::move(t);
  }
  SafetensorsContents out;
  for (size_t i = 0; i < tensors.size(); ++i)
    out.tensors.emplace_back(std::move(h.entries[i].name), std::move(tensors[i]));
  out.metadata = std::move(h.metadata);
  out.source = std::move(source);
  return out;
}

void read_exact(std::FILE* f, void* dst, uint64_t n, const std::string& where) {
  if (std::fread(dst, 1, n, f) != n)
    bad_file(where, std::ferror(f) ? std::string("read error: ") + std::strerror(errno)
                                   : std::string("unexpected end of file (did it change while being read?)"));
}

// ---- writing ----

struct Plan {
  std::string prefix;          // the 8-byte length and the padded header
  std::vector<size_t> order;   // indices into the input, in file order
};

// Checks the input and lays it out: 8-byte dtypes first, then 4, then 1
// (each group by name), so with the header padded to a multiple of 8 every
// tensor starts at a multiple of its element size in the file.
Plan plan_layout(const NamedTensors& tensors, const SafetensorsMetadata& metadata, const std::string& where) {
  auto check_utf8 = [&](const std::string& s, const std::string& what) {
    try {
      (void)json(s).dump();
    } catch (const json::type_error&) {
      throw ValueError(where + ": " + what + " is not valid UTF-8");
    }
  };
  std::set<std::string_view> names;
  for (const auto& [name, t] : tensors) {
    EMBER_CHECK(t.defined(), ValueError, where, ": tensor ", quoted(name), " is undefined");
    EMBER_CHECK(name != kMetadataKey, ValueError, where, ": \"__metadata__\" is reserved and cannot name a tensor");
    EMBER_CHECK(names.insert(name).second, ValueError, where, ": two tensors are named ", quoted(name));
    check_utf8(name, "a tensor name");
  }
  for (const auto& [key, value] : metadata) {
    check_utf8(key, "a metadata key");
    check_utf8(value, "the metadata value for " + quoted(key));
  }
  Plan plan;
  plan.order.resize(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) plan.order[i] = i;
  std::sort(plan.order.begin(), plan.order.end(), [&](size_t a, size_t b) {
    const size_t sa = dtype_size(tensors[a].second.dtype()), sb = dtype_size(tensors[b].second.dtype());
    return sa != sb ? sa > sb : tensors[a].first < tensors[b].first;
  });
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header[kMetadataKey] = metadata;
  uint64_t offset = 0;
  for (size_t i : plan.order) {
    const Tensor& t = tensors[i].second;
    const uint64_t nbytes = static_cast<uint64_t>(t.numel()) * dtype_size(t.dtype());
    header[tensors[i].first] = {
        {"dtype", file_dtype_name(t.dtype())}, {"shape", t.shape()}, {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // spaces are JSON whitespace
  plan.prefix.resize(8);
  for (int i = 0; i < 8; ++i) plan.prefix[i] = static_cast<char>(uint64_t(text.size()) >> (8 * i) & 0xff);
  plan.prefix += text;
  return plan;
}

// Feeds the file to `sink(data, n)`: the prefix, then each tensor's bytes
// from a dense CPU copy (no copy for a tensor already dense on the CPU).
template <typename Sink>
void emit(const Plan& plan, const NamedTensors& tensors, Sink&& sink) {
  sink(plan.prefix.data(), plan.prefix.size());
  for (size_t i : plan.order) {
    const Tensor host = tensors[i].second.detach().to(kCPU).contiguous();
    if (host.numel() > 0) sink(host.raw_data(), static_cast<size_t>(host.numel()) * dtype_size(host.dtype()));
  }
}

}  // namespace

const Tensor* SafetensorsContents::find(std::string_view name) const {
  auto it = std::lower_bound(tensors.begin(), tensors.end(), name,
                             [](const auto& entry, std::string_view n) { return entry.first < n; });
  return it != tensors.end() && it->first == name ? &it->second : nullptr;
}

const Tensor& SafetensorsContents::at(std::string_view name) const {
  const Tensor* t = find(name);
  EMBER_CHECK(t != nullptr, FileError, source, ": no tensor named ", quoted(std::string(name)));
  return *t;
}

void save_safetensors(const fs::path& path, const NamedTensors& tensors, const SafetensorsMetadata& metadata) {
  const std::string where = "save_safetensors: " + path.string();
  EMBER_CHECK(!path.filename().empty(), ValueError, where, ": the path names no file");
  const Plan plan = plan_layout(tensors, metadata, where);
  AtomicFile file(path, "save_safetensors");  // Note [Atomic file replacement]
  emit(plan, tensors, [&](const void* data, size_t n) { file.write(data, n); });
  file.commit();
}

std::string serialize_safetensors(const NamedTensors& tensors, const SafetensorsMetadata& metadata) {
  std::string out;
  emit(plan_layout(tensors, metadata, "serialize_safetensors"), tensors,
       [&](const void* data, size_t n) { out.append(static_cast<const char*>(data), n); });
  return out;
}

SafetensorsContents load_safetensors(const fs::path& path) {
  const std::string where = "load_safetensors: " + path.string();
  auto close = [](std::FILE* file) { std::fclose(file); };
  std::unique_ptr<std::FILE, decltype(close)> f(std::fopen(path.c_str(), "rb"), close);
  if (!f) bad_file(where, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(::fileno(f.get()), &st) != 0) bad_file(where, std::string("cannot stat: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) bad_file(where, "not a regular file");
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size < 8)
    bad_file(where, detail::concat("the file is ", size, " bytes long, shorter than the 8-byte header length"));
  unsigned char len[8];
  read_exact(f.get(), len, 8, where);
  const uint64_t n = header_length(len, size, where);
  std::string text(n, '\0');
  read_exact(f.get(), text.data(), n, where);
  Header h = parse_header(text, size - 8 - n, where);
  uint64_t position = 0;  // in the data buffer; load_tensors goes in offset order
  auto read = [&](void* dst, uint64_t begin, uint64_t count) {
    EMBER_ASSERT(begin == position);
    read_exact(f.get(), dst, count, where);
    position += count;
  };
  return load_tensors(std::move(h), read, path.string(), where);
}

SafetensorsContents deserialize_safetensors(std::string_view bytes, const std::string& source) {
  const std::string where = "deserialize_safetensors: " + source;
  if (bytes.size() < 8)
    bad_file(where,
             detail::concat("the data is ", bytes.size(), " bytes long, shorter than the 8-byte header length"));
  const auto* len = reinterpret_cast<const unsigned char*>(bytes.data());
  const uint64_t n = header_length(len, bytes.size(), where);
  const std::string_view data = bytes.substr(8 + n);
  Header h = parse_header(bytes.substr(8, n), data.size(), where);
  auto read = [&](void* dst, uint64_t begin, uint64_t count) { std::memcpy(dst, data.data() + begin, count); };
  return load_tensors(std::move(h), read, source, where);
}

}  // namespace ember
