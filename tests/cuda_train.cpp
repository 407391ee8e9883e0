// Training on the CUDA device (part of test_cuda): whole training steps of
// a model whose every op has a CUDA kernel (LeNet, an MLP and the default
// CNN), compared with the same steps on the CPU; the cross-entropy's device
// error flag; and the convolution with its three gradients on shapes that
// cross the implicit GEMM's tiles (the op tables' shapes are small), with
// either forward kernel, rerun under every schedule CI uses.
#include <ember/kernels/cuda.h>
#include <ember/nn/nn.h>
#include <ember/optim/optim.h>

#include "../examples/mnist/models.h"
#include "support.h"

using namespace ember;
using namespace ember::test;

namespace {

const Device kGpu("cuda:0");

// Three Adam steps of `net` (made under manual_seed(7), so that both
// devices start from the same weights) on a fixed batch of 8 MNIST-shaped
// images; the losses. Dropout draws the same masks (Philox) on either device.
std::vector<double> losses_of(nn::Module& net, Device device, DType dtype, double label_smoothing) {
  net.to(dtype);
  net.to(device);
  optim::Adam adam(net.parameters(), {.lr = 1e-3});
  Generator g(3);
  const Tensor x = rand({8, 1, 28, 28}, {.dtype = dtype}, &g).to(device);
  const Tensor y = randint(0, 10, {8}, {.dtype = DType::Int64}, &g).to(device);
  std::vector<double> losses;
  for (int step = 0; step < 3; ++step) {
    Tensor loss = cross_entropy(net(x), y, label_smoothing);
    adam.zero_grad();
    loss.backward();
    adam.step();
    losses.push_back(loss.item<double>());
  }
  return losses;
}

// A small MLP with dropout, with label smoothing.
std::vector<double> mlp_losses(Device device, DType dtype) {
  manual_seed(7);
  nn::Sequential net{nn::make<nn::Flatten>(), nn::make<nn::Linear>(784, 64), nn::make<nn::ReLU>(),
                     nn::make<nn::Dropout>(0.2), nn::make<nn::Linear>(64, 10)};
  return losses_of(net, device, dtype, 0.1);
}

// LeNet: convolutions, max pooling, linear layers.
std::vector<double> lenet_losses(Device device, DType dtype) {
  manual_seed(7);
  mnist::LeNet net;
  return losses_of(net, device, dtype, 0.0);
}

// The default recipe's network: conv-bn-relu stages (batch norm in training
// mode, with its running statistics), max pooling, dropout.
std::vector<double> cnn_losses(Device device, DType dtype) {
  manual_seed(7);
  std::shared_ptr<nn::Module> net = mnist::make_model("cnn");
  return losses_of(*net, device, dtype, 0.0);
}

// The losses on the GPU against the CPU's: float32 within 1e-4 relative,
// float64 within 1e-10; and they fall, so the comparison is not between
// two constants.
void check_same_losses(std::vector<double> (*run)(Device, DType),
                       std::initializer_list<DType> dtypes = {DType::Float32, DType::Float64}) {
  for (DType dt : dtypes) {
    const std::vector<double> cpu = run(kCPU, dt), gpu = run(kGpu, dt);
    const double rtol = dt == DType::Float32 ? 1e-4 : 1e-10;
    for (size_t i = 0; i < cpu.size(); ++i) {
      INFO(dtype_name(dt) << " step " << i << ": CPU " << cpu[i] << ", GPU " << gpu[i]);
      CHECK(std::abs(gpu[i] - cpu[i]) <= rtol * std::abs(cpu[i]));
    }
    CHECK(cpu.back() < cpu.front());
  }
}

// Restores the convolution algorithm chosen before.
struct UseConvAlgorithm {
  std::string old = cuda::conv_algorithm();
  explicit UseConvAlgorithm(const std::string& name) { cuda::set_conv_algorithm(name); }
  ~UseConvAlgorithm() { cuda::set_conv_algorithm(old); }
};

}  // namespace

TEST_CASE("LeNet trains on the GPU as on the CPU: 3 Adam steps at batch 8", "[cuda][kernels][train]") {
  check_same_losses(lenet_losses);
}

// float32 only: the float64 run would double the emulator's time under
// ASan for the kernels LeNet's float64 run already covers, batch norm's
// aside, which the op tables check in float64.
TEST_CASE("the default CNN trains on the GPU as on the CPU: 3 Adam steps at batch 8", "[cuda][kernels][train]") {
  check_same_losses(cnn_losses, {DType::Float32});
}

TEST_CASE("an MLP trains on the GPU as on the CPU: 3 Adam steps with dropout and label smoothing",
          "[cuda][kernels][train]") {
  check_same_losses(mlp_losses);
}

TEST_CASE("a target class out of range on the device is reported at the next synchronization",
          "[cuda][kernels][train]") {
  const Tensor logits = randn({3, 4}).to(kGpu);
  Tensor loss = cross_entropy(logits, from_vector<int64_t>({0, 4, 1}).to(kGpu));  // 4 >= 4 classes
  REQUIRE_THROWS_WITH_ALL(loss.to(kCPU), IndexError, "cross_entropy", "index 4", "size 4");
  CHECK(std::isfinite(cross_entropy(logits, from_vector<int64_t>({0, 3, 1}).to(kGpu)).item<double>()));
}

TEST_CASE("CUDA convolution and its three gradients agree with the CPU on shapes no tile divides",
          "[cuda][kernels][shared]") {
  struct Config {
    int64_t groups, stride, padding, dilation;
    bool bias;
  };
  for (const char* algo : {"implicit_gemm", "direct"}) {
    for (const Config& c : std::vector<Config>{{1, 1, 0, 1, true}, {2, 2, 1, 1, true}, {1, 2, 2, 2, false},
                                              {3, 1, 1, 2, true}}) {
      UseConvAlgorithm use(algo);
      INFO("forward " << algo << ", groups " << c.groups << ", stride " << c.stride << ", padding " << c.padding
                      << ", dilation " << c.dilation << (c.bias ? ", bias" : ""));
      Generator g(11);
      const Tensor x0 = rand({2, 6, 13, 11}, {}, &g), w0 = rand({12, 6 / c.groups, 3, 3}, {}, &g) - 0.5,
                   b0 = rand({12}, {}, &g);
      const Conv2dOptions opts{.stride = {c.stride, c.stride}, .padding = {c.padding, c.padding},
                               .dilation = {c.dilation, c.dilation}, .groups = c.groups};
      auto run = [&](Device d) {
        Tensor x = x0.to(d).detach().requires_grad_(), w = w0.to(d).detach().requires_grad_(),
               b = b0.to(d).detach().requires_grad_();
        Tensor y = conv2d(x, w, c.bias ? b : Tensor(), opts);
        Generator gg(12);
        (y * rand(y.shape(), {}, &gg).to(d)).sum().backward();  // a grad_y with no pattern
        return std::vector<Tensor>{y.to(kCPU), x.grad().to(kCPU), w.grad().to(kCPU),
                                   c.bias ? b.grad().to(kCPU) : zeros({12})};
      };
      const std::vector<Tensor> cpu = run(kCPU), gpu = run(kGpu);
      const char* names[] = {"y", "grad x", "grad weight", "grad bias"};
      for (size_t i = 0; i < cpu.size(); ++i) check_close(gpu[i], ref_of(cpu[i]), 1e-4, 1e-4, names[i]);
    }
  }
  // More channels than the bias gradient's grid has blocks: a block sums
  // several channels in turn.
  Generator g(13);
  const Tensor y0 = rand({2, 300, 5, 4}, {}, &g);
  auto bias_grad = [&](Device d) {
    Tensor b = zeros({300}, {.device = d}).requires_grad_();
    Tensor w = ones({300, 1, 1, 1}, {.device = d});
    (conv2d(ones({2, 300, 5, 4}, {.device = d}), w, b, {.groups = 300}) * y0.to(d)).sum().backward();
    return b.grad().to(kCPU);
  };
  check_close(bias_grad(kGpu), ref_of(bias_grad(kCPU)), 1e-5, 1e-5, "grad bias of 300 channels");
}

TEST_CASE("the convolution algorithms are listed, auto by default, and a bad name is a clear error",
          "[cuda][kernels]") {
  CHECK(cuda::conv_algorithms() == std::vector<std::string>{"auto", "direct", "implicit_gemm"});
  CHECK(cuda::conv_algorithm() == "auto");
  REQUIRE_THROWS_WITH_ALL(cuda::set_conv_algorithm("winograd"), ValueError, "unknown convolution algorithm 'winograd'",
                          "direct", "implicit_gemm");
  CHECK(cuda::conv_algorithm() == "auto");
}
