// ember-mnist's datasets (datasets.h): the table, and the loaders a config
// asks for.
#include "datasets.h"

#include <ember/core/device.h>
#include <ember/data/cifar.h>

namespace ember::mnist {

namespace fs = std::filesystem;

namespace {

const std::vector<std::string>& digit_names() { return data::mnist_class_names(); }

// The normalisations are each training set's per-channel mean and standard
// deviation of pixel / 255 (docs/data.md).
const DatasetInfo kDatasets[] = {
    {"mnist", "MNIST digits", "mnist-digits", 1, 28, 10, false, false, data::Normalize::mnist_digits(), digit_names},
    {"fashion", "Fashion-MNIST", "fashion-mnist", 1, 28, 10, false, true, data::Normalize::fashion_mnist(),
     data::fashion_mnist_class_names},
    {"cifar10", "CIFAR-10", "cifar10", 3, 32, 10, true, true, data::Normalize::cifar10(), data::cifar10_class_names},
    {"cifar100", "CIFAR-100", "cifar100", 3, 32, 100, true, true, data::Normalize::cifar100(),
     data::cifar100_class_names},
};

bool uses_flip(const Config& c) {
  if (c.flip == "auto") return dataset_info(c.dataset).flip;
  EMBER_CHECK(c.flip == "on" || c.flip == "off", ValueError, "--flip must be on, off or auto, got '", c.flip, "'");
  return c.flip == "on";
}

}  // namespace

DType dtype_named(const std::string& s) {
  EMBER_CHECK(s == "float32" || s == "float64", ValueError, "--dtype must be float32 or float64, got '", s, "'");
  return s == "float32" ? DType::Float32 : DType::Float64;
}

const char* dataset_names() { return "mnist, fashion, cifar10, cifar100"; }

const DatasetInfo& dataset_info(const std::string& name) {
  for (const DatasetInfo& d : kDatasets)
    if (name == d.name) return d;
  throw ValueError("--dataset must be one of " + std::string(dataset_names()) + ", got '" + name + "'");
}

fs::path data_root(const Config& c) {
  const DatasetInfo& d = dataset_info(c.dataset);  // checks the name even with --data-dir
  return c.data_dir.empty() ? data::default_datasets_dir() / d.folder : fs::path(c.data_dir);
}

std::shared_ptr<const data::Dataset> load_split(const Config& c, data::Split split) {
  const DatasetInfo& d = dataset_info(c.dataset);
  std::shared_ptr<const data::Dataset> ds;
  if (!d.colour)
    ds = std::make_shared<data::MnistDataset>(data_root(c), split);
  else
    ds = std::make_shared<data::CifarDataset>(
        data_root(c), split, c.dataset == "cifar10" ? data::CifarKind::Cifar10 : data::CifarKind::Cifar100);
  if (split == data::Split::Train && c.train_limit > 0 && c.train_limit < ds->size())
    ds = std::make_shared<data::Subset>(ds, data::index_range(0, c.train_limit));
  return ds;
}

data::DataLoader make_loader(const Config& c, data::Split split, int rank, int world) {
  const DatasetInfo& d = dataset_info(c.dataset);
  const bool train = split == data::Split::Train;
  data::DataLoaderOptions o;
  o.batch_size = train ? c.batch_size : 200;
  o.shuffle = train;
  o.seed = c.seed;
  o.normalize = d.normalize;
  // --augment k: MNIST's images move by up to k pixels; CIFAR's are padded
  // by k and cropped back to 32x32 (torchvision's RandomCrop(32, padding=k)),
  // the same distribution of offsets under the name CIFAR users know.
  if (train && c.augment > 0) {
    if (d.colour)
      o.random_crop = data::RandomCrop{.size = 0, .padding = c.augment};
    else
      o.random_shift = data::RandomShift{c.augment};
  }
  o.random_flip = train && uses_flip(c);
  o.dtype = dtype_named(c.dtype);
  o.pin_memory = Device(c.device).is_cuda();  // one direct copy per batch (Note [Pinned batches])
  if (world > 1) o.distributed = data::DistributedSampling{.rank = rank, .num_replicas = world, .even = train};
  return data::DataLoader(load_split(c, split), o);
}

ModelInput model_input(const Config& c, const data::DataLoader& loader) {
  const Shape chw = loader.dataset().image_shape();  // the crop keeps the size (RandomCrop.size = 0)
  return {chw[0], chw[1], chw[2], dataset_info(c.dataset).classes};
}

ModelInput model_input(const Config& c) {
  const DatasetInfo& d = dataset_info(c.dataset);
  return {d.channels, d.side, d.side, d.classes};
}

}  // namespace ember::mnist
