// optim: optimizers (SGD, Adam, AdamW), learning-rate schedulers and
// gradient clipping, with PyTorch 1.13's update formulas. Depends on nn
// (and through it on autograd); takes parameters as plain Tensors, so it
// works with anything that hands out leaf tensors. Guide: docs/optim.md.
#pragma once

#include "ember/nn/nn.h"
#include "ember/optim/adam.h"
#include "ember/optim/clip_grad.h"
#include "ember/optim/lr_scheduler.h"
#include "ember/optim/optimizer.h"
#include "ember/optim/sgd.h"
#include "ember/optim/state_dict.h"
