// ember-mnist's checkpoint (Note [Checkpoint format] in
// examples/mnist/checkpoint.h): a mid-epoch position round-trips exactly,
// format 1 still loads, and every metadata defect is a FileError naming the
// key, never a crash or a std:: exception.
#include <nlohmann/json.hpp>

#include "../examples/mnist/checkpoint.h"
#include "../examples/mnist/models.h"
#include "support.h"

using namespace ember;
using namespace ember::test;
using namespace ember::mnist;

namespace {

struct Fresh {
  Config config;
  std::shared_ptr<nn::Module> model;
  std::unique_ptr<optim::Optimizer> opt;
  std::shared_ptr<optim::LRScheduler> schedule;
  explicit Fresh(uint64_t seed) {
    config.model = "lenet";
    manual_seed(seed);
    model = make_model(config.model);
    opt = make_optimizer(config, model->parameters());
    schedule = make_schedule(config, *opt, 10);
  }
  TrainingState state() { return {*model, *opt, schedule.get()}; }
};

// One training step, so the optimizer has moments and the schedule moved.
void step(Fresh& f) {
  Tensor x = randn({4, 1, 28, 28});
  Tensor loss = cross_entropy((*f.model)(x), from_vector<int64_t>({1, 2, 3, 4}));
  f.opt->zero_grad();
  loss.backward();
  f.opt->step();
  f.schedule->step();
}

const TrainingPosition kMid{.epoch = 2, .batch = 7, .step = 37, .loss_sum = 0.1 + 0.2, .seconds = 1.0 / 3,
                            .correct = 400, .seen = 448};

}  // namespace

TEST_CASE("A mid-epoch checkpoint restores position, sums, weights, optimizer and generator exactly", "[checkpoint]") {
  TempDir dir;
  Fresh a(1);
  step(a);
  default_generator().set_offset(12345);
  save_checkpoint(dir / "c.safetensors", a.config, a.state(), kMid);
  Fresh b(2);
  default_generator().set_offset(0);
  const TrainingPosition p = load_checkpoint(dir / "c.safetensors", b.state());
  CHECK(p.epoch == 2);
  CHECK(p.batch == 7);
  CHECK(p.step == 37);
  CHECK(p.loss_sum == 0.1 + 0.2);  // the same bits, not just close
  CHECK(p.seconds == 1.0 / 3);
  CHECK(p.correct == 400);
  CHECK(p.seen == 448);
  CHECK(default_generator().offset() == 12345);
  CHECK(b.opt->param_groups()[0].lr() == a.opt->param_groups()[0].lr());
  for (const auto& [name, t] : a.model->state_dict()) {
    INFO(name);
    CHECK(equal(t, *load_safetensors(dir / "c.safetensors").find("model." + name)));
  }
  // Both take the same next step.
  manual_seed(9);
  step(a);
  manual_seed(9);
  step(b);
  CHECK(equal(a.model->parameters()[0], b.model->parameters()[0]));
}

TEST_CASE("A format 1 checkpoint (epoch boundaries only) still loads", "[checkpoint]") {
  TempDir dir;
  Fresh a(1);
  step(a);
  save_checkpoint(dir / "c.safetensors", a.config, a.state(), {.epoch = 3, .step = 30});
  SafetensorsContents v1 = load_safetensors(dir / "c.safetensors");
  v1.metadata["format"] = "ember-mnist-checkpoint-1";
  v1.metadata.erase("batch");
  v1.metadata.erase("epoch_sums");
  save_safetensors(dir / "v1.safetensors", v1.tensors, v1.metadata);
  Fresh b(2);
  const TrainingPosition p = load_checkpoint(dir / "v1.safetensors", b.state());
  CHECK(p.epoch == 3);
  CHECK(p.step == 30);
  CHECK(p.batch == 0);
  CHECK(p.seen == 0);
  CHECK(equal(a.model->parameters()[0], b.model->parameters()[0]));
}

TEST_CASE("Checkpoint metadata defects are FileErrors naming the key", "[checkpoint]") {
  TempDir dir;
  Fresh a(1);
  save_checkpoint(dir / "c.safetensors", a.config, a.state(), kMid);
  const SafetensorsContents good = load_safetensors(dir / "c.safetensors");
  struct Case {
    std::string key, value, message;  // value "" erases the key
  };
  const std::vector<Case> cases = {
      {"format", "ember-mnist-checkpoint-9", "reads ember-mnist-checkpoint-2"},
      {"epoch", "", "'epoch' is missing"},
      {"epoch", "-1", "not a count"},
      {"step", "12x", "not a count"},
      {"batch", "99999999999999999999", "not a count"},
      {"rng_offset", "-5", "not an unsigned number"},
      {"epoch_sums", "[1,2]", "not a JSON object"},
      {"epoch_sums", R"({"loss":"0.5","seconds":"1","correct":"3"})", "has no 'seen'"},
      {"epoch_sums", R"({"loss":"0.5","seconds":"1","correct":"9","seen":"3"})", "more right answers"},
      {"epoch_sums", R"({"loss":"half","seconds":"1","correct":"1","seen":"3"})", "'half' is not a number"},
      {"optimizer_scalars", R"({"lr": 0.1})", "'lr' is not a string"},
      {"optimizer_scalars", "{", "not a JSON object"},
  };
  for (const Case& c : cases) {
    INFO(c.key << " = " << c.value);
    SafetensorsContents bad = good;
    if (c.value.empty()) bad.metadata.erase(c.key);
    else bad.metadata[c.key] = c.value;
    Fresh b(2);
    REQUIRE_THROWS_WITH_ALL(restore_checkpoint(bad, "bad.safetensors", b.state()), FileError, std::string("bad.safetensors"),
                            "'" + c.key, c.message);
  }
  // A tensor the model does not have is the module's error (load_state_dict is strict).
  SafetensorsContents bad = good;
  bad.tensors.emplace_back("model.extra", zeros({1}));
  Fresh b(2);
  REQUIRE_THROWS_AS(restore_checkpoint(bad, "bad.safetensors", b.state()), Error);
}

TEST_CASE("check_checkpoint_bytes restores a checkpoint's bytes and leaves the generator alone", "[checkpoint]") {
  Fresh a(1);
  TempDir dir;
  save_checkpoint(dir / "c.safetensors", a.config, a.state(), kMid);
  const std::string bytes = viz::read_file(dir / "c.safetensors");
  default_generator().manual_seed(77);
  default_generator().set_offset(5);
  CHECK(check_checkpoint_bytes(bytes).batch == 7);
  CHECK(default_generator().seed() == 77);
  CHECK(default_generator().offset() == 5);
  REQUIRE_THROWS_AS(check_checkpoint_bytes(bytes.substr(0, bytes.size() / 2)), FileError);
  SafetensorsContents odd = deserialize_safetensors(bytes);
  odd.metadata["config"] = R"({"model": "transformer"})";
  REQUIRE_THROWS_AS(check_checkpoint_bytes(serialize_safetensors(odd.tensors, odd.metadata)), Error);
  odd.metadata["config"] = R"({"epochs": "many"})";
  REQUIRE_THROWS_WITH_ALL(check_checkpoint_bytes(serialize_safetensors(odd.tensors, odd.metadata)), FileError,
                          "'config'", "epochs");
}
