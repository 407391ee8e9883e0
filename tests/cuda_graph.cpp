// CUDA graphs (Note [CUDA graphs] in kernels/cuda/graph.cpp), part of
// test_cuda: a captured computation replays on new inputs as the eager one
// computes, the capture's rules are DeviceErrors, and a whole training
// step replayed as a graph (Note [Graphed training step]) gives the eager
// losses and weights bit for bit.
#include <ember/kernels/cuda.h>
#include <ember/nn/nn.h>
#include <ember/optim/optim.h>

#include "../examples/mnist/graphed_step.h"
#include "support.h"

using namespace ember;
using namespace ember::test;

namespace {

const Device kGpu("cuda:0");

// A small computation with a matmul, broadcasting, a reduction and a
// temporary freed mid-way (its memory reused inside the capture).
Tensor compute(const Tensor& x, const Tensor& w, const Tensor& b) {
  Tensor h = relu(matmul(x, w) + b);
  Tensor t = h * h;
  return sum(t, {1}) + sum(h, {1});
}

// A small CNN with batch norm and dropout on 12 x 12 images, AdamW with
// OneCycleLR (which moves the learning rate and beta1 every step), from the
// same seed and batches; batch 8, and a partial batch of 5 at step 6. The
// losses, then every parameter and running statistic after the steps.
struct Trained {
  std::vector<double> losses;
  std::vector<Tensor> state;
  int64_t replays = 0, eager = 0;
};

Trained train(bool graphed) {
  manual_seed(7);
  nn::Sequential net{nn::make<nn::Conv2d>(1, 4, Pair{3, 3}, Conv2dOptions{.padding = {1, 1}}),
                     nn::make<nn::BatchNorm2d>(4), nn::make<nn::ReLU>(), nn::make<nn::MaxPool2d>(Pair{2, 2}),
                     nn::make<nn::Flatten>(), nn::make<nn::Dropout>(0.3), nn::make<nn::Linear>(4 * 6 * 6, 10)};
  net.to(kGpu);
  optim::AdamW opt(net.parameters(), {.lr = 1e-2});
  optim::OneCycleLR schedule(opt, 1e-2, {.total_steps = 8});
  std::unique_ptr<mnist::GraphedStep> graph;
  if (graphed) graph = std::make_unique<mnist::GraphedStep>(opt, kGpu, 2);
  // Two batches in turn (so a replay that kept the captured batch would
  // show), and the partial one.
  Generator g(3);
  std::vector<Tensor> xs, ys;
  for (int64_t n : {8, 8, 5}) {
    xs.push_back(rand({n, 1, 12, 12}, {}, &g).to(kGpu));
    ys.push_back(randint(0, 10, {n}, {.dtype = DType::Int64}, &g).to(kGpu));
  }
  Trained t;
  for (int step = 0; step < 8; ++step) {
    const size_t batch = step == 5 ? 2 : step % 2;
    const Tensor &x = xs[batch], &y = ys[batch];
    auto forward_backward = [&](const Tensor& xs, const Tensor& ys) {
      Tensor loss = cross_entropy(net(xs), ys);
      opt.zero_grad();
      loss.backward();
      return std::vector<Tensor>{loss.detach()};
    };
    Tensor loss;
    if (graphed) {
      loss = graph->run(x, y, forward_backward)[0];
    } else {
      loss = forward_backward(x, y)[0];
      opt.step();
    }
    schedule.step();
    t.losses.push_back(loss.item<double>());
  }
  for (const auto& [name, v] : net.state_dict()) t.state.push_back(v.to(kCPU));
  if (graph) t.replays = graph->replays(), t.eager = graph->eager_steps();
  return t;
}

}  // namespace

TEST_CASE("a training step replayed as a CUDA graph gives the eager losses and weights bit for bit",
          "[cuda][graph][train]") {
  const Trained eager = train(false), graphed = train(true);
  CHECK(graphed.replays == 5);  // steps 3, 4, 5, 7 and 8
  CHECK(graphed.eager == 3);    // two warm-up steps and the partial batch
  for (size_t i = 0; i < eager.losses.size(); ++i) {
    INFO("step " << i + 1 << ": eager " << eager.losses[i] << ", graphed " << graphed.losses[i]);
    CHECK(graphed.losses[i] == eager.losses[i]);
  }
  CHECK(eager.losses[6] < eager.losses[0]);  // batch 0 at steps 1 and 7: it learns
  REQUIRE(graphed.state.size() == eager.state.size());
  for (size_t i = 0; i < eager.state.size(); ++i) {
    INFO("state tensor " << i);
    CHECK(equal(graphed.state[i], eager.state[i]));
  }
}

TEST_CASE("a captured graph replays on rewritten inputs as the eager computation does", "[cuda][graph]") {
  Generator g(5);
  const Tensor w = rand({7, 5}, {}, &g).to(kGpu) - 0.5, b = rand({5}, {}, &g).to(kGpu);
  Tensor x = rand({3, 7}, {}, &g).to(kGpu);  // the static input
  (void)compute(x, w, b).to(kCPU);           // eager once: the memory cache is warm
  cuda::Graph graph;
  graph.capture_begin();
  Tensor out = compute(x, w, b);  // the static output
  graph.capture_end();
  REQUIRE(graph.captured());
  if (cuda::is_emulated()) CHECK(graph.nodes() > 4);
  for (int replay = 0; replay < 5; ++replay) {
    INFO("replay " << replay);
    const Tensor fresh = rand({3, 7}, {}, &g).to(kGpu);
    x.copy_(fresh);  // the new input, in place
    graph.replay();
    const Tensor want = compute(fresh, w, b).to(kCPU);
    CHECK(equal(out.to(kCPU), want));
  }
}

TEST_CASE("during a capture, host reads, synchronize and new device memory are DeviceErrors", "[cuda][graph]") {
  Tensor x = ones({4, 4}).to(kGpu);
  {
    cuda::Graph graph;
    graph.capture_begin();
    Tensor y = x * 2;
    REQUIRE_THROWS_WITH_ALL(y.to(kCPU), DeviceError, "cuda:0", "a copy to the host",
                            "not allowed while a CUDA graph is captured");
    REQUIRE_THROWS_WITH_ALL(cuda::synchronize(), DeviceError, "not allowed while a CUDA graph is captured");
    REQUIRE_THROWS_WITH_ALL(ones({2}).to(kGpu), DeviceError, "a copy from the host");
    REQUIRE_THROWS_WITH_ALL(cuda::Graph().capture_begin(), DeviceError, "another capture");
    if (!cuda::is_emulated() || cuda::memory_stats().cache_hits > 0)  // a caching allocator (not the sanitizer builds)
      REQUIRE_THROWS_WITH_ALL(empty({64, 1024, 1024}, {.device = kGpu}), DeviceError, "CUDA graph capture",
                              "cudaMalloc", "run the step eagerly first");
    // The graph is dropped mid-capture: the capture is abandoned, and the
    // device works as before.
  }
  CHECK(equal((x * 3).to(kCPU), full({4, 4}, 3.0)));
  cuda::Graph graph;
  REQUIRE_THROWS_WITH_ALL(graph.replay(), DeviceError, "replay before capture_end");
  REQUIRE_THROWS_WITH_ALL(graph.capture_end(), DeviceError, "capture_end without capture_begin");
  graph.capture_begin();
  Tensor y = x + 1;
  graph.capture_end();
  REQUIRE_THROWS_WITH_ALL(graph.capture_begin(), DeviceError, "captured already");
  graph.replay();
  CHECK(equal(y.to(kCPU), full({4, 4}, 2.0)));
}

TEST_CASE("a step that cannot be captured runs eagerly, with the reason, and the same results",
          "[cuda][graph][train]") {
  auto losses = [](bool graphed) {
    manual_seed(9);
    nn::Linear net(6, 3);
    net.to(kGpu);
    optim::Adam opt(net.parameters(), {.lr = 0.1});
    std::unique_ptr<mnist::GraphedStep> step;
    if (graphed) step = std::make_unique<mnist::GraphedStep>(opt, kGpu, 1);
    Generator g(4);
    const Tensor x = rand({5, 6}, {}, &g).to(kGpu), y = randint(0, 3, {5}, {.dtype = DType::Int64}, &g).to(kGpu);
    std::vector<double> out;
    for (int s = 0; s < 4; ++s) {
      auto fb = [&](const Tensor& xs, const Tensor& ys) {
        Tensor loss = cross_entropy(net(xs), ys);
        opt.zero_grad();
        loss.backward();
        (void)loss.item<double>();  // a host read: not capturable
        return std::vector<Tensor>{loss.detach()};
      };
      Tensor loss;
      if (step) {
        loss = step->run(x, y, fb)[0];
      } else {
        loss = fb(x, y)[0];
        opt.step();
      }
      out.push_back(loss.item<double>());
    }
    if (step) {
      CHECK(step->replays() == 0);
      CHECK(step->eager_steps() == 4);
      CHECK_THAT(step->failure(), Catch::Contains("not allowed while a CUDA graph is captured"));
    }
    return out;
  };
  CHECK(losses(true) == losses(false));
}
