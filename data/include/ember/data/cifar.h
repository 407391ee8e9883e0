// CIFAR-10 and CIFAR-100 (Krizhevsky, 2009), read from their binary
// version, "CIFAR-10 binary version (suitable for C programs)":
//
// Note [CIFAR binary format]
// A file is a run of fixed-size records with no header:
//   CIFAR-10   1 label byte (0..9),                         3072 pixel bytes = 3073 bytes
//   CIFAR-100  1 coarse label byte (0..19), 1 fine (0..99), 3072 pixel bytes = 3074 bytes
// The 3072 pixels are 1024 red, then 1024 green, then 1024 blue, each a
// 32x32 plane in row-major order: already CHW, so a record's pixels are an
// image [3, 32, 32] as they stand. The files:
//   cifar-10-batches-bin/   data_batch_1.bin .. data_batch_5.bin (train, 10,000 each), test_batch.bin
//   cifar-100-binary/       train.bin (50,000), test.bin (10,000)
// The train split is the batches in order 1..5, concatenated, as
// torchvision.datasets.CIFAR10 builds it. A file's size must be a whole
// number of records, and every label is checked; anything else is a
// FileError naming the file.
//
// torchvision reads the *Python* version (pickles, cifar-10-batches-py/);
// Ember does not read pickles. Given that folder, the error says so and
// names the binary version to get (docs/data.md). Ember never downloads.
//
// A whole split lives in memory as one uint8 tensor [N, 3, 32, 32] (150 MB
// for CIFAR-10's 50,000 training images) and int64 labels [N], as
// MnistDataset does (mnist.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "ember/data/dataset.h"
#include "ember/data/mnist.h"

namespace ember::data {

enum class CifarKind { Cifar10, Cifar100 };
enum class CifarLabels { Fine, Coarse };  // which CIFAR-100 label is the label; CIFAR-10 has only one

class CifarDataset : public TensorDataset {
 public:
  /// Loads `split` of the binary version from `root` (find_cifar_dir).
  /// FileError when files are missing (naming every layout looked for), a
  /// file size is not a whole number of records, or a label is out of range.
  CifarDataset(const std::filesystem::path& root, Split split, CifarKind kind = CifarKind::Cifar10,
               CifarLabels labels = CifarLabels::Fine);

  CifarKind kind() const { return kind_; }
  Split split() const { return split_; }
  /// 10 (CIFAR-10), 100 (CIFAR-100, fine labels) or 20 (CIFAR-100, coarse).
  int64_t num_classes() const;
  /// The files read, in order.
  const std::vector<std::filesystem::path>& files() const { return files_; }
  /// CIFAR-100: int64 [N] each; undefined Tensors for CIFAR-10.
  const Tensor& coarse_labels() const { return coarse_labels_; }
  const Tensor& fine_labels() const { return fine_labels_; }

 private:
  CifarKind kind_;
  Split split_;
  CifarLabels label_kind_;
  std::vector<std::filesystem::path> files_;
  Tensor coarse_labels_, fine_labels_;
};

/// The records of one binary file: images uint8 [N, 3, 32, 32] and labels
/// int64 [N] (CIFAR-100: the fine label, with the coarse one beside it;
/// coarse_labels is undefined for CIFAR-10).
struct CifarRecords {
  Tensor images, labels, coarse_labels;
};

/// Parses one binary file held in memory, with every check (Note [CIFAR
/// binary format]); `source` names it in errors. Used by the dataset and
/// the fuzz target.
CifarRecords parse_cifar_records(const uint8_t* data, size_t size, CifarKind kind, const std::string& source);

/// Bytes per record: 3073 (CIFAR-10) or 3074 (CIFAR-100).
int64_t cifar_record_size(CifarKind kind);

/// The files of a split, in the order they are read (e.g. data_batch_1.bin
/// .. data_batch_5.bin).
std::vector<std::string> cifar_file_names(CifarKind kind, Split split);

/// The folder that holds the binary files: root itself, or
/// root/cifar-10-batches-bin (root/cifar-100-binary for CIFAR-100), the
/// first that holds any of the kind's files. FileError otherwise, naming the
/// layouts looked for, and saying so when root holds the Python version.
std::filesystem::path find_cifar_dir(const std::filesystem::path& root, CifarKind kind);

const std::vector<std::string>& cifar10_class_names();          // airplane, automobile, bird, ...
const std::vector<std::string>& cifar100_class_names();         // the 100 fine names, in label order
const std::vector<std::string>& cifar100_coarse_class_names();  // the 20 superclass names

}  // namespace ember::data
