#include "run_report.h"

#include "datasets.h"

#include <chrono>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace ember::mnist {

namespace fs = std::filesystem;

void record_predictions(EvalDetails& d, const Tensor& images, const Tensor& labels, const Tensor& logits,
                        size_t max_examples) {
  if (d.confusion.empty()) d.confusion.assign(logits.size(1), std::vector<double>(logits.size(1), 0));
  const std::vector<int64_t> truth = labels.to_vector<int64_t>(), pred = argmax(logits, 1).to_vector<int64_t>();
  const int64_t channels = images.size(1), h = images.size(2), w = images.size(3);
  const bool colour = channels == 3;
  auto name = [&](int64_t k) {
    const auto* names = d.dataset ? &d.dataset->class_names() : nullptr;
    return names && k < static_cast<int64_t>(names->size()) ? (*names)[static_cast<size_t>(k)] : std::to_string(k);
  };
  for (size_t i = 0; i < truth.size(); ++i) {
    d.confusion[truth[i]][pred[i]] += 1;
    if (truth[i] == pred[i] || d.misclassified.size() >= max_examples) continue;
    const Tensor image = images.select(0, static_cast<int64_t>(i));
    std::vector<float> pixels = (colour ? image : image.select(0, 0)).to_vector<float>();
    if (colour && d.dataset) {  // x * std + mean: the pixel / 255 the camera gave
      const data::Normalize& n = d.dataset->normalize;
      for (int64_t c = 0; c < 3; ++c) {
        const double mean = n.mean[n.mean.size() == 1 ? 0 : c], std = n.std[n.std.size() == 1 ? 0 : c];
        for (int64_t j = c * h * w; j < (c + 1) * h * w; ++j)
          pixels[j] = static_cast<float>(pixels[j] * std + mean);
      }
    }
    d.misclassified.push_back({h, w, std::move(pixels), "true " + name(truth[i]) + ", pred " + name(pred[i]),
                               colour ? 3 : 1});
  }
}

std::string write_model_graph(const fs::path& out, nn::Module& model, const Tensor& example, std::string& note) {
  const bool was_training = model.is_training();
  model.eval();  // a one-image batch: batch norm must not use its statistics
  const std::string dot = nn::module_graph_to_dot(model, example);
  model.train(was_training);
  viz::write_file_atomic(out / "model.dot", dot);
  try {
    const std::string svg = viz::render_dot(dot);
    viz::write_file_atomic(out / "model.svg", svg);
    return svg;
  } catch (const Error& e) {  // Graphviz missing or failing: the run goes on without the picture
    note = std::string("model graph not drawn (model.dot is there): ") + e.what();
    return "";
  }
}

namespace {

// The first conv layer's filters (C_out, C_in, kh, kw): in colour when they
// read three channels (an RGB image), else input channel 0 of each.
std::vector<viz::GrayImage> first_conv_filters(const nn::Module& model) {
  for (const auto& [name, t] : model.named_parameters()) {
    if (t.dim() != 4 || name.size() < 6 || name.compare(name.size() - 6, 6, "weight") != 0) continue;
    const bool colour = t.size(1) == 3;
    std::vector<viz::GrayImage> out;
    for (int64_t o = 0; o < t.size(0); ++o) {
      const Tensor f = t.select(0, o);
      out.push_back({t.size(2), t.size(3), (colour ? f : f.select(0, 0)).to_vector<float>(), std::to_string(o),
                     colour ? 3 : 1});
    }
    return out;
  }
  return {};
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string scientific(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2e", v);
  return buf;
}

std::string now_text() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", std::localtime(&t));
  return buf;
}

// A figure written to `out`/file and kept for the report.
void add_figure(viz::Report& r, const fs::path& out, const std::string& file, const std::string& title,
                const std::string& svg, const std::string& caption) {
  viz::write_file_atomic(out / file, svg);
  r.figures.push_back({title, svg, file, caption});
}

void add_curves(viz::Report& r, const fs::path& out, const viz::CsvTable& epochs, const viz::CsvTable& steps) {
  auto pct = [](std::vector<double> v) {
    for (double& x : v) x *= 100;
    return v;
  };
  const std::vector<double> epoch_step = epochs.numbers("step"), epoch = epochs.numbers("epoch");
  std::vector<double> mid_epoch(epoch_step.size());  // an epoch's mean loss belongs to its middle
  for (size_t i = 0; i < epoch_step.size(); ++i) mid_epoch[i] = (epoch_step[i] + (i ? epoch_step[i - 1] : 0)) / 2;
  // Series order keeps colours consistent across charts: train blue, test vermillion.
  add_figure(r, out, "loss.svg", "Loss",
             viz::line_chart({{"train, per batch", steps.numbers("step"), steps.numbers("loss")},
                              {"test", epoch_step, epochs.numbers("test_loss"), true, false},
                              {"train, epoch mean", mid_epoch, epochs.numbers("train_loss"), false, false}},
                             {.title = "Loss", .x_label = "step", .y_label = "cross-entropy", .smoothing = 0.6}),
             "Cross-entropy against training steps. The faint line is every batch's loss, the solid one its "
             "smoothed trend; the dashed line is the test loss after each epoch, and the green dots each epoch's "
             "mean training loss (at the epoch's middle). A test loss that rises while the training loss falls "
             "is overfitting.");
  add_figure(r, out, "accuracy.svg", "Accuracy",
             viz::line_chart({{"train", epoch, pct(epochs.numbers("train_accuracy")), false, false},
                              {"test", epoch, pct(epochs.numbers("test_accuracy")), true, false}},
                             {.title = "Accuracy", .x_label = "epoch", .y_label = "accuracy (%)", .integer_x = true}),
             "Share of correctly classified images per epoch. Training accuracy is measured during the epoch, "
             "with augmentation and dropout on, so it can sit below the test accuracy.");
  add_figure(r, out, "lr.svg", "Learning rate",
             viz::line_chart({{"learning rate", steps.numbers("step"), steps.numbers("lr")}},
                             {.title = "Learning rate", .x_label = "step", .y_label = "lr"}),
             "The optimizer's learning rate at every step, as the schedule set it.");
}

viz::Table results_table(const viz::CsvTable& epochs) {
  viz::Table t{{"epoch", "step", "train loss", "train acc", "test loss", "test acc", "lr", "seconds", "samples/s"}, {}};
  for (size_t i = 0; i < epochs.rows.size(); ++i) {
    auto v = [&](const char* col) { return epochs.numbers(col)[i]; };
    t.rows.push_back({fixed(v("epoch"), 0), fixed(v("step"), 0), fixed(v("train_loss"), 4),
                      fixed(100 * v("train_accuracy"), 2) + "%", fixed(v("test_loss"), 4),
                      fixed(100 * v("test_accuracy"), 2) + "%", scientific(v("lr")), fixed(v("epoch_seconds"), 1),
                      fixed(v("samples_per_second"), 0)});
  }
  return t;
}

}  // namespace

void write_run_report(const fs::path& out, const Config& c, const nn::Module& model, const EvalDetails& eval,
                      const RunStatus& s) {
  const viz::CsvTable epochs = viz::read_csv(out / "metrics.csv"), steps = viz::read_csv(out / "steps.csv");
  viz::Report r;
  r.title = "ember-mnist: " + c.model + " on " + c.dataset;
  r.status = (s.epochs_done >= s.epochs ? "finished: " : "in progress: ") + std::to_string(s.epochs_done) + " of " +
             std::to_string(s.epochs) + " epochs done, report written " + now_text() + " (" + fs::absolute(out).string() + ")";
  if (!epochs.rows.empty()) {
    const std::vector<double> acc = epochs.numbers("test_accuracy");
    const size_t best = static_cast<size_t>(std::max_element(acc.begin(), acc.end()) - acc.begin());
    double seconds = 0;
    for (double v : epochs.numbers("epoch_seconds")) seconds += v;
    r.facts = {{"test accuracy (last epoch)", fixed(100 * acc.back(), 2) + "%"},
               {"best test accuracy (epoch " + fixed(epochs.numbers("epoch")[best], 0) + ")", fixed(100 * acc[best], 2) + "%"},
               {"test loss", fixed(epochs.numbers("test_loss").back(), 4)},
               {"parameters", std::to_string(model.num_parameters())},
               {"training time", fixed(seconds, 0) + " s"}};
  }
  add_curves(r, out, epochs, steps);
  // Rows name the class ("3 cat") where names say more than the numbers;
  // columns keep the number, as names would run into each other. A
  // 100-class matrix gets small cells and a number every tenth.
  const size_t classes = eval.confusion.size();
  std::vector<std::string> rows, cols;
  const std::vector<std::string>* names = eval.dataset ? &eval.dataset->class_names() : nullptr;
  for (size_t k = 0; k < classes; ++k) {
    const std::string number = classes > 20 && k % 10 != 0 ? "" : std::to_string(k);
    cols.push_back(number);
    const bool named = names && names->size() == classes && classes <= 20 && (*names)[k] != number;
    rows.push_back(named ? number + " " + (*names)[k] : number);
  }
  if (!eval.confusion.empty())
    add_figure(r, out, "confusion.svg", "Confusion matrix",
               viz::heatmap(eval.confusion, {.title = "Confusion matrix (test set, last epoch)", .x_label = "predicted",
                                             .y_label = "true", .row_labels = rows, .col_labels = cols,
                                             .cell = classes > 20 ? 8.0 : 40.0}),
               "Row: the true class; column: the class the model chose. The diagonal holds the correct answers; "
               "every other number is a kind of mistake, and the darker the cell, the more often it happens.");
  if (const auto filters = first_conv_filters(model); !filters.empty())
    add_figure(r, out, "filters.svg", "First-layer filters",
               viz::image_grid(filters, {.title = "Filters of the first conv layer", .columns = 8, .pixel = 10}),
               "Each square is one learned kernel of the first convolution, bright for positive weights and dark "
               "for negative ones (each stretched to its own range). Trained filters often look like edge and "
               "stroke detectors; noise-like ones have not learned much.");
  if (!eval.misclassified.empty())  // none yet: a run stopped before its first evaluation
    add_figure(r, out, "misclassified.svg", "Misclassified test images",
               viz::image_grid(eval.misclassified,
                               {.title = "Misclassified test images (first " +
                                         std::to_string(eval.misclassified.size()) + ")",
                                // photos as they are (record_predictions undid the normalisation); digits stretched
                                .normalize_each = eval.misclassified.front().channels == 1}),
               "Test images the model got wrong, with the true and the predicted class. Some are genuinely "
               "ambiguous; systematic confusions show up in the confusion matrix too.");
  if (!s.model_svg.empty())
    r.figures.push_back({"Model", s.model_svg, "model.svg",
                         "The module tree: each box is a module with its output shape for one image and its "
                         "parameter count; repeated identical blocks are drawn once, marked x N."});
  r.results = results_table(epochs);
  const nlohmann::json config = c.to_json();
  for (const auto& item : config.items())
    r.config.emplace_back(item.key(), item.value().is_string() ? item.value().get<std::string>() : item.value().dump());
  if (s.resumed_at >= 0) r.notes.push_back("resumed from the checkpoint of epoch " + std::to_string(s.resumed_at));
  if (!s.stop_note.empty()) r.notes.push_back(s.stop_note);
  if (!s.model_note.empty()) r.notes.push_back(s.model_note);
  if (!s.tensorboard.empty()) r.notes.push_back("TensorBoard events: " + s.tensorboard + " (tensorboard --logdir " + c.tensorboard + ")");
  r.notes.push_back("Data: metrics.csv (one row per epoch), steps.csv (one row per step), config.json; the charts are the .svg files beside this report.");
  viz::write_file_atomic(out / "report.html", viz::report_html(r));
}

}  // namespace ember::mnist
