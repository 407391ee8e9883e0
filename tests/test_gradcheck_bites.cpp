// Proof that the gradient tests can fail: for every row of the gradcheck
// table, corrupt the backward Nodes it names (autograd/testing.h) and
// require gradcheck to report a mismatch. A row that still passed would be a
// test that tests nothing.
#include <ember/autograd/testing.h>

#include "grad_cases.h"

using namespace ember;
using namespace ember::test;

TEST_CASE("gradcheck fails when a backward formula is wrong", "[gradcheck][bites]") {
  struct Reset {
    ~Reset() { autograd::testing::corrupt_backward(""); }
  } reset;
  for (const GradCase& c : grad_cases())
    for (const std::string& node : c.nodes) {
      INFO("case: " << c.name << ", corrupting " << node);
      autograd::testing::corrupt_backward(node);
      GradcheckResult r = gradcheck(c.fn, grad_inputs(c), c.opts);
      autograd::testing::corrupt_backward("");
      CHECK(!r.ok);
    }
}

TEST_CASE("an uncorrupted run of the same check passes (the hook is off by default)", "[gradcheck][bites]") {
  const GradCase& c = grad_cases().front();
  CHECK(gradcheck(c.fn, grad_inputs(c)).ok);
}
