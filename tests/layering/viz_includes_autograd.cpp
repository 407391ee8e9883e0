// Must NOT compile: viz depends on core only, not on autograd (chart code
// takes plain numbers, graph pictures take DOT text).
#include "ember/autograd/graph_dot.h"
