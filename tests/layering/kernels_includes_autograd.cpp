// Must NOT compile: kernels may not see autograd's headers.
#include "ember/autograd/node.h"
