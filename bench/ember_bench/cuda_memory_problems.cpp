// ember-bench's memory-bound CUDA families: pooling, softmax, cross-entropy,
// batch norm, elementwise add, sum and the Adam update, with the
// device-to-device copy that sets their ceiling (measured by main.cpp). Each
// row's bytes count every input read and every output written once, the
// least traffic the op can have, so GB/s over the copy's is the fraction of
// the memory system the kernel uses; batch norm, whose statistics need a
// pass of their own, counts its two passes over x.
#include <ember/autograd/prim.h>

#include "common.h"
#include "problems.h"

namespace ember::bench {

namespace {

const Device kCpu("cpu"), kGpu("cuda:0");
using Fn = TensorsFn;

// A problem with Ember's kernel, and cuDNN's where it has one and is built.
Problem problem(std::string family, std::string name, const Shape& shape, double flops, double bytes, double tol,
                std::function<Tensors()> inputs, Fn f, bool vendor_has_it, Fn timed = {}) {
  std::vector<Impl> impls{backend_impl("ember", DeviceType::CUDA, "ember", false)};
  if (vendor_has_it) impls = with_vendor(std::move(impls), "cuDNN");
  return device_problem(std::move(family), std::move(name), dims(shape), flops, bytes, tol, std::move(inputs),
                        std::move(f), std::move(impls), std::move(timed));
}

WindowGeometry pool2(int64_t hw) {
  WindowGeometry g;
  g.kh = g.kw = g.sh = g.sw = 2;
  g.h = g.w = hw;
  g.out_h = g.out_w = hw / 2;
  return g;
}

}  // namespace

void add_memory_bound(std::vector<Problem>& ps, const CudaListOptions& o) {
  const int64_t n = o.emulated ? int64_t{1} << 14 : int64_t{1} << 26;  // 256 MiB of float32, far past the L2
  // (The softmax, pooling and batch-norm maps below are 12-26 MB: not past a
  // 50 MiB L2. Cold rows flush it first, so their inputs come from memory.)
  const double dn = double(n);
  ps.push_back(problem("add", "add", {n}, dn, 12 * dn, 1e-7,
                       [n] { return Tensors{uniform({n}, 3, kCpu), uniform({n}, 4, kCpu)}; },
                       [](const Tensors& t) { return Tensors{add(t[0], t[1])}; }, false));
  ps.push_back(problem("sum", "sum", {n}, dn, 4 * dn, 1e-5, [n] { return Tensors{uniform({n}, 5, kCpu, 0, 1)}; },
                       [](const Tensors& t) { return Tensors{sum(t[0])}; }, false));
  // Adam on n parameters: reads param, grad, exp_avg, exp_avg_sq; writes
  // param, exp_avg, exp_avg_sq. The check starts from fresh copies each
  // time; the timed call updates in place, as a training step does.
  AdamParams ap;
  ap.lr = 1e-3;
  ap.step_size = 1e-3;
  ap.bias_correction2_sqrt = 1;
  auto adam = [ap](const Tensors& t, bool fresh) {
    Tensors s = fresh ? Tensors{t[0].clone(), t[2].clone(), t[3].clone()} : Tensors{t[0], t[2], t[3]};
    prim::adam_update(s[0], t[1], s[1], s[2], Tensor(), ap);
    return s;
  };
  ps.push_back(problem("adam", "adam", {n}, 12 * dn, 28 * dn, 1e-6,
                       [n] {
                         return Tensors{uniform({n}, 6, kCpu), uniform({n}, 7, kCpu), uniform({n}, 8, kCpu),
                                        uniform({n}, 9, kCpu, 0, 1)};
                       },
                       [adam](const Tensors& t) { return adam(t, true); }, false,
                       [adam](const Tensors& t) { return adam(t, false); }));

  // Softmax and cross-entropy over ImageNet-sized logits.
  const int64_t rows = o.emulated ? 8 : 4096, cols = o.emulated ? 100 : 1000;
  const double rc = double(rows * cols);
  for (bool log : {false, true})
    ps.push_back(problem(log ? "log_softmax" : "softmax", log ? "log_softmax" : "softmax", {rows, cols}, 5 * rc,
                         8 * rc, 1e-5, [rows, cols] { return Tensors{uniform({rows, cols}, 10, kCpu, -5, 5)}; },
                         [log](const Tensors& t) { return Tensors{prim::softmax_nograd(t[0], 1, log)}; }, true));
  auto targets = [rows, cols] {
    Generator g(21);
    return randint(0, cols, {rows}, {.dtype = DType::Int64}, &g);
  };
  ps.push_back(problem("cross_entropy", "fwd", {rows, cols}, 4 * rc, 4 * rc + 16.0 * rows, 1e-5,
                       [rows, cols, targets] { return Tensors{uniform({rows, cols}, 10, kCpu, -5, 5), targets()}; },
                       [](const Tensors& t) { return Tensors{prim::cross_entropy_forward(t[0], t[1], 0).first}; },
                       false));
  ps.push_back(problem(
      "cross_entropy", "bwd", {rows, cols}, 4 * rc, 8 * rc + 24.0 * rows, 1e-5,
      [rows, cols, targets] {
        const Tensor logits = uniform({rows, cols}, 10, kCpu, -5, 5), tg = targets();
        const Tensor lse = prim::cross_entropy_forward(logits, tg, 0).second;
        return Tensors{logits, tg, lse, uniform({rows}, 22, kCpu)};
      },
      [](const Tensors& t) { return Tensors{prim::cross_entropy_backward(t[3], t[0], t[2], t[1], 0)}; }, false));

  // Pooling and batch norm on the default CNN's feature maps.
  struct Map { const char* name; int64_t c, hw; };
  const int64_t b = o.emulated ? 2 : 256;
  std::vector<Map> maps = {{"cnn.block1", 32, 28}, {"cnn.block2", 64, 14}};
  if (o.quick) maps.resize(1);
  for (const Map& m : maps) {
    const Shape xs{b, m.c, m.hw, m.hw}, ys{b, m.c, m.hw / 2, m.hw / 2};
    const double nx = double(numel(xs)), ny = double(numel(ys));
    const std::string name = std::string(m.name) + " b" + std::to_string(b);
    const WindowGeometry g = pool2(m.hw);
    auto x = [xs] { return Tensors{uniform(xs, 30, kCpu)}; };
    ps.push_back(problem(
        "max_pool2d", name + " fwd", xs, 3 * ny, 4 * nx + 12 * ny, 0, x,
        [g](const Tensors& t) {
          auto [y, idx] = prim::max_pool2d_forward(t[0], g);
          return Tensors{y, idx};
        },
        false));
    ps.push_back(problem(
        "max_pool2d", name + " bwd", xs, ny, 12 * ny + 4 * nx, 0,
        [x, g, ys] {
          return Tensors{uniform(ys, 31, kCpu), prim::max_pool2d_forward(x()[0], g).second};
        },
        [g, xs](const Tensors& t) { return Tensors{prim::max_pool2d_backward(t[0], t[1], xs, g)}; }, false));
    ps.push_back(problem("avg_pool2d", name + " fwd", xs, 4 * ny, 4 * nx + 4 * ny, 1e-6, x,
                         [g](const Tensors& t) { return Tensors{prim::avg_pool2d_forward(t[0], g)}; }, true));
    ps.push_back(problem("avg_pool2d", name + " bwd", xs, nx, 4 * ny + 4 * nx, 1e-6,
                         [ys] { return Tensors{uniform(ys, 31, kCpu)}; },
                         [g, xs](const Tensors& t) { return Tensors{prim::avg_pool2d_backward(t[0], xs, g)}; }, true));
    // Batch norm in training: two passes over x (statistics, then y), so
    // its least traffic is x read twice and y written once.
    const Shape cs{m.c};
    auto bn_in = [xs, cs] {
      return Tensors{uniform(xs, 32, kCpu), uniform(cs, 33, kCpu, 0.5, 1.5), uniform(cs, 34, kCpu)};
    };
    ps.push_back(problem("batch_norm", name + " fwd", xs, 8 * nx, 12 * nx, 1e-5, bn_in,
                         [](const Tensors& t) {
                           auto f = prim::batch_norm_forward(t[0], t[1], t[2], Tensor(), Tensor(), BatchNormParams{});
                           return Tensors{f.y, f.save_mean, f.save_invstd};
                         },
                         true));
    // Backward: grad_y and x read for the sums, read again for grad_x, which is written.
    ps.push_back(problem("batch_norm", name + " bwd", xs, 10 * nx, 20 * nx, 1e-4,
                         [bn_in, xs] {
                           Tensors t = bn_in();
                           auto f = prim::batch_norm_forward(t[0], t[1], t[2], Tensor(), Tensor(), BatchNormParams{});
                           return Tensors{uniform(xs, 35, kCpu), t[0], t[1], f.save_mean, f.save_invstd};
                         },
                         [](const Tensors& t) {
                           auto gr = prim::batch_norm_backward(t[0], t[1], t[2], t[3], t[4], true, {true, true, true});
                           return Tensors{gr.x, gr.weight, gr.bias};
                         },
                         true));
  }
}

}  // namespace ember::bench
