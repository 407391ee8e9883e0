// The CPU thread pool (core/include/ember/core/parallel.h): chunking, inline
// runs, nesting, exceptions, changing the thread count; and Note
// [Deterministic parallel kernels]: results bitwise identical at 1 and 2+
// threads.
#include <ember/optim/optim.h>

#include "support.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

using namespace ember;
using namespace ember::test;

TEST_CASE("parallel_for covers the range exactly once", "[parallel]") {
  for (int threads : {1, 2, 3, 8}) {
    ThreadCount tc(threads);
    for (int64_t n : {1, 7, 100, 1000, 100003}) {
      std::vector<std::atomic<int>> hits(n);
      std::atomic<int> chunks{0}, empty{0};
      parallel_for(0, n, 10, [&](int64_t b, int64_t e) {  // (Catch's CHECK is not thread-safe: count instead)
        empty += b >= e;
        ++chunks;
        for (int64_t i = b; i < e; ++i) ++hits[i];
      });
      int64_t wrong = 0;
      for (int64_t i = 0; i < n; ++i) wrong += hits[i] != 1;
      CHECK(wrong == 0);
      CHECK(empty == 0);
      CHECK(chunks <= threads);  // at most one chunk per thread
    }
  }
}

TEST_CASE("parallel_for never passes an empty chunk", "[parallel]") {
  ThreadCount tc(4);
  for (int64_t n : {2, 3, 5, 9, 13}) {
    std::atomic<int64_t> covered{0}, empty{0};
    parallel_for(0, n, 1, [&](int64_t b, int64_t e) {
      empty += b >= e;
      covered += e - b;
    });
    INFO("n = " << n);
    CHECK(empty == 0);
    CHECK(covered == n);
  }
}

TEST_CASE("parallel_for uses several threads for a large range", "[parallel]") {
  ThreadCount tc(2);
  std::mutex m;
  std::set<std::thread::id> ids;
  // Each chunk waits (up to 10 s, on a busy machine) for the other chunk's
  // thread to show up: the caller cannot run both, so a worker must.
  parallel_for(0, 2, 1, [&](int64_t, int64_t) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    {
      std::lock_guard<std::mutex> lock(m);
      ids.insert(std::this_thread::get_id());
    }
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard<std::mutex> lock(m);
        if (ids.size() >= 2) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  CHECK(ids.size() == 2);
}

TEST_CASE("small ranges, one thread and nested calls run inline", "[parallel]") {
  const auto me = std::this_thread::get_id();
  auto all_on_caller = [&](int64_t begin, int64_t end, int64_t grain) {
    std::atomic<int> calls{0}, elsewhere{0};
    parallel_for(begin, end, grain, [&](int64_t b, int64_t e) {
      elsewhere += std::this_thread::get_id() != me || b != begin || e != end;
      ++calls;
    });
    return elsewhere == 0 && calls == 1;
  };
  {
    ThreadCount tc(4);
    CHECK(all_on_caller(0, 100, 100));  // one grain: inline
    CHECK(all_on_caller(5, 6, 1));
    CHECK(!in_parallel_region());
  }
  {
    ThreadCount tc(1);
    CHECK(all_on_caller(0, 1 << 20, 1));  // one thread: inline whatever the size
  }
  ThreadCount tc(2);
  std::atomic<int64_t> total{0}, outside{0}, moved{0};
  parallel_for(0, 8, 1, [&](int64_t b, int64_t e) {
    outside += !in_parallel_region();
    for (int64_t i = b; i < e; ++i) {
      const auto outer_thread = std::this_thread::get_id();
      parallel_for(0, 1000, 1, [&](int64_t ib, int64_t ie) {  // nested: inline, no deadlock
        moved += std::this_thread::get_id() != outer_thread;
        total += ie - ib;
      });
    }
  });
  CHECK(total == 8000);
  CHECK(outside == 0);
  CHECK(moved == 0);
}

TEST_CASE("an exception in a chunk is rethrown on the caller", "[parallel]") {
  for (int threads : {1, 2, 4}) {
    ThreadCount tc(threads);
    REQUIRE_THROWS_WITH(parallel_for(0, 1000, 1,
                                     [&](int64_t b, int64_t e) {
                                       if (b <= 999 && 999 < e) throw ValueError("chunk with 999 failed");
                                     }),
                        "chunk with 999 failed");
    // The pool still works afterwards.
    std::atomic<int64_t> sum{0};
    parallel_for(0, 1000, 1, [&](int64_t b, int64_t e) { sum += e - b; });
    CHECK(sum == 1000);
  }
}

TEST_CASE("set_num_threads changes the count and rejects bad values", "[parallel]") {
  const int old = get_num_threads();
  CHECK(old >= 1);
  for (int n : {1, 3, 2, 5, 1}) {
    set_num_threads(n);
    CHECK(get_num_threads() == n);
    std::atomic<int> chunks{0};
    parallel_for(0, 100, 1, [&](int64_t, int64_t) { ++chunks; });
    CHECK(chunks == n);
  }
  REQUIRE_THROWS_WITH_ALL(set_num_threads(0), ValueError, "set_num_threads", "at least 1", "got 0");
  REQUIRE_THROWS_AS(set_num_threads(-3), ValueError);
  set_num_threads(2);
  REQUIRE_THROWS_WITH(parallel_for(0, 4, 1, [](int64_t, int64_t) { set_num_threads(3); }),
                      Catch::Contains("inside parallel_for"));
  CHECK(get_num_threads() == 2);
  set_num_threads(old);
}

TEST_CASE("parallel_for from several threads at once", "[parallel]") {
  ThreadCount tc(2);
  std::vector<std::thread> callers;
  std::atomic<int64_t> total{0};
  for (int t = 0; t < 4; ++t)
    callers.emplace_back([&] {
      for (int rep = 0; rep < 50; ++rep)
        parallel_for(0, 1000, 1, [&](int64_t b, int64_t e) { total += e - b; });
    });
  for (auto& t : callers) t.join();
  CHECK(total == 4 * 50 * 1000);
}

// Note [Deterministic parallel kernels]: the same inputs give the same bits
// at any thread count.
TEST_CASE("kernel results are bitwise identical at 1 and several threads", "[parallel][determinism]") {
  manual_seed(7);
  const Tensor big = randn({1 << 22});  // long enough for every kernel to go parallel
  const Tensor rows = randn({512, 300});
  const Tensor a = randn({3, 200, 150}), b = randn({3, 150, 170});
  const Tensor x = randn({8, 3, 40, 40}), w = randn({16, 3, 5, 5});
  // Kept dim between two reduced dims that are contiguous with each other:
  // a one-index slice would merge them into one long row (review finding).
  const Tensor permuted = permute(randn({2, 8, 4096}, {.dtype = DType::Float64}), {1, 0, 2});
  const Tensor labels = randint(0, 16, {8});
  auto run_all = [&] {
    Tensor xg = x.clone().requires_grad_(), wg = w.clone().requires_grad_();
    Tensor bias = zeros({16}).requires_grad_();
    Tensor y = conv2d(xg, wg, bias, {.padding = {2, 2}});
    (y * y.detach()).sum().backward();  // input gradient through col2im, weight and bias gradients by chunks
    Tensor wgrouped = w.narrow(1, 0, 1).narrow(0, 0, 12).clone().requires_grad_();
    Tensor yg = conv2d(xg.detach(), wgrouped, Tensor(), {.stride = {2, 1}, .groups = 3});
    (yg * yg.detach()).sum().backward();
    Tensor xb = x.clone().requires_grad_(), gamma = ones({3}).requires_grad_(), beta = zeros({3}).requires_grad_();
    Tensor rm = zeros({3}), rv = ones({3});
    Tensor bn = batch_norm(xb, rm, rv, gamma, beta, true);
    Tensor pooled = max_pool2d(relu(bn), {2, 2}), avg = avg_pool2d(bn, {3, 3}, {2, 2}, {1, 1});
    Tensor logits = reshape(pooled, {8, -1}).narrow(1, 0, 16);
    Tensor loss = cross_entropy(logits, labels, 0.1) + avg.sum() * 1e-3;
    loss.backward();
    Generator g1(3);
    Tensor noise = rand({1 << 20}, {}, &g1), normal = randn({1 << 20}, {}, &g1);
    Tensor dropped = dropout(ones({1 << 20}), 0.3, true, &g1);
    Tensor param = big.clone().requires_grad_();
    param.set_grad(big * 0.5);
    optim::AdamW adam({param}, {.lr = 0.01, .weight_decay = 0.1});
    adam.step();
    return std::vector<Tensor>{big.sum(), rows.sum({0}), rows.sum({1}), rows.t().sum({1}), rows.argmax(1),
                               (big * 2 + 1).exp(), rows.softmax(1), rows.log_softmax(0), matmul(a, b),
                               matmul(a.transpose(1, 2).contiguous().transpose(1, 2), b), y.detach(), xg.grad(),
                               wg.grad(), bias.grad(), wgrouped.grad(), max_pool2d(x, {2, 2}), permuted.sum({0, 2}),
                               bn.detach(), rm, rv, xb.grad(), gamma.grad(), beta.grad(), loss.detach(), noise,
                               normal, dropped, param.detach()};
  };
  std::vector<Tensor> one;
  {
    ThreadCount tc(1);
    one = run_all();
  }
  for (int threads : {2, 3}) {
    ThreadCount tc(threads);
    std::vector<Tensor> many = run_all();
    for (size_t i = 0; i < one.size(); ++i) {
      INFO("result " << i << " at " << threads << " threads");
      REQUIRE(one[i].shape() == many[i].shape());
      CHECK(equal(one[i], many[i]));
    }
  }
}

TEST_CASE("max of a long bool tensor on several threads sees every block", "[parallel]") {
  // The per-block partial results once sat in a std::vector<bool>, whose
  // packed bits made neighbouring blocks' writes race.
  ThreadCount tc(2);
  for (int64_t at : {int64_t(5), int64_t(40000), int64_t(99999)}) {
    Tensor flags = zeros({100000}, {.dtype = DType::Bool});
    flags.slice(0, at, at + 1).fill_(1);
    INFO("true at " << at);
    CHECK(flags.max().item<bool>());
    CHECK_FALSE(flags.min().item<bool>());
  }
}
