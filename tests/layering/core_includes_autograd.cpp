// Must NOT compile: core may not see autograd's headers (tests/CMakeLists.txt).
#include "ember/autograd/ops.h"
