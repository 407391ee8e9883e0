// DistributedDataParallel in a world of one process (no mpirun): names,
// buckets, the overlap of bucket launches with backward, no_sync and the
// unused-parameter error. With one rank the all-reduce is the identity, so
// DDP's gradients must equal the bare module's bit for bit. The 2-rank
// equivalence with 1 rank is tests/dist_equivalence.cpp (needs MPI).
#include "support.h"

#include <algorithm>
#include <string>
#include <vector>

#include <ember/autograd/functional.h>
#include <ember/autograd/hooks.h>
#include <ember/core/profiler.h>
#include <ember/distributed/ddp.h>
#include <ember/nn/layers.h>

using namespace ember;
using namespace ember::test;
using distributed::DDPOptions;
using distributed::DistributedDataParallel;

namespace {

// An MLP in float64: 3 Linear layers, 6 parameters.
std::shared_ptr<nn::Sequential> make_mlp(uint64_t seed) {
  manual_seed(seed);
  auto m = std::make_shared<nn::Sequential>(std::initializer_list<nn::ModulePtr>{
      std::make_shared<nn::Linear>(4, 8), std::make_shared<nn::Tanh>(), std::make_shared<nn::Linear>(8, 8),
      std::make_shared<nn::Tanh>(), std::make_shared<nn::Linear>(8, 3)});
  m->to(DType::Float64);
  return m;
}

Tensor batch(uint64_t seed) {
  Generator gen(seed);
  return randn({5, 4}, {.dtype = DType::Float64}, &gen);
}

Tensor loss_of(nn::Module& m, const Tensor& x) { return (m(x) * m(x)).sum() * 0.5; }

// Exact equality of every element (bit for bit for finite values).
void check_same_grads(const nn::Module& a, const nn::Module& b) {
  auto pa = a.named_parameters(), pb = b.named_parameters();
  REQUIRE(pa.size() == pb.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    INFO(pa[i].first);
    REQUIRE(pa[i].second.grad().defined());
    CHECK(pa[i].second.grad().to_vector<double>() == pb[i].second.grad().to_vector<double>());
  }
}

}  // namespace

TEST_CASE("DDP registers the module as 'module': state_dict keys are module.<name>", "[ddp]") {
  auto model = make_mlp(1);
  DistributedDataParallel ddp(model);
  auto keys = ddp.state_dict();
  auto inner = model->state_dict();
  REQUIRE(keys.size() == inner.size());
  for (size_t i = 0; i < keys.size(); ++i) CHECK(keys[i].first == "module." + inner[i].first);
  CHECK(keys.front().first == "module.0.weight");
  CHECK(ddp.parameters().size() == 6);
  CHECK(&ddp.module() == model.get());
  // Construction broadcast rank 0's values: in a world of one, unchanged.
  auto fresh = make_mlp(1);
  for (size_t i = 0; i < inner.size(); ++i)
    CHECK(inner[i].second.to_vector<double>() == fresh->state_dict()[i].second.to_vector<double>());
}

TEST_CASE("DDP with one rank gives the bare module's gradients bit for bit, step after step", "[ddp]") {
  for (double cap : {25.0, 1e-9}) {
    INFO("bucket_cap_mb " << cap);
    auto bare = make_mlp(7), wrapped = make_mlp(7);
    DistributedDataParallel ddp(wrapped, {.bucket_cap_mb = cap});
    for (int step = 0; step < 3; ++step) {  // hooks re-armed every backward
      bare->zero_grad();
      ddp.zero_grad();
      loss_of(*bare, batch(step)).backward();
      loss_of(ddp, batch(step)).backward();
      check_same_grads(*bare, *wrapped);
      CHECK(ddp.last_wait_seconds() >= 0);
    }
  }
}

TEST_CASE("buckets take parameters in reverse order and split where bucket_cap_mb says", "[ddp]") {
  using Names = std::vector<std::vector<std::string>>;
  CHECK(DistributedDataParallel(make_mlp(1)).bucket_parameter_names() ==
        Names{{"4.bias", "4.weight", "2.bias", "2.weight", "0.bias", "0.weight"}});
  CHECK(DistributedDataParallel(make_mlp(1), {.bucket_cap_mb = 1e-9}).num_buckets() == 6);
  // float64: 4.bias 3, 4.weight 24, 2.bias 8, 2.weight 64, 0.bias 8, 0.weight 32 elements.
  // A cap of 250 bytes closes a bucket once it holds >= 250 bytes: 216 + 64 bytes, 512, 64 + 256.
  const double cap = 250.0 / (1024 * 1024);
  CHECK(DistributedDataParallel(make_mlp(1), {.bucket_cap_mb = cap}).bucket_parameter_names() ==
        Names{{"4.bias", "4.weight", "2.bias"}, {"2.weight"}, {"0.bias", "0.weight"}});
  CHECK_THROWS_AS(DistributedDataParallel(make_mlp(1), {.bucket_cap_mb = 0}), ValueError);
  // Frozen parameters are not reduced.
  auto model = make_mlp(1);
  model->named_parameters()[0].second.requires_grad_(false);
  CHECK(DistributedDataParallel(model, {.bucket_cap_mb = 1e-9}).num_buckets() == 5);
}

TEST_CASE("each bucket launches during backward, as soon as its gradients are accumulated", "[ddp]") {
  auto model = make_mlp(3);
  std::vector<std::string> log;
  // Hooks of our own, registered before DDP's, so each runs right before
  // DDP's hook on the same parameter.
  for (const auto& [name, p] : model->named_parameters())
    autograd::register_post_accumulate_grad_hook(p, [&log, n = name](const Tensor&) { log.push_back("acc " + n); });
  DistributedDataParallel ddp(model, {.bucket_cap_mb = 1e-9, .on_bucket_launch = [&](int64_t b, const Tensor& flat) {
                                        log.push_back("launch " + std::to_string(b));
                                        CHECK(autograd::in_backward());
                                        CHECK(flat.numel() > 0);
                                      }});
  for (int step = 0; step < 2; ++step) {
    log.clear();
    loss_of(ddp, batch(step)).backward();
    INFO([&] { std::string s; for (auto& l : log) s += l + "; "; return s; }());
    // Every bucket launched once, in bucket order.
    std::vector<std::string> launches;
    std::copy_if(log.begin(), log.end(), std::back_inserter(launches), [](auto& l) { return l.rfind("launch", 0) == 0; });
    REQUIRE(launches == std::vector<std::string>{"launch 0", "launch 1", "launch 2", "launch 3", "launch 4", "launch 5"});
    auto at = [&](const std::string& s) { return std::find(log.begin(), log.end(), s) - log.begin(); };
    // The last layer's buckets (0: 4.bias, 1: 4.weight) start before the
    // first layer's gradients exist: communication overlaps backward.
    CHECK(at("launch 0") < at("acc 0.weight"));
    CHECK(at("launch 1") < at("acc 0.weight"));
    CHECK(at("launch 1") < at("acc 2.weight"));
    // And no bucket starts before its own gradient is there.
    CHECK(at("acc 4.bias") < at("launch 0"));
    CHECK(at("acc 0.weight") < at("launch 5"));
    CHECK(at("launch 5") == static_cast<std::ptrdiff_t>(log.size()) - 1);
  }
}

TEST_CASE("no_sync accumulates locally and the next synced backward reduces the whole sum", "[ddp]") {
  auto bare = make_mlp(5), wrapped = make_mlp(5);
  int launches = 0;
  DistributedDataParallel ddp(wrapped, {.on_bucket_launch = [&](int64_t, const Tensor&) { ++launches; }});
  for (int micro = 0; micro < 2; ++micro) {
    auto guard = ddp.no_sync();
    loss_of(ddp, batch(10 + micro)).backward();
  }
  CHECK(launches == 0);
  loss_of(ddp, batch(12)).backward();
  CHECK(launches == 1);
  for (int micro = 0; micro < 3; ++micro) loss_of(*bare, batch(10 + micro)).backward();
  check_same_grads(*bare, *wrapped);
}

TEST_CASE("a parameter with no gradient is a clear error at the end of backward, not a hang", "[ddp][errors]") {
  // Linear(2, 3) is registered but never used by forward.
  struct TwoHeads : nn::Module {
    std::shared_ptr<nn::Linear> used = register_module("used", std::make_shared<nn::Linear>(4, 3));
    std::shared_ptr<nn::Linear> unused = register_module("unused", std::make_shared<nn::Linear>(2, 3));
    Tensor forward(const Tensor& x) override { return (*used)(x); }
  };
  auto model = std::make_shared<TwoHeads>();
  model->to(DType::Float64);
  {
    DistributedDataParallel ddp(model, {.bucket_cap_mb = 1e-9});
    CHECK_THROWS_WITH(loss_of(ddp, batch(0)).backward(),
                      Catch::Contains("unused.weight, unused.bias") && Catch::Contains("got no gradient"));
    CHECK_THROWS_AS(loss_of(ddp, batch(0)).backward(), AutogradError);  // every pass, not only the first
  }
  // Freezing them makes the model usable.
  for (auto& p : model->unused->parameters()) p.requires_grad_(false);
  DistributedDataParallel ddp(model);
  model->zero_grad();
  loss_of(ddp, batch(0)).backward();
  CHECK(model->used->parameters()[0].grad().defined());
}

TEST_CASE("the profiler counts bucket launches and the wait at the end of backward", "[ddp]") {
  auto model = make_mlp(2);
  DistributedDataParallel ddp(model, {.bucket_cap_mb = 1e-9});
  profiler::reset();
  profiler::set_enabled(true);
  loss_of(ddp, batch(0)).backward();
  profiler::set_enabled(false);
  int64_t launches = 0, waits = 0;
  for (const auto& e : profiler::entries()) {
    if (e.name == "DDPBucketLaunch") launches = e.calls;
    if (e.name == "DDPAllReduceWait") waits = e.calls;
  }
  profiler::reset();
  CHECK(launches == 6);
  CHECK(waits == 1);
}
