// Training on the CUDA device (part of test_cuda): the fused cross-entropy
// kernels against the CPU, their device error flag, and whole training
// steps of a model whose every op has a CUDA kernel, compared with the same
// steps on the CPU.
#include <ember/kernels/cuda.h>
#include <ember/nn/nn.h>
#include <ember/optim/optim.h>

#include "support.h"

using namespace ember;
using namespace ember::test;

namespace {

const Device kGpu("cuda:0");

// Three Adam steps of a small MLP with dropout on a fixed batch of 8; the
// losses. Same seed, same initial weights, same dropout masks (Philox) on
// either device.
std::vector<double> mlp_losses(Device device, DType dtype) {
  manual_seed(7);
  nn::Sequential net{nn::make<nn::Flatten>(), nn::make<nn::Linear>(784, 64), nn::make<nn::ReLU>(),
                     nn::make<nn::Dropout>(0.2), nn::make<nn::Linear>(64, 10)};
  net.to(dtype);
  net.to(device);
  optim::Adam adam(net.parameters(), {.lr = 1e-3});
  Generator g(3);
  const Tensor x = rand({8, 1, 28, 28}, {.dtype = dtype}, &g).to(device);
  const Tensor y = randint(0, 10, {8}, {.dtype = DType::Int64}, &g).to(device);
  std::vector<double> losses;
  for (int step = 0; step < 3; ++step) {
    Tensor loss = cross_entropy(net(x), y, 0.1);
    adam.zero_grad();
    loss.backward();
    adam.step();
    losses.push_back(loss.item<double>());
  }
  return losses;
}

}  // namespace

TEST_CASE("an MLP trains on the GPU as on the CPU: 3 Adam steps with dropout and label smoothing",
          "[cuda][kernels][train]") {
  for (DType dt : {DType::Float32, DType::Float64}) {
    const std::vector<double> cpu = mlp_losses(kCPU, dt), gpu = mlp_losses(kGpu, dt);
    const double rtol = dt == DType::Float32 ? 1e-4 : 1e-10;
    for (size_t i = 0; i < cpu.size(); ++i) {
      INFO(dtype_name(dt) << " step " << i << ": CPU " << cpu[i] << ", GPU " << gpu[i]);
      CHECK(std::abs(gpu[i] - cpu[i]) <= rtol * std::abs(cpu[i]));
    }
    CHECK(cpu.back() < cpu.front());  // it learns: the comparison is not between two constants
  }
}

TEST_CASE("a target class out of range on the device is reported at the next synchronization",
          "[cuda][kernels][train]") {
  const Tensor logits = randn({3, 4}).to(kGpu);
  Tensor loss = cross_entropy(logits, from_vector<int64_t>({0, 4, 1}).to(kGpu));  // 4 >= 4 classes
  REQUIRE_THROWS_WITH_ALL(loss.to(kCPU), IndexError, "cross_entropy", "index 4", "size 4");
  CHECK(std::isfinite(cross_entropy(logits, from_vector<int64_t>({0, 3, 1}).to(kGpu)).item<double>()));
}
