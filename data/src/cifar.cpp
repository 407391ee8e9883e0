// CifarDataset (cifar.h): finds the folder of binary files, checks every
// file's size, then reads each whole and parses its records from memory
// straight into the dataset's tensors, in file order (parse_into, which
// parse_cifar_records and so the fuzz target share).
// Note [CIFAR binary format] in cifar.h has the record layout.
#include "ember/data/cifar.h"

#include <cstring>
#include <fstream>

namespace ember::data {
namespace fs = std::filesystem;

namespace {

constexpr int64_t kPixels = 3 * 32 * 32;

const char* kind_name(CifarKind kind) { return kind == CifarKind::Cifar10 ? "CIFAR-10" : "CIFAR-100"; }
const char* binary_folder(CifarKind kind) {
  return kind == CifarKind::Cifar10 ? "cifar-10-batches-bin" : "cifar-100-binary";
}
const char* python_folder(CifarKind kind) {
  return kind == CifarKind::Cifar10 ? "cifar-10-batches-py" : "cifar-100-python";
}
CifarKind other(CifarKind kind) { return kind == CifarKind::Cifar10 ? CifarKind::Cifar100 : CifarKind::Cifar10; }

std::vector<std::string> all_file_names(CifarKind kind) {
  std::vector<std::string> names = cifar_file_names(kind, Split::Train);
  for (const std::string& name : cifar_file_names(kind, Split::Test)) names.push_back(name);
  return names;
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

bool holds_any(const fs::path& dir, const std::vector<std::string>& names) {
  std::error_code ec;
  for (const std::string& name : names)
    if (fs::is_regular_file(dir / name, ec)) return true;
  return false;
}

// torchvision's Python version: pickles named like the binary files without
// ".bin", plus a metadata pickle, in cifar-10-batches-py/ or cifar-100-python/.
bool holds_python_version(const fs::path& dir, CifarKind kind) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return false;
  if (dir.filename() == python_folder(kind)) return true;
  return kind == CifarKind::Cifar10 ? holds_any(dir, {"data_batch_1", "test_batch", "batches.meta"})
                                    : holds_any(dir, {"train", "test", "meta"});
}

// The whole file, or FileError.
std::vector<uint8_t> read_file(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  EMBER_CHECK(file, FileError, "CifarDataset: ", path.string(), ": cannot open for reading");
  std::error_code ec;
  std::vector<uint8_t> bytes(fs::file_size(path, ec));
  EMBER_CHECK(!ec && file.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size())) &&
                  file.peek() == EOF,
              FileError, "CifarDataset: ", path.string(),
              ": cannot read the whole file (did it change while being read?)");
  return bytes;
}

}  // namespace

int64_t cifar_record_size(CifarKind kind) { return (kind == CifarKind::Cifar10 ? 1 : 2) + kPixels; }

std::vector<std::string> cifar_file_names(CifarKind kind, Split split) {
  if (kind == CifarKind::Cifar100) return {split == Split::Train ? "train.bin" : "test.bin"};
  if (split == Split::Test) return {"test_batch.bin"};
  std::vector<std::string> names;
  for (int b = 1; b <= 5; ++b) names.push_back("data_batch_" + std::to_string(b) + ".bin");
  return names;
}

namespace {

// FileError unless `size` bytes are a whole, non-zero number of records.
void check_size(size_t size, CifarKind kind, const std::string& source) {
  const auto record = static_cast<size_t>(cifar_record_size(kind));
  EMBER_CHECK(size > 0, FileError, "parse_cifar_records: ", source, ": empty file (a ", kind_name(kind), " file is ",
              record, "-byte records)");
  if (size % record == 0) return;
  const auto other_record = static_cast<size_t>(cifar_record_size(other(kind)));
  throw FileError(detail::concat(
      "parse_cifar_records: ", source, ": ", size, " bytes is not a whole number of ", record, "-byte ",
      kind_name(kind), " records (", size / record, " records and ", size % record, " bytes left over)",
      size % other_record == 0 ? detail::concat("; it would be ", size / other_record, " ", kind_name(other(kind)),
                                                " records: is this the other dataset?")
                               : std::string()));
}

// Parses the records of `size` (checked) bytes into room for size / record
// images, labels and (CIFAR-100) coarse labels, checking every label.
void parse_into(const uint8_t* data, size_t size, CifarKind kind, const std::string& source, uint8_t* pixels,
                int64_t* labels, int64_t* coarse) {
  const auto record = static_cast<size_t>(cifar_record_size(kind));
  const auto n = static_cast<int64_t>(size / record);
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* r = data + static_cast<size_t>(i) * record;
    if (kind == CifarKind::Cifar10) {
      EMBER_CHECK(r[0] < 10, FileError, "parse_cifar_records: ", source, ": record ", i, " (byte ", i * record,
                  ") has label ", static_cast<int>(r[0]), ", not a CIFAR-10 class id in 0..9");
      labels[i] = r[0];
    } else {
      EMBER_CHECK(r[0] < 20, FileError, "parse_cifar_records: ", source, ": record ", i, " (byte ", i * record,
                  ") has coarse label ", static_cast<int>(r[0]), ", not a CIFAR-100 superclass id in 0..19");
      EMBER_CHECK(r[1] < 100, FileError, "parse_cifar_records: ", source, ": record ", i, " (byte ", i * record + 1,
                  ") has fine label ", static_cast<int>(r[1]), ", not a CIFAR-100 class id in 0..99");
      coarse[i] = r[0];
      labels[i] = r[1];
    }
    std::memcpy(pixels + i * kPixels, r + (record - kPixels), kPixels);
  }
}

}  // namespace

CifarRecords parse_cifar_records(const uint8_t* data, size_t size, CifarKind kind, const std::string& source) {
  check_size(size, kind, source);
  const auto n = static_cast<int64_t>(size / static_cast<size_t>(cifar_record_size(kind)));
  CifarRecords out;
  out.images = make_empty({n, 3, 32, 32}, DType::UInt8, kCPU);
  out.labels = make_empty({n}, DType::Int64, kCPU);
  if (kind == CifarKind::Cifar100) out.coarse_labels = make_empty({n}, DType::Int64, kCPU);
  parse_into(data, size, kind, source, out.images.data_ptr<uint8_t>(), out.labels.data_ptr<int64_t>(),
             kind == CifarKind::Cifar100 ? out.coarse_labels.data_ptr<int64_t>() : nullptr);
  return out;
}

fs::path find_cifar_dir(const fs::path& root, CifarKind kind) {
  const std::vector<fs::path> candidates = {root, root / binary_folder(kind)};
  const std::vector<std::string> names = all_file_names(kind);
  for (const fs::path& dir : candidates)
    if (holds_any(dir, names)) return dir;
  // Nothing there: say what was looked for, and what is there instead.
  std::string hint;
  for (const fs::path& dir : {root, root / python_folder(kind)})
    if (hint.empty() && holds_python_version(dir, kind))
      hint = detail::concat(" ", dir.string(), " holds the Python (pickle) version that torchvision reads; Ember reads "
                            "the binary version.");
  for (const fs::path& dir : {root, root / binary_folder(other(kind))})
    if (hint.empty() && holds_any(dir, all_file_names(other(kind))))
      hint = detail::concat(" ", dir.string(), " holds ", kind_name(other(kind)), "'s files (",
                            join(all_file_names(other(kind))), "): load it as ", kind_name(other(kind)), ".");
  std::error_code ec;
  const bool root_exists = fs::is_directory(root, ec);
  const std::string tarball = kind == CifarKind::Cifar10 ? "cifar-10-binary.tar.gz" : "cifar-100-binary.tar.gz";
  throw FileError(detail::concat(
      "CifarDataset: no ", kind_name(kind), " binary files in ", root.string(),
      root_exists ? "" : " (the directory does not exist)", "; looked in ", root.string(), " and ",
      (root / binary_folder(kind)).string(), " for ", join(names), ".", hint, " Get the \"", kind_name(kind),
      " binary version (suitable for C programs)\", ", tarball,
      " from https://www.cs.toronto.edu/~kriz/cifar.html, unpack it, and point at the folder it makes, ",
      binary_folder(kind), " (Ember never downloads datasets; see docs/data.md)"));
}

CifarDataset::CifarDataset(const fs::path& root, Split split, CifarKind kind, CifarLabels labels)
    : kind_(kind), split_(split), label_kind_(labels) {
  EMBER_CHECK(kind == CifarKind::Cifar100 || labels == CifarLabels::Fine, ValueError,
              "CifarDataset: CIFAR-10 has one label per image; coarse labels are CIFAR-100's");
  const fs::path dir = find_cifar_dir(root, kind);
  const std::vector<std::string> names = cifar_file_names(kind, split);
  // Every file's size is checked first, so that the records go straight
  // into the dataset's tensors: one copy of the pixels, plus one file's
  // bytes at a time (150 MB and 30 MB for CIFAR-10's training split).
  std::vector<size_t> sizes;
  int64_t total = 0;
  const auto record = static_cast<size_t>(cifar_record_size(kind));
  for (const std::string& name : names) {
    const fs::path path = dir / name;
    std::error_code ec;
    EMBER_CHECK(fs::is_regular_file(path, ec), FileError, "CifarDataset: ", dir.string(), " holds some ",
                kind_name(kind), " files but not ", name, "; the ", split_name(split), " split is ", join(names),
                " (looked in ", root.string(), " and ", (root / binary_folder(kind)).string(), ")");
    const auto size = static_cast<size_t>(fs::file_size(path, ec));
    EMBER_CHECK(!ec, FileError, "CifarDataset: ", path.string(), ": cannot read its size: ", ec.message());
    check_size(size, kind, path.string());
    files_.push_back(path);
    sizes.push_back(size);
    total += static_cast<int64_t>(size / record);
  }
  Tensor images = make_empty({total, 3, 32, 32}, DType::UInt8, kCPU);
  Tensor fine = make_empty({total}, DType::Int64, kCPU);
  if (kind == CifarKind::Cifar100) coarse_labels_ = make_empty({total}, DType::Int64, kCPU);
  int64_t at = 0;
  for (size_t f = 0; f < files_.size(); ++f) {
    const std::vector<uint8_t> bytes = read_file(files_[f]);
    EMBER_CHECK(bytes.size() == sizes[f], FileError, "CifarDataset: ", files_[f].string(), " changed size while "
                "being read (", sizes[f], " bytes, then ", bytes.size(), ")");
    parse_into(bytes.data(), bytes.size(), kind, files_[f].string(), images.data_ptr<uint8_t>() + at * kPixels,
               fine.data_ptr<int64_t>() + at,
               kind == CifarKind::Cifar100 ? coarse_labels_.data_ptr<int64_t>() + at : nullptr);
    at += static_cast<int64_t>(sizes[f] / record);
  }
  if (kind == CifarKind::Cifar100) fine_labels_ = fine;
  set_tensors(images, labels == CifarLabels::Coarse ? coarse_labels_ : fine);
}

int64_t CifarDataset::num_classes() const {
  if (kind_ == CifarKind::Cifar10) return 10;
  return label_kind_ == CifarLabels::Fine ? 100 : 20;
}

const std::vector<std::string>& cifar10_class_names() {
  static const std::vector<std::string> names = {"airplane", "automobile", "bird",  "cat",  "deer",
                                                 "dog",      "frog",       "horse", "ship", "truck"};
  return names;
}

// The label order of the files' fine_label_names.txt / coarse_label_names.txt
// (alphabetical), which torchvision reads from the pickled `meta`.
const std::vector<std::string>& cifar100_class_names() {
  static const std::vector<std::string> names = {
      "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle", "bowl", "boy",
      "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle", "chair", "chimpanzee", "clock",
      "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur", "dolphin", "elephant", "flatfish",
      "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard", "lamp", "lawn_mower", "leopard", "lion",
      "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain", "mouse", "mushroom", "oak_tree", "orange",
      "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree", "plain", "plate", "poppy", "porcupine",
      "possum", "rabbit", "raccoon", "ray", "road", "rocket", "rose", "sea", "seal", "shark", "shrew", "skunk",
      "skyscraper", "snail", "snake", "spider", "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank",
      "telephone", "television", "tiger", "tractor", "train", "trout", "tulip", "turtle", "wardrobe", "whale",
      "willow_tree", "wolf", "woman", "worm"};
  return names;
}

const std::vector<std::string>& cifar100_coarse_class_names() {
  static const std::vector<std::string> names = {
      "aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables",
      "household_electrical_devices", "household_furniture", "insects", "large_carnivores",
      "large_man-made_outdoor_things", "large_natural_outdoor_scenes", "large_omnivores_and_herbivores",
      "medium_mammals", "non-insect_invertebrates", "people", "reptiles", "small_mammals", "trees", "vehicles_1",
      "vehicles_2"};
  return names;
}

}  // namespace ember::data
