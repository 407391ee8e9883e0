// Prints 12: d/dx of sum(x^2) at x = [1, 2, 3] is 2x, and 2+4+6 = 12.
#include <ember/ember.h>

#include <iostream>

int main() {
  ember::Tensor x = ember::from_vector<double>({1, 2, 3}).requires_grad_();
  (x * x).sum().backward();
  std::cout << x.grad().sum().item<double>() << " " << EMBER_VERSION << "\n";
  return x.grad().sum().item<double>() == 12.0 ? 0 : 1;
}
