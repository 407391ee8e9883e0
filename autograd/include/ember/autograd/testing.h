// Test-only hooks into the engine. Proving that a gradient test can fail
// is part of testing it: with a backward corrupted on purpose, gradcheck
// must report a mismatch (see tests/test_gradcheck_bites.cpp).
#pragma once

#include <string>
#include <vector>

#include "ember/autograd/node.h"

namespace ember::autograd::testing {

// While set, every gradient returned by Nodes named `node_name` (e.g.
// "MulBackward") is scaled by 1.1 and shifted by 0.01. Empty = off.
void corrupt_backward(const std::string& node_name);
// Called by the engine after each Node runs.
void maybe_corrupt(const Node& node, std::vector<Tensor>& grads);

}  // namespace ember::autograd::testing
