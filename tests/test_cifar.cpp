// Tests of CIFAR-10/100 (data/include/ember/data/cifar.h) and RandomCrop
// (transforms.h). The fixtures in tests/fixtures/cifar/ are tiny sets in the
// binary format, with expected.json: what torchvision's own CIFAR10/CIFAR100
// classes, ToTensor, Normalize and functional pad/crop/hflip make of the same
// records (written by tests/make_cifar_fixtures.py; no Python needed here).
// Broken files and folders are made from the fixtures in temporary folders.
#include "support.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

using namespace ember;
using namespace ember::data;
using namespace std::string_literals;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

using ember::test::TempDir;

const fs::path kFixtures = fs::path(EMBER_SOURCE_DIR) / "tests" / "fixtures" / "cifar";

const json& expected() {
  static const json j = [] {
    std::ifstream in(kFixtures / "expected.json");
    REQUIRE(in.good());
    return json::parse(in);
  }();
  return j;
}

std::vector<uint8_t> read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void write_bytes(const fs::path& p, const std::vector<uint8_t>& bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

std::vector<uint8_t> base64_decode(const std::string& text) {
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::vector<uint8_t> out;
  uint32_t bits = 0;
  int count = 0;
  for (char ch : text) {
    if (ch == '=') break;
    bits = (bits << 6) | static_cast<uint32_t>(alphabet.find(ch));
    if ((count += 6) >= 8) out.push_back(static_cast<uint8_t>(bits >> (count -= 8)));
  }
  return out;
}

// The labels, pixel sums and sampled pixels torchvision found in the split.
void check_against_torchvision(const TensorDataset& ds, const json& want) {
  REQUIRE(ds.labels().to_vector<int64_t>() == want["labels"].get<std::vector<int64_t>>());
  REQUIRE(ds.size() == static_cast<int64_t>(want["sums"].size()));
  const uint8_t* px = ds.images().data_ptr<uint8_t>();
  for (int64_t i = 0; i < ds.size(); ++i) {
    int64_t sum = 0;
    for (int64_t j = 0; j < 3072; ++j) sum += px[i * 3072 + j];
    REQUIRE(sum == want["sums"][static_cast<size_t>(i)].get<int64_t>());
  }
  for (const json& p : want["pixels"]) {  // [image, c, y, x, value]
    const auto at = [&](int k) { return p[k].get<int64_t>(); };
    REQUIRE(int{px[((at(0) * 3 + at(1)) * 32 + at(2)) * 32 + at(3)]} == at(4));
  }
}

// A copy of the fixture folder `name` under dir, to break.
fs::path copy_fixture(const TempDir& dir, const std::string& name) {
  fs::copy(kFixtures / name, dir / name, fs::copy_options::recursive);
  return dir / name;
}

}  // namespace

TEST_CASE("CifarDataset reads CIFAR-10 from the folder or its parent, as torchvision's CIFAR10 does") {
  for (const fs::path& root : {kFixtures, kFixtures / "cifar-10-batches-bin"}) {
    INFO(root.string());
    CifarDataset train(root, Split::Train), test(root, Split::Test, CifarKind::Cifar10);
    REQUIRE(train.kind() == CifarKind::Cifar10);
    REQUIRE(train.num_classes() == 10);
    REQUIRE(train.size() == 11);  // batches of 2, 2, 3, 2, 2 records, in order 1..5
    REQUIRE(test.size() == 2);
    REQUIRE(train.image_shape() == Shape{3, 32, 32});
    REQUIRE(train.images().shape() == Shape{11, 3, 32, 32});
    REQUIRE(train.images().dtype() == DType::UInt8);
    REQUIRE(train.labels().dtype() == DType::Int64);
    REQUIRE(train.files().size() == 5);
    for (size_t b = 0; b < 5; ++b)
      REQUIRE(train.files()[b] ==
              kFixtures / "cifar-10-batches-bin" / ("data_batch_" + std::to_string(b + 1) + ".bin"));
    REQUIRE(test.files() == std::vector<fs::path>{kFixtures / "cifar-10-batches-bin" / "test_batch.bin"});
    REQUIRE(!train.coarse_labels().defined());
    REQUIRE(!train.fine_labels().defined());
    check_against_torchvision(train, expected()["cifar10"]["train"]);
    check_against_torchvision(test, expected()["cifar10"]["test"]);
    Example ex = train.get(4);
    REQUIRE(ex.image.shape() == Shape{3, 32, 32});
    REQUIRE(ex.label == expected()["cifar10"]["train"]["labels"][4].get<int64_t>());
  }
  REQUIRE(find_cifar_dir(kFixtures, CifarKind::Cifar10) == kFixtures / "cifar-10-batches-bin");
  REQUIRE(cifar_file_names(CifarKind::Cifar10, Split::Train).back() == "data_batch_5.bin");
  REQUIRE_THROWS_AS(CifarDataset(kFixtures, Split::Train, CifarKind::Cifar10, CifarLabels::Coarse), ValueError);
}

TEST_CASE("CifarDataset reads CIFAR-100 with fine or coarse labels") {
  for (const fs::path& root : {kFixtures, kFixtures / "cifar-100-binary"}) {
    INFO(root.string());
    const json& want = expected()["cifar100"];
    CifarDataset fine(root, Split::Train, CifarKind::Cifar100);
    CifarDataset coarse(root, Split::Train, CifarKind::Cifar100, CifarLabels::Coarse);
    CifarDataset test(root, Split::Test, CifarKind::Cifar100);
    REQUIRE(fine.num_classes() == 100);
    REQUIRE(coarse.num_classes() == 20);
    REQUIRE(fine.files() == std::vector<fs::path>{kFixtures / "cifar-100-binary" / "train.bin"});
    check_against_torchvision(fine, want["train"]);  // torchvision's CIFAR100 gives the fine label
    check_against_torchvision(test, want["test"]);
    REQUIRE(fine.fine_labels().to_vector<int64_t>() == want["train"]["labels"].get<std::vector<int64_t>>());
    REQUIRE(fine.coarse_labels().to_vector<int64_t>() == want["train"]["coarse"].get<std::vector<int64_t>>());
    REQUIRE(coarse.labels().to_vector<int64_t>() == want["train"]["coarse"].get<std::vector<int64_t>>());
    REQUIRE(test.coarse_labels().to_vector<int64_t>() == want["test"]["coarse"].get<std::vector<int64_t>>());
    REQUIRE(coarse.images().to_vector<uint8_t>() == fine.images().to_vector<uint8_t>());
  }
}

TEST_CASE("Class names: 10, 100 fine and 20 coarse, in label order") {
  REQUIRE(cifar10_class_names().size() == 10);
  REQUIRE(cifar10_class_names()[0] == "airplane");
  REQUIRE(cifar10_class_names()[9] == "truck");
  for (const auto* names : {&cifar100_class_names(), &cifar100_coarse_class_names()}) {
    REQUIRE(std::is_sorted(names->begin(), names->end()));  // the files' label order is alphabetical
    REQUIRE(std::set<std::string>(names->begin(), names->end()).size() == names->size());
  }
  REQUIRE(cifar100_class_names().size() == 100);
  REQUIRE(cifar100_class_names()[99] == "worm");
  REQUIRE(cifar100_coarse_class_names().size() == 20);
  REQUIRE(cifar100_coarse_class_names()[19] == "vehicles_2");
}

TEST_CASE("A missing CIFAR folder names every layout looked for and the version to get") {
  TempDir dir;
  const std::string root = (dir / "nowhere").string();
  REQUIRE_THROWS_WITH_ALL(CifarDataset(dir / "nowhere", Split::Train), FileError, "does not exist"s, root,
                          root + "/cifar-10-batches-bin"s, "data_batch_1.bin"s, "data_batch_5.bin"s,
                          "test_batch.bin"s, "CIFAR-10 binary version (suitable for C programs)"s,
                          "cifar-10-binary.tar.gz"s, "https://www.cs.toronto.edu/~kriz/cifar.html"s);
  REQUIRE_THROWS_WITH_ALL(CifarDataset(dir.path, Split::Test, CifarKind::Cifar100), FileError,
                          dir.path.string() + "/cifar-100-binary", "train.bin"s, "test.bin"s,
                          "CIFAR-100 binary version (suitable for C programs)"s, "cifar-100-binary.tar.gz"s);
  // CIFAR-100's files where CIFAR-10 is asked for, and the other way round.
  REQUIRE_THROWS_WITH_ALL(CifarDataset(kFixtures / "cifar-100-binary", Split::Train), FileError,
                          "holds CIFAR-100's files", "load it as CIFAR-100");
  REQUIRE_THROWS_WITH_ALL(CifarDataset(kFixtures / "cifar-10-batches-bin", Split::Train, CifarKind::Cifar100),
                          FileError, "holds CIFAR-10's files");
}

TEST_CASE("torchvision's Python version is recognised, and the binary version named") {
  for (const char* name : {"data_batch_1", "batches.meta"}) {  // a parent, or the folder itself
    TempDir dir;
    fs::create_directories(dir / "cifar-10-batches-py");
    write_bytes(dir / "cifar-10-batches-py" / name, {0x80});
    for (const fs::path& root : {dir.path, dir / "cifar-10-batches-py"})
      REQUIRE_THROWS_WITH_ALL(CifarDataset(root, Split::Train), FileError, "Python (pickle) version",
                              "CIFAR-10 binary version (suitable for C programs)", "cifar-10-binary.tar.gz");
  }
  TempDir renamed;  // pickles in a folder of another name
  write_bytes(renamed / "test_batch", {0x80});
  REQUIRE_THROWS_WITH_ALL(CifarDataset(renamed.path, Split::Test), FileError, "Python (pickle) version");
  TempDir py100;
  fs::create_directories(py100 / "cifar-100-python");
  write_bytes(py100 / "cifar-100-python" / "meta", {0x80});
  REQUIRE_THROWS_WITH_ALL(CifarDataset(py100.path, Split::Train, CifarKind::Cifar100), FileError,
                          "Python (pickle) version", "CIFAR-100 binary version (suitable for C programs)");
  TempDir plain;  // no hint where there are no pickles
  write_bytes(plain / "notes.txt", {1});
  try {
    CifarDataset(plain.path, Split::Train);
    FAIL("no error");
  } catch (const FileError& e) {
    REQUIRE(std::string(e.what()).find("Python") == std::string::npos);
  }
}

TEST_CASE("Broken CIFAR files: a missing batch, a size off the record grid, a bad label") {
  TempDir dir;
  const fs::path bin = copy_fixture(dir, "cifar-10-batches-bin");
  fs::remove(bin / "data_batch_3.bin");
  REQUIRE_THROWS_WITH_ALL(CifarDataset(dir.path, Split::Train), FileError, "not data_batch_3.bin", "train split");
  REQUIRE(CifarDataset(dir.path, Split::Test).size() == 2);  // the test split is whole

  std::vector<uint8_t> bytes = read_bytes(bin / "test_batch.bin");
  REQUIRE(bytes.size() == 2 * 3073);
  write_bytes(bin / "test_batch.bin", std::vector<uint8_t>(bytes.begin(), bytes.end() - 100));
  REQUIRE_THROWS_WITH_ALL(CifarDataset(dir.path, Split::Test), FileError, "test_batch.bin", "6046 bytes",
                          "3073-byte", "1 records and 2973 bytes left over");
  write_bytes(bin / "test_batch.bin", {});
  REQUIRE_THROWS_WITH_ALL(CifarDataset(dir.path, Split::Test), FileError, "test_batch.bin", "empty");
  bytes[3073] = 10;  // record 1's label
  write_bytes(bin / "test_batch.bin", bytes);
  REQUIRE_THROWS_WITH_ALL(CifarDataset(dir.path, Split::Test), FileError, "test_batch.bin", "record 1",
                          "label 10", "0..9");

  const fs::path bin100 = copy_fixture(dir, "cifar-100-binary");
  std::vector<uint8_t> c100 = read_bytes(bin100 / "train.bin");
  c100[2 * 3074] = 20;  // record 2's coarse label
  write_bytes(bin100 / "train.bin", c100);
  REQUIRE_THROWS_WITH_ALL(CifarDataset(dir.path, Split::Train, CifarKind::Cifar100), FileError, "train.bin",
                          "record 2", "coarse label 20", "0..19");
  c100[2 * 3074] = 0;
  c100[3074 + 1] = 100;  // record 1's fine label
  write_bytes(bin100 / "train.bin", c100);
  REQUIRE_THROWS_WITH_ALL(CifarDataset(dir.path, Split::Train, CifarKind::Cifar100), FileError, "record 1",
                          "fine label 100", "0..99");
  // CIFAR-100 records read as CIFAR-10: the size says which they are.
  REQUIRE_THROWS_WITH_ALL(parse_cifar_records(c100.data(), 2 * 3074, CifarKind::Cifar10, "x.bin"), FileError,
                          "x.bin", "2 CIFAR-100 records");
  CifarRecords one = parse_cifar_records(c100.data(), 3074, CifarKind::Cifar100, "one");
  REQUIRE(one.images.shape() == Shape{1, 3, 32, 32});
  REQUIRE(one.coarse_labels.shape() == Shape{1});
}

TEST_CASE("Normalize::cifar10 batches equal torchvision's ToTensor + Normalize in float32, bit for bit") {
  const json& want = expected()["normalize_cifar10"];
  auto train = std::make_shared<CifarDataset>(kFixtures, Split::Train);
  const int64_t image = want["image"].get<int64_t>();
  Tensor batch = DataLoader(train, {.normalize = Normalize::cifar10()}).make_batch({image}).images;
  REQUIRE(batch.shape() == Shape{1, 3, 32, 32});
  const float* x = batch.data_ptr<float>();
  for (const json& v : want["values"]) {  // [c, y, x, pixel, torchvision's value]
    const int64_t at = (v[0].get<int64_t>() * 32 + v[1].get<int64_t>()) * 32 + v[2].get<int64_t>();
    REQUIRE(int{train->images().data_ptr<uint8_t>()[image * 3072 + at]} == v[3].get<int>());
    REQUIRE(x[at] == v[4].get<float>());  // a float32 read back exactly from its double
  }
  double sum = 0;
  for (int64_t i = 0; i < 3072; ++i) sum += x[i];
  REQUIRE(sum == Approx(want["sum"].get<double>()).epsilon(1e-12));
  // Every pixel value of every channel, compared as float32 bit patterns.
  const Normalize cifar10 = Normalize::cifar10();
  const auto table = pixel_table<float>(&cifar10, 3);
  for (size_t c = 0; c < 3; ++c)
    for (size_t p = 0; p < 256; ++p) {
      uint32_t bits = 0;
      std::memcpy(&bits, &table[c][p], 4);
      INFO("channel " << c << ", pixel " << p);
      REQUIRE(bits == std::stoul(want["table_bits"][c][p].get<std::string>(), nullptr, 16));
    }
  REQUIRE(Normalize::cifar100().mean == std::vector<double>{0.5071, 0.4865, 0.4409});
  REQUIRE(Normalize::cifar100().std == std::vector<double>{0.2673, 0.2564, 0.2762});
}

TEST_CASE("crop_image at forced offsets equals torchvision's pad(4), crop and hflip") {
  CifarDataset train(kFixtures, Split::Train);
  std::vector<uint8_t> cropped(3072), flipped(3072);
  for (const json& c : expected()["crops"]) {
    const int64_t top = c["top"].get<int64_t>(), left = c["left"].get<int64_t>();
    INFO("image " << c["image"] << " at top " << top << ", left " << left);
    const uint8_t* src = train.images().data_ptr<uint8_t>() + c["image"].get<int64_t>() * 3072;
    crop_image(src, cropped.data(), {3, 32, 32}, 32, 4, top, left);
    if (c["flip"].get<bool>()) flip_image(cropped.data(), flipped.data(), {3, 32, 32});
    REQUIRE((c["flip"].get<bool>() ? flipped : cropped) == base64_decode(c["base64"].get<std::string>()));
  }
}

TEST_CASE("crop_image pads with zeros and cuts the window, for any channel count (size 0 keeps H x W)") {
  const std::vector<uint8_t> src = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};  // [2, 2, 3]
  std::vector<uint8_t> dst(12);
  crop_image(src.data(), dst.data(), {2, 2, 3}, 0, 1, 0, 0);  // padded 4x5, window 2x3 at its corner
  REQUIRE(dst == std::vector<uint8_t>{0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 7, 8});
  crop_image(src.data(), dst.data(), {2, 2, 3}, 0, 1, 2, 2);  // the opposite corner
  REQUIRE(dst == std::vector<uint8_t>{5, 6, 0, 0, 0, 0, 11, 12, 0, 0, 0, 0});
  crop_image(src.data(), dst.data(), {2, 2, 3}, 0, 1, 1, 1);  // the centre: the image itself
  REQUIRE(dst == src);
  std::vector<uint8_t> one(2);
  crop_image(src.data(), one.data(), {2, 2, 3}, 1, 0, 1, 2);
  REQUIRE(one == std::vector<uint8_t>{6, 12});
  REQUIRE(crop_shape({3, 32, 32}, 28, 0) == Shape{3, 28, 28});
  REQUIRE(crop_shape({2, 2, 3}, 0, 4) == Shape{2, 2, 3});
  REQUIRE_THROWS_WITH_ALL(crop_shape({3, 32, 32}, 41, 4), ValueError, "41x41", "40x40");
  REQUIRE_THROWS_AS(crop_shape({3, 32, 32}, -1, 4), ValueError);
  REQUIRE_THROWS_AS(crop_image(src.data(), dst.data(), {2, 2, 3}, 0, 1, 3, 0), ValueError);  // top > 2
  REQUIRE_THROWS_AS(crop_image(src.data(), dst.data(), {2, 2, 3}, 0, 1, 0, -1), ValueError);
}

TEST_CASE("The loader crops, then flips, then normalizes, and refuses crops that do not fit") {
  auto train = std::make_shared<CifarDataset>(kFixtures, Split::Train);
  const uint64_t seed = 9;
  for (int64_t size : {32, 28}) {
    DataLoader loader(train, {.batch_size = 11, .seed = seed, .normalize = Normalize::cifar10(),
                              .random_crop = RandomCrop{size, 4}, .random_flip = true});
    const auto table = pixel_table<float>(&*loader.options().normalize, 3);
    Batch b = *loader.epoch(1).next();
    REQUIRE(b.images.shape() == Shape{11, 3, size, size});
    const int64_t per = 3 * size * size;
    std::vector<uint8_t> cropped(static_cast<size_t>(per)), flipped(static_cast<size_t>(per));
    int64_t flips = 0;
    for (int64_t i = 0; i < 11; ++i) {
      auto [top, left] = crop_offsets(seed, 1, i, 40 - size, 40 - size);
      crop_image(train->images().data_ptr<uint8_t>() + i * 3072, cropped.data(), {3, 32, 32}, size, 4, top, left);
      const bool flip = flip_draw(seed, 1, i);
      flips += flip;
      if (flip) flip_image(cropped.data(), flipped.data(), {3, size, size});
      const std::vector<uint8_t>& px = flip ? flipped : cropped;
      std::vector<float> want(static_cast<size_t>(per));
      for (int64_t j = 0; j < per; ++j) want[j] = table[static_cast<size_t>(j / (size * size))][px[j]];
      REQUIRE(b.images.select(0, i).to_vector<float>() == want);
    }
    REQUIRE(flips > 0);
    REQUIRE(flips < 11);
  }
  REQUIRE_THROWS_WITH_ALL(DataLoader(train, {.random_crop = RandomCrop{41, 4}}), ValueError, "41x41");
  REQUIRE_THROWS_WITH_ALL(DataLoader(train, {.random_shift = RandomShift{2}, .random_crop = RandomCrop{32, 4}}),
                          ValueError, "random_shift", "random_crop");
  REQUIRE_THROWS_AS(DataLoader(train, {.random_crop = RandomCrop{32, -1}}), ValueError);
}

TEST_CASE("Crop draws: a function of (seed, epoch, index), every offset reached, the same at any prefetch") {
  std::set<std::pair<int64_t, int64_t>> seen;
  int64_t same_epoch = 0, same_seed = 0;
  for (int64_t i = 0; i < 2000; ++i) {
    auto tl = crop_offsets(3, 5, i, 8, 8);
    if (tl != crop_offsets(3, 5, i, 8, 8)) FAIL("index " << i << " drew two different offsets");
    if (tl.first < 0 || tl.first > 8 || tl.second < 0 || tl.second > 8) FAIL("index " << i << ": out of range");
    seen.insert(tl);
    same_epoch += tl == crop_offsets(3, 6, i, 8, 8);
    same_seed += tl == crop_offsets(4, 5, i, 8, 8);
  }
  REQUIRE(seen.size() == 81);  // all of [0, 8] x [0, 8]: about 25 draws each
  REQUIRE(same_epoch < 100);   // 1 in 81 by chance: about 25
  REQUIRE(same_seed < 100);
  REQUIRE(crop_offsets(3, 5, 7, 0, 0) == std::pair<int64_t, int64_t>{0, 0});
  auto tall = crop_offsets(3, 5, 7, 3, 0);  // unequal ranges: top in [0, 3], left 0
  REQUIRE(tall.first <= 3);
  REQUIRE(tall.second == 0);
  REQUIRE_THROWS_AS(crop_offsets(3, int64_t{1} << 32, 0, 8, 8), ValueError);

  Tensor images = zeros({300, 2, 9, 7}, {.dtype = DType::UInt8});
  images.fill_(77);
  auto ds = std::make_shared<TensorDataset>(images, arange(0, 300, 1, {.dtype = DType::Int64}));
  DataLoaderOptions opt{.batch_size = 32, .shuffle = true, .seed = 4, .random_crop = RandomCrop{0, 3},
                        .random_flip = true, .prefetch = 0};
  DataLoader sync(ds, opt);
  opt.prefetch = 3;
  DataLoader async(ds, opt);
  Epoch x = sync.epoch(2), y = async.epoch(2);
  for (int64_t i = 0; i < x.size(); ++i) {
    Batch bx = *x.next(), by = *y.next();
    REQUIRE(bx.images.shape() == Shape{bx.labels.size(0), 2, 9, 7});  // size 0: the image's own H x W
    REQUIRE(bx.images.to_vector<float>() == by.images.to_vector<float>());
  }
  REQUIRE(sync.make_batch({0, 1, 2}, 0).images.to_vector<float>() !=
          sync.make_batch({0, 1, 2}, 1).images.to_vector<float>());
}
