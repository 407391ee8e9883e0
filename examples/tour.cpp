// A first look at Ember: tensors, broadcasting, autograd and the graph.
// Run: build/examples/ember-tour   (see docs/tour.md for the walk-through)
#include <iostream>

#include <ember/ember.h>

int main() {
  using namespace ember;
  manual_seed(0);

  Tensor a = randn({2, 3}, {.requires_grad = true});
  Tensor b = from_vector<float>({1, 2, 3});  // shape [3], broadcast over a's rows
  Tensor c = a * b + 1;
  Tensor loss = c.sum();
  loss.backward();

  std::cout << "a = " << a.to_string() << "\n"
            << "c = a * b + 1 = " << c.to_string() << "\n"
            << "loss = " << loss.to_string() << "\n"
            << "d loss / d a = " << a.grad().to_string() << "  (each row equals b)\n\n"
            << "The graph of c, as Graphviz DOT (render with `dot -Tsvg`):\n"
            << graph_to_dot(c);
  return 0;
}
