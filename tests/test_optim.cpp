// optim: SGD, Adam, AdamW, the schedulers and clip_grad_norm_ against
// PyTorch 1.13, through fixtures written by tests/make_optim_fixtures.py
// (float64 trajectories from scripted gradients; replayed here within 1e-12
// relative, never importing torch); then zero_grad, the state_dict round
// trip (a resumed run continues bit for bit), and the errors for bad
// hyper-parameters and bad checkpoints.
//
// To add a case: add a row to the script's OPTIMIZER_CASES or
// SCHEDULER_CASES, run `/usr/bin/python3 tests/make_optim_fixtures.py`, add
// the name to kOptimizerFixtures or kSchedulerFixtures below.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support.h"

using namespace ember;
using namespace ember::optim;
using json = nlohmann::json;

namespace {

const std::vector<std::string> kOptimizerFixtures = {
    "sgd_plain",       "sgd_momentum_dampening_wd",         "sgd_nesterov",  "sgd_maximize_groups_missing_grad",
    "adam_default",    "adam_maximize_groups_missing_grad", "adamw_default", "adam_wd_amsgrad",
    "adamw_amsgrad_groups"};
const std::vector<std::string> kSchedulerFixtures = {
    "steplr",        "linearlr",    "cosine_past_tmax", "onecycle_sgd", "onecycle_adam_three_phase_linear",
    "onecycle_adamw_no_momentum", "warmup_cosine", "warmup_step"};
constexpr double kRelTol = 1e-12;

// The fixtures sit beside this file: no compile definition needed.
json load_fixture(const std::string& name) {
  auto path = std::filesystem::path(EMBER_SOURCE_DIR) / "tests" / "fixtures" / "optim" / (name + ".json");
  std::ifstream in(path);
  INFO("fixture " << path.string() << " (regenerate with tests/make_optim_fixtures.py)");
  REQUIRE(in.good());
  return json::parse(in);
}

Options options_of(const json& j) {
  Options o;
  for (auto& [key, value] : j.items()) o[key] = value.is_boolean() ? (value.get<bool>() ? 1.0 : 0.0) : value.get<double>();
  return o;
}

// The fixture's defaults go into every group's options (the group's own
// win), so the constructors' typed defaults play no part here.
std::unique_ptr<Optimizer> make_optimizer(const json& f, const std::vector<Tensor>& params) {
  const Options defaults = options_of(f["optimizer"]["defaults"]);
  json one_group = {{"params", json::array()}, {"options", json::object()}};
  for (size_t k = 0; k < params.size(); ++k) one_group["params"].push_back(k);
  std::vector<ParamGroup> groups;
  for (const json& g : f["groups"].is_null() ? json::array({one_group}) : f["groups"]) {
    ParamGroup group{{}, options_of(g["options"])};
    group.options.insert(defaults.begin(), defaults.end());  // keeps the group's own values
    for (int k : g["params"]) group.params.push_back(params[k]);
    groups.push_back(group);
  }
  const std::string type = f["optimizer"]["type"];
  if (type == "SGD") return std::make_unique<SGD>(groups);
  if (type == "Adam") return std::make_unique<Adam>(groups);
  REQUIRE(type == "AdamW");
  return std::make_unique<AdamW>(groups);
}

std::shared_ptr<LRScheduler> make_scheduler(const json& s, Optimizer& opt) {
  const std::string type = s["type"];
  if (type == "StepLR") return std::make_shared<StepLR>(opt, s["step_size"], s.value("gamma", 0.1));
  if (type == "LinearLR")
    return std::make_shared<LinearLR>(opt, s["start_factor"], s["end_factor"], s["total_iters"]);
  if (type == "CosineAnnealingLR") return std::make_shared<CosineAnnealingLR>(opt, s["T_max"], s["eta_min"]);
  if (type == "SequentialLR") {
    std::vector<std::shared_ptr<LRScheduler>> children;
    for (const json& c : s["schedulers"]) children.push_back(make_scheduler(c, opt));
    return std::make_shared<SequentialLR>(opt, children, s["milestones"].get<std::vector<int64_t>>());
  }
  REQUIRE(type == "OneCycleLR");
  OneCycleOptions o;
  o.total_steps = s["total_steps"];
  o.pct_start = s.value("pct_start", o.pct_start);
  o.anneal_strategy = s.value("anneal_strategy", "cos") == "cos" ? AnnealStrategy::Cos : AnnealStrategy::Linear;
  o.cycle_momentum = s.value("cycle_momentum", o.cycle_momentum);
  o.base_momentum = s.value("base_momentum", o.base_momentum);
  o.max_momentum = s.value("max_momentum", o.max_momentum);
  o.div_factor = s.value("div_factor", o.div_factor);
  o.final_div_factor = s.value("final_div_factor", o.final_div_factor);
  o.three_phase = s.value("three_phase", o.three_phase);
  return std::make_shared<OneCycleLR>(opt, s["max_lr"].get<std::vector<double>>(), o);
}

// The largest relative difference seen while replaying, and where.
struct Mismatch {
  double worst = 0;
  std::string where;
  void see(const std::vector<double>& got, const std::vector<double>& want, const std::string& what) {
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      double err = got[i] == want[i] ? 0 : std::abs(got[i] - want[i]) / std::abs(want[i]);
      if (!(err <= worst)) {
        worst = err;
        where = what + " element " + std::to_string(i) + ": got " + std::to_string(got[i]) + ", PyTorch " +
                std::to_string(want[i]);
      }
    }
  }
};

std::vector<double> momenta(const Optimizer& opt) {
  std::vector<double> out;
  for (const ParamGroup& g : opt.param_groups()) out.push_back(g.has("beta1") ? g.get("beta1") : g.get("momentum"));
  return out;
}

// Replays fixture `f` in `dtype`, comparing every step with PyTorch's
// values; `fused`: may the optimizer use its fused CPU loop.
Mismatch replay(const json& f, DType dtype = DType::Float64, bool fused = true) {
  std::vector<Tensor> params;
  for (const json& p : f["params"])
    params.push_back(from_vector(p["init"].get<std::vector<double>>(), p["shape"].get<Shape>(), {.dtype = dtype})
                         .requires_grad_());
  auto opt = make_optimizer(f, params);
  opt->set_fused(fused);
  std::shared_ptr<LRScheduler> sched = f["scheduler"].is_null() ? nullptr : make_scheduler(f["scheduler"], *opt);
  Mismatch m;
  if (sched) m.see(sched->get_last_lr(), f["initial_lr"], "initial lr");
  if (sched) m.see(momenta(*opt), f["initial_momentum"], "initial momentum");
  for (size_t s = 0; s < f["steps"].size(); ++s) {
    const json& step = f["steps"][s];
    const std::string at = "step " + std::to_string(s) + " ";
    for (size_t k = 0; k < params.size(); ++k)
      params[k].set_grad(step["grads"][k].is_null() ? Tensor()
                                                    : from_vector(step["grads"][k].get<std::vector<double>>(),
                                                                  params[k].shape(), {.dtype = dtype}));
    opt->step();
    for (size_t k = 0; k < params.size(); ++k)
      m.see(params[k].to_vector<double>(), step["params"][k], at + "param " + std::to_string(k));
    if (!sched) continue;
    sched->step();
    m.see(sched->get_last_lr(), step["lr"], at + "lr");
    m.see(momenta(*opt), step["momentum"], at + "momentum");
  }
  return m;
}

// Replays each fixture through both update paths: the fused CPU loop and
// the op-by-op reference (Note [Fused CPU updates], optim/src/fused.h).
void check_fixtures(const std::vector<std::string>& names, DType dtype, double tol) {
  for (bool fused : {true, false})
    for (const std::string& name : names) {
      Mismatch m = replay(load_fixture(name), dtype, fused);
      INFO(name << (fused ? " (fused)" : " (op by op)") << " in " << dtype_name(dtype) << ": worst relative error "
                << m.worst << " at " << m.where);
      CHECK(m.worst <= tol);
    }
}

}  // namespace

TEST_CASE("optimizers match PyTorch 1.13 step for step in float64", "[optim]") {
  check_fixtures(kOptimizerFixtures, DType::Float64, kRelTol);
}

TEST_CASE("schedulers match PyTorch 1.13: lrs, cycled momenta and parameters", "[optim]") {
  check_fixtures(kSchedulerFixtures, DType::Float64, kRelTol);
}

TEST_CASE("float32 parameters follow the float64 trajectories closely", "[optim]") {
  check_fixtures({"sgd_nesterov", "adam_wd_amsgrad", "adamw_amsgrad_groups", "warmup_cosine"}, DType::Float32, 1e-5);
}

TEST_CASE("the parity check bites: a 1e-9 change of one hyper-parameter is caught", "[optim]") {
  for (const char* name : {"adam_default", "onecycle_sgd"}) {
    json f = load_fixture(name);
    f["optimizer"]["defaults"]["lr"] = f["optimizer"]["defaults"].value("lr", 1e-3) * (1 + 1e-9);
    if (!f["scheduler"].is_null()) f["scheduler"]["max_lr"][0] = f["scheduler"]["max_lr"][0].get<double>() * (1 + 1e-9);
    INFO(name);
    CHECK(replay(f).worst > kRelTol);
  }
}

namespace {

// Parameters (one of them non-contiguous when `strided`: the fused loop
// must then step aside) after 8 steps of `make`'s optimizer.
std::vector<Tensor> after_steps(const std::function<std::unique_ptr<Optimizer>(std::vector<Tensor>)>& make,
                                DType dtype, bool fused, bool strided = false) {
  Generator gen(3);
  Tensor a = randn({4, 3}, {.dtype = dtype}, &gen), b = randn({5}, {.dtype = dtype}, &gen);
  if (strided) a = a.t().contiguous().t().detach();  // same values, column-major
  std::vector<Tensor> params = {a.requires_grad_(), b.requires_grad_()};
  auto opt = make(params);
  opt->set_fused(fused);
  for (int s = 0; s < 8; ++s) {
    for (Tensor& p : params) p.set_grad(randn(p.shape(), {.dtype = dtype}, &gen) * (s + 1));
    opt->step();
  }
  return params;
}

}  // namespace

// See Note [Fused CPU updates] (optim/src/fused.h). If the ops' rounding
// changes on purpose (say add_ with alpha becomes one fused multiply-add),
// the loop must follow, or this check be relaxed to a tolerance.
TEST_CASE("the fused CPU loop and the op-by-op path agree bit for bit", "[optim]") {
  using Make = std::function<std::unique_ptr<Optimizer>(std::vector<Tensor>)>;
  const std::vector<std::pair<const char*, Make>> makers = {
      {"Adam", [](auto p) { return std::make_unique<Adam>(p, AdamOptions{.weight_decay = 0.1, .amsgrad = true}); }},
      {"Adam maximize", [](auto p) { return std::make_unique<Adam>(p, AdamOptions{.lr = 0.1, .maximize = true}); }},
      {"AdamW", [](auto p) { return std::make_unique<AdamW>(p, AdamWOptions{.lr = 0.01, .amsgrad = true}); }},
      {"SGD", [](auto p) {
         return std::make_unique<SGD>(p, SGDOptions{.lr = 0.1, .momentum = 0.9, .dampening = 0.2, .weight_decay = 0.01,
                                                    .maximize = true});
       }},
      {"SGD nesterov", [](auto p) { return std::make_unique<SGD>(p, SGDOptions{.momentum = 0.5, .nesterov = true}); }},
      {"SGD plain", [](auto p) { return std::make_unique<SGD>(p, SGDOptions{.lr = 0.3}); }}};
  for (DType dtype : {DType::Float32, DType::Float64})
    for (const auto& [name, make] : makers) {
      INFO(name << " in " << dtype_name(dtype));
      std::vector<Tensor> fused = after_steps(make, dtype, true), ops = after_steps(make, dtype, false);
      std::vector<Tensor> strided = after_steps(make, dtype, true, /*strided=*/true);
      for (size_t k = 0; k < fused.size(); ++k) {
        CHECK(equal(fused[k], ops[k]));
        CHECK(equal(strided[k], ops[k]));
      }
      Generator gen(3);
      CHECK_FALSE(equal(fused[0], randn({4, 3}, {.dtype = dtype}, &gen)));  // the parameters did move
      CHECK_FALSE(strided[0].is_contiguous());
    }
}

// Note [Capturable optimizer steps]: the scalars from device memory (here
// host memory: the CPU backend reads the same pointer) give the same bits,
// with a schedule moving lr and beta1 between steps.
TEST_CASE("capturable Adam and AdamW steps equal the plain ones bit for bit", "[optim]") {
  using Make = std::function<std::unique_ptr<Optimizer>(std::vector<Tensor>)>;
  const std::vector<std::pair<const char*, Make>> makers = {
      {"Adam", [](auto p) { return std::make_unique<Adam>(p, AdamOptions{.weight_decay = 0.1, .amsgrad = true}); }},
      {"AdamW", [](auto p) { return std::make_unique<AdamW>(p, AdamWOptions{.lr = 0.01}); }}};
  for (const auto& [name, make] : makers) {
    INFO(name);
    auto run = [&](bool capturable) {
      Generator gen(3);
      std::vector<Tensor> params = {randn({4, 3}, {}, &gen).requires_grad_(), randn({5}, {}, &gen).requires_grad_()};
      auto opt = make(params);
      opt->set_capturable(capturable);
      OneCycleLR schedule(*opt, 0.05, {.total_steps = 6});
      for (int s = 0; s < 6; ++s) {
        for (Tensor& p : params) p.set_grad(randn(p.shape(), {}, &gen));
        opt->step();
        schedule.step();
      }
      return params;
    };
    const std::vector<Tensor> plain = run(false), captured = run(true);
    for (size_t k = 0; k < plain.size(); ++k) CHECK(equal(captured[k], plain[k]));
  }
  std::vector<Tensor> params = {ones({2}).requires_grad_()};
  SGD sgd(params, {.lr = 0.1});
  REQUIRE_THROWS_WITH_ALL(sgd.set_capturable(true), ValueError, "SGD", "capturable", "Adam and AdamW");
  Adam adam(params);
  adam.set_capturable(true);
  params[0].set_grad(ones({2}));
  REQUIRE_THROWS_WITH_ALL(adam.launch_step(), ValueError, "launch_step without a prepare_step");
}

TEST_CASE("clip_grad_norm_ matches PyTorch for norms 1, 2, 3 and inf", "[optim]") {
  json f = load_fixture("clip_grad_norm");
  REQUIRE(f["cases"].size() == 6);
  for (const json& c : f["cases"]) {
    std::vector<Tensor> params;
    for (Shape s : {Shape{2, 3}, Shape{4}, Shape{2}}) params.push_back(zeros(s, {.dtype = DType::Float64}).requires_grad_());
    for (size_t k = 0; k < 2; ++k)
      params[k].set_grad(from_vector(c["grads"][k].get<std::vector<double>>(), params[k].shape()));
    const double p = c["norm_type"].is_string() ? kInfNorm : c["norm_type"].get<double>();
    Tensor total = clip_grad_norm_(params, c["max_norm"], p);
    Mismatch m;
    m.see({total.item<double>()}, {c["total"].get<double>()}, "total norm");
    for (size_t k = 0; k < 2; ++k) m.see(params[k].grad().to_vector<double>(), c["clipped"][k], "grad " + std::to_string(k));
    INFO("max_norm " << c["max_norm"] << " norm_type " << c["norm_type"] << ": " << m.worst << " at " << m.where);
    CHECK(m.worst <= kRelTol);
    CHECK(total.dtype() == DType::Float64);
    CHECK_FALSE(params[2].grad().defined());  // no gradient: left alone
  }
}

TEST_CASE("clip_grad_norm_: no gradients, float32, non-finite norms, bad arguments", "[optim]") {
  Tensor w = from_vector<float>({3, 4}).requires_grad_();
  CHECK(clip_grad_norm_({w}, 1.0).item<double>() == 0.0);  // no gradient anywhere
  w.set_grad(from_vector<float>({3, 4}));
  Tensor total = clip_grad_norm_({w}, 1.0);
  CHECK(total.dtype() == DType::Float32);
  CHECK(total.item<double>() == 5.0);
  CHECK_THAT(w.grad().to_vector<double>()[1], Catch::Matchers::WithinRel(4.0 / (5.0 + 1e-6), 1e-6));
  w.set_grad(from_vector<float>({NAN, 1}));
  REQUIRE_THROWS_WITH_ALL(clip_grad_norm_({w}, 1.0, 2.0, true), ValueError, "clip_grad_norm_", "nan");
  REQUIRE_THROWS_WITH_ALL(clip_grad_norm_({w}, -1.0), ValueError, "max_norm -1");
  REQUIRE_THROWS_WITH_ALL(clip_grad_norm_({w}, 1.0, 0.0), ValueError, "norm_type 0");
}

TEST_CASE("zero_grad makes gradients undefined, or zeros them in place", "[optim]") {
  Tensor w = from_vector<double>({1, 2}).requires_grad_();
  SGD opt({w}, {.lr = 0.1, .weight_decay = 0.5});
  (w * w).sum().backward();
  opt.zero_grad();
  CHECK_FALSE(w.grad().defined());
  opt.step();  // no gradient: skipped, weight decay included (as PyTorch with grad None)
  CHECK(w.to_vector<double>() == std::vector<double>{1, 2});
  CHECK(opt.state(w) == nullptr);

  (w * w).sum().backward();
  Tensor g = w.grad();
  opt.zero_grad(/*set_to_none=*/false);
  CHECK(w.grad().is_same(g));  // the same buffer, zero-filled
  CHECK(g.to_vector<double>() == std::vector<double>{0, 0});
  opt.step();  // a zero gradient still meets weight decay: w -= 0.1 * 0.5 * w
  CHECK(w.to_vector<double>() == std::vector<double>{0.95, 1.9});
  CHECK(opt.state(w)->step == 1);

  w.set_grad(w * 2);  // a gradient with history (as create_graph makes)
  opt.zero_grad(false);
  CHECK(w.grad().is_leaf());
  CHECK(w.grad().to_vector<double>() == std::vector<double>{0, 0});
}

namespace {

// A small scripted training run: the gradient depends on the parameters,
// so any difference in state would show in the trajectory.
struct Run {
  std::vector<Tensor> params;
  std::unique_ptr<Optimizer> opt;
  std::shared_ptr<LRScheduler> sched;

  explicit Run(bool adam) {
    params = {from_vector<double>({0.5, -1.5, 2.0, 0.25}, {2, 2}).requires_grad_(),
              from_vector<double>({1.0, -0.75}).requires_grad_()};
    if (adam) {
      opt = std::make_unique<Adam>(std::vector<ParamGroup>{{{params[0]}, {}}, {{params[1]}, {{"lr", 0.02}}}},
                                   AdamOptions{.lr = 0.05, .weight_decay = 0.01, .amsgrad = true});
      sched = std::make_shared<OneCycleLR>(*opt, std::vector<double>{0.1, 0.03}, OneCycleOptions{.total_steps = 12});
    } else {
      opt = std::make_unique<SGD>(params, SGDOptions{.lr = 0.1, .momentum = 0.9, .nesterov = true});
      auto warm = std::make_shared<LinearLR>(*opt, 0.2, 1.0, 3);
      auto cos = std::make_shared<CosineAnnealingLR>(*opt, 9, 0.001);
      sched = std::make_shared<SequentialLR>(*opt, std::vector<std::shared_ptr<LRScheduler>>{warm, cos},
                                             std::vector<int64_t>{3});
    }
  }
  void train(int from, int to) {
    for (int s = from; s < to; ++s) {
      {
        NoGradGuard no_grad;
        for (Tensor& p : params) p.set_grad(p * p * 0.3 - p + 0.05 * (s + 1));
      }
      opt->step();
      sched->step();
    }
  }
};

// What a checkpoint file does to the scalars: print with 17 digits, parse.
StateDict through_text(StateDict sd) {
  for (auto& [name, value] : sd.scalars) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", value);
    value = std::strtod(buf, nullptr);
  }
  return sd;
}

}  // namespace

TEST_CASE("state_dict round trip: a resumed run continues bit for bit", "[optim]") {
  for (bool adam : {true, false}) {
    INFO((adam ? "Adam + OneCycleLR" : "SGD + SequentialLR(LinearLR, CosineAnnealingLR)"));
    Run straight(adam);
    straight.train(0, 10);

    Run first(adam);
    first.train(0, 4);
    StateDict ckpt;  // one "file" holding both, as a training checkpoint does
    ckpt.merge("optimizer.", first.opt->state_dict());
    ckpt.merge("scheduler.", first.sched->state_dict());
    ckpt = through_text(ckpt);
    std::vector<Tensor> saved = {first.params[0].clone(), first.params[1].clone()};

    Run resumed(adam);  // fresh objects; its constructors have already moved the lrs
    {
      NoGradGuard no_grad;
      for (size_t k = 0; k < saved.size(); ++k) resumed.params[k].copy_(saved[k]);
    }
    resumed.opt->load_state_dict(ckpt.sub("optimizer."));
    resumed.sched->load_state_dict(ckpt.sub("scheduler."));
    resumed.train(4, 10);

    for (size_t k = 0; k < saved.size(); ++k) CHECK(equal(resumed.params[k], straight.params[k]));
    CHECK(resumed.sched->get_last_lr() == straight.sched->get_last_lr());
    CHECK(resumed.sched->last_epoch() == straight.sched->last_epoch());
    StateDict a = straight.opt->state_dict(), b = resumed.opt->state_dict();
    CHECK(a.scalars == b.scalars);
    REQUIRE(a.tensors.size() == b.tensors.size());
    for (size_t i = 0; i < a.tensors.size(); ++i) {
      CHECK(a.tensors[i].first == b.tensors[i].first);
      CHECK(equal(a.tensors[i].second, b.tensors[i].second));
    }
  }
}

TEST_CASE("state_dict names entries as PyTorch numbers them, and copies them", "[optim]") {
  Run run(true);
  run.train(0, 2);
  StateDict sd = run.opt->state_dict();
  CHECK(sd.scalar("state.1.step") == 2.0);
  CHECK(sd.scalar("param_groups.1.lr") == run.opt->param_groups()[1].lr());
  CHECK(sd.scalar("param_groups.0.max_lr") == 0.1);  // OneCycleLR's options travel with the groups
  CHECK(sd.tensor("state.0.max_exp_avg_sq").shape() == Shape{2, 2});
  sd.tensor("state.0.exp_avg").fill_(123.0);  // the export is a copy
  CHECK_FALSE(equal(sd.tensor("state.0.exp_avg"), run.opt->state_dict().tensor("state.0.exp_avg")));
}

TEST_CASE("defaults are PyTorch's", "[optim]") {
  Tensor w = zeros({2}).requires_grad_();
  CHECK(AdamW({w}, {.lr = 0.1}).defaults() == Options{{"lr", 0.1}, {"beta1", 0.9}, {"beta2", 0.999}, {"eps", 1e-8},
                                                       {"weight_decay", 1e-2}, {"amsgrad", 0}, {"maximize", 0}});
  CHECK(Adam({w}).defaults().at("weight_decay") == 0);
  CHECK(SGD({w}).param_groups()[0].options == Options{{"lr", 1e-3}, {"momentum", 0}, {"dampening", 0},
                                                      {"weight_decay", 0}, {"nesterov", 0}, {"maximize", 0}});
}

TEST_CASE("bad optimizer hyper-parameters throw, naming the value", "[optim][errors]") {
  Tensor w = zeros({2}, {.dtype = DType::Float64}).requires_grad_();
  REQUIRE_THROWS_WITH_ALL(SGD({w}, {.lr = -0.1}), ValueError, "SGD", "invalid lr -0.1");
  REQUIRE_THROWS_WITH_ALL(SGD({w}, {.momentum = -1}), ValueError, "invalid momentum -1");
  REQUIRE_THROWS_WITH_ALL(SGD({w}, {.weight_decay = -0.5}), ValueError, "invalid weight_decay -0.5");
  REQUIRE_THROWS_WITH_ALL(SGD({w}, {.nesterov = true}), ValueError, "Nesterov", "momentum 0");
  REQUIRE_THROWS_WITH_ALL(SGD({w}, {.momentum = 0.9, .dampening = 0.1, .nesterov = true}), ValueError,
                          "Nesterov", "dampening 0.1");
  REQUIRE_THROWS_WITH_ALL(Adam({w}, {.beta1 = 1.0}), ValueError, "Adam", "invalid beta1 1", "< 1");
  REQUIRE_THROWS_WITH_ALL(Adam({w}, {.beta2 = -0.5}), ValueError, "invalid beta2 -0.5");
  REQUIRE_THROWS_WITH_ALL(AdamW({w}, {.eps = -1e-8}), ValueError, "AdamW", "invalid eps -1e-08");
  REQUIRE_THROWS_WITH_ALL(Adam({w}, {.weight_decay = -0.01}), ValueError, "invalid weight_decay -0.01");
  REQUIRE_THROWS_WITH_ALL(Adam({w}, {.lr = NAN}), ValueError, "lr is nan");
  REQUIRE_THROWS_WITH_ALL(Adam(std::vector<ParamGroup>{{{w}, {{"betas", 0.9}}}}), ValueError, "param group 0",
                          "unknown option 'betas'", "beta1");
  REQUIRE_THROWS_WITH_ALL(Adam(std::vector<ParamGroup>{{{w}, {{"amsgrad", 0.5}}}}), ValueError, "amsgrad 0.5");
  REQUIRE_THROWS_WITH_ALL(SGD(std::vector<Tensor>{}), ValueError, "empty");
  REQUIRE_THROWS_WITH_ALL(SGD({w, w}), ValueError, "parameter 1", "more than once");
  REQUIRE_THROWS_WITH_ALL(SGD({w * 2}), ValueError, "non-leaf", "MulBackward");
  REQUIRE_THROWS_WITH_ALL(SGD({zeros({2}, {.dtype = DType::Int64})}), DTypeError, "int64");
  SGD opt({w}, {.lr = 0.1});
  REQUIRE_THROWS_WITH_ALL(opt.add_param_group({{w}, {}}), ValueError, "param group 1", "more than once");
  REQUIRE_THROWS_WITH_ALL(opt.add_param_group({{zeros({1}).requires_grad_()}, {{"lr", -2.0}}}), ValueError,
                          "param group 1", "lr -2");
  CHECK(opt.param_groups().size() == 1);  // nothing half-added
}

TEST_CASE("bad scheduler arguments throw, naming the value", "[optim][errors]") {
  Tensor w = zeros({2}, {.dtype = DType::Float64}).requires_grad_();
  SGD opt({w}, {.lr = 0.1});
  REQUIRE_THROWS_WITH_ALL(StepLR(opt, 0), ValueError, "StepLR", "step_size 0");
  REQUIRE_THROWS_WITH_ALL(StepLR(opt, 2, -0.5), ValueError, "gamma -0.5");
  REQUIRE_THROWS_WITH_ALL(LinearLR(opt, 0.0), ValueError, "LinearLR", "start_factor 0");
  REQUIRE_THROWS_WITH_ALL(LinearLR(opt, 0.5, 1.5), ValueError, "end_factor 1.5");
  REQUIRE_THROWS_WITH_ALL(LinearLR(opt, 0.5, 1.0, 0), ValueError, "total_iters 0");
  REQUIRE_THROWS_WITH_ALL(CosineAnnealingLR(opt, 0), ValueError, "CosineAnnealingLR", "T_max 0");
  REQUIRE_THROWS_WITH_ALL(CosineAnnealingLR(opt, 5, -1.0), ValueError, "eta_min -1");
  REQUIRE_THROWS_WITH_ALL(OneCycleLR(opt, 0.1, {}), ValueError, "OneCycleLR", "total_steps 0");
  REQUIRE_THROWS_WITH_ALL(OneCycleLR(opt, 0.1, {.total_steps = 10, .pct_start = 1.5}), ValueError, "pct_start 1.5");
  REQUIRE_THROWS_WITH_ALL(OneCycleLR(opt, std::vector<double>{0.1, 0.2}, {.total_steps = 10}), ValueError,
                          "expected 1 values for max_lr, got 2");
  REQUIRE_THROWS_WITH_ALL(OneCycleLR(opt, -0.1, {.total_steps = 10}), ValueError, "max_lr -0.1");
  OneCycleLR one(opt, 0.1, {.total_steps = 2});
  one.step();
  one.step();
  REQUIRE_THROWS_WITH_ALL(one.step(), ValueError, "tried to step 4 times", "total_steps is 2");

  SGD other({zeros({1}).requires_grad_()});
  auto mine = std::make_shared<StepLR>(opt, 2), theirs = std::make_shared<StepLR>(other, 2);
  using Schedulers = std::vector<std::shared_ptr<LRScheduler>>;
  REQUIRE_THROWS_WITH_ALL(SequentialLR(opt, Schedulers{mine, mine}, {}), ValueError, "expected 1 milestone(s)", "got 0");
  REQUIRE_THROWS_WITH_ALL(SequentialLR(opt, Schedulers{mine, theirs}, {3}), ValueError, "scheduler 1",
                          "does not drive");
  REQUIRE_THROWS_WITH_ALL(SequentialLR(opt, Schedulers{mine, mine, mine}, {3, 2}), ValueError, "increasing", "2");
  opt.add_param_group({{zeros({1}).requires_grad_()}, {}});  // a group the schedulers never saw
  REQUIRE_THROWS_WITH_ALL(mine->step(), ValueError, "StepLR", "has 2 param groups", "made for 1");
}

TEST_CASE("load_state_dict refuses a state that does not fit, and changes nothing then", "[optim][errors]") {
  Tensor w = from_vector<double>({1, 2, 3}).requires_grad_(), b = from_vector<double>({4.0}).requires_grad_();
  Adam adam({w, b});
  w.set_grad(ones_like(w));
  b.set_grad(ones_like(b));
  adam.step();
  const StateDict sd = adam.state_dict();

  Tensor w2 = zeros({2}, {.dtype = DType::Float64}).requires_grad_(), b2 = zeros({1}).requires_grad_();
  Adam misshapen({w2, b2});
  REQUIRE_THROWS_WITH_ALL(misshapen.load_state_dict(sd), ShapeError, "state.0.exp_avg", "[3]", "[2]");
  CHECK(misshapen.state(w2) == nullptr);

  SGD sgd({w, b});
  REQUIRE_THROWS_WITH_ALL(sgd.load_state_dict(sd), ValueError, "SGD.load_state_dict", "unknown option 'amsgrad'");
  Adam fewer({w});
  REQUIRE_THROWS_WITH_ALL(fewer.load_state_dict(sd), ValueError, "param group 0 has 1 parameters", "state has 2");

  StateDict extra = sd;
  extra.tensors.emplace_back("state.5.exp_avg", ones_like(w));
  REQUIRE_THROWS_WITH_ALL(adam.load_state_dict(extra), ValueError, "'state.5.exp_avg' names parameter 5");
  StateDict foreign = sd;
  foreign.tensors.emplace_back("state.0.momentum_buffer", ones_like(w));
  REQUIRE_THROWS_WITH_ALL(adam.load_state_dict(foreign), ValueError, "no buffer 'momentum_buffer'");
  StateDict no_step = sd;
  std::erase_if(no_step.scalars, [](const auto& s) { return s.first == "state.1.step"; });
  REQUIRE_THROWS_WITH_ALL(adam.load_state_dict(no_step), ValueError, "without 'state.1.step'");
  CHECK(adam.state(w)->step == 1);  // untouched by the failed loads

  StepLR sched(adam, 3);
  REQUIRE_THROWS_WITH_ALL(sched.load_state_dict(StateDict{}), ValueError, "StepLR.load_state_dict", "'last_epoch'");
}
