// The training checkpoint: Note [Checkpoint format] in checkpoint.h.
#include "checkpoint.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "datasets.h"
#include "models.h"

namespace ember::mnist {

namespace {

constexpr const char* kFormat = "ember-mnist-checkpoint-2";
constexpr const char* kFormatV1 = "ember-mnist-checkpoint-1";

std::string exact(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// Optimizer and scheduler scalars travel as JSON of "%.17g" strings: exact
// for doubles, and unlike JSON numbers able to hold inf and nan (which some
// schedules keep, e.g. an unset bound).
std::string scalars_to_json(const std::vector<std::pair<std::string, double>>& scalars) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : scalars) j[k] = exact(v);
  return j.dump();
}

// Reads one checkpoint's metadata, each defect a FileError naming the file
// and the key: a checkpoint is a file from disk, whoever wrote it.
class Reader {
 public:
  Reader(const SafetensorsContents& file, std::string source) : file_(file), source_(std::move(source)) {}

  bool has(const std::string& key) const { return file_.metadata.count(key) > 0; }
  const std::string& text(const std::string& key) const {
    auto it = file_.metadata.find(key);
    if (it == file_.metadata.end()) fail(key, "is missing");
    return it->second;
  }
  double number(const std::string& key, const std::string& s) const {
    errno = 0;
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    // ERANGE with a finite result is an underflow: a subnormal, still exact from "%.17g".
    if (s.empty() || end != s.c_str() + s.size() || (errno == ERANGE && std::isinf(v)))
      fail(key, "'" + s + "' is not a number");
    return v;
  }
  // A whole number in [0, 2^63).
  int64_t count(const std::string& key, const std::string& s) const {
    errno = 0;
    char* end = nullptr;
    const long long v = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || end != s.c_str() + s.size() || errno == ERANGE || v < 0)
      fail(key, "'" + s + "' is not a count (a whole number >= 0)");
    return v;
  }
  uint64_t unsigned_number(const std::string& key) const {
    const std::string& s = text(key);
    errno = 0;
    char* end = nullptr;
    const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
    if (s.empty() || s[0] == '-' || end != s.c_str() + s.size() || errno == ERANGE)
      fail(key, "'" + s + "' is not an unsigned number");
    return v;
  }
  int64_t count(const std::string& key) const { return count(key, text(key)); }
  nlohmann::json json(const std::string& key) const {
    nlohmann::json j = nlohmann::json::parse(text(key), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) fail(key, "is not a JSON object");
    return j;
  }
  // {"name": "%.17g", ...}, as scalars_to_json writes.
  std::vector<std::pair<std::string, double>> scalars(const std::string& key) const {
    std::vector<std::pair<std::string, double>> out;
    const nlohmann::json j = json(key);
    for (const auto& item : j.items()) {
      if (!item.value().is_string()) fail(key, "'" + item.key() + "' is not a string");
      out.emplace_back(item.key(), number(key + "." + item.key(), item.value().get<std::string>()));
    }
    return out;
  }
  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw FileError(source_ + ": checkpoint metadata '" + key + "' " + what);
  }

 private:
  const SafetensorsContents& file_;
  std::string source_;  // a copy: callers pass temporaries
};

}  // namespace

void save_checkpoint(const std::filesystem::path& path, const Config& config, const TrainingState& state,
                     const TrainingPosition& p) {
  NamedTensors tensors;
  for (auto& [n, t] : state.model.state_dict()) tensors.emplace_back("model." + n, t);
  optim::StateDict opt_state = state.optimizer.state_dict();
  for (auto& [n, t] : opt_state.tensors) tensors.emplace_back("optimizer." + n, t);
  const std::string sched_scalars = state.schedule ? scalars_to_json(state.schedule->state_dict().scalars) : "{}";
  const nlohmann::json sums = {{"loss", exact(p.loss_sum)}, {"seconds", exact(p.seconds)},
                               {"correct", std::to_string(p.correct)}, {"seen", std::to_string(p.seen)}};
  save_safetensors(path, tensors,
                   {{"format", kFormat}, {"epoch", std::to_string(p.epoch)}, {"batch", std::to_string(p.batch)},
                    {"step", std::to_string(p.step)}, {"epoch_sums", sums.dump()},
                    {"rng_seed", std::to_string(default_generator().seed())},
                    {"rng_offset", std::to_string(default_generator().offset())},
                    {"optimizer_scalars", scalars_to_json(opt_state.scalars)}, {"scheduler_scalars", sched_scalars},
                    {"config", config.to_json().dump()}});
}

TrainingPosition restore_checkpoint(const SafetensorsContents& file, const std::string& source,
                                    const TrainingState& state, Config* saved) {
  const Reader m(file, source);
  const std::string& format = m.text("format");
  if (format != kFormat && format != kFormatV1)
    m.fail("format", "is '" + format + "'; this ember-mnist reads " + kFormat + " and " + kFormatV1);
  TrainingPosition p;
  p.epoch = m.count("epoch");
  p.step = m.count("step");
  if (format == kFormat) {  // version 1 checkpoints were all written at an epoch's end
    p.batch = m.count("batch");
    const nlohmann::json sums = m.json("epoch_sums");
    auto field = [&](const char* name) -> std::string {
      if (!sums.contains(name) || !sums[name].is_string()) m.fail("epoch_sums", std::string("has no '") + name + "'");
      return sums[name].get<std::string>();
    };
    p.loss_sum = m.number("epoch_sums.loss", field("loss"));
    p.seconds = m.number("epoch_sums.seconds", field("seconds"));
    p.correct = m.count("epoch_sums.correct", field("correct"));
    p.seen = m.count("epoch_sums.seen", field("seen"));
    if (p.correct > p.seen) m.fail("epoch_sums", "counts more right answers than images seen");
  }
  const uint64_t seed = m.unsigned_number("rng_seed"), offset = m.unsigned_number("rng_offset");
  if (saved) *saved = Config::from_json_text(m.text("config"), source + ": checkpoint metadata 'config'");
  NamedTensors model_state;
  optim::StateDict opt_state, sched_state;
  for (auto& [name, t] : file.tensors) {
    if (name.rfind("model.", 0) == 0) model_state.emplace_back(name.substr(6), t);
    else if (name.rfind("optimizer.", 0) == 0) opt_state.tensors.emplace_back(name.substr(10), t);
    else throw FileError(source + ": checkpoint tensor '" + name + "' is neither model.* nor optimizer.*");
  }
  opt_state.scalars = m.scalars("optimizer_scalars");
  if (state.schedule) sched_state.scalars = m.scalars("scheduler_scalars");
  // The metadata is all read and checked before anything changes; the loads
  // below check names and shapes themselves, and a model that loaded before
  // the optimizer refused leaves the run half restored: the error ends it.
  state.model.load_state_dict(model_state);
  state.optimizer.load_state_dict(opt_state);
  if (state.schedule) state.schedule->load_state_dict(sched_state);
  default_generator().manual_seed(seed);
  default_generator().set_offset(offset);
  return p;
}

TrainingPosition load_checkpoint(const std::filesystem::path& path, const TrainingState& state, Config* saved) {
  return restore_checkpoint(load_safetensors(path), path.string(), state, saved);
}

TrainingPosition check_checkpoint_bytes(std::string_view bytes) {
  // A fuzz input must not leave its seed behind, nor the weights drawn for
  // the fresh model (restore_checkpoint sets the generator last, and only
  // once everything else has loaded).
  const KeepDefaultGenerator keep;
  const SafetensorsContents file = deserialize_safetensors(bytes, "<checkpoint>");
  const Reader m(file, "<checkpoint>");
  // The config's own reader checks types and ranges (examples/mnist/config.cpp).
  const Config c = Config::from_json_text(m.text("config"), "<checkpoint>: checkpoint metadata 'config'");
  std::shared_ptr<nn::Module> model = make_model(c.model, model_input(c));
  std::unique_ptr<optim::Optimizer> opt = make_optimizer(c, model->parameters());
  std::shared_ptr<optim::LRScheduler> schedule = make_schedule(c, *opt, /*steps_per_epoch=*/1);
  return restore_checkpoint(file, "<checkpoint>", {*model, *opt, schedule.get()});
}

}  // namespace ember::mnist
