// Backward hooks (Note [Backward hooks], autograd/hooks.h): post-accumulate
// -grad hooks on leaves and final callbacks, what DDP's reducer is built on.
#include "support.h"

#include <stdexcept>
#include <string>
#include <vector>

#include <ember/autograd/engine.h>
#include <ember/autograd/hooks.h>

using namespace ember;
using namespace ember::test;
using autograd::queue_callback;
using autograd::register_post_accumulate_grad_hook;

TEST_CASE("a post-accumulate-grad hook sees .grad already accumulated, once per backward", "[hooks]") {
  Tensor a = from_vector<double>({1, 2}).requires_grad_();
  std::vector<std::vector<double>> seen;
  register_post_accumulate_grad_hook(a, [&](const Tensor& leaf) {
    CHECK(leaf.is_same(a));
    seen.push_back(leaf.grad().to_vector<double>());
  });
  (a * a).sum().backward();  // a used twice: the engine sums first, so one call
  REQUIRE(seen.size() == 1);
  CHECK(seen[0] == std::vector<double>{2, 4});
  (a * 3).sum().backward();  // accumulates: the hook sees the running sum
  REQUIRE(seen.size() == 2);
  CHECK(seen[1] == std::vector<double>{5, 7});
}

TEST_CASE("post-accumulate-grad hooks run in registration order, fire in reverse graph order, and can be removed",
          "[hooks]") {
  Tensor a = from_vector<double>({1}).requires_grad_();
  Tensor b = from_vector<double>({2}).requires_grad_();
  std::vector<std::string> log;
  auto h1 = register_post_accumulate_grad_hook(a, [&](const Tensor&) { log.push_back("a1"); });
  register_post_accumulate_grad_hook(a, [&](const Tensor&) { log.push_back("a2"); });
  register_post_accumulate_grad_hook(b, [&](const Tensor&) { log.push_back("b"); });
  ((a * 2).exp() * b).sum().backward();  // b's edge is nearer the loss than a's
  CHECK(log == std::vector<std::string>{"b", "a1", "a2"});
  log.clear();
  h1.remove();
  h1.remove();  // idempotent
  ((a * 2).exp() * b).sum().backward();
  CHECK(log == std::vector<std::string>{"b", "a2"});
}

TEST_CASE("a hook registers only on a leaf that requires grad", "[hooks][errors]") {
  Tensor a = from_vector<double>({1});
  CHECK_THROWS_AS(register_post_accumulate_grad_hook(a, [](const Tensor&) {}), AutogradError);
  a.requires_grad_();
  Tensor b = a * 2;
  CHECK_THROWS_AS(register_post_accumulate_grad_hook(b, [](const Tensor&) {}), AutogradError);
  autograd::HookHandle h;
  h.remove();  // a default handle removes nothing
}

TEST_CASE("grad() does not touch .grad, so fires no post-accumulate-grad hook", "[hooks]") {
  Tensor a = from_vector<double>({1, 2}).requires_grad_();
  int calls = 0;
  register_post_accumulate_grad_hook(a, [&](const Tensor&) { ++calls; });
  auto g = autograd::grad({(a * a).sum()}, {a});
  CHECK(g[0].to_vector<double>() == std::vector<double>{2, 4});
  CHECK(calls == 0);
  CHECK(!a.grad().defined());
}

TEST_CASE("a final callback runs once after the last node, before backward returns", "[hooks]") {
  Tensor a = from_vector<double>({1, 2}).requires_grad_();
  Tensor b = from_vector<double>({3}).requires_grad_();
  std::vector<std::string> log;
  register_post_accumulate_grad_hook(b, [&](const Tensor&) {
    log.push_back("b");
    queue_callback([&] {
      log.push_back("end");
      CHECK(a.grad().defined());  // every leaf is done by then
      queue_callback([&] { log.push_back("end2"); });  // a callback may queue more
    });
  });
  register_post_accumulate_grad_hook(a, [&](const Tensor&) { log.push_back("a"); });
  Tensor loss = ((a * 2).exp().sum() * b).sum();
  loss.backward(Tensor(), /*retain_graph=*/true);
  CHECK(log == std::vector<std::string>{"b", "a", "end", "end2"});
  // retain_graph: a second pass over the same graph fires the hooks again and
  // runs only the callbacks it queued itself.
  log.clear();
  loss.backward();
  CHECK(log == std::vector<std::string>{"b", "a", "end", "end2"});
  CHECK(!autograd::in_backward());
}

TEST_CASE("queue_callback outside a backward pass is an error", "[hooks][errors]") {
  CHECK(!autograd::in_backward());
  CHECK_THROWS_WITH(queue_callback([] {}), Catch::Contains("no backward pass is running"));
}

TEST_CASE("an exception in a hook or a callback propagates out of backward, and the next pass starts clean",
          "[hooks][errors]") {
  Tensor a = from_vector<double>({1, 2}).requires_grad_();
  bool fail_hook = true, fail_callback = false, ran_stale = false;
  int callbacks = 0;
  auto h = register_post_accumulate_grad_hook(a, [&](const Tensor&) {
    queue_callback([&] {
      ++callbacks;
      if (fail_callback) throw std::runtime_error("callback failed");
    });
    if (fail_hook) {
      queue_callback([&] { ran_stale = true; });  // queued, then dropped with the failed pass
      throw std::runtime_error("hook failed");
    }
  });
  CHECK_THROWS_WITH((a * 2).sum().backward(), "hook failed");
  CHECK(!autograd::in_backward());
  CHECK(callbacks == 0);
  fail_hook = false;
  fail_callback = true;
  CHECK_THROWS_WITH((a * 2).sum().backward(), "callback failed");
  CHECK(callbacks == 1);
  CHECK(!autograd::in_backward());
  fail_callback = false;
  (a * 2).sum().backward();
  CHECK(callbacks == 2);
  CHECK(!ran_stale);
  CHECK(a.grad().to_vector<double>() == std::vector<double>{6, 6});  // three passes accumulated
}
