// Must compile: autograd may include core (the control for the tests above).
#include "ember/core/tensor.h"
#include "ember/autograd/ops.h"
