// optim: SGD, Adam, AdamW, schedulers, gradient clipping. Depends on nn.
// The optimizers arrive with the MNIST training issue; this header marks the
// module's include root (ember/optim/...).
#pragma once

#include "ember/nn/nn.h"
