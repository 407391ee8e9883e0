// ember-bench's CUDA families: every kernel family of cuda:ember against
// cuda:cudnn (cuBLAS and cuDNN) where the vendor backend is built, each
// checked against the CPU first. Shapes: the SGEMM ladder on squares and on
// LeNet's and the default CNN's layers; convolutions on those networks at
// batch 64 and 256 and on ResNet-18's 3x3 layers at batch 32; the
// memory-bound kernels on sizes far past the L2.
#include <ember/autograd/prim.h>
#include <ember/kernels/cuda.h>

#include "common.h"
#include "problems.h"

namespace ember::bench {

namespace {

const Device kCpu("cpu"), kGpu("cuda:0");
using Fn = TensorsFn;

Impl ember_impl() { return backend_impl("ember", DeviceType::CUDA, "ember", false); }

// ---- SGEMM -------------------------------------------------------------------

std::vector<Impl> sgemm_impls(int64_t size) {
  std::vector<Impl> impls;
  for (const std::string& rung : cuda::sgemm_variants()) {
    Impl impl{rung, false, "", [rung] {
                const std::string old = cuda::sgemm(), backend = active_backend(DeviceType::CUDA).name();
                set_backend(DeviceType::CUDA, "ember");
                cuda::set_sgemm(rung);
                return std::function<void()>([old, backend] {
                  cuda::set_sgemm(old);
                  set_backend(DeviceType::CUDA, backend);
                });
              }};
    if ((rung == "naive" || rung == "coalesced") && size > 2048) impl.skip = "the slowest rungs run only up to 2048";
    impls.push_back(impl);
  }
  return with_vendor(impls, "cuBLAS");
}

void add_sgemm(std::vector<Problem>& ps, const CudaListOptions& o) {
  std::vector<int64_t> sizes = {256, 512, 1024, 2048, 4096, 8192};
  if (o.quick) sizes = {1024, 4096};
  if (o.emulated) sizes = {64};
  for (int64_t n : sizes)
    ps.push_back(gemm_problem("sgemm", "square_" + std::to_string(n), n, n, n, false, kGpu, sgemm_impls(n)));
  const int64_t b = o.emulated ? 2 : 64;  // batch
  struct Layer { const char* name; int64_t m, k, n; };
  const Layer layers[] = {
      {"lenet.conv1", b * 28 * 28, 25, 6},    {"lenet.conv2", b * 10 * 10, 150, 16}, {"lenet.fc1", b, 400, 120},
      {"cnn.conv1", b * 28 * 28, 9, 32},      {"cnn.conv2", b * 14 * 14, 288, 64},   {"cnn.conv3", b * 7 * 7, 576, 128},
      {"cnn.fc1", b, 1152, 128},
  };
  for (const Layer& l : layers) {
    if (o.quick && std::string(l.name).find("fc") != std::string::npos) continue;
    ps.push_back(gemm_problem("sgemm", std::string(l.name) + " b" + std::to_string(b), l.m, l.k, l.n, true, kGpu,
                              sgemm_impls(0)));
  }
}

// ---- convolution -------------------------------------------------------------

struct ConvShape {
  std::string name;
  int64_t batch, c_in, c_out, hw, k, pad;
};

WindowGeometry geometry(const ConvShape& s) {
  WindowGeometry g;
  g.kh = g.kw = s.k;
  g.ph = g.pw = s.pad;
  g.h = g.w = s.hw;
  g.out_h = g.out_w = s.hw + 2 * s.pad - s.k + 1;
  return g;
}

void add_conv(std::vector<Problem>& ps, const CudaListOptions& o) {
  std::vector<ConvShape> shapes;
  const std::vector<int64_t> batches = o.emulated ? std::vector<int64_t>{1} : o.quick ? std::vector<int64_t>{64}
                                                                                      : std::vector<int64_t>{64, 256};
  for (int64_t b : batches) {
    const std::string sb = " b" + std::to_string(b);
    shapes.push_back({"lenet.conv1" + sb, b, 1, 6, 28, 5, 2});
    shapes.push_back({"lenet.conv2" + sb, b, 6, 16, 14, 5, 0});
    shapes.push_back({"cnn.conv1" + sb, b, 1, 32, 28, 3, 1});
    shapes.push_back({"cnn.conv2" + sb, b, 32, 64, 14, 3, 1});
    shapes.push_back({"cnn.conv3" + sb, b, 64, 128, 7, 3, 1});
  }
  if (!o.emulated) {
    shapes.push_back({"resnet18.layer1 b32", 32, 64, 64, 56, 3, 1});
    shapes.push_back({"resnet18.layer2 b32", 32, 128, 128, 28, 3, 1});
    shapes.push_back({"resnet18.layer3 b32", 32, 256, 256, 14, 3, 1});
    shapes.push_back({"resnet18.layer4 b32", 32, 512, 512, 7, 3, 1});
  }
  for (const ConvShape& s : shapes) {
    const WindowGeometry g = geometry(s);
    const Shape xs{s.batch, s.c_in, s.hw, s.hw}, ws{s.c_out, s.c_in, s.k, s.k};
    const Shape ys{s.batch, s.c_out, g.out_h, g.out_w};
    const double flops = 2.0 * s.batch * s.c_out * g.out_h * g.out_w * s.c_in * s.k * s.k;
    const double nx = double(numel(xs)), nw = double(numel(ws)), ny = double(numel(ys));
    const std::string shape = dims(xs) + " * " + dims(ws);
    std::vector<Impl> fwd;
    for (const std::string& algo : cuda::conv_algorithms())
      fwd.push_back({algo, false, "", [algo] {
                       const std::string old = cuda::conv_algorithm(),
                                         backend = active_backend(DeviceType::CUDA).name();
                       set_backend(DeviceType::CUDA, "ember");
                       cuda::set_conv_algorithm(algo);
                       return std::function<void()>([old, backend] {
                         cuda::set_conv_algorithm(old);
                         set_backend(DeviceType::CUDA, backend);
                       });
                     }});
    // The direct kernel is written for few output channels (Note [Direct
    // convolution] in kernels/cuda/conv.cu): on ResNet's 64-512 it would
    // take seconds a call, which its untimed call and estimate pay before
    // any time limit applies.
    if (s.c_out > 64)
      for (Impl& impl : fwd)
        if (impl.name == "direct") impl.skip = "the direct kernel is for few channels (at most 64 here)";
    ps.push_back(device_problem(
        "conv2d_fwd", s.name, shape, flops, 4 * (nx + nw + s.c_out + ny), 1e-4,
        [xs, ws, s] { return Tensors{uniform(xs, 11, kCpu), uniform(ws, 12, kCpu), uniform({s.c_out}, 13, kCpu)}; },
        [g](const Tensors& t) { return Tensors{prim::conv2d_forward(t[0], t[1], t[2], g, 1)}; },
        with_vendor(fwd, "cuDNN")));
    ps.push_back(device_problem(
        "conv2d_bwd_data", s.name, shape, flops, 4 * (ny + nw + nx), 1e-4,
        [ys, ws] { return Tensors{uniform(ys, 14, kCpu), uniform(ws, 12, kCpu)}; },
        [g, xs](const Tensors& t) { return Tensors{prim::conv2d_backward_input(t[0], t[1], xs, g, 1)}; },
        with_vendor({ember_impl()}, "cuDNN")));
    ps.push_back(device_problem(
        "conv2d_bwd_weight", s.name, shape, flops + ny, 4 * (ny + nx + nw + s.c_out), 1e-4,
        [ys, xs] { return Tensors{uniform(ys, 14, kCpu), uniform(xs, 11, kCpu)}; },
        [g, ws](const Tensors& t) {
          auto [gw, gb] = prim::conv2d_backward_weight(t[0], t[1], ws, true, g, 1);
          return Tensors{gw, gb};
        },
        with_vendor({ember_impl()}, "cuDNN")));
  }
}

}  // namespace

// cuda_memory_problems.cpp: pooling, softmax, cross-entropy, batch norm,
// add, sum, Adam, the copy.
void add_memory_bound(std::vector<Problem>& ps, const CudaListOptions& o);

std::vector<Problem> cuda_problems(const CudaListOptions& o) {
  std::vector<Problem> ps;
  add_sgemm(ps, o);
  add_conv(ps, o);
  add_memory_bound(ps, o);
  return ps;
}

}  // namespace ember::bench
