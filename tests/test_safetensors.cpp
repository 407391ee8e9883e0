// Tests for the safetensors file layer (nn/include/ember/nn/safetensors.h):
// round trips of every dtype and memory layout, the exact bytes Ember writes,
// a file PyTorch wrote, every malformed-file error with its message, a fuzz
// loop over corrupted files, and atomic writes.
//
// Fixtures (tests/fixtures/safetensors/, see docs/serialization.md):
//   from_ember.safetensors  what Ember writes for golden_tensors(); after a
//                           deliberate format change, regenerate it by running
//                           this test with EMBER_UPDATE_FIXTURES=1
//   from_torch.safetensors  written from PyTorch tensors and their expected
//   from_torch.json         values by tests/make_safetensors_fixtures.py
#include "support.h"

#include <sys/resource.h>
#include <unistd.h>

#include <bit>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include <ember/nn/safetensors.h>
#include <nlohmann/json.hpp>

namespace fs = std::filesystem;
using namespace ember;

namespace {

const fs::path kFixtures = fs::path(EMBER_SOURCE_DIR) / "tests" / "fixtures" / "safetensors";

using test::TempDir;  // a fresh directory per test, removed afterwards

std::string read_bytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}
void write_bytes(const fs::path& p, std::string_view bytes) {
  std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A tensor's elements as raw bytes in row-major order: comparing these is
// exact, -0.0 and NaN included.
std::string bytes_of(const Tensor& t) {
  Tensor h = t.detach().contiguous();
  return std::string(static_cast<const char*>(h.raw_data()), h.numel() * dtype_size(h.dtype()));
}

void require_same(const Tensor& got, const Tensor& want) {
  REQUIRE(got.dtype() == want.dtype());
  REQUIRE(got.shape() == want.shape());
  REQUIRE(got.device() == kCPU);
  REQUIRE(got.strides() == contiguous_strides(got.shape()));  // dense (is_contiguous() is false for [2, 0, 3])
  REQUIRE(!got.requires_grad());
  REQUIRE(bytes_of(got) == bytes_of(want));
}

// A file: the 8-byte little-endian length, the header, the data.
std::string make_file(const std::string& header, const std::string& data = "") {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(uint64_t(header.size()) >> (8 * i));
  return out + header + data;
}
std::string with_length(std::string file, uint64_t n) {
  for (int i = 0; i < 8; ++i) file[i] = static_cast<char>(n >> (8 * i));
  return file;
}

// deserialize_safetensors must throw a FileError naming the source and `part`.
void require_bad(const std::string& bytes, const std::string& part) {
  INFO("expecting an error containing: " << part);
  try {
    deserialize_safetensors(bytes, "case.safetensors");
  } catch (const FileError& e) {
    CHECK_THAT(e.what(), Catch::Contains("case.safetensors") && Catch::Contains(part));
    return;
  }
  FAIL("no FileError");
}

NamedTensors golden_tensors() {
  return {
      {"weight", from_vector<float>({1.5f, -2.0f, 0.25f, 3.0f, -0.0f, 1e-3f}, {2, 3})},
      {"bias", from_vector<double>({0.1, -7.0})},
      {"ids", from_vector<int64_t>({-1, 0, int64_t(1) << 40})},
      {"pixels", from_vector<uint8_t>({0, 7, 255})},
      {"mask", from_vector<bool>({true, false})},
      {"scalar", scalar_tensor(2.5, {.dtype = DType::Float32})},
      {"empty", zeros({0, 2})},
  };
}
const SafetensorsMetadata kGoldenMetadata = {{"format", "pt"}, {"note", "h\xC3\xA9llo"}};

// A random tensor of any dtype and shape, with values that fill its bytes.
Tensor random_tensor(DType dtype, const Shape& shape, uint64_t seed) {
  Generator gen(seed);
  if (is_floating(dtype)) return randn(shape, {.dtype = dtype}, &gen);
  if (dtype == DType::Bool) return randint(0, 2, shape, {}, &gen).to(DType::Bool);
  if (dtype == DType::UInt8) return randint(0, 256, shape, {}, &gen).to(DType::UInt8);
  std::mt19937_64 bits(seed);  // every bit pattern, negative values included
  std::vector<int64_t> v(static_cast<size_t>(numel(shape)));
  for (auto& x : v) x = static_cast<int64_t>(bits());
  return from_vector(v, shape);
}

}  // namespace

TEST_CASE("safetensors: every dtype and shape round-trips through a file and through memory") {
  TempDir dir;
  const std::vector<Shape> shapes = {{}, {0}, {1}, {7}, {2, 3}, {2, 0, 3}, {1, 1, 1, 5}};
  uint64_t seed = 1;
  for (DType dtype : {DType::Bool, DType::UInt8, DType::Int64, DType::Float32, DType::Float64}) {
    NamedTensors tensors;
    for (const Shape& s : shapes)
      tensors.emplace_back(std::string("t").append(shape_str(s)), random_tensor(dtype, s, seed++));
    INFO("dtype " << dtype_name(dtype));
    const fs::path path = dir.path / "all.safetensors";
    save_safetensors(path, tensors);
    SafetensorsContents from_file = load_safetensors(path);
    SafetensorsContents from_memory = deserialize_safetensors(serialize_safetensors(tensors));
    REQUIRE(read_bytes(path) == serialize_safetensors(tensors));
    REQUIRE(from_file.tensors.size() == tensors.size());
    REQUIRE(from_file.metadata.empty());
    for (const auto& [name, t] : tensors) {
      INFO("tensor " << name);
      require_same(from_file.at(name), t);
      require_same(from_memory.at(name), t);
    }
  }
}

TEST_CASE("safetensors: special float values and integer extremes are kept bit for bit") {
  const float fnan = std::numeric_limits<float>::quiet_NaN(), finf = std::numeric_limits<float>::infinity();
  NamedTensors tensors = {
      {"f", from_vector<float>({-0.0f, finf, -finf, fnan, std::numeric_limits<float>::denorm_min(), 3.4e38f})},
      {"d",
       from_vector<double>({-0.0, std::numeric_limits<double>::denorm_min(), -std::numeric_limits<double>::max()})},
      {"i", from_vector<int64_t>({std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()})},
  };
  SafetensorsContents back = deserialize_safetensors(serialize_safetensors(tensors));
  for (const auto& [name, t] : tensors) require_same(back.at(name), t);
}

TEST_CASE("safetensors: non-contiguous inputs are written as their dense values") {
  Tensor base = arange(0, 24, 1, {.dtype = DType::Float64}).reshape({4, 6});
  Tensor leaf = randn({3, 2}, {.requires_grad = true});
  NamedTensors tensors = {
      {"transposed", base.t()},
      {"strided", base.slice(1, 1, 6, 2)},
      {"offset", base.narrow(0, 2, 2)},
      {"row", base.select(0, 3)},
      {"expanded", from_vector<int64_t>({1, 2, 3}).expand({4, 3})},  // stride 0
      {"permuted", base.reshape({2, 3, 4}).permute({2, 0, 1})},
      {"leaf", leaf},  // requires grad: saved detached
  };
  SafetensorsContents back = deserialize_safetensors(serialize_safetensors(tensors));
  for (const auto& [name, t] : tensors) {
    INFO("tensor " << name);
    REQUIRE(back.at(name).strides() == contiguous_strides(t.shape()));
    require_same(back.at(name), t.detach().contiguous());
  }
}

TEST_CASE("safetensors: metadata round-trips, and without metadata the header has no __metadata__") {
  SafetensorsMetadata metadata = {
      {"epoch", "3"}, {"empty", ""}, {"quote\"s", "a\\b\nc"}, {"unicode", "\xE2\x9C\x93"}};
  NamedTensors one = {{"x", ones({2})}};
  REQUIRE(deserialize_safetensors(serialize_safetensors(one, metadata)).metadata == metadata);
  REQUIRE(deserialize_safetensors(serialize_safetensors({}, metadata)).metadata == metadata);  // metadata only
  std::string plain = serialize_safetensors(one);
  REQUIRE(plain.find("__metadata__") == std::string::npos);
  SafetensorsContents nothing = deserialize_safetensors(serialize_safetensors({}));
  REQUIRE(nothing.tensors.empty());
  REQUIRE(nothing.metadata.empty());
}

TEST_CASE("safetensors: layout: padded header, every tensor aligned to its element size") {
  NamedTensors tensors = golden_tensors();
  tensors.emplace_back("odd", from_vector<uint8_t>({1, 2, 3, 4, 5}));
  tensors.emplace_back("zz_double", ones({3}, {.dtype = DType::Float64}));
  std::string bytes = serialize_safetensors(tensors, {{"k", "v"}});
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = n << 8 | static_cast<unsigned char>(bytes[i]);
  REQUIRE(n % 8 == 0);
  REQUIRE(bytes[8] == '{');
  auto header = nlohmann::json::parse(bytes.substr(8, n));
  for (const auto& [name, t] : tensors) {
    INFO("tensor " << name);
    uint64_t begin = header[name]["data_offsets"][0];
    REQUIRE((8 + n + begin) % dtype_size(t.dtype()) == 0);
  }
}

TEST_CASE(
    "safetensors: Ember writes exactly the committed bytes (tests/fixtures/safetensors/from_ember.safetensors)") {
  const std::string bytes = serialize_safetensors(golden_tensors(), kGoldenMetadata);
  const fs::path fixture = kFixtures / "from_ember.safetensors";
  if (std::getenv("EMBER_UPDATE_FIXTURES")) write_bytes(fixture, bytes);
  // The header, readable: __metadata__ first, then 8-byte, 4-byte and 1-byte
  // dtypes, each group by name; padded with spaces to a multiple of 8.
  const std::string header =
      "{\"__metadata__\":{\"format\":\"pt\",\"note\":\"h\xC3\xA9llo\"},"
      "\"bias\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]},"
      "\"ids\":{\"dtype\":\"I64\",\"shape\":[3],\"data_offsets\":[16,40]},"
      "\"empty\":{\"dtype\":\"F32\",\"shape\":[0,2],\"data_offsets\":[40,40]},"
      "\"scalar\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[40,44]},"
      "\"weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[44,68]},"
      "\"mask\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[68,70]},"
      "\"pixels\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[70,73]}}";
  const std::string padded = header + std::string((8 - header.size() % 8) % 8, ' ');
  REQUIRE(bytes.substr(0, 8 + padded.size()) == make_file(padded));
  REQUIRE(bytes.size() == 8 + padded.size() + 73);
  REQUIRE(bytes == read_bytes(fixture));
}

TEST_CASE("safetensors: a file written from PyTorch loads exactly (from_torch.safetensors)") {
  SafetensorsContents got = load_safetensors(kFixtures / "from_torch.safetensors");
  std::ifstream f(kFixtures / "from_torch.json");
  const auto want = nlohmann::json::parse(f);
  REQUIRE(got.metadata == want["metadata"].get<SafetensorsMetadata>());
  REQUIRE(got.tensors.size() == want["tensors"].size());
  const std::map<std::string, DType> dtypes = {{"BOOL", DType::Bool}, {"U8", DType::UInt8}, {"I64", DType::Int64},
                                               {"F32", DType::Float32}, {"F64", DType::Float64}};
  for (const auto& [name, w] : want["tensors"].items()) {
    INFO("tensor " << name);
    const Tensor& t = got.at(name);
    REQUIRE(t.dtype() == dtypes.at(w["dtype"]));
    REQUIRE(t.shape() == w["shape"].get<Shape>());
    const auto& values = w["values"];
    REQUIRE(t.numel() == static_cast<int64_t>(values.size()));
    auto as_double = [](const nlohmann::json& v) {
      if (!v.is_string()) return v.get<double>();
      return v == "nan" ? std::nan("") : v == "inf" ? HUGE_VAL : -HUGE_VAL;
    };
    for (size_t i = 0; i < values.size(); ++i) {
      INFO("element " << i << " = " << values[i].dump());
      switch (t.dtype()) {
        case DType::Float32: {
          const float x = t.data_ptr<float>()[i], y = static_cast<float>(as_double(values[i]));
          CHECK((std::isnan(y) ? std::isnan(x) : std::bit_cast<uint32_t>(x) == std::bit_cast<uint32_t>(y)));
          break;
        }
        case DType::Float64: {
          const double x = t.data_ptr<double>()[i], y = as_double(values[i]);
          CHECK((std::isnan(y) ? std::isnan(x) : std::bit_cast<uint64_t>(x) == std::bit_cast<uint64_t>(y)));
          break;
        }
        case DType::Int64: CHECK(t.data_ptr<int64_t>()[i] == values[i].get<int64_t>()); break;
        case DType::UInt8: CHECK(t.data_ptr<uint8_t>()[i] == values[i].get<int>()); break;
        case DType::Bool: CHECK(t.data_ptr<bool>()[i] == values[i].get<bool>()); break;
      }
    }
  }
  // And Ember's own rewrite of it reads back the same.
  SafetensorsContents again = deserialize_safetensors(serialize_safetensors(got.tensors, got.metadata));
  for (const auto& [name, t] : got.tensors) require_same(again.at(name), t);
}

TEST_CASE("safetensors: lookup by name") {
  SafetensorsContents c = deserialize_safetensors(serialize_safetensors(golden_tensors()), "mem.safetensors");
  REQUIRE(c.find("bias") != nullptr);
  REQUIRE(c.find("nope") == nullptr);
  REQUIRE_THROWS_WITH(c.at("nope"),
                      Catch::Contains("mem.safetensors") && Catch::Contains("no tensor named \"nope\""));
  for (size_t i = 1; i < c.tensors.size(); ++i) REQUIRE(c.tensors[i - 1].first < c.tensors[i].first);
}

// ---- malformed files ----

TEST_CASE("safetensors: errors reading the file itself name the path and the problem") {
  TempDir dir;
  const fs::path missing = dir.path / "missing.safetensors";
  REQUIRE_THROWS_WITH(load_safetensors(missing),
                      Catch::Contains(missing.string()) && Catch::Contains("No such file"));
  REQUIRE_THROWS_AS(load_safetensors(missing), FileError);
  REQUIRE_THROWS_WITH(load_safetensors(dir.path), Catch::Contains("not a regular file"));
  const fs::path small = dir.path / "small.safetensors";
  write_bytes(small, std::string("\x05\0\0\0\0", 5));
  REQUIRE_THROWS_WITH(
      load_safetensors(small),
      Catch::Contains(small.string()) && Catch::Contains("5 bytes long, shorter than the 8-byte header length"));
  const fs::path trailing = dir.path / "trailing.safetensors";
  write_bytes(trailing, serialize_safetensors(golden_tensors()) + "junk");
  REQUIRE_THROWS_WITH(load_safetensors(trailing), Catch::Contains(trailing.string()) &&
                                                      Catch::Contains("trailing garbage") &&
                                                      Catch::Contains("4 more follow"));
}

TEST_CASE("safetensors: a malformed header or layout throws FileError with the problem") {
  const std::string f32x2 = R"({"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  const std::string eight(8, '\0');
  auto one = [&](const std::string& entry, const std::string& data) {
    return make_file("{\"a\":" + entry + "}", data);
  };

  // the length and the header text
  require_bad("\x01\x02\x03", "3 bytes long");
  require_bad(with_length(make_file("{}"), 3), "header length 3 runs past the end of the file (2 bytes follow");
  require_bad(with_length(make_file("{}"), uint64_t(1) << 40), "exceeds the 100000000-byte limit");
  require_bad(with_length(make_file("{}"), ~uint64_t(0)), "exceeds");
  require_bad(make_file(""), "must start with '{'");
  require_bad(make_file(" {}"), "must start with '{'");
  require_bad(make_file("{\"a\":"), "not valid JSON");
  require_bad(make_file("{} x"), "not valid JSON");
  require_bad(make_file("{\"a\":NaN}"), "not valid JSON");
  require_bad(make_file("{\"\xff\":1}"), "not valid JSON");  // not UTF-8
  require_bad(make_file(R"({"a":{"shape":[[[1]]]}})"), "nests JSON deeper");
  require_bad(make_file(std::string(1000, '{')), "nests JSON deeper");
  // names and metadata
  require_bad(make_file("{\"a\":" + f32x2 + ",\"a\":" + f32x2 + "}", eight),
              "duplicate key \"a\" (two tensors with one name)");
  require_bad(one(R"({"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]})", eight),
              "duplicate key \"dtype\"");
  require_bad(make_file(R"({"__metadata__":{"k":"v","k":"w"}})"), "duplicate key \"k\"");
  require_bad(make_file(R"({"__metadata__":{"k":1}})"), "\"__metadata__\" value for key \"k\" must be a string");
  require_bad(make_file(R"({"__metadata__":[]})"), "\"__metadata__\" must be an object");
  // one entry
  require_bad(one("1", ""), "tensor \"a\": expected an object");
  require_bad(one(R"({"shape":[2],"data_offsets":[0,8]})", eight), "missing \"dtype\"");
  require_bad(one(R"({"dtype":"F32","data_offsets":[0,8]})", eight), "missing \"shape\"");
  require_bad(one(R"({"dtype":"F32","shape":[2]})", eight), "missing \"data_offsets\"");
  require_bad(one(R"({"dtype":"F33","shape":[2],"data_offsets":[0,8]})", eight), "unknown dtype \"F33\"");
  require_bad(one(R"({"dtype":7,"shape":[2],"data_offsets":[0,8]})", eight), "\"dtype\" must be a string");
  require_bad(one(R"({"dtype":"F16","shape":[4],"data_offsets":[0,8]})", eight),
              "F16 is valid safetensors but Ember has no such dtype");
  for (const char* shape : {"[-2]", "[2.0]", "[\"2\"]", "2", "[true]", "[18446744073709551615]"})
    require_bad(one(std::string(R"({"dtype":"F32","shape":)") + shape + R"(,"data_offsets":[0,8]})", eight),
                "\"shape\" must hold non-negative integers");
  require_bad(one(R"({"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]})", eight), "is too large");
  require_bad(one(R"({"dtype":"F32","shape":[0,4611686018427387904,4],"data_offsets":[0,0]})", ""), "is too large");
  for (const char* offsets : {"[0]", "[0,8,8]", "[-1,8]", "[0,8.0]", "{}"})
    require_bad(one(std::string(R"({"dtype":"F32","shape":[2],"data_offsets":)") + offsets + "}", eight),
                "\"data_offsets\" must be [begin, end]");
  require_bad(one(R"({"dtype":"F32","shape":[0],"data_offsets":[8,0]})", eight), "end before they begin");
  require_bad(one(R"({"dtype":"F32","shape":[2,3],"data_offsets":[0,20]})", std::string(20, '\0')),
              "F32 with shape [2,3] needs 24 bytes but data_offsets [0,20] span 20");
  require_bad(one(R"({"dtype":"F32","shape":[4],"data_offsets":[0,16]})", eight),
              "run past the end of the data buffer (8 bytes)");
  require_bad(one(R"({"dtype":"BOOL","shape":[2],"data_offsets":[0,2]})", std::string("\x01\x02", 2)),
              "BOOL element 1 holds byte 2; BOOL bytes must be 0 or 1");
  // the layout of all entries
  const std::string b48 = R"({"dtype":"F32","shape":[2],"data_offsets":[4,12]})";
  require_bad(make_file("{\"a\":" + f32x2 + ",\"b\":" + b48 + "}", std::string(12, '\0')),
              "tensor \"b\" data_offsets [4, 12] overlap tensor \"a\" [0, 8]");
  const std::string b812 = R"({"dtype":"F32","shape":[1],"data_offsets":[8,12]})";
  require_bad(make_file("{\"b\":" + b812 + "}", std::string(12, '\0')),
              "bytes [0, 8) of the data buffer belong to no tensor");
  require_bad(one(f32x2, std::string(9, '\0')),
              "trailing garbage: the tensors cover 8 bytes of data but 1 more follow");
  require_bad(make_file("{}", "x"), "trailing garbage");
}

TEST_CASE("safetensors: valid variants of the format are accepted") {
  // Unpadded and whitespace-padded headers, any key order, extra fields
  // (ignored, as the reference implementation does), empty tensors sharing
  // an offset, and no tensors at all.
  const std::string data = std::string("\0\0\x80\x3f", 4) + std::string("\x01", 1);
  for (
      const std::string& header :
      {std::string(
           R"({"m":{"dtype":"BOOL","shape":[1],"data_offsets":[4,5]},"w":{"dtype":"F32","shape":[],"data_offsets":[0,4]}})"),
       std::string("{ \"w\" : {\"data_offsets\":[0,4], \"shape\":[], \"dtype\":\"F32\", "
                   "\"extra\":[1]},\n\"m\":{\"dtype\":\"BOOL\",\"shape\":[1],\"data_offsets\":[4,5]},"
                   "\"e\":{\"dtype\":\"I64\",\"shape\":[0,2],\"data_offsets\":[4,4]},\"f\":{\"dtype\":\"U8\","
                   "\"shape\":[0],\"data_offsets\":[4,4]}}       ")}) {
    SafetensorsContents c = deserialize_safetensors(make_file(header, data));
    REQUIRE(c.at("w").item<float>() == 1.0f);
    REQUIRE(c.at("m").data_ptr<bool>()[0]);
  }
  REQUIRE(deserialize_safetensors(make_file("{}")).tensors.empty());
}

// ---- fuzzing: corrupt a valid file at random; it must load or throw ember::Error ----

TEST_CASE("safetensors: random byte flips and truncations load or throw ember::Error, never crash") {
  const std::string valid = serialize_safetensors(golden_tensors(), kGoldenMetadata);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = n << 8 | static_cast<unsigned char>(valid[i]);
  std::mt19937_64 rng(20240605);
  auto pick = [&](size_t lo, size_t hi) { return std::uniform_int_distribution<size_t>(lo, hi)(rng); };
  TempDir dir;
  int loaded = 0, rejected = 0;
  for (int iter = 0; iter < 4000; ++iter) {
    std::string bytes = valid;
    switch (iter % 5) {
      case 0:  // flip a few bits anywhere
        for (size_t k = pick(1, 3); k-- > 0;) bytes[pick(0, bytes.size() - 1)] ^= static_cast<char>(1 << pick(0, 7));
        break;
      case 1: bytes[pick(0, bytes.size() - 1)] = static_cast<char>(pick(0, 255)); break;
      case 2: bytes.resize(pick(0, bytes.size() - 1)); break;  // truncate
      case 3: {  // change a digit of the header: shapes and offsets go wrong
        size_t at = pick(8, 8 + n - 1);
        while (at < 8 + n && !std::isdigit(static_cast<unsigned char>(bytes[at]))) ++at;
        if (at < 8 + n) bytes[at] = static_cast<char>('0' + pick(0, 9));
        break;
      }
      case 4: bytes = with_length(bytes, pick(0, bytes.size() + 8)); break;  // a wrong length
    }
    try {
      SafetensorsContents c;
      if (iter % 40 == 0) {  // now and then through a real file
        write_bytes(dir.path / "f.safetensors", bytes);
        c = load_safetensors(dir.path / "f.safetensors");
      } else {
        c = deserialize_safetensors(bytes);
      }
      for (const auto& entry : c.tensors) (void)bytes_of(entry.second);  // touch every loaded byte
      ++loaded;
    } catch (const ember::Error&) {
      ++rejected;
    }  // anything else escapes and fails the test
  }
  INFO(loaded << " corrupted files loaded, " << rejected << " rejected");
  REQUIRE(loaded > 100);    // flips in tensor data still make valid files
  REQUIRE(rejected > 1000);
}

// ---- writing: bad input and atomicity ----

TEST_CASE("safetensors: bad input to save is refused before anything is written") {
  TempDir dir;
  const fs::path path = dir.path / "model.safetensors";
  write_bytes(path, "old contents");
  Tensor x = ones({2});
  const std::vector<std::pair<NamedTensors, std::string>> cases = {
      {{{"a", x}, {"a", x}}, "two tensors are named \"a\""},
      {{{"__metadata__", x}}, "\"__metadata__\" is reserved"},
      {{{"a", Tensor()}}, "tensor \"a\" is undefined"},
      {{{"bad\xff", x}}, "a tensor name is not valid UTF-8"},
  };
  for (const auto& [tensors, message] : cases) {
    REQUIRE_THROWS_AS(save_safetensors(path, tensors), ValueError);
    REQUIRE_THROWS_WITH(save_safetensors(path, tensors), Catch::Contains(path.string()) && Catch::Contains(message));
  }
  REQUIRE_THROWS_WITH(save_safetensors(path, {{"a", x}}, {{"k", "\xc3"}}),
                      Catch::Contains("metadata value for \"k\" is not valid UTF-8"));
  REQUIRE_THROWS_AS(save_safetensors(dir.path / "", {{"a", x}}), ValueError);
  REQUIRE(read_bytes(path) == "old contents");
  REQUIRE(dir.names() == std::vector<std::string>{"model.safetensors"});
}

TEST_CASE("safetensors: a failed write leaves no file behind and an existing file untouched") {
  TempDir dir;
  const NamedTensors tensors = {{"a", ones({4})}};
  // No such directory: the temporary file cannot even be created.
  REQUIRE_THROWS_WITH(save_safetensors(dir.path / "nodir" / "m.safetensors", tensors),
                      Catch::Contains("cannot create the temporary file") && Catch::Contains("No such file"));
  // The target is a directory: everything is written, the rename fails.
  fs::create_directory(dir.path / "taken");
  REQUIRE_THROWS_AS(save_safetensors(dir.path / "taken", tensors), FileError);
  REQUIRE(dir.names() == std::vector<std::string>{"taken"});
  // Overwriting works and leaves no temporary file.
  const fs::path path = dir.path / "m.safetensors";
  save_safetensors(path, {{"old", zeros({2})}});
  save_safetensors(path, tensors);
  REQUIRE(read_bytes(path) == serialize_safetensors(tensors));
  REQUIRE(dir.names() == std::vector<std::string>{"m.safetensors", "taken"});
#ifdef __linux__
  // The disk "fills up" halfway: a file-size limit makes write() fail with
  // EFBIG after 64 KiB of a 4 MB tensor.
  const std::string before = read_bytes(path);
  struct rlimit old_limit {};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old_limit;
  small.rlim_cur = 64 * 1024;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  std::string message;
  try {
    save_safetensors(path, {{"big", zeros({1 << 20})}});
  } catch (const FileError& e) {
    message = e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);
  CHECK_THAT(message,
             Catch::Contains(path.string()) && Catch::Contains("cannot write") && Catch::Contains("File too large"));
  REQUIRE(read_bytes(path) == before);
  REQUIRE(dir.names() == std::vector<std::string>{"m.safetensors", "taken"});
#endif
}
