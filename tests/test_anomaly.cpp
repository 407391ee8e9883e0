// Anomaly mode (Note [Anomaly mode] in ember/autograd/anomaly.h): with NaNs
// and Infs planted where a user would meet them, it names the op each time,
// forward or backward; off, it changes nothing.
#include "support.h"

#include <cmath>

#include <ember/autograd/anomaly.h>
#include <ember/nn/nn.h>
#include <ember/optim/optim.h>

using namespace ember;
using namespace ember::test;
using autograd::AnomalyMode;

TEST_CASE("anomaly mode names log when it is given a negative number", "[autograd][anomaly]") {
  const Tensor x = from_vector(std::vector<float>{-1, 2}, {2}).requires_grad_();
  {
    AnomalyMode on;
    REQUIRE_THROWS_WITH_ALL(log(x), AnomalyError, "anomaly mode: log produced 1 NaN of 2 values",
                            "output of shape [2]", "inputs of shapes [2]");
  }
  // Off (and restored by the guard): the NaN passes, as it always did.
  REQUIRE_FALSE(autograd::anomaly_mode_enabled());
  REQUIRE(std::isnan(contiguous(log(x).detach()).data_ptr<float>()[0]));
}

TEST_CASE("anomaly mode names div for a 0/0 in a custom loss", "[autograd][anomaly]") {
  const Tensor a = from_vector(std::vector<float>{0, 1, 3}, {3}).requires_grad_();
  const Tensor b = from_vector(std::vector<float>{0, 2, 0}, {3});
  AnomalyMode on;
  // A ratio written by hand: the first element divides zero by zero (NaN),
  // the last a number by zero (Inf).
  REQUIRE_THROWS_WITH_ALL((a / b).sum(), AnomalyError, "anomaly mode: div produced 1 NaN and 1 Inf of 3 values",
                          "inputs of shapes [3], [3]");
}

TEST_CASE("anomaly mode names the backward node and its forward op when only the gradient breaks",
          "[autograd][anomaly]") {
  // sqrt(0) is 0, but its derivative 1 / (2 sqrt(0)) is infinite.
  const Tensor x = from_vector(std::vector<float>{0, 4}, {2}).requires_grad_();
  AnomalyMode on;
  Tensor loss = sqrt(x).sum();  // finite: forward raises nothing
  REQUIRE(loss.item<double>() == 2);
  REQUIRE_THROWS_WITH_ALL(loss.backward(), AnomalyError,
                          "anomaly mode: SqrtBackward returned 1 Inf of 2 values in the gradient for its input 0",
                          "made by the forward op sqrt", "inputs of shapes [2]");
}

TEST_CASE("anomaly mode names the first op to overflow after an exploding learning rate",
          "[autograd][anomaly]") {
  manual_seed(0);
  nn::Linear layer(4, 3);
  const Tensor x = randn({8, 4});
  optim::SGD sgd(layer.parameters(), {.lr = 1e37});
  Tensor loss = (layer.forward(x) * layer.forward(x)).sum();
  loss.backward();
  sgd.step();  // the weights are now near 1e37: the next products overflow float32
  AnomalyMode on;
  const Tensor y = layer.forward(x);  // still finite: |w x| stays under 3.4e38 ...
  REQUIRE_THROWS_WITH_ALL(y * y, AnomalyError, "anomaly mode: mul produced", "Inf");  // ... but not its square
}

TEST_CASE("a Node's name gives the forward op it stands for", "[autograd][anomaly]") {
  REQUIRE(autograd::forward_op_name("LogBackward") == "log");
  REQUIRE(autograd::forward_op_name("MaxPool2dBackward") == "max_pool2d");
  REQUIRE(autograd::forward_op_name("LogSoftmaxBackward") == "log_softmax");
  REQUIRE(autograd::forward_op_name("ConvBackward") == "conv2d");
  REQUIRE(autograd::forward_op_name("BmmBackward") == "matmul");
  REQUIRE(autograd::forward_op_name("CrossEntropyBackward") == "cross_entropy");
}
