// nn: everything for building models (#include <ember/nn/nn.h>).
#pragma once

#include "ember/nn/graph.h"
#include "ember/nn/init.h"
#include "ember/nn/layers.h"
#include "ember/nn/module.h"
#include "ember/nn/resnet.h"
#include "ember/nn/safetensors.h"
#include "ember/nn/summary.h"
