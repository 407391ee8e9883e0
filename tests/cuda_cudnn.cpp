// cuda:cudnn, the vendor backend (kernels/cudnn/; part of test_cuda, which
// skips as a whole without a device): it is registered on cuda:ember when
// built, owns exactly its primitives, and its convolution, batch norm and
// declined calls agree with cuda:ember. The op tables in test_cuda.cpp run
// every row of the primitives it owns on it as well, against the float64
// references (Note [Tables on every backend] in backend_axis.h).
#include <algorithm>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include <ember/kernels/cudnn.h>

#include "backend_axis.h"

using namespace ember;
using namespace ember::test;

namespace {

const Device kGpu("cuda:0");

// `op` on cuda:`impl`, its results brought back to the CPU.
std::vector<Tensor> on_backend(const std::string& impl, const std::function<std::vector<Tensor>()>& op) {
  UseBackend use(BackendUnderTest{kGpu, impl});
  std::vector<Tensor> out = op();
  for (Tensor& t : out) t = t.to(kCPU);
  return out;
}

}  // namespace

TEST_CASE("cuda:cudnn is registered on cuda:ember when built and owns exactly its primitives", "[cuda][cudnn]") {
  const std::vector<std::string> names = registered_backends(DeviceType::CUDA);
  const bool registered = std::find(names.begin(), names.end(), "cudnn") != names.end();
  REQUIRE(registered == cuda::vendor_built());
  if (!cuda::vendor_built()) {
    CHECK(cuda::cudnn_version().empty());
    CHECK(cuda::cublas_version().empty());
    CHECK(cuda::cudnn_cached_algorithms() == 0);
    return;
  }
  const Backend& b = backend_named(DeviceType::CUDA, "cudnn");
  CHECK(b.base_name() == "ember");
  const std::set<Primitive> own = {Primitive::Matmul,           Primitive::Softmax,
                                   Primitive::Conv2dForward,    Primitive::Conv2dBackwardInput,
                                   Primitive::Conv2dBackwardWeight, Primitive::AvgPool2dForward,
                                   Primitive::AvgPool2dBackward, Primitive::BatchNormForward,
                                   Primitive::BatchNormBackward};
  for (int i = 0; i < kNumPrimitives; ++i) {
    const auto p = static_cast<Primitive>(i);
    INFO(primitive_name(p));
    CHECK(b.supports(p) == (own.count(p) == 1));
  }
  // Max pooling is not its own (Note [Pooling in cuDNN]): cuda:ember's runs.
  UseBackend use(BackendUnderTest{kGpu, "cudnn"});
  CHECK(backend_for(Primitive::MaxPool2dForward, DeviceType::CUDA).full_name() == "cuda:ember");
  CHECK(backend_for(Primitive::Conv2dForward, DeviceType::CUDA).full_name() == "cuda:cudnn");
  CHECK(cuda::cudnn_version().rfind("9.", 0) == 0);
  CHECK_FALSE(cuda::cublas_version().empty());
}

TEST_CASE("cuda:cudnn's conv2d agrees with cuda:ember, and its algorithm is found once per shape", "[cuda][cudnn]") {
  if (!cuda::vendor_built()) return;
  // A shape no other test uses, so that its algorithm is not cached yet.
  const Tensor x = random_input({2, 3, 11, 9}, DType::Float32, Layout::Contiguous, -1, 1, 7, kGpu);
  const Tensor w = random_input({5, 3, 3, 2}, DType::Float32, Layout::Contiguous, -1, 1, 8, kGpu);
  const Tensor bias = random_input({5}, DType::Float32, Layout::Contiguous, -1, 1, 9, kGpu);
  const Conv2dOptions opts{.stride = {2, 1}, .padding = {1, 0}};
  auto forward = [&] { return std::vector<Tensor>{conv2d(x, w, bias, opts)}; };
  const Tensor want = on_backend("ember", forward)[0];
  const size_t before = cuda::cudnn_cached_algorithms();
  const Tensor first = on_backend("cudnn", forward)[0];
  const size_t after_first = cuda::cudnn_cached_algorithms();
  const Tensor second = on_backend("cudnn", forward)[0];
  CHECK(after_first == before + 1);  // one forward algorithm for the new shape
  CHECK(cuda::cudnn_cached_algorithms() == after_first);  // the same shape again: found in the cache
  check_close(first, ref_of(want), 1e-4, 1e-4, "conv2d forward, cuda:cudnn against cuda:ember");
  check_close(second, ref_of(want), 1e-4, 1e-4, "conv2d forward again, cuda:cudnn against cuda:ember");
}

// eps 0.1 with a weight and a bias: were cuDNN's backward to use the
// epsilon it is passed (kUnusedEps, 1e-5) rather than the saved invstd, the
// gradients would differ far beyond the tolerance (Note [Batch norm in cuDNN]).
TEST_CASE("cuda:cudnn's batch norm agrees with cuda:ember, with and without weights, eps and evaluation",
          "[cuda][cudnn]") {
  if (!cuda::vendor_built()) return;
  for (double eps : {1e-5, 0.1})
    for (bool training : {true, false}) {
      INFO((training ? "training" : "evaluation") << ", eps " << eps);
      auto run = [&] {
        Tensor x = random_input({4, 3, 5, 2}, DType::Float32, Layout::Contiguous, -2, 2, 3, kGpu);
        x = x.detach().requires_grad_();
        Tensor running_mean = random_input({3}, DType::Float32, Layout::Contiguous, -1, 1, 4, kGpu);
        Tensor running_var = random_input({3}, DType::Float32, Layout::Contiguous, 0.5, 2, 5, kGpu);
        Tensor weight, bias;
        if (eps > 0.01) {
          weight = random_input({3}, DType::Float32, Layout::Contiguous, 0.5, 1.5, 7, kGpu).detach().requires_grad_();
          bias = random_input({3}, DType::Float32, Layout::Contiguous, -1, 1, 8, kGpu).detach().requires_grad_();
        }
        Tensor y = batch_norm(x, running_mean, running_var, weight, bias, training, 0.1, eps);
        (y * random_input(y.shape(), DType::Float32, Layout::Contiguous, -1, 1, 6, kGpu)).sum().backward();
        std::vector<Tensor> out{y, x.grad(), running_mean, running_var};
        if (weight.defined()) {
          out.push_back(weight.grad());
          out.push_back(bias.grad());
        }
        return out;
      };
      const std::vector<Tensor> want = on_backend("ember", run), got = on_backend("cudnn", run);
      const char* names[] = {"y", "grad x", "running mean", "running var", "grad weight", "grad bias"};
      for (size_t i = 0; i < want.size(); ++i) check_close(got[i], ref_of(want[i]), 1e-4, 1e-5, names[i]);
    }
}

TEST_CASE("cuda:cudnn agrees with cuda:ember on declined, copied and padded calls", "[cuda][cudnn]") {
  if (!cuda::vendor_built()) return;
  auto run = [&] {
    // An int64 matmul (cuBLAS has no integer GEMM: declined), a strided
    // operand (copied contiguous first) times a transposed one (read as it
    // is), a padded pooling with uneven strides, and one whose padding is
    // as wide as its window (declined: cuDNN refuses it).
    const Tensor a = random_input({3, 4}, DType::Float64, Layout::Contiguous, -5, 5, 1, kGpu).to(DType::Int64);
    const Tensor b = random_input({4, 2}, DType::Float64, Layout::Contiguous, -5, 5, 2, kGpu).to(DType::Int64);
    const Tensor s = random_input({2, 5, 6}, DType::Float32, Layout::Strided, -1, 1, 3, kGpu);
    const Tensor t = random_input({2, 6, 3}, DType::Float32, Layout::Transposed, -1, 1, 4, kGpu);
    const Tensor img = random_input({1, 2, 7, 8}, DType::Float32, Layout::Contiguous, -1, 1, 5, kGpu);
    return std::vector<Tensor>{matmul(a, b), matmul(s, t), avg_pool2d(img, {3, 2}, {2, 3}, {1, 1}),
                               avg_pool2d(img, {2, 2}, {1, 1}, {2, 2})};
  };
  const std::vector<Tensor> want = on_backend("ember", run), got = on_backend("cudnn", run);
  CHECK(equal(got[0], want[0]));
  check_close(got[1], ref_of(want[1]), 1e-5, 1e-6, "strided x transposed batched matmul");
  check_close(got[2], ref_of(want[2]), 1e-6, 1e-6, "avg_pool2d with padding and uneven strides");
  check_close(got[3], ref_of(want[3]), 1e-6, 1e-6, "avg_pool2d with padding as wide as the window");
}

// Agreement alone cannot tell "cuDNN ran and was right" from "cuDNN
// declined and cuda:ember was right": the counts of calls the vendor
// library served must grow for every primitive cuda:cudnn owns.
TEST_CASE("cuda:cudnn serves each of its primitives itself on ordinary shapes", "[cuda][cudnn]") {
  if (!cuda::vendor_built()) {
    CHECK(cuda::cudnn_vendor_calls("matmul") == 0);
    return;
  }
  const std::vector<std::string> prims = {"matmul", "softmax", "conv2d_forward", "conv2d_backward_input",
                                          "conv2d_backward_weight", "avg_pool2d_forward", "avg_pool2d_backward",
                                          "batch_norm_forward", "batch_norm_backward"};
  std::vector<size_t> before;
  for (const std::string& p : prims) before.push_back(cuda::cudnn_vendor_calls(p));
  on_backend("cudnn", [&] {
    const Tensor a = random_input({8, 16}, DType::Float32, Layout::Contiguous, -1, 1, 1, kGpu);
    const Tensor b = random_input({16, 4}, DType::Float32, Layout::Transposed, -1, 1, 2, kGpu);
    Tensor x = random_input({2, 3, 8, 8}, DType::Float32, Layout::Contiguous, -1, 1, 3, kGpu);
    x = x.detach().requires_grad_();
    Tensor w = random_input({4, 3, 3, 3}, DType::Float32, Layout::Contiguous, -1, 1, 4, kGpu);
    w = w.detach().requires_grad_();
    Tensor y = conv2d(x, w, Tensor(), Conv2dOptions{.padding = {1, 1}});
    Tensor bn = batch_norm(y, Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 1e-5);
    Tensor pooled = avg_pool2d(bn, {2, 2}, {2, 2}, {0, 0});
    Tensor loss = softmax(pooled.reshape({2, -1}), 1).sum() + matmul(a, b).sum();
    loss.backward();
    return std::vector<Tensor>{loss, x.grad(), w.grad()};
  });
  for (size_t i = 0; i < prims.size(); ++i) {
    INFO(prims[i]);
    CHECK(cuda::cudnn_vendor_calls(prims[i]) > before[i]);
  }
  REQUIRE_THROWS_WITH_ALL(cuda::cudnn_vendor_calls("conv3d"), ValueError, "no primitive named 'conv3d'");
}
