// Neural-network ops (conv2d, pooling, batch_norm, dropout, losses):
// outputs and gradients against values PyTorch computed for the same
// inputs (tests/fixtures/nn/functional.json, written by
// tests/make_nn_fixtures.py; the table runs on every backend, op_tables.h),
// the fused backwards against their composite forms, direct loops, and
// error cases. Their gradchecks are rows of tests/grad_cases.h.
#include "op_tables.h"

using namespace ember;
using namespace ember::test;

TEST_CASE("nn ops match PyTorch's outputs, gradients and running statistics (tables, every CPU backend)",
          "[nn_ops][parity]") {
  for (const BackendUnderTest& b : backends_under_test(DeviceType::CPU)) run_nn_fixture_table(b);
}

// Note [Double backward of fused ops]: with create_graph a fused op's Node
// differentiates the op's composite form instead of calling the fused
// backward kernel. Both must give the same gradient.
TEST_CASE("the fused backward and the composite one (create_graph) agree to 1e-12 in float64", "[nn_ops]") {
  using V = const std::vector<Tensor>&;
  const Tensor target = from_vector<int64_t>({2, 0, 1, 4});
  const std::vector<std::pair<const char*, std::function<Tensor(V)>>> fns = {
      {"conv2d", [](V x) { return conv2d(x[0], x[1], x[2], {.stride = {2, 1}, .padding = {1, 2}}); }},
      {"conv2d groups", [](V x) { return conv2d(x[0], x[1].narrow(1, 0, 1), x[2], {.dilation = {2, 1}, .groups = 4}); }},
      {"max_pool2d", [](V x) { return max_pool2d(x[0], {3, 2}, {2, 1}, {1, 0}); }},
      {"avg_pool2d", [](V x) { return avg_pool2d(x[0], {3, 3}, {2, 2}, {1, 1}); }},
      {"batch_norm training", [](V x) { return batch_norm(x[0], Tensor(), Tensor(), x[2], x[2] * 0.5, true); }},
      {"batch_norm eval",
       [](V x) {
         Tensor mean = from_vector<double>({0.1, 0.2, -0.3, 0.0}), var = from_vector<double>({1.0, 0.5, 2.0, 0.7});
         return batch_norm(x[0], mean, var, x[2], x[2] * 0.5, false);
       }},
      {"cross_entropy", [&](V x) { return cross_entropy(reshape(x[0], {4, -1}), target, 0.15); }},
  };
  for (const auto& [name, fn] : fns) {
    INFO(name);
    auto leaf = [](Tensor t) { return t.detach().requires_grad_(); };
    std::vector<Tensor> in = {leaf(random_input({2, 4, 5, 4}, DType::Float64, Layout::Transposed, -1, 1, 5)),
                              leaf(random_input({4, 4, 3, 3}, DType::Float64, Layout::Contiguous, -1, 1, 6)),
                              leaf(random_input({4}, DType::Float64, Layout::Contiguous, -1, 1, 7))};
    Tensor y = fn(in);
    Tensor v = random_input(y.shape(), DType::Float64, Layout::Contiguous, -1, 1, 8);
    std::vector<Tensor> fused = autograd::grad({y}, in, {v}, /*retain_graph=*/true, /*create_graph=*/false, true);
    std::vector<Tensor> composite = autograd::grad({y}, in, {v}, true, /*create_graph=*/true, true);
    int compared = 0;
    for (size_t i = 0; i < in.size(); ++i) {
      INFO("input " << i);
      REQUIRE(fused[i].defined() == composite[i].defined());
      if (!fused[i].defined()) continue;
      check_close(fused[i], ref_of(composite[i]), 1e-12, 1e-12, "fused vs composite gradient");
      ++compared;
    }
    CHECK(compared > 0);
  }
}

TEST_CASE("conv2d matches a direct float64 loop on random non-contiguous float32 input", "[nn_ops]") {
  Tensor x = random_input({2, 3, 6, 5}, DType::Float32, Layout::Transposed, -1, 1, 3);
  Tensor w = random_input({4, 3, 3, 2}, DType::Float32, Layout::Strided, -1, 1, 4);
  Tensor y = conv2d(x, w, Tensor(), {.stride = {1, 2}, .padding = {1, 0}});
  Ref rx = ref_of(x), rw = ref_of(w);
  const int64_t oh = 6, ow = 2;
  REQUIRE(y.shape() == Shape{2, 4, oh, ow});
  Ref want{{2, 4, oh, ow}, {}};
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t co = 0; co < 4; ++co)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          double s = 0;
          for (int64_t ci = 0; ci < 3; ++ci)
            for (int64_t ki = 0; ki < 3; ++ki)
              for (int64_t kj = 0; kj < 2; ++kj) {
                int64_t h = i - 1 + ki, w_ = j * 2 + kj;
                if (h < 0 || h >= 6 || w_ >= 5) continue;
                s += rx.v[((n * 3 + ci) * 6 + h) * 5 + w_] * rw.v[((co * 3 + ci) * 3 + ki) * 2 + kj];
              }
          want.v.push_back(s);
        }
  check_close(y, want, 1e-5, 1e-5, "conv2d vs loop");
}

TEST_CASE("unfold2d lays columns out as torch.nn.functional.unfold, padding and strides included", "[nn_ops]") {
  const int64_t n = 2, c = 3, h = 5, w = 7, kh = 2, kw = 3, sh = 2, sw = 3, ph = 1, pw = 2, dh = 1, dw = 2;
  Tensor x = random_input({n, c, h, w}, DType::Float64, Layout::Transposed, -1, 1, 9);
  Tensor cols = unfold2d(x, {kh, kw}, {sh, sw}, {ph, pw}, {dh, dw});
  const int64_t oh = (h + 2 * ph - dh * (kh - 1) - 1) / sh + 1, ow = (w + 2 * pw - dw * (kw - 1) - 1) / sw + 1;
  REQUIRE(cols.shape() == Shape{n, c * kh * kw, oh * ow});
  Ref rx = ref_of(x);
  Ref want{{n, c * kh * kw, oh * ow}, {}};
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t i = 0; i < kh; ++i)
        for (int64_t j = 0; j < kw; ++j)
          for (int64_t y = 0; y < oh; ++y)
            for (int64_t z = 0; z < ow; ++z) {
              const int64_t hh = y * sh - ph + i * dh, ww = z * sw - pw + j * dw;
              const bool inside = hh >= 0 && hh < h && ww >= 0 && ww < w;
              want.v.push_back(inside ? rx.v[((b * c + ch) * h + hh) * w + ww] : 0.0);
            }
  check_close(cols, want, 0, 0, "unfold2d vs loop");
}

TEST_CASE("max_pool2d: the first NaN of a window wins, ties go to the first maximum, padding never wins", "[nn_ops]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // One 3x4 plane; 2x2 windows, stride 2, padding 1 -> 2x3 output.
  Tensor x = from_vector<double>({-5, 2, 2, -7,
                                  nan, 1, 3, nan,
                                  -1, -2, 4, -3}, {1, 1, 3, 4});
  x.requires_grad_();
  Tensor y = max_pool2d(x, {2, 2}, {2, 2}, {1, 1});
  std::vector<double> got = y.to_vector<double>();
  REQUIRE(got.size() == 6);
  CHECK(got[0] == -5);           // window {x00}: the only real element, though negative
  CHECK(got[1] == 2);            // {x01, x02}: tie, first wins (checked through the gradient below)
  CHECK(got[2] == -7);           // {x03}
  CHECK(std::isnan(got[3]));     // {x10, x20}
  CHECK(got[4] == 4);            // {x11, x12, x21, x22}
  CHECK(std::isnan(got[5]));     // {x13, x23}
  y.sum().backward();
  std::vector<double> g = x.grad().to_vector<double>();
  CHECK(g == std::vector<double>{1, 1, 0, 1, 1, 0, 0, 1, 0, 0, 1, 0});
}

TEST_CASE("max_pool2d 2x2 at stride 2 (its unrolled path): NaN, ties and odd sizes against a direct loop", "[nn_ops]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // 3 planes of 7x35: 17 windows a row; the last row and column fall
  // outside every window.
  const int64_t H = 7, W = 35, OH = 3, OW = 17;
  for (DType dtype : {DType::Float32, DType::Float64}) {
    INFO(dtype_name(dtype));
    Tensor x = random_input({1, 3, H, W}, DType::Float64, Layout::Contiguous, -1, 1, 21);
    std::vector<double> v = x.to_vector<double>();
    for (int64_t i : {0, 10, 20, 36, 72, 73, 106, 140, 175, 176, 211}) v[i] = nan;  // first, later, twice a window
    for (int64_t i : {2, 3, 37, 38, 290, 291}) v[i] = 0.75;  // a four-way tie, a tie between the top two taps
    v[400] = v[435] = 2;                                       // a tie between the two rows
    x = from_vector<double>(v, {1, 3, H, W}).to(dtype).requires_grad_();
    Tensor y = max_pool2d(x, {2, 2});
    REQUIRE(y.shape() == Shape{1, 3, OH, OW});
    Tensor gy = random_input(y.shape(), dtype, Layout::Contiguous, 1, 2, 22);
    y.backward(gy);
    const std::vector<double> xv = x.detach().to(DType::Float64).to_vector<double>();
    const std::vector<double> gyv = gy.to(DType::Float64).to_vector<double>();
    std::vector<double> want_y, want_gx(xv.size(), 0.0);
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          int64_t best = -1;
          for (int64_t i = 0; i < 2; ++i)
            for (int64_t j = 0; j < 2; ++j) {
              const int64_t at = (c * H + 2 * oh + i) * W + 2 * ow + j;
              const bool nan_won = best >= 0 && std::isnan(xv[best]);
              if (best < 0 || (!nan_won && (std::isnan(xv[at]) || xv[at] > xv[best]))) best = at;
            }
          want_y.push_back(xv[best]);
          want_gx[best] += gyv[(c * OH + oh) * OW + ow];
        }
    check_close(y, Ref{{1, 3, OH, OW}, want_y}, 0, 0, "max_pool2d values");
    check_close(x.grad(), Ref{{1, 3, H, W}, want_gx}, 0, 0, "max_pool2d gradient (where each index points)");
  }
}

TEST_CASE("relu's gradient is PyTorch's threshold_backward: 0 where the output is <= 0, else g, NaN or not",
          "[nn_ops]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (DType dtype : {DType::Float32, DType::Float64}) {
    INFO(dtype_name(dtype));
    Tensor x = from_vector<double>({-1, 0, 2, nan, 3}).to(dtype).requires_grad_();
    relu(x).backward(from_vector<double>({nan, 5, 7, 3, nan}).to(dtype));
    // torch 1.13: x.grad == [0, 0, 7, 3, nan] (a NaN output passes g on; a NaN g where the output is 0 does not)
    const std::vector<double> g = x.grad().to(DType::Float64).to_vector<double>();
    CHECK(g[0] == 0);
    CHECK(g[1] == 0);
    CHECK(g[2] == 7);
    CHECK(g[3] == 3);
    CHECK(std::isnan(g[4]));
  }
}

TEST_CASE("dropout keeps the expectation and is reproducible", "[nn_ops]") {
  Tensor x = ones({100000}, {.dtype = DType::Float64});
  Generator g1(5), g2(5);
  Tensor a = dropout(x, 0.25, true, &g1), b = dropout(x, 0.25, true, &g2);
  CHECK(equal(a, b));
  CHECK(mean(a).item<double>() == Approx(1.0).margin(0.01));
  CHECK(mean(eq(a, 0).to(DType::Float64)).item<double>() == Approx(0.25).margin(0.01));
  CHECK(dropout(x, 0.5, false).is_same(x));
  REQUIRE_THROWS_WITH_ALL(dropout(x, 1.5, true), ValueError, "dropout", "1.5");
}

// Note [Graph-safe random streams]: with a base in memory, the kernels get
// offsets relative to it and add it when they run; the masks are the same.
TEST_CASE("dropout with a Philox base in memory draws the masks of absolute offsets", "[nn_ops]") {
  Tensor x = ones({1000}, {.dtype = DType::Float64});
  Generator g1(5), g2(5);
  (void)dropout(x, 0.25, true, &g1), (void)dropout(x, 0.25, true, &g2);  // both mid-stream
  const Tensor want = dropout(x, 0.25, true, &g1);
  uint64_t base = g2.offset();
  g2.set_device_base(&base, base);
  const Tensor got = dropout(x, 0.25, true, &g2);
  g2.set_device_base(nullptr, 0);
  CHECK(equal(got, want));
  CHECK(g2.offset() == g1.offset());
  base += 1;  // a wrong base shows
  g2.set_device_base(&base, base - 1);
  CHECK_FALSE(equal(dropout(x, 0.25, true, &g2), dropout(x, 0.25, true, &g1)));
  g2.set_device_base(nullptr, 0);
}

TEST_CASE("nn op errors name the op and the shapes", "[nn_ops][errors]") {
  Tensor x = zeros({2, 3, 8, 8});
  REQUIRE_THROWS_WITH_ALL(conv2d(x, zeros({4, 2, 3, 3})), ShapeError, "conv2d", "[2, 3, 8, 8]", "[4, 2, 3, 3]");
  REQUIRE_THROWS_WITH_ALL(conv2d(zeros({3, 8, 8}), zeros({4, 3, 3, 3})), ShapeError, "conv2d", "[3, 8, 8]");
  REQUIRE_THROWS_WITH_ALL(conv2d(x, zeros({4, 3, 9, 9})), ShapeError, "conv2d", "too small");
  REQUIRE_THROWS_WITH_ALL(conv2d(x, zeros({4, 3, 3, 3}), zeros({5})), ShapeError, "conv2d", "bias", "[5]");
  REQUIRE_THROWS_WITH_ALL(max_pool2d(x, {2, 2}, {0, 0}, {2, 2}), ValueError, "max_pool2d", "padding");
  // Dilation can make a window skip a small input entirely (review finding:
  // the scan then read past the plane).
  REQUIRE_THROWS_WITH_ALL(max_pool2d(zeros({1, 1, 2, 1}), {1, 2}, {1, 1}, {0, 1}, {1, 2}), ValueError, "max_pool2d",
                          "[1, 1, 2, 1]", "dilation", "entirely in the padding");
  REQUIRE_THROWS_WITH_ALL(cross_entropy(zeros({2, 5}), from_vector<int64_t>({1, 5})), IndexError, "cross_entropy",
                          "class 5", "5 classes");
  REQUIRE_THROWS_WITH_ALL(cross_entropy(zeros({2, 5}), from_vector<int64_t>({1})), ShapeError, "cross_entropy", "[1]",
                          "[2, 5]");
  REQUIRE_THROWS_WITH_ALL(cross_entropy(zeros({2, 5}), zeros({2})), DTypeError, "cross_entropy", "int64");
  REQUIRE_THROWS_WITH_ALL(mse_loss(zeros({2}), zeros({3})), ShapeError, "mse_loss", "[2]", "[3]");
  REQUIRE_THROWS_WITH_ALL(batch_norm(zeros({1, 3}), zeros({3}), ones({3}), Tensor(), Tensor(), true), ValueError,
                          "batch_norm", "more than 1 value");
  REQUIRE_THROWS_WITH_ALL(batch_norm(zeros({4, 3}), zeros({3}), Tensor(), Tensor(), Tensor(), true), ValueError,
                          "batch_norm", "running_mean and running_var must be given together");
  REQUIRE_THROWS_WITH_ALL(nll_loss(zeros({2, 5}), from_vector<int64_t>({7, 1})), IndexError, "nll_loss", "class 7",
                          "5 classes");
  // A window larger than the (padded) input is an error, as in PyTorch, not a
  // one-element output read past the edge (review finding: the output size
  // formula truncated a negative span to 1).
  REQUIRE_THROWS_WITH_ALL(conv2d(zeros({1, 1, 2, 2}), zeros({1, 1, 3, 3}), Tensor(), {.stride = {2, 2}}), ShapeError,
                          "conv2d", "too small");
  REQUIRE_THROWS_WITH_ALL(avg_pool2d(zeros({1, 1, 2, 2}), {3, 3}, {2, 2}), ShapeError, "avg_pool2d", "too small");
  REQUIRE_THROWS_WITH_ALL(max_pool2d(zeros({1, 1, 2, 5}), {3, 3}, {2, 2}), ShapeError, "max_pool2d", "too small");
  CHECK(avg_pool2d(ones({1, 1, 2, 2}), {3, 3}, {2, 2}, {1, 1}).shape() == Shape{1, 1, 1, 1});  // fits with padding
}

TEST_CASE("cross_entropy takes classes masked with -inf, with and without smoothing", "[nn_ops]") {
  const double inf = std::numeric_limits<double>::infinity();
  Tensor logits = from_vector<double>({1, -inf, 2, 0.5, 3, -inf}, {2, 3}).requires_grad_();
  Tensor target = from_vector<int64_t>({0, 1});
  Tensor loss = cross_entropy(logits, target, 0.0, Reduction::None);
  Tensor want = -gather(log_softmax(logits.detach(), 1), 1, target.unsqueeze(1)).squeeze(1);
  CHECK(allclose(loss, want, 1e-12, 1e-12));  // finite: 0 * -inf from the smoothing term is not added
  loss.sum().backward();
  CHECK(std::isfinite(logits.grad().sum().item<double>()));
  // With smoothing a masked class makes the loss infinite, as in PyTorch.
  CHECK(std::isinf(cross_entropy(logits.detach(), target, 0.1).item<double>()));
}

TEST_CASE("conv2d over zero input channels: the output is the bias, and so is the bias gradient's source", "[nn_ops]") {
  Tensor x = zeros({2, 0, 4, 4}, {.dtype = DType::Float64});
  Tensor w = zeros({3, 0, 3, 3}, {.dtype = DType::Float64}).requires_grad_();
  Tensor b = from_vector<double>({1, 2, 3}).requires_grad_();
  Tensor y = conv2d(x, w, b);
  REQUIRE(y.shape() == Shape{2, 3, 2, 2});
  CHECK(equal(y.select(0, 1).select(1, 0).select(1, 0), b.detach()));
  y.sum().backward();
  CHECK(b.grad().to_vector<double>() == std::vector<double>{8, 8, 8});  // N * out_h * out_w each
}
