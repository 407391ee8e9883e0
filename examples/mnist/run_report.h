// The pictures and report.html of an ember-mnist run directory, rewritten
// after every epoch (so a crash still leaves a report): loss, accuracy and
// learning-rate curves from metrics.csv and steps.csv, the confusion matrix
// and misclassified digits of the latest test evaluation, the first conv
// layer's filters, and the model's module tree. This is where nn and viz
// meet: viz draws plain numbers, this file turns tensors into them.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <ember/ember.h>

#include "trainer.h"

namespace ember::mnist {

struct DatasetInfo;

// What a test evaluation saw, beyond loss and accuracy.
struct EvalDetails {
  std::vector<std::vector<double>> confusion{};  // [true][predicted] counts
  std::vector<viz::GrayImage> misclassified{};  // the first few, captioned "true 4, pred 9" or "true cat, pred dog"
  const DatasetInfo* dataset = nullptr;        // class names, and the normalisation to undo for colour pictures
};

// Adds one batch's predictions to `details` (keeping at most `max_examples`
// images). Colour images are shown as they were before normalisation.
void record_predictions(EvalDetails& details, const Tensor& images, const Tensor& labels, const Tensor& logits,
                        size_t max_examples = 24);

struct RunStatus {
  int64_t epochs_done = 0, epochs = 0;
  int64_t resumed_at = -1;    // the epoch this process resumed from, or -1
  std::string model_svg{};    // the module tree, when Graphviz could draw it
  std::string model_note{};   // why it could not, otherwise
  std::string tensorboard{};  // the event file, if one is written
  std::string stop_note{};    // how a stopped run stopped, and how to resume it
};

// Writes model.dot, and model.svg when Graphviz is installed. Returns the
// SVG, or "" with `note` saying why there is none.
std::string write_model_graph(const std::filesystem::path& out, nn::Module& model, const Tensor& example,
                              std::string& note);

// Rewrites every chart and report.html in `out` from its CSV logs and the
// latest evaluation.
void write_run_report(const std::filesystem::path& out, const Config& config, const nn::Module& model,
                      const EvalDetails& eval, const RunStatus& status);

}  // namespace ember::mnist
