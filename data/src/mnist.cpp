// MnistDataset (mnist.h): finds the split's two IDX files, reads them with
// read_idx, checks that they describe one dataset (uint8 images [N, H, W],
// labels [N] in 0..9), and keeps images as [N, 1, H, W] and labels as int64.
#include "ember/data/mnist.h"

#include <cstdlib>
#include <cstring>

#include "ember/data/idx.h"

namespace ember::data {
namespace fs = std::filesystem;

Split parse_split(std::string_view name) {
  if (name == "train") return Split::Train;
  if (name == "test") return Split::Test;
  throw ValueError(detail::concat("unknown split '", name, "' (expected 'train' or 'test')"));
}

const char* split_name(Split split) { return split == Split::Train ? "train" : "test"; }

std::vector<std::string> mnist_file_names(Split split, bool images) {
  const std::string prefix = split == Split::Train ? "train" : "t10k";
  const std::string kind = images ? "images" : "labels";
  const std::string idx = images ? "idx3-ubyte" : "idx1-ubyte";
  std::vector<std::string> names;
  for (const char* suffix : {"", ".gz"})
    for (const char* sep : {"-", "."}) names.push_back(prefix + "-" + kind + sep + idx + suffix);
  return names;
}

fs::path find_mnist_file(const fs::path& root, Split split, bool images) {
  std::vector<std::string> names = mnist_file_names(split, images);
  std::error_code ec;
  for (const std::string& name : names)
    if (fs::is_regular_file(root / name, ec)) return root / name;
  std::string tried;
  for (const std::string& name : names) tried += (tried.empty() ? "" : ", ") + name;
  const bool root_exists = fs::is_directory(root, ec);
  throw FileError(detail::concat("MnistDataset: no ", split_name(split), " ", images ? "images" : "labels",
                                 " file in ", root.string(), root_exists ? "" : " (the directory does not exist)",
                                 "; looked for ", tried,
                                 ". Prepare MNIST digits and Fashion-MNIST with scripts/prepare_data.sh"));
}

namespace {

// Labels file -> int64 [N], each checked to be a class id.
Tensor load_labels(const fs::path& path) {
  Tensor raw = read_idx(path);
  EMBER_CHECK(raw.dtype() == DType::UInt8 && raw.dim() == 1, FileError, "MnistDataset: ", path.string(),
              ": a labels file must hold uint8 [N], found ", dtype_name(raw.dtype()), " ", shape_str(raw.shape()));
  const int64_t n = raw.size(0);
  Tensor labels = make_empty({n}, DType::Int64, kCPU);
  const uint8_t* src = raw.data_ptr<uint8_t>();
  int64_t* dst = labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    EMBER_CHECK(src[i] < MnistDataset::kNumClasses, FileError, "MnistDataset: ", path.string(), ": label ",
                static_cast<int>(src[i]), " at index ", i, " is not a class id in 0..", MnistDataset::kNumClasses - 1);
    dst[i] = src[i];
  }
  return labels;
}

}  // namespace

MnistDataset::MnistDataset(const fs::path& root, Split split)
    : split_(split), images_path_(find_mnist_file(root, split, true)), labels_path_(find_mnist_file(root, split, false)) {
  Tensor images = read_idx(images_path_);
  EMBER_CHECK(images.dtype() == DType::UInt8 && images.dim() == 3, FileError, "MnistDataset: ",
              images_path_.string(), ": an images file must hold uint8 [N, H, W], found ", dtype_name(images.dtype()),
              " ", shape_str(images.shape()));
  Tensor labels = load_labels(labels_path_);
  EMBER_CHECK(images.size(0) == labels.size(0), FileError, "MnistDataset: ", images_path_.string(), " holds ",
              images.size(0), " images but ", labels_path_.string(), " holds ", labels.size(0), " labels");
  // Insert the channel dim by relabeling the fresh tensor (no one else holds
  // it), so the dataset's tensor is a base tensor, not a view.
  const Shape nchw = {images.size(0), 1, images.size(1), images.size(2)};
  images.impl()->set_layout(nchw, contiguous_strides(nchw));
  set_tensors(images, labels);
}

const std::vector<std::string>& mnist_class_names() {
  static const std::vector<std::string> names = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  return names;
}

const std::vector<std::string>& fashion_mnist_class_names() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                 "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

fs::path default_datasets_dir() {
  const char* env = std::getenv("EMBER_DATASETS");
  return env && *env ? fs::path(env) : fs::path("datasets");
}

}  // namespace ember::data
