// Proof that the gradient tests can fail: for every row of the gradcheck
// table, corrupt the backward Nodes it names (autograd/testing.h) and
// require gradcheck to report a mismatch. A row that still passed would be a
// test that tests nothing.
//
// And proof that nothing escapes the table: every backward Node type there
// is registers itself (Note [Defining a backward node]), and each must be
// named by some row. This executable links every object file of the
// autograd library (tests/CMakeLists.txt), so a Node in an op that no test
// calls is registered too.
#include <ember/autograd/testing.h>

#include <set>

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

TEST_CASE("every backward Node type has a gradcheck row, and every row names real Nodes", "[gradcheck][bites]") {
  std::set<std::string> in_table;
  for (const GradCase& c : grad_cases())
    for (const std::string& node : c.nodes) in_table.insert(node);
  std::set<std::string> registered;
  for (const NodeType& t : registered_node_types()) {
    INFO("registered node type " << t.name << " (C++ type " << t.type_name << ")");
    // kName is the struct's own name, so grepping the name finds the struct.
    const std::string type = t.type_name, name = t.name;
    CHECK(type.size() >= name.size());
    CHECK(type.compare(type.size() - name.size(), name.size(), name) == 0);
    CHECK((type.size() == name.size() || type[type.size() - name.size() - 1] == ':'));
    registered.insert(name);
    if (name == "BadBackward") continue;  // test_autograd's deliberately broken node (not linked here)
    CHECK(in_table.count(name) == 1);  // a new Node needs a row in tests/grad_cases.h
    CHECK_FALSE(primitives_of_node(name).empty());  // ...and its primitives in primitives_of_node
  }
  // The registry is complete: the library's nodes all registered at start-up.
  CHECK(registered.size() >= 45);
  for (const std::string& node : in_table) {
    INFO("the table names " << node);
    CHECK(registered.count(node) == 1);
  }
}
