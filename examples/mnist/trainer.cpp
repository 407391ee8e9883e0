// ember-mnist's training loop: data, model, optimizer and schedule from a
// Config; progress, metrics, checkpoints, and exact resume (Note [Exact
// resume] in trainer.h). Charts and report.html come from run_report.cpp.
#include "trainer.h"

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <system_error>

#include <ember/core/backend.h>
#include <ember/core/profiler.h>
#include <ember/data/data.h>
#include <ember/distributed/ddp.h>
#include <ember/ember.h>
#include <ember/kernels/cudnn.h>
#include <ember/kernels/gemm.h>
#include <ember/kernels/register.h>
#include <ember/optim/optim.h>

#include "checkpoint.h"
#include "data_parallel.h"
#include "datasets.h"
#include "graphed_step.h"
#include "memory_use.h"
#include "models.h"
#include "run_report.h"
#include "stop.h"

namespace ember::mnist {

namespace fs = std::filesystem;

namespace {


}  // namespace

std::unique_ptr<optim::Optimizer> make_optimizer(const Config& c, const std::vector<Tensor>& params) {
  if (c.optimizer == "adam") return std::make_unique<optim::Adam>(params, optim::AdamOptions{.lr = c.lr, .weight_decay = c.weight_decay});
  if (c.optimizer == "adamw") return std::make_unique<optim::AdamW>(params, optim::AdamWOptions{.lr = c.lr, .weight_decay = c.weight_decay});
  if (c.optimizer == "sgd")
    return std::make_unique<optim::SGD>(params, optim::SGDOptions{.lr = c.lr, .momentum = c.momentum, .weight_decay = c.weight_decay, .nesterov = c.momentum > 0});
  throw ValueError("--optimizer must be adam, adamw or sgd, got '" + c.optimizer + "'");
}

// Schedules step once per batch.
std::shared_ptr<optim::LRScheduler> make_schedule(const Config& c, optim::Optimizer& opt, int64_t steps_per_epoch) {
  const int64_t total = c.epochs * steps_per_epoch, warm = c.warmup_epochs * steps_per_epoch;
  std::shared_ptr<optim::LRScheduler> main;
  if (c.schedule == "none") return nullptr;
  if (c.schedule == "onecycle") return std::make_shared<optim::OneCycleLR>(opt, c.lr, optim::OneCycleOptions{.total_steps = total});
  if (c.schedule == "step") main = std::make_shared<optim::StepLR>(opt, std::max<int64_t>(1, (total - warm) / 3), 0.1);
  else if (c.schedule == "cosine") main = std::make_shared<optim::CosineAnnealingLR>(opt, std::max<int64_t>(1, total - warm));
  else throw ValueError("--schedule must be none, step, cosine or onecycle, got '" + c.schedule + "'");
  if (warm == 0) return main;
  auto warmup = std::make_shared<optim::LinearLR>(opt, 0.01, 1.0, warm);
  return std::make_shared<optim::SequentialLR>(opt, std::vector<std::shared_ptr<optim::LRScheduler>>{warmup, main},
                                               std::vector<int64_t>{warm});
}

namespace {

struct EvalResult {
  double loss = 0, accuracy = 0;
};

// With `details`, also the confusion matrix and misclassified examples.
// With `dp`, the loader holds this rank's share of the test set, and the
// sums (and the confusion matrix) are over every rank's.
EvalResult evaluate(nn::Module& model, const data::DataLoader& loader, Device device, EvalDetails* details = nullptr,
                    const DataParallel* dp = nullptr) {
  model.eval();
  NoGradGuard no_grad;
  // The sums stay on the device until the end (Note [Metrics once per N
  // steps]); double and int64 accumulate as the host would, exactly.
  Tensor loss = zeros({}, {.dtype = DType::Float64, .device = device});
  Tensor correct = zeros({}, {.dtype = DType::Int64, .device = device});
  int64_t seen = 0;
  for (data::Batch& b : loader.epoch(0)) {
    Tensor logits = model(b.images.to(device));
    Tensor labels = b.labels.to(device);
    loss = loss + cross_entropy(logits, labels, 0.0, Reduction::Sum).to(DType::Float64);
    correct = correct + sum(eq(argmax(logits, 1), labels));
    seen += labels.numel();
    if (details) record_predictions(*details, b.images, b.labels, logits);
  }
  model.train();
  std::vector<double> sums = {loss.item<double>(), static_cast<double>(correct.item<int64_t>()),
                              static_cast<double>(seen)};
  if (dp && dp->on) {
    if (details && details->confusion.empty() && details->dataset)  // a rank with no test batch sends zeros too
      details->confusion.assign(details->dataset->classes, std::vector<double>(details->dataset->classes, 0));
    if (details)
      for (const auto& row : details->confusion) sums.insert(sums.end(), row.begin(), row.end());
    sum_over_ranks(*dp, sums);
    if (details)
      for (size_t i = 0, k = 3; i < details->confusion.size(); ++i)
        for (double& cell : details->confusion[i]) cell = sums[k++];
  }
  return {sums[0] / sums[2], sums[1] / sums[2]};
}

// metrics.csv: one row per epoch (these names are what tests and scripts read).
const std::vector<std::string> kEpochColumns = {"epoch", "step", "train_loss", "train_accuracy", "test_loss",
                                                "test_accuracy", "lr", "epoch_seconds", "samples_per_second"};
// steps.csv: one row per training step, for the loss and learning-rate curves.
const std::vector<std::string> kStepColumns = {"step", "epoch", "loss", "lr"};

std::string startup_line(const Config& c, const nn::Module& model) {
  const char* simd =
#if defined(__AVX512F__)
      "AVX-512";
#elif defined(__AVX2__)
      "AVX2";
#else
      "SSE2";
#endif
  const bool cuda = kernels::built_with_cuda();
  const int gpus = cuda ? device_backend(DeviceType::CUDA).device_count() : 0;
  std::string kernel_names = describe_active_backend(DeviceType::CPU);
  if (cuda) kernel_names += ", " + describe_active_backend(DeviceType::CUDA);
  if (cuda::vendor_built() && active_backend(DeviceType::CUDA).name() == "cudnn")  // which vendor libraries answer
    kernel_names += " (cuDNN " + cuda::cudnn_version() + ", cuBLAS " + cuda::cublas_version() + ")";
  std::ostringstream os;
  os << "ember-mnist " << EMBER_VERSION << " | " << EMBER_BUILD_TYPE << " | SIMD " << simd << " (GEMM "
     << kernels::cpu::gemm_isa_name(kernels::cpu::gemm_isa()) << ") | threads " << get_num_threads() << " | kernels "
     << kernel_names << " | CUDA " << (cuda ? "built" : "not built") << ", " << gpus << " GPU(s) | " << c.model
     << " (" << model.num_parameters() << " parameters) on " << c.dataset << ", " << c.device << ", " << c.dtype;
  return os.str();
}

// Selects the --kernels implementation for the --device's type (empty: keep
// the default or EMBER_BACKEND's choice).
void select_kernels(const Config& c) {
  if (!c.kernels.empty()) set_backend(Device(c.device).type, c.kernels);
}

// Everything a training run holds between epochs.
struct Run {
  Device device;
  std::shared_ptr<nn::Module> model;
  data::DataLoader train_loader, test_loader;
  std::unique_ptr<optim::Optimizer> opt;
  std::shared_ptr<optim::LRScheduler> schedule;
  int64_t step = 0;
  TrainingPosition resume_at{};  // where training starts: a checkpoint's position, or the beginning
  std::unique_ptr<GraphedStep> graphed{};  // --cuda-graph: Note [Graphed training step]
  DataParallel dp{};                                             // --distributed: Note [Data-parallel ember-mnist]
  std::shared_ptr<distributed::DistributedDataParallel> ddp{};  // wraps `model` then
  int stop_signal = 0;  // the stop signal the ranks agreed on (one rank's own, without --distributed)
  TrainingState state() { return {*model, *opt, schedule.get()}; }
  nn::Module& net() { return ddp ? static_cast<nn::Module&>(*ddp) : *model; }  // what a training step calls
};

// An epoch's sums, whole or (stopped mid-epoch) so far.
struct EpochResult {
  double loss_sum = 0, seconds = 0;
  int64_t correct = 0, seen = 0, batches = 0;
  bool complete = false;  // false: a signal or --max-steps stopped it
  double loss() const { return loss_sum / static_cast<double>(seen); }
  double accuracy() const { return static_cast<double>(correct) / static_cast<double>(seen); }
};

// Phase 1: seed, model, data, optimizer, schedule; prints the startup line
// and the model summary.
Run set_up(const Config& c, RunStatus& status, const fs::path& out, const DataParallel& dp) {
  if (c.threads != 0) set_num_threads(static_cast<int>(c.threads));  // < 0: a ValueError
  select_kernels(c);
  manual_seed(c.seed);
  // The data first: the model is built for its image shape. Loading draws
  // nothing from the default generator, so the weights are as they were.
  data::DataLoader train_loader = make_loader(c, data::Split::Train, dp.rank, dp.world),
                   test_loader = make_loader(c, data::Split::Test, dp.rank, dp.world);
  const ModelInput input = model_input(c, train_loader);
  Run r{Device(c.device), make_model(c.model, input), std::move(train_loader), std::move(test_loader), nullptr,
        nullptr};
  r.model->to(dtype_named(c.dtype));
  r.model->to(r.device);
  r.dp = dp;
  if (dp.on) r.ddp = std::make_shared<distributed::DistributedDataParallel>(r.model);  // rank 0's weights everywhere
  r.opt = make_optimizer(c, r.model->parameters());
  r.schedule = make_schedule(c, *r.opt, r.train_loader.num_batches());
  // Anomaly mode reads every recorded output on the host, which a CUDA graph
  // capture forbids: it runs the steps eagerly.
  autograd::set_anomaly_mode(c.detect_anomaly);
  EMBER_CHECK(!(c.detect_anomaly && c.cuda_graph == "on"), ValueError,
              "--detect-anomaly reads tensors on the host at every op, which a CUDA graph cannot: use --cuda-graph off");
  EMBER_CHECK(!(dp.on && c.cuda_graph == "on"), ValueError, "--cuda-graph on: a captured step cannot hold the "
              "gradient all-reduces of --distributed; use --cuda-graph off");
  if (c.cuda_graph != "off" && r.device.is_cuda() && !c.detect_anomaly && !dp.on) {
    if (c.optimizer == "sgd") {  // SGD's update is not capturable yet
      EMBER_CHECK(c.cuda_graph != "on", ValueError, "--cuda-graph on needs --optimizer adam or adamw (SGD's update "
                  "is not capturable)");
      std::printf("CUDA graphs: off (SGD's update is not capturable)\n");
    } else {
      r.graphed = std::make_unique<GraphedStep>(*r.opt, r.device);
      std::printf("CUDA graphs: on (each full batch's step is replayed; --cuda-graph off to run eagerly)\n");
    }
  }
  EMBER_CHECK(c.cuda_graph == "auto" || c.cuda_graph == "on" || c.cuda_graph == "off", ValueError,
              "--cuda-graph must be auto, on or off, got '", c.cuda_graph, "'");
  EMBER_CHECK(c.cuda_graph != "on" || r.device.is_cuda(), ValueError, "--cuda-graph on needs --device cuda");
  std::printf("%s\n", startup_line(c, *r.model).c_str());
  if (dp.on) std::printf("%s\n", data_parallel_line(dp, c).c_str());
  Tensor example = zeros({1, input.channels, input.height, input.width}, {.dtype = dtype_named(c.dtype),
                                                                         .device = r.device});
  r.model->eval();  // a one-image batch: batch norm must not use its statistics
  std::printf("%s", nn::summary_table(nn::summarize(*r.model, example)).c_str());
  r.model->train();
  if (dp.writer()) status.model_svg = write_model_graph(out, *r.model, example, status.model_note);
  if (!status.model_note.empty()) std::printf("%s\n", status.model_note.c_str());
  std::printf("data: %lld train / %lld test images from %s\n", static_cast<long long>(r.train_loader.dataset().size()),
              static_cast<long long>(r.test_loader.dataset().size()), data_root(c).c_str());
  return r;
}

// Note [Metrics once per N steps]
// Reading a loss with item() makes the host wait for the device to finish
// the step: on a GPU that idles the device between steps, and the launch
// queue never runs ahead. So a step leaves its loss and its count of right
// answers on the device (detached, 0-dim), and every sync_every steps, and
// at the end of the epoch, the pending ones come to the host in one
// transfer each. Only then are they checked, logged to steps.csv and shown
// on the progress bar, in step order, so the files are the same whatever
// sync_every is (tests/resume_test.sh checks this); a divergence is caught
// at most sync_every - 1 steps late. On the CPU, item() costs nothing, and
// sync_every defaults to 1.
struct PendingSteps {
  std::vector<Tensor> losses, correct;
  std::vector<double> lrs;
  std::vector<int64_t> sizes;
  size_t size() const { return losses.size(); }
};

// Phase 2: one epoch of training steps, logging each step to steps.csv.
// `from` is where it starts: batch 0 with zero sums, or a mid-epoch
// checkpoint's batch and sums (Note [Graceful stop]). It returns early,
// incomplete, after the step during which a stop signal came, or at
// --max-steps.
EpochResult train_epoch(const Config& c, Run& r, int64_t epoch, const TrainingPosition& from,
                        viz::CsvLogger* step_log) {
  r.model->train();
  viz::ProgressBar progress(r.train_loader.num_batches(), "epoch " + std::to_string(epoch + 1));
  const auto t0 = std::chrono::steady_clock::now();
  EpochResult e{.loss_sum = from.loss_sum, .correct = from.correct, .seen = from.seen};
  double& loss_sum = e.loss_sum;
  int64_t& correct = e.correct;
  int64_t done = from.batch;  // batches of this epoch whose metrics are read
  const int64_t sync_every = c.sync_every > 0 ? c.sync_every : (r.device.type == DeviceType::CPU ? 1 : 25);
  PendingSteps pending;
  const int64_t first_step = r.step - from.batch;  // of this epoch
  auto flush = [&] {
    if (pending.size() == 0) return;
    std::vector<double> losses = stack(pending.losses).to(DType::Float64).to(kCPU).to_vector<double>();
    std::vector<int64_t> right = stack(pending.correct).to(kCPU).to_vector<int64_t>();
    if (r.dp.on) {  // over every rank: mean of the losses, sums of right answers and images
      const size_t n = losses.size();
      std::vector<double> all(losses);
      all.insert(all.end(), right.begin(), right.end());
      all.insert(all.end(), pending.sizes.begin(), pending.sizes.end());
      // The ranks agree on a stop in the same all-reduce, so every rank stops after the same step.
      r.stop_signal = sum_over_ranks(r.dp, all, stop_requested());
      for (size_t i = 0; i < n; ++i) {
        losses[i] = all[i] / r.dp.world;
        right[i] = static_cast<int64_t>(all[n + i]);
        pending.sizes[i] = static_cast<int64_t>(all[2 * n + i]);
      }
    }
    for (size_t i = 0; i < losses.size(); ++i) {
      const int64_t step = first_step + done + 1;
      if (!std::isfinite(losses[i]))
        throw Error("training diverged: the loss became " + std::to_string(losses[i]) + " at epoch " +
                    std::to_string(epoch + 1) + ", step " + std::to_string(step) + " (try a lower --lr)");
      ++done;
      loss_sum += losses[i] * pending.sizes[i];
      correct += right[i];
      e.seen += pending.sizes[i];
      if (step_log) step_log->log({static_cast<double>(step), static_cast<double>(epoch + 1), losses[i], pending.lrs[i]});
    }
    pending = {};
    const double secs =
        from.seconds + std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    char line[96];
    std::snprintf(line, sizeof line, "loss %.4f  %.0f samples/s", loss_sum / e.seen, e.seen / std::max(secs, 1e-9));
    progress.update(done, line);
  };
  // forward, loss, backward: the loss and the count of right answers
  auto forward_backward = [&](const Tensor& x, const Tensor& y) {
    Tensor logits = r.net()(x);
    Tensor loss = cross_entropy(logits, y, c.label_smoothing);
    r.opt->zero_grad();
    loss.backward();
    NoGradGuard no_grad;
    return std::vector<Tensor>{loss.detach(), sum(eq(argmax(logits, 1), y))};
  };
  // One step on a batch on the device; false once --max-steps is reached or
  // a stop signal came.
  auto train_step = [&](const Tensor& x, const Tensor& y) {
    pending.lrs.push_back(r.opt->param_groups()[0].lr());  // the rate this step uses
    std::vector<Tensor> out;
    if (r.graphed) {
      out = r.graphed->run(x, y, forward_backward);
    } else {
      out = forward_backward(x, y);
      r.opt->step();
    }
    if (r.schedule) r.schedule->step();
    ++r.step;
    pending.losses.push_back(out[0]);
    pending.correct.push_back(out[1]);
    pending.sizes.push_back(y.numel());
    if (static_cast<int64_t>(pending.size()) >= sync_every) flush();
    if (!r.dp.on) r.stop_signal = stop_requested();  // --distributed: agreed at each flush
    return !(c.max_steps > 0 && r.step >= c.max_steps) && r.stop_signal == 0;
  };
  if (r.device.is_cuda()) {
    // Note [Overlapped uploads]: batch t+1's upload starts before step t is
    // queued, so the copy engine moves it while step t computes.
    cuda::Upload next_x, next_y;
    for (data::Batch& b : r.train_loader.epoch(epoch, from.batch)) {
      cuda::Upload ux(b.images, r.device), uy(b.labels, r.device);
      if (next_x.valid() && !train_step(next_x.get(), next_y.get())) {
        next_x = cuda::Upload();
        break;
      }
      next_x = std::move(ux);
      next_y = std::move(uy);
    }
    if (next_x.valid()) train_step(next_x.get(), next_y.get());
  } else {
    for (data::Batch& b : r.train_loader.epoch(epoch, from.batch))
      if (!train_step(b.images, b.labels)) break;
  }
  flush();
  progress.finish();
  e.seconds = from.seconds + std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  e.batches = done;
  e.complete = done == r.train_loader.num_batches();
  return e;
}

// The op profiler's table on stdout and profile.csv in the run directory
// (--profile or EMBER_PROFILE=1; Note [Profiler at the choke point]).
void report_profile(const fs::path& out) {
  if (!profiler::enabled()) return;
  std::printf("\nop profile (training and evaluation, all epochs of this process):\n%s", profiler::table().c_str());
  profiler::write_csv((out / "profile.csv").string());
  std::printf("profile: %s\n", (out / "profile.csv").c_str());
  profiler::reset();  // reported: nothing left for the exit report
}

}  // namespace

// The output directory, made and proven writable before any work: a run
// that could not save its checkpoint should fail in its first second, not
// after an epoch. The probe file is written, flushed and removed.
static void prepare_output_dir(const fs::path& out) {
  std::error_code ec;
  fs::create_directories(out, ec);
  EMBER_CHECK(!ec, FileError, "--out ", out.string(), ": cannot create the output directory: ", ec.message());
  const fs::path probe = out / ".ember-write-probe";
  {
    std::ofstream f(probe, std::ios::binary | std::ios::trunc);
    f << "ember";
    f.flush();
    EMBER_CHECK(f.good(), FileError, "--out ", out.string(), ": the output directory is not writable (",
                std::strerror(errno), ")");
  }
  fs::remove(probe, ec);
}

namespace {

// Where a resumed run starts, from <out>/checkpoint.safetensors.
void resume_from(const Config& c, const fs::path& ckpt, Run& r, RunStatus& status) {
  Config saved;
  r.resume_at = load_checkpoint(ckpt, r.state(), &saved);
  r.step = r.resume_at.step;
  const int64_t batches = r.train_loader.num_batches();
  EMBER_CHECK(r.resume_at.batch < batches, FileError, ckpt.string(), ": the checkpoint stopped at batch ",
              r.resume_at.batch, " of epoch ", r.resume_at.epoch + 1, ", but an epoch now has ", batches,
              " batches: resume with the --batch-size and --train-limit it was written with");
  if (r.resume_at.batch > 0) {
    // Mid-epoch, the rest of the epoch must be the same permutation's rest:
    // what decides the order must not change (other options may, at a cost
    // to exactness only).
    std::string changed;
    auto same = [&](const char* flag, const auto& now, const auto& then) {
      if (now != then) changed += std::string(changed.empty() ? "" : ", ") + flag;
    };
    same("--dataset", c.dataset, saved.dataset);
    same("--seed", c.seed, saved.seed);
    same("--batch-size", c.batch_size, saved.batch_size);
    same("--train-limit", c.train_limit, saved.train_limit);
    same("the number of ranks (mpirun -np)", c.world_size, saved.world_size);
    EMBER_CHECK(changed.empty(), ValueError, ckpt.string(), ": the checkpoint stopped in the middle of epoch ",
                r.resume_at.epoch + 1, ", and ", changed, " differ from its run's, which would change the order of "
                "the epoch's remaining images: resume with the options it was written with (its config.json)");
  }
  status.resumed_at = status.epochs_done = r.resume_at.epoch;
  if (r.resume_at.batch == 0)
    std::printf("resumed from %s at epoch %lld (step %lld)\n", ckpt.c_str(), static_cast<long long>(r.resume_at.epoch),
                static_cast<long long>(r.step));
  else
    std::printf("resumed from %s in epoch %lld at batch %lld of %lld (step %lld)\n", ckpt.c_str(),
                static_cast<long long>(r.resume_at.epoch + 1), static_cast<long long>(r.resume_at.batch),
                static_cast<long long>(batches), static_cast<long long>(r.step));
}

// After a stop signal mid-epoch: the checkpoint holds the loader's position
// and the epoch's sums; the report says how to go on (Note [Graceful stop]).
void save_stopped(const Config& c, Run& r, int64_t epoch, const EpochResult& e, const fs::path& out,
                  const EvalDetails& details, RunStatus& status, int sig) {
  if (!r.dp.writer()) return;  // rank 0 saves for every rank
  const fs::path ckpt = out / "checkpoint.safetensors";
  save_checkpoint(ckpt, c, r.state(),
                  {.epoch = epoch, .batch = e.batches, .step = r.step, .loss_sum = e.loss_sum, .seconds = e.seconds,
                   .correct = e.correct, .seen = e.seen});
  status.stop_note = "stopped by " + signal_name(sig) + " in epoch " + std::to_string(epoch + 1) + " after batch " +
                     std::to_string(e.batches) + " of " + std::to_string(r.train_loader.num_batches()) + " (step " +
                     std::to_string(r.step) + "); to continue exactly, run the same command with --resume";
  status.epochs_done = epoch;
  write_run_report(out, c, *r.model, details, status);
  std::printf("%s\ncheckpoint: %s\n", status.stop_note.c_str(), ckpt.c_str());
  std::fflush(stdout);
}

}  // namespace

int TrainResult::exit_code() const { return stop_signal == 0 ? 0 : 128 + stop_signal; }

TrainResult train(const Config& config) {
  config.validate("ember-mnist train");  // what a resume or `eval` would refuse in config.json, refused now
  const DataParallel dp = start_data_parallel(config);  // Note [Data-parallel ember-mnist]: rank 0 alone writes
  const Config c = with_rank_device(config, dp);        // --device cuda: each rank its own GPU
  const bool writer = dp.writer();
  const fs::path out(c.out);
  if (writer) prepare_output_dir(out);
  const fs::path ckpt = out / "checkpoint.safetensors", csv = out / "metrics.csv", steps_csv = out / "steps.csv";
  if (c.profile) profiler::set_enabled(true);
  const StopSignals stop_signals;  // Note [Graceful stop]
  RunStatus status{.epochs = c.epochs};
  Run r = set_up(c, status, out, dp);
  const MemoryUse ready = MemoryUse::now();  // the baseline of the "memory:" line at the end
  // Every rank reads rank 0's checkpoint, so --out must be on a filesystem all of them see.
  std::vector<double> found = {c.resume && fs::exists(ckpt) ? 1.0 : 0.0};
  sum_over_ranks(dp, found);
  EMBER_CHECK(found[0] == 0 || found[0] == dp.world, FileError, "--resume: ", ckpt.string(), " is seen by ", found[0],
              " of the ", dp.world, " ranks; with --distributed, --out must be on a filesystem every rank sees");
  if (found[0] > 0) resume_from(c, ckpt, r, status);
  // Note [Resuming a log] in viz/csv_logger.h: rows past the checkpoint go.
  const bool resumed = status.resumed_at >= 0;
  std::optional<viz::CsvLogger> metrics, step_log;
  if (writer) {
    metrics.emplace(resumed ? viz::CsvLogger::resume(csv, kEpochColumns, r.resume_at.epoch)
                            : viz::CsvLogger(csv, kEpochColumns));
    step_log.emplace(resumed ? viz::CsvLogger::resume(steps_csv, kStepColumns, r.step)
                             : viz::CsvLogger(steps_csv, kStepColumns));
    viz::write_run_config(out, c.to_json());
  }
  std::unique_ptr<viz::TensorBoardWriter> tensorboard;
  if (!c.tensorboard.empty() && writer) {
    tensorboard = std::make_unique<viz::TensorBoardWriter>(c.tensorboard);
    status.tensorboard = tensorboard->path().string();
    std::printf("TensorBoard events: %s\n", status.tensorboard.c_str());
  }

  TrainResult result;
  const DatasetInfo& dataset = dataset_info(c.dataset);
  EvalDetails details{.dataset = &dataset};
  TrainingPosition from = r.resume_at;
  // The logs reach the disk before each checkpoint that counts their rows:
  // after a power cut a checkpoint is never ahead of its logs.
  auto save_model = [&] {
    if (writer)
      r.model->save((out / "model.safetensors").string(), {{"model", c.model}, {"config", c.to_json().dump()}});
  };
  auto sync_logs = [&] {
    if (!writer) return;
    metrics->sync();
    step_log->sync();
  };
  auto report = [&] {
    if (writer) write_run_report(out, c, *r.model, details, status);
  };
  for (int64_t epoch = r.resume_at.epoch; epoch < c.epochs; ++epoch, from = TrainingPosition{.step = r.step}) {
    if (c.max_steps > 0 && r.step >= c.max_steps) break;  // a resume past --max-steps, or a limit on an epoch's end
    const EpochResult e = train_epoch(c, r, epoch, from, step_log ? &*step_log : nullptr);
    if (!e.complete && r.stop_signal) {
      result.stop_signal = r.stop_signal;
      sync_logs();
      save_stopped(c, r, epoch, e, out, details, status, result.stop_signal);
      break;
    }
    details = EvalDetails{.dataset = &dataset};
    if (r.ddp) r.ddp->sync_buffers();  // every rank evaluates the model rank 0 saves
    const EvalResult test = evaluate(*r.model, r.test_loader, r.device, &details, &r.dp);
    result.test_accuracy = test.accuracy;
    const double lr = r.opt->param_groups()[0].lr();
    std::printf("epoch %lld/%lld  train loss %.4f acc %.2f%%  test loss %.4f acc %.2f%%  lr %.2e  %.1fs (%.0f samples/s)\n",
                static_cast<long long>(epoch + 1), static_cast<long long>(c.epochs), e.loss(), 100.0 * e.accuracy(),
                test.loss, 100 * test.accuracy, lr, e.seconds, e.seen / e.seconds);
    if (r.graphed)
      std::printf("  CUDA graph: %lld steps replayed, %lld eager so far%s%s\n",
                  static_cast<long long>(r.graphed->replays()), static_cast<long long>(r.graphed->eager_steps()),
                  r.graphed->failure().empty() ? "" : "; the capture failed, steps run eagerly: ",
                  r.graphed->failure().c_str());
    std::fflush(stdout);
    // A --max-steps stop mid-epoch logs the partial epoch too; a resume drops
    // that row (it keeps the rows of completed epochs) and redoes it whole.
    if (metrics)
      metrics->log({static_cast<double>(epoch + 1), static_cast<double>(r.step), e.loss(), e.accuracy(), test.loss,
                    test.accuracy, lr, std::round(e.seconds * 1000) / 1000, std::round(e.seen / e.seconds * 10) / 10});
    if (tensorboard) {
      tensorboard->add_scalar("loss/train", e.loss(), r.step);
      tensorboard->add_scalar("loss/test", test.loss, r.step);
      tensorboard->add_scalar("accuracy/train", e.accuracy(), r.step);
      tensorboard->add_scalar("accuracy/test", test.accuracy, r.step);
      tensorboard->add_scalar("learning_rate", lr, r.step);
    }
    const TrainingPosition at = e.complete ? TrainingPosition{.epoch = epoch + 1, .step = r.step}
                                           : TrainingPosition{.epoch = epoch, .batch = e.batches, .step = r.step,
                                                              .loss_sum = e.loss_sum, .seconds = e.seconds,
                                                              .correct = e.correct, .seen = e.seen};
    // The weights first, then the checkpoint that says they are done: a kill
    // between the two resumes from the previous checkpoint and writes both
    // again. (The other order left the final model.safetensors stale after a
    // kill just past the last checkpoint: scripts/kill_resume.sh found it.)
    save_model();
    sync_logs();
    if (writer) save_checkpoint(ckpt, c, r.state(), at);
    status.epochs_done = at.epoch;
    report();
    if (!e.complete) break;  // --max-steps
    // A signal while the epoch ended: its checkpoint is already written. (In
    // the last epoch the run is simply done.)
    r.stop_signal = agreed_stop(r.dp, stop_requested());
    if (r.stop_signal != 0 && epoch + 1 < c.epochs) {
      result.stop_signal = r.stop_signal;
      status.stop_note = "stopped by " + signal_name(result.stop_signal) + " after epoch " + std::to_string(epoch + 1) +
                         "; to continue exactly, run the same command with --resume";
      report();
      std::printf("%s\n", status.stop_note.c_str());
      break;
    }
  }
  if (resumed && r.resume_at.epoch >= c.epochs) {
    // Nothing left to train, but the run may have died before its last
    // files: evaluate, and write the weights and the report again.
    std::printf("nothing left to train: the checkpoint is at the end of epoch %lld\n",
                static_cast<long long>(r.resume_at.epoch));
    if (r.ddp) r.ddp->sync_buffers();
    result.test_accuracy = evaluate(*r.model, r.test_loader, r.device, &details, &r.dp).accuracy;
    save_model();
    report();
  }
  if (writer) report_profile(out);
  if (writer) std::printf("%s\n", memory_line(ready).c_str());
  return result;
}

double evaluate_file(const std::string& path, const Config& config, const EvalRequest& request) {
  select_kernels(config);
  SafetensorsContents file = load_safetensors(path);
  Config c = config;
  const auto saved_text = file.metadata.find("config");
  if (saved_text != file.metadata.end()) {  // written by ember-mnist: it says what it is
    const Config saved = Config::from_json_text(saved_text->second, path + ": metadata \"config\"");
    EMBER_CHECK(request.model.empty() || request.model == saved.model, ValueError, "eval: --model ", request.model,
                ", but ", path, " was written by ember-mnist for ", saved.model, " (drop --model)");
    c.model = saved.model;
    c.dtype = saved.dtype;
    // The data it was trained on, read from where it was then unless told otherwise.
    if (!request.dataset_given) c.dataset = saved.dataset;
    if (c.data_dir.empty() && c.dataset == saved.dataset) c.data_dir = saved.data_dir;
  }
  NamedTensors state;
  const bool is_checkpoint = file.find("model.conv1.weight") || file.metadata.count("epoch");
  for (auto& [name, t] : file.tensors) {
    if (!is_checkpoint) state.emplace_back(name, t);
    else if (name.rfind("model.", 0) == 0) state.emplace_back(name.substr(6), t);
  }
  data::DataLoader loader = make_loader(c, data::Split::Test);
  const ModelInput input = model_input(c, loader);
  if (saved_text == file.metadata.end()) {  // a state_dict from elsewhere: --model, or the one its keys fit
    if (!request.model.empty()) {
      c.model = request.model;
    } else {
      std::vector<std::pair<std::string, Shape>> shapes;
      for (const auto& [name, t] : state) shapes.emplace_back(name, t.shape());
      const std::vector<ModelMatch> matches = match_models(shapes, input);
      const std::string images = std::to_string(input.channels) + "x" + std::to_string(input.height) + "x" +
                                 std::to_string(input.width) + " images and " + std::to_string(input.classes) +
                                 " classes";
      EMBER_CHECK(matches.front().differences == 0, ValueError, "eval: ", path, " carries no ember-mnist config, "
                  "and its ", state.size(), " tensors fit none of the models (", model_names(), ") for ", c.dataset,
                  "'s ", images, ". Closest: ", matches.front().model, " (", matches.front().differences,
                  " differences; ", matches.front().first, "). Pass --model NAME, or the --dataset it was trained on");
      c.model = matches.front().model;
      std::printf("model: %s (the file's %zu tensors fit it, for %s's %s)\n", c.model.c_str(), state.size(),
                  c.dataset.c_str(), images.c_str());
    }
  }
  auto model = make_model(c.model, input);
  model->to(dtype_named(c.dtype));
  model->load_state_dict(state);
  model->to(Device(c.device));
  EvalResult r = evaluate(*model, loader, Device(c.device));
  std::printf("%s on %s test: loss %.4f, accuracy %.2f%%\n", c.model.c_str(), c.dataset.c_str(), r.loss,
              100 * r.accuracy);
  return r.accuracy;
}

}  // namespace ember::mnist
