// ember-mnist's run configuration as JSON: what config.json and a
// checkpoint's "config" metadata hold. Reading treats the text as hostile
// (it comes from a file, and tests/fuzz/config.cpp feeds it garbage): every
// problem is an ember::Error naming the source and the key, never one of
// nlohmann's own exceptions or a silent conversion (1e300 into an int64 is
// undefined behaviour; "epochs": "3" is a mistake, not a 3).
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include <ember/core/error.h>

#include "trainer.h"

namespace ember::mnist {

namespace {

using json = nlohmann::json;

// A value as it appears in the file, short enough for an error message.
std::string shown(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

// Reads j[key] into `field` if the key is there (an absent key keeps the
// default, so older files still load); a value of the wrong JSON type is a
// FileError naming the key.
template <typename T>
void read(const json& j, const char* key, T& field, const std::string& where) {
  const auto it = j.find(key);
  if (it == j.end()) return;
  const json& v = *it;
  auto expect = [&](bool ok, const char* what) {
    EMBER_CHECK(ok, FileError, where, ": \"", key, "\" must be ", what, ", got ", shown(v));
  };
  if constexpr (std::is_same_v<T, bool>) {
    expect(v.is_boolean(), "true or false");
  } else if constexpr (std::is_same_v<T, std::string>) {
    expect(v.is_string(), "a string");
  } else if constexpr (std::is_same_v<T, double>) {
    expect(v.is_number(), "a number");
  } else if constexpr (std::is_same_v<T, uint64_t>) {
    expect(v.is_number_unsigned(), "a non-negative integer");
  } else {
    static_assert(std::is_same_v<T, int64_t>);
    expect(v.is_number_integer() && !(v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX)),
           "an integer (in int64 range)");
  }
  field = v.get<T>();
}

bool one_of(const std::string& s, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (s == n) return true;
  return false;
}

}  // namespace

nlohmann::json Config::to_json() const {
  return {{"model", model}, {"dataset", dataset}, {"data_dir", data_dir}, {"device", device}, {"dtype", dtype},
          {"epochs", epochs}, {"batch_size", batch_size}, {"optimizer", optimizer}, {"lr", lr},
          {"momentum", momentum}, {"weight_decay", weight_decay}, {"schedule", schedule},
          {"warmup_epochs", warmup_epochs}, {"augment", augment}, {"flip", flip}, {"label_smoothing", label_smoothing},
          {"seed", seed}, {"threads", threads}, {"out", out}, {"max_steps", max_steps}, {"train_limit", train_limit},
          {"tensorboard", tensorboard}, {"kernels", kernels}, {"sync_every", sync_every},
          {"cuda_graph", cuda_graph}, {"detect_anomaly", detect_anomaly}, {"distributed", distributed},
          {"world_size", world_size}};
}

Config Config::from_json(const nlohmann::json& j, const std::string& source) {
  EMBER_CHECK(j.is_object(), FileError, source, ": a run config must be a JSON object, got ", j.type_name());
  Config c;
  read(j, "model", c.model, source);
  read(j, "dataset", c.dataset, source);
  read(j, "data_dir", c.data_dir, source);
  read(j, "device", c.device, source);
  read(j, "dtype", c.dtype, source);
  read(j, "epochs", c.epochs, source);
  read(j, "batch_size", c.batch_size, source);
  read(j, "optimizer", c.optimizer, source);
  read(j, "lr", c.lr, source);
  read(j, "momentum", c.momentum, source);
  read(j, "weight_decay", c.weight_decay, source);
  read(j, "schedule", c.schedule, source);
  read(j, "warmup_epochs", c.warmup_epochs, source);
  read(j, "augment", c.augment, source);
  read(j, "flip", c.flip, source);
  read(j, "label_smoothing", c.label_smoothing, source);
  read(j, "seed", c.seed, source);
  read(j, "threads", c.threads, source);
  read(j, "out", c.out, source);
  read(j, "max_steps", c.max_steps, source);
  read(j, "train_limit", c.train_limit, source);
  read(j, "tensorboard", c.tensorboard, source);
  read(j, "kernels", c.kernels, source);
  read(j, "sync_every", c.sync_every, source);
  read(j, "cuda_graph", c.cuda_graph, source);
  read(j, "detect_anomaly", c.detect_anomaly, source);
  read(j, "distributed", c.distributed, source);
  read(j, "world_size", c.world_size, source);
  c.validate(source);
  return c;
}

Config Config::from_json_text(std::string_view text, const std::string& source) {
  json j;
  try {
    j = json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {  // parse_error, and out_of_range for a number like 1e999
    std::string msg = e.what();  // "[json.exception.parse_error.101] parse error at ..."
    if (auto cut = msg.find("] "); cut != std::string::npos) msg = msg.substr(cut + 2);
    throw FileError(source + ": not valid JSON: " + msg);
  }
  return from_json(j, source);
}

// The ranges train() relies on: a count outside them would divide by zero
// (batch_size), loop zero times and report nothing (epochs), overflow the
// schedule's step count (epochs * batches) or a shift's draw (augment), or
// be truncated to an int (threads); a NaN or negative rate would train to
// NaN without a word. What train() reads leniently stays accepted, so files
// of earlier runs still load: a negative augment, max_steps or train_limit
// means "off", as on the command line. Names are checked where train() has
// a list of them.
void Config::validate(const std::string& where) const {
  auto check_count = [&](const char* key, int64_t v, int64_t lo, int64_t hi) {
    EMBER_CHECK(v >= lo && v <= hi, ValueError, where, ": \"", key, "\" must be in [", lo, ", ", hi, "], got ", v);
  };
  check_count("epochs", epochs, 1, 1'000'000);
  check_count("batch_size", batch_size, 1, int64_t{1} << 31);
  check_count("warmup_epochs", warmup_epochs, 0, 1'000'000);
  check_count("threads", threads, 0, 65536);
  check_count("sync_every", sync_every, 0, INT64_MAX);
  check_count("world_size", world_size, 1, 65536);
  EMBER_CHECK(augment <= 1'000'000, ValueError, where, ": \"augment\" must be at most 1000000 pixels, got ", augment);
  auto check_rate = [&](const char* key, double v, double hi) {
    EMBER_CHECK(std::isfinite(v) && v >= 0 && v < hi, ValueError, where, ": \"", key, "\" must be finite, >= 0 and < ",
                hi, ", got ", v);
  };
  check_rate("lr", lr, std::numeric_limits<double>::infinity());
  check_rate("momentum", momentum, 1);
  check_rate("weight_decay", weight_decay, std::numeric_limits<double>::infinity());
  check_rate("label_smoothing", label_smoothing, 1);
  auto check_name = [&](const char* key, const std::string& v, std::initializer_list<const char*> names) {
    std::string all;
    for (const char* n : names) all += (all.empty() ? "" : ", ") + std::string(n);
    EMBER_CHECK(one_of(v, names), ValueError, where, ": \"", key, "\" must be one of ", all, ", got '", v, "'");
  };
  check_name("dataset", dataset, {"mnist", "fashion", "cifar10", "cifar100"});
  check_name("dtype", dtype, {"float32", "float64"});
  check_name("optimizer", optimizer, {"adam", "adamw", "sgd"});
  check_name("schedule", schedule, {"none", "step", "cosine", "onecycle"});
  check_name("flip", flip, {"on", "off", "auto"});
  check_name("cuda_graph", cuda_graph, {"auto", "on", "off"});
}

void apply_cifar_recipe(Config& c, const std::vector<std::string>& given) {
  if (c.dataset != "cifar10" && c.dataset != "cifar100") return;
  auto unset = [&](const char* key) { return std::find(given.begin(), given.end(), key) == given.end(); };
  if (unset("model")) c.model = "resnet18";
  if (unset("optimizer")) c.optimizer = "sgd";
  if (unset("lr")) c.lr = 0.1;
  if (unset("momentum")) c.momentum = 0.9;
  if (unset("weight_decay")) c.weight_decay = 5e-4;
  if (unset("schedule")) c.schedule = "onecycle";
  if (unset("batch_size")) c.batch_size = 128;
  if (unset("augment")) c.augment = 4;
}

}  // namespace ember::mnist
