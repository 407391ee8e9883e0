// Must NOT compile: data depends on core only, not on nn.
#include "ember/nn/nn.h"
