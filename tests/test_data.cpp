// Tests of the data module: IDX round trips and every kind of broken file,
// MNIST-style datasets on tiny synthetic IDX sets written to a temporary
// folder, and the DataLoader's batching, determinism, prefetch thread and
// transforms. When scripts/prepare_data.sh has run, the prepared datasets'
// sizes and pixel statistics are checked too. No network, a few seconds.
#include "support.h"

#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

using namespace ember;
using namespace ember::data;
namespace fs = std::filesystem;

namespace {

using ember::test::TempDir;

std::vector<uint8_t> read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void write_bytes(const fs::path& p, const std::vector<uint8_t>& bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// Gzip-compresses arbitrary bytes (e.g. a lying IDX header) into p.
void write_gzip(const fs::path& p, const std::vector<uint8_t>& bytes) {
  gzFile f = gzopen(p.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
  REQUIRE(gzclose(f) == Z_OK);
}

// uint8 images [n, h, w] whose pixel values encode (image, position).
Tensor pattern_images(int64_t n, int64_t h = 28, int64_t w = 28) {
  std::vector<uint8_t> v(static_cast<size_t>(n * h * w));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>(i % 251);
  return from_vector<uint8_t>(v, {n, h, w});
}
Tensor class_labels(int64_t n) {  // 0, 1, ..., 9, 0, 1, ...
  std::vector<uint8_t> v(static_cast<size_t>(n));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>(i % 10);
  return from_vector<uint8_t>(v);
}

// Writes the four MNIST files (train: n_train, test: n_test) into dir.
void write_mnist(const fs::path& dir, int64_t n_train, int64_t n_test, const std::string& sep, const std::string& gz) {
  for (auto [prefix, n] : {std::pair{std::string("train"), n_train}, std::pair{std::string("t10k"), n_test}}) {
    write_idx(dir / (prefix + "-images" + sep + "idx3-ubyte" + gz), pattern_images(n));
    write_idx(dir / (prefix + "-labels" + sep + "idx1-ubyte" + gz),
              class_labels(n));
  }
}

// Dataset with label == index and every pixel of image i equal to i % 256,
// optionally counting reads, sleeping, or throwing at one index.
struct ProbeDataset : Dataset {
  int64_t n;
  Shape chw;
  int64_t throw_at = -1;
  int sleep_ms = 0;
  mutable std::atomic<int64_t> reads{0};
  explicit ProbeDataset(int64_t n_, Shape chw_ = {1, 4, 4}) : n(n_), chw(std::move(chw_)) {}
  int64_t size() const override { return n; }
  Shape image_shape() const override { return chw; }
  Example get(int64_t i) const override {
    return {full(chw, static_cast<double>(i % 256), {.dtype = DType::UInt8}), i};
  }
  int64_t read_into(int64_t i, uint8_t* pixels) const override {
    ++reads;
    if (sleep_ms) std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
    EMBER_CHECK(i != throw_at, ValueError, "probe dataset: refusing index ", i);
    return Dataset::read_into(i, pixels);
  }
};

std::vector<int64_t> all_indices(Epoch epoch) {
  std::vector<int64_t> out;
  for (Batch& b : epoch) out.insert(out.end(), b.indices.begin(), b.indices.end());
  return out;
}

}  // namespace

TEST_CASE("IDX round trips raw and gzip for every dtype and layout") {
  TempDir dir;
  std::vector<Tensor> tensors = {
      pattern_images(3, 4, 5),
      test::random_input({2, 3}, DType::Float32, test::Layout::Contiguous),
      test::random_input({4, 3}, DType::Float64, test::Layout::Transposed),  // non-contiguous source
      from_vector<int64_t>({-2147483648LL, -1, 0, 7, 2147483647LL}),
  };
  for (const char* name : {"t.idx", "t.idx.gz"}) {
    for (const Tensor& t : tensors) {
      INFO(name << " " << dtype_name(t.dtype()));
      write_idx(dir / name, t);
      Tensor back = read_idx(dir / name);
      REQUIRE(back.shape() == t.shape());
      REQUIRE(back.dtype() == t.dtype());
      REQUIRE(back.to(DType::Float64).to_vector<double>() == t.to(DType::Float64).to_vector<double>());
    }
  }
  // gzip is detected by content, not name.
  write_idx(dir / "x.gz", tensors[0]);
  fs::rename(dir / "x.gz", dir / "renamed");
  REQUIRE(read_idx(dir / "renamed").to_vector<uint8_t>() == tensors[0].to_vector<uint8_t>());
  REQUIRE(read_bytes(dir / "renamed")[0] == 0x1f);  // it really is gzip
}

TEST_CASE("IDX bytes follow the format exactly") {
  TempDir dir;
  const std::vector<uint8_t> bytes = {0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 250, 251, 255};
  write_bytes(dir / "hand.idx", bytes);
  Tensor t = read_idx(dir / "hand.idx");
  REQUIRE(t.shape() == Shape{2, 3});
  REQUIRE(t.to_vector<uint8_t>() == std::vector<uint8_t>{1, 2, 3, 250, 251, 255});
  write_idx(dir / "again.idx", t);
  REQUIRE(read_bytes(dir / "again.idx") == bytes);
  // Big-endian int16 and float32 from the format's other type codes.
  write_bytes(dir / "i16.idx", {0, 0, 0x0B, 1, 0, 0, 0, 2, 0x01, 0x02, 0xFF, 0xFE});
  REQUIRE(read_idx(dir / "i16.idx").to_vector<int64_t>() == std::vector<int64_t>{258, -2});
  write_bytes(dir / "f32.idx", {0, 0, 0x0D, 1, 0, 0, 0, 1, 0x3F, 0xC0, 0, 0});
  REQUIRE(read_idx(dir / "f32.idx").to_vector<float>() == std::vector<float>{1.5f});
}

TEST_CASE("parse_idx reads IDX bytes held in memory, raw or gzip, with read_idx's checks") {
  TempDir dir;
  const std::vector<uint8_t> raw = {0, 0, 0x08, 1, 0, 0, 0, 2, 7, 9};
  auto text = [](const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); };
  REQUIRE(parse_idx(text(raw)).to_vector<uint8_t>() == std::vector<uint8_t>{7, 9});
  REQUIRE_THROWS_WITH_ALL(parse_idx(text(raw).substr(0, 9), "mem.idx"), FileError, "parse_idx: mem.idx: truncated");
  // gzip, whole and split into two members (as `cat a.gz b.gz` makes)
  write_gzip(dir / "a.gz", std::vector<uint8_t>(raw.begin(), raw.begin() + 5));
  write_gzip(dir / "b.gz", std::vector<uint8_t>(raw.begin() + 5, raw.end()));
  std::vector<uint8_t> two = read_bytes(dir / "a.gz"), b = read_bytes(dir / "b.gz");
  two.insert(two.end(), b.begin(), b.end());
  REQUIRE(parse_idx(text(two)).to_vector<uint8_t>() == std::vector<uint8_t>{7, 9});
  // Anything but another member after the last one is corrupt.
  REQUIRE_THROWS_WITH_ALL(parse_idx(text(two) + "junk", "mem.gz"), FileError, "mem.gz", "corrupt gzip");
}

TEST_CASE("Broken IDX files throw FileError naming the file and the problem") {
  TempDir dir;
  const std::vector<uint8_t> good = {0, 0, 0x08, 1, 0, 0, 0, 4, 9, 8, 7, 6};
  auto expect = [&](const std::string& name, const std::vector<uint8_t>& bytes, const char* what) {
    INFO(name);
    write_bytes(dir / name, bytes);
    REQUIRE_THROWS_WITH_ALL(read_idx(dir / name), FileError, name, std::string(what));
  };
  expect("magic.idx", {0x12, 0x34, 0x08, 1, 0, 0, 0, 1, 5}, "bad magic");
  expect("dtype.idx", {0, 0, 0x07, 1, 0, 0, 0, 1, 5}, "unknown IDX type code 0x07");
  expect("short.idx", {0, 0, 0x08, 1, 0, 0, 0, 9, 1, 2, 3}, "truncated");
  expect("long.idx", {0, 0, 0x08, 1, 0, 0, 0, 2, 1, 2, 3}, "size mismatch");
  expect("header.idx", {0, 0, 0x08, 3, 0, 0}, "truncated header");
  expect("empty.idx", {}, "too short");
  // A zero dim makes it empty, but the other dims' strides would overflow int64 (found by tests/fuzz/idx.cpp).
  expect("zero-huge.idx", {0, 0, 0x08, 3, 0, 0, 0, 0, 0x80, 0, 0, 0, 0x80, 0, 0, 0}, "implausibly large");
  REQUIRE_THROWS_WITH_ALL(read_idx(dir / "missing.idx"), FileError, "missing.idx", "no such file");

  write_bytes(dir / "good.idx", good);
  write_idx(dir / "good.idx.gz", read_idx(dir / "good.idx"));
  std::vector<uint8_t> gz = read_bytes(dir / "good.idx.gz");
  REQUIRE(gz.size() > 20);
  expect("cut.idx.gz", std::vector<uint8_t>(gz.begin(), gz.begin() + static_cast<long>(gz.size() / 2)), "truncated gzip");
  expect("notrailer.idx.gz", std::vector<uint8_t>(gz.begin(), gz.end() - 4), "truncated gzip");
  std::vector<uint8_t> bad_crc = gz;
  bad_crc[bad_crc.size() - 8] ^= 0xFF;  // the CRC32 in the gzip trailer
  expect("crc.idx.gz", bad_crc, "corrupt gzip");
  auto expect_gz = [&](const std::string& name, const std::vector<uint8_t>& content, const char* what) {
    INFO(name);
    write_gzip(dir / name, content);
    REQUIRE_THROWS_WITH_ALL(read_idx(dir / name), FileError, name, std::string(what));
  };
  expect_gz("short.idx.gz", {0, 0, 0x08, 1, 0, 0, 3, 0xE8, 1, 2, 3}, "truncated");
  expect_gz("long.idx.gz", {0, 0, 0x08, 1, 0, 0, 0, 2, 1, 2, 3}, "size mismatch");
  expect_gz("huge.idx.gz", {0, 0, 0x08, 2, 0, 1, 0, 0, 0, 1, 0, 0, 1}, "more than a gzip file");  // 2^32 bytes claimed
}

TEST_CASE("MnistDataset loads both file-name spellings, raw and gz") {
  for (auto [sep, gz] : {std::pair{"-", ""}, std::pair{".", ".gz"}, std::pair{"-", ".gz"}}) {
    INFO("spelling " << sep << "idx3-ubyte" << gz);
    TempDir dir;
    write_mnist(dir.path, 7, 3, sep, gz);
    MnistDataset train(dir.path, Split::Train), test(dir.path, parse_split("test"));
    REQUIRE(train.size() == 7);
    REQUIRE(test.size() == 3);
    REQUIRE(train.image_shape() == Shape{1, 28, 28});
    REQUIRE(train.images().shape() == Shape{7, 1, 28, 28});
    REQUIRE(train.labels().dtype() == DType::Int64);
    REQUIRE(train.images_path().filename().string() == std::string("train-images") + sep + "idx3-ubyte" + gz);
    Example ex = train.get(5);
    REQUIRE(ex.label == 5);
    REQUIRE(ex.image.shape() == Shape{1, 28, 28});
    REQUIRE(ex.image.to_vector<uint8_t>() == pattern_images(7).select(0, 5).reshape({1, 28, 28}).to_vector<uint8_t>());
    std::vector<uint8_t> pixels(784);
    REQUIRE(test.read_into(2, pixels.data()) == 2);
    REQUIRE(pixels == pattern_images(3).select(0, 2).reshape({784}).to_vector<uint8_t>());
    REQUIRE_THROWS_AS(train.get(7), IndexError);
  }
}

TEST_CASE("MnistDataset errors name what is wrong") {
  TempDir dir;
  REQUIRE_THROWS_WITH_ALL(MnistDataset(dir / "nowhere", Split::Train), FileError, "does not exist",
                          "train-images-idx3-ubyte", "train-images.idx3-ubyte.gz", "prepare_data.sh");
  write_mnist(dir.path, 4, 2, "-", "");
  write_idx(dir / "t10k-labels-idx1-ubyte", from_vector<uint8_t>({1, 2, 3}));
  REQUIRE_THROWS_WITH_ALL(MnistDataset(dir.path, Split::Test), FileError, "t10k-images-idx3-ubyte", "holds 2 images",
                          "3 labels");
  write_idx(dir / "t10k-labels-idx1-ubyte", from_vector<uint8_t>({1, 12}));
  REQUIRE_THROWS_WITH_ALL(MnistDataset(dir.path, Split::Test), FileError, "label 12 at index 1");
  REQUIRE_THROWS_AS(parse_split("validation"), ValueError);
}

TEST_CASE("DataLoader batches: shapes, dtypes, the short last batch, drop_last") {
  auto ds = std::make_shared<ProbeDataset>(10, Shape{1, 28, 28});
  DataLoader keep(ds, {.batch_size = 4});
  REQUIRE(keep.num_batches() == 3);
  std::vector<int64_t> sizes;
  for (Batch& b : keep.epoch(0)) {
    REQUIRE(b.images.dtype() == DType::Float32);
    REQUIRE(b.labels.dtype() == DType::Int64);
    REQUIRE(b.images.shape() == Shape{b.labels.size(0), 1, 28, 28});
    REQUIRE(b.labels.to_vector<int64_t>() == b.indices);
    sizes.push_back(b.labels.size(0));
  }
  REQUIRE(sizes == std::vector<int64_t>{4, 4, 2});
  DataLoader drop(ds, {.batch_size = 4, .drop_last = true});
  REQUIRE(drop.num_batches() == 2);
  REQUIRE(all_indices(drop.epoch(0)) == index_range(0, 8));
  REQUIRE(DataLoader(ds, {.batch_size = 64, .dtype = DType::Float64}).make_batch({3}).images.dtype() == DType::Float64);
  REQUIRE_THROWS_AS(DataLoader(ds, {.batch_size = 0}), ValueError);
  REQUIRE_THROWS_AS(DataLoader(ds, {.dtype = DType::Int64}), ValueError);
  Epoch once = keep.epoch(1);
  for (Batch& b : once) (void)b;
  REQUIRE_THROWS_AS(once.begin(), ValueError);
}

TEST_CASE("Shuffle depends only on (seed, epoch) and visits every index once") {
  auto ds = std::make_shared<ProbeDataset>(1000);
  DataLoader a(ds, {.batch_size = 64, .shuffle = true, .seed = 7});
  DataLoader b(ds, {.batch_size = 33, .shuffle = true, .seed = 7, .prefetch = 0});
  DataLoader other_seed(ds, {.batch_size = 64, .shuffle = true, .seed = 8});
  std::set<std::vector<int64_t>> orders;
  for (int64_t e : {0, 1, 2, 5}) {
    std::vector<int64_t> seen = all_indices(a.epoch(e));
    REQUIRE(seen == a.order(e));
    REQUIRE(seen == all_indices(b.epoch(e)));  // other batch size, no thread: same order
    std::vector<int64_t> sorted = seen;
    std::sort(sorted.begin(), sorted.end());
    REQUIRE(sorted == index_range(0, 1000));  // each index exactly once
    REQUIRE(seen != other_seed.order(e));
    orders.insert(seen);
  }
  REQUIRE(orders.size() == 4);  // every epoch differs
  REQUIRE(a.order(5) == shuffled_indices(1000, 7, 5));  // epoch 5 needs no epochs before it
  REQUIRE(DataLoader(ds, {.shuffle = false}).order(3) == index_range(0, 1000));
}

TEST_CASE("Prefetching changes timing, not content") {
  auto ds = std::make_shared<ProbeDataset>(300, Shape{2, 5, 5});
  DataLoaderOptions opt{.batch_size = 16, .shuffle = true, .seed = 3, .normalize = Normalize{{0.5, 0.2}, {0.3, 0.1}},
                        .random_shift = RandomShift{2}, .prefetch = 0};
  DataLoader sync(ds, opt);
  opt.prefetch = 4;
  DataLoader async(ds, opt);
  Epoch x = sync.epoch(2), y = async.epoch(2);
  for (int64_t i = 0; i < x.size(); ++i) {
    Batch bx = *x.next(), by = *y.next();
    REQUIRE(bx.indices == by.indices);
    REQUIRE(bx.index == i);
    REQUIRE(bx.images.to_vector<float>() == by.images.to_vector<float>());
  }
  REQUIRE(!x.next().has_value());
  REQUIRE(!y.next().has_value());
}

TEST_CASE("An epoch started at batch k yields the full pass's batches k onward, the same pixels") {
  // How a run stopped mid-epoch resumes (Note [Graceful stop] in examples/mnist/stop.h).
  auto ds = std::make_shared<ProbeDataset>(100, Shape{1, 6, 6});
  for (int64_t prefetch : {0, 3}) {
    DataLoader loader(ds, {.batch_size = 16, .shuffle = true, .seed = 5, .random_shift = RandomShift{2},
                           .prefetch = prefetch});
    std::vector<Batch> full;
    for (Batch& b : loader.epoch(3)) full.push_back(b);
    REQUIRE(full.size() == 7);
    for (int64_t k : {0, 1, 4, 6, 7}) {
      Epoch tail = loader.epoch(3, k);
      REQUIRE(tail.size() == 7);
      size_t i = static_cast<size_t>(k);
      for (Batch& b : tail) {
        REQUIRE(i < full.size());
        REQUIRE(b.index == full[i].index);
        REQUIRE(b.indices == full[i].indices);
        REQUIRE(b.images.to_vector<float>() == full[i].images.to_vector<float>());
        ++i;
      }
      REQUIRE(i == full.size());
    }
  }
  DataLoader loader(ds, {.batch_size = 16});
  REQUIRE_THROWS_WITH_ALL(loader.epoch(0, 8), IndexError, "DataLoader::epoch(0, 8)", "[0, 7]");
  REQUIRE_THROWS_AS(loader.epoch(0, -1), IndexError);
}

TEST_CASE("The prefetch thread stops when the epoch is abandoned, and survives the loader") {
  auto ds = std::make_shared<ProbeDataset>(10000);
  ds->sleep_ms = 1;
  // Let the worker fill the queue and block on it, then leave: the Epoch's
  // destructor must wake and join it. On a thread, so a hang fails the test
  // in seconds instead of stalling it.
  auto finished = std::make_shared<std::promise<void>>();
  std::future<void> done = finished->get_future();
  std::thread([ds, finished] {
    DataLoader loader(ds, {.batch_size = 10, .prefetch = 2});
    for (Batch& b : loader.epoch(0)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(80));
      if (b.index == 1) break;
    }
    finished->set_value();
  }).detach();
  REQUIRE(done.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  const int64_t after_break = ds->reads.load();
  INFO("reads after breaking out: " << after_break);
  REQUIRE(after_break <= 10 * (2 + 2 + 1));  // consumed + queued + the one waiting for room
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  REQUIRE(ds->reads.load() == after_break);  // the worker is gone

  ds->sleep_ms = 0;
  auto loader = std::make_unique<DataLoader>(ds, DataLoaderOptions{.batch_size = 1000, .shuffle = true, .seed = 1});
  std::vector<int64_t> expect = loader->order(4);
  Epoch epoch = loader->epoch(4);
  loader.reset();  // the epoch holds what it needs
  std::vector<int64_t> seen;
  while (auto b = epoch.next()) seen.insert(seen.end(), b->indices.begin(), b->indices.end());
  REQUIRE(seen == expect);
}

TEST_CASE("An exception in the worker reaches the consumer") {
  auto ds = std::make_shared<ProbeDataset>(100);
  ds->throw_at = 57;
  for (int64_t prefetch : {0, 3}) {
    DataLoader loader(ds, {.batch_size = 10, .prefetch = prefetch});
    Epoch epoch = loader.epoch(0);
    for (int i = 0; i < 5; ++i) REQUIRE(epoch.next()->index == i);
    REQUIRE_THROWS_WITH_ALL(epoch.next(), ValueError, "refusing index 57");
    REQUIRE(!epoch.next().has_value());  // the epoch ends there
  }
  REQUIRE_THROWS_AS(DataLoader(ds).make_batch({100}), IndexError);
}

TEST_CASE("Normalize: x / 255, then (x - mean) / std, per channel, as torchvision in float32") {
  auto ds = std::make_shared<ProbeDataset>(256, Shape{2, 3, 3});
  DataLoader plain(ds, {.batch_size = 256});
  DataLoader norm(ds, {.batch_size = 256, .normalize = Normalize{{0.1307, 0.5}, {0.3081, 0.25}}});
  DataLoader norm64(ds, {.batch_size = 256, .normalize = Normalize{{0.1307}, {0.3081}}, .dtype = DType::Float64});
  std::vector<float> p = plain.make_batch(index_range(0, 256)).images.to_vector<float>();
  std::vector<float> n = norm.make_batch(index_range(0, 256)).images.to_vector<float>();
  std::vector<double> d = norm64.make_batch(index_range(0, 256)).images.to_vector<double>();
  for (int64_t i = 0; i < 256; ++i)
    for (int64_t c = 0; c < 2; ++c) {
      const size_t at = static_cast<size_t>(i * 18 + c * 9 + 4);
      const float x = static_cast<float>(i) / 255.0f;
      REQUIRE(p[at] == x);
      REQUIRE(n[at] == (x - (c ? 0.5f : 0.1307f)) / (c ? 0.25f : 0.3081f));
      REQUIRE(d[at] == (i / 255.0 - 0.1307) / 0.3081);
    }
  REQUIRE_THROWS_AS(DataLoader(ds, {.normalize = Normalize{{0.1, 0.2, 0.3}, {1.0}}}), ValueError);
  REQUIRE_THROWS_AS(DataLoader(ds, {.normalize = Normalize{{0.1}, {0.0}}}), ValueError);
}

TEST_CASE("shift_image moves pixels and fills with zeros") {
  const std::vector<uint8_t> src = {1, 2, 3, 4, 5, 6};  // [1, 2, 3]
  std::vector<uint8_t> dst(6);
  shift_image(src.data(), dst.data(), {1, 2, 3}, 1, 0);
  REQUIRE(dst == std::vector<uint8_t>{0, 1, 2, 0, 4, 5});
  shift_image(src.data(), dst.data(), {1, 2, 3}, -1, 1);
  REQUIRE(dst == std::vector<uint8_t>{0, 0, 0, 2, 3, 0});
  shift_image(src.data(), dst.data(), {1, 2, 3}, 3, 0);
  REQUIRE(dst == std::vector<uint8_t>(6, 0));
}

TEST_CASE("Random shift: mass preserved, offsets in range, deterministic per (seed, epoch, index)") {
  // Every image: a 4x4 block of value 200 at rows/cols 12..15 of 28x28.
  const int64_t n = 200, k = 3;
  Tensor images = zeros({n, 1, 28, 28}, {.dtype = DType::UInt8});
  images.slice(2, 12, 16).slice(3, 12, 16).fill_(200);
  auto ds = std::make_shared<TensorDataset>(images, arange(0, n, 1, {.dtype = DType::Int64}));
  DataLoaderOptions opt{.batch_size = n, .shuffle = true, .seed = 11, .random_shift = RandomShift{k}};
  DataLoader loader(ds, opt), again(ds, opt);
  opt.seed = 12;
  DataLoader other(ds, opt);
  Batch b = *loader.epoch(0).next();
  std::set<std::pair<int64_t, int64_t>> offsets;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t idx = b.indices[static_cast<size_t>(i)];
    auto [dx, dy] = shift_offsets(11, 0, idx, k);
    REQUIRE(std::abs(dx) <= k);
    REQUIRE(std::abs(dy) <= k);
    offsets.insert({dx, dy});
    Tensor img = b.images.select(0, i);
    REQUIRE(img.sum().item<double>() == Approx(16 * 200 / 255.0).epsilon(1e-6));  // nothing fell off
    REQUIRE(img.select(0, 0).select(0, 12 + dy).select(0, 12 + dx).item<float>() == 200 / 255.0f);
    REQUIRE(img.select(0, 0).select(0, 11 + dy).select(0, 12 + dx).item<float>() == 0.0f);
  }
  REQUIRE(offsets.size() > 30);  // of the 49 possible (dx, dy)
  REQUIRE(loader.epoch(3).next()->images.to_vector<float>() == again.epoch(3).next()->images.to_vector<float>());
  REQUIRE(loader.make_batch({0, 1, 2}, 0).images.to_vector<float>() !=
          loader.make_batch({0, 1, 2}, 1).images.to_vector<float>());
  REQUIRE(loader.make_batch({0, 1, 2}, 0).images.to_vector<float>() !=
          other.make_batch({0, 1, 2}, 0).images.to_vector<float>());
}

TEST_CASE("flip_image mirrors each row") {
  const std::vector<uint8_t> src = {1, 2, 3, 4, 5, 6};  // [1, 2, 3]
  std::vector<uint8_t> dst(6);
  flip_image(src.data(), dst.data(), {1, 2, 3});
  REQUIRE(dst == std::vector<uint8_t>{3, 2, 1, 6, 5, 4});
  REQUIRE_THROWS_AS(flip_image(src.data(), dst.data(), {6}), ValueError);
}

TEST_CASE("Random flip: about half the examples mirrored, as flip_draw says, per (seed, epoch, index)") {
  // Every image: one bright pixel at column 3 of row 0, so a mirrored one has it at column 24.
  const int64_t n = 400;
  Tensor images = zeros({n, 1, 28, 28}, {.dtype = DType::UInt8});
  images.select(2, 0).select(2, 3).fill_(255);
  auto ds = std::make_shared<TensorDataset>(images, arange(0, n, 1, {.dtype = DType::Int64}));
  DataLoader loader(ds, {.batch_size = n, .shuffle = true, .seed = 5, .random_flip = true});
  Batch b = *loader.epoch(2).next();
  int64_t flipped = 0;
  for (int64_t i = 0; i < n; ++i) {
    const bool f = flip_draw(5, 2, b.indices[static_cast<size_t>(i)]);
    Tensor row = b.images.select(0, i).select(0, 0).select(0, 0);
    REQUIRE(row.select(0, f ? 24 : 3).item<float>() == 1.0f);
    REQUIRE(row.select(0, f ? 3 : 24).item<float>() == 0.0f);
    flipped += f;
  }
  REQUIRE(flipped > 150);  // binomial(400, 1/2): 200 +- 10 std
  REQUIRE(flipped < 250);
  REQUIRE(flip_draw(5, 2, 7) == flip_draw(5, 2, 7));
  int64_t same = 0;
  for (int64_t i = 0; i < 200; ++i) same += flip_draw(5, 2, i) == flip_draw(5, 3, i);
  REQUIRE(same < 150);  // epochs draw independently
}

TEST_CASE("Subset picks examples of its base") {
  auto base = std::make_shared<ProbeDataset>(50);
  Subset sub(base, {40, 3, 7});
  REQUIRE(sub.size() == 3);
  REQUIRE(sub.get(0).label == 40);
  REQUIRE(sub.image_shape() == Shape{1, 4, 4});
  REQUIRE_THROWS_AS(Subset(base, {50}), IndexError);
  REQUIRE_THROWS_AS(sub.get(3), IndexError);
}

// Sizes and training-set pixel mean/std of the prepared datasets, when
// scripts/prepare_data.sh has made them (docs/data.md).
TEST_CASE("Prepared datasets have the documented sizes and statistics") {
  fs::path root = std::getenv("EMBER_DATASETS") ? default_datasets_dir()
                                               : fs::path(EMBER_SOURCE_DIR) / "datasets";
  struct Expected { const char* name; int64_t train, test; double mean, std; };
  for (Expected e : {Expected{"mnist-digits", 7996, 2004, 0.130884, 0.308352},
                     Expected{"fashion-mnist", 60000, 10000, 0.286041, 0.353024}}) {
    fs::path dir = root / e.name;
    if (!fs::exists(dir)) {
      if (std::getenv("EMBER_REQUIRE_DATA") && std::string(e.name) == "mnist-digits")
        FAIL(dir.string() << " is not prepared but EMBER_REQUIRE_DATA is set (scripts/test.sh prepares it)");
      WARN("skipping the check of " << dir.string() << ": not prepared (run scripts/prepare_data.sh)");
      continue;
    }
    INFO(dir.string());
    MnistDataset train(dir, Split::Train), test(dir, Split::Test);
    REQUIRE(train.size() == e.train);
    REQUIRE(test.size() == e.test);
    const uint8_t* px = train.images().data_ptr<uint8_t>();
    double sum = 0, sq = 0;
    const int64_t count = train.images().numel();
    for (int64_t i = 0; i < count; ++i) {
      sum += px[i];
      sq += static_cast<double>(px[i]) * px[i];
    }
    const double mean = sum / count / 255.0, std = std::sqrt(sq / count / (255.0 * 255.0) - mean * mean);
    REQUIRE(mean == Approx(e.mean).margin(5e-7));
    REQUIRE(std == Approx(e.std).margin(5e-7));
    std::vector<int64_t> counts(10, 0);
    for (int64_t label : test.labels().to_vector<int64_t>()) ++counts[static_cast<size_t>(label)];
    for (int64_t c : counts) REQUIRE(c > 0);
  }
}

// Draws pinned to the values they had before crops were added (commit
// 81dd586), so that adding a stream can never change an MNIST run.
TEST_CASE("Shuffle and augmentation draws keep their pinned values") {
  std::string got;
  for (int64_t i : shuffled_indices(10, 7, 5)) got += std::to_string(i) + " ";
  got += "| ";
  for (int64_t i : {0, 1, 2, 1000}) {
    auto [dx, dy] = shift_offsets(11, 3, i, 2);
    got += std::to_string(dx) + "," + std::to_string(dy) + " ";
  }
  got += "| ";
  for (int64_t i = 0; i < 16; ++i) got += flip_draw(5, 2, i) ? "1" : "0";
  REQUIRE(got == "7 5 2 3 8 6 0 4 9 1 | 2,-1 -1,-2 2,1 -2,0 | 1110010000010010");
}

// ---- distributed sampling: Note [Distributed sampling] in loader.h ----

TEST_CASE("Distributed shards match torch's DistributedSampler, padded or cut, shuffled or not") {
  // tests/make_sampler_fixture.py: torch 1.13's shards (shuffle=False) for
  // several (N, num_replicas, drop_last). They are positions in the epoch's
  // order, so a shuffled epoch's shard is the permutation at those positions.
  std::ifstream in(std::filesystem::path(EMBER_SOURCE_DIR) / "tests/fixtures/data/distributed_sampler.json");
  REQUIRE(in);
  const auto cases = nlohmann::json::parse(in);
  REQUIRE(cases.size() == 11);
  for (const auto& c : cases) {
    const int64_t n = c["n"], r = c["num_replicas"];
    const bool drop_last = c["drop_last"];
    INFO("N " << n << ", replicas " << r << ", drop_last " << drop_last);
    auto ds = std::make_shared<ProbeDataset>(n);
    for (int64_t k = 0; k < r; ++k) {
      INFO("rank " << k);
      const auto expected = c["shards"][k].get<std::vector<int64_t>>();
      DataLoaderOptions opt{.batch_size = 2, .drop_last = drop_last, .distributed = DistributedSampling{k, r}};
      CHECK(DataLoader(ds, opt).order(4) == expected);
      const int64_t s = static_cast<int64_t>(expected.size());
      CHECK(DataLoader(ds, opt).num_batches() == (drop_last ? s / 2 : (s + 1) / 2));
      opt.shuffle = true;
      opt.seed = 9;
      const std::vector<int64_t> perm = shuffled_indices(n, 9, 4);
      std::vector<int64_t> shuffled;
      for (int64_t pos : expected) shuffled.push_back(perm[pos]);
      CHECK(DataLoader(ds, opt).order(4) == shuffled);
      CHECK(all_indices(DataLoader(ds, opt).epoch(4)) ==
            std::vector<int64_t>(shuffled.begin(), shuffled.begin() + DataLoader(ds, opt).num_batches() * 2 -
                                                      (!drop_last && s % 2 ? 1 : 0)));
    }
  }
}

TEST_CASE("Two ranks with batch 32 see, step by step, the examples one rank with batch 64 sees, augmented alike") {
  auto ds = std::make_shared<ProbeDataset>(200, Shape{1, 6, 6});  // 3 full global batches, then 8 examples
  DataLoaderOptions opt{.batch_size = 64, .shuffle = true, .seed = 11, .random_shift = RandomShift{2}, .prefetch = 0};
  DataLoader whole(ds, opt);
  opt.batch_size = 32;
  opt.distributed = DistributedSampling{0, 2};
  DataLoader rank0(ds, opt);
  opt.distributed = DistributedSampling{1, 2};
  DataLoader rank1(ds, opt);
  REQUIRE(whole.num_batches() == 4);
  REQUIRE(rank0.num_batches() == 4);
  REQUIRE(rank1.num_batches() == 4);
  for (int64_t e : {0, 3}) {
    std::vector<Batch> w, a, b;
    for (Batch& x : whole.epoch(e)) w.push_back(x);
    for (Batch& x : rank0.epoch(e)) a.push_back(x);
    for (Batch& x : rank1.epoch(e)) b.push_back(x);
    for (size_t k = 0; k < w.size(); ++k) {
      INFO("epoch " << e << ", step " << k);
      std::vector<int64_t> both = a[k].indices;
      both.insert(both.end(), b[k].indices.begin(), b[k].indices.end());
      std::vector<int64_t> expected = w[k].indices;
      std::sort(both.begin(), both.end());
      std::sort(expected.begin(), expected.end());
      CHECK(both == expected);
      // Each example's pixels (its random shift) are those of the 1-rank run.
      const int64_t px = 36;
      const auto wp = w[k].images.to_vector<float>();
      for (const Batch* rb : {&a[k], &b[k]}) {
        const auto rp = rb->images.to_vector<float>();
        for (size_t i = 0; i < rb->indices.size(); ++i) {
          const auto j = std::find(w[k].indices.begin(), w[k].indices.end(), rb->indices[i]) - w[k].indices.begin();
          CHECK(std::equal(rp.begin() + i * px, rp.begin() + (i + 1) * px, wp.begin() + j * px));
        }
      }
    }
  }
  // Resuming a rank mid-epoch yields its own batches from there.
  std::vector<Batch> full;
  for (Batch& x : rank1.epoch(2)) full.push_back(x);
  std::vector<Batch> tail;
  for (Batch& x : rank1.epoch(2, 2)) tail.push_back(x);
  REQUIRE(tail.size() == 2);
  CHECK(tail[0].indices == full[2].indices);
  CHECK(tail[1].indices == full[3].indices);
  CHECK(tail[1].index == 3);
}

TEST_CASE("even = false shards without padding: every example once, shards differ by at most one") {
  auto ds = std::make_shared<ProbeDataset>(10);
  std::vector<int64_t> all;
  std::vector<std::vector<int64_t>> shards;
  for (int64_t k = 0; k < 3; ++k) {
    DataLoader loader(ds, {.batch_size = 3, .distributed = DistributedSampling{k, 3, false}});
    shards.push_back(loader.order(0));
    CHECK(all_indices(loader.epoch(0)) == shards.back());
    all.insert(all.end(), shards.back().begin(), shards.back().end());
  }
  CHECK(shards == std::vector<std::vector<int64_t>>{{0, 3, 6, 9}, {1, 4, 7}, {2, 5, 8}});
  std::sort(all.begin(), all.end());
  CHECK(all == index_range(0, 10));
  CHECK(DataLoader(ds, {.batch_size = 3, .distributed = DistributedSampling{0, 3, false}}).num_batches() == 2);
  CHECK(DataLoader(ds, {.batch_size = 3, .distributed = DistributedSampling{1, 3, false}}).num_batches() == 1);
}

TEST_CASE("Distributed sampling rejects a rank outside [0, num_replicas)") {
  auto ds = std::make_shared<ProbeDataset>(10);
  REQUIRE_THROWS_WITH_ALL(DataLoader(ds, {.distributed = DistributedSampling{2, 2}}), ValueError,
                          "distributed.rank 2", "[0, 2)");
  REQUIRE_THROWS_AS(DataLoader(ds, {.distributed = DistributedSampling{-1, 2}}), ValueError);
  REQUIRE_THROWS_WITH_ALL(DataLoader(ds, {.distributed = DistributedSampling{0, 0}}), ValueError,
                          "num_replicas must be positive");
  // One replica is the plain loader.
  CHECK(DataLoader(ds, {.shuffle = true, .seed = 2, .distributed = DistributedSampling{0, 1}}).order(1) ==
        DataLoader(ds, {.shuffle = true, .seed = 2}).order(1));
}
