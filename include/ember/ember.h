// Everything Ember offers, in one include: #include <ember/ember.h>
#pragma once

#include "ember/autograd/engine.h"
#include "ember/autograd/functional.h"
#include "ember/autograd/gradcheck.h"
#include "ember/autograd/graph_dot.h"
#include "ember/autograd/ops.h"
#include "ember/core/backend.h"
#include "ember/core/generator.h"
#include "ember/core/grad_mode.h"
#include "ember/core/parallel.h"
#include "ember/core/profiler.h"
#include "ember/core/tensor.h"
#include "ember/data/data.h"
#include "ember/nn/nn.h"
#include "ember/optim/optim.h"
#include "ember/viz/viz.h"
#include "ember/version.h"
