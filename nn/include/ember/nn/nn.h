// nn: Module, Parameter, layers, losses, safetensors state_dict.
// Depends on autograd. The layers arrive with the MNIST training issue; this
// header marks the module's include root (ember/nn/...).
#pragma once

#include "ember/autograd/ops.h"
